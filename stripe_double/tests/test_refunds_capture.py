"""Refunds bounded by the charge, and partial capture shown as Stripe shows it."""

import pytest
import stripe


def test_refund_of_an_uncaptured_payment_is_refused(authorized, client):
    intent = authorized()
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.refunds.create(params={"payment_intent": intent.id})
    assert error.value.http_status == 400
    assert error.value.code == "charge_not_refundable"


def test_refund_bounds(authorized, client):
    intent = authorized(amount=10000)
    client.v1.payment_intents.capture(intent.id)
    client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 5000})
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 6000})
    assert error.value.code == "amount_too_large"
    assert error.value.param == "amount"
    rest = client.v1.refunds.create(params={"payment_intent": intent.id})
    assert rest.amount == 5000
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 1})
    assert error.value.code == "charge_already_refunded"
    charge = client.v1.charges.retrieve(
        client.v1.payment_intents.retrieve(intent.id).latest_charge
    )
    assert charge.amount_refunded == 10000
    assert charge.refunded is True


def test_partial_capture_shape(authorized, client):
    intent = authorized(amount=10000)
    assert intent.amount_capturable == 10000
    assert intent.amount_received == 0
    captured = client.v1.payment_intents.capture(
        intent.id, params={"amount_to_capture": 6000, "expand": ["latest_charge"]}
    )
    assert captured.status == "succeeded"
    assert captured.amount == 10000
    assert captured.amount_received == 6000
    assert captured.amount_capturable == 0
    charge = captured.latest_charge
    assert isinstance(charge, stripe.Charge)
    assert charge.amount_captured == 6000
    assert charge.amount_refunded == 0
    assert charge.refunded is False
    assert client.v1.refunds.list(params={"payment_intent": intent.id}).data == []
    assert client.v1.refunds.list().data == []
    refund = client.v1.refunds.create(params={"payment_intent": intent.id})
    assert refund.amount == 6000
    listed = client.v1.refunds.list(params={"payment_intent": intent.id})
    assert [r.id for r in listed.data] == [refund.id]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 1})
    assert client.v1.charges.retrieve(charge.id).amount_refunded == 6000


def test_capture_above_the_authorization_is_refused(authorized, client):
    intent = authorized(amount=1000)
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.payment_intents.capture(intent.id, params={"amount_to_capture": 2000})
    assert error.value.param == "amount_to_capture"
