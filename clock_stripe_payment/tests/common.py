# Part of clock_stripe_payment. License LGPL-3.
"""Base of the Stripe (hotel) tests, run against the Stripe double.

The Stripe double is localstripe behind the adapter of ``stripe_double/`` (at the
repository's root), which takes the requests of the pinned API version: start it
with ``python3 -m stripe_double --port 8420`` and point ``CLOCK_STRIPE_DOUBLE_URL``
at it (default ``http://127.0.0.1:8420``). Each test class flushes its data.
"""

import json
import os
import time
import uuid
from contextlib import contextmanager
from unittest.mock import patch
from urllib.parse import parse_qs

import requests
import stripe

from odoo import SUPERUSER_ID, api
from odoo.fields import Command
from odoo.tools import SQL

from odoo.addons.payment.tests.common import PaymentCommon
from odoo.addons.payment.tests.http_common import PaymentHttpCommon

from .. import const, utils

STRIPE_DOUBLE_URL = os.environ.get(
    "CLOCK_STRIPE_DOUBLE_URL", "http://127.0.0.1:8420"
).rstrip("/")
# The account the double answers GET /v1/account with (stripe_double's default).
STRIPE_ACCOUNT_ID = "acct_clockstripedouble"
SECRET_KEY = "sk_test_clockhotel"
PUBLISHABLE_KEY = "pk_test_clockhotel"
WEBHOOK_SECRET = "whsec_clock_hotel_test_secret"

# Test cards (docs/localstripe.md §3).
CARD_OK = "4242424242424242"
CARD_DECLINED_AT_CHARGE = "4000000000000341"
CARD_DECLINED_AT_ATTACH = "4000000000000002"
CARD_3DS = "4000002500003155"

BILLING = {
    "name": "Norbert Buyer",
    "email": "norbert.buyer@example.com",
    "address": {
        "line1": "Huge Street 2",
        "city": "Sin City",
        "postal_code": "1000",
        "country": "BE",
    },
}


# Stripe endpoints whose POSTs create or move money.
MONEY_PATHS = ("/v1/payment_intents", "/v1/refunds")


def money_posts(calls):
    """The requests of ``calls`` (see ``_spy_stripe``) that create or move money."""
    return [
        call
        for call in calls
        if call["method"] == "POST" and call["path"].startswith(MONEY_PATHS)
    ]


@contextmanager
def commits_as_savepoints(model, commit, rollback, cr):
    """Replace a cron's per-record commit and rollback methods (``commit`` and
    ``rollback`` of ``model``'s class) by a savepoint and a rollback to it, so that
    the test runs the cron in its own transaction."""
    savepoint = commit.strip("_")

    def fake_commit(record):
        record.env.flush_all()
        record.env.cr.execute(SQL("SAVEPOINT %s", SQL.identifier(savepoint)))

    def fake_rollback(record):
        record.env.cr.execute(
            SQL("ROLLBACK TO SAVEPOINT %s", SQL.identifier(savepoint))
        )
        record.env.cr.clear()

    model_class = type(model)
    with (
        patch.object(model_class, commit, fake_commit),
        patch.object(model_class, rollback, fake_rollback),
    ):
        cr.execute(SQL("SAVEPOINT %s", SQL.identifier(savepoint)))
        yield savepoint


def check_stripe_double():
    """Fail with a clear message when the Stripe double cannot be reached."""
    try:
        response = requests.get(
            f"{STRIPE_DOUBLE_URL}/v1/customers", auth=(SECRET_KEY, ""), timeout=10
        )
        response.raise_for_status()
    except requests.RequestException as exc:
        raise AssertionError(
            f"The Stripe double is not reachable at {STRIPE_DOUBLE_URL} ({exc}). Start "
            "it with `python3 -m stripe_double --port 8420 &` or set "
            "CLOCK_STRIPE_DOUBLE_URL."
        ) from None


def flush_stripe_double():
    requests.delete(f"{STRIPE_DOUBLE_URL}/_config/data", timeout=10).raise_for_status()


class CommittedWorldMixin:
    """For a ``TransactionCase`` whose data is created and committed in cursors of
    their own (the workers or threads of the test cannot see the test's
    uncommitted transaction), and deleted at the end.

    The test class implements ``_create_committed_world()`` (returning the ids
    kept in ``self.ids``) and ``_delete_committed_world()``.
    """

    def setUp(self):
        super().setUp()
        self.ids = self._create_committed_world()
        self.addCleanup(self._delete_committed_world)

    def _env(self, cr):
        # The registry is given: a worker thread must not look it up, the test
        # runner holds the registries' lock.
        if cr.transaction is None:
            cr.transaction = api.Transaction(self.registry)
        return api.Environment(cr, SUPERUSER_ID, {})

    def _create_committed_provider(self, env, name, **values):
        """A test-mode provider of card payments on the Stripe double."""
        card = env.ref("payment.payment_method_card")
        return (
            env["payment.provider"]
            .with_context(clock_stripe_skip_credential_check=True)
            .create(
                {
                    "name": name,
                    "code": "clock_stripe",
                    "state": "test",
                    "clock_stripe_secret_key": SECRET_KEY,
                    "clock_stripe_publishable_key": "pk_test_concurrency",
                    "clock_stripe_api_base": STRIPE_DOUBLE_URL,
                    "payment_method_ids": [Command.set(card.ids)],
                    **values,
                }
            )
        )


