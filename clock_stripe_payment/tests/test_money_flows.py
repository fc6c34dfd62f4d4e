# Part of clock_stripe_payment. License LGPL-3.
"""Capture, release, refunds, token charges, currencies and idempotency keys."""

from datetime import timedelta

from odoo import fields
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .. import const
from .common import CARD_3DS, CARD_DECLINED_AT_CHARGE, ClockStripeCommon, money_posts

MUTE = (
    "odoo.addons.clock_stripe_payment.stripe_api",
    "odoo.addons.payment.models.payment_transaction",
)


@tagged("post_install", "-at_install")
class TestCaptureAndRelease(ClockStripeCommon):
    def _capture_wizard(self, tx, amount, void_remaining=False):
        wizard = (
            self.env["payment.capture.wizard"]
            .with_context(active_model="payment.transaction", active_ids=tx.ids)
            .create(
                {"amount_to_capture": amount, "void_remaining_amount": void_remaining}
            )
        )
        wizard.action_capture()

    def test_partial_capture_releases_the_rest(self):
        tx = self._hold(amount=100.0)
        with self._spy_stripe() as calls:
            self._capture_wizard(tx, 60.0)
        self.assertEqual(tx.state, "done")
        captured = tx.child_transaction_ids.filtered(lambda t: t.state == "done")
        released = tx.child_transaction_ids.filtered(lambda t: t.state == "cancel")
        self.assertEqual(captured.amount, 60.0)
        self.assertEqual(released.amount, 40.0)
        self.assertEqual(captured.clock_stripe_settlement_amount, 60.0)
        (capture_call,) = money_posts(calls)
        self.assertTrue(capture_call["path"].endswith("/capture"))
        self.assertEqual(capture_call["params"]["amount_to_capture"], ["6000"])
        self.assertEqual(
            capture_call["headers"]["Idempotency-Key"],
            self._expected_key(captured.reference, const.OPERATION_CAPTURE),
        )
        self.assertEqual(self._stripe_pi(tx.provider_reference)["status"], "succeeded")

    def test_partial_capture_with_void_remaining_sends_no_release(self):
        tx = self._hold(amount=100.0)
        with self._spy_stripe() as calls:
            self._capture_wizard(tx, 25.0, void_remaining=True)
        self.assertEqual(tx.state, "done")
        self.assertEqual(len(money_posts(calls)), 1, "Only the capture is sent.")
        self.assertEqual(
            sorted(tx.child_transaction_ids.mapped("state")), ["cancel", "done"]
        )

    def test_full_capture(self):
        tx = self._hold(amount=100.0)
        with self._spy_stripe() as calls:
            self._capture_wizard(tx, 100.0)
        self.assertEqual(tx.state, "done")
        self.assertFalse(tx.child_transaction_ids)
        (capture_call,) = money_posts(calls)
        self.assertNotIn("amount_to_capture", capture_call["params"])
        self.assertEqual(
            capture_call["headers"]["Idempotency-Key"],
            self._expected_key(tx.reference, const.OPERATION_CAPTURE),
        )

    def test_release_then_capture_is_refused_without_request(self):
        tx = self._hold(amount=100.0)
        with self._spy_stripe() as calls:
            tx.action_void()
        self.assertEqual(tx.state, "cancel")
        self.assertEqual(self._stripe_pi(tx.provider_reference)["status"], "canceled")
        (void_call,) = money_posts(calls)
        self.assertEqual(
            void_call["headers"]["Idempotency-Key"],
            self._expected_key(tx.reference, const.OPERATION_VOID),
        )
        with self._spy_stripe() as calls:
            with self.assertRaisesRegex(UserError, "released"):
                tx._send_capture_request(amount_to_capture=50.0)
        self.assertFalse(calls, "localstripe would capture a released hold: never ask.")
        self.assertEqual(tx.state, "cancel")
        self.assertFalse(tx.child_transaction_ids)

    def test_capture_above_the_hold_is_refused(self):
        tx = self._hold(amount=100.0)
        with self._spy_stripe() as calls:
            with self.assertRaisesRegex(UserError, "more than the hold"):
                tx._send_capture_request(amount_to_capture=100.01)
            with self.assertRaisesRegex(UserError, "positive"):
                tx._send_capture_request(amount_to_capture=-5.0)
        self.assertFalse(calls)
        self.assertEqual(tx.state, "authorized")
        self.assertFalse(tx.child_transaction_ids)

    def test_capture_of_an_expired_hold_is_refused(self):
        tx = self._hold(amount=100.0)
        tx.clock_stripe_hold_expires_at = fields.Datetime.now() - timedelta(hours=1)
        with self._spy_stripe() as calls:
            with self.assertRaisesRegex(UserError, "expired"):
                tx._send_capture_request()
        self.assertFalse(calls)
        self.assertEqual(tx.state, "authorized")

    def test_partial_release_is_refused(self):
        tx = self._hold(amount=100.0)
        with self.assertRaisesRegex(UserError, "in full"):
            tx._send_void_request(amount_to_void=30.0)
        self.assertEqual(tx.state, "authorized")


