"""Browser tours of the hotel card flows, on localstripe's Stripe.js mock: book a
room under a card policy of each variant, a declined card then a good one, and
pay a bill on MyBooking."""

from datetime import timedelta
from urllib.parse import urlencode

from odoo import fields
from odoo.tests import tagged
from odoo.tools import mute_logger

from .hotel_common import MUTE, HotelPaymentHttpCommon


@tagged("post_install", "-at_install")
class TestHotelCardTours(HotelPaymentHttpCommon):
    def _book_url(self):
        today = fields.Date.today()
        return "/book?" + urlencode(
            {
                "arrival": fields.Date.to_string(today + timedelta(days=10)),
                "departure": fields.Date.to_string(today + timedelta(days=12)),
                "guests": 2,
            }
        )

    def _tour_booking(self):
        return self.env["clock.reservation"].search(
            [("partner_id.email", "=", "card.guest@example.com")]
        )

    def _book_with(self, policy, tour="clock_hotel_book_with_card"):
        self.room_type.guarantee_policy_id = policy
        self.start_tour(self._book_url(), tour, login=None)
        booking = self._tour_booking()
        self.assertEqual(len(booking), 1)
        self.assertEqual(booking.state, "confirmed")
        self.assertEqual(booking.guarantee_status, "guaranteed")
        self.assertEqual(booking.guarantee_policy_id, policy)
        self.assertEqual(len(booking.card_ids), 1)
        self.assertEqual(booking.card_ids.token_id.payment_details, "4242")
        return booking

    def test_book_and_pay_the_deposit(self):
        booking = self._book_with(self.policy_pay)
        folio = booking.folio_ids
        line = self._payment_lines(folio)
        self.assertEqual(line.amount, 100.0)
        self.assertTrue(line.account_payment_id)
        self.assertEqual(folio.balance, 100.0)

    def test_book_and_hold_the_deposit(self):
        booking = self._book_with(self.policy_hold)
        folio = booking.folio_ids
        self.assertFalse(self._payment_lines(folio))
        self.assertEqual(folio.clock_amount_held, 100.0)
        self.assertEqual(
            self._stripe_pi(folio.clock_hold_ids.provider_reference)["status"],
            "requires_capture",
        )

    def test_book_and_save_the_card(self):
        booking = self._book_with(self.policy_tokenize)
        self.assertFalse(self._payment_lines(booking.folio_ids))
        self.assertFalse(booking.transaction_ids._clock_filter_active_holds())

    @mute_logger(*MUTE)
    def test_declined_card_then_a_good_one(self):
        booking = self._book_with(
            self.policy_pay, tour="clock_hotel_book_declined_then_good_card"
        )
        self.assertEqual(
            sorted(booking.transaction_ids.mapped("state")), ["done", "error"]
        )
        self.assertEqual(self._payment_lines(booking.folio_ids).amount, 100.0)

    def test_pay_a_bill_on_mybooking(self):
        booking = self._booking(policy=self.policy_tokenize)
        booking._portal_ensure_token()
        self.start_tour(booking.get_portal_url(), "clock_hotel_pay_folio", login=None)
        folio = booking.folio_ids
        self.assertEqual(folio.balance, 0.0)
        line = self._payment_lines(folio)
        self.assertEqual(line.amount, 300.0)
        self.assertTrue(line.payment_transaction_id.payment_id)

    def test_mybooking_says_what_is_held_paid_and_left(self):
        booking = self._booking(policy=self.policy_tokenize)
        token = self._card_on_file(booking)
        booking._clock_charge(token, 120.0)
        booking._clock_charge(token, 180.0, hold=True)
        folio = booking.folio_ids
        self.assertEqual((folio.balance, folio.clock_amount_held), (180.0, 180.0))
        booking._portal_ensure_token()
        self.start_tour(
            booking.get_portal_url(), "clock_hotel_mybooking_wording", login=None
        )

    def test_mybooking_offers_to_pay_what_the_hold_does_not_cover(self):
        booking = self._booking(policy=self.policy_tokenize)
        token = self._card_on_file(booking)
        booking._clock_charge(token, 100.0, hold=True)
        self.assertEqual(booking.folio_ids.balance, 300.0)
        booking._portal_ensure_token()
        page = self.url_open(booking.get_portal_url()).text
        self.assertIn("Pay what the hold does not cover", page)
        self.assertIn("amount=200.0", page)
        self.assertNotIn("Nothing to pay now", page)

    def test_card_page_of_a_link_guest_links_to_no_login_page(self):
        """A guest without an account, on a card page reached by the booking's
        link: its breadcrumbs offer neither the "Bookings" list nor the portal's
        home (login pages); the house leads to the website's home page."""
        booking = self._booking(policy=self.policy_tokenize)
        booking._portal_ensure_token()
        folio = booking.folio_ids
        page = self.url_open(
            f"/my/bookings/{booking.id}/folio/{folio.id}/pay"
            f"?access_token={booking.access_token}"
        ).text
        self.assertIn("o_portal_submenu", page)
        self.assertIn(booking.name, page)
        self.assertNotIn('href="/my/bookings"', page)
        self.assertNotIn('href="/my/home"', page)
        self.assertRegex(
            page,
            r'<a [^>]*href="/"[^>]*aria-label="Home"'
            r'|<a [^>]*aria-label="Home"[^>]*href="/"',
        )
