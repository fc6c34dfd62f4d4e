from datetime import timedelta
from html import unescape
from unittest.mock import patch
from urllib.parse import parse_qs, urlsplit

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .http_common import ClockPmsHttpCommon


@tagged("post_install", "-at_install")
class TestBookingEngine(ClockPmsHttpCommon):
    def _counts(self):
        return (
            self.env["clock.reservation"].search_count([]),
            self.env["res.partner"].with_context(active_test=False).search_count([]),
        )

    def _search_url(self, arrival=None, departure=None, guests=2):
        arrival = arrival or self.arrival
        departure = departure or self.departure
        return f"/book?arrival={arrival}&departure={departure}&guests={guests}"

    # ------------------------------------------------------------------
    # Step 1: search
    # ------------------------------------------------------------------

    def test_book_page_shows_the_search_form(self):
        response = self.url_open("/book")
        self.assertEqual(response.status_code, 200)
        self.assertInPage('id="clock_booking_search_form"', response.text)
        self.assertNotInPage("clock_booking_offer", response.text)
        self.assertNotInPage("clock_booking_error", response.text)

    def test_search_lists_the_room_types_that_fit_with_their_price(self):
        response = self.url_open(self._search_url(guests=2))
        self.assertEqual(response.status_code, 200)
        page = unescape(response.text)
        self.assertInPage("Web Double", page)
        self.assertInPage("Web Family", page)
        self.assertInPage("200.00", page, "2 nights of the double at 100.00")
        self.assertInPage("360.00", page, "2 nights of the family room at 180.00")
        self.assertNotInPage("Web Archived", page)
        self.assertNotInPage("Elsewhere Double", page, "a room type of another hotel")
        offer = self._hidden_fields(
            response.text, "/book/details", room_type_id=str(self.room_double.id)
        )
        self.assertEqual(offer["arrival"], fields.Date.to_string(self.arrival))
        self.assertEqual(offer["guests"], "2")
        self.assertNotInPage("price", " ".join(offer), "prices are never carried")

    def test_search_leaves_out_room_types_too_small_for_the_guests(self):
        page = unescape(self.url_open(self._search_url(guests=3)).text)
        self.assertInPage("Web Family", page)
        self.assertNotInPage("Web Double", page)

        page = unescape(self.url_open(self._search_url(guests=9)).text)
        self.assertInPage("No room can be booked online", page)

    def test_search_explains_bad_dates_and_guests(self):
        yesterday = self.today - timedelta(days=1)
        cases = [
            (
                self._search_url(departure=self.arrival),
                "The departure must be after the arrival.",
            ),
            (
                self._search_url(departure=self.arrival - timedelta(days=1)),
                "The departure must be after the arrival.",
            ),
            (self._search_url(guests=0), "A booking needs at least one guest."),
            (
                self._search_url(arrival=yesterday, departure=self.today),
                "The arrival date cannot be in the past.",
            ),
            (
                "/book?arrival=31/12/2099&departure=2100-01-02&guests=2",
                "Please give the dates as year-month-day.",
            ),
        ]
        for url, message in cases:
            with self.subTest(url=url):
                response = self.url_open(url)
                self.assertEqual(response.status_code, 200)
                page = unescape(response.text)
                self.assertInPage(message, page)
                self.assertNotInPage("clock_booking_offer", page)

    # ------------------------------------------------------------------
    # Steps 2 and 3: details and summary
    # ------------------------------------------------------------------

    def test_details_step_asks_for_the_guest(self):
        data = self._form_data()
        for name in ("name", "email", "phone"):
            data.pop(name)
        response = self._post("/book/details", data)
        self.assertEqual(response.status_code, 200)
        page = unescape(response.text)
        self.assertInPage('id="clock_booking_details_form"', page)
        self.assertInPage("Web Double", page)
        self.assertInPage("200.00", page)

    def test_summary_computes_price_and_deposit_on_the_server(self):
        data = self._form_data(
            room_type=self.room_family,
            # Anything the browser could say about money is ignored.
            nightly_price="1.00",
            total="2.00",
            deposit="0.00",
        )
        response = self._post("/book/summary", data)
        self.assertEqual(response.status_code, 200)
        page = unescape(response.text)
        self.assertInPage("Web Family", page)
        self.assertInPage("360.00", page, "the total of 2 nights")
        self.assertInPage("180.00", page, "the first night as deposit")
        self.assertInPage("First night by transfer (web)", page)
        self.assertInPage("Please wire the first night within a week.", page)
        deadline = self.arrival - timedelta(days=3)
        self.assertInPage("Please guarantee your booking by", page)
        self.assertInPage(
            self.env["ir.qweb.field.date"].value_to_html(deadline, {}), page
        )
        finish = self._hidden_fields(response.text, "/book/finish")
        self.assertEqual(
            set(finish),
            {
                "csrf_token",
                "arrival",
                "departure",
                "guests",
                "room_type_id",
                "name",
                "email",
                "phone",
                "note",
                "request_key",
            },
        )

    def test_summary_without_deposit_says_so(self):
        response = self._post("/book/summary", self._form_data())
        page = unescape(response.text)
        self.assertInPage("Pay at the hotel (web)", page)
        self.assertInPage("You pay for your stay at the hotel.", page)
        self.assertInPage("No deposit is asked.", page)

    # ------------------------------------------------------------------
    # Bad input: a clear message, nothing created
    # ------------------------------------------------------------------

    def test_bad_input_is_explained_and_creates_nothing(self):
        arrival = fields.Date.to_string(self.arrival)
        yesterday = fields.Date.to_string(self.today - timedelta(days=1))
        cases = {
            "departure on arrival day": (
                {"departure": arrival},
                "The departure must be after the arrival.",
            ),
            "departure before arrival": (
                {"departure": fields.Date.to_string(self.arrival - timedelta(days=1))},
                "The departure must be after the arrival.",
            ),
            "zero guests": ({"guests": "0"}, "A booking needs at least one guest."),
            "negative guests": (
                {"guests": "-2"},
                "A booking needs at least one guest.",
            ),
            "no guests number": ({"guests": "two"}, "A booking needs at least one"),
            "too many guests": (
                {"guests": "3"},
                "Web Double sleeps at most 2 guests, not 3.",
            ),
            "arrival in the past": (
                {"arrival": yesterday},
                "The arrival date cannot be in the past.",
            ),
            "date not a date": (
                {"arrival": "tomorrow"},
                "Please give the dates as year-month-day.",
            ),
            "stay too long": (
                {"departure": fields.Date.to_string(self.arrival + timedelta(days=31))},
                "Stays of more than 30 nights cannot be booked online",
            ),
            "unknown room type": (
                {"room_type_id": "987654321"},
                "This room type cannot be booked.",
            ),
            "room type id beyond integers": (
                {"room_type_id": "99999999999999"},
                "This room type cannot be booked.",
            ),
            "room type not a number": (
                {"room_type_id": "suite"},
                "This room type cannot be booked.",
            ),
            "archived room type": (
                {"room_type_id": str(self.room_archived.id)},
                "This room type cannot be booked.",
            ),
            "room type of another hotel": (
                {"room_type_id": str(self.other_room.id)},
                "This room type cannot be booked.",
            ),
            "missing name": ({"name": "  "}, "Please give the guest's name."),
            "missing e-mail": ({"email": ""}, "Please give an e-mail address"),
            "invalid e-mail": (
                {"email": "ana.ivanova"},
                "ana.ivanova is not a valid e-mail address.",
            ),
        }
        for case, (overrides, message) in cases.items():
            for route in ("/book/summary", "/book/finish"):
                with self.subTest(case=case, route=route):
                    before = self._counts()
                    response = self._post(route, self._form_data(**overrides))
                    self.assertEqual(response.status_code, 200)
                    page = unescape(response.text)
                    self.assertInPage("clock_booking_error", page)
                    self.assertInPage(message, page)
                    self.assertNotInPage('id="clock_booking_finish_form"', page)
                    self.assertEqual(self._counts(), before, "nothing is created")

    def test_guest_errors_keep_the_guest_on_the_details_step(self):
        response = self._post("/book/finish", self._form_data(email="nope"))
        self.assertInPage('id="clock_booking_details_form"', response.text)
        self.assertInPage('value="Ana Ivanova"', response.text, "typed values are kept")

    def test_room_type_errors_send_the_guest_back_to_the_room_list(self):
        response = self._post(
            "/book/details", self._form_data(room_type_id=str(self.room_archived.id))
        )
        self.assertInPage("This room type cannot be booked.", unescape(response.text))
        self.assertInPage('id="clock_booking_search_form"', response.text)
        self.assertInPage("Web Double", response.text, "the rooms that fit are listed")

    def test_post_without_csrf_token_is_refused(self):
        before = self._counts()
        with mute_logger("odoo.http"):
            response = self.url_open("/book/finish", data=self._form_data())
        self.assertEqual(response.status_code, 400)
        self.assertEqual(self._counts(), before)

    def test_finish_only_accepts_post(self):
        response = self.url_open("/book/finish")
        self.assertEqual(response.status_code, 405)

    # ------------------------------------------------------------------
    # Finish
    # ------------------------------------------------------------------

    def test_finished_booking_emails_the_guest_their_mybooking_link(self):
        self._post("/book/finish", self._form_data(), allow_redirects=False)
        booking = self.env["clock.reservation"].search([], order="id desc", limit=1)

        mail = self.env["mail.mail"].search(
            [("model", "=", "clock.reservation"), ("res_id", "=", booking.id)]
        )
        self.assertEqual(len(mail), 1)
        self.assertEqual(mail.recipient_ids, booking.partner_id)
        self.assertIn(booking.name, mail.subject)
        self.assertIn(booking.get_portal_url(), mail.body_html)

    def test_submitting_the_summary_twice_books_once(self):
        data = self._form_data()
        first = self._post("/book/finish", data, allow_redirects=False)
        before = self.env["clock.reservation"].search_count([])
        second = self._post("/book/finish", data, allow_redirects=False)

        self.assertEqual(second.status_code, 303)
        self.assertEqual(self.env["clock.reservation"].search_count([]), before)
        self.assertEqual(second.headers["Location"], first.headers["Location"])

    def test_finish_without_the_summary_key_books_nothing(self):
        before = self.env["clock.reservation"].search_count([])
        response = self._post("/book/finish", self._form_data(request_key=""))

        self.assertEqual(response.status_code, 200)
        self.assertIn("This booking form has expired", response.text)
        self.assertEqual(self.env["clock.reservation"].search_count([]), before)

    def test_booking_end_to_end_creates_a_confirmed_booking(self):
        before = self.env["clock.reservation"].search_count([])
        response = self.url_open(self._search_url(guests=2))
        offer = self._hidden_fields(
            response.text, "/book/details", room_type_id=str(self.room_double.id)
        )
        response = self.url_open("/book/details", data=offer)
        self.assertEqual(response.status_code, 200)
        details = self._hidden_fields(response.text, "/book/summary")
        details.update(
            name="Ana Ivanova", email="ana.ivanova@example.com", phone="+359 2"
        )
        details["note"] = "Late arrival, around 23:00."
        response = self.url_open("/book/summary", data=details)
        self.assertEqual(response.status_code, 200)
        finish = self._hidden_fields(response.text, "/book/finish")
        response = self.url_open("/book/finish", data=finish, allow_redirects=False)

        self.assertEqual(response.status_code, 303)
        self.assertEqual(self.env["clock.reservation"].search_count([]), before + 1)
        booking = self.env["clock.reservation"].search([], order="id desc", limit=1)
        self.assertRecordValues(
            booking,
            [
                {
                    "state": "confirmed",
                    "channel": "booking_engine",
                    "company_id": self.hotel.id,
                    "room_type_id": self.room_double.id,
                    "arrival_date": self.arrival,
                    "departure_date": self.departure,
                    "nights": 2,
                    "guest_count": 2,
                    "nightly_price": 100.0,
                    "amount_total": 200.0,
                    "guarantee_policy_id": self.policy_none.id,
                    "guarantee_status": "not_required",
                    "note": "Late arrival, around 23:00.",
                }
            ],
        )
        self.assertTrue(booking.confirmed_at)
        self.assertEqual(booking.partner_id.name, "Ana Ivanova")
        self.assertEqual(booking.partner_id.email, "ana.ivanova@example.com")
        self.assertEqual(booking.partner_id.phone, "+359 2")
        self.assertEqual(len(booking.folio_ids), 1)
        self.assertEqual(booking.folio_ids.line_ids.mapped("amount"), [100.0, 100.0])

        location = urlsplit(response.headers["Location"])
        self.assertEqual(location.path, f"/my/bookings/{booking.id}")
        self.assertEqual(
            parse_qs(location.query)["access_token"], [booking.access_token]
        )
        page = self.url_open(response.headers["Location"])
        self.assertEqual(page.status_code, 200)
        self.assertInPage(booking.name, page.text)
        self.assertInPage("Confirmed", page.text)

    def test_finish_sends_the_guest_where_the_completion_hook_says(self):
        reservation_class = type(self.env["clock.reservation"])
        with patch.object(
            reservation_class,
            "_booking_engine_complete",
            autospec=True,
            return_value="/payment/next-step",
        ) as complete:
            response = self._post(
                "/book/finish",
                self._form_data(room_type=self.room_family),
                allow_redirects=False,
            )
        self.assertEqual(response.status_code, 303)
        self.assertEqual(
            urlsplit(response.headers["Location"]).path, "/payment/next-step"
        )
        complete.assert_called_once()
        booking = self.env["clock.reservation"].search([], order="id desc", limit=1)
        self.assertEqual(booking.room_type_id, self.room_family)
        self.assertEqual(
            booking.state, "draft", "the controller itself confirms nothing"
        )

    def test_finish_shows_an_error_of_the_completion_hook_and_keeps_nothing(self):
        before = self._counts()
        reservation_class = type(self.env["clock.reservation"])
        with patch.object(
            reservation_class,
            "_booking_engine_complete",
            autospec=True,
            side_effect=UserError("The card was declined."),
        ):
            response = self._post("/book/finish", self._form_data())
        self.assertEqual(response.status_code, 200)
        self.assertInPage("The card was declined.", response.text)
        self.assertInPage('id="clock_booking_finish_form"', response.text, "retry")
        self.assertEqual(self._counts(), before)
