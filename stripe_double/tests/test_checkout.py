"""Checkout Sessions and the hosted-page stand-in."""

import time

import pytest
import requests
import stripe


@pytest.fixture
def session(client):
    def make(**params):
        return client.v1.checkout.sessions.create(
            params={
                "mode": "payment",
                "line_items": [
                    {
                        "quantity": 2,
                        "price_data": {
                            "currency": "eur",
                            "unit_amount": 6000,
                            "product_data": {"name": "Room night"},
                        },
                    }
                ],
                "success_url": "https://hotel.example/ok?session={CHECKOUT_SESSION_ID}",
                "cancel_url": "https://hotel.example/cancel",
                "client_reference_id": "S0042",
                "customer_email": "guest@example.com",
                "metadata": {"reference": "S0042"},
                "payment_intent_data": {"metadata": {"reference": "S0042"}},
                "allowed_payment_method_types": ["card", "bancontact"],
                "excluded_payment_method_types": ["bancontact"],
                "expires_at": int(time.time()) + 3600,
                "locale": "fr",
                **params,
            }
        )

    return make


def test_create(session, base_url):
    created = session()
    assert isinstance(created, stripe.checkout.Session)
    assert created.id.startswith("cs_test_")
    assert created.url == f"{base_url}/checkout/pay/{created.id}"
    assert created.status == "open"
    assert created.payment_status == "unpaid"
    assert created.amount_total == 12000
    assert created.currency == "eur"
    assert created.payment_intent is None
    assert created.payment_method_types == ["card"]
    assert created.client_reference_id == "S0042"
    assert created.customer_email == "guest@example.com"
    assert created.metadata.to_dict() == {"reference": "S0042"}
    assert created.livemode is False
    assert created.mode == "payment"


def test_pay_on_the_hosted_page(client, session):
    created = session()
    page = requests.get(created.url, timeout=5)
    assert page.status_code == 200
    assert "120.00 EUR" in page.text
    assert f'action="/checkout/pay/{created.id}/complete"' in page.text
    answer = requests.post(f"{created.url}/complete", allow_redirects=False, timeout=5)
    assert answer.status_code == 303
    assert answer.headers["Location"] == (
        f"https://hotel.example/ok?session={created.id}"
    )
    paid = client.v1.checkout.sessions.retrieve(
        created.id, params={"expand": ["payment_intent"]}
    )
    assert paid.status == "complete"
    assert paid.payment_status == "paid"
    intent = paid.payment_intent
    assert isinstance(intent, stripe.PaymentIntent)
    assert intent.status == "succeeded"
    assert intent.amount == intent.amount_received == 12000
    assert intent.metadata.to_dict() == {"reference": "S0042"}
    assert isinstance(intent.latest_charge, str)
    plain = client.v1.checkout.sessions.retrieve(created.id)
    assert plain.payment_intent == intent.id
    events = client.v1.events.list(params={"type": "checkout.session.completed"})
    assert [e.data.object.id for e in events.data] == [created.id]
    assert events.data[0].data.object.payment_intent == intent.id
    again = requests.post(f"{created.url}/complete", allow_redirects=False, timeout=5)
    assert again.status_code == 400


def test_cancel_keeps_the_session_open(client, session):
    created = session()
    answer = requests.post(f"{created.url}/cancel", allow_redirects=False, timeout=5)
    assert answer.status_code == 303
    assert answer.headers["Location"] == "https://hotel.example/cancel"
    assert client.v1.checkout.sessions.retrieve(created.id).status == "open"


def test_expire(client, session):
    created = session()
    expired = client.v1.checkout.sessions.expire(created.id)
    assert expired.status == "expired"
    assert expired.url is None
    events = client.v1.events.list(params={"type": "checkout.session.expired"})
    assert [e.data.object.id for e in events.data] == [created.id]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.expire(created.id)
    page = requests.get(created.url, timeout=5)
    assert "expired" in page.text and "/complete" not in page.text


def test_create_is_validated(session):
    with pytest.raises(stripe.InvalidRequestError) as error:
        session(expires_at=int(time.time()) + 60)
    assert error.value.param == "expires_at"
    with pytest.raises(stripe.InvalidRequestError) as error:
        session(mode="subscription")
    assert error.value.param == "mode"
