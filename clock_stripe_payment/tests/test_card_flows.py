# Part of clock_stripe_payment. License LGPL-3.
"""The card form flows (pay now, hold, save card), card rules, declines, 3-D Secure."""

import logging
from unittest.mock import patch

import stripe

from odoo.exceptions import ValidationError
from odoo.fields import Command
from odoo.tests import tagged
from odoo.tools import mute_logger

from .. import const
from ..stripe_api import ClockStripeError
from .common import (
    BILLING,
    CARD_3DS,
    CARD_DECLINED_AT_ATTACH,
    CARD_DECLINED_AT_CHARGE,
    PUBLISHABLE_KEY,
    ClockStripeCommon,
)

MUTE = (
    "odoo.addons.clock_stripe_payment.stripe_api",
    "odoo.addons.payment.models.payment_transaction",
)


@tagged("post_install", "-at_install")
class TestCardForm(ClockStripeCommon):
    def test_processing_values_give_the_browser_what_it_needs(self):
        tx = self._clock_tx()
        values = tx._get_processing_values()
        self.assertEqual(values["clock_stripe_publishable_key"], PUBLISHABLE_KEY)
        self.assertEqual(
            values["clock_stripe_js_url"], self.provider.clock_stripe_js_url
        )
        self.assertTrue(values["clock_stripe_setup_intent_secret"].startswith("seti_"))
        self.assertEqual(
            values["clock_stripe_access_token"],
            self._generate_test_access_token(tx.reference),
        )
        self.assertEqual(
            values["clock_stripe_confirm_route"], "/payment/clock_stripe/confirm"
        )
        setup_intent = self.stripe.v1.setup_intents.retrieve(
            tx.clock_stripe_setup_intent_ref
        )
        self.assertEqual(setup_intent.customer, tx.clock_stripe_customer_ref)
        self.assertEqual(setup_intent.metadata["odoo_reference"], tx.reference)

    def test_client_secret_is_not_logged(self):
        logged = []

        class Capture(logging.Handler):
            def emit(self, record):
                logged.append(record.getMessage())

        logger = logging.getLogger("odoo.addons.payment.models.payment_transaction")
        handler, level = Capture(), logger.level
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        try:
            tx = self._clock_tx()
            values = tx._get_processing_values()
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)
        secret = values["clock_stripe_setup_intent_secret"]
        self.assertTrue(secret)
        self.assertIn(tx.reference, "\n".join(logged))
        self.assertNotIn(secret, "\n".join(logged))

    def test_pay_now_charges_the_card_and_does_not_keep_it(self):
        tx = self._clock_tx(amount=100.0)
        answer = self._pay_with_card(tx)
        self.assertEqual(answer["state"], "done")
        self.assertFalse(answer["requires_action"])
        self.assertEqual(answer["redirect_url"], "/payment/status")
        self.assertEqual(tx.state, "done")
        self.assertFalse(tx.token_id)
        payment_intent = self._stripe_pi(tx.provider_reference)
        self.assertEqual(payment_intent["status"], "succeeded")
        self.assertEqual(payment_intent["amount"], 10000)
        self.assertEqual(payment_intent["currency"], "eur")
        self.assertEqual(payment_intent["metadata"]["odoo_reference"], tx.reference)
        # The guest did not ask to keep the card: it is detached after the payment.
        card = self._stripe_pm(tx.clock_stripe_payment_method_ref)
        self.assertFalse(card.get("customer"))

    def test_an_unreadable_answer_marks_nothing_paid(self):
        """Stripe's answer to the charge lacks its status: the guest gets a clear
        error and the transaction is not taken for paid."""
        tx = self._clock_tx()
        setup_intent_id = self._confirm_card_setup(tx)
        create = stripe.PaymentIntentService.create

        def without_status(service, params, options=None):
            answer = create(service, params, options).to_dict()
            del answer["status"]
            return answer

        with (
            patch.object(stripe.PaymentIntentService, "create", without_status),
            mute_logger(*MUTE),
            self.assertRaisesRegex(
                ClockStripeError, r"answer could not be read \(status missing\)"
            ),
        ):
            tx._clock_stripe_confirm_from_browser(setup_intent_id=setup_intent_id)
        self.assertEqual(tx.state, "draft")
        self.assertFalse(tx.token_id)

    def test_pay_now_and_keep_the_card(self):
        tx = self._clock_tx(amount=80.0, tokenize=True)
        answer = self._pay_with_card(tx)
        self.assertEqual(answer["state"], "done")
        token = tx.token_id
        self.assertTrue(token)
        self.assertEqual(token.payment_details, "4242")
        self.assertEqual(token.clock_stripe_card_brand, "visa")
        card = self._stripe_pm(token.clock_stripe_payment_method_id)
        self.assertEqual(card["customer"], token.provider_ref)

    def test_hold_is_authorized_with_its_expiry(self):
        tx = self._hold(amount=150.0)
        self.assertEqual(tx.state, "authorized")
        self.assertTrue(tx.clock_stripe_hold_expires_at)
        days = (tx.clock_stripe_hold_expires_at - tx.create_date).days
        self.assertIn(days, (6, 7))
        payment_intent = self._stripe_pi(tx.provider_reference)
        self.assertEqual(payment_intent["status"], "requires_capture")
        self.assertEqual(payment_intent["capture_method"], "manual")

    def test_hold_follows_the_provider_setting_by_default(self):
        self.provider.capture_manually = True
        tx = self._clock_tx(amount=20.0)
        self.assertTrue(tx.clock_stripe_capture_manually)
        self.assertEqual(self._pay_with_card(tx)["state"], "authorized")

    def test_one_stripe_customer_per_partner_and_provider(self):
        tx1 = self._clock_tx()
        tx1._get_processing_values()
        tx2 = self._clock_tx()
        tx2._get_processing_values()
        self.assertTrue(tx1.clock_stripe_customer_ref.startswith("cus_"))
        self.assertEqual(tx1.clock_stripe_customer_ref, tx2.clock_stripe_customer_ref)

    def test_confirming_twice_charges_once(self):
        tx = self._clock_tx()
        setup_intent_id = self._confirm_card_setup(tx)
        tx._clock_stripe_confirm_from_browser(setup_intent_id=setup_intent_id)
        with self._spy_stripe() as calls:
            answer = tx._clock_stripe_confirm_from_browser(
                setup_intent_id=setup_intent_id
            )
        self.assertEqual(answer["state"], "done")
        self.assertFalse([c for c in calls if c["method"] == "POST"])

    def test_setup_intent_of_another_payment_is_refused(self):
        tx = self._clock_tx()
        other = self._clock_tx()
        other_setup = self._confirm_card_setup(other)
        tx._get_processing_values()
        with self.assertRaises(ValidationError):
            tx._clock_stripe_confirm_from_browser(setup_intent_id=other_setup)
        self.assertEqual(tx.state, "draft")


