# Part of clock_stripe_payment. License LGPL-3.

import json
from unittest.mock import patch

from odoo.exceptions import ValidationError
from odoo.tests import tagged
from odoo.tools import file_open, mute_logger

from .. import const
from .common import (
    PUBLISHABLE_KEY,
    SECRET_KEY,
    STRIPE_ACCOUNT_ID,
    STRIPE_DOUBLE_URL,
    ClockStripeCommon,
)


@tagged("post_install", "-at_install")
class TestProviderConfiguration(ClockStripeCommon):
    def _new_provider(self, **values):
        return self.env["payment.provider"].create(
            {
                "name": "Stripe (hotel) second",
                "code": "clock_stripe",
                "clock_stripe_api_base": STRIPE_DOUBLE_URL,
                **values,
            }
        )

    def test_valid_test_key_switches_to_test_and_publishes(self):
        provider = self._new_provider()
        self.assertEqual(provider.state, "disabled")
        provider.write(
            {
                "clock_stripe_secret_key": "sk_test_another",
                "clock_stripe_publishable_key": "pk_test_another",
            }
        )
        self.assertEqual(provider.state, "test")
        self.assertTrue(provider.is_published)

    def test_valid_live_key_switches_to_enabled(self):
        provider = self._new_provider()
        provider.write(
            {
                "clock_stripe_secret_key": "sk_live_another",
                "clock_stripe_publishable_key": "pk_live_another",
            }
        )
        self.assertEqual(provider.state, "enabled")
        self.assertTrue(provider.is_published)

    def test_key_refused_by_stripe_names_the_secret_key_and_saves_nothing(self):
        # localstripe answers 401 to any key that is not an sk_ key.
        with mute_logger("odoo.addons.clock_stripe_payment.stripe_api"):
            with self.assertRaisesRegex(ValidationError, "Secret key: Stripe refused"):
                self.provider.write({"clock_stripe_secret_key": "rk_test_revoked"})
        self.assertEqual(self.provider.sudo().clock_stripe_secret_key, SECRET_KEY)
        self.assertEqual(self.provider.state, "test")

    def test_not_a_secret_key(self):
        with self.assertRaisesRegex(ValidationError, "Secret key"):
            self.provider.write({"clock_stripe_secret_key": PUBLISHABLE_KEY})
        self.assertEqual(self.provider.sudo().clock_stripe_secret_key, SECRET_KEY)

    def test_mixed_test_and_live_keys_are_refused(self):
        with self.assertRaisesRegex(
            ValidationError, "Publishable key: .*cannot be mixed"
        ):
            self.provider.write({"clock_stripe_publishable_key": "pk_live_oops"})
        self.assertEqual(self.provider.clock_stripe_publishable_key, PUBLISHABLE_KEY)
        with self.assertRaisesRegex(ValidationError, "Publishable key"):
            self.provider.write(
                {
                    "clock_stripe_secret_key": "sk_live_oops",
                    "clock_stripe_publishable_key": PUBLISHABLE_KEY,
                }
            )
        self.assertEqual(self.provider.sudo().clock_stripe_secret_key, SECRET_KEY)
        self.assertEqual(self.provider.state, "test")

    def test_invalid_account_id(self):
        with self.assertRaisesRegex(ValidationError, "Account ID"):
            self.provider.write({"clock_stripe_account_id": "1234"})
        # Saving the keys filled in the account the key belongs to.
        self.assertEqual(self.provider.clock_stripe_account_id, STRIPE_ACCOUNT_ID)

    def test_account_id_of_another_account_is_refused(self):
        """The key's account is read from /v1/account: another id is refused."""
        with self.assertRaisesRegex(
            ValidationError, f"Account ID: .*{STRIPE_ACCOUNT_ID}, not to acct_other"
        ):
            self.provider.write({"clock_stripe_account_id": "acct_other"})
        self.assertEqual(self.provider.clock_stripe_account_id, STRIPE_ACCOUNT_ID)
        provider = self._new_provider()
        keys = {
            "clock_stripe_secret_key": "sk_test_another",
            "clock_stripe_publishable_key": "pk_test_another",
        }
        with self.assertRaisesRegex(ValidationError, "not to acct_other"):
            provider.write(dict(keys, clock_stripe_account_id="acct_other"))
        self.assertFalse(provider.sudo().clock_stripe_secret_key, "Nothing is saved.")
        provider.write(keys)
        self.assertEqual(provider.clock_stripe_account_id, STRIPE_ACCOUNT_ID)

    def test_tokenize_amount_below_minimum_is_refused(self):
        with self.assertRaisesRegex(ValidationError, "Tokenize with amount"):
            self.provider.clock_stripe_tokenize_amount = 0.2
        self.provider.clock_stripe_tokenize_amount = 0.5
        self.assertEqual(self.provider._get_validation_amount(), 0.5)

    def test_unsupported_settlement_currency_is_refused(self):
        irr = self._prepare_currency("IRR")
        with self.assertRaisesRegex(ValidationError, "Settlement currency"):
            self.provider.clock_stripe_settlement_currency_id = irr

    def test_feature_support_and_codes(self):
        self.assertTrue(self.provider.support_tokenization)
        self.assertEqual(self.provider.support_manual_capture, "partial")
        self.assertEqual(self.provider.support_refund, "partial")
        self.assertEqual(
            self.provider._get_default_payment_method_codes(),
            const.DEFAULT_PAYMENT_METHOD_CODES,
        )
        currencies = self.provider._get_supported_currencies().mapped("name")
        self.assertIn("EUR", currencies)
        self.assertIn("JPY", currencies)
        self.assertNotIn("IRR", currencies)

    def test_provider_record_and_code(self):
        record = self.env.ref("clock_stripe_payment.payment_provider_clock_stripe")
        self.assertEqual(record.code, "clock_stripe")
        self.assertEqual(record.module_id.name, "clock_stripe_payment")
        self.assertTrue(record.image_128)
        self.assertIn(self.card_method, record.payment_method_ids)
        self.assertIn(self.visa_method, record.payment_method_ids)
        self.assertEqual(
            dict(record._fields["code"].selection)["clock_stripe"], "Stripe (hotel)"
        )
        self.assertTrue(self.provider.clock_stripe_api_base_is_custom)

    def test_secret_fields_are_for_system_administrators(self):
        fields = self.env["payment.provider"]._fields
        for name in ("clock_stripe_secret_key", "clock_stripe_webhook_secret"):
            self.assertEqual(fields[name].groups, "base.group_system")
        self.assertIn("clock_stripe_setup_intent_secret", const.SECRET_PROCESSING_KEYS)

    def test_neutralize_blanks_the_secrets(self):
        with file_open("clock_stripe_payment/data/neutralize.sql") as sql:
            self.env.cr.execute(sql.read())
        self.provider.invalidate_recordset()
        provider = self.provider.sudo()
        self.assertFalse(provider.clock_stripe_secret_key)
        self.assertFalse(provider.clock_stripe_publishable_key)
        self.assertFalse(provider.clock_stripe_webhook_secret)

    def test_register_webhook(self):
        self.provider.clock_stripe_webhook_secret = False
        # The Stripe double really delivers events to registered endpoints: give it
        # an address where nothing listens, so that no event reaches other tests.
        self.startPatcher(
            patch.object(
                type(self.provider), "get_base_url", lambda _self: "http://127.0.0.1:9"
            )
        )
        action = self.provider.action_clock_stripe_register_webhook()
        self.assertEqual(action["params"]["type"], "success")
        secret = self.provider.sudo().clock_stripe_webhook_secret
        self.assertTrue(secret.startswith("whsec_"))
        endpoint = self.provider.clock_stripe_webhook_endpoint_id
        self.assertTrue(endpoint)
        self.assertEqual(
            self.stripe.v1.webhook_endpoints.retrieve(endpoint).url,
            "http://127.0.0.1:9/payment/clock_stripe/webhook",
        )
        # Registering again replaces the endpoint: the old one is deleted, or
        # Stripe would send every event twice.
        self.provider.action_clock_stripe_register_webhook()
        self.assertNotEqual(self.provider.sudo().clock_stripe_webhook_secret, secret)
        new_endpoint = self.provider.clock_stripe_webhook_endpoint_id
        self.assertNotEqual(new_endpoint, endpoint)
        listed = self.stripe.v1.webhook_endpoints.list().data
        self.assertIn(new_endpoint, [e.id for e in listed])
        self.assertNotIn(endpoint, [e.id for e in listed])

    def test_alternative_methods_are_offered(self):
        ideal = self.env.ref("payment.payment_method_ideal")
        self.provider.clock_stripe_alternative_method_ids = ideal
        self.assertIn(ideal, self.provider.payment_method_ids)
        self.assertTrue(ideal.active)

    def test_inline_form_values(self):
        self.provider.company_id.clock_stripe_card_brand_ids = self.visa_method
        values = json.loads(
            self.provider._clock_stripe_get_inline_form_values(
                100.0, self.currency, self.partner.id, False, self.card_method
            )
        )
        self.assertEqual(values["publishable_key"], PUBLISHABLE_KEY)
        self.assertTrue(values["stripe_js_url"].startswith(STRIPE_DOUBLE_URL))
        self.assertEqual(values["supported_brands"], ["visa"])
        self.assertTrue(values["is_card"])
        self.assertEqual(values["billing_details"]["address"]["country"], "BE")

    def test_card_settings_are_per_company(self):
        settings = self.env["res.config.settings"].create(
            {
                "clock_stripe_card_provider_id": self.provider.id,
                "clock_stripe_require_cvc": False,
                "clock_stripe_require_address": True,
                "clock_stripe_card_brand_ids": [(6, 0, self.mastercard_method.ids)],
            }
        )
        settings.execute()
        company = self.env.company
        self.assertEqual(company.clock_stripe_card_provider_id, self.provider)
        self.assertFalse(company.clock_stripe_require_cvc)
        self.assertTrue(company.clock_stripe_require_address)
        self.assertEqual(
            self.provider._clock_stripe_card_rules(),
            {
                "require_cvc": False,
                "require_address": True,
                "allowed_brands": ["mastercard"],
            },
        )
        view = self.env.ref("clock_stripe_payment.res_config_settings_view_form")
        self.assertIn("clock_stripe_card_brand_ids", view.arch_db)
