# Part of clock_stripe_payment. License LGPL-3.
"""The client module: the requests it sends, error mapping, answers it cannot read.

Nothing leaves the machine: the SDK's HTTP client is replaced by a recorder.
"""

import json
from unittest.mock import patch
from urllib.parse import parse_qs

import stripe

from odoo.tests import tagged
from odoo.tests.common import BaseCase

from .. import const
from ..stripe_api import ClockStripeClient, ClockStripeError, _error_from_stripe


class Recorder:
    """Answers every request with a canned object and keeps what was sent."""

    def __init__(self, answer=None, status=200):
        self.calls = []
        self.answer = answer or {"id": "obj_1", "object": "payment_intent"}
        self.status = status

    def request(self, client, method, url, headers, post_data=None, **kwargs):
        """Stands for ``stripe.RequestsClient.request`` (``client`` is its self)."""
        self.calls.append(
            {
                "method": method.upper(),
                "url": url,
                "headers": dict(headers),
                "params": parse_qs(post_data or ""),
            }
        )
        return json.dumps(self.answer), self.status, {}


@tagged("post_install", "-at_install")
class TestClientModule(BaseCase):
    def _client(self, api_base):
        return ClockStripeClient(
            "sk_test_unit", api_base=api_base, max_network_retries=0
        )

    def _run(self, api_base, call, answer=None, status=200):
        recorder = Recorder(answer, status)

        def fake_request(client, *args, **kwargs):
            return recorder.request(client, *args, **kwargs)

        with patch.object(stripe.RequestsClient, "request", fake_request):
            result = call(self._client(api_base))
        return recorder.calls, result

    def test_one_request_path_whatever_the_api_base(self):
        """Stripe's API and any other API base get the very same requests."""

        def calls(client):
            client.create_payment_intent(
                amount=1000,
                currency="EUR",
                customer_id="cus_1",
                payment_method_id="pm_1",
                reference="S1",
                idempotency_key="key-1",
                description="S1",
            )
            client.cancel_payment_intent("pi_1", "key-2")
            client.create_refund("pi_1", 500, "R-S1", "key-3")
            client.create_setup_intent("cus_1", "V-1", description="V-1")

        answer = {
            "id": "obj_1",
            "object": "payment_intent",
            "status": "succeeded",
            "amount": 1000,
            "client_secret": "obj_1_secret",
        }
        real, _result = self._run("https://api.stripe.com", calls, answer=answer)
        other, _result = self._run("http://127.0.0.1:8420", calls, answer=answer)
        self.assertTrue(
            all(c["url"].startswith("https://api.stripe.com/v1/") for c in real)
        )
        for sent_to_stripe, sent_elsewhere in zip(real, other, strict=True):
            self.assertEqual(sent_to_stripe["params"], sent_elsewhere["params"])
            self.assertEqual(sent_to_stripe["method"], sent_elsewhere["method"])
            self.assertEqual(
                sent_to_stripe["url"].removeprefix("https://api.stripe.com"),
                sent_elsewhere["url"].removeprefix("http://127.0.0.1:8420"),
            )
        self.assertEqual(real[0]["params"]["description"], ["S1"])
        self.assertEqual(
            real[1]["params"]["cancellation_reason"], ["requested_by_customer"]
        )
        self.assertEqual(real[2]["params"]["reason"], ["requested_by_customer"])
        self.assertEqual(real[3]["params"]["description"], ["V-1"])
        for index in (0, 3):  # Endive takes no payment_method_types (2026-09-30).
            self.assertNotIn("payment_method_types[0]", real[index]["params"])
            self.assertEqual(
                real[index]["params"]["allowed_payment_method_types[0]"], ["card"]
            )
        self.assertEqual(
            [c["headers"].get("Idempotency-Key") for c in real[:3]],
            ["key-1", "key-2", "key-3"],
        )
        for call in real:
            self.assertEqual(call["headers"]["Stripe-Version"], const.API_VERSION)
        self.assertEqual(real[0]["params"]["metadata[odoo_reference]"], ["S1"])

    def test_webhook_endpoint_registration(self):
        answer = {"id": "we_1", "object": "webhook_endpoint", "secret": "whsec_real"}
        calls, result = self._run(
            "https://api.stripe.com",
            lambda c: c.register_webhook(
                "https://hotel.test/hook", ["payment_intent.succeeded"]
            ),
            answer=answer,
        )
        self.assertEqual(result, {"id": "we_1", "secret": "whsec_real"})
        self.assertTrue(calls[0]["url"].endswith("/v1/webhook_endpoints"))
        self.assertEqual(calls[0]["params"]["api_version"], [const.API_VERSION])

    def test_the_key_account_is_read(self):
        calls, result = self._run(
            "https://api.stripe.com",
            lambda c: c.check_credentials(),
            answer={"id": "acct_1", "object": "account"},
        )
        self.assertTrue(calls[0]["url"].endswith("/v1/account"))
        self.assertEqual(result, {"account_id": "acct_1"})

    def test_an_answer_without_a_needed_field_is_a_clear_error(self):
        """A PaymentIntent answer without its status is not taken for anything."""
        with self.assertRaisesRegex(
            ClockStripeError, r"answer could not be read \(status missing\)"
        ) as caught:
            self._run(
                "https://api.stripe.com",
                lambda c: c.retrieve_payment_intent("pi_1"),
                answer={"id": "pi_1", "object": "payment_intent", "amount": 100},
            )
        self.assertEqual(caught.exception.kind, "bad_answer")

    def test_secret_is_not_in_the_representation(self):
        client = self._client("https://api.stripe.com")
        self.assertNotIn("sk_test_unit", repr(client))

    def test_missing_key(self):
        with self.assertRaises(ClockStripeError):
            ClockStripeClient("", api_base="https://api.stripe.com")


@tagged("post_install", "-at_install")
class TestErrorMapping(BaseCase):
    def _card_error(self, code, decline_code=None):
        body = {"error": {"type": "card_error", "code": code, "message": "Stripe says"}}
        if decline_code:
            body["error"]["decline_code"] = decline_code
        error = stripe.CardError(
            "Stripe says", None, code, http_status=402, json_body=body
        )
        return _error_from_stripe(error)

    def test_card_errors(self):
        declined = self._card_error("card_declined")
        self.assertEqual(declined.kind, "card")
        self.assertIn("declined", str(declined))
        self.assertEqual(declined.http_status, 402)
        expired = self._card_error("expired_card")
        self.assertIn("expired", str(expired))
        funds = self._card_error("card_declined", decline_code="insufficient_funds")
        self.assertIn("insufficient funds", str(funds))
        auth = self._card_error("authentication_required")
        self.assertEqual(auth.kind, "authentication_required")
        self.assertIn("authenticate", str(auth))

    def test_other_errors(self):
        cases = (
            (
                stripe.AuthenticationError("Invalid API Key"),
                "invalid_key",
                "Secret key",
            ),
            (stripe.RateLimitError("Too many"), "rate_limit", "nothing was done"),
            (stripe.APIConnectionError("down"), "connection", "not known yet"),
            (
                stripe.InvalidRequestError("No such pi", "intent"),
                "invalid_request",
                "No such pi",
            ),
            (stripe.APIError("boom"), "api", "not known yet"),
        )
        for exc, kind, text in cases:
            error = _error_from_stripe(exc)
            self.assertEqual(error.kind, kind)
            self.assertIn(text, str(error))
            self.assertNotIn("Traceback", str(error))
