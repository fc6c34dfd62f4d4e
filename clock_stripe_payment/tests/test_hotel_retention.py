"""Card retention: the daily cron deletes the cards of bookings closed longer than
the hotel's retention period, and detaches them at Stripe, unless a hold or
another booking still needs them."""

from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from .hotel_common import HotelPaymentCommon


@tagged("post_install", "-at_install")
class TestHotelCardRetention(HotelPaymentCommon):
    def _run_cron(self):
        return self._run_card_retention()

    def test_cards_are_deleted_after_the_retention_period(self):
        booking = self._checked_out(days_ago=31)
        token = self._card_on_file(booking)
        payment_method = token.clock_stripe_payment_method_id
        self.assertTrue(self._stripe_pm(payment_method)["customer"])

        archived = self._run_cron()

        self.assertEqual(archived, token)
        self.assertFalse(token.active)
        self.assertFalse(
            self._stripe_pm(payment_method)["customer"], "detached at Stripe"
        )
        self.assertTrue(
            any("Card retention" in body for body in booking.message_ids.mapped("body"))
        )
        booking.invalidate_recordset()
        self.assertEqual(booking.clock_card_count, 0)

    def test_cards_are_kept_during_the_retention_period(self):
        booking = self._checked_out(days_ago=29)
        token = self._card_on_file(booking)
        self.assertFalse(self._run_cron())
        self.assertTrue(token.active)

    def test_cards_of_a_cancelled_booking_with_an_open_hold_are_kept(self):
        booking = self._booking()
        token = self._card_on_file(booking)
        hold = booking._clock_charge(token, 50.0, hold=True)
        self.assertEqual(hold.state, "authorized")
        booking.action_cancel()
        booking.cancelled_at = fields.Datetime.now() - timedelta(days=60)
        self.assertFalse(self._run_cron())
        self.assertTrue(token.active)
        booking._clock_release_holds()
        self.assertEqual(self._run_cron(), token)
        self.assertFalse(token.active)

    def test_a_card_another_open_booking_needs_is_kept(self):
        old = self._checked_out(days_ago=90)
        token = self._card_on_file(old)
        upcoming = self._booking()
        upcoming._clock_link_card(token)
        self.assertFalse(self._run_cron())
        self.assertTrue(token.active)

    def test_no_retention_keeps_the_cards(self):
        self.hotel.clock_card_retention_days = 0
        booking = self._checked_out(days_ago=400)
        token = self._card_on_file(booking)
        self.assertFalse(self._run_cron())
        self.assertTrue(token.active)

    def test_the_cron_is_daily(self):
        cron = self.env.ref("clock_stripe_payment.ir_cron_clock_card_retention")
        self.assertEqual((cron.interval_number, cron.interval_type), (1, "days"))
        self.assertTrue(cron.active)
