"""Answers have the pinned version's shape: every key is annotated on the SDK class."""

import pytest
import requests
import stripe

from .conftest import API_KEY

SDK_CLASSES = {
    "payment_intent": stripe.PaymentIntent,
    "charge": stripe.Charge,
    "setup_intent": stripe.SetupIntent,
    "refund": stripe.Refund,
    "checkout.session": stripe.checkout.Session,
    "webhook_endpoint": stripe.WebhookEndpoint,
    "account": stripe.Account,
    "event": stripe.Event,
    "payment_method": stripe.PaymentMethod,
    "customer": stripe.Customer,
}


def annotated(cls):
    """The attributes annotated on ``cls`` and its bases (the SDK's fields)."""
    names = set()
    for klass in cls.__mro__:
        names.update(vars(klass).get("__annotations__", {}))
    return names


def raw(base_url, path, **params):
    answer = requests.get(
        f"{base_url}{path}", params=params, auth=(API_KEY, ""), timeout=5
    )
    answer.raise_for_status()
    return answer.json()


def test_every_answer_key_is_an_sdk_attribute(base_url, client, card, authorized):
    intent = authorized(description="shape")
    client.v1.payment_intents.capture(intent.id, params={"amount_to_capture": 5000})
    refund = client.v1.refunds.create(params={"payment_intent": intent.id})
    setup = client.v1.setup_intents.create(params={"description": "s"})
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "success_url": "https://hotel.example/ok",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": "eur",
                        "unit_amount": 100,
                        "product_data": {"name": "Room"},
                    },
                }
            ],
        }
    )
    requests.post(f"{session.url}/complete", allow_redirects=False, timeout=5)
    endpoint = client.v1.webhook_endpoints.create(
        params={"url": "http://127.0.0.1:9/hook", "enabled_events": ["*"]}
    )
    try:
        answers = [
            raw(base_url, f"/v1/payment_intents/{intent.id}"),
            raw(base_url, f"/v1/charges/{intent.latest_charge}"),
            raw(base_url, f"/v1/refunds/{refund.id}"),
            raw(base_url, f"/v1/setup_intents/{setup.id}"),
            raw(base_url, f"/v1/checkout/sessions/{session.id}"),
            raw(base_url, f"/v1/webhook_endpoints/{endpoint.id}"),
            raw(base_url, "/v1/account"),
            raw(base_url, f"/v1/payment_methods/{card().id}"),
            raw(base_url, f"/v1/customers/{client.v1.customers.create().id}"),
        ]
        events = raw(base_url, "/v1/events")["data"]
    finally:
        client.v1.webhook_endpoints.delete(endpoint.id)
    answers += events + [event["data"]["object"] for event in events]
    kinds = {answer["object"] for answer in answers}
    assert set(SDK_CLASSES) <= kinds
    for answer in answers:
        extra = set(answer) - annotated(SDK_CLASSES[answer["object"]])
        assert not extra, f"{answer['object']} has keys the SDK lacks: {extra}"


def test_payment_intent_fields(authorized):
    intent = authorized()
    for field in (
        "amount_capturable",
        "amount_received",
        "payment_method_types",
        "description",
        "cancellation_reason",
        "capture_method",
        "setup_future_usage",
    ):
        assert field in intent, field
    assert "charges" not in intent
    assert intent.capture_method == "manual"
    assert intent.setup_future_usage is None


@pytest.mark.parametrize("expand", [None, ["latest_charge"], ["payment_method"]])
def test_expandable_fields_are_ids_unless_expanded(client, authorized, expand):
    intent = authorized()
    params = {"expand": expand} if expand else {}
    shown = client.v1.payment_intents.retrieve(intent.id, params=params)
    expanded = set(expand or [])
    for field, cls in (
        ("latest_charge", stripe.Charge),
        ("payment_method", stripe.PaymentMethod),
    ):
        value = shown[field]
        if field in expanded:
            assert isinstance(value, cls)
        else:
            assert isinstance(value, str)


def test_list_items_collapse_and_expand(client, authorized):
    intent = authorized()
    plain = client.v1.payment_intents.list()
    assert plain.data[0].latest_charge == intent.latest_charge
    expanded = client.v1.payment_intents.list(params={"expand": ["data.latest_charge"]})
    assert expanded.data[0].latest_charge.id == intent.latest_charge


def test_untouched_localstripe_routes(base_url, client, card):
    script = requests.get(f"{base_url}/js.stripe.com/v3/", timeout=5)
    assert script.status_code == 200
    assert requests.get(f"{base_url}/v1/customers", timeout=5).status_code == 401
    method = card("4000002500003155")
    intent = client.v1.payment_intents.create(
        params={
            "amount": 800,
            "currency": "eur",
            "payment_method": method.id,
            "confirm": True,
        }
    )
    assert intent.status == "requires_action"
    done = requests.post(
        f"{base_url}/v1/payment_intents/{intent.id}/_authenticate",
        data={
            "client_secret": intent.client_secret,
            "success": "true",
            "key": "pk_test_x",
        },
        timeout=5,
    )
    assert done.status_code == 200
    assert done.json()["status"] == "succeeded"
    assert isinstance(done.json()["latest_charge"], str)