@tagged("post_install", "-at_install")
class TestRefunds(ClockStripeCommon):
    def test_partial_refunds_up_to_the_captured_amount(self):
        tx = self._clock_tx(amount=100.0)
        self._pay_with_card(tx)
        with self._spy_stripe() as calls:
            refund_1 = tx._send_refund_request(amount_to_refund=30.0)
            refund_2 = tx._send_refund_request(amount_to_refund=70.0)
        self.assertEqual(refund_1.amount, -30.0)
        self.assertEqual(refund_1.state, "done")
        self.assertEqual(refund_2.state, "done")
        self.assertTrue(refund_1.provider_reference.startswith("re_"))
        posts = money_posts(calls)
        self.assertEqual([c["params"]["amount"] for c in posts], [["3000"], ["7000"]])
        for call, refund in zip(posts, (refund_1, refund_2), strict=True):
            self.assertEqual(
                call["headers"]["Idempotency-Key"],
                self._expected_key(refund.reference, const.OPERATION_REFUND),
            )
        with self._spy_stripe() as calls:
            with self.assertRaisesRegex(UserError, "fully refunded|only 0.0"):
                tx._send_refund_request(amount_to_refund=0.01)
        self.assertFalse(calls, "An over-refund is refused before any request.")
        self.assertEqual(tx.refunds_count, 2)

    def test_refund_above_the_capture_is_refused(self):
        tx = self._clock_tx(amount=100.0)
        self._pay_with_card(tx)
        tx._send_refund_request(amount_to_refund=40.0)
        with self._spy_stripe() as calls:
            with self.assertRaisesRegex(UserError, "only 60.0"):
                tx._send_refund_request(amount_to_refund=60.01)
            with self.assertRaisesRegex(UserError, "positive"):
                tx._send_refund_request(amount_to_refund=-1.0)
        self.assertFalse(calls)
        self.assertEqual(tx.refunds_count, 1)

    def test_refund_without_amount_refunds_the_rest(self):
        tx = self._clock_tx(amount=100.0)
        self._pay_with_card(tx)
        tx._send_refund_request(amount_to_refund=25.0)
        rest = tx._send_refund_request()
        self.assertEqual(rest.amount, -75.0)

    def test_refunds_after_a_partial_capture(self):
        tx = self._hold(amount=100.0)
        captured = tx._send_capture_request(amount_to_capture=60.0)
        self.assertEqual(captured.state, "done")
        with self.assertRaisesRegex(UserError, "only 60.0"):
            captured._send_refund_request(amount_to_refund=61.0)
        refund = captured._send_refund_request(amount_to_refund=60.0)
        self.assertEqual(refund.state, "done")
        with self.assertRaises(UserError):
            tx._send_refund_request(amount_to_refund=1.0)

    def test_refund_of_an_unconfirmed_payment_is_refused(self):
        tx = self._hold(amount=50.0)
        with self.assertRaises(UserError):
            tx._send_refund_request(amount_to_refund=10.0)


