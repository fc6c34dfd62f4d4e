#!/usr/bin/env python3
"""Payment Autopilot benchmark: prints figures, asserts nothing.

1. Planning: 10 active tasks over 100 and over 10,000 bookings: wall time and SQL
   queries of one planning pass (``clock.autopilot.task._autopilot_plan``). The
   query count must not grow with the number of bookings.
2. Charging: a charge task over M bookings against a Stripe double (localstripe):
   SQL queries and wall time per booking of ``clock.autopilot.run._autopilot_process``
   (amount, card, transaction, Stripe call, folio posting, success actions).

Everything runs in one transaction that is rolled back at the end (the Autopilot's
per-booking commits are replaced by savepoints), so the database is left as it was;
only localstripe keeps the objects it was sent.

Usage (a database where clock_stripe_payment is installed, localstripe running):

    localstripe --port 8420 --from-scratch &
    python3 benchmarks/autopilot_benchmark.py -d autopilot_dev \\
        --addons-path=/opt/odoo18/addons,. --db_host=127.0.0.1 --db_user=root \\
        --localstripe=http://127.0.0.1:8420

Not measured here yet: the same charge through Odoo's own ``payment_stripe`` token
charge with its post-processing, for a ratio (needs payment_stripe installed and a
double it can talk to; left to the lead).
"""

# A benchmark prints its figures.
# pylint: disable=print-used

import argparse
import statistics
import sys
import time
from contextlib import contextmanager
from datetime import timedelta
from unittest.mock import patch


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("--addons-path", required=True)
    parser.add_argument("--db_host", default=None)
    parser.add_argument("--db_port", default=None)
    parser.add_argument("--db_user", default=None)
    parser.add_argument("--db_password", default=None)
    parser.add_argument("--localstripe", default="http://127.0.0.1:8420")
    parser.add_argument("--bookings", type=int, nargs="+", default=[100, 10000])
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--charges", type=int, default=50)
    return parser.parse_args()


def odoo_env(args):
    import odoo
    from odoo.tools import config

    odoo_args = ["-d", args.database, f"--addons-path={args.addons_path}"]
    for option in ("db_host", "db_port", "db_user", "db_password"):
        if getattr(args, option):
            odoo_args.append(f"--{option}={getattr(args, option)}")
    config.parse_config(odoo_args)
    registry = odoo.modules.registry.Registry(args.database)
    return registry


@contextmanager
def counted(cr):
    """Yield a dict filled with the queries and seconds spent in the block."""
    figures = {}
    queries, start = cr.sql_log_count, time.perf_counter()
    yield figures
    figures["seconds"] = time.perf_counter() - start
    figures["queries"] = cr.sql_log_count - queries


