"""The back-office forms: payments staff get the card buttons, the cards on file and
the secured-versus-owed panel; front-desk users without the payments group open
the same bookings without any of it (and without access errors)."""

import ast

from lxml import etree

from odoo.tests import Form, tagged
from odoo.tools.safe_eval import safe_eval

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

    def _shown_card_operations(self, record):
        """The card operations a payments user sees in the form's header: each
        button's ``invisible`` evaluated on the record, as the web client does."""
        arch = etree.fromstring(self._arch(record._name, self.payments_user))
        record = record.with_user(self.payments_user)
        record.invalidate_recordset()
        shown = set()
        for button in arch.xpath("//header//button[@name]"):
            if button.get("name") not in PAYMENT_BUTTONS:
                continue
            expr = button.get("invisible")
            if expr:
                names = {
                    node.id
                    for node in ast.walk(ast.parse(expr, mode="eval"))
                    if isinstance(node, ast.Name) and node.id in record._fields
                }
                values = {}
                for name in names:
                    value = record[name]
                    field = record._fields[name]
                    if field.type in ("one2many", "many2many"):
                        value = value.ids
                    elif field.type == "many2one":
                        value = value.id
                    values[name] = value
                if safe_eval(expr, values):
                    continue
            shown.add(button.get("name"))
        return shown

    def test_card_operations_shown_only_when_they_apply(self):
        booking = self._booking(policy=self.policy_tokenize)
        folio = booking.folio_ids
        link = {"action_clock_send_card_link"}
        self.assertEqual(self._shown_card_operations(booking), link)
        self.assertEqual(self._shown_card_operations(folio), link)

        token = self._card_on_file(booking)
        booking._clock_charge(token, 100.0, hold=True)
        on_hold = link | {
            "action_clock_charge",
            "action_clock_hold",
            "action_clock_capture",
            "action_clock_release",
        }
        self.assertEqual(self._shown_card_operations(booking), on_hold)
        self.assertEqual(self._shown_card_operations(folio), on_hold)

        booking._clock_capture(booking.clock_hold_ids)
        paid = link | {
            "action_clock_charge",
            "action_clock_hold",
            "action_clock_refund",
        }
        self.assertEqual(self._shown_card_operations(booking), paid)
        self.assertEqual(self._shown_card_operations(folio), paid)

        checked_out = self._checked_out(days_ago=1)
        self.assertEqual(self._shown_card_operations(checked_out), set())
        self.assertEqual(self._shown_card_operations(checked_out.folio_ids), set())

    def test_hold_dialog_is_titled_as_its_button(self):
        booking = self._booking()
        self._card_on_file(booking)
        for record in (booking, booking.folio_ids):
            record = record.with_user(self.payments_user)
            self.assertEqual(record.action_clock_hold()["name"], "Hold Amount")
            self.assertEqual(record.action_clock_charge()["name"], "Charge Card")

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
