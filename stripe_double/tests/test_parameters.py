"""Pinned-version request parameters: translated, remembered and echoed, or refused."""

import pytest
import stripe

ENDIVE_CODE = "payment_method_types_no_longer_supported"


def test_payment_intent_create_takes_the_endive_parameters(client, card):
    customer = client.v1.customers.create(params={"name": "Guest"})
    method = card(customer=customer.id)
    intent = client.v1.payment_intents.create(
        params={
            "amount": 5000,
            "currency": "eur",
            "customer": customer.id,
            "payment_method": method.id,
            "allowed_payment_method_types": ["card", "bancontact"],
            "excluded_payment_method_types": ["bancontact"],
            "description": "Folio 42",
            "setup_future_usage": "off_session",
            "return_url": "https://hotel.example/return",
            "receipt_email": "guest@example.com",
            "statement_descriptor": "HOTEL CLOCK",
            "statement_descriptor_suffix": "F42",
            "use_stripe_sdk": True,
            "error_on_requires_action": True,
            "payment_method_options": {"card": {"request_three_d_secure": "any"}},
            "capture_method": "manual",
            "confirm": True,
            "metadata": {"reference": "F42"},
        }
    )
    assert intent.status == "requires_capture"
    assert intent.payment_method_types == ["card"]
    assert intent.allowed_payment_method_types == ["card", "bancontact"]
    assert intent.excluded_payment_method_types == ["bancontact"]
    assert intent.description == "Folio 42"
    assert intent.setup_future_usage == "off_session"
    assert intent.receipt_email == "guest@example.com"
    assert intent.statement_descriptor_suffix == "F42"
    assert intent.payment_method_options.card.request_three_d_secure == "any"
    assert intent.metadata.to_dict() == {"reference": "F42"}
    again = client.v1.payment_intents.retrieve(intent.id)
    assert again.description == "Folio 42"
    saved = client.v1.payment_methods.retrieve(method.id)
    assert saved.customer == customer.id


def test_automatic_payment_methods_are_echoed_as_booleans(client, card):
    intent = client.v1.payment_intents.create(
        params={
            "amount": 5000,
            "currency": "eur",
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
        }
    )
    assert intent.automatic_payment_methods.enabled is True
    assert intent.status == "requires_payment_method"
    assert intent.payment_method_types == ["card"]
    assert intent.setup_future_usage is None


def test_off_session_with_confirm_works(client, card):
    customer = client.v1.customers.create(params={"name": "Guest"})
    method = card(customer=customer.id)
    intent = client.v1.payment_intents.create(
        params={
            "amount": 2500,
            "currency": "eur",
            "customer": customer.id,
            "payment_method": method.id,
            "off_session": True,
            "confirm": True,
            "allowed_payment_method_types": ["card"],
        }
    )
    assert intent.status == "succeeded"
    assert intent.amount_received == 2500


def test_confirm_takes_payment_method_and_off_session(client, card):
    intent = client.v1.payment_intents.create(
        params={"amount": 700, "currency": "eur", "description": "later"}
    )
    confirmed = client.v1.payment_intents.confirm(
        intent.id,
        params={
            "payment_method": card().id,
            "off_session": True,
            "return_url": "https://hotel.example/r",
        },
    )
    assert confirmed.status == "succeeded"
    assert confirmed.description == "later"


def test_update_remembers_description(client):
    intent = client.v1.payment_intents.create(params={"amount": 900, "currency": "eur"})
    updated = client.v1.payment_intents.update(
        intent.id, params={"description": "Room 12", "amount": 950}
    )
    assert updated.description == "Room 12"
    assert updated.amount == 950


def test_cancel_echoes_cancellation_reason(authorized, client):
    intent = authorized()
    canceled = client.v1.payment_intents.cancel(
        intent.id, params={"cancellation_reason": "requested_by_customer"}
    )
    assert canceled.status == "canceled"
    assert canceled.cancellation_reason == "requested_by_customer"
    assert canceled.canceled_at
    assert canceled.amount_capturable == 0


def test_capture_after_cancel_is_refused(authorized, client):
    intent = authorized()
    client.v1.payment_intents.cancel(intent.id)
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.payment_intents.capture(intent.id)
    assert error.value.code == "payment_intent_unexpected_state"


def test_setup_intent_create_takes_the_endive_parameters(client, card):
    customer = client.v1.customers.create(params={"name": "Guest"})
    intent = client.v1.setup_intents.create(
        params={
            "customer": customer.id,
            "allowed_payment_method_types": ["card"],
            "automatic_payment_methods": {"enabled": False},
            "description": "Card guarantee",
            "usage": "off_session",
            "return_url": "https://hotel.example/r",
            "metadata": {"reference": "B7"},
        }
    )
    assert intent.payment_method_types == ["card"]
    assert intent.description == "Card guarantee"
    assert intent.usage == "off_session"
    assert intent.customer == customer.id
    confirmed = client.v1.setup_intents.confirm(
        intent.id, params={"payment_method": card().id}
    )
    assert confirmed.status == "succeeded"
    assert confirmed.description == "Card guarantee"


def test_refund_create_takes_reason_and_metadata(authorized, client):
    intent = authorized()
    client.v1.payment_intents.capture(intent.id)
    refund = client.v1.refunds.create(
        params={
            "payment_intent": intent.id,
            "amount": 1000,
            "reason": "requested_by_customer",
            "metadata": {"reference": "R1"},
        }
    )
    assert refund.reason == "requested_by_customer"
    assert refund.amount == 1000
    assert refund.payment_intent == intent.id
    assert refund.metadata.to_dict() == {"reference": "R1"}
    assert client.v1.refunds.retrieve(refund.id).reason == "requested_by_customer"


def _assert_refused(client, path, **params):
    """Send ``payment_method_types`` (removed by endive) with ``raw_request``: the
    typed services are for valid requests (see stripe_double/contract.py)."""
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.raw_request("post", path, payment_method_types=["card"], **params)
    assert error.value.http_status == 400
    assert error.value.code == ENDIVE_CODE
    assert error.value.param == "payment_method_types"


def test_payment_method_types_is_refused_like_endive(client):
    intent = client.v1.payment_intents.create(params={"amount": 100, "currency": "eur"})
    setup = client.v1.setup_intents.create()
    _assert_refused(client, "/v1/payment_intents", amount=100, currency="eur")
    _assert_refused(client, f"/v1/payment_intents/{intent.id}")
    _assert_refused(client, f"/v1/payment_intents/{intent.id}/confirm")
    _assert_refused(client, "/v1/setup_intents")
    _assert_refused(client, f"/v1/setup_intents/{setup.id}")
    _assert_refused(
        client,
        "/v1/checkout/sessions",
        mode="payment",
        success_url="https://hotel.example/ok",
        line_items=[
            {
                "quantity": 1,
                "price_data": {
                    "currency": "eur",
                    "unit_amount": 100,
                    "product_data": {"name": "Room"},
                },
            }
        ],
    )
