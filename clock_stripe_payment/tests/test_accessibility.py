"""Accessibility of the guest card pages, and a booking paid with the keyboard alone.

axe-core runs in the browser on each page, in English and in Bulgarian, and fails on
any serious or critical violation of WCAG 2.1 A/AA in the page content (see
``clock_pms/tests/a11y_common.py`` and ``clock_pms/static/tests/tours/a11y.js``):
the booking engine's card step, MyBooking with its card payments, the guarantee,
card and pay pages, and the payment status page.
"""

from datetime import timedelta
from urllib.parse import quote, urlencode

from odoo import Command, fields, http
from odoo.tests import tagged

from odoo.addons.clock_pms.tests.a11y_common import GUEST_PAGE_MODULES, AxeMixin
from odoo.addons.payment.controllers.post_processing import PaymentPostProcessing

from .hotel_common import HotelPaymentHttpCommon

TOUR = "clock_stripe_a11y_page"


@tagged("post_install", "-at_install")
class TestAccessibility(AxeMixin, HotelPaymentHttpCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_axe(GUEST_PAGE_MODULES + ["clock_stripe_payment"])

    def _book_url(self, prefix=""):
        today = fields.Date.today()
        return f"{prefix}/book?" + urlencode(
            {
                "arrival": fields.Date.to_string(today + timedelta(days=10)),
                "departure": fields.Date.to_string(today + timedelta(days=12)),
                "guests": 2,
            }
        )

    def _url(self, booking, path=""):
        return f"/my/bookings/{booking.id}{path}?access_token={booking.access_token}"

    def _failed_guarantee(self, booking):
        return self._clock_tx(
            state="error",
            state_message="Your card was declined.",
            amount=100.0,
            partner_id=booking.partner_id.id,
            clock_guarantee=True,
            clock_reservation_ids=[Command.set(booking.ids)],
        )

    def test_booking_engine_card_step(self):
        """Summary with the card notice, the card step, and MyBooking after it."""
        for prefix in self.A11Y_LANGS:
            with self.subTest(lang=prefix or "en"):
                self.start_tour(
                    self._book_url(prefix), "clock_stripe_a11y_booking", login=None
                )

    def test_mybooking_with_card_payments(self):
        """MyBooking with a failed card step, the guarantee button and a hold; then
        with a card on file and a bill to pay."""
        awaiting = self._booking(policy=self.policy_hold)
        awaiting._portal_ensure_token()
        self._failed_guarantee(awaiting)
        guaranteed = self._booking(policy=self.policy_tokenize)
        guaranteed._portal_ensure_token()
        self._card_on_file(guaranteed)
        self.assertPagesAccessible(
            [
                (self._url(awaiting), "MyBooking: card step failed"),
                (self._url(guaranteed), "MyBooking: card on file, bill to pay"),
            ],
            tour=TOUR,
        )

    def test_card_pages(self):
        """Guarantee (pay, hold, after a failure), add or replace a card, pay a bill
        (all, or a part that is too much)."""
        to_pay = self._booking(policy=self.policy_pay)
        to_hold = self._booking(policy=self.policy_hold)
        failed = self._booking(policy=self.policy_tokenize)
        for booking in to_pay | to_hold | failed:
            booking._portal_ensure_token()
        self._failed_guarantee(failed)
        token = self._card_on_file(to_hold)
        card = to_hold.card_ids.filtered(lambda card: card.token_id == token)
        folio = to_hold.folio_ids[:1]
        self.assertTrue(folio.balance > 0)
        self.assertPagesAccessible(
            [
                (self._url(to_pay, "/guarantee"), "guarantee page: pay"),
                (self._url(to_hold, "/guarantee"), "guarantee page: hold"),
                (self._url(failed, "/guarantee"), "guarantee page: after a failure"),
                (self._url(to_pay, "/card"), "card page: add a card"),
                (self._url(to_hold, f"/card/{card.id}"), "card page: replace a card"),
                (self._url(to_hold, f"/folio/{folio.id}/pay"), "pay page"),
                (
                    self._url(to_hold, f"/folio/{folio.id}/pay") + "&amount=99999",
                    "pay page: amount too high",
                ),
            ],
            tour=TOUR,
        )

    def test_payment_status_page(self):
        """/payment/status while the payment is processed, and without payment."""
        booking = self._booking(policy=self.policy_pay)
        tx = self._clock_tx(
            state="pending",
            amount=100.0,
            partner_id=booking.partner_id.id,
            clock_guarantee=True,
            clock_reservation_ids=[Command.set(booking.ids)],
            landing_route=booking.get_portal_url(),
        )
        session = http.root.session_store.new()
        session.update(http.get_default_session(), db=self.env.cr.dbname)
        session[PaymentPostProcessing.MONITORED_TX_ID_KEY] = tx.id
        http.root.session_store.save(session)
        for prefix in self.A11Y_LANGS:
            for cookies, page in (
                ({"session_id": session.sid}, "payment status: processing"),
                (None, "payment status: no payment"),
            ):
                with self.subTest(page=page, lang=prefix or "en"):
                    self.start_tour(
                        f"{prefix}/payment/status#a11y="
                        + quote(f"{page} [{prefix.strip('/') or 'en'}]"),
                        "clock_a11y_page",
                        login=None,
                        cookies=cookies,
                    )

    def test_keyboard_only_booking(self):
        """A guest books a room and pays the deposit with the keyboard alone."""
        self.room_type.guarantee_policy_id = self.policy_pay
        self.start_tour(self._book_url(), "clock_stripe_keyboard_booking", login=None)
        booking = self.env["clock.reservation"].search(
            [("partner_id.email", "=", "key.board@example.com")]
        )
        self.assertEqual(len(booking), 1)
        self.assertEqual(booking.guarantee_status, "guaranteed")
        self.assertEqual(self._payment_lines(booking.folio_ids).amount, 100.0)
