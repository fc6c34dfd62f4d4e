"""The Autopilot simulator (what every active and draft task would do, per booking,
with the balance expected after each step and the overlaps flagged) agrees with
what the cron then does; the safety caps stop a run instead of charging."""

from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import Form, tagged

from .. import autopilot
from .autopilot_common import AutopilotStripeCommon
from .common import money_posts


@tagged("post_install", "-at_install")
class TestAutopilotSimulator(AutopilotStripeCommon):
    def setUp(self):
        super().setUp()
        # Only the test's tasks: the demo's example tasks watch every booking.
        self.Task.with_context(active_test=False).search([]).unlink()

    def _after_creation(self, offset, operation, sequence, **values):
        return self._create_task(
            name=f"{operation} +{offset}h",
            mode="after_creation",
            offset_hours=offset,
            operation=operation,
            sequence=sequence,
            card_choice="guest",
            **values,
        )

    def _simulate(self, until, bookings=None):
        simulation = self.env["clock.autopilot.simulation"].create(
            {
                "company_id": self.hotel.id,
                "date_from": self.now - timedelta(days=1),
                "date_to": until,
                "reservation_ids": [(6, 0, bookings.ids if bookings else [])],
            }
        )
        simulation.action_simulate()
        return simulation

    def test_overlapping_tasks_simulated_as_the_cron_then_runs_them(self):
        booking = self._stay()
        self._add_card(booking)
        self.assertEqual(booking.balance, 200.0)
        hold = self._after_creation(
            0, "hold", 1, amount_basis="fixed", amount_fixed=40.0
        )
        deposit = self._after_creation(
            1, "charge", 2, amount_basis="fixed", amount_fixed=150.0
        )
        rest = self._after_creation(2, "charge", 3, amount_basis="balance")
        total = self._after_creation(
            3, "charge", 4, amount_basis="percent_total", amount_percent=100.0
        )
        extra = self._after_creation(
            4, "charge", 5, amount_basis="fixed", amount_fixed=30.0
        )
        draft = self._after_creation(5, "release", 6, active=False)
        until = self.now + timedelta(hours=6)

        simulation = self._simulate(until, booking)

        lines = simulation.line_ids.sorted("sequence")
        self.assertEqual(
            lines.task_id.ids,
            [hold.id, deposit.id, rest.id, total.id, extra.id, draft.id],
        )
        self.assertEqual(lines.mapped("amount"), [40.0, 150.0, 50.0, 200.0, 30.0, 40.0])
        self.assertEqual(
            lines.mapped("balance_after"), [200.0, 50.0, 0.0, -200.0, -230.0, -230.0]
        )
        self.assertEqual(lines.mapped("held_after"), [40.0] * 5 + [0.0])
        self.assertEqual(lines.mapped("task_active"), [True] * 5 + [False])
        self.assertEqual(
            [bool(line.flags) for line in lines],
            [False, False, False, True, True, False],
        )
        self.assertIn("same balance", lines[3].flags)
        self.assertIn("hold already covers", lines[4].flags)
        self.assertEqual(simulation.overlap_count, 2)
        self.assertFalse(self.Run.search([("reservation_id", "=", booking.id)]))

        self._run_cron(until)

        for line in lines[:5]:
            run = self._run_of(line.task_id, booking)
            self.assertEqual(run.state, "done", run.message)
            self.assertEqual(run.amount, line.amount)
            self.assertEqual(run.token_id, line.token_id)
            self.assertEqual(run.due_at, line.when)
        self.assertFalse(self._run_of(draft, booking), "a draft task does not run")
        self.assertEqual(booking._clock_get_balance(), lines[4].balance_after)
        self.assertEqual(booking.clock_amount_held, lines[4].held_after)

    def test_a_hold_on_a_card_that_cannot_be_held_is_flagged(self):
        booking = self._stay()
        token = self._add_card(booking)
        self._after_creation(0, "hold", 1, amount_basis="fixed", amount_fixed=80.0)
        expiry = self.now.date() - timedelta(days=40)
        token.write(
            {
                "clock_stripe_exp_year": expiry.year,
                "clock_stripe_exp_month": expiry.month,
            }
        )
        line = self._simulate(self.now, booking).line_ids
        self.assertEqual(line.outcome, "act")
        self.assertIn("cannot be held", line.flags)

    def test_cap_per_booking_stops_the_run_instead_of_charging(self):
        booking = self._stay()
        self._add_card(booking)
        task = self._after_creation(
            0, "charge", 1, amount_basis="balance", cap_per_booking=150.0
        )
        line = self._simulate(self.now, booking).line_ids
        self.assertEqual(line.outcome, "over_cap")
        with self._spy_stripe() as calls:
            self._run_cron()
        self.assertFalse(money_posts(calls))
        run = self._run_of(task, booking)
        self.assertEqual(run.state, "failed")
        self.assertEqual(run.failure_kind, autopilot.FAILURE_CAP)
        self.assertFalse(run.transaction_id)
        self.assertIn("cap of", run.message)
        self.assertEqual(booking.balance, 200.0)
        self.assertTrue(
            any(
                booking.name in body and "cap" in body
                for body in task.message_ids.mapped("body")
            )
        )

    def test_cap_per_run_charges_up_to_the_cap_then_stops(self):
        first, second, third = self._stay(), self._stay(), self._stay()
        for booking in first | second | third:
            self._add_card(booking)
        task = self._after_creation(
            0, "charge", 1, amount_basis="fixed", amount_fixed=100.0, cap_per_run=250.0
        )
        self._run_cron()
        runs = [self._run_of(task, booking) for booking in (first, second, third)]
        self.assertEqual([run.state for run in runs], ["done", "done", "failed"])
        self.assertEqual(runs[2].failure_kind, autopilot.FAILURE_CAP)
        self.assertFalse(runs[2].transaction_id)
        self.assertEqual(third.balance, 200.0)
        alerts = task.message_ids.filtered(lambda m: "cap" in (m.body or ""))
        self.assertEqual(len(alerts), 1)

    def test_managers_simulate_front_desk_cannot(self):
        booking = self._stay()
        self._add_card(booking)
        self._after_creation(0, "charge", 1, amount_basis="balance", active=False)
        Simulation = self.env["clock.autopilot.simulation"]
        with Form(Simulation.with_user(self.payments_manager)) as form:
            form.date_to = fields.Datetime.now() + timedelta(hours=1)
        simulation = form.record
        simulation.action_simulate()
        line = simulation.line_ids.filtered(lambda step: step.reservation_id == booking)
        self.assertEqual((line.amount, line.balance_after), (200.0, 0.0))
        self.assertFalse(line.task_active)
        with self.assertRaises(AccessError):
            Simulation.with_user(self.payments_user).create({"date_to": self.now})