@tagged("post_install", "-at_install")
class TestTokenCharges(ClockStripeCommon):
    def _offline_tx(self, token, amount=50.0, **values):
        return self._clock_tx(
            operation="offline",
            token_id=token.id,
            payment_method_id=token.payment_method_id.id,
            amount=amount,
            **values,
        )

    def test_off_session_charge_of_a_saved_card(self):
        token = self._save_card()
        tx = self._offline_tx(token, amount=45.5)
        with self._spy_stripe() as calls:
            tx._send_payment_request()
        self.assertEqual(tx.state, "done")
        (create_call,) = money_posts(calls)
        params = create_call["params"]
        self.assertEqual(params["off_session"], ["true"])
        self.assertEqual(params["confirm"], ["true"])
        self.assertEqual(params["amount"], ["4550"])
        self.assertEqual(params["customer"], [token.provider_ref])
        self.assertEqual(
            params["payment_method"], [token.clock_stripe_payment_method_id]
        )
        self.assertEqual(
            create_call["headers"]["Idempotency-Key"],
            self._expected_key(tx.reference, const.OPERATION_PAYMENT),
        )

    def test_off_session_hold_of_a_saved_card(self):
        token = self._save_card()
        tx = self._offline_tx(token, clock_stripe_capture_manually=True)
        tx._send_payment_request()
        self.assertEqual(tx.state, "authorized")
        self.assertTrue(tx.clock_stripe_hold_expires_at)

    def test_off_session_decline_sets_error_without_raising(self):
        token = self._save_card(number=CARD_DECLINED_AT_CHARGE)
        tx = self._offline_tx(token)
        with mute_logger(*MUTE):
            tx._send_payment_request()
        self.assertEqual(tx.state, "error")
        self.assertIn("declined", tx.state_message)

    def _token_from_card(self, number):
        customer = self.stripe.v1.customers.create(params={"name": "3DS"}).id
        card = self._create_card(number)
        self.stripe.v1.payment_methods.attach(card["id"], params={"customer": customer})
        return self._create_token(
            payment_method_id=self.visa_method.id,
            provider_ref=customer,
            clock_stripe_payment_method_id=card["id"],
            clock_stripe_card_brand="visa",
            payment_details="3155",
        )

    def test_off_session_charge_needing_authentication(self):
        token = self._token_from_card(CARD_3DS)
        tx = self._offline_tx(token)
        with mute_logger(*MUTE):
            tx._send_payment_request()
        self.assertEqual(tx.state, "error")
        self.assertIn("authenticate", tx.state_message)

    def test_on_session_token_payment_runs_3ds_in_the_browser(self):
        token = self._token_from_card(CARD_3DS)
        tx = self._clock_tx(
            flow="token",
            token_id=token.id,
            payment_method_id=token.payment_method_id.id,
        )
        tx._send_payment_request()
        self.assertEqual(tx.state, "draft")
        values = tx._get_processing_values()
        self.assertTrue(values["clock_stripe_requires_action"])
        secret = values["clock_stripe_payment_intent_secret"]
        self._authenticate_3ds(tx.provider_reference, secret)
        answer = tx._clock_stripe_confirm_from_browser()
        self.assertEqual(answer["state"], "done")

    def test_archived_token_is_detached_and_cannot_be_charged(self):
        token = self._save_card()
        tx = self._offline_tx(token)
        payment_method_id = token.clock_stripe_payment_method_id
        token.active = False
        self.assertFalse(self._stripe_pm(payment_method_id).get("customer"))
        with self._spy_stripe() as calls:
            with self.assertRaisesRegex(UserError, "removed"):
                tx._send_payment_request()
        self.assertFalse(calls)
        self.assertEqual(tx.state, "draft")
        with self.assertRaises(ValidationError):
            self._offline_tx(token)

    def test_missing_token(self):
        tx = self._clock_tx(operation="offline")
        with self.assertRaisesRegex(UserError, "no saved card"):
            tx._send_payment_request()
        self.assertEqual(tx.state, "draft")


