#!/usr/bin/env python3
"""Webhook under load: a burst of signed Stripe events on Odoo in prefork mode.

Prints figures; it asserts nothing about time (issue 9, deliverable 4). It exits
non-zero when an event was not applied exactly once.

What it does
------------
1. In a throwaway database with ``clock_stripe_payment`` (``--create`` installs
   it), a hotel company with a chart of accounts, a Stripe (hotel) provider whose
   webhook secret the script knows (its API base is a closed port: applying these
   events needs no Stripe request, and one would fail loudly), and bookings with
   their folios (the set-up of ``autopilot_benchmark.py``).
2. Card transactions of those bookings, committed, each with the events Stripe
   would send for it:

   * **pay**: a pending payment, ``payment_intent.succeeded``: done, one folio
     line and one ``account.payment``;
   * **hold**: a pending hold, ``payment_intent.amount_capturable_updated``:
     authorized, nothing posted;
   * **capture**: a pending hold, ``amount_capturable_updated`` and
     ``succeeded`` (captured in the Dashboard), in any order: done, posted once;
   * **cancel**: a pending hold, ``payment_intent.canceled``: canceled;
   * **refund**: a payment done and posted, ``charge.refunded`` with its refund:
     one refund transaction, one folio line, one ``account.payment``.

   Of the ``--events`` events, ``--duplicates`` (30 %) are second deliveries of
   an event (same id and payload); all are shuffled.
3. Odoo is started in prefork mode (``--workers``, 4) on a free port, unless
   ``--url`` names a running one (serving this database only), and the events are
   POSTed to ``/payment/clock_stripe/webhook`` by ``--threads`` client threads,
   each signed as Stripe does (``Stripe-Signature: t=...,v1=HMAC-SHA256``). As
   Stripe does, an event answered with a non-2xx status is sent again after the
   burst (up to 3 rounds; counted apart).
4. Exactly once: one event row per event id (none in error), each transaction in
   its expected state, one folio payment line and one ``account.payment`` per
   payment, capture and refund, one refund transaction per refund, nothing
   posted for holds and cancellations.

Figures: events per second over the burst (all answers, duplicates included),
the 50th and 95th percentile and the slowest answer time, answers by status.

Usage
-----
::

    python3 benchmarks/webhook_load_benchmark.py --db webhook_bench --create --drop \\
        [--events 2000] [--duplicates 0.3] [--threads 24] [--workers 4] \\
        [--bookings 200] [--url http://127.0.0.1:8069]

``--create``, ``--drop`` and the database options are those of the other
scripts (``_common.py``). Without ``--create`` the database must have
``clock_stripe_payment`` installed; the script commits a company, bookings and
transactions there.
"""

# A benchmark prints its figures, and commits its data for the server to see.
# pylint: disable=print-used,invalid-commit

import argparse
import hashlib
import hmac
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import _common
import autopilot_benchmark
import requests

MODULES = ["clock_stripe_payment"]
# Unique: another run's provider in the same database must not verify the events.
WEBHOOK_SECRET = f"whsec_webhook_load_benchmark_{uuid.uuid4().hex}"
WEBHOOK_PATH = "/payment/clock_stripe/webhook"
DEAD_API_BASE = "http://127.0.0.1:9"  # Discard port: no Stripe request is expected.
AMOUNT = 100.0
# Share of the payments of each kind.
KINDS = (("pay", 40), ("hold", 20), ("capture", 15), ("cancel", 10), ("refund", 15))
RESEND_ROUNDS = 3


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n", 1)[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--db", default="webhook_bench", help="database name")
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument(
        "--duplicates", type=float, default=0.3, help="share of second deliveries"
    )
    parser.add_argument("--threads", type=int, default=24, help="client threads")
    parser.add_argument("--workers", type=int, default=4, help="Odoo HTTP workers")
    parser.add_argument("--bookings", type=int, default=200)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument(
        "--url", default=None, help="a running Odoo serving --db (default: start one)"
    )
    _common.add_odoo_arguments(parser)
    return _common.complete_args(parser.parse_args())


# === DATA === #


def payment_intent(tx, status, pi_id):
    minor = int(round(tx.amount * 100))
    return {
        "id": pi_id,
        "object": "payment_intent",
        "amount": minor,
        "amount_capturable": minor if status == "requires_capture" else 0,
        "amount_received": minor if status == "succeeded" else 0,
        "capture_method": "manual" if tx.clock_stripe_capture_manually else "automatic",
        "created": int(time.time()),
        "currency": tx.currency_id.name.lower(),
        "customer": "cus_webhook_bench",
        "latest_charge": f"ch_{pi_id[3:]}",
        "livemode": False,
        "metadata": {"odoo_reference": tx.reference},
        "payment_method": "pm_webhook_bench",
        "status": status,
        "cancellation_reason": "requested_by_customer"
        if status == "canceled"
        else None,
    }


