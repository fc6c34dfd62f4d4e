# Part of clock_stripe_payment. License LGPL-3.
"""Pure helpers: no database, no Stripe."""

import json
from datetime import datetime, timedelta, timezone

import stripe

from odoo.tests import tagged
from odoo.tests.common import BaseCase

from .. import const, utils


@tagged("post_install", "-at_install")
class TestMinorUnits(BaseCase):
    def test_two_decimal_currency_is_sent_in_cents(self):
        self.assertEqual(utils.to_minor_units(12.34, "EUR"), 1234)
        self.assertEqual(utils.to_minor_units(1111.11, "eur"), 111111)
        self.assertEqual(utils.to_minor_units(0.1 + 0.2, "USD"), 30)
        self.assertEqual(utils.to_minor_units(10.005, "EUR"), 1001)  # half-up

    def test_zero_decimal_currency_is_sent_as_is(self):
        self.assertEqual(utils.to_minor_units(5000, "JPY"), 5000)
        self.assertEqual(utils.to_minor_units(4999.5, "JPY"), 5000)
        self.assertEqual(utils.from_minor_units(5000, "JPY"), 5000.0)

    def test_three_decimal_currency_ends_with_zero(self):
        self.assertEqual(utils.to_minor_units(12.345, "KWD"), 12350)
        self.assertEqual(utils.to_minor_units(12.344, "KWD"), 12340)
        self.assertEqual(utils.to_minor_units(1, "KWD"), 1000)
        self.assertEqual(utils.to_minor_units(12.345, "KWD") % 10, 0)
        self.assertEqual(utils.from_minor_units(12350, "KWD"), 12.35)

    def test_isk_is_two_decimal_with_zero_decimals(self):
        self.assertEqual(utils.to_minor_units(1234.56, "ISK"), 123500)

    def test_round_trip(self):
        for amount, code in ((99.99, "EUR"), (7, "JPY"), (1.23, "BHD")):
            minor = utils.to_minor_units(amount, code)
            self.assertEqual(
                utils.to_minor_units(utils.from_minor_units(minor, code), code), minor
            )

    def test_prorated_share(self):
        # 25 of a 100 USD payment settled as 80 EUR is 20 EUR.
        self.assertEqual(utils.prorate_minor(25, 100, 8000), 2000)
        self.assertEqual(utils.prorate_minor(100, 100, 8000), 8000)
        self.assertEqual(utils.prorate_minor(200, 100, 8000), 8000)  # bounded
        self.assertEqual(utils.prorate_minor(1, 3, 1000), 333)
        # Three-decimal currencies go by steps of 10: 1/3 of 10.000 KWD.
        self.assertEqual(utils.prorate_minor(1, 3, 10000, step=10), 3330)
        self.assertEqual(utils.prorate_minor(2, 3, 10000, step=10), 6670)

    def test_amounts_on_stripes_step(self):
        self.assertEqual(utils.minor_step("KWD"), 10)
        self.assertEqual(utils.minor_step("ISK"), 100)
        self.assertEqual(utils.minor_step("EUR"), 1)
        self.assertTrue(utils.is_on_minor_step(12.34, "KWD"))
        self.assertFalse(utils.is_on_minor_step(12.345, "KWD"))
        self.assertFalse(utils.is_on_minor_step(12.3401, "KWD"))
        self.assertTrue(utils.is_on_minor_step(12.34, "EUR"))
        self.assertFalse(utils.is_on_minor_step(12.345, "EUR"))
        self.assertFalse(utils.is_on_minor_step(1234.5, "ISK"))
        self.assertEqual(utils.round_to_minor_step(12.345, "KWD"), 12.35)

    def test_computed_amounts_go_down_to_stripes_step(self):
        """A deposit or balance computed to Odoo's 0.001 is asked as Stripe
        takes it, never above what was computed."""
        for amount, code, expected in (
            (6.863, "KWD", 6.86),  # 15% of 45.750 KWD
            (45.759, "BHD", 45.75),
            (12.34, "KWD", 12.34),
            (12.349, "EUR", 12.34),
            (12.34, "EUR", 12.34),
            (1234.56, "ISK", 1234.0),
            (5000.7, "JPY", 5000),
            (0.0, "KWD", 0.0),
        ):
            with self.subTest(amount=amount, currency=code):
                floored = utils.floor_to_minor_step(amount, code)
                self.assertEqual(floored, expected)
                self.assertTrue(utils.is_on_minor_step(floored, code))