class Bench:
    def __init__(self, env, args):
        from odoo import Command, fields

        self.env, self.args, self.Command = env, args, Command
        self.now = fields.Datetime.now().replace(microsecond=0)
        self.today = fields.Date.context_today(env["res.partner"])
        self.hotel = env["res.company"].create(
            {"name": "Autopilot Benchmark Hotel", "currency_id": env.ref("base.EUR").id}
        )
        self.hotel.partner_id.tz = "Europe/Sofia"
        env.ref("base.EUR").active = True
        # A chart of accounts: successful charges become account.payment records.
        env["account.chart.template"].try_loading(
            "generic_coa", company=self.hotel, install_demo=False
        )
        self.env = env = env(
            context=dict(env.context, allowed_company_ids=self.hotel.ids)
        )
        card = env.ref("payment.payment_method_card")
        self.card_method = card
        self.provider = (
            env["payment.provider"]
            .with_context(clock_stripe_skip_credential_check=True)
            .create(
                {
                    "name": "Stripe (hotel) benchmark",
                    "code": "clock_stripe",
                    "company_id": self.hotel.id,
                    "state": "test",
                    "clock_stripe_secret_key": "sk_test_benchmark",
                    "clock_stripe_publishable_key": "pk_test_benchmark",
                    "clock_stripe_api_base": args.localstripe,
                    "payment_method_ids": [Command.set(card.ids)],
                }
            )
        )
        self.hotel.clock_stripe_card_provider_id = self.provider
        self.room = env["clock.room.type"].create(
            {
                "name": "Benchmark Double",
                "code": "BENCH",
                "company_id": self.hotel.id,
                "price": 100.0,
            }
        )
        self.policy = env["clock.guarantee.policy"].create(
            {"name": "Benchmark policy", "company_id": self.hotel.id}
        )
        self.guest = env["res.partner"].create(
            {"name": "Benchmark Guest", "email": "bench@example.com"}
        )
        self.agent = env["res.partner"].create({"name": "Benchmark Agent"})
        self.ota_company = env["res.partner"].create(
            {"name": "Benchmark OTA", "is_company": True}
        )
        self.fake_token = self._token(at_stripe=False)
        self.bookings = env["clock.reservation"]

    def _token(self, at_stripe):
        if at_stripe:
            client = self.provider._clock_stripe_client()
            customer = client.create_customer(self.guest.name)
            stripe_card = client._call(
                "payment method create",
                client._client.v1.payment_methods.create,
                params={
                    "type": "card",
                    "card": {
                        "number": "4242424242424242",
                        "exp_month": 12,
                        "exp_year": 2034,
                        "cvc": "123",
                    },
                },
            )
            client.attach_payment_method(stripe_card["id"], customer["id"])
            customer_id, pm_id = customer["id"], stripe_card["id"]
        else:
            customer_id, pm_id = "cus_benchmark", "pm_benchmark"
        return self.env["payment.token"].create(
            {
                "provider_id": self.provider.id,
                "payment_method_id": self.card_method.id,
                "partner_id": self.guest.id,
                "payment_details": "4242",
                "provider_ref": customer_id,
                "clock_stripe_payment_method_id": pm_id,
            }
        )

    def add_bookings(self, count, token=None, confirm=False, arrival_in=None):
        """``count`` bookings spread over the coming 60 days, a card on each."""
        Reservation = self.env["clock.reservation"]
        channels = ("direct", "booking_engine", "ota")
        vals_list = []
        for n in range(count):
            arrival = self.today + timedelta(
                days=arrival_in if arrival_in is not None else n % 60
            )
            vals_list.append(
                {
                    "partner_id": self.guest.id,
                    "room_type_id": self.room.id,
                    "company_id": self.hotel.id,
                    "arrival_date": arrival,
                    "departure_date": arrival + timedelta(days=1 + n % 4),
                    "channel": channels[n % 3],
                    "guarantee_policy_id": self.policy.id,
                    "agent_id": self.agent.id if n % 5 == 0 else False,
                    "company_partner_id": self.ota_company.id if n % 7 == 0 else False,
                }
            )
        created = Reservation
        for start in range(0, count, 1000):
            created |= Reservation.create(vals_list[start : start + 1000])
        if confirm:
            for booking in created:
                booking.action_confirm()
        token = token or self.fake_token
        self.env["clock.reservation.card"].create(
            [
                {
                    "reservation_id": booking.id,
                    "token_id": token.id,
                    "card_type": "virtual" if booking.channel == "ota" else "guest",
                }
                for booking in created
            ]
        )
        self.env.flush_all()
        self.bookings |= created
        return created

    def planning_tasks(self, count):
        """``count`` active tasks over the six modes, with and without filters."""
        Command = self.Command
        templates = [
            {"mode": "after_creation", "operation": "none"},
            {"mode": "before_arrival", "offset_hours": 168, "operation": "none"},
            {
                "mode": "before_arrival",
                "offset_hours": 0,
                "operation": "none",
                "channel_filter": "ota",
                "card_type_filter": "virtual",
            },
            {"mode": "before_departure", "offset_hours": 2, "operation": "none"},
            {"mode": "after_check_in", "operation": "none"},
            {"mode": "after_check_out", "offset_hours": 24, "operation": "none"},
            {"mode": "after_cancellation", "operation": "none"},
            {
                "mode": "after_creation",
                "operation": "none",
                "filter_status_not_required": True,
                "filter_status_awaiting": True,
                "guarantee_policy_ids": [Command.set(self.policy.ids)],
            },
            {
                "mode": "before_arrival",
                "offset_hours": 72,
                "operation": "none",
                "exclude_agent_ids": [Command.set(self.agent.ids)],
                "exclude_company_partner_ids": [Command.set(self.ota_company.ids)],
            },
            {
                "mode": "before_arrival",
                "offset_hours": 336,
                "operation": "none",
                "channel_filter": "direct",
                "card_type_filter": "guest",
                "include_agent_ids": [Command.set(self.agent.ids)],
            },
        ]
        return self.env["clock.autopilot.task"].create(
            [
                {
                    "name": f"Benchmark task {n + 1}",
                    "company_id": self.hotel.id,
                    "active": True,
                    "failure_template_id": False,
                    **templates[n % len(templates)],
                }
                for n in range(count)
            ]
        )

    def plan(self, tasks):
        cr = self.env.cr
        with cr.savepoint(flush=True) as savepoint:
            self.env.invalidate_all()
            with counted(cr) as figures:
                figures["planned"] = tasks._autopilot_plan(self.now)
            savepoint.rollback()  # Plan again from scratch next time.
        self.env.invalidate_all()
        return figures


