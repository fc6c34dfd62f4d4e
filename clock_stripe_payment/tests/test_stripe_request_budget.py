# Part of clock_stripe_payment. License LGPL-3.
"""The request budget of a Stripe account: a ceiling of requests per second shared
by every worker, applied where the addon calls Stripe, and Stripe's 429 answers
honoured (the Autopilot's side is in test_autopilot_stripe.py)."""

import uuid
from unittest.mock import patch

from odoo import Command
from odoo.exceptions import ValidationError
from odoo.tests import tagged

from ..models.clock_stripe_request_budget import RequestBudget
from ..stripe_api import ClockStripeError, retry_after_seconds
from .common import (
    PUBLISHABLE_KEY,
    SECRET_KEY,
    STRIPE_DOUBLE_URL,
    ClockStripeCommon,
)

SLEEP = "odoo.addons.clock_stripe_payment.models.clock_stripe_request_budget.time.sleep"


@tagged("post_install", "-at_install")
class TestStripeRequestBudget(ClockStripeCommon):
    def _provider(self, **values):
        """A test-mode provider of its own (so a budget of its own)."""
        return (
            self.env["payment.provider"]
            .with_context(clock_stripe_skip_credential_check=True)
            .create(
                {
                    "name": "Stripe (hotel) budget",
                    "code": "clock_stripe",
                    "state": "test",
                    "clock_stripe_secret_key": SECRET_KEY,
                    "clock_stripe_publishable_key": PUBLISHABLE_KEY,
                    "clock_stripe_api_base": STRIPE_DOUBLE_URL,
                    "payment_method_ids": [Command.set(self.card_method.ids)],
                    **values,
                }
            )
        )

    def test_the_ceiling_stays_under_stripes_limits(self):
        provider = self._provider()
        self.assertEqual(provider.clock_stripe_request_rate, 20)
        provider.clock_stripe_request_rate = 22
        for refused in (0, 23, 25):
            with self.assertRaises(ValidationError):
                provider.clock_stripe_request_rate = refused
        live = self.env["payment.provider"].create(
            {"name": "Stripe (hotel) live", "code": "clock_stripe"}
        )
        live.clock_stripe_request_rate = 90
        with self.assertRaises(ValidationError):
            live.clock_stripe_request_rate = 100

    def test_every_stripe_call_waits_for_the_accounts_ceiling(self):
        """Two requests a second: the client's calls leave half a second apart."""
        client = self._provider(clock_stripe_request_rate=2)._clock_stripe_client()
        with patch(SLEEP) as sleep:
            for name in ("Ann", "Bob", "Cid"):
                client.create_customer(name)
        waits = [call.args[0] for call in sleep.call_args_list]
        self.assertEqual(len(waits), 2, "the first request leaves at once")
        self.assertAlmostEqual(waits[0], 0.5, delta=0.1)
        self.assertAlmostEqual(waits[1], 1.0, delta=0.1)

    def test_workers_share_one_budget_per_account(self):
        """Two workers (two budgets of one account) take turns: together they
        keep the ceiling; another account has its own."""
        account = f"acct_{uuid.uuid4().hex}"
        worker_1 = RequestBudget(self.registry, account, 4)
        worker_2 = RequestBudget(self.registry, account, 4)
        delays = [worker.reserve() for worker in (worker_1, worker_2) * 2]
        for delay, expected in zip(delays, (0.0, 0.25, 0.5, 0.75), strict=True):
            self.assertAlmostEqual(delay, expected, delta=0.1)
        other = RequestBudget(self.registry, f"acct_{uuid.uuid4().hex}", 4)
        self.assertLess(other.reserve(), 0.1)

    def test_a_429_holds_the_account_off_for_its_retry_after(self):
        provider = self._provider()
        client = provider._clock_stripe_client()
        self._stripe_fault("http_429", "POST", "/v1/customers", retry_after=3)
        with self.assertRaises(ClockStripeError) as caught:
            client.create_customer("Dee")
        self.assertEqual(caught.exception.kind, "rate_limit")
        self.assertEqual(caught.exception.retry_after, 3)
        # The next request of any worker waits for the Retry-After.
        self.assertAlmostEqual(
            provider._clock_stripe_request_budget().reserve(), 3.0, delta=0.5
        )

    def test_retry_after_header(self):
        self.assertEqual(retry_after_seconds({"Retry-After": "7"}), 7)
        for unusable in ({}, None, {"Retry-After": "0"}, {"Retry-After": "soon"}):
            self.assertEqual(retry_after_seconds(unusable), 1)
