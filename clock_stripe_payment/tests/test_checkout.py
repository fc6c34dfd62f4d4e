# Part of clock_stripe_payment. License LGPL-3.
"""Alternative methods on Stripe Checkout, through a fake of the client module
(localstripe has no Checkout)."""

from unittest.mock import patch

from werkzeug.urls import url_parse

from odoo.tests import tagged

from ..stripe_api import ClockStripeClient, ClockStripeError
from .common import SECRET_KEY, ClockStripeHttpCommon

CHECKOUT_URL = "https://checkout.stripe.com/c/pay/cs_test_fake#fidkdWxOYHwnPyd1"


class FakeCheckoutClient(ClockStripeClient):
    """The client module with Checkout answered in memory."""

    sessions = {}
    created = []
    expired = []

    def create_checkout_session(self, **kwargs):
        if kwargs["amount"] <= 0:
            raise ClockStripeError("bad amount", kind="invalid_request")
        session_id = f"cs_test_fake_{len(self.created) + 1}"
        self.created.append(dict(kwargs, session_id=session_id))
        session = {
            "id": session_id,
            "object": "checkout.session",
            "status": "open",
            "payment_status": "unpaid",
            "payment_intent": None,
            "url": CHECKOUT_URL,
            "client_reference_id": kwargs["reference"],
            "metadata": {"odoo_reference": kwargs["reference"]},
        }
        self.sessions[session_id] = session
        return dict(session)

    def retrieve_checkout_session(self, session_id):
        return dict(self.sessions[session_id])

    def expire_checkout_session(self, session_id):
        self.expired.append(session_id)
        self.sessions[session_id]["status"] = "expired"
        return dict(self.sessions[session_id])


@tagged("post_install", "-at_install")
class TestCheckout(ClockStripeHttpCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ideal = cls.env.ref("payment.payment_method_ideal")
        cls.provider.clock_stripe_alternative_method_ids = cls.ideal

    def setUp(self):
        super().setUp()
        FakeCheckoutClient.sessions = {}
        FakeCheckoutClient.created = []
        FakeCheckoutClient.expired = []
        provider_class = type(self.env["payment.provider"])

        def fake_client(provider):
            return FakeCheckoutClient(
                SECRET_KEY, api_base=provider.sudo().clock_stripe_api_base
            )

        self.startPatcher(
            patch.object(provider_class, "_clock_stripe_client", fake_client)
        )

    def _redirect_tx(self, **values):
        return self._clock_tx(
            flow="redirect", payment_method_id=self.ideal.id, amount=45.0, **values
        )

    def test_redirect_form_leads_to_the_checkout_page(self):
        tx = self._redirect_tx()
        values = tx._get_processing_values()
        form = self._extract_values_from_html_form(values["redirect_form_html"])
        self.assertTrue(
            form["action"].endswith("/payment/clock_stripe/checkout_redirect")
        )
        self.assertEqual(form["inputs"]["reference"], tx.reference)
        (created,) = FakeCheckoutClient.created
        self.assertEqual(created["amount"], 4500)
        self.assertEqual(created["currency"], "EUR")
        self.assertEqual(created["payment_method_types"], ["ideal"])
        self.assertIn("{CHECKOUT_SESSION_ID}", created["success_url"])
        self.assertIn("access_token=", created["cancel_url"])
        self.assertIn(tx.reference, created["success_url"])
        self.assertTrue(created["idempotency_key"].startswith("clock-stripe-checkout"))
        self.assertEqual(tx.clock_stripe_checkout_session_ref, created["session_id"])
        # The redirect route forwards to Stripe's page.
        response = self.url_open(
            "/payment/clock_stripe/checkout_redirect?"
            f"reference={tx.reference}&access_token={form['inputs']['access_token']}",
            allow_redirects=False,
        )
        self.assertEqual(response.status_code, 303)
        self.assertEqual(response.headers["Location"], CHECKOUT_URL)
        bad = self.url_open(
            f"/payment/clock_stripe/checkout_redirect?reference={tx.reference}"
            "&access_token=wrong",
            allow_redirects=False,
        )
        self.assertEqual(bad.status_code, 403)

    def test_return_after_payment_settles_the_transaction(self):
        tx = self._redirect_tx()
        tx._get_processing_values()
        session = FakeCheckoutClient.sessions[tx.clock_stripe_checkout_session_ref]
        session.update(
            status="complete", payment_status="paid", payment_intent="pi_co_1"
        )
        token = tx._clock_stripe_access_token()
        forged = self.url_open(
            f"/payment/clock_stripe/checkout_return?reference={tx.reference}"
            f"&access_token=wrong&session_id={session['id']}",
            allow_redirects=False,
        )
        self.assertEqual(forged.status_code, 303)
        self.assertEqual(tx.state, "draft", "Nothing happens without the token.")
        response = self.url_open(
            f"/payment/clock_stripe/checkout_return?reference={tx.reference}"
            f"&access_token={token}&session_id={session['id']}",
            allow_redirects=False,
        )
        self.assertEqual(response.status_code, 303)
        self.assertEqual(
            url_parse(response.headers["Location"]).path, "/payment/status"
        )
        self.assertEqual(tx.state, "done")
        self.assertEqual(tx.provider_reference, "pi_co_1")

    def test_return_of_an_async_method_is_pending(self):
        tx = self._redirect_tx()
        tx._get_processing_values()
        session = FakeCheckoutClient.sessions[tx.clock_stripe_checkout_session_ref]
        session.update(status="complete", payment_status="unpaid")
        self.url_open(
            f"/payment/clock_stripe/checkout_return?reference={tx.reference}"
            f"&access_token={tx._clock_stripe_access_token()}",
            allow_redirects=False,
        )
        self.assertEqual(tx.state, "pending")

    def test_cancel_expires_the_session(self):
        tx = self._redirect_tx()
        tx._get_processing_values()
        url = (
            f"/payment/clock_stripe/checkout_return?reference={tx.reference}"
            f"&access_token={tx._clock_stripe_access_token()}&canceled=1"
        )
        self.url_open(url.replace("access_token=", "access_token=x"))
        self.assertEqual(tx.state, "draft")
        self.assertFalse(FakeCheckoutClient.expired)
        self.url_open(url, allow_redirects=False)
        self.assertEqual(tx.state, "cancel")
        self.assertEqual(
            FakeCheckoutClient.expired, [tx.clock_stripe_checkout_session_ref]
        )

    def test_checkout_is_not_available_on_the_double(self):
        """Without the fake, the client module refuses Checkout on localstripe."""
        client = ClockStripeClient(
            SECRET_KEY, api_base=self.provider.clock_stripe_api_base
        )
        with self.assertRaisesRegex(ClockStripeError, "not available"):
            client.create_checkout_session(
                amount=100,
                currency="eur",
                reference="X",
                payment_method_types=["ideal"],
                success_url="http://x",
                cancel_url="http://x",
                idempotency_key="k",
            )
