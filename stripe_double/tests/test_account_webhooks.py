"""GET /v1/account and webhook endpoints delivering signed events."""

import http.server
import queue
import threading

import pytest
import stripe

from stripe_double import API_VERSION

from .conftest import ACCOUNT_ID


def test_account(client):
    account = client.v1.accounts.retrieve_current()
    assert isinstance(account, stripe.Account)
    assert account.id == ACCOUNT_ID
    assert account.charges_enabled is True
    assert account.country and account.default_currency and account.email


@pytest.fixture
def receiver():
    """A tiny HTTP server; yields ``(url, queue of (body, signature header))``."""
    received = queue.Queue()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.put((body, self.headers["Stripe-Signature"]))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()
    server.server_close()


@pytest.fixture
def endpoint(client, receiver):
    url, _received = receiver
    created = client.v1.webhook_endpoints.create(
        params={
            "url": url,
            "enabled_events": ["payment_intent.succeeded"],
            "api_version": API_VERSION,
            "description": "test",
            "metadata": {"odoo": "1"},
        }
    )
    yield created
    client.v1.webhook_endpoints.delete(created.id)


def test_webhook_endpoint_object(client, endpoint, receiver):
    assert endpoint.id.startswith("we_")
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.status == "enabled"
    assert endpoint.livemode is False
    assert endpoint.api_version == API_VERSION
    assert endpoint.enabled_events == ["payment_intent.succeeded"]
    again = client.v1.webhook_endpoints.retrieve(endpoint.id)
    assert "secret" not in again
    assert again.url == receiver[0]
    listed = client.v1.webhook_endpoints.list()
    assert [e.id for e in listed.data] == [endpoint.id]
    updated = client.v1.webhook_endpoints.update(
        endpoint.id, params={"description": "renamed"}
    )
    assert updated.description == "renamed"


def test_webhook_delivers_a_signed_endive_event(client, card, endpoint, receiver):
    _url, received = receiver
    intent = client.v1.payment_intents.create(
        params={
            "amount": 1200,
            "currency": "eur",
            "payment_method": card().id,
            "confirm": True,
            "metadata": {"reference": "W1"},
        }
    )
    payload, signature = received.get(timeout=5)
    event = stripe.Webhook.construct_event(payload, signature, endpoint.secret)
    assert event.type == "payment_intent.succeeded"
    assert event.api_version == API_VERSION
    shown = event.data.object
    assert shown.id == intent.id
    assert isinstance(shown.latest_charge, str)
    assert "charges" not in shown
    assert shown.amount_received == 1200
    assert shown.metadata.reference == "W1"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, signature, "whsec_wrong")


def test_deleted_endpoint_is_gone(client, receiver):
    url, _received = receiver
    created = client.v1.webhook_endpoints.create(
        params={"url": url, "enabled_events": ["*"]}
    )
    deleted = client.v1.webhook_endpoints.delete(created.id)
    assert deleted.deleted is True
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.webhook_endpoints.retrieve(created.id)