class ClockStripeMixin:
    """Helpers shared by the TransactionCase and HttpCase bases."""

    @classmethod
    def _setup_clock_stripe(cls):
        check_stripe_double()
        flush_stripe_double()
        cls.stripe = stripe.StripeClient(
            SECRET_KEY,
            base_addresses={"api": STRIPE_DOUBLE_URL},
            max_network_retries=0,
        )
        cls.currency_jpy = cls._prepare_currency("JPY")
        cls.currency_kwd = cls._prepare_currency("KWD")
        cls.card_method = cls.env.ref("payment.payment_method_card")
        cls.visa_method = cls.env.ref("payment.payment_method_visa")
        cls.mastercard_method = cls.env.ref("payment.payment_method_mastercard")
        cls.provider = cls._prepare_provider(
            "clock_stripe",
            update_values={
                "clock_stripe_secret_key": SECRET_KEY,
                "clock_stripe_publishable_key": PUBLISHABLE_KEY,
                "clock_stripe_webhook_secret": WEBHOOK_SECRET,
                "clock_stripe_api_base": STRIPE_DOUBLE_URL,
                "clock_stripe_js_url": f"{STRIPE_DOUBLE_URL}/js.stripe.com/v3/",
                "clock_stripe_settlement_currency_id": False,
                "clock_stripe_tokenize_amount": 0.0,
                "capture_manually": False,
                "available_currency_ids": [Command.clear()],
            },
        )
        cls.payment_method = cls.card_method
        cls.payment_method_id = cls.card_method.id
        cls.payment_method_code = "card"
        cls.amount = 100.0
        cls.currency = cls.currency_euro
        cls.partner = cls.default_partner
        cls.provider.company_id.write(
            {
                "clock_stripe_card_provider_id": cls.provider.id,
                "clock_stripe_require_cvc": True,
                "clock_stripe_require_address": False,
                "clock_stripe_card_brand_ids": [Command.clear()],
            }
        )
        cls.db_uuid = cls.env["ir.config_parameter"].sudo().get_param("database.uuid")

    # === Transactions === #

    def _new_reference(self, prefix="CS"):
        return f"{prefix}-{uuid.uuid4().hex[:10]}"

    def _clock_tx(self, flow="direct", **values):
        values.setdefault("reference", self._new_reference())
        return self._create_transaction(flow, **values)

    # === Stripe.js, simulated server-side === #

    def _create_card(self, number=CARD_OK, billing_details=None, exp_year=2030):
        """Create a PaymentMethod from a raw test card, as Stripe.js does."""
        params = {
            "type": "card",
            "card": {
                "number": number,
                "exp_month": 12,
                "exp_year": exp_year,
                "cvc": "123",
            },
        }
        if billing_details is not None:
            params["billing_details"] = billing_details
        return self.stripe.v1.payment_methods.create(params=params).to_dict()

    def _confirm_card_setup(self, tx, number=CARD_OK, billing_details=None):
        """What ``stripe.confirmCardSetup`` does in the browser: confirm the
        transaction's SetupIntent with a new card. Returns the SetupIntent id."""
        if not tx.clock_stripe_setup_intent_ref:
            tx._get_processing_values()
        card = self._create_card(number, billing_details=billing_details)
        setup_intent = self.stripe.v1.setup_intents.confirm(
            tx.clock_stripe_setup_intent_ref, params={"payment_method": card["id"]}
        )
        if setup_intent.status == "requires_action":
            # Stripe.js runs 3-D Secure for the setup; the mock completes it by
            # confirming the SetupIntent again.
            self.stripe.v1.setup_intents.confirm(tx.clock_stripe_setup_intent_ref)
        return tx.clock_stripe_setup_intent_ref

    def _pay_with_card(self, tx, number=CARD_OK, billing_details=None):
        """Run the whole card form flow up to the confirm route's answer."""
        setup_intent_id = self._confirm_card_setup(
            tx, number=number, billing_details=billing_details
        )
        return tx._clock_stripe_confirm_from_browser(setup_intent_id=setup_intent_id)

    def _authenticate_3ds(self, payment_intent_id, client_secret, success=True):
        """Complete 3-D Secure on localstripe (its own, non-Stripe endpoint)."""
        response = requests.post(
            f"{STRIPE_DOUBLE_URL}/v1/payment_intents/{payment_intent_id}/_authenticate",
            data={
                "client_secret": client_secret,
                "success": "true" if success else "false",
                "key": PUBLISHABLE_KEY,
            },
            timeout=10,
        )
        response.raise_for_status()
        return response.json()

    def _save_card(self, number=CARD_OK, partner=None):
        """Save a card through a validation transaction; return the token."""
        tx = self._clock_tx(
            operation="validation",
            amount=0.0,
            tokenize=True,
            partner_id=(partner or self.partner).id,
        )
        answer = self._pay_with_card(tx, number=number)
        self.assertEqual(answer["state"], "done", answer)
        return tx.token_id

    def _hold(self, amount=100.0, **values):
        tx = self._clock_tx(amount=amount, clock_stripe_capture_manually=True, **values)
        answer = self._pay_with_card(tx)
        self.assertEqual(answer["state"], "authorized", answer)
        return tx

    def _stripe_pm(self, payment_method_id):
        return self.stripe.v1.payment_methods.retrieve(payment_method_id).to_dict()

    def _stripe_pi(self, payment_intent_id):
        return self.stripe.v1.payment_intents.retrieve(payment_intent_id).to_dict()

    # === Spying on what the client sends === #

    @contextmanager
    def _spy_stripe(self):
        """Collect every HTTP request the Stripe SDK sends (method, path, headers,
        params)."""
        calls = []
        original = stripe.RequestsClient.request

        def spy(client, method, url, headers, post_data=None, **kwargs):
            params = parse_qs(post_data or "") if isinstance(post_data, str) else {}
            calls.append(
                {
                    "method": method.upper(),
                    "url": url,
                    "path": url.split(STRIPE_DOUBLE_URL, 1)[-1].split("?", 1)[0],
                    "headers": dict(headers or {}),
                    "params": params,
                }
            )
            return original(client, method, url, headers, post_data, **kwargs)

        with patch.object(stripe.RequestsClient, "request", spy):
            yield calls

    def _expected_key(self, reference, operation):
        return utils.idempotency_key(self.db_uuid, reference, operation)

    # === Webhooks === #

    def _event(self, event_type, obj, event_id=None):
        return {
            "id": event_id or f"evt_{uuid.uuid4().hex[:14]}",
            "object": "event",
            "type": event_type,
            "created": int(time.time()),
            "livemode": False,
            "api_version": const.API_VERSION,
            "data": {"object": obj},
        }

    def _signed(self, event, secret=WEBHOOK_SECRET, timestamp=None):
        payload = json.dumps(event)
        header = utils.webhook_signature_header(payload, secret, timestamp=timestamp)
        return payload, header

    # === Faults of the Stripe double (stripe_double/faults.py) === #

    def _stripe_fault(self, kind, method, path, **options):
        """Make the double fail the next request matching ``method`` and ``path``
        (an ``fnmatch`` pattern): ``lose_answer``, ``reset``, ``http_500``,
        ``http_429`` (``retry_after``) or ``slow`` (``delay``); ``nth`` and
        ``times`` choose which matching requests. The SDK retries a lost answer
        and a 500 ``const.MAX_NETWORK_RETRIES`` times: ``times`` covers them.
        The faults left are dropped at the end of the test."""
        response = requests.post(
            f"{STRIPE_DOUBLE_URL}/_config/faults",
            json={"kind": kind, "method": method, "path": path, **options},
            timeout=10,
        )
        response.raise_for_status()
        self.addCleanup(
            requests.delete, f"{STRIPE_DOUBLE_URL}/_config/faults", timeout=10
        )
        return response.json()

    def _stripe_card_refuses(self, **switches):
        """Make the double's cards refuse flexible acquiring
        (stripe_double/flexible.py): ``extended_authorization`` or
        ``incremental_authorization`` ``'unavailable'``, ``increments``
        ``'decline'``. Restored at the end of the test."""
        response = requests.post(
            f"{STRIPE_DOUBLE_URL}/_config/flexible_acquiring",
            json=switches,
            timeout=10,
        )
        response.raise_for_status()
        self.addCleanup(
            requests.delete,
            f"{STRIPE_DOUBLE_URL}/_config/flexible_acquiring",
            timeout=10,
        )


class ClockStripeCommon(ClockStripeMixin, PaymentCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_clock_stripe()


class ClockStripeHttpCommon(ClockStripeMixin, PaymentHttpCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_clock_stripe()

    def _post_webhook(self, event=None, payload=None, header=None, **sign_kwargs):
        if payload is None:
            payload, signed_header = self._signed(event, **sign_kwargs)
            header = signed_header if header is None else header
        headers = {"Content-Type": "application/json"}
        if header:
            headers["Stripe-Signature"] = header
        return self.url_open(
            "/payment/clock_stripe/webhook", data=payload.encode(), headers=headers
        )
