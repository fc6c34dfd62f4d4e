"""Defects of the Payment Autopilot and the card retention found by reading the
code (issue 9): a copied task re-armed at once, deleted runs freeing their
(task, booking) slot, noon anchors silently in UTC, and card retention archiving
cards it could not detach or undoing the work of the bookings before a failure."""

from datetime import timedelta
from unittest.mock import patch

from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .. import const
from .autopilot_common import AutopilotCommon
from .hotel_common import MUTE, HotelPaymentCommon

#: Every attempt of one SDK call: the first and the SDK's network retries.
ALL_ATTEMPTS = const.MAX_NETWORK_RETRIES + 1


@tagged("post_install", "-at_install")
class TestAutopilotDefects(AutopilotCommon):
    def test_a_copy_of_an_active_task_is_inactive(self):
        booking = self._create_booking()
        task = self._create_task()
        self.assertTrue(task.active)
        self.assertTrue(task.activated_at)

        copy = task.copy()

        self.assertFalse(copy.active, "a copy waits to be activated")
        self.assertFalse(copy.activated_at)
        self._run_cron()
        self.assertTrue(self._run_of(task, booking))
        self.assertFalse(self._run_of(copy, booking), "the copy acted on nothing")

    def test_runs_that_acted_cannot_be_deleted(self):
        booking = self._create_booking()
        task = self._create_task()
        self._run_cron()
        run = self._run_of(task, booking)
        self.assertEqual(run.state, "done")
        for state in ("done", "running", "unknown", "retry", "failed", "skipped"):
            run.state = state
            with self.assertRaisesRegex(UserError, "cannot be deleted"):
                run.unlink()
        self.assertTrue(run.exists())
        run.state = "done"
        # The (task, booking) slot stays taken: the task does not act again.
        self._run_cron(self.now + timedelta(hours=1))
        self.assertEqual(task.run_count, 1)

    def test_a_planned_run_can_be_deleted(self):
        # Nothing was sent for it; the task plans the booking again.
        booking = self._create_booking()
        task = self._create_task()
        task._autopilot_plan(self.now)
        run = self._run_of(task, booking)
        self.assertEqual(run.state, "planned")
        run.unlink()
        self.assertFalse(self._run_of(task, booking))

    def test_noon_anchored_task_needs_the_hotel_time_zone(self):
        self.hotel.partner_id.tz = False
        for mode in ("before_arrival", "before_departure"):
            task = self._create_task(mode=mode, active=False)
            self.assertIn("time zone", task.timezone_warning)
            with self.assertRaisesRegex(ValidationError, "time zone"):
                task.active = True
            with self.assertRaisesRegex(ValidationError, "time zone"):
                self._create_task(mode=mode)
        # The event modes do not depend on the hotel's time zone.
        task = self._create_task(mode="after_creation", active=False)
        self.assertFalse(task.timezone_warning)
        task.active = True

        self.hotel.partner_id.tz = "Europe/Sofia"
        task = self._create_task(mode="before_arrival", active=False)
        self.assertFalse(task.timezone_warning)
        task.active = True
        self.assertTrue(task.active)


@tagged("post_install", "-at_install")
class TestCardRetentionDefects(HotelPaymentCommon):
    def test_a_card_whose_detach_failed_stays_active_and_is_retried(self):
        booking = self._checked_out(days_ago=31)
        token = self._card_on_file(booking)
        payment_method = token.clock_stripe_payment_method_id
        self._stripe_fault(
            "http_500",
            "POST",
            "/v1/payment_methods/*/detach",
            times=ALL_ATTEMPTS,
        )

        with mute_logger(*MUTE):
            archived = self._run_card_retention()

        self.assertNotIn(token, archived)
        self.assertTrue(token.active, "kept until the card is detached at Stripe")
        self.assertTrue(self._stripe_pm(payment_method)["customer"])

        # The next run (Stripe answers again) detaches and archives it.
        self.assertIn(token, self._run_card_retention())
        self.assertFalse(token.active)
        self.assertFalse(self._stripe_pm(payment_method)["customer"])

    def test_one_failing_booking_does_not_undo_the_others(self):
        bookings = self._checked_out(days_ago=31) | self._checked_out(days_ago=40)
        tokens = [self._card_on_file(booking) for booking in bookings]
        seen = []
        Reservation = type(self.env["clock.reservation"])
        still_needed = Reservation._clock_cards_still_needed

        def fail_on_the_second(booking):
            if booking in bookings:
                seen.append(booking)
                if len(seen) == 2:
                    raise RuntimeError("unexpected failure")
            return still_needed(booking)

        with (
            patch.object(Reservation, "_clock_cards_still_needed", fail_on_the_second),
            mute_logger("odoo.addons.clock_stripe_payment.models.clock_reservation"),
        ):
            archived = self._run_card_retention()

        first, second = seen
        first_token = tokens[list(bookings).index(first)]
        second_token = tokens[list(bookings).index(second)]
        self.assertIn(first_token, archived)
        self.assertNotIn(second_token, archived)
        self.assertFalse(first_token.active, "committed before the failure")
        self.assertTrue(second_token.active)
        # The failed booking is done on the next run.
        self.assertIn(second_token, self._run_card_retention())
        self.assertFalse(second_token.active)
