#!/usr/bin/env python3
"""Stripe benchmark: ``clock_stripe`` next to Odoo's ``payment_stripe``.

Prints figures and ratios; it asserts nothing about time (issue 3, "Benchmark": SQL
queries and wall time per token charge and per processed webhook, as ratios
``clock_stripe / payment_stripe``; goal: <= 1.0 on queries).

Both providers run in the same database, with the same partner, amount (100.00 in
the company currency) and card data. Each operation runs in a fresh cursor and is
committed, as in a real request or cron run (warm registry caches, cold record
cache). Figures are the median and the mean over ``--iterations`` runs after
``--warmup`` runs; the order of the two providers alternates between iterations.

What is measured
----------------
* **token charge**: ``payment.transaction.create`` of an ``offline`` transaction
  with a saved card (``_compute_reference`` included), ``_send_payment_request()``
  (the Stripe PaymentIntent create/confirm and the processing of the answer into
  ``done``), ``_post_process()`` (``account.payment`` creation, and the hotel hook
  of clock_stripe_payment, which runs for both providers), then the commit.
* **webhook (controller)**: a signed ``payment_intent.succeeded`` event for a
  ``pending`` transaction, handed to each provider's own webhook controller method
  (``ClockStripeController.clock_stripe_webhook``: provider search, signature,
  event de-duplication insert, processing, event row update;
  ``StripeController.stripe_webhook``: transaction lookup, signature, processing)
  with ``odoo.http.request`` replaced by a stand-in that carries the raw body, the
  ``Stripe-Signature`` header and a public-user environment; commit included.
* **webhook (HTTP route)**: the same event POSTed to ``/payment/clock_stripe/webhook``
  and ``/payment/stripe/webhook`` through Odoo's WSGI application in this process
  (``werkzeug.test.Client(odoo.http.root)``): the whole request, including Odoo's
  own per-request work (session, routing, registry signaling), which is the same
  for both providers.

Queries are counted with ``odoo.sql_db.sql_counter`` (every ``Cursor.execute`` of
the process), wall time with ``time.perf_counter()``.

Stripe transport
----------------
* clock_stripe talks HTTP to localstripe through the official SDK; every request
  is timed (``stripe.RequestsClient.request``).
* payment_stripe's transport ``payment.provider._stripe_make_request`` runs
  unchanged except its network call: ``requests.request`` in
  ``odoo.addons.payment_stripe.models.payment_provider`` is a fake that answers
  canned Stripe JSON (API 2019-05-16 shape: a succeeded PaymentIntent with
  ``charges`` and the expanded PaymentMethod; a PaymentMethod) after sleeping the
  latency clock_stripe's client measured for the same kind of request (method and
  path) in the nearest run. So wall-time ratios compare like with like; the number
  of Stripe requests of each side is printed too.

The SQL breakdown (always printed when a query ratio is above 1.0, or with
``--sql``) traces one more run of each operation (``query_hooks`` of the current
thread) and lists the statements clock_stripe runs more often than payment_stripe,
with the code that issued them.

Usage
-----
::

    python3 -m stripe_double --port 8420 &  # localstripe behind the adapter
    python3 benchmarks/stripe_benchmark.py --db stripe_bench --create --drop \\
        --localstripe http://127.0.0.1:8420

``--create`` makes the database and installs ``clock_stripe_payment`` and
``payment_stripe`` with ``--without-demo=all`` (Odoo's CLI, about 2 minutes);
``--drop`` drops it at the end. Without ``--create`` the database must have both
modules installed; the benchmark commits transactions, tokens and provider
settings in it, so use a throwaway database. Database options: ``--db_host``,
``--db_port``, ``--db_user``, ``--db_password`` (Odoo's), ``--addons-path``
(default: Odoo's own addons folders and this repository).
"""

# A benchmark prints its figures, and commits like the requests it measures.
# pylint: disable=print-used,invalid-commit

import argparse
import hashlib
import hmac
import json
import os
import re
import statistics
import sys
import threading
import time
import traceback
import uuid
from collections import Counter, defaultdict
from contextlib import ExitStack, contextmanager
from types import SimpleNamespace
from unittest.mock import patch

