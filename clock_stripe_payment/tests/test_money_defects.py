"""Money defects found by reading the code (issue 9): a zero amount in the capture
and refund wizards, a late ``payment_failed`` on a hold, guest payments turned into
holds by the provider's "Capture Amount Manually", a booking balance posted to one
of several folios, and a lost answer matched to an intent by its reference only."""

import json
import re
import time
from html import unescape

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .. import const
from .common import money_posts
from .hotel_common import MUTE, HotelPaymentHttpCommon


@tagged("post_install", "-at_install")
class TestMoneyDefects(HotelPaymentHttpCommon):
    # === Helpers === #

    def _wizard(self, action, user):
        return (
            self.env[action["res_model"]]
            .with_user(user)
            .with_context(**action["context"])
            .create({})
        )

    def _inline_form_values(self, html):
        match = re.search(r'data-clock-stripe-values="([^"]*)"', html)
        self.assertTrue(match, "the card form is on the page")
        return json.loads(unescape(match.group(1)))

    # === 1. Zero amount in the capture and refund wizards === #

    def _assert_empty_amounts_refused(self, wizard):
        """A zero or empty amount is refused with a message, nothing sent."""
        for empty in (0.0, False):
            wizard.amount = empty
            with self._spy_stripe() as calls, self.assertRaises(UserError) as caught:
                wizard.action_confirm()
            self.assertIn("amount", str(caught.exception))
            self.assertFalse(money_posts(calls))

    def test_capture_wizard_refuses_a_zero_amount(self):
        booking = self._booking()
        token = self._card_on_file(booking)
        hold = booking._clock_charge(token, 100.0, hold=True)
        self.assertEqual(hold.state, "authorized")
        action = booking.with_user(self.payments_user).action_clock_capture()
        wizard = self._wizard(action, self.payments_user)
        self.assertEqual(wizard.transaction_id, hold)
        self._assert_empty_amounts_refused(wizard)
        self.assertEqual(hold.state, "authorized")
        self.assertFalse(hold.child_transaction_ids)
        self.assertEqual(
            self._stripe_pi(hold.provider_reference)["status"], "requires_capture"
        )
        self.assertFalse(self._payment_lines(booking.folio_ids))

    def test_refund_wizard_refuses_a_zero_amount(self):
        booking = self._booking()
        token = self._card_on_file(booking)
        tx = booking._clock_charge(token, 100.0)
        self.assertEqual(tx.state, "done")
        action = booking.with_user(self.payments_manager).action_clock_refund()
        wizard = self._wizard(action, self.payments_manager)
        self.assertEqual(wizard.transaction_id, tx)
        self._assert_empty_amounts_refused(wizard)
        self.assertFalse(tx.child_transaction_ids)
        self.assertEqual(tx._clock_get_refundable_amount(), 100.0)
        self.assertEqual(booking.folio_ids.balance, 200.0)

    # === 2. A late payment_failed on a hold === #

    def test_late_payment_failed_leaves_the_hold_authorized(self):
        hold = self._hold(amount=30.0)
        obj = {
            "id": hold.provider_reference,
            "object": "payment_intent",
            "status": "requires_payment_method",
            "amount": 3000,
            "currency": "eur",
            "created": int(time.time()) - 60,
            "metadata": {const.METADATA_REFERENCE_KEY: hold.reference},
            "last_payment_error": {
                "code": "card_declined",
                "message": "Your card was declined.",
            },
        }
        with mute_logger(*MUTE):
            response = self._post_webhook(
                self._event("payment_intent.payment_failed", obj)
            )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(hold.state, "authorized")
        self.assertNotEqual(hold.state_message, "Your card was declined.")

    # === 3. Guest payments are charged whatever the provider's manual capture === #

    def test_guest_folio_payment_is_charged_when_the_provider_captures_manually(self):
        self.provider.capture_manually = True
        booking = self._booking()
        booking._portal_ensure_token()
        folio = booking.folio_ids
        page = self.url_open(
            f"/my/bookings/{booking.id}/folio/{folio.id}/pay"
            f"?access_token={booking.access_token}"
        )
        self.assertEqual(page.status_code, 200)
        self.assertEqual(
            self._inline_form_values(page.text)["capture_method"], "automatic"
        )
        tx = self._create_tx(
            f"/my/bookings/{booking.id}/folio/{folio.id}/transaction",
            booking,
            amount=50.0,
        )
        self.assertFalse(tx.clock_stripe_capture_manually)
        answer = self._confirm_in_browser(tx)
        self.assertEqual(answer["state"], "done")
        self.assertEqual(
            self._stripe_pi(tx.provider_reference)["capture_method"], "automatic"
        )

    def test_guarantee_pay_is_charged_when_the_provider_captures_manually(self):
        self.provider.capture_manually = True
        booking = self._booking(
            policy=self.policy_pay, confirm=False, channel="booking_engine"
        )
        booking._portal_ensure_token()
        route = f"/my/bookings/{booking.id}/guarantee/transaction"
        tx = self._create_tx(route, booking)
        self.assertTrue(tx.clock_guarantee)
        self.assertFalse(tx.clock_stripe_capture_manually)
        answer = self._confirm_in_browser(tx)
        self.assertEqual(answer["state"], "done")
        # The hold variant still holds.
        booking = self._booking(
            policy=self.policy_hold, confirm=False, channel="booking_engine"
        )
        booking._portal_ensure_token()
        self.provider.capture_manually = False
        route = f"/my/bookings/{booking.id}/guarantee/transaction"
        tx = self._create_tx(route, booking)
        self.assertTrue(tx.clock_stripe_capture_manually)
        self.assertEqual(self._confirm_in_browser(tx)["state"], "authorized")

    # === 4. A booking balance over several folios === #

    def test_charge_of_several_folios_asks_for_the_folio(self):
        booking = self._booking()
        token = self._card_on_file(booking)
        first = booking.folio_ids
        second = self.env["clock.folio"].create(
            {
                "name": f"{booking.name}/2",
                "reservation_id": booking.id,
                "line_ids": [
                    Command.create(
                        {
                            "name": "Minibar",
                            "kind": "charge",
                            "revenue_group": "extras",
                            "amount": 50.0,
                        }
                    )
                ],
            }
        )
        self.assertEqual(second.balance, 50.0)
        self.assertEqual(len(booking._clock_get_visible_folios()), 2)
        action = booking.with_user(self.payments_user).action_clock_charge()
        wizard = self._wizard(action, self.payments_user)
        self.assertFalse(wizard.folio_id)
        self.assertEqual(wizard.amount, 350.0)
        with self._spy_stripe() as calls, self.assertRaises(UserError) as caught:
            wizard.action_confirm()
        self.assertIn("folio", str(caught.exception))
        self.assertFalse(money_posts(calls))
        self.assertFalse(booking.transaction_ids.filtered(lambda t: t.amount > 0))
        # A charge that fits the default folio needs no choice.
        default = booking._clock_get_default_folio()
        tx = booking.with_user(self.payments_user)._clock_charge(token, 20.0)
        self.assertEqual(tx.state, "done")
        self.assertEqual(self._payment_lines(default).payment_transaction_id, tx)
        # Folio by folio, each payment is posted where it belongs.
        wizard.folio_id = first
        self.assertEqual(wizard.amount, first._clock_get_payable_balance())
        wizard.action_confirm()
        self.assertEqual(first.balance, 0.0)
        self.assertEqual(sum(booking.folio_ids.mapped("balance")), 30.0)

    # === 5. A lost answer is matched on amount, currency and customer too === #

    def test_lost_answer_ignores_an_intent_of_another_amount(self):
        booking = self._booking()
        token = self._card_on_file(booking)
        tx = booking._clock_create_charge_transaction(token, 80.0)
        currency = tx._clock_stripe_settlement_code().lower()

        def intent_at_stripe(amount, currency=currency, customer=token.provider_ref):
            return self.stripe.v1.payment_intents.create(
                params={
                    "amount": amount,
                    "currency": currency,
                    "customer": customer,
                    "allowed_payment_method_types": ["card"],
                    "metadata": {const.METADATA_REFERENCE_KEY: tx.reference},
                }
            )

        intent_at_stripe(1000)
        other_currency = "usd" if currency != "usd" else "eur"
        intent_at_stripe(8000, currency=other_currency)
        with mute_logger("odoo.addons.clock_stripe_payment.stripe_api"):
            self.assertFalse(tx._autopilot_fetch_from_provider())
        self.assertEqual(tx.state, "draft")
        self.assertFalse(tx.provider_reference)

        right = intent_at_stripe(8000)
        client = tx._clock_stripe_client()
        with mute_logger("odoo.addons.clock_stripe_payment.stripe_api"):
            found = client.find_payment_intent(
                tx.reference,
                customer_id=token.provider_ref,
                amount=tx._clock_stripe_minor(),
                currency=currency.upper(),
            )
            self.assertEqual(found["id"], right.id)
            self.assertIsNone(
                client.find_payment_intent(
                    tx.reference,
                    customer_id=token.provider_ref,
                    amount=tx._clock_stripe_minor() + 1,
                    currency=currency,
                )
            )
