"""OTA virtual cards: no charge before the activation date, none above the amount
the OTA loaded on the card; refused with the reason and nothing sent to Stripe."""

from datetime import timedelta

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import Form, tagged

from .hotel_common import HotelPaymentCommon


@tagged("post_install", "-at_install")
class TestVirtualCards(HotelPaymentCommon):
    def _virtual_card(self, **values):
        booking = self._booking()
        token = self._card_on_file(booking, card_type="virtual")
        booking.card_ids.write(values)
        return booking, token

    def _refused(self, booking, token, amount, reason, hold=False):
        with self._spy_stripe() as calls, self.assertRaises(UserError) as refused:
            booking.with_user(self.payments_user)._clock_charge(
                token, amount, hold=hold
            )
        self.assertIn(reason, str(refused.exception))
        self.assertFalse(calls)

    def test_charge_before_the_activation_date_is_refused(self):
        tomorrow = fields.Date.today() + timedelta(days=1)
        booking, token = self._virtual_card(activation_date=tomorrow)
        self._refused(booking, token, 50.0, "before its activation date")
        self._refused(booking, token, 50.0, "before its activation date", hold=True)
        self.assertFalse(booking.transaction_ids)
        self.assertEqual(booking.folio_ids.balance, 300.0)

        booking.card_ids.activation_date = fields.Date.today() - timedelta(days=1)
        tx = booking.with_user(self.payments_user)._clock_charge(token, 50.0)
        self.assertEqual(tx.state, "done")
        self.assertEqual(booking.folio_ids.balance, 250.0)

    def test_guest_card_has_no_activation_date(self):
        booking = self._booking()
        token = self._card_on_file(booking)
        booking.card_ids.activation_date = fields.Date.today() + timedelta(days=5)
        tx = booking.with_user(self.payments_user)._clock_charge(token, 50.0)
        self.assertEqual(tx.state, "done")

    def test_charges_above_the_loaded_amount_are_refused(self):
        booking, token = self._virtual_card(loaded_amount=150.0)
        self.assertEqual(booking.card_ids.loaded_currency_id, booking.currency_id)
        self._refused(booking, token, 150.01, "loaded with")
        charge = booking.with_user(self.payments_user)._clock_charge(token, 100.0)
        self.assertEqual(charge.state, "done")
        self._refused(booking, token, 60.0, "loaded with", hold=True)
        hold = booking.with_user(self.payments_user)._clock_charge(
            token, 50.0, hold=True
        )
        self.assertEqual(hold.state, "authorized")
        # 100 charged and 50 held: nothing is left on the card.
        self._refused(booking, token, 1.0, "loaded with")

        booking.with_user(self.payments_user)._clock_release_holds(hold)
        booking.with_user(self.payments_manager)._clock_refund(charge, 30.0)
        # 70 charged, the hold released: 80 are left.
        self._refused(booking, token, 80.01, "loaded with")
        tx = booking.with_user(self.payments_user)._clock_charge(token, 80.0)
        self.assertEqual(tx.state, "done")
        self.assertEqual(booking.folio_ids.balance, 150.0)

    def test_staff_set_the_activation_date_and_loaded_amount_on_the_booking(self):
        booking = self._booking()
        self._card_on_file(booking, card_type="virtual")
        activation = fields.Date.today() + timedelta(days=3)
        form = Form(booking.with_user(self.payments_user))
        with form.card_ids.edit(0) as line:
            self.assertEqual(line.loaded_currency_id, booking.currency_id)
            line.activation_date = activation
            line.loaded_amount = 120.0
        form.save()
        self.assertEqual(booking.card_ids.activation_date, activation)
        self.assertEqual(booking.card_ids.loaded_amount, 120.0)

    def test_a_guest_card_replacing_the_virtual_card_is_a_guest_card(self):
        booking, virtual = self._virtual_card()
        guest_card = self._card_on_file(booking)
        booking._clock_replace_card(virtual, guest_card)
        self.assertEqual(booking.card_ids.token_id, guest_card)
        self.assertEqual(booking.card_ids.card_type, "guest")