@tagged("post_install", "-at_install")
class TestMinimumsAndCurrencies(BaseCase):
    def test_minimum_charge_amounts(self):
        self.assertTrue(utils.is_below_minimum(0.49, "EUR"))
        self.assertFalse(utils.is_below_minimum(0.50, "EUR"))
        self.assertTrue(utils.is_below_minimum(49, "JPY"))
        self.assertFalse(utils.is_below_minimum(50, "JPY"))
        self.assertTrue(utils.is_below_minimum(0.29, "GBP"))
        # No published minimum: not refused here.
        self.assertFalse(utils.is_below_minimum(0.01, "KWD"))

    def test_supported_currencies(self):
        self.assertTrue(utils.is_supported_currency("eur"))
        self.assertTrue(utils.is_supported_currency("KWD"))
        self.assertFalse(utils.is_supported_currency("IRR"))
        self.assertFalse(utils.is_supported_currency(None))


@tagged("post_install", "-at_install")
class TestKeys(BaseCase):
    def test_idempotency_key_is_stable_per_reference_and_operation(self):
        key = utils.idempotency_key("db-1", "S00042", const.OPERATION_CAPTURE)
        self.assertEqual(
            key, utils.idempotency_key("db-1", "S00042", const.OPERATION_CAPTURE)
        )
        self.assertTrue(key.startswith("clock-stripe-capture-"))
        self.assertLessEqual(len(key), 255)
        others = {
            utils.idempotency_key("db-1", "S00042", const.OPERATION_REFUND),
            utils.idempotency_key("db-1", "S00043", const.OPERATION_CAPTURE),
            utils.idempotency_key("db-2", "S00042", const.OPERATION_CAPTURE),
        }
        self.assertNotIn(key, others)
        self.assertEqual(len(others), 3)
        with self.assertRaises(ValueError):
            utils.idempotency_key("db-1", "", const.OPERATION_CAPTURE)

    def test_key_modes(self):
        self.assertEqual(utils.key_mode("sk_test_123"), "test")
        self.assertEqual(utils.key_mode("pk_live_123"), "live")
        self.assertEqual(utils.key_mode("rk_live_123"), "live")
        self.assertIsNone(utils.key_mode("whatever"))
        self.assertTrue(utils.is_secret_key("sk_test_1"))
        self.assertFalse(utils.is_secret_key("pk_test_1"))

    def test_secrets_are_masked(self):
        masked = utils.mask_secret("sk_test_abcdefghijkl")
        self.assertEqual(masked, "sk_test_…ijkl")
        self.assertNotIn("abcdefgh", masked)

    def test_api_base_is_stripes_when_empty(self):
        self.assertEqual(utils.normalize_api_base(""), "https://api.stripe.com")
        self.assertEqual(
            utils.normalize_api_base(" http://127.0.0.1:8420/ "),
            "http://127.0.0.1:8420",
        )


@tagged("post_install", "-at_install")
class TestCardRules(BaseCase):
    def _pm(self, brand="visa", cvc_check=None, address=None):
        card = {"brand": brand, "last4": "4242"}
        if cvc_check is not None:
            card["checks"] = {"cvc_check": cvc_check}
        return {"id": "pm_x", "card": card, "billing_details": {"address": address}}

    def test_brand(self):
        self.assertIsNone(utils.card_rule_violation(self._pm(), allowed_brands=[]))
        self.assertIsNone(
            utils.card_rule_violation(self._pm(), allowed_brands=["visa"])
        )
        self.assertEqual(
            utils.card_rule_violation(self._pm(), allowed_brands=["mastercard"]),
            "brand",
        )

    def test_cvc_only_a_failed_check_refuses(self):
        for check in (None, "pass", "unavailable", "unchecked"):
            self.assertIsNone(
                utils.card_rule_violation(self._pm(cvc_check=check), require_cvc=True)
            )
        self.assertEqual(
            utils.card_rule_violation(self._pm(cvc_check="fail"), require_cvc=True),
            "cvc",
        )
        self.assertIsNone(
            utils.card_rule_violation(self._pm(cvc_check="fail"), require_cvc=False)
        )

    def test_address(self):
        full = {"line1": "x", "country": "BG", "postal_code": "1000"}
        self.assertIsNone(
            utils.card_rule_violation(self._pm(address=full), require_address=True)
        )
        for missing in ("line1", "country"):
            address = dict(full, **{missing: None})
            self.assertEqual(
                utils.card_rule_violation(
                    self._pm(address=address), require_address=True
                ),
                "address",
            )
        self.assertEqual(
            utils.card_rule_violation(self._pm(address=None), require_address=True),
            "address",
        )