from _common import (
    REPO_ROOT,
    Meter,
    add_odoo_arguments,
    check_stripe_double,
    complete_args,
    drop_database,
    median_mean,
    open_registry,
    print_goals,
    ratio,
)

MODULES = ("clock_stripe_payment", "payment_stripe")
AMOUNT = 100.0
CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}
OURS, THEIRS = "clock_stripe", "payment_stripe"
# Path segments of Stripe's API that are not object ids.
STRIPE_PATH_WORDS = {
    "account",
    "attach",
    "balance",
    "cancel",
    "capture",
    "charges",
    "checkout",
    "confirm",
    "customers",
    "detach",
    "expire",
    "payment_intents",
    "payment_methods",
    "refunds",
    "sessions",
    "setup_intents",
    "webhook_endpoints",
}
SIDES = (OURS, THEIRS)

# === COMMAND LINE AND DATABASE === #


def parse_args():
    parser = argparse.ArgumentParser(
        description="Queries and wall time of clock_stripe next to payment_stripe "
        "(prints figures, asserts nothing)."
    )
    parser.add_argument("--db", default="stripe_bench", help="database name")
    parser.add_argument("--localstripe", default="http://127.0.0.1:8420")
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument(
        "--sql", action="store_true", help="always print the SQL breakdown"
    )
    add_odoo_arguments(parser)
    return complete_args(parser.parse_args())


# === MEASURING === #


class StripeLog:
    """Every Stripe HTTP request of both sides: (side, kind, seconds)."""

    def __init__(self):
        self.calls = []
        self.latest = {}  # kind -> last latency measured on clock_stripe's side

    @staticmethod
    def kind(method, url):
        path = re.sub(r"^[a-z]+://[^/]+", "", url).split("?", 1)[0]
        parts = [p for p in path.split("/") if p and p != "v1"]
        parts = [p if p in STRIPE_PATH_WORDS else "{id}" for p in parts]
        return f"{method.upper()} /{'/'.join(parts)}"

    def add(self, side, kind, seconds):
        self.calls.append((side, kind, seconds))
        if side == OURS:
            self.latest[kind] = seconds

    def latency_for(self, kind):
        """The latency the fake transport sleeps for a request of ``kind``."""
        if kind in self.latest:
            return self.latest[kind]
        measured = [seconds for side, _kind, seconds in self.calls if side == OURS]
        return statistics.median(measured) if measured else 0.0


