"""Money exactly once under faults (issue 9): Stripe unreachable during an
Autopilot charge is sent again with the same key, balances count the payments not
posted yet, and a payment confirmed by a webhook is posted at once. The faults are
the Stripe double's fault point (``_stripe_fault``); every money operation under
every fault is in the fault matrix (test_fault_matrix.py)."""

from datetime import timedelta
from unittest.mock import patch

import psycopg2

from odoo.exceptions import ValidationError
from odoo.tests import JsonRpcException, tagged
from odoo.tools import mute_logger

from .. import const
from ..controllers.portal import HotelPaymentPortal
from ..models.payment_transaction_hotel import PaymentTransaction
from .autopilot_common import AutopilotStripeCommon
from .hotel_common import MUTE, HotelPaymentHttpCommon

#: Every attempt of one SDK call: the first and the SDK's network retries.
ALL_ATTEMPTS = const.MAX_NETWORK_RETRIES + 1
CREATE_PATH = "/v1/payment_intents"


@tagged("post_install", "-at_install")
class TestAutopilotOutage(AutopilotStripeCommon):
    """Stripe unreachable while the Autopilot charges: the run's outcome is
    unknown, never a decline, until Stripe says what it received."""

    def _intents_of(self, tx):
        intents = self.stripe.v1.payment_intents.list(params={"limit": 100})
        return [
            pi
            for pi in intents.to_dict()["data"]
            if (pi.get("metadata") or {}).get("odoo_reference") == tx.reference
        ]

    def _update_card_mails(self, booking):
        return booking.message_ids.filtered(
            lambda m: "please update your card" in (m.subject or "")
        )

    def _assert_outcome_unknown(self, run, booking):
        tx = run.transaction_id
        self.assertEqual(run.state, "unknown")
        self.assertFalse(run.failure_kind)
        self.assertEqual(tx.state, "draft", "an outage is no decline")
        self.assertNotIn("declined", (tx.state_message or "").lower())
        self.assertNotIn("declined", (run.message or "").lower())
        self.assertFalse(self._update_card_mails(booking))

    def _assert_charged_once(self, run, booking):
        tx = run.transaction_id
        self.assertEqual(run.state, "done")
        self.assertEqual(tx.state, "done")
        self.assertEqual(len(run.transaction_ids), 1)
        self.assertEqual(len(self._intents_of(tx)), 1, "charged once at Stripe")
        lines = booking.folio_ids.line_ids.filtered(lambda x: x.kind == "payment")
        self.assertEqual(lines.mapped("amount"), [200.0])
        self.assertFalse(self._update_card_mails(booking))

    @mute_logger(*MUTE)
    def test_connection_reset_before_stripe_is_sent_again_with_the_same_key(self):
        booking = self._stay(arrival_in=2)
        self._add_card(booking)
        task = self._week_before_arrival_task(
            operation="charge", amount_basis="balance"
        )
        self._stripe_fault("reset", "POST", CREATE_PATH, times=ALL_ATTEMPTS)
        with self._spy_stripe() as calls:
            self._run_cron()
            run = self._run_of(task, booking)
            tx = run.transaction_id
            self._assert_outcome_unknown(run, booking)
            self.assertFalse(self._intents_of(tx), "Stripe never received it")
            self._run_cron(self.now + timedelta(minutes=15))
        self._assert_charged_once(run, booking)
        creates = [
            call
            for call in calls
            if call["method"] == "POST" and call["path"] == CREATE_PATH
        ]
        self.assertGreaterEqual(len(creates), 2)
        self.assertEqual(
            {call["headers"].get("Idempotency-Key") for call in creates},
            {self._expected_key(tx.reference, const.OPERATION_PAYMENT)},
        )


