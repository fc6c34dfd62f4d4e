# Part of clock_stripe_payment. License LGPL-3.
"""Browser tours of the card form on localstripe's Stripe.js mock.

The provider points its API base and its Stripe.js URL at localstripe (see
``common.py``): the guest types a test card into the mock's Card Element on Odoo's
generic ``/payment/pay`` page (or on ``/my/payment_method`` to save one), and the
transaction is then checked in Odoo and at localstripe.
"""

from urllib.parse import urlencode

from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .common import CARD_3DS, ClockStripeHttpCommon


@tagged("post_install", "-at_install")
class TestCardFormTour(ClockStripeHttpCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.amount = 150.0
        cls.guest = cls.env["res.partner"].create(
            {
                "name": "Ada Guest",
                "email": "ada.guest@example.com",
                "street": "1 Harbour Road",
                "city": "Varna",
                "zip": "9000",
                "country_id": cls.env.ref("base.bg").id,
            }
        )

    def _pay_url(self, partner=None):
        """The ``/payment/pay`` link a guest receives."""
        partner = partner or self.guest
        return "/payment/pay?" + urlencode(
            {
                "amount": self.amount,
                "currency_id": self.currency.id,
                "partner_id": partner.id,
                "company_id": self.provider.company_id.id,
                "access_token": self._generate_test_access_token(
                    partner.id, self.amount, self.currency.id
                ),
            }
        )

    def _portal_user(self):
        return new_test_user(
            self.env,
            login="clock_card_portal",
            groups="base.group_portal",
            name="Bob Portal",
            email="bob.portal@example.com",
        )

    def _last_tx(self, partner):
        return self.env["payment.transaction"].search(
            [("provider_id", "=", self.provider.id), ("partner_id", "=", partner.id)],
            order="id desc",
            limit=1,
        )

    def _assert_paid_at_localstripe(self, tx):
        self.assertTrue(
            tx.provider_reference and tx.provider_reference.startswith("pi_"),
            "The transaction keeps the id of its PaymentIntent",
        )
        payment_intent = self._stripe_pi(tx.provider_reference)
        self.assertEqual(payment_intent["status"], "succeeded")
        self.assertEqual(payment_intent["metadata"].get("odoo_reference"), tx.reference)

    def test_pay_with_card(self):
        """A guest pays with 4242 4242 4242 4242 and lands on the confirmation page."""
        self.start_tour(self._pay_url(), "clock_stripe_pay_card")
        tx = self._last_tx(self.guest)
        self.assertEqual(tx.state, "done", tx.state_message)
        self.assertEqual(tx.operation, "online_direct")
        method = tx.payment_method_id
        self.assertEqual(method.primary_payment_method_id or method, self.card_method)
        self.assertAlmostEqual(tx.amount, self.amount)
        self._assert_paid_at_localstripe(tx)
        self.assertFalse(tx.token_id, "The guest did not ask to keep the card")

    @mute_logger("odoo.addons.clock_stripe_payment.models.payment_transaction")
    def test_pay_with_declined_card(self):
        """A card declined at charge shows an error; the transaction is in error."""
        self.start_tour(self._pay_url(), "clock_stripe_pay_card_declined")
        tx = self._last_tx(self.guest)
        self.assertEqual(tx.state, "error")
        self.assertTrue(tx.state_message)
        self.assertFalse(tx.token_id)

    def test_pay_with_3ds_card(self):
        """A 3-D Secure card is authenticated in the mock's modal, then paid."""
        self.start_tour(self._pay_url(), "clock_stripe_pay_card_3ds")
        tx = self._last_tx(self.guest)
        self.assertEqual(tx.state, "done", tx.state_message)
        self._assert_paid_at_localstripe(tx)

    def test_save_card_as_portal_user(self):
        """A portal user saves a card on /my/payment_method (validation, no hold)."""
        portal_user = self._portal_user()
        partner = portal_user.partner_id
        self.start_tour(
            "/my/payment_method", "clock_stripe_save_card", login=portal_user.login
        )
        tx = self._last_tx(partner)
        self.assertEqual(tx.operation, "validation")
        self.assertEqual(tx.state, "done", tx.state_message)
        token = tx.token_id
        self.assertTrue(token, "The card is saved as a token")
        self.assertEqual(token.partner_id, partner)
        self.assertEqual(token.payment_details, "4242")
        payment_method = self._stripe_pm(token.clock_stripe_payment_method_id)
        self.assertTrue(payment_method["customer"], "The card is attached at Stripe")

    def test_save_card_with_validation_hold(self):
        """With "tokenize with amount", saving a card holds the amount, releases it at
        once, and keeps the card."""
        self.provider.clock_stripe_tokenize_amount = 1.0
        portal_user = self._portal_user()
        self.start_tour(
            "/my/payment_method", "clock_stripe_save_card", login=portal_user.login
        )
        tx = self._last_tx(portal_user.partner_id)
        self.assertEqual(tx.operation, "validation")
        self.assertEqual(tx.state, "done", tx.state_message)
        self.assertAlmostEqual(tx.amount, 1.0)
        self.assertTrue(tx.token_id, "The card is saved as a token")
        hold = self._stripe_pi(tx.clock_stripe_validation_intent_ref)
        self.assertEqual(hold["status"], "canceled", "The hold is released at once")

    def test_pay_with_card_billing_address_required(self):
        """When the hotel requires the billing address, the form asks for it (prefilled
        from the guest), refuses to go on without it, and sends it with the card."""
        self.provider.company_id.clock_stripe_require_address = True
        self.start_tour(self._pay_url(), "clock_stripe_pay_card_address")
        tx = self._last_tx(self.guest)
        self.assertEqual(tx.state, "done", tx.state_message)
        self.assertEqual(
            self.env["payment.transaction"].search_count(
                [("partner_id", "=", self.guest.id)]
            ),
            1,
            "No transaction was created while the address was missing",
        )
        payment_method = self._stripe_pm(tx.clock_stripe_payment_method_ref)
        address = payment_method["billing_details"]["address"]
        self.assertEqual(address["line1"], "2 Sea Garden Street")
        self.assertEqual(address["city"], "Varna")
        self.assertEqual(address["country"], "BG")
        self.assertEqual(address["postal_code"], "9000")
        self.assertEqual(payment_method["billing_details"]["name"], "Ada Guest")

    def test_pay_with_saved_card_needing_3ds(self):
        """A portal user pays with a saved card; the bank asks for 3-D Secure, which
        the form runs in the browser before the confirmation page."""
        partner = self._portal_user().partner_id
        customer = self.stripe.v1.customers.create(params={"name": partner.name}).id
        card = self._create_card(CARD_3DS)
        self.stripe.v1.payment_methods.attach(card["id"], params={"customer": customer})
        token = self._create_token(
            partner_id=partner.id,
            payment_method_id=self.visa_method.id,
            provider_ref=customer,
            clock_stripe_payment_method_id=card["id"],
            clock_stripe_card_brand="visa",
            payment_details="3155",
        )
        self.start_tour(
            self._pay_url(partner),
            "clock_stripe_pay_token_3ds",
            login="clock_card_portal",
        )
        tx = self._last_tx(partner)
        self.assertEqual(tx.operation, "online_token")
        self.assertEqual(tx.token_id, token)
        self.assertEqual(tx.state, "done", tx.state_message)
        self._assert_paid_at_localstripe(tx)
