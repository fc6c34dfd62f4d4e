#!/usr/bin/env python3
"""Payment Autopilot with several workers: charges per minute at Stripe's latency
(issue 13, "Benchmark"). Prints figures, asserts nothing about time.

A proxy in this script sits between Odoo and the Stripe double: it holds every
request ``--latency`` seconds (300 ms by default, Stripe's order of magnitude)
before passing it on, and notes when each one arrived. For each worker count of
``--workers`` (1, 2 and 4 by default), a new "charge the balance" task gets
``--charges`` due bookings (1,000 by default) with a card at the double, planned
and committed; then the workers run at once until no run is left. Worker 1 runs
the Autopilot's scheduled action (``_cron_run_autopilot``), the others the
charging workers' one (``_cron_autopilot_charge``), each in a process of its own
with its own database connections, as Odoo's cron workers run (one process per
cron worker with ``--workers``, or one server per machine), each call again at
once while it found work (as ``ir.cron`` does after ``_notify_progress``).

Printed for each worker count: the wall time, charges per minute, the speed-up
against one worker, the peak and mean requests per second the double received,
and whether each (task, booking) was charged once: one run, done, one
transaction, one PaymentIntent at the double for its reference. The script exits
with status 1 when one was not.

Usage::

    python3 -m stripe_double --port 8420 &  # localstripe behind the adapter
    python3 benchmarks/autopilot_workers_benchmark.py --db workers_bench --create \\
        --drop --localstripe http://127.0.0.1:8420 [--charges 1000] \\
        [--workers 1 2 4] [--latency 0.3] [--rate 20]

``--create``, ``--drop``, the database options and ``--addons-path`` work as for
the other benchmarks (``_common.py``). ``--rate`` is the provider's Stripe
requests per second (the request budget every worker shares).
"""

# A benchmark prints its figures, and commits like the cron it measures.
# pylint: disable=print-used,invalid-commit

import argparse
import multiprocessing
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
import stripe
from _common import (
    add_odoo_arguments,
    check_stripe_double,
    complete_args,
    drop_database,
    open_registry,
)
from autopilot_benchmark import MODULES, Bench

#: Headers that belong to one HTTP connection, not to the request or answer.
HOP_HEADERS = {
    "connection",
    "content-encoding",
    "content-length",
    "host",
    "keep-alive",
    "transfer-encoding",
}