class SqlTrace:
    """Collect the statements run in the block, with the code that issued them."""

    SKIP = (
        os.sep + os.path.join("odoo", "sql_db.py"),
        os.sep + os.path.join("odoo", "models.py"),
        os.sep + os.path.join("odoo", "fields.py"),
        os.sep + os.path.join("odoo", "api.py"),
        os.sep + os.path.join("odoo", "tools") + os.sep,
        os.sep + os.path.join("odoo", "osv") + os.sep,
        os.sep + "contextlib.py",
        os.path.abspath(__file__),
    )

    def __init__(self):
        self.statements = []

    def hook(self, cr, query, params, start, delay):
        query = query.decode() if isinstance(query, bytes) else str(query)
        sql = re.sub(r"\s+", " ", query).strip()
        sql = re.sub(r'SAVEPOINT "[^"]+"', 'SAVEPOINT "<name>"', sql)
        origin = fallback = repo_origin = None
        this_file = os.path.abspath(__file__)
        for frame in reversed(traceback.extract_stack()[:-1]):
            filename = frame.filename
            if filename.startswith("<") or os.path.dirname(filename) == os.path.dirname(
                this_file
            ):
                continue
            where = f"{self.short(filename)}:{frame.lineno} {frame.name}"
            if fallback is None and "sql_db.py" not in filename:
                fallback = where
            if origin is None and not any(s in filename for s in self.SKIP):
                origin = where
            if repo_origin is None and filename.startswith(REPO_ROOT + os.sep):
                repo_origin = where
            if origin and repo_origin:
                break
        self.statements.append(
            (sql, self.signature(sql), origin or fallback or "?", repo_origin)
        )

    @staticmethod
    def signature(sql):
        """``VERB table`` of a statement, to compare statements across providers."""
        if sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO")):
            return sql.rsplit(" ", 1)[0]
        match = re.search(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', sql)
        verb = sql.split(" ", 1)[0]
        return f"{verb} {match.group(1)}" if match else verb

    @staticmethod
    def short(filename):
        for root in (REPO_ROOT + os.sep, os.sep + "odoo" + os.sep + "addons" + os.sep):
            if root in filename:
                return filename.split(root, 1)[1]
        return filename.rsplit(os.sep + "odoo" + os.sep, 1)[-1]

    @contextmanager
    def active(self):
        thread = threading.current_thread()
        if not hasattr(thread, "query_hooks"):
            thread.query_hooks = []
        thread.query_hooks.append(self.hook)
        try:
            yield self
        finally:
            thread.query_hooks.remove(self.hook)


# === STRIPE TRANSPORTS === #


def patch_clock_stripe_transport(stripe_log):
    """Time every HTTP request of the stripe SDK (clock_stripe's client)."""
    import stripe

    original = stripe.RequestsClient.request

    def timed_request(client, method, url, headers, post_data=None, **kwargs):
        start = time.perf_counter()
        try:
            return original(client, method, url, headers, post_data, **kwargs)
        finally:
            stripe_log.add(
                OURS, stripe_log.kind(method, url), time.perf_counter() - start
            )

    return patch.object(stripe.RequestsClient, "request", timed_request)


class FakeStripeApi:
    """Network of payment_stripe's ``_stripe_make_request``: canned Stripe JSON
    (API 2019-05-16 shape) after the latency measured on clock_stripe's side."""

    def __init__(self, stripe_log):
        self.stripe_log = stripe_log

    def request(self, method, url, data=None, headers=None, timeout=None, **kwargs):
        import requests

        kind = self.stripe_log.kind(method, url)
        start = time.perf_counter()
        time.sleep(self.stripe_log.latency_for(kind))
        data = data or {}
        if kind == "POST /payment_intents":
            body = canned_payment_intent(data)
        elif kind == "GET /payment_methods/{id}":
            body = canned_payment_method(url.rstrip("/").rsplit("/", 1)[-1])
        else:
            raise RuntimeError(f"payment_stripe sent an unexpected request: {kind}")
        response = requests.Response()
        response.status_code = 200
        response.headers["Content-Type"] = "application/json"
        response.encoding = "utf-8"
        response.url = url
        response._content = json.dumps(body).encode()
        self.stripe_log.add(THEIRS, kind, time.perf_counter() - start)
        return response

    def patch(self):
        import requests

        from odoo.addons.payment_stripe.models import payment_provider

        transport = SimpleNamespace(
            request=self.request, exceptions=requests.exceptions
        )
        return patch.object(payment_provider, "requests", transport)


def canned_payment_method(pm_id, customer=None):
    return {
        "id": pm_id,
        "object": "payment_method",
        "billing_details": {
            "address": {"city": None, "country": None, "line1": None},
            "email": None,
            "name": None,
            "phone": None,
        },
        "card": {
            "brand": "visa",
            "checks": {
                "address_line1_check": None,
                "address_postal_code_check": None,
                "cvc_check": "pass",
            },
            "country": "US",
            "exp_month": CARD["exp_month"],
            "exp_year": CARD["exp_year"],
            "fingerprint": "bench0fingerprint",
            "funding": "credit",
            "last4": CARD["number"][-4:],
            "networks": {"available": ["visa"], "preferred": None},
            "three_d_secure_usage": {"supported": True},
            "wallet": None,
        },
        "created": int(time.time()),
        "customer": customer,
        "livemode": False,
        "metadata": {},
        "type": "card",
    }


def canned_payment_intent(payload):
    """A succeeded PaymentIntent for the form-encoded ``payload`` sent."""
    pi_id = f"pi_{uuid.uuid4().hex[:24]}"
    amount = int(payload["amount"])
    customer = payload.get("customer")
    payment_method = canned_payment_method(payload.get("payment_method"), customer)
    now = int(time.time())
    charge = {
        "id": f"ch_{uuid.uuid4().hex[:24]}",
        "object": "charge",
        "amount": amount,
        "amount_refunded": 0,
        "captured": True,
        "created": now,
        "currency": payload["currency"],
        "customer": customer,
        "description": payload.get("description"),
        "livemode": False,
        "metadata": {},
        "paid": True,
        "payment_intent": pi_id,
        "payment_method": payment_method["id"],
        "payment_method_details": {"card": payment_method["card"], "type": "card"},
        "refunded": False,
        "refunds": {"object": "list", "data": [], "has_more": False},
        "status": "succeeded",
    }
    return {
        "id": pi_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_received": amount,
        "capture_method": payload.get("capture_method", "automatic"),
        "charges": {
            "object": "list",
            "data": [charge],
            "has_more": False,
            "total_count": 1,
        },
        "client_secret": f"{pi_id}_secret_bench",
        "confirmation_method": "automatic",
        "created": now,
        "currency": payload["currency"],
        "customer": customer,
        "description": payload.get("description"),
        "last_payment_error": None,
        "livemode": False,
        "metadata": {},
        "next_action": None,
        "payment_method": payment_method,
        "payment_method_types": ["card"],
        "setup_future_usage": None,
        "status": "succeeded",
    }


# === WEBHOOK EVENTS === #


def payment_intent_event(reference, pi_id, amount_minor, currency):
    """A ``payment_intent.succeeded`` event of the current API shape; the
    transaction reference is both in the metadata (clock_stripe) and the
    description (payment_stripe)."""
    now = int(time.time())
    return {
        "id": f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": now,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": "payment_intent.succeeded",
        "data": {
            "object": {
                "id": pi_id,
                "object": "payment_intent",
                "amount": amount_minor,
                "amount_capturable": 0,
                "amount_received": amount_minor,
                "capture_method": "automatic",
                "client_secret": f"{pi_id}_secret_bench",
                "confirmation_method": "automatic",
                "created": now,
                "currency": currency,
                "customer": "cus_bench",
                "description": reference,
                "latest_charge": f"ch_{uuid.uuid4().hex[:24]}",
                "livemode": False,
                "metadata": {"odoo_reference": reference},
                "payment_method": "pm_bench",
                "payment_method_types": ["card"],
                "status": "succeeded",
            }
        },
    }


def sign(payload, secret):
    timestamp = int(time.time())
    signature = hmac.new(
        secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={signature}"


class FakeRequest:
    """What both webhook controllers read from ``odoo.http.request``."""

    def __init__(self, env, payload, signature):
        self.env = env
        data = payload.encode()
        self.httprequest = SimpleNamespace(
            data=data,
            get_data=lambda: data,
            headers={
                "Stripe-Signature": signature,
                "Content-Type": "application/json",
            },
        )
        self.status = None

    def get_json_data(self):
        return json.loads(self.httprequest.get_data())

    def make_json_response(self, data, headers=None, cookies=None, status=200):
        from odoo.http import Response

        self.status = status
        return Response(
            json.dumps(data, ensure_ascii=False, default=str),
            headers=[("Content-Type", "application/json; charset=utf-8")],
            status=status,
        )


# === THE BENCHMARK === #


class Benchmark:
    def __init__(self, args, registry):
        self.args = args
        self.registry = registry
        self.stripe_log = StripeLog()
        self.fake_api = FakeStripeApi(self.stripe_log)
        self.results = defaultdict(list)  # (operation, side) -> [Meter]
        self.sides = {}
        self.trace = None

    # --- setup ---

    def setup(self):
        import stripe

        from odoo import SUPERUSER_ID, Command, api

        secret = "sk_test_clockbench"
        sdk = stripe.StripeClient(secret, base_addresses={"api": self.args.localstripe})
        customer = sdk.v1.customers.create(params={"name": "Benchmark Guest"})
        card = sdk.v1.payment_methods.create(params={"type": "card", "card": CARD})
        sdk.v1.payment_methods.attach(card.id, params={"customer": customer.id})
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            currency = env.company.currency_id
            methods = env.ref("payment.payment_method_card") | env.ref(
                "payment.payment_method_visa"
            )
            visa = env.ref("payment.payment_method_visa")
            partner = env["res.partner"].create(
                {
                    "name": "Benchmark Guest",
                    "email": "guest@example.com",
                    "phone": "+1 555 0100",
                    "street": "1 Benchmark Street",
                    "city": "Springfield",
                    "zip": "12345",
                    "country_id": env.ref("base.us").id,
                }
            )
            ours = env["payment.provider"].search(
                [("code", "=", OURS), ("company_id", "=", env.company.id)], limit=1
            )
            ours.with_context(clock_stripe_skip_credential_check=True).write(
                {
                    "state": "test",
                    "is_published": True,
                    "clock_stripe_secret_key": secret,
                    "clock_stripe_publishable_key": "pk_test_clockbench",
                    "clock_stripe_webhook_secret": "whsec_clockbench",
                    "clock_stripe_api_base": self.args.localstripe,
                    "clock_stripe_settlement_currency_id": False,
                    "capture_manually": False,
                    "payment_method_ids": [Command.set(methods.ids)],
                }
            )
            theirs = env.ref("payment.payment_provider_stripe")
            theirs.write(
                {
                    "state": "test",
                    "is_published": True,
                    "stripe_secret_key": "sk_test_odoobench",
                    "stripe_publishable_key": "pk_test_odoobench",
                    "stripe_webhook_secret": "whsec_odoobench",
                    "capture_manually": False,
                    "payment_method_ids": [Command.set(methods.ids)],
                }
            )
            token_values = {
                "payment_method_id": visa.id,
                "partner_id": partner.id,
                "payment_details": CARD["number"][-4:],
            }
            our_token = env["payment.token"].create(
                {
                    **token_values,
                    "provider_id": ours.id,
                    "provider_ref": customer.id,
                    "clock_stripe_payment_method_id": card.id,
                    "clock_stripe_card_brand": "visa",
                    "clock_stripe_exp_month": CARD["exp_month"],
                    "clock_stripe_exp_year": CARD["exp_year"],
                }
            )
            their_token = env["payment.token"].create(
                {
                    **token_values,
                    "provider_id": theirs.id,
                    "provider_ref": "cus_odoobench",
                    "stripe_payment_method": "pm_odoobench",
                }
            )
            for provider in ours | theirs:
                if not provider.journal_id:
                    sys.exit(f"Provider {provider.name} has no journal.")
            self.currency_id = currency.id
            self.currency_name = currency.name.lower()
            self.partner_id = partner.id
            self.public_uid = env.ref("base.public_user").id
            self.sides = {
                OURS: SimpleNamespace(
                    code=OURS,
                    provider_id=ours.id,
                    token_id=our_token.id,
                    webhook_secret="whsec_clockbench",
                    route="/payment/clock_stripe/webhook",
                ),
                THEIRS: SimpleNamespace(
                    code="stripe",
                    provider_id=theirs.id,
                    token_id=their_token.id,
                    webhook_secret="whsec_odoobench",
                    route="/payment/stripe/webhook",
                ),
            }

    # --- operations ---

    def env(self, cr, uid=None, context=None):
        from odoo import SUPERUSER_ID, api

        return api.Environment(cr, uid or SUPERUSER_ID, context or {})

    def token_charge(self, side):
        """create + _send_payment_request + _post_process + commit."""
        info = self.sides[side]
        meter = Meter(self.stripe_log, self.trace)
        with self.registry.cursor() as cr:
            env = self.env(cr)
            transactions = env["payment.transaction"]
            token = env["payment.token"].browse(info.token_id)
            with meter.phase("create"):
                tx = transactions.create(
                    {
                        "provider_id": info.provider_id,
                        "payment_method_id": token.payment_method_id.id,
                        "token_id": token.id,
                        "reference": transactions._compute_reference(
                            info.code, prefix=f"BENCH-{uuid.uuid4().hex[:12]}"
                        ),
                        "amount": AMOUNT,
                        "currency_id": self.currency_id,
                        "partner_id": self.partner_id,
                        "operation": "offline",
                    }
                )
            with meter.phase("send"):
                tx._send_payment_request()
            with meter.phase("post_process"):
                tx._post_process()
            with meter.phase("commit"):
                cr.commit()
            if tx.state != "done" or not tx.payment_id or not tx.is_post_processed:
                raise RuntimeError(
                    f"{side} token charge ended in state {tx.state} "
                    f"({tx.state_message}), payment {tx.payment_id}"
                )
        return meter

    def pending_transaction(self, side):
        """A pending (processing) card payment, committed; returns the event."""
        info = self.sides[side]
        with self.registry.cursor() as cr:
            env = self.env(cr)
            transactions = env["payment.transaction"]
            pi_id = f"pi_{uuid.uuid4().hex[:24]}"
            tx = transactions.create(
                {
                    "provider_id": info.provider_id,
                    "payment_method_id": env.ref("payment.payment_method_card").id,
                    "reference": transactions._compute_reference(
                        info.code, prefix=f"BENCH-WH-{uuid.uuid4().hex[:12]}"
                    ),
                    "amount": AMOUNT,
                    "currency_id": self.currency_id,
                    "partner_id": self.partner_id,
                    "operation": "online_direct",
                    "provider_reference": pi_id,
                }
            )
            tx._set_pending()
            event = payment_intent_event(
                tx.reference, pi_id, int(round(AMOUNT * 100)), self.currency_name
            )
            return tx.id, json.dumps(event)

    def check_done(self, side, tx_id, answer):
        with self.registry.cursor() as cr:
            tx = self.env(cr)["payment.transaction"].browse(tx_id)
            if tx.state != "done":
                raise RuntimeError(
                    f"{side} webhook left the transaction in {tx.state} ({answer})"
                )

    @contextmanager
    def posting_phase(self, meter):
        """Count clock_stripe's posting of the payment at once (account.payment,
        folio line), which payment_stripe leaves to its post-processing cron, as
        the phase ``posting`` inside the webhook."""
        cls = self.registry["payment.transaction"]
        post = cls._clock_stripe_post_process_event

        def timed_post(records):
            with meter.phase("posting", traced=False):
                return post(records)

        with patch.object(cls, "_clock_stripe_post_process_event", timed_post):
            yield

    def webhook_controller(self, side):
        """The provider's webhook controller method, request replaced."""
        from odoo.addons.clock_stripe_payment.controllers import main as our_main
        from odoo.addons.payment_stripe.controllers import main as their_main

        info = self.sides[side]
        tx_id, payload = self.pending_transaction(side)
        signature = sign(payload, info.webhook_secret)
        meter = Meter(self.stripe_log, self.trace)
        with self.registry.cursor() as cr:
            env = self.env(cr, self.public_uid, {"lang": "en_US"})
            request = FakeRequest(env, payload, signature)
            if side == OURS:
                module = our_main
                call = our_main.ClockStripeController().clock_stripe_webhook
            else:
                module = their_main
                call = their_main.StripeController().stripe_webhook
            with (
                meter.phase("webhook"),
                patch.object(module, "request", request),
                self.posting_phase(meter),
            ):
                call()
                cr.commit()
        self.check_done(side, tx_id, request.status)
        return meter

    def webhook_route(self, side):
        """The same event POSTed through Odoo's WSGI application, in process."""
        info = self.sides[side]
        tx_id, payload = self.pending_transaction(side)
        headers = {
            "Content-Type": "application/json",
            "Stripe-Signature": sign(payload, info.webhook_secret),
            "Cookie": f"session_id={self.session.sid}",
        }
        meter = Meter(self.stripe_log, self.trace)
        with meter.phase("webhook"), self.posting_phase(meter):
            response = self.http_client.post(
                info.route, data=payload.encode(), headers=headers
            )
        if response.status_code != 200:
            raise RuntimeError(f"{side} route answered {response.status_code}")
        self.check_done(side, tx_id, response.get_data(as_text=True)[:200])
        return meter

    def open_http(self):
        from werkzeug.test import Client

        import odoo.http

        session = odoo.http.root.session_store.new()
        session.update(odoo.http.get_default_session(), db=self.args.db)
        session.context["lang"] = "en_US"
        odoo.http.root.session_store.save(session)
        self.session = session
        self.http_client = Client(odoo.http.root, use_cookies=False)

    def close_http(self):
        import odoo.http

        odoo.http.root.session_store.delete(self.session)

    # --- runs ---

    OPERATIONS = (
        ("token_charge", "token_charge"),
        ("webhook_controller", "webhook_controller"),
        ("webhook_route", "webhook_route"),
    )

    def run_once(self, iteration, record=True, trace=None):
        # Alternate the order so that neither side always runs first.
        sides = SIDES if iteration % 2 == 0 else SIDES[::-1]
        for operation, method in self.OPERATIONS:
            for side in sides:
                self.trace = trace[(operation, side)] if trace is not None else None
                meter = getattr(self, method)(side)
                self.trace = None
                if record:
                    self.results[(operation, side)].append(meter)

    @contextmanager
    def transports(self):
        """clock_stripe's SDK requests timed, payment_stripe's network faked."""
        with ExitStack() as stack:
            stack.enter_context(patch_clock_stripe_transport(self.stripe_log))
            stack.enter_context(self.fake_api.patch())
            yield

    def run(self):
        with self.transports():
            self.setup()
            self.open_http()
            try:
                for i in range(self.args.warmup):
                    self.run_once(i, record=False)
                self.warmup_calls = len(self.stripe_log.calls)
                for i in range(self.args.iterations):
                    self.run_once(i)
                self.measured_calls = self.stripe_log.calls[self.warmup_calls :]
                self.traces = defaultdict(SqlTrace)
                self.run_once(0, record=False, trace=self.traces)
            finally:
                self.close_http()


# === REPORT === #

# The webhook less clock_stripe's posting at once: what payment_stripe's does.
WITHOUT_POSTING = "without_posting"
ROWS = (
    ("token charge, total", "token_charge", None),
    ("  create transaction", "token_charge", "create"),
    ("  send request + notification", "token_charge", "send"),
    ("  post-process", "token_charge", "post_process"),
    ("  commit", "token_charge", "commit"),
    ("webhook pi.succeeded, controller", "webhook_controller", "webhook"),
    ("webhook pi.succeeded, HTTP route", "webhook_route", "webhook"),
    ("  posting the payment at once", "webhook_route", "posting"),
    ("  the rest of the route", "webhook_route", WITHOUT_POSTING),
)


def phase_value(meter, phase, key):
    if phase is None:
        return meter.total()[key]
    if phase == WITHOUT_POSTING:
        return meter.get("webhook")[key] - meter.get("posting")[key]
    return meter.get(phase)[key]


def figures(meters, phase, key):
    return median_mean([phase_value(meter, phase, key) for meter in meters])


def print_table(bench):
    header = (
        f"{'operation':<33} {'clock_stripe q':>15} {'payment_stripe q':>17} "
        f"{'ratio':>6} {'clock_stripe ms':>16} {'payment_stripe ms':>18} "
        f"{'ratio':>6} {'Stripe calls':>13}"
    )
    print(header)
    print("-" * len(header))
    ratios = {}
    for label, operation, phase in ROWS:
        ours = bench.results[(operation, OURS)]
        theirs = bench.results[(operation, THEIRS)]
        oq, oq_mean = figures(ours, phase, "queries")
        tq, tq_mean = figures(theirs, phase, "queries")
        oms, oms_mean = figures(ours, phase, "ms")
        tms, tms_mean = figures(theirs, phase, "ms")
        ocalls = figures(ours, phase, "calls")[1]
        tcalls = figures(theirs, phase, "calls")[1]
        if not label.startswith(" "):
            ratios[operation] = (oq, tq)
        elif phase == WITHOUT_POSTING:
            ratios["webhook_route_without_posting"] = (oq, tq)
        print(
            f"{label:<33} {f'{oq:g} ({oq_mean:.1f})':>15} "
            f"{f'{tq:g} ({tq_mean:.1f})':>17} {ratio(oq, tq):>6} "
            f"{f'{oms:.1f} ({oms_mean:.1f})':>16} "
            f"{f'{tms:.1f} ({tms_mean:.1f})':>18} {ratio(oms, tms):>6} "
            f"{f'{ocalls:g} / {tcalls:g}':>13}"
        )
    print(
        "\nq = SQL queries, ms = wall time: median (mean) per operation; ratio = "
        "clock_stripe / payment_stripe on medians; Stripe calls = HTTP requests to "
        "Stripe per operation (clock_stripe / payment_stripe)."
    )
    return ratios


def print_latency(bench):
    by_kind = defaultdict(lambda: defaultdict(list))
    for side, kind, seconds in bench.measured_calls:
        by_kind[kind][side].append(seconds * 1000.0)
    if not by_kind:
        return
    print("\nStripe requests (measured runs): median ms per request")
    for kind, sides in sorted(by_kind.items()):
        ours, theirs = sides.get(OURS, []), sides.get(THEIRS, [])
        ours_text = f"{statistics.median(ours):.1f} ms x{len(ours)}" if ours else "-"
        theirs_text = (
            f"{statistics.median(theirs):.1f} ms x{len(theirs)}" if theirs else "-"
        )
        print(
            f"  {kind:<28} clock_stripe (localstripe, real HTTP): {ours_text:<16} "
            f"payment_stripe (fake, same latency): {theirs_text}"
        )


def print_sql(bench, ratios, force):
    for operation, _method in Benchmark.OPERATIONS:
        ours, theirs = ratios.get(operation, (0, 1))
        if not force and ours <= theirs:
            continue
        ours = bench.traces[(operation, OURS)].statements
        theirs = bench.traces[(operation, THEIRS)].statements
        print(
            f"\nSQL of one traced {operation}: clock_stripe {len(ours)} statements, "
            f"payment_stripe {len(theirs)}. By kind (clock_stripe - payment_stripe), "
            "with the clock_stripe statements of each kind and where they come from:"
        )
        our_kinds = Counter(statement[1] for statement in ours)
        their_kinds = Counter(statement[1] for statement in theirs)
        kinds = sorted(
            set(our_kinds) | set(their_kinds),
            key=lambda kind: (their_kinds[kind] - our_kinds[kind], kind),
        )
        for kind in kinds:
            difference = our_kinds[kind] - their_kinds[kind]
            if not difference:
                continue
            print(
                f"  {difference:+d}  {kind}  "
                f"({our_kinds[kind]} vs {their_kinds[kind]})"
            )
            if difference < 0:
                continue
            for sql, _kind, origin, repo in (st for st in ours if st[1] == kind):
                via = f"  [via {repo}]" if repo and repo != origin else ""
                print(f"        {sql[:110]}")
                print(f"          at {origin}{via}")


def main():
    args = parse_args()
    import odoo

    check_stripe_double(args.localstripe)
    try:
        registry = open_registry(args, MODULES)
        bench = Benchmark(args, registry)
        started = time.perf_counter()
        bench.run()
        print(
            f"\nclock_stripe vs payment_stripe, database {args.db}, Odoo "
            f"{odoo.release.version}, {args.iterations} runs after {args.warmup} "
            f"warm-up runs ({time.perf_counter() - started:.0f} s)\n"
        )
        ratios = print_table(bench)
        print_latency(bench)
        print_sql(bench, ratios, args.sql)
        print_goals(
            "Goals: clock_stripe / payment_stripe, SQL queries (issues 3 and 13)",
            [
                (label, *ratios[operation], 1.0)
                for label, operation in (
                    ("token charge with post-processing (issue 3)", "token_charge"),
                    ("webhook, controller (issue 3)", "webhook_controller"),
                    ("webhook, HTTP route (issues 3, 13)", "webhook_route"),
                    (
                        "webhook, HTTP route less the posting at once",
                        "webhook_route_without_posting",
                    ),
                )
            ],
        )
    finally:
        if args.drop:
            drop_database(args.db)


if __name__ == "__main__":
    main()