def charge_refunded(tx, pi_id):
    minor = int(round(tx.amount * 100))
    refund = {
        "id": f"re_{pi_id[3:]}",
        "object": "refund",
        "amount": minor,
        "currency": tx.currency_id.name.lower(),
        "payment_intent": pi_id,
        "charge": f"ch_{pi_id[3:]}",
        "metadata": {},
        "status": "succeeded",
    }
    return {
        "id": f"ch_{pi_id[3:]}",
        "object": "charge",
        "amount": minor,
        "amount_refunded": minor,
        "currency": tx.currency_id.name.lower(),
        "payment_intent": pi_id,
        "metadata": {"odoo_reference": tx.reference},
        "refunded": True,
        "refunds": {"object": "list", "data": [refund], "has_more": False},
    }


def event(event_type, obj):
    return {
        "id": f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "type": event_type,
        "data": {"object": obj},
    }


def prepare(registry, args):
    """Commit the bookings and transactions; return (payments, unique events)."""
    from odoo import SUPERUSER_ID, Command, api

    unique = round(args.events * (1 - args.duplicates))
    rng = random.Random(args.seed)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        bench = autopilot_benchmark.Bench(
            env, SimpleNamespace(localstripe=DEAD_API_BASE)
        )
        bench.provider.clock_stripe_webhook_secret = WEBHOOK_SECRET
        bench.add_bookings(args.bookings, confirm=True)
        env = bench.env
        bookings = env["clock.reservation"].search(
            [("company_id", "=", bench.hotel.id)]
        )
        population = [kind for kind, weight in KINDS for _n in range(weight)]
        payments, events = [], []
        while len(events) < unique:
            kind = rng.choice(population)
            booking = bookings[len(payments) % len(bookings)]
            pi_id = f"pi_{uuid.uuid4().hex[:24]}"
            tx = env["payment.transaction"].create(
                {
                    "provider_id": bench.provider.id,
                    "payment_method_id": bench.card_method.id,
                    "reference": f"WHB-{uuid.uuid4().hex[:16]}",
                    "amount": AMOUNT,
                    "currency_id": bench.hotel.currency_id.id,
                    "partner_id": bench.guest.id,
                    "operation": "online_direct",
                    "provider_reference": pi_id,
                    "clock_stripe_capture_manually": kind
                    in ("hold", "capture", "cancel"),
                    "clock_reservation_ids": [Command.set(booking.ids)],
                    "clock_folio_ids": [Command.set(booking.folio_ids[:1].ids)],
                }
            )
            tx._set_pending()
            if kind == "refund":
                tx._set_done()
                tx._post_process()
                tx_events = [event("charge.refunded", charge_refunded(tx, pi_id))]
            elif kind == "pay":
                tx_events = [
                    event(
                        "payment_intent.succeeded",
                        payment_intent(tx, "succeeded", pi_id),
                    )
                ]
            elif kind == "cancel":
                tx_events = [
                    event(
                        "payment_intent.canceled", payment_intent(tx, "canceled", pi_id)
                    )
                ]
            else:
                tx_events = [
                    event(
                        "payment_intent.amount_capturable_updated",
                        payment_intent(tx, "requires_capture", pi_id),
                    )
                ]
                if kind == "capture":
                    tx_events.append(
                        event(
                            "payment_intent.succeeded",
                            payment_intent(tx, "succeeded", pi_id),
                        )
                    )
            payments.append((kind, tx.id, [e["id"] for e in tx_events]))
            events.extend(json.dumps(e) for e in tx_events)
    return payments, events