@tagged("post_install", "-at_install")
class TestVirtualCardRule(BaseCase):
    def test_not_before_the_activation(self):
        active_from = datetime(2030, 1, 2)
        refusal = utils.virtual_card_refusal
        self.assertEqual(
            refusal(active_from - timedelta(seconds=1), active_from, 0, 0, 10),
            "inactive",
        )
        self.assertIsNone(refusal(active_from, active_from, 0, 0, 10))
        self.assertIsNone(refusal(active_from, None, 0, 0, 10))

    def test_not_above_the_loaded_amount(self):
        now = datetime(2030, 1, 2)
        refusal = utils.virtual_card_refusal
        self.assertIsNone(refusal(now, None, 150.0, 100.0, 50.0))
        self.assertIsNone(refusal(now, None, 0.3, 0.1, 0.2))  # no float noise
        self.assertEqual(refusal(now, None, 150.0, 100.0, 50.01), "over_loaded")
        self.assertEqual(refusal(now, None, 150.0, 0.0, 150.01), "over_loaded")
        self.assertIsNone(refusal(now, None, 0.0, 1000.0, 50.0), "amount unknown")
        self.assertIsNone(refusal(now, None, 100, 60, 40.4, rounding=1))


@tagged("post_install", "-at_install")
class TestHoldsAndSignatures(BaseCase):
    def test_hold_expiry(self):
        def utc(timestamp):
            return datetime.fromtimestamp(timestamp, tz=timezone.utc).replace(
                tzinfo=None
            )

        created = 1893499200  # 2030-01-01 12:00 UTC
        capture_before = created + 4 * 86400
        self.assertEqual(
            utils.hold_expiry(capture_before=capture_before, created=created),
            utc(capture_before),
        )
        self.assertEqual(
            utils.hold_expiry(created=created), utc(created) + timedelta(days=7)
        )

    def test_hold_terms_are_read_from_the_charge(self):
        created = 1893499200
        charge = {
            "created": created,
            "payment_method_details": {
                "card": {
                    "capture_before": created + 30 * 86400,
                    "extended_authorization": {"status": "enabled"},
                    "incremental_authorization": {"status": "available"},
                }
            },
        }
        terms = utils.hold_terms({"created": created, "latest_charge": charge})
        self.assertEqual(
            terms["expires_at"], datetime(2030, 1, 31, 12, 0), "Stripe's date"
        )
        self.assertTrue(terms["extended"])
        self.assertTrue(terms["incrementable"])
        self.assertTrue(terms["known"])
        named = utils.hold_terms({"created": created, "latest_charge": "ch_1"})
        self.assertEqual(named["expires_at"], datetime(2030, 1, 8, 12, 0))
        self.assertFalse(named["extended"] or named["incrementable"] or named["known"])

    def test_signature_header_is_what_stripe_verifies(self):
        payload = json.dumps({"id": "evt_1", "object": "event", "type": "x"})
        header = utils.webhook_signature_header(payload, "whsec_abc")
        event = stripe.Webhook.construct_event(payload, header, "whsec_abc")
        self.assertEqual(event.id, "evt_1")
        with self.assertRaises(stripe.SignatureVerificationError):
            stripe.Webhook.construct_event(payload, header, "whsec_other")
        old = utils.webhook_signature_header(payload, "whsec_abc", timestamp=1000)
        with self.assertRaises(stripe.SignatureVerificationError):
            stripe.Webhook.construct_event(payload, old, "whsec_abc", tolerance=300)
