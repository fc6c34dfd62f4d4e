"""SetupIntent confirm and cancel as Stripe has them: a declined card leaves the
intent open for another card, a canceled or succeeded intent takes no card."""

import pytest
import requests
import stripe

DECLINED = "4000000000000002"
UNEXPECTED_STATE = "setup_intent_unexpected_state"


def _confirm(client, intent, method):
    return client.v1.setup_intents.confirm(
        intent.id, params={"payment_method": method.id}
    )


def test_a_declined_card_leaves_the_intent_open_for_another_card(client, card):
    intent = client.v1.setup_intents.create()
    with pytest.raises(stripe.CardError) as error:
        _confirm(client, intent, card(DECLINED))
    assert error.value.code == "card_declined"
    failed = client.v1.setup_intents.retrieve(intent.id)
    assert failed.status == "requires_payment_method"
    assert failed.payment_method is None
    assert failed.last_setup_error.code == "card_declined"
    assert failed.last_setup_error.message == "Your card was declined."
    assert _confirm(client, intent, card()).status == "succeeded"
    assert client.v1.setup_intents.retrieve(intent.id).last_setup_error is None


def test_a_canceled_intent_takes_no_card(client, card):
    intent = client.v1.setup_intents.create()
    with pytest.raises(stripe.CardError):
        _confirm(client, intent, card(DECLINED))
    canceled = client.v1.setup_intents.cancel(
        intent.id, params={"cancellation_reason": "abandoned"}
    )
    assert canceled.status == "canceled"
    assert canceled.cancellation_reason == "abandoned"
    with pytest.raises(stripe.InvalidRequestError) as error:
        _confirm(client, intent, card())
    assert error.value.code == UNEXPECTED_STATE
    assert "status of canceled" in error.value.user_message
    assert client.v1.setup_intents.retrieve(intent.id).status == "canceled"


def test_a_succeeded_intent_cannot_be_canceled_or_confirmed_again(client, card):
    intent = client.v1.setup_intents.create()
    _confirm(client, intent, card())
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.setup_intents.cancel(intent.id)
    assert error.value.code == UNEXPECTED_STATE
    with pytest.raises(stripe.InvalidRequestError) as error:
        _confirm(client, intent, card())
    assert error.value.code == UNEXPECTED_STATE
    assert client.v1.setup_intents.retrieve(intent.id).status == "succeeded"


def test_stripe_js_cannot_confirm_a_canceled_intent(base_url, client):
    """The browser's confirmCardSetup (publishable key and client secret), after
    the server canceled the intent."""
    intent = client.v1.setup_intents.create()
    client.v1.setup_intents.cancel(intent.id)
    response = requests.post(
        f"{base_url}/v1/setup_intents/{intent.id}/confirm",
        json={
            "key": "pk_test_x",
            "client_secret": intent.client_secret,
            "payment_method_data": {
                "type": "card",
                "card": {
                    "number": "4242424242424242",
                    "exp_month": 12,
                    "exp_year": 2034,
                    "cvc": "123",
                },
            },
        },
        timeout=5,
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == UNEXPECTED_STATE
