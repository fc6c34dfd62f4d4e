"""Holds that last the stay: extended holds with the expiry Stripe gives, raising a
hold when Stripe allows it (a second hold otherwise), and renewing a hold before it
expires without ever leaving the booking unsecured, by staff and by the Autopilot."""

from datetime import datetime, timedelta, timezone

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .. import const
from .autopilot_common import AutopilotStripeCommon
from .common import money_posts
from .hotel_common import MUTE, HotelPaymentCommon

EXTENDED = "payment_method_options[card][request_extended_authorization]"
INCREMENTAL = "payment_method_options[card][request_incremental_authorization]"


@tagged("post_install", "-at_install")
class TestHoldLifecycle(HotelPaymentCommon):
    def _held_booking(self, amount=100.0, extended=False, incremental=False):
        self.provider.write(
            {
                "clock_stripe_extended_holds": extended,
                "clock_stripe_incremental_holds": incremental,
            }
        )
        booking = self._booking()
        token = self._card_on_file(booking)
        with self._spy_stripe() as calls:
            hold = booking.with_user(self.payments_user)._clock_charge(
                token, amount, hold=True
            )
        self.assertEqual(hold.state, "authorized")
        (create,) = money_posts(calls)
        return booking, hold, create["params"]

    def _capture_before(self, hold):
        intent = self._stripe_pi(hold.provider_reference)
        charge = self.stripe.v1.charges.retrieve(intent["latest_charge"])
        stamp = charge.payment_method_details.card.capture_before
        return datetime.fromtimestamp(stamp, tz=timezone.utc).replace(tzinfo=None)

    def _capture_wizard(self, booking, action):
        return (
            self.env[action["res_model"]]
            .with_user(self.payments_user)
            .with_context(**action["context"])
            .create({})
        )

    # === Extended holds === #

    def test_extended_hold_shows_the_expiry_stripe_gave(self):
        booking, hold, params = self._held_booking(extended=True)
        self.assertEqual(params[EXTENDED], ["if_available"])
        self.assertNotIn(INCREMENTAL, params)
        self.assertTrue(hold.clock_stripe_hold_extended)
        self.assertFalse(hold.clock_stripe_hold_incrementable)
        self.assertEqual(hold.clock_stripe_hold_expires_at, self._capture_before(hold))
        self.assertGreater(
            hold.clock_stripe_hold_expires_at,
            fields.Datetime.now() + timedelta(days=29),
        )
        self.assertEqual(
            booking.clock_next_hold_expiry, hold.clock_stripe_hold_expires_at
        )

    def test_extension_refused_by_the_card_keeps_the_standard_expiry(self):
        self._stripe_card_refuses(extended_authorization="unavailable")
        _booking, hold, params = self._held_booking(extended=True)
        self.assertEqual(params[EXTENDED], ["if_available"])
        self.assertFalse(hold.clock_stripe_hold_extended)
        self.assertEqual(hold.clock_stripe_hold_expires_at, self._capture_before(hold))
        self.assertLess(
            hold.clock_stripe_hold_expires_at,
            fields.Datetime.now() + timedelta(days=8),
        )

    def test_a_plain_hold_asks_for_nothing_more(self):
        _booking, hold, params = self._held_booking()
        self.assertFalse([key for key in params if "payment_method_options" in key])
        self.assertFalse(hold.clock_stripe_hold_extended)
        self.assertFalse(hold.clock_stripe_hold_incrementable)

    # === Raising a hold === #

    def test_raise_a_hold_that_stripe_allows_raising(self):
        booking, hold, params = self._held_booking(100.0, incremental=True)
        self.assertEqual(params[INCREMENTAL], ["if_available"])
        self.assertTrue(hold.clock_stripe_hold_incrementable)
        with self._spy_stripe() as calls:
            booking.with_user(self.payments_user)._clock_raise_hold(hold, 50.0)
        (increment,) = money_posts(calls)
        self.assertTrue(increment["path"].endswith("/increment_authorization"))
        minor = hold._clock_stripe_minor()
        self.assertEqual(
            increment["headers"]["Idempotency-Key"],
            self._expected_key(hold.reference, f"{const.OPERATION_INCREMENT}-{minor}"),
        )
        self.assertEqual(hold.amount, 150.0)
        self.assertEqual(hold.state, "authorized")
        self.assertEqual(self._stripe_pi(hold.provider_reference)["amount"], minor)
        self.assertEqual(booking.clock_amount_held, 150.0)
        self.assertTrue(
            any("raised" in body for body in booking.message_ids.mapped("body"))
        )
        booking.with_user(self.payments_user)._clock_capture(hold)
        self.assertEqual(self._payment_lines(booking.folio_ids).amount, 150.0)

    def test_a_hold_stripe_does_not_allow_raising_offers_a_second_hold(self):
        booking, hold, _params = self._held_booking(100.0)
        with (
            self._spy_stripe() as calls,
            self.assertRaisesRegex(UserError, "second hold"),
        ):
            booking.with_user(self.payments_user)._clock_raise_hold(hold, 50.0)
        self.assertFalse(money_posts(calls))
        self.assertEqual(hold.amount, 100.0)
        wizard = self._capture_wizard(
            booking, booking.with_user(self.payments_user).action_clock_raise_hold()
        )
        self.assertEqual(wizard.transaction_id, hold)
        self.assertFalse(wizard.hold_incrementable)
        wizard.amount_added = 50.0
        action = wizard.action_second_hold()
        second = (
            self.env[action["res_model"]]
            .with_user(self.payments_user)
            .with_context(**action["context"])
            .create({})
        )
        self.assertTrue(second.hold)
        self.assertEqual(second.amount, 50.0)
        second.action_confirm()
        self.assertEqual(booking.clock_amount_held, 150.0)
        self.assertEqual(len(booking.clock_hold_ids), 2)

    def test_raise_refused_by_the_card_is_not_offered(self):
        self._stripe_card_refuses(incremental_authorization="unavailable")
        booking, hold, _params = self._held_booking(100.0, incremental=True)
        self.assertFalse(hold.clock_stripe_hold_incrementable)
        with self.assertRaisesRegex(UserError, "second hold"):
            booking.with_user(self.payments_user)._clock_raise_hold(hold, 50.0)

    @mute_logger(*MUTE)
    def test_declined_raise_keeps_the_hold(self):
        booking, hold, _params = self._held_booking(100.0, incremental=True)
        self._stripe_card_refuses(increments="decline")
        with self.assertRaisesRegex(UserError, "declined raising"):
            booking.with_user(self.payments_user)._clock_raise_hold(hold, 50.0)
        self.assertEqual(hold.amount, 100.0)
        self.assertEqual(hold.state, "authorized")
        intent = self._stripe_pi(hold.provider_reference)
        self.assertEqual(intent["amount"], hold._clock_stripe_minor())
        self.assertEqual(intent["status"], "requires_capture")

    # === Renewing a hold === #

    def test_renew_places_the_new_hold_before_releasing_the_old(self):
        booking, old, _params = self._held_booking(100.0, extended=True)
        wizard = self._capture_wizard(
            booking, booking.with_user(self.payments_user).action_clock_renew_hold()
        )
        with self._spy_stripe() as calls:
            wizard.action_confirm()
        create, cancel = money_posts(calls)
        self.assertEqual(create["path"], "/v1/payment_intents")
        self.assertEqual(
            cancel["path"], f"/v1/payment_intents/{old.provider_reference}/cancel"
        )
        new = booking.clock_hold_ids
        self.assertNotEqual(new, old)
        self.assertEqual(new.amount, 100.0)
        self.assertEqual(new.token_id, old.token_id)
        self.assertTrue(new.clock_stripe_hold_extended)
        self.assertEqual(old.state, "cancel")
        self.assertEqual(self._stripe_pi(old.provider_reference)["status"], "canceled")
        self.assertEqual(booking.clock_amount_held, 100.0)
        self.assertTrue(
            any("renewed" in body for body in booking.message_ids.mapped("body"))
        )

    @mute_logger(*MUTE)
    def test_failed_renewal_keeps_the_old_hold_and_alerts_staff(self):
        booking, old, _params = self._held_booking(100.0)
        self._stripe_fault(
            "http_500",
            "POST",
            "/v1/payment_intents",
            times=const.MAX_NETWORK_RETRIES + 1,
        )
        with self._spy_stripe() as calls:
            new = booking.with_user(self.payments_user)._clock_reauthorize_hold(old)
        self.assertNotEqual(new.state, "authorized")
        self.assertFalse(
            [call for call in money_posts(calls) if call["path"].endswith("/cancel")],
            "the old hold is never released when the new one failed",
        )
        self.assertEqual(old.state, "authorized")
        self.assertEqual(
            self._stripe_pi(old.provider_reference)["status"], "requires_capture"
        )
        self.assertEqual(booking.clock_hold_ids, old)
        activity = booking.activity_ids
        self.assertEqual(len(activity), 1)
        self.assertIn(old.reference, activity.note)
        self.assertEqual(activity.user_id, self.payments_user)
        self.assertTrue(
            any(
                "could not be renewed" in body
                for body in booking.message_ids.mapped("body")
            )
        )

    def test_panel_lists_each_hold_with_its_terms(self):
        booking, hold, _params = self._held_booking(
            100.0, extended=True, incremental=True
        )
        self.assertEqual(booking.clock_hold_ids, hold)
        self.assertTrue(hold.clock_stripe_hold_extended)
        self.assertTrue(hold.clock_stripe_hold_incrementable)
        view = self.env.ref("clock_stripe_payment.clock_reservation_view_form")
        for name in ("clock_stripe_hold_extended", "clock_stripe_hold_incrementable"):
            self.assertIn(f'name="{name}"', view.arch)


