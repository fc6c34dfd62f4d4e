"""Extended and incremental authorization on card holds (``flexible.py``)."""

import pytest
import requests
import stripe

from .conftest import API_KEY

FLEXIBLE = {
    "payment_method_options": {
        "card": {
            "request_extended_authorization": "if_available",
            "request_incremental_authorization": "if_available",
        }
    },
    "expand": ["latest_charge"],
}
DAY = 24 * 3600


def _card_details(intent):
    return intent.latest_charge.payment_method_details.card


def _switch(base_url, **values):
    response = requests.post(
        f"{base_url}/_config/flexible_acquiring", json=values, timeout=5
    )
    response.raise_for_status()
    return response.json()


def test_standard_hold_lasts_seven_days(authorized):
    intent = authorized(expand=["latest_charge"])
    card = _card_details(intent)
    assert card.capture_before == intent.latest_charge.created + 7 * DAY
    assert card.extended_authorization.status == "disabled"
    assert card.incremental_authorization.status == "unavailable"
    assert card.last4 == "4242"


def test_extended_and_incremental_when_requested(authorized):
    intent = authorized(**FLEXIBLE)
    card = _card_details(intent)
    assert card.capture_before == intent.latest_charge.created + 30 * DAY
    assert card.extended_authorization.status == "enabled"
    assert card.incremental_authorization.status == "available"


def test_a_charge_has_no_hold_expiry(client, card):
    intent = client.v1.payment_intents.create(
        params={
            "amount": 5000,
            "currency": "eur",
            "payment_method": card().id,
            "allowed_payment_method_types": ["card"],
            "confirm": True,
            **FLEXIBLE,
        }
    )
    assert intent.status == "succeeded"
    assert _card_details(intent).capture_before is None


def test_bad_request_option_is_refused(base_url, client):
    # Sent without the SDK, whose contract check would stop it first.
    option = "payment_method_options[card][request_extended_authorization]"
    response = requests.post(
        f"{base_url}/v1/payment_intents",
        data={"amount": 5000, "currency": "eur", option: "always"},
        auth=(API_KEY, ""),
        timeout=5,
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == option
    assert not client.v1.payment_intents.list().data


def test_increment_raises_the_hold(authorized, client):
    intent = authorized(amount=10000, **FLEXIBLE)
    raised = client.v1.payment_intents.increment_authorization(
        intent.id,
        params={"amount": 15000, "expand": ["latest_charge"]},
        options={"idempotency_key": "raise-1"},
    )
    assert raised.object == "payment_intent"
    assert raised.status == "requires_capture"
    assert raised.amount == 15000
    assert raised.amount_capturable == 15000
    assert raised.latest_charge.amount == 15000
    captured = client.v1.payment_intents.capture(intent.id)
    assert captured.amount_received == 15000


def test_increment_is_refused_on_a_hold_that_does_not_allow_it(
    authorized, client, base_url
):
    plain = authorized(amount=10000)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_intents.increment_authorization(
            plain.id, params={"amount": 15000}
        )
    _switch(base_url, incremental_authorization="unavailable")
    refused = authorized(amount=10000, **FLEXIBLE)
    assert _card_details(refused).incremental_authorization.status == "unavailable"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_intents.increment_authorization(
            refused.id, params={"amount": 15000}
        )
    assert client.v1.payment_intents.retrieve(refused.id).amount == 10000


def test_increment_must_raise(authorized, client):
    intent = authorized(amount=10000, **FLEXIBLE)
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.payment_intents.increment_authorization(
            intent.id, params={"amount": 10000}
        )
    assert error.value.param == "amount"


def test_declined_increment_leaves_the_hold(authorized, client, base_url):
    intent = authorized(amount=10000, **FLEXIBLE)
    _switch(base_url, increments="decline")
    with pytest.raises(stripe.CardError) as error:
        client.v1.payment_intents.increment_authorization(
            intent.id, params={"amount": 15000}
        )
    assert error.value.code == "card_declined"
    kept = client.v1.payment_intents.retrieve(intent.id)
    assert (kept.status, kept.amount) == ("requires_capture", 10000)


def test_extension_refused_by_the_card(authorized, base_url):
    _switch(base_url, extended_authorization="unavailable")
    intent = authorized(**FLEXIBLE)
    card = _card_details(intent)
    assert card.extended_authorization.status == "disabled"
    assert card.capture_before == intent.latest_charge.created + 7 * DAY


def test_increment_after_capture_is_refused(authorized, client):
    intent = authorized(amount=10000, **FLEXIBLE)
    client.v1.payment_intents.capture(intent.id)
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.payment_intents.increment_authorization(
            intent.id, params={"amount": 15000}
        )
    assert error.value.code == "payment_intent_unexpected_state"


def test_data_reset_restores_the_switch(client, base_url):
    _switch(base_url, increments="decline")
    requests.delete(f"{base_url}/_config/data", timeout=5).raise_for_status()
    shown = requests.get(f"{base_url}/_config/flexible_acquiring", timeout=5).json()
    assert shown == {
        "extended_authorization": "available",
        "incremental_authorization": "available",
        "increments": "approve",
    }
