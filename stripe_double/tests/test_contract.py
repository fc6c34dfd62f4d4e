"""The contract check of stripe_double/contract.py: it finds what the pinned API
version does not take, and it lets valid requests through."""

from unittest import mock

import pytest
import stripe

from stripe_double import contract

CARD_PAYMENT = {
    "amount": 1000,
    "currency": "eur",
    "customer": "cus_1",
    "payment_method": "pm_1",
    "allowed_payment_method_types": ["card"],
    "capture_method": "manual",
    "confirm": True,
    "off_session": False,
    "metadata": {"odoo_reference": "S1"},
    "expand": ["latest_charge", "payment_method"],
}


@pytest.fixture(scope="module")
def recorder():
    return contract.install()


@pytest.fixture
def client():
    # Nothing may leave: any request that passes the check fails on this address.
    return stripe.StripeClient(
        "sk_test_contract",
        base_addresses={"api": "http://127.0.0.1:9"},
        max_network_retries=0,
    )


def test_payment_method_types_on_a_payment_intent_create_is_caught(recorder, client):
    """Endive removed it (changelog 2026-09-30): the check names operation and key,
    and nothing is sent."""
    params = dict(CARD_PAYMENT, payment_method_types=["card"])
    with (
        mock.patch.object(stripe.RequestsClient, "request") as request,
        recorder.expecting_violations(),
        pytest.raises(contract.StripeContractViolation) as caught,
    ):
        client.v1.payment_intents.create(params=params)
    message = str(caught.value)
    assert "payment_intents.create" in message
    assert "params.payment_method_types: unknown parameter" in message
    request.assert_not_called()


def test_a_violation_is_recorded_for_the_report():
    recorder = contract.ContractRecorder()
    with pytest.raises(contract.StripeContractViolation):
        recorder.check(
            "setup_intents.create",
            stripe.params.SetupIntentCreateParams,
            {"payment_method_types": ["card"]},
        )
    report = recorder.report()
    assert report["checked"] == {"setup_intents.create": 1}
    assert report["violations"] == [
        {
            "operation": "setup_intents.create",
            "problem": "params.payment_method_types: unknown parameter",
        }
    ]


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"capture_method": "later"}, "params.capture_method: 'later' is not one of"),
        ({"amount": "1000"}, "params.amount: expected int, got '1000'"),
        ({"confirm": 1}, "params.confirm: expected bool, got 1"),
        ({"metadata": {"k": 5}}, "params.metadata['k']: expected str, got 5"),
        ({"idempotency_key": "k"}, "params.idempotency_key: a request option"),
    ],
)
def test_wrong_types_enums_and_options_are_caught(params, problem):
    violations = contract.check_typed_dict(
        dict(CARD_PAYMENT, **params), stripe.params.PaymentIntentCreateParams
    )
    assert any(v.startswith(problem) for v in violations), violations


def test_a_missing_required_parameter_is_caught():
    params = {k: v for k, v in CARD_PAYMENT.items() if k != "currency"}
    assert contract.check_typed_dict(
        params, stripe.params.PaymentIntentCreateParams
    ) == ["params.currency: required parameter missing"]


def test_valid_requests_pass():
    assert (
        contract.check_typed_dict(CARD_PAYMENT, stripe.params.PaymentIntentCreateParams)
        == []
    )
    # Literal['']|str is "empty to unset", not an enum: any text is fine.
    assert (
        contract.check_typed_dict(
            {
                "url": "https://hotel.test/hook",
                "enabled_events": ["*"],
                "description": "Odoo",
            },
            stripe.params.WebhookEndpointCreateParams,
        )
        == []
    )


def test_every_service_method_with_params_is_wrapped(recorder):
    operations = {
        contract.operation_name(service, name)
        for service, name, _type in contract.service_operations()
    }
    assert {
        "payment_intents.create",
        "payment_intents.capture",
        "payment_intents.cancel",
        "payment_intents.list",
        "setup_intents.create",
        "refunds.create",
        "checkout.sessions.create",
        "webhook_endpoints.create",
        "accounts.retrieve_current",
    } <= operations
    assert stripe.PaymentIntentService.create.__stripe_contract__
    assert stripe.checkout.SessionService.create.__stripe_contract__