@tagged("post_install", "-at_install")
class TestAutopilotReauthorize(AutopilotStripeCommon):
    def _held_stay(self):
        booking = self._stay()
        token = self._card_on_file(booking)
        hold = booking._clock_charge(token, 80.0, hold=True)
        self.assertEqual(hold.state, "authorized")
        return booking, hold

    def test_renews_the_holds_expiring_within_the_hours_set(self):
        booking, old = self._held_stay()
        task = self._create_task(
            operation="reauthorize", reauthorize_within_hours=24 * 8
        )
        self._run_cron()
        run = self._run_of(task, booking)
        self.assertEqual(run.state, "done")
        new = booking.clock_hold_ids
        self.assertEqual(len(new), 1)
        self.assertNotEqual(new, old)
        self.assertEqual(new.amount, 80.0)
        self.assertEqual(old.state, "cancel")
        self.assertIn(new, run.transaction_ids)

    def test_holds_far_from_expiry_are_left_alone(self):
        booking, old = self._held_stay()
        task = self._create_task(operation="reauthorize", reauthorize_within_hours=24)
        self._run_cron()
        self.assertEqual(self._run_of(task, booking).state, "skipped")
        self.assertEqual(booking.clock_hold_ids, old)

    @mute_logger(*MUTE, "odoo.addons.clock_stripe_payment.models.clock_autopilot_run")
    def test_failed_renewal_keeps_the_old_hold(self):
        booking, old = self._held_stay()
        task = self._create_task(
            operation="reauthorize", reauthorize_within_hours=24 * 8
        )
        self._stripe_fault(
            "http_500",
            "POST",
            "/v1/payment_intents",
            times=const.MAX_NETWORK_RETRIES + 1,
        )
        self._run_cron()
        run = self._run_of(task, booking)
        self.assertIn(run.state, ("retry", "failed"))
        self.assertIn(old.reference, run.message)
        self.assertEqual(old.state, "authorized")
        self.assertEqual(booking.clock_hold_ids, old)
        self.assertTrue(booking.activity_ids)