@tagged("post_install", "-at_install")
class TestSaveCard(ClockStripeCommon):
    def test_save_card_without_hold(self):
        tx = self._clock_tx(operation="validation", amount=0.0, tokenize=True)
        with self._spy_stripe() as calls:
            answer = self._pay_with_card(tx)
        self.assertEqual(answer["state"], "done")
        self.assertFalse(
            [c for c in calls if c["path"].startswith("/v1/payment_intents")],
            "A card saved without a hold must not be charged.",
        )
        token = tx.token_id
        self.assertTrue(token.active)
        self.assertEqual(token.payment_details, "4242")
        self.assertEqual(token.clock_stripe_card_brand, "visa")
        self.assertEqual(token.clock_stripe_exp_month, 12)
        self.assertEqual(token.clock_stripe_exp_year, 2030)
        self.assertEqual(token.display_name, "VISA •••• 4242 (12/30)")
        self.assertTrue(token.provider_ref.startswith("cus_"))
        self.assertEqual(token.payment_method_id, self.visa_method)
        card = self._stripe_pm(token.clock_stripe_payment_method_id)
        self.assertEqual(card["customer"], token.provider_ref)

    def test_save_card_with_validation_hold(self):
        self.provider.clock_stripe_tokenize_amount = 0.5
        amount = self.provider._get_validation_amount()
        self.assertEqual(amount, 0.5)
        tx = self._clock_tx(operation="validation", amount=amount, tokenize=True)
        with self._spy_stripe() as calls:
            answer = self._pay_with_card(tx)
        self.assertEqual(answer["state"], "done")
        self.assertTrue(tx.token_id)
        hold_calls = [c for c in calls if c["path"] == "/v1/payment_intents"]
        self.assertEqual(len(hold_calls), 1)
        self.assertEqual(hold_calls[0]["params"]["amount"], ["50"])
        self.assertEqual(hold_calls[0]["params"]["capture_method"], ["manual"])
        hold = self._stripe_pi(tx.clock_stripe_validation_intent_ref)
        self.assertEqual(hold["status"], "canceled", "The hold is released at once.")
        self.assertIn("hold", tx.state_message)

    def test_save_card_declined_by_the_hold(self):
        self.provider.clock_stripe_tokenize_amount = 1.0
        tx = self._clock_tx(operation="validation", amount=1.0, tokenize=True)
        with mute_logger(*MUTE):
            answer = self._pay_with_card(tx, number=CARD_DECLINED_AT_CHARGE)
        self.assertEqual(answer["state"], "error")
        self.assertIn("declined", answer["error"])
        self.assertFalse(tx.token_id)
        self.assertFalse(
            self.env["payment.token"].search([("partner_id", "=", self.partner.id)])
        )