# === SERVER === #


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_odoo(args):
    """Odoo in prefork mode on free ports, its log in /tmp/<db>-server.log."""
    port = free_port()
    logfile = f"/tmp/{args.db}-server.log"
    command = [
        *_common.ODOO_CLI,
        f"--database={args.db}",
        f"--db-filter=^{args.db}$",
        f"--workers={args.workers}",
        f"--http-port={port}",
        f"--gevent-port={free_port()}",
        f"--logfile={logfile}",
        "--http-interface=127.0.0.1",
        "--max-cron-threads=0",
        f"--log-level={args.log_level}",
        "--limit-time-real=600",
        *_common.odoo_options(args),
    ]
    server = subprocess.Popen(
        command,
        env=dict(os.environ, TZ="UTC"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"Odoo stopped; see its log in {logfile}.")
        try:
            if requests.get(f"{url}/web/health", timeout=5).ok:
                return server, url
        except requests.RequestException:
            pass
        time.sleep(0.5)
    stop_odoo(server)
    sys.exit("Odoo did not answer within 2 minutes.")


def stop_odoo(server):
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


# === BURST === #


def sign(payload):
    timestamp = int(time.time())
    digest = hmac.new(
        WEBHOOK_SECRET.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={digest}"


def burst(url, payloads, threads):
    """POST every payload; return ([(status, seconds)], wall seconds)."""
    local = threading.local()

    def post(payload):
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        start = time.perf_counter()
        try:
            status = session.post(
                url + WEBHOOK_PATH,
                data=payload.encode(),
                headers={
                    "Content-Type": "application/json",
                    "Stripe-Signature": sign(payload),
                },
                timeout=120,
            ).status_code
        except requests.RequestException:
            status = 0
        return status, time.perf_counter() - start

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        answers = list(pool.map(post, payloads))
    return answers, time.perf_counter() - start


# === EXACTLY ONCE === #

EXPECTED = {
    # kind: (state, posted lines on the payment, refund transactions)
    "pay": ("done", 1, 0),
    "hold": ("authorized", 0, 0),
    "capture": ("done", 1, 0),
    "cancel": ("cancel", 0, 0),
    "refund": ("done", 1, 1),
}


def check(registry, payments):
    """Return the list of exactly-once violations."""
    from odoo import SUPERUSER_ID, api

    problems = []
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        event_ids = [ref for _kind, _tx, refs in payments for ref in refs]
        cr.execute(
            "SELECT event_ref, count(*), array_agg(state) FROM clock_stripe_event "
            "WHERE event_ref IN %s GROUP BY event_ref",
            [tuple(event_ids)],
        )
        rows = {ref: (count, states) for ref, count, states in cr.fetchall()}
        for ref in event_ids:
            count, states = rows.get(ref, (0, []))
            if count != 1 or states[0] != "processed":
                problems.append(f"event {ref}: {count} rows, states {states}")
        Payment = env["account.payment"]
        for kind, tx_id, _refs in payments:
            tx = env["payment.transaction"].browse(tx_id)
            state, lines, refunds = EXPECTED[kind]
            refund_txs = tx.child_transaction_ids.filtered(
                lambda t: t.operation == "refund"
            )
            found = (
                tx.state,
                len(tx.clock_folio_line_ids),
                len(refund_txs),
            )
            if found != (state, lines, refunds):
                problems.append(
                    f"{kind} {tx.reference}: state, lines, refunds {found}, "
                    f"expected {(state, lines, refunds)}"
                )
            for posted in (tx | refund_txs).filtered(lambda t: t.state == "done"):
                count = Payment.search_count(
                    [("payment_transaction_id", "=", posted.id)]
                )
                posted_lines = len(posted.clock_folio_line_ids)
                if (count, posted_lines) != (1, 1):
                    problems.append(
                        f"{kind} {posted.reference}: {count} account.payment, "
                        f"{posted_lines} folio lines"
                    )
    return problems


# === MAIN === #


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main():
    args = parse_args()
    registry = _common.open_registry(args, MODULES)
    print("Preparing bookings and transactions...")
    payments, unique = prepare(registry, args)
    rng = random.Random(args.seed)
    duplicates = [rng.choice(unique) for _n in range(args.events - len(unique))]
    payloads = unique + duplicates
    rng.shuffle(payloads)
    server = None
    if args.url:
        url = args.url.rstrip("/")
    else:
        print(f"Starting Odoo with --workers={args.workers}...")
        server, url = start_odoo(args)
    try:
        print(
            f"Sending {len(payloads)} events ({len(duplicates)} duplicates) with "
            f"{args.threads} threads..."
        )
        answers, seconds = burst(url, payloads, args.threads)
        statuses = Counter(status for status, _s in answers)
        again = [
            p
            for p, (status, _s) in zip(payloads, answers, strict=True)
            if status // 100 != 2
        ]
        resent = Counter()
        for _round in range(RESEND_ROUNDS):
            if not again:
                break
            answers_again, _s = burst(url, again, args.threads)
            resent.update(status for status, _s in answers_again)
            again = [
                p
                for p, (status, _s) in zip(again, answers_again, strict=True)
                if status // 100 != 2
            ]
    finally:
        if server:
            stop_odoo(server)
    problems = check(registry, payments)
    times = [s * 1000.0 for _status, s in answers]
    kinds = Counter(kind for kind, _tx, _refs in payments)
    print()
    print(
        f"Webhook burst on Odoo --workers={args.workers}, {args.threads} client threads"
    )
    print(
        f"  payments: {len(payments)} "
        f"({', '.join(f'{k} {kinds[k]}' for k, _w in KINDS)}); "
        f"events: {len(payloads)} ({len(unique)} distinct, "
        f"{len(duplicates)} duplicates)"
    )
    print(f"  burst: {seconds:.1f} s, {len(payloads) / seconds:.1f} events/s")
    print(
        f"  answer time: p50 {percentile(times, 0.5):.0f} ms, "
        f"p95 {percentile(times, 0.95):.0f} ms, max {max(times):.0f} ms, "
        f"mean {statistics.fmean(times):.0f} ms"
    )
    print(f"  answers: {dict(sorted(statuses.items()))}; sent again: {dict(resent)}")
    if again:
        problems.append(
            f"{len(again)} events still refused after {RESEND_ROUNDS} rounds"
        )
    if problems:
        print(f"  EXACTLY ONCE VIOLATED ({len(problems)}):")
        for problem in problems[:50]:
            print(f"    {problem}")
    else:
        print("  exactly once: every event applied once, every payment posted once")
    if args.drop:
        _common.drop_database(args.db)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
