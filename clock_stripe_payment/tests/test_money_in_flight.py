"""A guest's bill paid from several tabs and flows at once: the amount is checked
again, under the folio's lock, right before money moves, counting every payment
of the folio not final yet; what goes through anyway is refunded at once."""

from datetime import timedelta

import requests

from odoo import fields
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import CARD_3DS, money_posts
from .hotel_common import MUTE, HotelPaymentHttpCommon


@tagged("post_install", "-at_install")
class TestMoneyInFlight(HotelPaymentHttpCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ideal = cls.env.ref("payment.payment_method_ideal")
        cls.provider.clock_stripe_alternative_method_ids = cls.ideal

    def setUp(self):
        super().setUp()
        self.booking = self._booking()  # 3 nights at 100: a bill of 300.
        self.booking._portal_ensure_token()
        self.folio = self.booking.folio_ids
        self.route = f"/my/bookings/{self.booking.id}/folio/{self.folio.id}/transaction"

    def _pay_tx(self, amount, **overrides):
        return self._create_tx(self.route, self.booking, amount=amount, **overrides)

    def _checkout_tx(self, amount):
        return self._pay_tx(amount, flow="redirect", payment_method_id=self.ideal.id)

    def _pay_on_hosted_page(self, tx):
        back = requests.post(
            f"{tx.clock_stripe_checkout_url}/complete",
            allow_redirects=False,
            timeout=10,
        ).headers["Location"]
        self.assertEqual(self.url_open(back, allow_redirects=False).status_code, 303)

    def _card_payments(self):
        return self._payment_lines(self.folio)

    @mute_logger(*MUTE)
    def test_two_tabs_paying_with_new_cards_charge_the_bill_once(self):
        first = self._pay_tx(202.5)
        second = self._pay_tx(202.5)  # Both forms opened before either pays.
        self._confirm_in_browser(first)
        self.assertEqual(first.state, "done")
        with self._spy_stripe() as calls:
            answer = self._confirm_in_browser(second)
        self.assertFalse(money_posts(calls), "nothing charged for the second tab")
        self.assertEqual((answer["state"], second.state), ("error", "error"))
        self.assertIn("97.50", answer["message"])
        self.assertIn("nothing was charged", answer["message"])
        self.assertFalse(second.provider_reference)
        first._post_process()
        second._post_process()
        self.assertEqual(self._card_payments().mapped("amount"), [202.5])
        self.assertEqual(self.folio.balance, 97.5)

    @mute_logger(*MUTE)
    def test_a_payment_waiting_for_3ds_counts_as_money_in_flight(self):
        waiting = self._pay_tx(300.0)
        other = self._pay_tx(300.0)  # A second tab, opened meanwhile.
        answer = self._confirm_in_browser(waiting, number=CARD_3DS)
        self.assertTrue(answer["requires_action"], answer)
        with self._spy_stripe() as calls:
            refused = self._confirm_in_browser(other)
        self.assertFalse(money_posts(calls))
        self.assertEqual(other.state, "error")
        self.assertIn("was paid meanwhile", refused["message"])
        # The guest completes 3-D Secure in the first tab: the bill is paid once.
        self._authenticate_3ds(waiting.provider_reference, answer["client_secret"])
        self.make_jsonrpc_request(
            "/payment/clock_stripe/confirm",
            {
                "reference": waiting.reference,
                "access_token": waiting._clock_stripe_access_token(),
                "payment_intent_id": waiting.provider_reference,
            },
        )
        waiting._post_process()
        self.assertEqual(self._card_payments().mapped("amount"), [300.0])
        self.assertEqual(self.folio.balance, 0.0)

    @mute_logger(*MUTE)
    def test_an_open_checkout_page_counts_as_money_in_flight(self):
        card = self._pay_tx(100.0)  # The card form of another tab.
        checkout = self._checkout_tx(300.0)
        self.assertTrue(checkout.clock_stripe_checkout_session_ref)
        with self._spy_stripe() as calls:
            answer = self._confirm_in_browser(card)
        self.assertFalse(money_posts(calls))
        self.assertEqual(card.state, "error")
        self.assertIn("was paid meanwhile", answer["message"])
        # A second Checkout page for the same bill is refused before any session.
        with self._spy_stripe() as calls:
            error = self._rpc_error(
                self.route,
                self._tx_params(
                    self.booking,
                    flow="redirect",
                    payment_method_id=self.ideal.id,
                    amount=300.0,
                ),
            )
        self.assertEqual(error["data"]["name"], "odoo.exceptions.ValidationError")
        self.assertIn("cannot pay more than the balance", error["data"]["message"])
        self.assertFalse(calls)
        self.assertEqual(
            self.booking.transaction_ids.filtered("clock_stripe_checkout_session_ref"),
            checkout,
        )

    @mute_logger(*MUTE)
    def test_a_checkout_page_paid_late_is_refunded_at_once(self):
        checkout = self._checkout_tx(300.0)
        # The guest left the page open: past the wait, the bill is payable again.
        self.env.cr.execute(
            "UPDATE payment_transaction SET create_date = %s WHERE id = %s",
            (fields.Datetime.now() - timedelta(hours=2), checkout.id),
        )
        checkout.invalidate_recordset(["create_date"])
        card = self._pay_tx(300.0)
        self._confirm_in_browser(card)
        card._post_process()
        self.assertEqual(self.folio.balance, 0.0)
        self._pay_on_hosted_page(checkout)
        self.assertEqual(checkout.state, "done")
        checkout._post_process()
        refund = checkout.child_transaction_ids.filtered(
            lambda tx: tx.operation == "refund"
        )
        self.assertEqual((refund.state, refund.amount), ("done", -300.0))
        self.assertEqual(
            sorted(self._card_payments().mapped("amount")), [-300.0, 300.0, 300.0]
        )
        self.assertEqual(self.folio.balance, 0.0)
        self.assertIn("refunded to your card", checkout.state_message)
        notes = self.booking.message_ids.filtered(
            lambda message: message.subtype_id == self.env.ref("mail.mt_note")
        )
        self.assertIn(checkout.reference, " ".join(notes.mapped("body")))
        # Posting the payment again gives nothing back twice.
        self.env["clock.reservation"]._clock_process_transactions(checkout)
        self.assertEqual(len(checkout.child_transaction_ids), 1)
