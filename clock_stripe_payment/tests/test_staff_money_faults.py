"""Staff money operations under faults (issue 9, found by reading the code): a
staff charge or refund whose answer is lost is "not sure yet" and never made twice,
errors are worded by their kind, a refund webhook racing the staff refund records
it once, a refund that fails after it succeeded is reversed, and three-decimal
currencies go by Stripe's step."""

from unittest.mock import patch

from odoo.exceptions import ValidationError
from odoo.tests import tagged
from odoo.tools import SQL, mute_logger

from .. import const
from ..stripe_api import ClockStripeClient
from .common import money_posts
from .hotel_common import MUTE, HotelPaymentHttpCommon

#: Every attempt of one SDK call: the first and the SDK's network retries.
ALL_ATTEMPTS = const.MAX_NETWORK_RETRIES + 1


@tagged("post_install", "-at_install")
class TestStaffMoneyFaults(HotelPaymentHttpCommon):
    # === Helpers === #

    def _wizard(self, action, user, **values):
        return (
            self.env[action["res_model"]]
            .with_user(user)
            .with_context(**action["context"])
            .create(values)
        )

    def _charge_in_wizard(self, booking, amount):
        action = booking.with_user(self.payments_user).action_clock_charge()
        wizard = self._wizard(action, self.payments_user, amount=amount)
        return wizard.action_confirm()["params"]

    def _refund_in_wizard(self, booking, amount=None):
        action = booking.with_user(self.payments_manager).action_clock_refund()
        wizard = self._wizard(action, self.payments_manager)
        if amount is not None:
            wizard.amount = amount
        return wizard, wizard.action_confirm()["params"]

    def _intents_of(self, reference):
        intents = self.stripe.v1.payment_intents.list(params={"limit": 100})
        return [
            pi
            for pi in intents.to_dict()["data"]
            if (pi.get("metadata") or {}).get(const.METADATA_REFERENCE_KEY) == reference
        ]

    def _stripe_refunds(self, payment_intent_id):
        refunds = self.stripe.v1.refunds.list(
            params={"payment_intent": payment_intent_id, "limit": 100}
        )
        return refunds.to_dict()["data"]

    def _staff_charges(self, booking):
        return booking.transaction_ids.filtered(lambda tx: tx.operation == "offline")

    # === 1. A staff charge whose answer is lost === #

    @mute_logger(*MUTE)
    def test_charge_timeout_is_not_sure_yet_and_a_retry_charges_once(self):
        booking = self._booking()
        self._card_on_file(booking)
        self._stripe_fault(
            "lose_answer", "POST", "/v1/payment_intents", times=ALL_ATTEMPTS
        )
        notice = self._charge_in_wizard(booking, 100.0)
        tx = self._staff_charges(booking)
        self.assertEqual(tx.state, "draft")
        self.assertEqual(notice["type"], "warning")
        self.assertIn("Not sure yet", notice["message"])
        self.assertNotIn("declined", notice["message"].lower())
        self.assertEqual(len(self._intents_of(tx.reference)), 1, "Stripe charged")
        # Staff try again: the first charge is found, nothing is charged twice.
        with self._spy_stripe() as calls:
            notice = self._charge_in_wizard(booking, 100.0)
        self.assertFalse(money_posts(calls))
        self.assertEqual(notice["type"], "success")
        self.assertEqual(self._staff_charges(booking), tx)
        self.assertEqual(tx.state, "done")
        self.assertEqual(self._payment_lines(booking.folio_ids).mapped("amount"), [100])

    @mute_logger(*MUTE)
    def test_charge_stripe_never_got_is_sent_again_with_its_reference(self):
        booking = self._booking()
        self._card_on_file(booking)
        self._stripe_fault(
            "http_500", "POST", "/v1/payment_intents", times=ALL_ATTEMPTS
        )
        notice = self._charge_in_wizard(booking, 100.0)
        tx = self._staff_charges(booking)
        self.assertIn("Not sure yet", notice["message"])
        self.assertFalse(self._intents_of(tx.reference))
        with self._spy_stripe() as calls:
            self._charge_in_wizard(booking, 100.0)
        posts = money_posts(calls)
        self.assertEqual(len(posts), 1)
        self.assertEqual(
            posts[0]["headers"]["Idempotency-Key"],
            self._expected_key(tx.reference, const.OPERATION_PAYMENT),
        )
        self.assertEqual(self._staff_charges(booking), tx)
        self.assertEqual(tx.state, "done")
        self.assertEqual(len(self._intents_of(tx.reference)), 1)

    @mute_logger(*MUTE)
    def test_charge_errors_are_worded_by_their_kind(self):
        booking = self._booking()
        token = self._card_on_file(booking)
        token.sudo().clock_stripe_payment_method_id = "pm_gone_from_stripe"
        notice = self._charge_in_wizard(booking, 50.0)
        self.assertEqual(notice["type"], "danger")
        self.assertNotIn("declined", notice["message"].lower())
        self.assertIn("Nothing was charged", notice["message"])
        self.assertIn("does not know this card", notice["message"])

    @mute_logger(*MUTE)
    def test_unanswered_charges_and_refunds_are_checked_with_stripe(self):
        """The check cron settles what staff left "not sure yet": applied and
        posted when Stripe has it, canceled when Stripe never received it."""
        charged = self._booking()
        self._card_on_file(charged)
        self._stripe_fault(
            "lose_answer", "POST", "/v1/payment_intents", times=ALL_ATTEMPTS
        )
        self._charge_in_wizard(charged, 100.0)
        never = self._booking()
        self._card_on_file(never)
        self._stripe_fault(
            "http_500", "POST", "/v1/payment_intents", times=ALL_ATTEMPTS
        )
        self._charge_in_wizard(never, 100.0)
        paid = self._booking()
        tx = paid._clock_charge(self._card_on_file(paid), 100.0)
        self._stripe_fault("lose_answer", "POST", "/v1/refunds", times=ALL_ATTEMPTS)
        self._refund_in_wizard(paid, 30.0)
        unanswered = (
            self._staff_charges(charged) | self._staff_charges(never)
        ) | tx.child_transaction_ids
        self.assertEqual(set(unanswered.mapped("state")), {"draft"})
        Transaction = self.env["payment.transaction"]
        # Just sent: left alone (the staff may be trying again).
        Transaction._cron_clock_stripe_check_unanswered()
        self.assertEqual(set(unanswered.mapped("state")), {"draft"})
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "UPDATE payment_transaction SET write_date = NOW() - "
                "INTERVAL '1 hour' WHERE id IN %s",
                tuple(unanswered.ids),
            )
        )
        with self._spy_stripe() as calls:
            Transaction._cron_clock_stripe_check_unanswered()
        self.assertFalse(money_posts(calls), "checking sends nothing")
        self.assertEqual(self._staff_charges(charged).state, "done")
        self.assertEqual(self._payment_lines(charged.folio_ids).mapped("amount"), [100])
        self.assertEqual(self._staff_charges(never).state, "cancel")
        self.assertIn("never received", self._staff_charges(never).state_message)
        self.assertFalse(self._payment_lines(never.folio_ids))
        self.assertEqual(tx.child_transaction_ids.state, "done")
        self.assertEqual(
            sorted(self._payment_lines(paid.folio_ids).mapped("amount")), [-30, 100]
        )

    # === 2. A refund recorded twice === #

    def _partly_captured_hold(self, booking):
        self._card_on_file(booking)
        hold = booking._clock_charge(booking.card_ids.token_id, 100.0, hold=True)
        capture = booking._clock_capture(hold, 60.0)
        self.assertEqual(capture.state, "done")
        return hold, capture

    @mute_logger(*MUTE, "odoo.http")
    def test_refund_webhook_racing_the_staff_refund_records_it_once(self):
        booking = self._booking()
        hold, capture = self._partly_captured_hold(booking)
        original = ClockStripeClient.create_refund
        answers = []

        def refund_then_webhook(client, payment_intent_id, amount, reference, *a):
            refund = original(client, payment_intent_id, amount, reference, *a)
            # Stripe's charge.refunded arrives before the staff's commit: the
            # webhook does not see the refund transaction yet.
            self.env.flush_all()
            hide = SQL(
                "UPDATE payment_transaction SET reference = %s WHERE reference = %s",
                f"{reference}-uncommitted",
                reference,
            )
            self.env.cr.execute(hide)
            charge = {
                "id": "ch_race",
                "object": "charge",
                "payment_intent": payment_intent_id,
                "amount_refunded": amount,
                "metadata": {},
            }
            event = self._event("charge.refunded", charge)
            answers.append((event, self._post_webhook(event)))
            self.env.cr.execute(
                SQL(
                    "UPDATE payment_transaction SET reference = %s "
                    "WHERE reference = %s",
                    reference,
                    f"{reference}-uncommitted",
                )
            )
            self.env.invalidate_all()
            return refund

        with patch.object(ClockStripeClient, "create_refund", refund_then_webhook):
            refund_tx = booking._clock_refund(capture, 20.0)
        event, response = answers[0]
        self.assertNotEqual(response.status_code, 200, "Stripe must send it again")
        # Stripe sends the event again after the commit: nothing more.
        self.assertEqual(self._post_webhook(event).status_code, 200)
        refunds = (hold | capture).child_transaction_ids.filtered(
            lambda tx: tx.operation == "refund"
        )
        self.assertEqual(refunds, refund_tx)
        self.assertEqual(refund_tx.state, "done")
        self.assertEqual(
            sorted(self._payment_lines(booking.folio_ids).mapped("amount")),
            [-20.0, 60.0],
        )
        self.assertEqual(len(refunds.payment_id), 1)
        self.assertEqual(len(self._stripe_refunds(hold.provider_reference)), 1)

    @mute_logger(*MUTE)
    def test_refund_timeout_retried_refunds_once(self):
        booking = self._booking()
        token = self._card_on_file(booking)
        tx = booking._clock_charge(token, 100.0)
        self._stripe_fault("lose_answer", "POST", "/v1/refunds", times=ALL_ATTEMPTS)
        wizard, notice = self._refund_in_wizard(booking, 30.0)
        refund_tx = tx.child_transaction_ids
        self.assertEqual(refund_tx.state, "draft")
        self.assertEqual(notice["type"], "warning")
        self.assertIn("Not sure yet", notice["message"])
        self.assertEqual(len(self._stripe_refunds(tx.provider_reference)), 1)
        # The manager tries again: the wizard proposes the same refund, sent again
        # with its reference; Stripe refunds once.
        wizard, notice = self._refund_in_wizard(booking)
        self.assertEqual(wizard.amount, 30.0)
        self.assertEqual(notice["type"], "success")
        self.assertEqual(tx.child_transaction_ids, refund_tx)
        self.assertEqual(refund_tx.state, "done")
        self.assertEqual(len(self._stripe_refunds(tx.provider_reference)), 1)
        self.assertEqual(
            sorted(self._payment_lines(booking.folio_ids).mapped("amount")),
            [-30.0, 100.0],
        )

    # === 3. A refund that fails after it succeeded === #

    @mute_logger(*MUTE)
    def test_refund_failed_after_success_is_reversed_on_folio_and_accounting(self):
        booking = self._booking()
        token = self._card_on_file(booking)
        tx = booking._clock_charge(token, 100.0)
        refund_tx = booking._clock_refund(tx, 20.0)
        self.assertEqual(refund_tx.state, "done")
        folio = booking.folio_ids
        balance = folio.balance
        self.assertTrue(refund_tx.payment_id)
        refund = {
            "id": refund_tx.provider_reference,
            "object": "refund",
            "amount": 2000,
            "status": "failed",
            "failure_reason": "expired_or_canceled_card",
            "metadata": {const.METADATA_REFERENCE_KEY: refund_tx.reference},
        }
        for _attempt in range(2):
            response = self._post_webhook(self._event("charge.refund.updated", refund))
            self.assertEqual(response.status_code, 200)
        self.assertEqual(refund_tx.state, "error")
        self.assertEqual(
            sorted(self._payment_lines(folio).mapped("amount")), [-20.0, 20.0, 100.0]
        )
        self.assertEqual(folio.balance, balance - 20.0)
        self.assertEqual(refund_tx.payment_id.state, "canceled")
        self.assertEqual(tx._clock_get_refundable_amount(), 100.0)
        self.assertTrue(
            booking.message_ids.filtered(lambda m: "failed at Stripe" in (m.body or ""))
        )

    # === 5. Three-decimal currencies go by Stripe's step === #

    def test_three_decimal_amounts_off_stripes_step_are_refused(self):
        with self._spy_stripe() as calls:
            with self.assertRaisesRegex(ValidationError, "steps of"):
                self._clock_tx(amount=12.345, currency_id=self.currency_kwd.id)
        self.assertFalse(money_posts(calls))
        tx = self._clock_tx(amount=100.0, currency_id=self.currency_kwd.id)
        self._pay_with_card(tx)
        self.assertEqual(tx.state, "done")
        with self._spy_stripe() as calls:
            with self.assertRaisesRegex(ValidationError, "enter 12.340.* or 12.350"):
                tx._send_refund_request(amount_to_refund=12.345)
        self.assertFalse(money_posts(calls))
        refund_tx = tx._send_refund_request(amount_to_refund=12.34)
        self.assertEqual(refund_tx.amount, -12.34)
        self.assertEqual(refund_tx.clock_stripe_settlement_amount, -12.34)
        refunds = self._stripe_refunds(tx.provider_reference)
        self.assertEqual([r["amount"] for r in refunds], [12340])
