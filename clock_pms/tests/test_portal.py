from unittest.mock import patch
from urllib.parse import urlsplit

from odoo.tests import tagged

from .http_common import ClockPmsHttpCommon


@tagged("post_install", "-at_install")
class TestMyBooking(ClockPmsHttpCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user_ana = cls._create_portal_user("clock_ana", "Ana Guest")
        cls.user_boris = cls._create_portal_user("clock_boris", "Boris Guest")
        cls.ana = cls.user_ana.partner_id
        cls.boris = cls.user_boris.partner_id
        cls.booking_ana = cls._create_booking(cls.ana, note="Quiet room please")
        cls.booking_ana.folio_ids.line_ids.create(
            {
                "folio_id": cls.booking_ana.folio_ids.id,
                "name": "Bank transfer received",
                "kind": "payment",
                "amount": 50.0,
            }
        )
        cls.booking_boris = cls._create_booking(
            cls.boris, room_type=cls.room_family, note="Boris secret request"
        )

    def _page(self, booking, token=None):
        url = f"/my/bookings/{booking.id}"
        if token is not None:
            url += f"?access_token={token}"
        return self.url_open(url)

    # ------------------------------------------------------------------
    # Booking page with an access token
    # ------------------------------------------------------------------

    def test_booking_page_opens_with_its_token_without_an_account(self):
        booking = self.booking_ana
        response = self._page(booking, booking.access_token)
        self.assertEqual(response.status_code, 200)
        page = response.text
        self.assertInPage(booking.name, page)
        self.assertInPage("Web Double", page)
        self.assertInPage("Confirmed", page)
        self.assertInPage("Not Required", page, "the guarantee status")
        self.assertInPage("Pay at the hotel (web)", page)
        self.assertInPage("You pay for your stay at the hotel.", page)
        self.assertInPage("Quiet room please", page)
        self.assertInPage(booking.folio_ids.name, page)
        self.assertInPage(booking.folio_ids.line_ids[0].name, page)
        self.assertInPage("Bank transfer received", page)
        self.assertInPage("150.00", page, "the balance: 200 charged, 50 paid")
        self.assertInPage(
            'id="clock_booking_payment"', page, "room for a payment module"
        )
        self.assertNotInPage("Boris", page)

    def test_booking_page_shows_the_guarantee_deadline_and_deposit(self):
        booking = self._create_booking(self.ana, room_type=self.room_family)
        response = self._page(booking, booking.access_token)
        self.assertEqual(response.status_code, 200)
        self.assertInPage("Awaiting Guarantee", response.text)
        self.assertInPage("Please guarantee your booking by", response.text)
        self.assertInPage("First night by transfer (web)", response.text)
        self.assertInPage("180.00", response.text, "the deposit: the first night")

    def test_wrong_or_missing_token_is_not_found(self):
        booking = self.booking_ana
        for token in (None, "", "wrong-token", booking.access_token[:-1] + "x"):
            with self.subTest(token=token):
                response = self._page(booking, token)
                self.assertEqual(response.status_code, 404)
                self.assertNotInPage(booking.name, response.text)
                self.assertNotInPage("Quiet room please", response.text)

    def test_a_token_opens_its_own_booking_only(self):
        response = self._page(self.booking_boris, self.booking_ana.access_token)
        self.assertEqual(response.status_code, 404)
        self.assertNotInPage(self.booking_boris.name, response.text)
        self.assertNotInPage("Boris secret request", response.text)

    def test_unknown_booking_is_not_found(self):
        for booking_id in (987654321, 99999999999999):
            with self.subTest(booking_id=booking_id):
                response = self.url_open(
                    f"/my/bookings/{booking_id}?access_token="
                    f"{self.booking_ana.access_token}"
                )
                self.assertEqual(response.status_code, 404)

    def test_hidden_folio_is_not_shown(self):
        booking = self.booking_ana
        folio = booking.folio_ids
        folio.hide_on_portal = True
        response = self._page(booking, booking.access_token)
        self.assertEqual(response.status_code, 200)
        page = response.text
        self.assertInPage(booking.name, page, "the booking itself is still shown")
        self.assertNotInPage("clock_booking_folio", page)
        self.assertNotInPage(folio.name, page)
        self.assertNotInPage("Bank transfer received", page)
        self.assertNotInPage(folio.line_ids[0].name, page)
        self.assertNotInPage("200.00", page, "no amount that would give the folio away")
        self.assertNotInPage("150.00", page)

    # ------------------------------------------------------------------
    # Signed-in guests
    # ------------------------------------------------------------------

    def test_signed_in_guest_opens_own_booking_without_token(self):
        self.authenticate("clock_ana", "clock_ana")
        response = self._page(self.booking_ana)
        self.assertEqual(response.status_code, 200)
        self.assertInPage(self.booking_ana.name, response.text)

    def test_signed_in_guest_cannot_open_another_guests_booking(self):
        self.authenticate("clock_ana", "clock_ana")
        for token in (None, "wrong-token", self.booking_ana.access_token):
            with self.subTest(token=token):
                response = self._page(self.booking_boris, token)
                self.assertEqual(response.status_code, 404)
                self.assertNotInPage("Boris secret request", response.text)

    def test_booking_list_needs_a_login(self):
        response = self.url_open("/my/bookings", allow_redirects=False)
        self.assertInPage(response.status_code, (302, 303))
        self.assertEqual(urlsplit(response.headers["Location"]).path, "/web/login")

    def test_booking_list_shows_my_bookings_only(self):
        self.authenticate("clock_ana", "clock_ana")
        response = self.url_open("/my/bookings")
        self.assertEqual(response.status_code, 200)
        self.assertInPage(self.booking_ana.name, response.text)
        self.assertInPage(
            f"/my/bookings/{self.booking_ana.id}?access_token=", response.text
        )
        self.assertNotInPage(self.booking_boris.name, response.text)

    def test_booking_list_is_paged(self):
        second = self._create_booking(self.ana, room_type=self.room_family)
        third = self._create_booking(self.ana, confirm=False)
        self.authenticate("clock_ana", "clock_ana")
        with patch(
            "odoo.addons.portal.controllers.portal.CustomerPortal._items_per_page", 2
        ):
            first_page = self.url_open("/my/bookings?sortby=name").text
            second_page = self.url_open("/my/bookings/page/2?sortby=name").text
        bookings = self.booking_ana | second | third
        names = sorted(bookings.mapped("name"), reverse=True)
        for name in names[:2]:
            self.assertInPage(name, first_page)
            self.assertNotInPage(name, second_page)
        self.assertInPage(names[2], second_page)
        self.assertNotInPage(names[2], first_page)
        self.assertInPage("/my/bookings/page/2", first_page)

    def test_portal_home_counts_my_bookings(self):
        self._create_booking(self.ana, room_type=self.room_family)
        self.authenticate("clock_ana", "clock_ana")
        response = self.url_open("/my/home")
        self.assertEqual(response.status_code, 200)
        self.assertInPage('data-placeholder_count="booking_count"', response.text)
        self.assertInPage('href="/my/bookings"', response.text)
        self.assertInPage("Your Bookings", response.text)
        # The page asks for its counts with a JSON call.
        counters = self.make_jsonrpc_request(
            "/my/counters", {"counters": ["booking_count"]}
        )
        self.assertEqual(counters, {"booking_count": 2})

    def test_portal_home_counts_nothing_for_a_guest_without_bookings(self):
        self._create_portal_user("clock_nobody", "Nobody Guest")
        self.authenticate("clock_nobody", "clock_nobody")
        counters = self.make_jsonrpc_request(
            "/my/counters", {"counters": ["booking_count"]}
        )
        self.assertEqual(counters["booking_count"], 0)
