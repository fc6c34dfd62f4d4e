"""The back-office forms: payments staff get the card buttons, the cards on file and
the secured-versus-owed panel; front-desk users without the payments group open
the same bookings without any of it (and without access errors)."""

from odoo.tests import Form, tagged

from .hotel_common import HotelPaymentCommon

PAYMENT_BUTTONS = (
    "action_clock_charge",
    "action_clock_hold",
    "action_clock_capture",
    "action_clock_release",
    "action_clock_refund",
    "action_clock_send_card_link",
)


@tagged("post_install", "-at_install")
class TestHotelPaymentViews(HotelPaymentCommon):
    def _arch(self, model, user):
        views = self.env[model].with_user(user).get_views([(False, "form")])
        return views["views"]["form"]["arch"]

    def test_payments_staff_see_the_card_operations_and_the_panel(self):
        booking = self._booking()
        token = self._card_on_file(booking)
        booking._clock_charge(token, 50.0, hold=True)
        for model in ("clock.reservation", "clock.folio"):
            arch = self._arch(model, self.payments_user)
            for button in PAYMENT_BUTTONS:
                self.assertIn(button, arch, model)
        arch = self._arch("clock.reservation", self.payments_user)
        self.assertIn('name="card_payments"', arch)
        self.assertIn("clock_payment_warning", arch)
        form = Form(booking.with_user(self.payments_user))
        self.assertEqual(form.clock_amount_held, 50.0)
        self.assertEqual(form.clock_card_count, 1)
        self.assertEqual(len(form.clock_hold_ids), 1)
        Form(booking.folio_ids.with_user(self.payments_user))

    def test_front_desk_without_payments_sees_no_card_operation(self):
        booking = self._booking()
        self._card_on_file(booking)
        for model in ("clock.reservation", "clock.folio"):
            arch = self._arch(model, self.desk_user)
            for button in PAYMENT_BUTTONS:
                self.assertNotIn(button, arch, model)
        self.assertNotIn(
            'name="card_payments"', self._arch("clock.reservation", self.desk_user)
        )
        form = Form(booking.with_user(self.desk_user))
        self.assertEqual(form.state, "confirmed")
        Form(booking.folio_ids.with_user(self.desk_user))

    def test_policy_form_shows_the_card_variant(self):
        manager = self.payments_manager
        form = Form(self.policy_hold.with_user(manager))
        self.assertEqual(form.card_action, "hold")
        self.assertEqual(form.card_provider_id, self.provider)
        self.assertTrue(form.card_available)
        self.hotel.clock_stripe_card_provider_id = False
        self.policy_hold.invalidate_recordset()
        self.assertFalse(self.policy_hold.card_available)
