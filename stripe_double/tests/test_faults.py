"""The fault point: faults registered per request with ``/_config/faults``."""

import time

import pytest
import requests
import stripe

from .conftest import API_KEY


@pytest.fixture
def fault(base_url, client):
    """Register a fault for upcoming requests (the ``client`` fixture resets)."""

    def register(kind, method, path, **options):
        response = requests.post(
            f"{base_url}/_config/faults",
            json={"kind": kind, "method": method, "path": path, **options},
            timeout=5,
        )
        response.raise_for_status()
        return response.json()

    return register


def _create_params(card):
    return {
        "amount": 2500,
        "currency": "eur",
        "payment_method": card().id,
        "allowed_payment_method_types": ["card"],
        "confirm": True,
    }


def _intents(client):
    return client.v1.payment_intents.list().data


def _fired(base_url):
    return requests.get(f"{base_url}/_config/faults", timeout=5).json()


def test_lose_answer_applies_then_drops(base_url, client, card, fault):
    fault("lose_answer", "POST", "/v1/payment_intents")
    params = _create_params(card)
    with pytest.raises(stripe.APIConnectionError):
        client.v1.payment_intents.create(
            params=params, options={"idempotency_key": "lost-1"}
        )
    (intent,) = _intents(client)
    assert intent.status == "succeeded"
    # Used up: the same request again is a replay of the applied one.
    replayed = client.v1.payment_intents.create(
        params=params, options={"idempotency_key": "lost-1"}
    )
    assert replayed.id == intent.id
    assert len(_intents(client)) == 1
    state = _fired(base_url)
    assert state["armed"] == []
    assert state["fired"] == [
        {"kind": "lose_answer", "method": "POST", "path": "/v1/payment_intents"}
    ]


def test_reset_applies_nothing(client, card, fault):
    fault("reset", "POST", "/v1/payment_intents")
    with pytest.raises(stripe.APIConnectionError):
        client.v1.payment_intents.create(params=_create_params(card))
    assert _intents(client) == []


def test_http_500_applies_nothing(client, card, fault):
    fault("http_500", "POST", "/v1/payment_intents")
    with pytest.raises(stripe.APIError) as caught:
        client.v1.payment_intents.create(params=_create_params(card))
    assert caught.value.http_status == 500
    assert _intents(client) == []


def test_http_429_with_retry_after(base_url, card, fault):
    fault("http_429", "POST", "/v1/payment_intents", retry_after=7)
    response = requests.post(
        f"{base_url}/v1/payment_intents",
        auth=(API_KEY, ""),
        data={"amount": 2500, "currency": "eur"},
        timeout=5,
    )
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.json()["error"]["code"] == "rate_limit"
    client = stripe.StripeClient(
        API_KEY, base_addresses={"api": base_url}, max_network_retries=0
    )
    assert _intents(client) == []
    fault("http_429", "POST", "/v1/payment_intents")
    with pytest.raises(stripe.RateLimitError):
        client.v1.payment_intents.create(params=_create_params(card))


def test_slow_answer_times_out_then_applies(base_url, card, fault):
    fault("slow", "POST", "/v1/payment_intents", delay=1.5)
    impatient = stripe.StripeClient(
        API_KEY,
        base_addresses={"api": base_url},
        max_network_retries=0,
        http_client=stripe.RequestsClient(timeout=0.5),
    )
    with pytest.raises(stripe.APIConnectionError):
        impatient.v1.payment_intents.create(params=_create_params(card))
    patient = stripe.StripeClient(
        API_KEY, base_addresses={"api": base_url}, max_network_retries=0
    )
    for _attempt in range(40):  # The double answers (and applies) after 1.5 s.
        if _intents(patient):
            break
        time.sleep(0.1)
    assert len(_intents(patient)) == 1


def test_match_by_method_path_and_nth(client, card, fault):
    fault("http_500", "POST", "/v1/payment_intents/*/capture", nth=2)
    params = {**_create_params(card), "capture_method": "manual"}
    first = client.v1.payment_intents.create(params=params)
    second = client.v1.payment_intents.create(params=params)
    assert first.status == "requires_capture"  # create does not match the path
    assert client.v1.payment_intents.capture(first.id).status == "succeeded"
    with pytest.raises(stripe.APIError):
        client.v1.payment_intents.capture(second.id)
    assert client.v1.payment_intents.retrieve(second.id).status == "requires_capture"
    assert client.v1.payment_intents.capture(second.id).status == "succeeded"


def test_times_and_reset_by_flush(base_url, client, card, fault):
    fault("http_500", "GET", "/v1/payment_intents", times=2)
    for _attempt in range(2):
        with pytest.raises(stripe.APIError):
            _intents(client)
    assert _intents(client) == []
    fault("reset", "*", "/v1/*")
    requests.delete(f"{base_url}/_config/data", timeout=5).raise_for_status()
    assert _fired(base_url) == {"armed": [], "fired": []}
    assert _intents(client) == []


def test_bad_fault_refused(base_url):
    response = requests.post(
        f"{base_url}/_config/faults",
        json={"kind": "meteor", "path": "/v1/charges"},
        timeout=5,
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "kind"
