# Part of clock_stripe_payment. License LGPL-3.
"""What the addon sends to and reads from Stripe, against the SDK's own types.

The SDK (``stripe`` 16.x) is generated from Stripe's OpenAPI spec for the API
version the addon pins. Requests: ``scripts/test`` runs Odoo with the contract check
of ``stripe_double/contract.py`` on every SDK call; here it is shown to be on and to
catch a parameter endive removed. Answers: every field the addon reads is looked up
in the SDK's resource types.
"""

import typing
import unittest
from unittest.mock import patch

import stripe

from odoo.tests import tagged
from odoo.tests.common import BaseCase

from .. import const
from ..stripe_api import ClockStripeClient

try:
    from stripe_double import contract
except ImportError:  # Run outside scripts/test: the repository root is not on the path.
    contract = None

# Every field the addon reads from Stripe's answers, by resource type, as
# dotted paths through nested objects (stripe_api.py, models/payment_transaction*.py,
# models/payment_token.py, models/payment_provider.py, utils.py).
FIELDS_READ = {
    stripe.PaymentIntent: [
        "id",
        "object",
        "status",
        "amount",
        "amount_received",
        "customer",
        "payment_method",
        "latest_charge",
        "created",
        "client_secret",
        "cancellation_reason",
        "metadata",
        "last_payment_error.message",
        "last_payment_error.code",
    ],
    stripe.Charge: [
        "id",
        "created",
        "payment_intent",
        "refunds",
        "amount_refunded",
        "payment_method_details.card.capture_before",
    ],
    stripe.SetupIntent: [
        "id",
        "status",
        "client_secret",
        "payment_method",
        "metadata",
        "last_setup_error.message",
    ],
    stripe.Refund: ["id", "amount", "status", "failure_reason", "metadata"],
    stripe.PaymentMethod: [
        "id",
        "customer",
        "card.brand",
        "card.last4",
        "card.exp_month",
        "card.exp_year",
        "card.checks.cvc_check",
        "billing_details.address.line1",
        "billing_details.address.postal_code",
        "billing_details.address.city",
        "billing_details.address.country",
    ],
    stripe.checkout.Session: [
        "id",
        "url",
        "status",
        "payment_status",
        "payment_intent",
        "client_reference_id",
        "metadata",
    ],
    stripe.Event: ["id", "type", "data.object"],
    stripe.Account: ["id"],
    stripe.WebhookEndpoint: ["id", "secret"],
    stripe.Customer: ["id"],
}


def _annotation(cls, name):
    for klass in cls.__mro__:
        if name in vars(klass).get("__annotations__", {}):
            return vars(klass)["__annotations__"][name]
    return None


def _resource_class(annotation):
    """The SDK object class an annotation holds (through Optional, List, unions of
    an id and its object...), or None for a plain value."""
    if isinstance(annotation, str | typing.ForwardRef):
        name = getattr(annotation, "__forward_arg__", annotation)
        annotation = getattr(stripe, name, None) or getattr(stripe.checkout, name, None)
    if isinstance(annotation, type):
        return annotation if issubclass(annotation, stripe.StripeObject) else None
    for arg in typing.get_args(annotation):
        found = _resource_class(arg)
        if found is not None:
            return found
    return None


def missing_field(cls, path):
    """Return the first part of ``path`` the SDK type does not have, or None."""
    owner = cls
    for part in path.split("."):
        if owner is None:
            return part
        annotation = _annotation(owner, part)
        if annotation is None:
            return part
        owner = _resource_class(annotation)
    return None


@tagged("post_install", "-at_install")
class TestStripeContract(BaseCase):
    def test_the_pinned_version_is_the_sdks(self):
        """The pin, the SDK and its typed parameters are of one API version."""
        self.assertEqual(const.API_VERSION, stripe.api_version)

    def test_every_field_read_exists_in_the_sdk_types(self):
        for cls, paths in FIELDS_READ.items():
            for path in paths:
                with self.subTest(resource=cls.__name__, field=path):
                    self.assertIsNone(missing_field(cls, path))

    def test_the_inventory_check_can_fail(self):
        self.assertEqual(missing_field(stripe.PaymentIntent, "charges"), "charges")
        self.assertEqual(
            missing_field(stripe.Charge, "payment_method_details.card.nope"), "nope"
        )

    def test_contract_check_is_on_and_refuses_a_removed_parameter(self):
        """Run by scripts/test, every SDK call of the process is checked: a
        PaymentIntent create with ``payment_method_types`` (removed by endive)
        fails before anything is sent."""
        recorder = contract and contract.installed_recorder()
        if recorder is None:
            raise unittest.SkipTest("the Stripe contract check is not installed")
        sent = []
        original = stripe.PaymentIntentService.create

        def with_removed_parameter(service, params, options=None):
            return original(
                service, dict(params, payment_method_types=["card"]), options
            )

        client = ClockStripeClient("sk_test_contract", api_base="http://127.0.0.1:9")
        with (
            patch.object(
                stripe.RequestsClient, "request", lambda *a, **k: sent.append(a)
            ),
            patch.object(stripe.PaymentIntentService, "create", with_removed_parameter),
            recorder.expecting_violations(),
            self.assertRaisesRegex(
                contract.StripeContractViolation,
                r"payment_intents\.create .*payment_method_types: unknown parameter",
            ),
        ):
            client.create_payment_intent(
                amount=1000,
                currency="eur",
                customer_id="cus_1",
                payment_method_id="pm_1",
                reference="S1",
                idempotency_key="key-1",
            )
        self.assertEqual(sent, [], "Nothing may be sent once the check refuses.")
        self.assertTrue(getattr(original, "__stripe_contract__", False))
