"""MyBooking's card pages against a hostile guest: the OTA's virtual card, a
flow the page does not offer, a guarantee confirmed too late, nan amounts,
oracles and leaks, and card testing."""

import logging
from unittest.mock import patch

import stripe

from odoo.tests import JsonRpcException, tagged
from odoo.tools import mute_logger

from .. import const
from ..stripe_api import ClockStripeClient, ClockStripeError
from .common import (
    CARD_3DS,
    CARD_DECLINED_AT_ATTACH,
    CARD_DECLINED_AT_CHARGE,
    money_posts,
)
from .hotel_common import MUTE, HotelPaymentHttpCommon


@tagged("post_install", "-at_install")
class TestHotelPortalAbuse(HotelPaymentHttpCommon):
    def _new_booking(self, policy=None):
        booking = self._booking(
            policy=policy or self.policy_pay, confirm=False, channel="booking_engine"
        )
        booking._portal_ensure_token()
        return booking

    def _guarantee_route(self, booking):
        return f"/my/bookings/{booking.id}/guarantee/transaction"

    # === 3. The OTA's virtual card === #

    @mute_logger("odoo.http")
    def test_guest_cannot_replace_the_virtual_card(self):
        booking = self._booking()
        booking._portal_ensure_token()
        virtual = self._card_on_file(booking, card_type="virtual")
        card = booking.card_ids
        page = self.url_open(booking.get_portal_url())
        self.assertIn("clock_card_label", page.text)
        self.assertNotIn(f"/card/{card.id}?", page.text)
        response = self.url_open(
            f"/my/bookings/{booking.id}/card/{card.id}"
            f"?access_token={booking.access_token}"
        )
        self.assertEqual(response.status_code, 404)
        with self._assertNotFound():
            self._create_tx(
                f"/my/bookings/{booking.id}/card/{card.id}/transaction", booking
            )
        self.assertEqual(booking.card_ids.card_type, "virtual")
        self.assertEqual(booking.card_ids.token_id, virtual)
        self.assertFalse(booking.transaction_ids)

    # === 4. The server decides the flow === #

    @mute_logger("odoo.http")
    def test_redirect_flow_is_refused_on_the_guarantee_and_card_pages(self):
        booking = self._new_booking(self.policy_hold)
        routes = (
            self._guarantee_route(booking),
            f"/my/bookings/{booking.id}/card/transaction",
        )
        with self._spy_stripe() as calls:
            for route in routes:
                with self.assertRaises(JsonRpcException, msg=route):
                    self._create_tx(route, booking, flow="redirect")
        self.assertFalse(booking.transaction_ids)
        self.assertFalse(calls)
        self.assertEqual(booking.guarantee_status, "awaiting")

    # === 5. Eligibility again at confirmation === #

    @mute_logger(*MUTE)
    def test_guarantee_confirmed_in_a_second_tab_charges_nothing(self):
        booking = self._new_booking()
        first = self._create_tx(self._guarantee_route(booking), booking)
        second = self._create_tx(self._guarantee_route(booking), booking)
        self._confirm_in_browser(first)
        first._post_process()  # The status page of the first tab.
        self.assertEqual(booking.guarantee_status, "guaranteed")
        with self._spy_stripe() as calls:
            answer = self._confirm_in_browser(second)
        self.assertFalse(money_posts(calls))
        self.assertEqual(answer["state"], "cancel")
        self.assertIn("no longer needs", answer["message"])
        self.assertEqual(second.state, "cancel")
        self.assertEqual(
            booking.transaction_ids.filtered(lambda tx: tx.state == "done"), first
        )

    @mute_logger(*MUTE)
    def test_guarantee_of_a_cancelled_booking_charges_nothing(self):
        booking = self._new_booking()
        tx = self._create_tx(self._guarantee_route(booking), booking)
        booking.action_cancel()
        with self._spy_stripe() as calls:
            answer = self._confirm_in_browser(tx)
        self.assertFalse(money_posts(calls))
        self.assertEqual((answer["state"], tx.state), ("cancel", "cancel"))
        self.assertEqual(booking.state, "cancelled")

    def _net_at_stripe(self, transactions):
        """What the double kept of the transactions' payments, in minor units:
        succeeded payments less their refunds (holds and released holds keep
        nothing)."""
        net = 0
        for tx in transactions:
            intent = self._stripe_pi(tx.provider_reference)
            if intent["status"] != "succeeded":
                continue
            refunds = tx._clock_stripe_client().list_refunds(tx.provider_reference)
            net += intent["amount"] - sum(
                refund["amount"]
                for refund in refunds
                if refund.get("status") == "succeeded"
            )
        return net

    def _staff_notes(self, booking):
        return " ".join(
            booking.message_ids.filtered(
                lambda message: message.subtype_id == self.env.ref("mail.mt_note")
            ).mapped("body")
        )

    @mute_logger(*MUTE)
    def test_two_tabs_paid_at_stripe_leave_one_deposit(self):
        booking = self._new_booking()
        first = self._create_tx(self._guarantee_route(booking), booking)
        second = self._create_tx(self._guarantee_route(booking), booking)
        # Both tabs pay before either status page has run.
        self._confirm_in_browser(first)
        self._confirm_in_browser(second)
        self.assertEqual((first.state, second.state), ("done", "done"))
        first._post_process()  # The status page of each tab.
        second._post_process()
        self.assertEqual(booking.guarantee_status, "guaranteed")
        self.assertEqual(
            self._net_at_stripe(first | second), first._clock_stripe_minor()
        )
        refund = second.child_transaction_ids.filtered(
            lambda tx: tx.operation == "refund"
        )
        self.assertEqual((refund.state, refund.amount), ("done", -100.0))
        folio = booking.folio_ids
        self.assertEqual(sum(self._payment_lines(folio).mapped("amount")), 100.0)
        self.assertEqual(folio.balance, 200.0)
        self.assertIn("already guaranteed", second.state_message)
        self.assertIn("refunded", second.state_message)
        self.assertNotIn("declined", second.state_message)
        self.assertIn(second.reference, self._staff_notes(booking))
        page = self.url_open(booking.get_portal_url())
        self.assertNotIn("clock_card_error", page.text)

    @mute_logger(*MUTE)
    def test_hold_completed_after_the_booking_was_cancelled_is_released(self):
        booking = self._new_booking(self.policy_hold)
        tx = self._create_tx(self._guarantee_route(booking), booking)
        answer = self._confirm_in_browser(tx, number=CARD_3DS)
        self.assertTrue(answer["requires_action"], answer)
        booking.action_cancel()  # While the guest is on 3-D Secure.
        self._authenticate_3ds(tx.provider_reference, answer["client_secret"])
        answer = self.make_jsonrpc_request(
            "/payment/clock_stripe/confirm",
            {
                "reference": tx.reference,
                "access_token": tx._clock_stripe_access_token(),
                "payment_intent_id": tx.provider_reference,
            },
        )
        self.assertEqual(answer["state"], "authorized")
        tx._post_process()  # The status page, or the webhook.
        self.assertEqual(tx.state, "cancel")
        self.assertEqual(self._stripe_pi(tx.provider_reference)["status"], "canceled")
        self.assertFalse(self._payment_lines(booking.folio_ids))
        self.assertEqual(booking.state, "cancelled")
        self.assertIn("released", tx.state_message)
        self.assertIn("nothing was charged", tx.state_message)
        self.assertIn(tx.reference, self._staff_notes(booking))
        page = self.url_open(booking.get_portal_url())
        self.assertNotIn("clock_card_error", page.text)

    @mute_logger(*MUTE)
    def test_payment_reported_by_webhook_after_the_cancellation_is_refunded(self):
        booking = self._booking()  # Confirmed by staff, guaranteed from the e-mail.
        booking._portal_ensure_token()
        tx = self._create_tx(self._guarantee_route(booking), booking)
        answer = self._confirm_in_browser(tx, number=CARD_3DS)
        self.assertTrue(answer["requires_action"], answer)
        booking.action_cancel()
        # The guest completes 3-D Secure and closes the tab: only Stripe tells.
        self._authenticate_3ds(tx.provider_reference, answer["client_secret"])
        response = self._post_webhook(
            self._event(
                "payment_intent.succeeded", self._stripe_pi(tx.provider_reference)
            )
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(tx.state, "done")
        self.assertEqual(self._net_at_stripe(tx), 0)
        lines = self._payment_lines(booking.folio_ids)
        self.assertEqual(sorted(lines.mapped("amount")), [-100.0, 100.0])
        self.assertIn("refunded", tx.state_message)
        self.assertIn(tx.reference, self._staff_notes(booking))

    # === 6. Numbers that are not numbers === #

    @mute_logger("odoo.http")
    def test_nan_and_infinite_amounts_are_refused(self):
        booking = self._booking()
        booking._portal_ensure_token()
        folio = booking.folio_ids
        base = f"/my/bookings/{booking.id}/folio/{folio.id}"
        for amount in ("nan", "inf", "-inf", "1e400", "NaN"):
            page = self.url_open(
                f"{base}/pay?access_token={booking.access_token}&amount={amount}"
            )
            self.assertEqual(page.status_code, 200, amount)
            self.assertIn("Please enter an amount to pay", page.text)
            error = self._rpc_error(
                f"{base}/transaction", self._tx_params(booking, amount=amount)
            )
            self.assertIn("Please enter an amount to pay", error["data"]["message"])
        self.assertFalse(booking.transaction_ids)

    # === 7. Oracles and leaks === #

    @mute_logger("odoo.http")
    def test_unknown_and_foreign_references_answer_the_same(self):
        booking = self._new_booking()
        tx = self._create_tx(self._guarantee_route(booking), booking)
        unknown = self._rpc_error(
            "/payment/clock_stripe/confirm",
            {"reference": "NO-SUCH-REF", "access_token": "x"},
        )
        foreign = self._rpc_error(
            "/payment/clock_stripe/confirm",
            {"reference": tx.reference, "access_token": "x"},
        )
        self.assertEqual(
            (unknown["data"]["name"], unknown["data"]["message"]),
            (foreign["data"]["name"], foreign["data"]["message"]),
        )
        statuses = {
            self.url_open(
                f"/payment/clock_stripe/checkout_redirect?reference={reference}"
                "&redirect_token=x",
                allow_redirects=False,
            ).status_code
            for reference in ("NO-SUCH-REF", tx.reference)
        }
        self.assertEqual(len(statuses), 1)
        self.assertEqual(tx.state, "draft")

    @mute_logger(*MUTE, "odoo.http")
    def test_stripe_messages_with_object_ids_are_not_shown_to_the_guest(self):
        booking = self._new_booking()
        tx = self._create_tx(self._guarantee_route(booking), booking)
        refusal = ClockStripeError(
            "Stripe refused the request: No such setupintent: 'seti_1Secret'",
            kind="invalid_request",
        )
        with patch.object(
            ClockStripeClient, "retrieve_setup_intent", side_effect=refusal
        ):
            error = self._rpc_error(
                "/payment/clock_stripe/confirm",
                {
                    "reference": tx.reference,
                    "access_token": tx._clock_stripe_access_token(),
                    "setup_intent_id": tx.clock_stripe_setup_intent_ref,
                },
            )
        self.assertNotIn("seti_", error["data"]["message"])
        self.assertIn("could not be processed", error["data"]["message"])

    @mute_logger("odoo.addons.clock_stripe_payment.stripe_api")
    def test_access_token_is_not_logged(self):
        booking = self._new_booking()
        with self.assertLogs("odoo.addons", level=logging.INFO) as logs:
            tx = self._create_tx(self._guarantee_route(booking), booking)
        token = tx._clock_stripe_access_token()
        self.assertFalse([line for line in logs.output if token in line])

    # === 2. Card testing === #

    @mute_logger("odoo.http")
    def test_card_attempts_per_booking_are_budgeted(self):
        self.env["ir.config_parameter"].set_param(
            "clock_stripe_payment.card_budget_per_booking", 2
        )
        booking = self._new_booking()
        for _attempt in range(2):
            self._create_tx(self._guarantee_route(booking), booking)
        with self._spy_stripe() as calls:
            error = self._rpc_error(
                self._guarantee_route(booking), self._tx_params(booking)
            )
        self.assertIn("Too many card attempts", error["data"]["message"])
        self.assertFalse(calls)
        self.assertEqual(len(booking.transaction_ids), 2)

    @mute_logger("odoo.http", *MUTE)
    def test_failed_confirmations_spend_the_budget_of_the_client_address(self):
        self.env["ir.config_parameter"].set_param(
            "clock_stripe_payment.card_budget_per_address", 3
        )
        booking = self._new_booking()
        tx = self._create_tx(self._guarantee_route(booking), booking)
        self._confirm_in_browser(tx, number=CARD_DECLINED_AT_CHARGE)
        self.assertEqual(tx.state, "error")
        self._create_tx(f"/my/bookings/{booking.id}/card/transaction", booking)
        other = self._new_booking()
        error = self._rpc_error(self._guarantee_route(other), self._tx_params(other))
        self.assertIn("Too many card attempts", error["data"]["message"])
        self.assertFalse(other.transaction_ids)

    def _set_card_budget(self, name, value):
        self.env["ir.config_parameter"].set_param(
            f"clock_stripe_payment.card_budget_{name}", value
        )

    def _assert_card_budget_spent(self, booking):
        with self._spy_stripe() as calls:
            error = self._rpc_error(
                self._guarantee_route(booking), self._tx_params(booking)
            )
        self.assertIn("Too many card attempts", error["data"]["message"])
        self.assertFalse(calls)

    def _decline_card_setup(self, tx):
        """What a script does with the client secret of the transaction's
        SetupIntent: confirm it at Stripe with a card that is declined, and never
        tell Odoo."""
        card = self._create_card(CARD_DECLINED_AT_ATTACH)
        with self.assertRaises(stripe.CardError):
            self.stripe.v1.setup_intents.confirm(
                tx.clock_stripe_setup_intent_ref, params={"payment_method": card["id"]}
            )

    def _confirm_setup(self, tx):
        """The confirm route, called with the transaction's SetupIntent."""
        return self.make_jsonrpc_request(
            "/payment/clock_stripe/confirm",
            {
                "reference": tx.reference,
                "access_token": tx._clock_stripe_access_token(),
                "setup_intent_id": tx.clock_stripe_setup_intent_ref,
            },
        )

    def _assert_setup_takes_no_card(self, tx):
        """The SetupIntent is cancelled at Stripe: its client secret confirms no
        other card."""
        setup_intent_id = tx.clock_stripe_setup_intent_ref
        card = self._create_card()
        with self.assertRaises(stripe.InvalidRequestError) as refusal:
            self.stripe.v1.setup_intents.confirm(
                setup_intent_id, params={"payment_method": card["id"]}
            )
        self.assertIn("status of canceled", refusal.exception.user_message)

    @mute_logger("odoo.http", *MUTE)
    def test_a_card_setup_refused_on_the_confirm_route_takes_no_other_card(self):
        self._set_card_budget("per_booking", 3)
        booking = self._new_booking()
        tx = self._create_tx(self._guarantee_route(booking), booking)
        self._decline_card_setup(tx)
        answer = self._confirm_setup(tx)
        self.assertEqual((answer["state"], tx.state), ("error", "error"))
        self.assertIn("declined", answer["message"])
        self._assert_setup_takes_no_card(tx)
        # The card form and the refused card spent two attempts of three.
        self._create_tx(self._guarantee_route(booking), booking)
        self._assert_card_budget_spent(booking)

    @mute_logger("odoo.http", *MUTE)
    def test_a_card_setup_failed_at_stripe_is_counted_and_takes_no_other_card(self):
        self._set_card_budget("per_booking", 2)
        booking = self._new_booking()
        tx = self._create_tx(self._guarantee_route(booking), booking)
        self._decline_card_setup(tx)
        setup_intent = self.stripe.v1.setup_intents.retrieve(
            tx.clock_stripe_setup_intent_ref
        ).to_dict()
        response = self._post_webhook(
            self._event("setup_intent.setup_failed", setup_intent)
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(tx.state, "error")
        self.assertIn("declined", tx.state_message)
        self._assert_setup_takes_no_card(tx)
        self._assert_card_budget_spent(booking)
        # The guest's browser, late: the refusal is not counted twice.
        self._set_card_budget("per_booking", 3)
        answer = self._confirm_setup(tx)
        self.assertEqual(answer["state"], "error")
        self._create_tx(self._guarantee_route(booking), booking)
        self._assert_card_budget_spent(booking)

    @mute_logger(
        "odoo.http",
        "odoo.addons.clock_stripe_payment.stripe_api",
        "odoo.addons.payment.models.payment_transaction",
    )
    def test_a_card_setup_that_stripe_cannot_cancel_still_answers_the_guest(self):
        booking = self._new_booking()
        tx = self._create_tx(self._guarantee_route(booking), booking)
        self._decline_card_setup(tx)
        self._stripe_fault(
            "reset",
            "POST",
            "/v1/setup_intents/*/cancel",
            times=1 + const.MAX_NETWORK_RETRIES,
        )
        with self.assertLogs("odoo.addons.clock_stripe_payment", "WARNING") as logs:
            answer = self._confirm_setup(tx)
        self.assertEqual((answer["state"], tx.state), ("error", "error"))
        self.assertIn("declined", answer["message"])
        self.assertIn(tx.reference, " ".join(logs.output))
        self.assertIn("not cancelled", " ".join(logs.output))

    def _odoo_transaction_params(self, partner, amount=None, currency=None):
        """The values Odoo's own pages post to /payment/transaction: a card saved
        on /my/payment_method (no amount), or paid on /payment/pay."""
        currency_id = currency.id if currency else None
        return {
            "provider_id": self.provider.id,
            "payment_method_id": self.card_method.id,
            "token_id": None,
            "amount": amount,
            "currency_id": currency_id,
            "partner_id": partner.id,
            "access_token": self._generate_test_access_token(
                partner.id, amount, currency_id
            ),
            "flow": "direct",
            "tokenization_requested": True,
            "landing_route": "/my/payment_method",
            "is_validation": amount is None,
        }

    @mute_logger("odoo.http")
    def test_odoos_own_payment_pages_spend_the_card_budget(self):
        self._set_card_budget("per_address", 2)
        booking = self._new_booking()
        self._create_tx(self._guarantee_route(booking), booking)  # Counted once.
        save_card = self._odoo_transaction_params(self.guest)
        pay = self._odoo_transaction_params(self.guest, 100.0, self.currency_euro)
        self.make_jsonrpc_request("/payment/transaction", save_card)
        transactions = self.env["payment.transaction"].search_count([])
        for params in (save_card, pay):
            with self._spy_stripe() as calls:
                error = self._rpc_error("/payment/transaction", params)
            self.assertIn("Too many card attempts", error["data"]["message"])
            self.assertFalse(calls)
        self.assertEqual(self.env["payment.transaction"].search_count([]), transactions)

    @mute_logger("odoo.http")
    def test_card_attempts_per_guest_email_are_budgeted_across_bookings(self):
        self._set_card_budget("per_email", 2)
        for _booking in range(2):
            booking = self._new_booking()
            self._create_tx(self._guarantee_route(booking), booking)
        tagged_guest = self.guest.copy({"email": "Maria.Petrova+3@example.com"})
        other = self._booking(
            confirm=False, channel="booking_engine", partner_id=tagged_guest.id
        )
        other._portal_ensure_token()
        self._assert_card_budget_spent(other)
        self.assertFalse(other.transaction_ids)