@tagged("post_install", "-at_install")
class TestDeclinesAndAuthentication(ClockStripeCommon):
    def test_decline_at_charge(self):
        tx = self._clock_tx(amount=60.0, tokenize=True)
        with mute_logger(*MUTE):
            answer = self._pay_with_card(tx, number=CARD_DECLINED_AT_CHARGE)
        self.assertEqual(answer["state"], "error")
        self.assertEqual(tx.state, "error")
        self.assertIn("declined", tx.state_message)
        self.assertEqual(answer["message"], tx.state_message)
        self.assertFalse(tx.token_id)

    def test_decline_at_card_setup(self):
        tx = self._clock_tx(operation="validation", amount=0.0, tokenize=True)
        tx._get_processing_values()
        card = self._create_card(CARD_DECLINED_AT_ATTACH)
        # Stripe.js' confirmCardSetup fails in the browser...
        with self.assertRaises(stripe.CardError):
            self.stripe.v1.setup_intents.confirm(
                tx.clock_stripe_setup_intent_ref, params={"payment_method": card["id"]}
            )
        # ... and if the confirm route is called anyway, nothing is kept.
        with mute_logger(*MUTE):
            answer = tx._clock_stripe_confirm_from_browser(
                setup_intent_id=tx.clock_stripe_setup_intent_ref
            )
        self.assertEqual(answer["state"], "error")
        self.assertIn("could not be saved", answer["error"])
        self.assertFalse(tx.token_id)

    def test_decline_when_the_card_is_attached(self):
        tx = self._clock_tx(operation="validation", amount=0.0, tokenize=True)
        tx._get_processing_values()
        card = self._create_card(CARD_DECLINED_AT_ATTACH)
        setup_intent = {
            "id": tx.clock_stripe_setup_intent_ref,
            "object": "setup_intent",
            "status": "succeeded",
            "metadata": {"odoo_reference": tx.reference},
            "payment_method": card,
        }
        with mute_logger(*MUTE):
            answer = tx._clock_stripe_process_setup_intent(setup_intent)
        self.assertEqual(answer["state"], "error")
        self.assertIn("declined", tx.state_message)
        self.assertFalse(tx.token_id)

    def test_3ds_requires_action_then_completes(self):
        tx = self._clock_tx(amount=70.0)
        answer = self._pay_with_card(tx, number=CARD_3DS)
        self.assertTrue(answer["requires_action"])
        self.assertEqual(answer["state"], "draft")
        self.assertTrue(answer["client_secret"].startswith(tx.provider_reference))
        self.assertEqual(tx.clock_stripe_intent_status, "requires_action")
        # confirmCardPayment in the browser, then the confirm route again.
        self._authenticate_3ds(tx.provider_reference, answer["client_secret"])
        answer = tx._clock_stripe_confirm_from_browser(
            payment_intent_id=tx.provider_reference
        )
        self.assertEqual(answer["state"], "done")
        self.assertFalse(answer["requires_action"])
        self.assertEqual(tx.state, "done")

    def test_3ds_failed_authentication(self):
        tx = self._clock_tx(amount=70.0)
        answer = self._pay_with_card(tx, number=CARD_3DS)
        self._authenticate_3ds(
            tx.provider_reference, answer["client_secret"], success=False
        )
        with mute_logger(*MUTE):
            answer = tx._clock_stripe_confirm_from_browser()  # Sync without ids.
        self.assertEqual(answer["state"], "error")
        self.assertEqual(tx.state, "error")