@tagged("post_install", "-at_install")
class TestMoneyInFlight(HotelPaymentHttpCommon):
    """What may be taken counts the payments not on the folio yet, and a
    webhook-confirmed payment is on the folio at once."""

    @mute_logger("odoo.http")
    def test_second_card_on_file_payment_above_what_is_left_is_refused(self):
        booking = self._booking(policy=self.policy_pay, nightly_price=90.0)
        booking._portal_ensure_token()
        folio = booking.folio_ids
        self.assertEqual(folio.balance, 270.0)
        token = self._card_on_file(booking)
        route = f"/my/bookings/{booking.id}/folio/{folio.id}/transaction"
        params = {
            "provider_id": self.provider.id,
            "payment_method_id": self.card_method.id,
            "token_id": token.id,
            "amount": 202.5,
            "flow": "token",
            "tokenization_requested": False,
            "landing_route": "/my",
            "is_validation": False,
            "access_token": booking.access_token,
        }
        first = self.make_jsonrpc_request(route, params)
        tx = self.env["payment.transaction"].search(
            [("reference", "=", first["reference"])]
        )
        self.assertEqual(tx.state, "done")
        with self._spy_stripe() as calls:
            with self.assertRaises(JsonRpcException) as refused:
                self.make_jsonrpc_request(route, params)
        self.assertEqual(str(refused.exception), "odoo.exceptions.ValidationError")
        with self.assertRaisesRegex(ValidationError, r"balance of 67\.5 "):
            HotelPaymentPortal._clock_check_folio_amount(folio.sudo(), 202.5)
        self.assertFalse(calls, "nothing is sent to Stripe")
        self.assertEqual(
            booking.transaction_ids.filtered(lambda t: t.amount == 202.5), tx
        )

    def test_hold_captured_in_the_dashboard_is_posted_at_once(self):
        booking = self._booking(policy=self.policy_pay)
        token = self._card_on_file(booking)
        hold = booking._clock_charge(token, 150.0, hold=True)
        self.assertEqual(hold.state, "authorized")
        # Captured in Stripe's Dashboard: Odoo learns it from the webhook only.
        self.stripe.v1.payment_intents.capture(hold.provider_reference)
        intent = self._stripe_pi(hold.provider_reference)
        response = self._post_webhook(self._event("payment_intent.succeeded", intent))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(hold.state, "done")
        self.assertTrue(hold.is_post_processed, "no post-processing cron needed")
        lines = booking.folio_ids.line_ids.filtered(lambda x: x.kind == "payment")
        self.assertEqual(lines.payment_transaction_id, hold)
        self.assertEqual(lines.amount, 150.0)
        self.assertTrue(hold.payment_id)
        self.assertEqual(booking.folio_ids.balance, 150.0)

    def test_webhook_posting_that_collides_is_tried_again_whole(self):
        """Webhooks posting to one folio at once (webhook_load_benchmark.py): the
        one whose posting collides is tried again whole, as Odoo retries a request
        on a serialization failure, rather than answered 200 with the payment
        off the folio until the post-processing cron."""
        booking = self._booking(policy=self.policy_pay)
        token = self._card_on_file(booking)
        hold = booking._clock_charge(token, 150.0, hold=True)
        self.stripe.v1.payment_intents.capture(hold.provider_reference)
        event = self._event(
            "payment_intent.succeeded", self._stripe_pi(hold.provider_reference)
        )
        events = self.env["clock.stripe.event"].sudo()
        collision = psycopg2.errors.SerializationFailure("concurrent update")
        with (
            patch.object(
                PaymentTransaction, "_clock_post_process_now", side_effect=collision
            ),
            self.assertRaises(psycopg2.errors.SerializationFailure),
            self.env.cr.savepoint(),
        ):
            events._clock_stripe_process(self.provider, event)
        self.assertEqual(hold.state, "authorized", "nothing kept for the retry")
        self.assertEqual(
            events._clock_stripe_process(self.provider, event), "processed"
        )
        self.assertEqual(hold.state, "done")
        self.assertEqual(self._payment_lines(booking.folio_ids).amount, 150.0)
        self.assertTrue(hold.payment_id)