@contextmanager
def commits_as_savepoints(env):
    def fake_commit(run):
        run.env.flush_all()
        run.env.cr.execute("SAVEPOINT autopilot_benchmark")

    Run = type(env["clock.autopilot.run"])
    with patch.object(Run, "_autopilot_commit", fake_commit):
        env.cr.execute("SAVEPOINT autopilot_benchmark")
        yield


def main():
    args = parse_args()
    registry = odoo_env(args)
    from odoo import SUPERUSER_ID, api

    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        try:
            run_benchmark(env, args)
        finally:
            cr.rollback()
    return 0


def run_benchmark(env, args):
    print(f"Payment Autopilot benchmark on database {args.database}")
    bench = Bench(env, args)
    tasks = bench.planning_tasks(args.tasks)
    print(f"\n1. Planning: {len(tasks)} active tasks, one planning pass")
    print(f"{'bookings':>10} {'planned runs':>13} {'queries':>8} {'seconds':>8}")
    total = 0
    for target in sorted(args.bookings):
        start = time.perf_counter()
        bench.add_bookings(target - total)
        setup = time.perf_counter() - start
        total = target
        bench.plan(tasks)  # Warm the caches (first query plans, registry).
        figures = bench.plan(tasks)
        print(
            f"{total:>10} {figures['planned']:>13} {figures['queries']:>8} "
            f"{figures['seconds']:>8.3f}   (bookings created in {setup:.1f} s)"
        )
    tasks.active = False

    print(f"\n2. Charging: one 'charge the balance' task over {args.charges} bookings")
    token = bench._token(at_stripe=True)
    charged = bench.add_bookings(args.charges, token=token, confirm=True, arrival_in=3)
    charge_agent = env["res.partner"].create({"name": "Benchmark charge scope"})
    charged.agent_id = charge_agent
    task = env["clock.autopilot.task"].create(
        {
            "name": "Benchmark charge",
            "company_id": bench.hotel.id,
            "mode": "before_arrival",
            "offset_hours": 168,
            "operation": "charge",
            "amount_basis": "balance",
            "include_agent_ids": [bench.Command.set(charge_agent.ids)],
            "active": True,
            "failure_template_id": False,
        }
    )
    task._autopilot_plan(bench.now)
    runs = env["clock.autopilot.run"].search(
        [("task_id", "=", task.id), ("reservation_id", "in", charged.ids)]
    )
    env.flush_all()
    queries, seconds = [], []
    parts = {"Stripe call and its processing": [], "post-processing": []}
    Tx = type(env["payment.transaction"])

    def measured(name, method):
        def wrapper(records, *args, **kwargs):
            with counted(records.env.cr) as figures:
                result = method(records, *args, **kwargs)
            parts[name].append((figures["queries"], figures["seconds"]))
            return result

        return wrapper

    with (
        commits_as_savepoints(env),
        patch.object(
            Tx,
            "_send_payment_request",
            measured("Stripe call and its processing", Tx._send_payment_request),
        ),
        patch.object(
            Tx,
            "_autopilot_post_process",
            measured("post-processing", Tx._autopilot_post_process),
        ),
    ):
        for run in runs:
            env.invalidate_all()
            with counted(env.cr) as figures:
                run._autopilot_process(bench.now)
            queries.append(figures["queries"])
            seconds.append(figures["seconds"])
    states = runs.mapped("state")
    done = states.count("done")
    print(f"runs done: {done}/{len(runs)}")
    print(
        f"queries per booking: median {statistics.median(queries)}, "
        f"min {min(queries)}, max {max(queries)}"
    )
    p90 = sorted(seconds)[max(int(len(seconds) * 0.9) - 1, 0)]
    print(
        f"wall time per booking: median {statistics.median(seconds) * 1000:.1f} ms, "
        f"p90 {p90 * 1000:.1f} ms (Stripe double included)"
    )
    for name, values in parts.items():
        if values:
            print(
                f"  of which {name}: median "
                f"{statistics.median(q for q, _s in values)} queries, "
                f"{statistics.median(s for _q, s in values) * 1000:.1f} ms"
            )
    print(
        "  the rest is the Autopilot's own work (lock, checks, amount, card, "
        "transaction creation, run log, success actions)"
    )
    print(
        "\nThe database was not changed (rolled back). Compare with Odoo's "
        "payment_stripe token charge: not measured here yet."
    )


if __name__ == "__main__":
    sys.exit(main())