@tagged("post_install", "-at_install")
class TestCurrencies(ClockStripeCommon):
    def _set_rates(self, **rates):
        today = fields.Date.context_today(self.env["res.currency.rate"])
        company = self.provider.company_id
        for code, rate in rates.items():
            currency = self._prepare_currency(code)
            self.env["res.currency.rate"].search(
                [
                    ("currency_id", "=", currency.id),
                    ("company_id", "in", (company.id, False)),
                ]
            ).unlink()
            self.env["res.currency.rate"].create(
                {
                    "currency_id": currency.id,
                    "company_id": company.id,
                    "name": today,
                    "rate": rate,
                }
            )

    def test_usd_payment_is_sent_in_eur(self):
        self._set_rates(USD=1.0, EUR=0.8)
        self.provider.clock_stripe_settlement_currency_id = self.currency_euro
        tx = self._clock_tx(amount=100.0, currency_id=self.currency_usd.id)
        self.assertEqual(tx.amount, 100.0)
        self.assertEqual(tx.currency_id, self.currency_usd)
        self.assertEqual(tx.clock_stripe_settlement_amount, 80.0)
        self.assertEqual(tx.clock_stripe_settlement_currency_id, self.currency_euro)
        self._pay_with_card(tx)
        payment_intent = self._stripe_pi(tx.provider_reference)
        self.assertEqual(payment_intent["amount"], 8000)
        self.assertEqual(payment_intent["currency"], "eur")
        with self._spy_stripe() as calls:
            refund = tx._send_refund_request(amount_to_refund=25.0)
        self.assertEqual(refund.amount, -25.0)
        self.assertEqual(refund.currency_id, self.currency_usd)
        self.assertEqual(refund.clock_stripe_settlement_amount, -20.0)
        self.assertEqual(money_posts(calls)[0]["params"]["amount"], ["2000"])

    def test_partial_capture_in_settlement_currency(self):
        self._set_rates(USD=1.0, EUR=0.8)
        self.provider.clock_stripe_settlement_currency_id = self.currency_euro
        tx = self._hold(amount=100.0, currency_id=self.currency_usd.id)
        with self._spy_stripe() as calls:
            child = tx._send_capture_request(amount_to_capture=50.0)
        self.assertEqual(child.clock_stripe_settlement_amount, 40.0)
        self.assertEqual(money_posts(calls)[0]["params"]["amount_to_capture"], ["4000"])
        released = tx.child_transaction_ids.filtered(lambda t: t.state == "cancel")
        self.assertEqual(released.clock_stripe_settlement_amount, 40.0)

    def test_zero_decimal_currency(self):
        self.provider.clock_stripe_settlement_currency_id = self.currency_jpy
        tx = self._clock_tx(amount=5000, currency_id=self.currency_jpy.id)
        self._pay_with_card(tx)
        payment_intent = self._stripe_pi(tx.provider_reference)
        self.assertEqual(payment_intent["amount"], 5000)
        self.assertEqual(payment_intent["currency"], "jpy")

    def test_three_decimal_currency(self):
        # Amounts off Stripe's step of 0.010: see test_staff_money_faults.
        tx = self._clock_tx(amount=12.35, currency_id=self.currency_kwd.id)
        self._pay_with_card(tx)
        payment_intent = self._stripe_pi(tx.provider_reference)
        self.assertEqual(payment_intent["amount"], 12350)
        self.assertEqual(payment_intent["currency"], "kwd")

    def test_amount_below_stripe_minimum_is_refused_before_any_request(self):
        count = self.env["payment.transaction"].search_count([])
        with self._spy_stripe() as calls:
            with self.assertRaisesRegex(ValidationError, "minimum charge of 0.5"):
                self._clock_tx(amount=0.3)
            with self.assertRaisesRegex(ValidationError, "minimum charge of 50"):
                self.provider.clock_stripe_settlement_currency_id = self.currency_jpy
                self._clock_tx(amount=49, currency_id=self.currency_jpy.id)
        self.assertFalse(calls)
        self.assertEqual(self.env["payment.transaction"].search_count([]), count)

    def test_conversion_below_minimum_is_refused(self):
        self._set_rates(USD=1.0, EUR=0.8)
        self.provider.clock_stripe_settlement_currency_id = self.currency_euro
        with self.assertRaisesRegex(ValidationError, "minimum"):
            self._clock_tx(amount=0.55, currency_id=self.currency_usd.id)

    def test_unsupported_currency_and_bad_amounts(self):
        irr = self._prepare_currency("IRR")
        with self.assertRaisesRegex(ValidationError, "does not accept payments in IRR"):
            self._clock_tx(amount=1000000, currency_id=irr.id)
        with self.assertRaisesRegex(ValidationError, "positive"):
            self._clock_tx(amount=0.0)
        with self.assertRaisesRegex(ValidationError, "positive"):
            self._clock_tx(amount=-10.0)


