"""Payment Autopilot with real commits: several workers processing the same task at
the same time share its bookings and charge each booking once.

The data is created and committed in cursors of their own (the workers cannot see
the test's uncommitted transaction), and deleted at the end.
"""

import threading
import time
from datetime import timedelta
from unittest.mock import patch

import stripe

from odoo import Command, fields
from odoo.tests import TransactionCase, tagged

from ..stripe_api import ClockStripeClient
from .autopilot_common import CATCH_UP_ALL
from .common import (
    SECRET_KEY,
    STRIPE_DOUBLE_URL,
    CommittedWorldMixin,
    check_stripe_double,
)


@tagged("post_install", "-at_install")
class TestAutopilotConcurrency(CommittedWorldMixin, TransactionCase):
    #: Due bookings of the task, all on one guest's card.
    BOOKINGS = 6

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        check_stripe_double()

    # ------------------------------------------------------------------
    # The committed world
    # ------------------------------------------------------------------

    def _create_committed_world(self):
        with self.registry.cursor() as cr:
            env = self._env(cr)
            company = env.ref("base.main_company")
            card = env.ref("payment.payment_method_card")
            provider = self._create_committed_provider(
                env, "Stripe (hotel) concurrency test", company_id=company.id
            )
            agent = env["res.partner"].create({"name": "Concurrency Agent"})
            guest = env["res.partner"].create(
                {"name": "Concurrent Guest", "email": "concurrent@example.com"}
            )
            room = env["clock.room.type"].create(
                {
                    "name": "Concurrency Room",
                    "code": "APCONC",
                    "company_id": company.id,
                    "price": 75.0,
                }
            )
            arrival = fields.Date.today() + timedelta(days=2)
            bookings = env["clock.reservation"].create(
                [
                    {
                        "partner_id": guest.id,
                        "room_type_id": room.id,
                        "company_id": company.id,
                        "arrival_date": arrival,
                        "departure_date": arrival + timedelta(days=2),
                        "agent_id": agent.id,
                    }
                    for _booking in range(self.BOOKINGS)
                ]
            )
            bookings.action_confirm()
            client = provider._clock_stripe_client()
            customer = client.create_customer(guest.name)
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
            token = env["payment.token"].create(
                {
                    "provider_id": provider.id,
                    "payment_method_id": card.id,
                    "partner_id": guest.id,
                    "payment_details": "4242",
                    "provider_ref": customer["id"],
                    "clock_stripe_payment_method_id": stripe_card["id"],
                }
            )
            env["clock.reservation.card"].create(
                [
                    {"reservation_id": booking.id, "token_id": token.id}
                    for booking in bookings
                ]
            )
            task = self._create_charge_task(
                env, "Concurrency: charge the balance", agent
            )
            return {
                "provider": provider.id,
                "partners": (agent | guest).ids,
                "room": room.id,
                "bookings": bookings.ids,
                "token": token.id,
                "task": task.id,
                "other_tasks": [],
            }

    @staticmethod
    def _create_charge_task(env, name, agent):
        """An active "charge the balance" task on the bookings of ``agent``."""
        task = env["clock.autopilot.task"].create(
            {
                "name": name,
                "company_id": env.ref("base.main_company").id,
                "mode": "before_arrival",
                "offset_hours": 168,
                "operation": "charge",
                "amount_basis": "balance",
                "include_agent_ids": [Command.set(agent.ids)],
                "failure_template_id": False,
                # The booking's trigger passed days ago: catch up on it.
                "catch_up_hours": CATCH_UP_ALL,
            }
        )
        # Activated directly: the company's card provider is the demo one,
        # which this test leaves alone.
        env.cr.execute(
            "UPDATE clock_autopilot_task SET active = true WHERE id = %s", [task.id]
        )
        return task

    def _delete_committed_world(self):
        with self.registry.cursor() as cr:
            env = self._env(cr)
            ids = self.ids
            bookings = env["clock.reservation"].browse(ids["bookings"])
            txs = env["payment.transaction"].search(
                [("clock_reservation_ids", "in", bookings.ids)]
            )
            env["clock.autopilot.task"].browse(
                [ids["task"], *ids["other_tasks"]]
            ).with_context(active_test=False).unlink()
            # The wake-ups of the charging workers the cron left behind.
            env["ir.cron.trigger"].search(
                [
                    (
                        "cron_id",
                        "in",
                        env["clock.autopilot.task"]._autopilot_worker_crons().ids,
                    )
                ]
            ).unlink()
            bookings.unlink()
            txs.unlink()
            env["payment.token"].browse(ids["token"]).unlink()
            env["clock.room.type"].browse(ids["room"]).unlink()
            env["payment.provider"].browse(ids["provider"]).unlink()
            env["res.partner"].browse(ids["partners"]).unlink()

    # ------------------------------------------------------------------
    # Workers
    # ------------------------------------------------------------------

    def _run_workers(self, entry_points):
        """Run the Autopilot cron entry points ``entry_points`` (method names of
        ``clock.autopilot.task``) in threads at once, each with its own cursor and
        real commits. The Stripe call is slowed down so that the workers overlap.

        :return: for each PaymentIntent created, the thread that sent it
        """
        barrier = threading.Barrier(len(entry_points))
        errors = []
        senders = []
        create = ClockStripeClient.create_payment_intent

        def slow_create(client, **kwargs):
            time.sleep(0.5)
            senders.append(threading.current_thread().name)
            return create(client, **kwargs)

        def worker(entry_point):
            try:
                with self.registry.cursor() as cr:
                    env = self._env(cr)
                    barrier.wait(timeout=30)
                    getattr(env["clock.autopilot.task"], entry_point)()
            except Exception as error:  # noqa: BLE001 - reported by the test
                errors.append(error)

        with (
            patch.object(ClockStripeClient, "create_payment_intent", slow_create),
            # No folio posting: the accounting it creates could not be deleted.
            patch.object(
                type(self.env["payment.transaction"]), "_autopilot_post_process"
            ),
        ):
            threads = [
                threading.Thread(target=worker, args=(entry_point,), name=f"w{i}")
                for i, entry_point in enumerate(entry_points)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=120)
        self.assertFalse(errors)
        return senders

    def _intents_for(self, reference):
        """The PaymentIntents the Stripe double holds for ``reference``."""
        client = stripe.StripeClient(
            SECRET_KEY, base_addresses={"api": STRIPE_DOUBLE_URL}, max_network_retries=0
        )
        intents = client.v1.payment_intents.list(params={"limit": 100})
        return [
            pi
            for pi in intents.auto_paging_iter()
            if pi.to_dict()["metadata"].get("odoo_reference") == reference
        ]

    def _assert_each_booking_charged_once(self):
        with self.registry.cursor() as cr:
            env = self._env(cr)
            runs = env["clock.autopilot.run"].search(
                [("task_id", "=", self.ids["task"])]
            )
            self.assertEqual(set(runs.reservation_id.ids), set(self.ids["bookings"]))
            self.assertEqual(len(runs), self.BOOKINGS)
            for run in runs:
                self.assertEqual(run.state, "done", run.message)
                txs = env["payment.transaction"].search(
                    [("clock_reservation_ids", "in", run.reservation_id.ids)]
                )
                self.assertEqual(txs, run.transaction_id)
                self.assertEqual(txs.state, "done")
                self.assertEqual(txs.amount, 150.0)
                self.assertEqual(len(self._intents_for(txs.reference)), 1)

    def test_two_workers_at_once_charge_once(self):
        self._run_workers(["_cron_run_autopilot"] * 2)
        self._run_workers(["_cron_run_autopilot"] * 2)  # And again: still once.
        self._assert_each_booking_charged_once()

    def test_main_action_and_three_workers_charge_each_booking_once(self):
        """The main action and three charging workers at once, twice: each
        booking is charged once."""
        entry_points = ["_cron_run_autopilot"] + ["_cron_autopilot_charge"] * 3
        senders = self._run_workers(entry_points)
        self._run_workers(entry_points)  # And again: nothing more.
        self._assert_each_booking_charged_once()
        self.assertEqual(len(senders), self.BOOKINGS)

    def test_charging_workers_alone_charge_each_booking_once(self):
        """Planned runs, then four charging workers at once: they split them."""
        with self.registry.cursor() as cr:
            env = self._env(cr)
            env["clock.autopilot.task"].browse(self.ids["task"])._autopilot_plan(
                fields.Datetime.now()
            )
        senders = self._run_workers(["_cron_autopilot_charge"] * 4)
        self._run_workers(["_cron_autopilot_charge"] * 4)
        self._assert_each_booking_charged_once()
        self.assertEqual(len(senders), self.BOOKINGS)
        # Side by side: while one waited for Stripe, others charged.
        self.assertGreater(len(set(senders)), 1, senders)

    def test_two_tasks_on_the_same_bookings_charge_each_booking_once(self):
        """Two tasks charge the balance of the same bookings, four workers at once:
        a worker that finds a booking claimed by another's run leaves its own run
        for later, and each booking is charged once; the later run finds nothing
        to charge."""
        with self.registry.cursor() as cr:
            env = self._env(cr)
            agent = env["res.partner"].browse(self.ids["partners"][0])
            other = self._create_charge_task(env, "Concurrency: charge again", agent)
            self.ids["other_tasks"].append(other.id)
        entry_points = ["_cron_run_autopilot"] + ["_cron_autopilot_charge"] * 3
        senders = self._run_workers(entry_points)
        self._run_workers(entry_points)  # The runs left for later.
        self.assertEqual(len(senders), self.BOOKINGS)
        with self.registry.cursor() as cr:
            env = self._env(cr)
            for booking_id in self.ids["bookings"]:
                runs = env["clock.autopilot.run"].search(
                    [("reservation_id", "=", booking_id)]
                )
                self.assertEqual(
                    sorted(runs.mapped("state")),
                    ["done", "skipped"],
                    runs.mapped("message"),
                )
                done = runs.filtered(lambda run: run.state == "done")
                txs = env["payment.transaction"].search(
                    [("clock_reservation_ids", "in", booking_id)]
                )
                self.assertEqual(txs, done.transaction_id)
                self.assertEqual((txs.state, txs.amount), ("done", 150.0))
                self.assertEqual(len(self._intents_for(txs.reference)), 1)

    def test_booking_claimed_meanwhile_leaves_the_run_for_later(self):
        """Two workers, each with a run of its own on one booking: the one whose
        snapshot predates the other's claim cannot claim the booking too; its
        transaction is rolled back and its run stays planned, untouched."""
        with self.registry.cursor() as cr:
            env = self._env(cr)
            agent = env["res.partner"].browse(self.ids["partners"][0])
            other = self._create_charge_task(env, "Concurrency: charge again", agent)
            self.ids["other_tasks"].append(other.id)
            tasks = env["clock.autopilot.task"].browse([self.ids["task"], other.id])
            tasks._autopilot_plan(fields.Datetime.now())
            booking_id = self.ids["bookings"][0]
            run_a, run_b = (
                env["clock.autopilot.run"].search(
                    [("task_id", "=", task.id), ("reservation_id", "=", booking_id)]
                )
                for task in tasks
            )
        b_began, a_claimed = threading.Event(), threading.Event()
        results, errors = {}, []

        def worker_a():
            try:
                with self.registry.cursor() as cr:
                    run = self._env(cr)["clock.autopilot.run"].browse(run_a.id)
                    b_began.wait(timeout=30)
                    results["a_locked"] = run._autopilot_lock(("planned",))
                    results["a_claimed"] = run._autopilot_claim_booking()
                    a_claimed.set()
                    time.sleep(0.5)  # Worker b now waits for this row.
            except Exception as error:  # noqa: BLE001 - reported by the test
                errors.append(error)
                a_claimed.set()

        def worker_b():
            try:
                with self.registry.cursor() as cr:
                    run = self._env(cr)["clock.autopilot.run"].browse(run_b.id)
                    # Its snapshot is taken now, before worker a's claim.
                    results["b_locked"] = run._autopilot_lock(("planned",))
                    b_began.set()
                    a_claimed.wait(timeout=30)
                    results["b_claimed"] = run._autopilot_claim_booking()
            except Exception as error:  # noqa: BLE001 - reported by the test
                errors.append(error)

        threads = [threading.Thread(target=worker_a), threading.Thread(target=worker_b)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        self.assertFalse(errors)
        self.assertEqual(
            results,
            {"a_locked": True, "a_claimed": True, "b_locked": True, "b_claimed": False},
        )
        with self.registry.cursor() as cr:
            env = self._env(cr)
            booking = env["clock.reservation"].browse(booking_id)
            self.assertEqual(booking.autopilot_busy_run_id.id, run_a.id)
            run = env["clock.autopilot.run"].browse(run_b.id)
            self.assertEqual((run.state, run.transaction_id.id), ("planned", False))