def parse_args():
    parser = argparse.ArgumentParser(
        description="Payment Autopilot: charges per minute with 1, 2 and 4 workers "
        "at Stripe's latency (prints figures, asserts nothing about time)."
    )
    parser.add_argument("-d", "--db", default="autopilot_workers_bench")
    parser.add_argument("--localstripe", default="http://127.0.0.1:8420")
    parser.add_argument("--charges", type=int, default=1000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument(
        "--latency", type=float, default=0.3, help="seconds added to each request"
    )
    parser.add_argument("--rate", type=int, default=20, help="requests per second")
    parser.add_argument("--batch", type=int, default=100, help="runs per cron call")
    add_odoo_arguments(parser)
    return complete_args(parser.parse_args())


# === THE LATENCY PROXY === #


class LatencyProxy(ThreadingHTTPServer):
    """Pass each request to ``upstream`` after ``latency`` seconds; note when each
    one arrived (``arrivals``, ``time.monotonic()``)."""

    daemon_threads = True

    def __init__(self, upstream, latency):
        super().__init__(("127.0.0.1", 0), ProxyHandler)
        self.upstream = upstream.rstrip("/")
        self.latency = latency
        self.arrivals = []
        self.sessions = threading.local()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"

    def session(self):
        if not hasattr(self.sessions, "session"):
            self.sessions.session = requests.Session()
        return self.sessions.session


class ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # Keep-alive, as the SDK's client expects.

    def _forward(self):
        proxy = self.server
        proxy.arrivals.append(time.monotonic())
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(proxy.latency)
        answer = proxy.session().request(
            self.command,
            proxy.upstream + self.path,
            headers={
                k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS
            },
            data=body,
            timeout=60,
        )
        self.send_response(answer.status_code)
        for key, value in answer.headers.items():
            if key.lower() not in HOP_HEADERS:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    do_GET = do_POST = do_DELETE = _forward

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Quiet: one line per request would drown the figures."""


def peak_per_second(arrivals):
    """The most requests that arrived within any one second."""
    peak, start = 0, 0
    for end, arrival in enumerate(arrivals):
        while arrival - arrivals[start] >= 1.0:
            start += 1
        peak = max(peak, end - start + 1)
    return peak


# === THE WORKERS === #


def worker(registry, entry_point, batch, start):
    """One cron worker: call ``entry_point`` until a call finds nothing to do."""
    from odoo import SUPERUSER_ID, api

    start.wait()
    while True:
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            done = getattr(env["clock.autopilot.task"], entry_point)(batch_size=batch)
        if not done:
            return


def run_workers(registry, count, batch):
    """Run ``count`` worker processes at once; return the wall time."""
    import odoo.sql_db

    from odoo.addons.clock_stripe_payment import stripe_api

    # Each process opens its own connections (database, Stripe), as Odoo's
    # forked workers do: a connection shared by processes mixes their answers.
    odoo.sql_db.close_all()
    stripe_api._clients.clear()
    context = multiprocessing.get_context("fork")
    start = context.Event()
    entry_points = ["_cron_run_autopilot"] + ["_cron_autopilot_charge"] * (count - 1)
    processes = [
        context.Process(target=worker, args=(registry, entry_point, batch, start))
        for entry_point in entry_points
    ]
    for process in processes:
        process.start()
    began = time.perf_counter()
    start.set()
    for process in processes:
        process.join()
    return time.perf_counter() - began, [p.exitcode for p in processes]


# === THE ROUNDS === #


def prepare_rounds(registry, args, proxy_url):
    """For each worker count, an inactive charge task with ``--charges`` due
    bookings of its own (a scope agent of its own), its runs planned; committed.

    :return: the task ids, one per worker count
    """
    from odoo import SUPERUSER_ID, api

    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        bench = Bench(env, args)
        bench.provider.write(
            {"clock_stripe_api_base": proxy_url, "clock_stripe_request_rate": args.rate}
        )
        token = bench._token(at_stripe=True)
        task_ids = []
        for _count in args.workers:
            task, scope = bench.charge_task()
            bookings = bench.add_bookings(
                args.charges, token=token, confirm=True, arrival_in=3, agent_id=scope.id
            )
            task._autopilot_plan(bench.now)
            task.active = False
            planned = bench.env["clock.autopilot.run"].search_count(
                [("task_id", "=", task.id)]
            )
            if planned != len(bookings):
                sys.exit(f"A task planned {planned} runs for {len(bookings)} bookings.")
            task_ids.append(task.id)
        cr.commit()
        return task_ids


def activate_only(registry, task_id):
    """Only this task is active (directly: the activation would check things
    that do not matter here)."""
    with registry.cursor() as cr:
        cr.execute("UPDATE clock_autopilot_task SET active = (id = %s)", [task_id])


def check_round(registry, task_id, args, started):
    """Problems found: each (task, booking) must have one done run, one
    transaction and one PaymentIntent at the double.

    :param started: when the round began (Unix time): only PaymentIntents created
        since then count, since a double kept from an earlier run holds those of
        other databases, whose references may be the same
    """
    from odoo import SUPERUSER_ID, api

    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        runs = env["clock.autopilot.run"].search([("task_id", "=", task_id)])
        problems = []
        states = Counter(runs.mapped("state"))
        if len(runs) != args.charges or states["done"] != args.charges:
            problems.append(f"{len(runs)} runs, by state {dict(states)}")
        txs = env["payment.transaction"].search(
            [("clock_reservation_ids", "in", runs.reservation_id.ids)]
        )
        per_booking = Counter(
            booking for tx in txs for booking in tx.clock_reservation_ids.ids
        )
        not_one = [b for b, n in per_booking.items() if n != 1]
        if not_one or len(per_booking) != len(runs):
            problems.append(f"bookings without exactly one transaction: {not_one}")
        references = set(txs.mapped("reference"))
    client = stripe.StripeClient(
        "sk_test_benchmark", base_addresses={"api": args.localstripe}
    )
    listing = client.v1.payment_intents.list(
        params={"limit": 100, "created": {"gte": int(started)}}
    )
    intents = Counter(
        pi.to_dict()["metadata"].get("odoo_reference")
        for pi in listing.auto_paging_iter()
    )
    not_once = [ref for ref in references if intents[ref] != 1]
    if not_once:
        problems.append(f"references without exactly one PaymentIntent: {not_once}")
    return problems


# === MAIN === #


def main():
    args = parse_args()
    check_stripe_double(args.localstripe)
    proxy = LatencyProxy(args.localstripe, args.latency)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    failed = False
    try:
        registry = open_registry(args, MODULES)
        task_ids = prepare_rounds(registry, args, proxy.url)
        rows = []
        for count, task_id in zip(args.workers, task_ids, strict=True):
            activate_only(registry, task_id)
            proxy.arrivals.clear()
            started = time.time()
            seconds, exits = run_workers(registry, count, args.batch)
            arrivals = sorted(proxy.arrivals)
            problems = check_round(registry, task_id, args, started)
            if any(exits):
                problems.append(f"worker exit codes {exits}")
            failed = failed or bool(problems)
            rows.append((count, seconds, arrivals, problems))
        print_report(args, rows)
    finally:
        proxy.shutdown()
        if args.drop:
            drop_database(args.db)
    return 1 if failed else 0


def print_report(args, rows):
    print(
        f"\nPayment Autopilot workers benchmark, database {args.db}: {args.charges} "
        f"due charges per worker count, {args.latency * 1000:.0f} ms added to each "
        f"Stripe request, budget {args.rate} requests/s, {args.batch} runs per cron "
        "call\n"
    )
    header = (
        f"{'workers':>7} {'seconds':>8} {'charges/min':>11} {'speed-up':>8} "
        f"{'peak req/s':>10} {'mean req/s':>10}  once per (task, booking)"
    )
    print(header)
    print("-" * len(header))
    base = None
    for count, seconds, arrivals, problems in rows:
        per_minute = args.charges / seconds * 60
        base = base or per_minute
        mean = len(arrivals) / seconds if seconds else 0
        print(
            f"{count:>7} {seconds:>8.1f} {per_minute:>11.0f} "
            f"{per_minute / base:>8.2f} {peak_per_second(arrivals):>10} "
            f"{mean:>10.1f}  {'yes' if not problems else 'NO: ' + '; '.join(problems)}"
        )
    print(
        "\nspeed-up = charges per minute / those of the first row. Requests counted "
        "at the proxy, in front of the double."
    )


if __name__ == "__main__":
    sys.exit(main())