@tagged("post_install", "-at_install")
class TestThreeDecimalHotel(ClockStripeCommon):
    """A hotel in Kuwaiti dinars: the amounts the server computes itself are on
    Stripe's 0.010 step, so no guest is asked for an amount Stripe refuses."""

    def test_server_computed_amounts_are_on_stripes_step(self):
        hotel = self.env["res.company"].create(
            {"name": "Kuwait Bay Hotel", "currency_id": self.currency_kwd.id}
        )
        policy = self.env["clock.guarantee.policy"].create(
            {
                "name": "15% deposit",
                "company_id": hotel.id,
                "payment_option": "card",
                "card_action": "pay",
                "deposit_rule": "percent_room",
                "deposit_percent": 15.0,
            }
        )
        room_type = self.env["clock.room.type"].create(
            {
                "name": "Sea View",
                "code": "KWSEA",
                "company_id": hotel.id,
                "price": 15.25,
                "capacity": 2,
            }
        )
        arrival = fields.Date.today() + timedelta(days=10)
        booking = self.env["clock.reservation"].create(
            {
                "partner_id": self.partner.id,
                "room_type_id": room_type.id,
                "company_id": hotel.id,
                "arrival_date": arrival,
                "departure_date": arrival + timedelta(days=3),
                "guest_count": 2,
                "guarantee_policy_id": policy.id,
            }
        )
        self.assertEqual(booking.deposit_amount, 6.863)  # 15% of 45.750
        self.assertEqual(booking._clock_get_guarantee_amount(), 6.86)
        booking.action_confirm()
        folio = booking.folio_ids
        folio.line_ids[:1].amount += 0.005  # A bill of 45.755 KWD.
        wizard = (
            self.env["clock.charge.wizard"]
            .with_context(default_reservation_id=booking.id)
            .create({"folio_id": folio.id})
        )
        self.assertEqual(wizard.balance, 45.755)
        self.assertEqual(wizard.amount, 45.75)
        self.env["payment.transaction"]._clock_stripe_check_minor_step(
            wizard.amount, self.currency_kwd
        )


@tagged("post_install", "-at_install")
class TestIdempotencyKeys(ClockStripeCommon):
    def test_every_money_call_carries_the_derived_key(self):
        self.provider.clock_stripe_tokenize_amount = 0.5
        with self._spy_stripe() as calls:
            validation = self._clock_tx(
                operation="validation", amount=0.5, tokenize=True
            )
            self._pay_with_card(validation)
            payment = self._clock_tx(amount=30.0)
            self._pay_with_card(payment)
            refund = payment._send_refund_request(amount_to_refund=10.0)
            hold = self._hold(amount=40.0)
            child = hold._send_capture_request(amount_to_capture=15.0)
            other_hold = self._hold(amount=20.0)
            other_hold._send_void_request()
            offline = self._clock_tx(
                operation="offline",
                token_id=validation.token_id.id,
                payment_method_id=validation.token_id.payment_method_id.id,
                amount=12.0,
            )
            offline._send_payment_request()
        expected = [
            self._expected_key(validation.reference, const.OPERATION_VALIDATION_HOLD),
            self._expected_key(
                validation.reference, const.OPERATION_VALIDATION_RELEASE
            ),
            self._expected_key(payment.reference, const.OPERATION_PAYMENT),
            self._expected_key(refund.reference, const.OPERATION_REFUND),
            self._expected_key(hold.reference, const.OPERATION_PAYMENT),
            self._expected_key(child.reference, const.OPERATION_CAPTURE),
            self._expected_key(other_hold.reference, const.OPERATION_PAYMENT),
            self._expected_key(other_hold.reference, const.OPERATION_VOID),
            self._expected_key(offline.reference, const.OPERATION_PAYMENT),
        ]
        sent = [c["headers"].get("Idempotency-Key") for c in money_posts(calls)]
        self.assertEqual(sent, expected)
        self.assertEqual(len(set(sent)), len(sent))
