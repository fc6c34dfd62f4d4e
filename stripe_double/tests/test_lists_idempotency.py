"""List filters localstripe lacks, and idempotency keys."""

import time

import pytest
import requests
import stripe

from .conftest import API_KEY


def _intent(client, customer=None, amount=1000):
    params = {"amount": amount, "currency": "eur"}
    if customer:
        params["customer"] = customer
    return client.v1.payment_intents.create(params=params)


def test_payment_intent_list_filters(client):
    alice = client.v1.customers.create(params={"name": "Alice"}).id
    bob = client.v1.customers.create(params={"name": "Bob"}).id
    first = _intent(client, alice)
    second = _intent(client, bob)
    third = _intent(client, alice)
    listed = client.v1.payment_intents.list(params={"customer": alice})
    assert [i.id for i in listed.data] == [third.id, first.id]  # newest first
    page = client.v1.payment_intents.list(params={"limit": 2})
    assert [i.id for i in page.data] == [third.id, second.id]
    assert page.has_more is True
    rest = client.v1.payment_intents.list(
        params={"limit": 2, "starting_after": second.id}
    )
    assert [i.id for i in rest.data] == [first.id]
    assert rest.has_more is False
    now = int(time.time())
    assert (
        len(client.v1.payment_intents.list(params={"created": {"gte": now - 60}})) == 3
    )
    assert (
        client.v1.payment_intents.list(params={"created": {"gt": now + 60}}).data == []
    )
    assert (
        len(client.v1.payment_intents.list(params={"created": {"lte": now + 1}})) == 3
    )
    everything = client.v1.payment_intents.list(params={"limit": 1})
    assert [i.id for i in everything.auto_paging_iter()] == [
        third.id,
        second.id,
        first.id,
    ]


def test_charge_list_by_payment_intent(authorized, client):
    intent = authorized()
    authorized()
    charges = client.v1.charges.list(params={"payment_intent": intent.id})
    assert [c.id for c in charges.data] == [intent.latest_charge]


def test_idempotent_replay(client):
    options = {"idempotency_key": "key-replay"}
    params = {"name": "Once"}
    first = client.v1.customers.create(params=params, options=options)
    second = client.v1.customers.create(params=params, options=options)
    assert first.id == second.id
    assert second.last_response.headers["Idempotent-Replayed"] == "true"
    assert len(client.v1.customers.list().data) == 1


def test_idempotency_key_with_other_parameters(client):
    options = {"idempotency_key": "key-mismatch"}
    client.v1.customers.create(params={"name": "A"}, options=options)
    with pytest.raises(stripe.IdempotencyError) as error:
        client.v1.customers.create(params={"name": "B"}, options=options)
    assert "same parameters" in error.value.user_message
    assert len(client.v1.customers.list().data) == 1


def test_idempotency_covers_adapter_operations(client, authorized):
    intent = authorized()
    options = {"idempotency_key": f"capture-{intent.id}"}
    captured = client.v1.payment_intents.capture(intent.id, options=options)
    again = client.v1.payment_intents.capture(intent.id, options=options)
    assert captured.status == again.status == "succeeded"


def test_idempotency_keys_are_per_api_key(base_url, client):
    headers = {"Idempotency-Key": "shared"}
    first = requests.post(
        f"{base_url}/v1/customers",
        data={"name": "A"},
        headers=headers,
        auth=(API_KEY, ""),
        timeout=5,
    )
    other = requests.post(
        f"{base_url}/v1/customers",
        data={"name": "A"},
        headers=headers,
        auth=("sk_test_other", ""),
        timeout=5,
    )
    assert first.json()["id"] != other.json()["id"]
    assert "Idempotent-Replayed" not in other.headers


def test_flush_forgets_idempotency_keys(base_url, client):
    options = {"idempotency_key": "key-flush"}
    first = client.v1.customers.create(params={"name": "A"}, options=options)
    requests.delete(f"{base_url}/_config/data", timeout=5).raise_for_status()
    second = client.v1.customers.create(params={"name": "A"}, options=options)
    assert first.id != second.id
