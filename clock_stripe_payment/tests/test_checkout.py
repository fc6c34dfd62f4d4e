# Part of clock_stripe_payment. License LGPL-3.
"""Alternative methods on Stripe Checkout, end to end on the Stripe double: the
session is created at the double, the guest "pays" or cancels on its stand-in for
Stripe's hosted page and comes back to Odoo's return route."""

from unittest.mock import patch

import requests
from werkzeug.urls import url_parse

from odoo.tests import tagged

from ..stripe_api import ClockStripeClient
from .common import ClockStripeHttpCommon


@tagged("post_install", "-at_install")
class TestCheckout(ClockStripeHttpCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ideal = cls.env.ref("payment.payment_method_ideal")
        cls.provider.clock_stripe_alternative_method_ids = cls.ideal

    def _redirect_tx(self, **values):
        tx = self._clock_tx(
            flow="redirect", payment_method_id=self.ideal.id, amount=45.0, **values
        )
        processing_values = tx._get_processing_values()
        return tx, processing_values

    def _session(self, tx):
        return self.stripe.v1.checkout.sessions.retrieve(
            tx.clock_stripe_checkout_session_ref
        )

    def _on_hosted_page(self, tx, button):
        """Click "Pay" (``complete``) or "Cancel" on the double's hosted page;
        return where it sends the guest."""
        page = requests.get(tx.clock_stripe_checkout_url, timeout=10)
        self.assertEqual(page.status_code, 200)
        answer = requests.post(
            f"{tx.clock_stripe_checkout_url}/{button}",
            allow_redirects=False,
            timeout=10,
        )
        self.assertEqual(answer.status_code, 303)
        return answer.headers["Location"]

    def test_redirect_form_leads_to_the_checkout_page(self):
        tx, values = self._redirect_tx()
        form = self._extract_values_from_html_form(values["redirect_form_html"])
        self.assertTrue(
            form["action"].endswith("/payment/clock_stripe/checkout_redirect")
        )
        self.assertEqual(form["inputs"]["reference"], tx.reference)
        session = self._session(tx)
        self.assertEqual(session.amount_total, 4500)
        self.assertEqual(session.currency, "eur")
        self.assertEqual(session.payment_method_types, ["ideal"])
        self.assertEqual(session.status, "open")
        self.assertEqual(session.metadata["odoo_reference"], tx.reference)
        self.assertIn("{CHECKOUT_SESSION_ID}", session.success_url)
        self.assertIn("access_token=", session.cancel_url)
        # The redirect route forwards to the session's hosted page.
        redirect_token = form["inputs"]["redirect_token"]
        response = self.url_open(
            "/payment/clock_stripe/checkout_redirect?"
            f"reference={tx.reference}&redirect_token={redirect_token}",
            allow_redirects=False,
        )
        self.assertEqual(response.status_code, 303)
        self.assertEqual(response.headers["Location"], session.url)
        for query in (
            "redirect_token=wrong",
            f"access_token={tx._clock_stripe_access_token()}",
        ):
            bad = self.url_open(
                f"/payment/clock_stripe/checkout_redirect?reference={tx.reference}"
                f"&{query}",
                allow_redirects=False,
            )
            self.assertEqual(bad.status_code, 404, query)

    def test_logged_rendering_values_cannot_settle_the_session(self):
        """Odoo logs the redirect form's values: they carry no access token, and
        what they carry does not cancel the guest's Checkout session."""
        tx, values = self._redirect_tx()
        access_token = tx._clock_stripe_access_token()
        # What payment logs at INFO as the "provider-specific rendering values".
        rendering_values = tx._get_specific_rendering_values(values)
        self.assertEqual(rendering_values["reference"], tx.reference)
        self.assertNotIn(access_token, repr(rendering_values))
        self.assertNotIn(access_token, values["redirect_form_html"])
        form = self._extract_values_from_html_form(values["redirect_form_html"])
        self.assertNotIn("access_token", form["inputs"])
        response = self.url_open(
            "/payment/clock_stripe/checkout_return?"
            f"reference={tx.reference}&access_token={form['inputs']['redirect_token']}"
            "&canceled=1",
            allow_redirects=False,
        )
        self.assertEqual(response.status_code, 303)
        self.assertEqual(tx.state, "draft")
        self.assertEqual(self._session(tx).status, "open")

    def test_session_creation_is_idempotent(self):
        """A second rendering of the same transaction gets the same session."""
        tx, _values = self._redirect_tx()
        first = tx.clock_stripe_checkout_session_ref
        tx._get_processing_values()
        self.assertEqual(tx.clock_stripe_checkout_session_ref, first)

    def test_paying_on_the_hosted_page_settles_the_transaction(self):
        tx, _values = self._redirect_tx()
        back = self._on_hosted_page(tx, "complete")
        self.assertIn(tx.clock_stripe_checkout_session_ref, back)
        forged = self.url_open(
            back.replace("access_token=", "access_token=x"), allow_redirects=False
        )
        self.assertEqual(forged.status_code, 303)
        self.assertEqual(tx.state, "draft", "Nothing happens without the token.")
        response = self.url_open(back, allow_redirects=False)
        self.assertEqual(response.status_code, 303)
        self.assertEqual(
            url_parse(response.headers["Location"]).path, "/payment/status"
        )
        self.assertEqual(tx.state, "done")
        session = self._session(tx)
        self.assertEqual(session.payment_status, "paid")
        self.assertEqual(tx.provider_reference, session.payment_intent)
        payment_intent = self.stripe.v1.payment_intents.retrieve(tx.provider_reference)
        self.assertEqual(payment_intent.status, "succeeded")
        self.assertEqual(payment_intent.amount, 4500)
        self.assertEqual(payment_intent.metadata["odoo_reference"], tx.reference)

    def test_return_of_an_async_method_is_pending(self):
        """A method that settles later (bank debit) comes back complete but unpaid:
        the double's hosted page only pays at once, so Stripe's answer is given."""
        tx, _values = self._redirect_tx()
        unpaid = dict(
            self._session(tx).to_dict(), status="complete", payment_status="unpaid"
        )
        with patch.object(
            ClockStripeClient, "retrieve_checkout_session", lambda *_a: unpaid
        ):
            self.url_open(
                f"/payment/clock_stripe/checkout_return?reference={tx.reference}"
                f"&access_token={tx._clock_stripe_access_token()}",
                allow_redirects=False,
            )
        self.assertEqual(tx.state, "pending")

    def test_cancel_expires_the_session(self):
        tx, _values = self._redirect_tx()
        back = self._on_hosted_page(tx, "cancel")
        self.url_open(back.replace("access_token=", "access_token=x"))
        self.assertEqual(tx.state, "draft")
        self.assertEqual(self._session(tx).status, "open")
        self.url_open(back, allow_redirects=False)
        self.assertEqual(tx.state, "cancel")
        self.assertEqual(self._session(tx).status, "expired")