@tagged("post_install", "-at_install")
class TestCardRules(ClockStripeCommon):
    def test_unsupported_brand_is_refused_detached_and_not_kept(self):
        self.provider.company_id.clock_stripe_card_brand_ids = [
            Command.set(self.mastercard_method.ids)
        ]
        tx = self._clock_tx(operation="validation", amount=0.0, tokenize=True)
        setup_intent_id = self._confirm_card_setup(tx)
        with self._spy_stripe() as calls, mute_logger(*MUTE):
            answer = tx._clock_stripe_confirm_from_browser(
                setup_intent_id=setup_intent_id
            )
        self.assertEqual(answer["state"], "error")
        self.assertIn("VISA cards are not accepted", answer["error"])
        self.assertIn("MASTERCARD", answer["error"])
        self.assertFalse(tx.token_id)
        paths = [c["path"] for c in calls if c["method"] == "POST"]
        self.assertTrue(any(p.endswith("/detach") for p in paths), paths)
        self.assertFalse(any(p.startswith("/v1/payment_intents") for p in paths))

    def test_unsupported_brand_is_never_charged(self):
        self.provider.company_id.clock_stripe_card_brand_ids = [
            Command.set(self.mastercard_method.ids)
        ]
        tx = self._clock_tx(amount=50.0)
        with mute_logger(*MUTE):
            answer = self._pay_with_card(tx)
        self.assertEqual(answer["state"], "error")
        self.assertFalse(tx.provider_reference, "No PaymentIntent was created.")

    def test_accepted_brand(self):
        self.provider.company_id.clock_stripe_card_brand_ids = [
            Command.set((self.visa_method | self.mastercard_method).ids)
        ]
        self.assertEqual(self._pay_with_card(self._clock_tx())["state"], "done")

    def test_missing_billing_address_when_required(self):
        self.provider.company_id.clock_stripe_require_address = True
        tx = self._clock_tx(operation="validation", amount=0.0, tokenize=True)
        with mute_logger(*MUTE):
            answer = self._pay_with_card(tx, billing_details={"name": "No Address"})
        self.assertEqual(answer["state"], "error")
        self.assertIn("billing address", answer["error"])
        self.assertFalse(tx.token_id)
        tx = self._clock_tx(operation="validation", amount=0.0, tokenize=True)
        answer = self._pay_with_card(tx, billing_details=BILLING)
        self.assertEqual(answer["state"], "done")
        self.assertTrue(tx.token_id)

    def test_failed_cvc_check_when_required(self):
        """localstripe returns no card checks: give Stripe's answer of a failed
        CVC check, as real Stripe would."""
        tx = self._clock_tx(operation="validation", amount=0.0, tokenize=True)
        tx._get_processing_values()
        card = self._create_card()
        card["card"]["checks"] = {
            "cvc_check": "fail",
            "address_line1_check": None,
            "address_postal_code_check": None,
        }
        setup_intent = {
            "id": tx.clock_stripe_setup_intent_ref,
            "status": "succeeded",
            "metadata": {"odoo_reference": tx.reference},
            "payment_method": card,
        }
        with self._spy_stripe() as calls, mute_logger(*MUTE):
            answer = tx._clock_stripe_process_setup_intent(setup_intent)
        self.assertEqual(answer["state"], "error")
        self.assertIn("security code", answer["error"])
        self.assertFalse(tx.token_id)
        self.assertTrue([c for c in calls if c["path"].endswith("/detach")])

    def test_failed_cvc_check_is_accepted_when_not_required(self):
        self.provider.company_id.clock_stripe_require_cvc = False
        tx = self._clock_tx(operation="validation", amount=0.0, tokenize=True)
        tx._get_processing_values()
        card = self._create_card()
        card["card"]["checks"] = {"cvc_check": "fail"}
        answer = tx._clock_stripe_process_setup_intent(
            {
                "id": tx.clock_stripe_setup_intent_ref,
                "status": "succeeded",
                "metadata": {"odoo_reference": tx.reference},
                "payment_method": card,
            }
        )
        self.assertEqual(answer["state"], "done")

    def test_card_rules_are_in_the_processing_values(self):
        self.provider.company_id.write(
            {
                "clock_stripe_require_address": True,
                "clock_stripe_card_brand_ids": [Command.set(self.visa_method.ids)],
            }
        )
        values = self._clock_tx()._get_processing_values()
        self.assertTrue(values["clock_stripe_require_address"])
        self.assertEqual(values["clock_stripe_allowed_brands"], ["visa"])
        self.assertEqual(values["provider_code"], const.PROVIDER_CODE)
