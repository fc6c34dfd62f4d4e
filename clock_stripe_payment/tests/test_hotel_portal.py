"""The guest's side over HTTP: the booking engine's card step (pay, hold, save),
a declined card then a good one, MyBooking payments and cards, posting exactly
once, and the access and tampering cases."""

import re
from datetime import timedelta
from html import unescape
from unittest.mock import patch

from odoo import fields
from odoo.tests import JsonRpcException, tagged
from odoo.tools import mute_logger

from .common import CARD_DECLINED_AT_CHARGE, CARD_OK
from .hotel_common import MUTE, HotelPaymentHttpCommon

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@tagged("post_install", "-at_install")
class TestHotelPortal(HotelPaymentHttpCommon):
    # === Helpers === #

    def _guarantee_url(self, booking):
        return booking._clock_get_guarantee_url()

    def _status_page_poll(self):
        """What /payment/status does in the guest's browser (post-processing)."""
        return self.make_jsonrpc_request("/payment/status/poll", {})

    def _run_post_processing_cron(self):
        """payment's post-processing cron (it commits per transaction)."""
        with patch.object(self.env.cr, "commit", lambda: None):
            self.env["payment.transaction"]._cron_post_process()

    def _guarantee(self, booking, number=CARD_OK, **overrides):
        tx = self._create_tx(
            f"/my/bookings/{booking.id}/guarantee/transaction", booking, **overrides
        )
        answer = self._confirm_in_browser(tx, number=number)
        self._status_page_poll()
        return tx, answer

    def _new_booking(self, policy):
        booking = self._booking(policy=policy, confirm=False, channel="booking_engine")
        booking._portal_ensure_token()
        return booking

    # === Booking engine card step === #

    def _hidden_fields(self, html, action):
        """Hidden inputs of the first form posting to ``action``."""
        body = re.search(
            rf'<form[^>]*action="{re.escape(action)}"[^>]*>(.*?)</form>', html, re.S
        ).group(1)
        return {
            name: unescape(value)
            for name, value in re.findall(
                r'<input type="hidden" name="([^"]+)" value="([^"]*)"', body
            )
        }

    def test_booking_engine_sends_a_card_policy_to_the_card_step(self):
        self.authenticate(None, None)
        page = self.url_open(
            f"/book?arrival={self._arrival()}&departure={self._departure()}&guests=2"
        )
        details = self.url_open(
            "/book/details", data=self._hidden_fields(page.text, "/book/details")
        )
        form = self._hidden_fields(details.text, "/book/summary")
        form.update(name="Ana Ivanova", email="ana.ivanova@example.com")
        summary = self.url_open("/book/summary", data=form)
        self.assertIn("clock_booking_card_notice", summary.text)
        self.assertIn("pay the deposit by card", summary.text)
        self.assertIn("Continue to card", summary.text)

        response = self.url_open(
            "/book/finish", data=self._hidden_fields(summary.text, "/book/finish")
        )
        self.assertEqual(response.status_code, 200)
        booking = self.env["clock.reservation"].search(
            [("partner_id.email", "=", "ana.ivanova@example.com")]
        )
        self.assertEqual(booking.state, "draft", "confirmed only when the card step ok")
        self.assertEqual(booking.guarantee_policy_id, self.policy_pay)
        self.assertIn(f"/my/bookings/{booking.id}/guarantee", response.url)
        self.assertIn('id="o_payment_form"', response.text)
        self.assertIn('data-amount="100.0"', response.text)

    def _arrival(self):
        return fields.Date.to_string(fields.Date.today() + timedelta(days=10))

    def _departure(self):
        return fields.Date.to_string(fields.Date.today() + timedelta(days=13))

    def test_pay_variant_confirms_guarantees_and_posts_the_deposit(self):
        booking = self._new_booking(self.policy_pay)
        url = booking._booking_engine_complete()
        self.assertEqual(url, self._guarantee_url(booking))
        self.assertEqual(booking.state, "draft")
        page = self.url_open(url)
        self.assertEqual(page.status_code, 200)
        self.assertIn('data-amount="100.0"', page.text)
        self.assertIn(f"/my/bookings/{booking.id}/guarantee/transaction", page.text)

        # The browser says 1.00 and a foreign landing page: both are ignored.
        tx, answer = self._guarantee(booking, amount=1.0, landing_route="https://x.y")
        self.assertEqual(tx.amount, 100.0)
        self.assertTrue(tx.clock_guarantee)
        self.assertEqual(tx.landing_route, booking.get_portal_url())
        self.assertEqual(answer["state"], "done")

        self.assertEqual(booking.state, "confirmed")
        self.assertEqual(booking.guarantee_status, "guaranteed")
        self.assertEqual(booking.card_ids.token_id, tx.token_id)
        self.assertTrue(tx.token_id.active)
        folio = booking.folio_ids
        line = self._payment_lines(folio)
        self.assertEqual(line.amount, 100.0)
        self.assertEqual(line.account_payment_id, tx.payment_id)
        self.assertEqual(folio.balance, 200.0)

        my_booking = self.url_open(booking.get_portal_url())
        self.assertIn("clock_card_label", my_booking.text)
        self.assertIn("4242", my_booking.text)
        self.assertNotIn("clock_guarantee_button", my_booking.text)

    def test_hold_variant_holds_the_deposit_without_posting_it(self):
        booking = self._new_booking(self.policy_hold)
        tx, answer = self._guarantee(booking)
        self.assertEqual(answer["state"], "authorized")
        self.assertTrue(tx.clock_stripe_capture_manually)
        self.assertEqual(tx.amount, 100.0)
        self.assertEqual(booking.state, "confirmed")
        self.assertEqual(booking.guarantee_status, "guaranteed")
        self.assertTrue(booking.card_ids)
        folio = booking.folio_ids
        self.assertEqual(folio.clock_hold_ids, tx)
        self.assertFalse(self._payment_lines(folio))
        self.assertEqual(folio.balance, 300.0)

    def test_tokenize_variant_saves_the_card_only(self):
        booking = self._new_booking(self.policy_tokenize)
        page = self.url_open(self._guarantee_url(booking))
        self.assertIn('data-mode="validation"', page.text)
        # The browser pretends to pay 50: the server saves the card only.
        tx, answer = self._guarantee(booking, amount=50.0, is_validation=False)
        self.assertEqual(tx.operation, "validation")
        self.assertEqual(answer["state"], "done")
        self.assertEqual(booking.state, "confirmed")
        self.assertEqual(booking.guarantee_status, "guaranteed")
        self.assertEqual(booking.card_ids.token_id, tx.token_id)
        self.assertFalse(self._payment_lines(booking.folio_ids))
        self.assertFalse(tx.payment_id)

    @mute_logger(*MUTE)
    def test_declined_card_then_a_good_one(self):
        booking = self._new_booking(self.policy_pay)
        tx, answer = self._guarantee(booking, number=CARD_DECLINED_AT_CHARGE)
        self.assertEqual(tx.state, "error")
        self.assertTrue(answer["error"])
        self.assertEqual(booking.state, "draft")
        self.assertEqual(booking.guarantee_status, "awaiting")
        self.assertFalse(booking.folio_ids)

        my_booking = self.url_open(booking.get_portal_url())
        self.assertIn("clock_card_error", my_booking.text)
        self.assertIn("Try again", my_booking.text)
        retry = self.url_open(self._guarantee_url(booking))
        self.assertIn("clock_card_error", retry.text)
        self.assertIn('id="o_payment_form"', retry.text)

        tx2, answer2 = self._guarantee(booking)
        self.assertEqual(answer2["state"], "done")
        self.assertEqual(booking.state, "confirmed")
        self.assertEqual(booking.guarantee_status, "guaranteed")
        self.assertEqual(
            self._payment_lines(booking.folio_ids).payment_transaction_id, tx2
        )
        my_booking = self.url_open(booking.get_portal_url())
        self.assertNotIn("clock_card_error", my_booking.text)

    @mute_logger("odoo.http")
    def test_policy_of_an_inactive_card_provider_is_not_offered(self):
        self.hotel.clock_stripe_card_provider_id = False
        booking = self._new_booking(self.policy_pay)
        url = booking._booking_engine_complete()
        self.assertEqual(booking.state, "confirmed", "completed as by the core")
        self.assertNotIn("/guarantee", url)
        response = self.url_open(self._guarantee_url(booking), allow_redirects=False)
        self.assertEqual(response.status_code, 303)
        my_booking = self.url_open(booking.get_portal_url())
        self.assertNotIn("clock_guarantee_button", my_booking.text)
        self.assertNotIn("clock_booking_cards", my_booking.text)
        with self.assertRaises(JsonRpcException):
            self._create_tx(f"/my/bookings/{booking.id}/guarantee/transaction", booking)

    # === Posting exactly once === #

    def test_return_page_webhook_and_cron_post_once(self):
        booking = self._new_booking(self.policy_pay)
        tx = self._create_tx(
            f"/my/bookings/{booking.id}/guarantee/transaction", booking
        )
        self._confirm_in_browser(tx)  # the return of the card form
        self.assertEqual(tx.state, "done")

        payment_intent = self._stripe_pi(tx.provider_reference)
        response = self._post_webhook(
            self._event("payment_intent.succeeded", payment_intent)
        )
        self.assertEqual(response.status_code, 200)
        self._run_post_processing_cron()
        self._status_page_poll()  # the status page
        tx.is_post_processed = False  # as if the webhook had reset it
        self._run_post_processing_cron()
        tx._post_process()

        lines = self._payment_lines(booking.folio_ids)
        self.assertEqual(len(lines), 1)
        self.assertEqual(lines.payment_transaction_id, tx)
        payments = self.env["account.payment"].search(
            [("payment_transaction_id", "=", tx.id)]
        )
        self.assertEqual(len(payments), 1)
        self.assertEqual(lines.account_payment_id, payments)
        self.assertEqual(booking.folio_ids.balance, 200.0)
        self.assertEqual(len(booking.card_ids), 1)

    # === MyBooking: pay a folio === #

    def _folio_route(self, booking, folio=None, suffix="pay"):
        folio = folio or booking.folio_ids
        return f"/my/bookings/{booking.id}/folio/{folio.id}/{suffix}"

    def test_pay_part_of_a_folio_balance(self):
        booking = self._booking(policy=self.policy_pay)
        booking._portal_ensure_token()
        my_booking = self.url_open(booking.get_portal_url())
        self.assertIn(self._folio_route(booking), my_booking.text)
        page = self.url_open(
            f"{self._folio_route(booking)}?access_token={booking.access_token}"
            "&amount=120"
        )
        self.assertIn('data-amount="120.0"', page.text)

        route = self._folio_route(booking, suffix="transaction")
        tx = self._create_tx(route, booking, amount=120.0)
        self.assertEqual(tx.amount, 120.0)
        self.assertEqual(tx.clock_folio_ids, booking.folio_ids)
        self._confirm_in_browser(tx)
        self._status_page_poll()
        self.assertEqual(booking.folio_ids.balance, 180.0)
        self.assertEqual(self._payment_lines(booking.folio_ids).amount, 120.0)
        self.assertTrue(tx.payment_id)

    @mute_logger("odoo.http")
    def test_pay_a_folio_with_a_card_on_file_of_the_booking_only(self):
        booking = self._booking(policy=self.policy_pay)
        booking._portal_ensure_token()
        token = self._card_on_file(booking)
        not_on_file = self._save_card(partner=self.guest)
        page = self.url_open(
            f"{self._folio_route(booking)}?access_token={booking.access_token}"
        )
        self.assertIn(f'data-payment-option-id="{token.id}"', page.text)
        self.assertNotIn(f'data-payment-option-id="{not_on_file.id}"', page.text)
        route = self._folio_route(booking, suffix="transaction")
        with self.assertRaises(JsonRpcException):
            self._create_tx(
                route, booking, flow="token", token_id=not_on_file.id, amount=50.0
            )
        tx = self._create_tx(
            route, booking, flow="token", token_id=token.id, amount=50.0
        )
        self.assertEqual(tx.operation, "online_token")
        self.assertEqual(tx.state, "done")
        self._status_page_poll()
        self.assertEqual(booking.folio_ids.balance, 250.0)

    @mute_logger("odoo.http")
    def test_folio_amount_above_the_balance_or_not_positive_is_refused(self):
        booking = self._booking(policy=self.policy_pay)
        booking._portal_ensure_token()
        route = self._folio_route(booking, suffix="transaction")
        for amount in (300.01, 0.0, -5.0, None, "abc"):
            with self.assertRaises(JsonRpcException):
                self._create_tx(route, booking, amount=amount)
        page = self.url_open(
            f"{self._folio_route(booking)}?access_token={booking.access_token}"
            "&amount=1000"
        )
        self.assertIn("clock_card_error", page.text)
        self.assertIn('data-amount="300.0"', page.text)
        self.assertFalse(booking.transaction_ids)

    # === MyBooking: cards === #

    def test_replace_a_card_on_file(self):
        booking = self._booking(policy=self.policy_tokenize)
        booking._portal_ensure_token()
        old_token = self._card_on_file(booking)
        old_card = booking.card_ids
        my_booking = self.url_open(booking.get_portal_url())
        self.assertIn(f"/my/bookings/{booking.id}/card/{old_card.id}", my_booking.text)
        self.assertIn("4242", my_booking.text)
        page = self.url_open(
            f"/my/bookings/{booking.id}/card/{old_card.id}"
            f"?access_token={booking.access_token}"
        )
        self.assertIn('data-mode="validation"', page.text)
        tx = self._create_tx(
            f"/my/bookings/{booking.id}/card/{old_card.id}/transaction", booking
        )
        self.assertEqual(tx.operation, "validation")
        self.assertEqual(tx.clock_replace_token_id, old_token)
        self._confirm_in_browser(tx)
        self._status_page_poll()
        self.assertEqual(booking.card_ids.token_id, tx.token_id)
        self.assertNotEqual(tx.token_id, old_token)
        self.assertFalse(old_token.active, "the replaced card is deleted")
        self.assertFalse(
            self._stripe_pm(old_token.clock_stripe_payment_method_id)["customer"]
        )

    # === Access and tampering === #

    def test_wrong_or_missing_token_is_not_found_and_changes_nothing(self):
        booking = self._new_booking(self.policy_pay)
        confirmed = self._booking(policy=self.policy_pay)
        confirmed._portal_ensure_token()
        other = self._booking(policy=self.policy_pay)
        other._portal_ensure_token()
        pages = [
            f"/my/bookings/{booking.id}/guarantee",
            f"/my/bookings/{booking.id}/card",
            self._folio_route(confirmed),
        ]
        for page in pages:
            for query in (
                "",
                "?access_token=wrong",
                f"?access_token={other.access_token}",
            ):
                response = self.url_open(page + query)
                self.assertEqual(response.status_code, 404, page + query)
        routes = [
            (f"/my/bookings/{booking.id}/guarantee/transaction", booking),
            (f"/my/bookings/{booking.id}/card/transaction", booking),
            (self._folio_route(confirmed, suffix="transaction"), confirmed),
        ]
        for route, record in routes:
            for access_token in (None, "wrong", other.access_token):
                with self._assertNotFound():
                    self._create_tx(
                        route, record, access_token=access_token, amount=10.0
                    )
        # A folio or a card of another booking, with this booking's token.
        with self._assertNotFound():
            self._create_tx(
                self._folio_route(confirmed, other.folio_ids, "transaction"),
                confirmed,
                amount=10.0,
            )
        other_token = self._card_on_file(other)
        with self._assertNotFound():
            self._create_tx(
                f"/my/bookings/{confirmed.id}/card/{other.card_ids.id}/transaction",
                confirmed,
            )
        self.assertTrue(other_token.active)
        self.assertFalse((booking | confirmed | other).transaction_ids)
        self.assertEqual(booking.state, "draft")

    def test_hidden_folio_cannot_be_paid(self):
        booking = self._booking(policy=self.policy_pay)
        booking._portal_ensure_token()
        booking.folio_ids.hide_on_portal = True
        response = self.url_open(
            f"{self._folio_route(booking)}?access_token={booking.access_token}"
        )
        self.assertEqual(response.status_code, 404)
        with self._assertNotFound():
            self._create_tx(
                self._folio_route(booking, suffix="transaction"), booking, amount=10.0
            )

    @mute_logger("odoo.http")
    def test_guarantee_route_refuses_another_provider_and_a_guaranteed_booking(self):
        booking = self._new_booking(self.policy_pay)
        with self.assertRaises(JsonRpcException):
            self._create_tx(
                f"/my/bookings/{booking.id}/guarantee/transaction",
                booking,
                provider_id=self.dummy_provider.id,
            )
        booking.action_confirm()
        booking.guarantee_status = "guaranteed"
        with self.assertRaises(JsonRpcException):
            self._create_tx(f"/my/bookings/{booking.id}/guarantee/transaction", booking)
        self.assertFalse(booking.transaction_ids)
