"""The booking engine against a hostile visitor: other people's contacts, links
in names, bookings and mails without limit, a double submit in flight."""

from unittest.mock import patch
from urllib.parse import urlsplit

from odoo.tests import tagged
from odoo.tools import config, mute_logger

from ..controllers.main import BookingEngine
from .http_common import ClockPmsHttpCommon


@tagged("post_install", "-at_install")
class TestBookingEngineAbuse(ClockPmsHttpCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.victim = cls.env["res.partner"].create(
            {
                "name": "Ana I.",
                "email": "Ana.Ivanova@Example.com",
                "phone": "+359 888 000 111",
                "street": "12 Secret Lane",
                "city": "Plovdiv",
                "zip": "4000",
            }
        )

    def _last_booking(self):
        return self.env["clock.reservation"].search([], order="id desc", limit=1)

    def _set_budget(self, name, value):
        self.env["ir.config_parameter"].sudo().set_param(
            f"clock_pms.booking_budget_{name}", value
        )

    def test_public_visitor_never_books_as_an_existing_contact(self):
        partners = self.env["res.partner"].search_count([])
        response = self._post(
            "/book/finish", self._form_data(phone="2"), allow_redirects=False
        )
        self.assertEqual(response.status_code, 303)
        booking = self._last_booking()
        self.assertNotEqual(booking.partner_id, self.victim)
        self.assertEqual(
            (booking.partner_id.name, booking.partner_id.phone), ("Ana Ivanova", "2")
        )
        self.assertEqual(self.env["res.partner"].search_count([]), partners + 1)
        self.assertFalse(
            self.env["clock.reservation"].search([("partner_id", "=", self.victim.id)])
        )
        page = self.url_open(response.headers["Location"])
        for detail in ("12 Secret Lane", "Plovdiv", "+359 888 000 111"):
            self.assertNotInPage(detail, page.text)
        self.assertEqual(
            (self.victim.name, self.victim.phone), ("Ana I.", "+359 888 000 111")
        )

    def test_signed_in_guest_books_as_themselves(self):
        user = self._create_portal_user("abuse_guest", "Boris Guest")
        self.authenticate("abuse_guest", "abuse_guest")
        response = self._post(
            "/book/finish",
            self._form_data(email=self.victim.email),
            allow_redirects=False,
        )
        self.assertEqual(response.status_code, 303)
        self.assertEqual(self._last_booking().partner_id, user.partner_id)

    def test_names_with_links_are_refused(self):
        before = self.env["clock.reservation"].search_count([])
        for name in (
            "Win a prize at https://evil.example/x",
            "Claim now www.evil.example",
            "Visit evil.example today",
            "<b>Ana</b>",
        ):
            response = self._post("/book/finish", self._form_data(name=name))
            self.assertEqual(response.status_code, 200)
            self.assertInPage("without links or web addresses", response.text, name)
        self.assertEqual(self.env["clock.reservation"].search_count([]), before)

    def test_control_characters_are_taken_out_of_the_name(self):
        self._post(
            "/book/finish",
            self._form_data(name="Ana\r\nBcc: x\u202e Ivanova\t"),
            allow_redirects=False,
        )
        self.assertEqual(self._last_booking().partner_id.name, "Ana Bcc: x Ivanova")

    def test_bot_protection_refuses_a_booking_when_installed(self):
        ir_http = type(self.env["ir.http"])
        actions = []

        def verify(model, action):
            actions.append(action)
            return False

        before = self.env["clock.reservation"].search_count([])
        with patch.object(
            ir_http, "_verify_request_recaptcha_token", verify, create=True
        ):
            response = self._post("/book/finish", self._form_data())
        self.assertEqual(actions, ["clock_booking"])
        self.assertInPage("protection against robots refused", response.text)
        self.assertEqual(self.env["clock.reservation"].search_count([]), before)

    def test_bookings_per_client_address_are_limited(self):
        self._set_budget("per_address", 2)
        for index in range(2):
            response = self._post(
                "/book/finish",
                self._form_data(email=f"guest{index}@example.com"),
                allow_redirects=False,
            )
            self.assertEqual(response.status_code, 303)
        bookings = self.env["clock.reservation"].search_count([])
        partners = self.env["res.partner"].search_count([])
        response = self._post(
            "/book/finish", self._form_data(email="guest9@example.com")
        )
        self.assertEqual(response.status_code, 200)
        self.assertInPage("Too many bookings", response.text)
        self.assertEqual(self.env["clock.reservation"].search_count([]), bookings)
        self.assertEqual(self.env["res.partner"].search_count([]), partners)

    def test_confirmation_mails_per_email_address_are_limited(self):
        self._set_budget("per_email", 1)
        mails = self.env["mail.mail"].search_count([])
        first = self._post("/book/finish", self._form_data(), allow_redirects=False)
        self.assertEqual(first.status_code, 303)
        second = self._post(
            "/book/finish",
            self._form_data(email="ANA.IVANOVA@example.com"),
        )
        self.assertInPage("Too many bookings", second.text)
        self.assertEqual(self.env["mail.mail"].search_count([]), mails + 1)

    def test_tagged_addresses_share_the_mail_budget_of_their_mailbox(self):
        self._set_budget("per_email", 1)
        mails = self.env["mail.mail"].search_count([])
        first = self._post("/book/finish", self._form_data(), allow_redirects=False)
        self.assertEqual(first.status_code, 303)
        second = self._post(
            "/book/finish", self._form_data(email="Ana.Ivanova+again@example.com")
        )
        self.assertInPage("Too many bookings", second.text)
        self.assertEqual(self.env["mail.mail"].search_count([]), mails + 1)

    def _post_from(self, address, email):
        """Book as a client at ``address`` (behind the hotel's proxy)."""
        with patch.dict(config.options, {"proxy_mode": True}):
            return self._post(
                "/book/finish",
                self._form_data(email=email),
                allow_redirects=False,
                headers={
                    "X-Forwarded-For": address,
                    "X-Forwarded-Host": urlsplit(self.base_url()).netloc,
                },
            )

    def test_addresses_of_one_ipv6_client_share_the_booking_budget(self):
        self._set_budget("per_address", 1)
        first = self._post_from("2001:db8:1:2::1", "guest1@example.com")
        self.assertEqual(first.status_code, 303)
        bookings = self.env["clock.reservation"].search_count([])
        # The same client on another address of its /64.
        again = self._post_from("2001:db8:1:2:aaaa::7", "guest2@example.com")
        self.assertEqual(again.status_code, 200)
        self.assertInPage("Too many bookings", again.text)
        self.assertEqual(self.env["clock.reservation"].search_count([]), bookings)
        # Another client, in the next /64.
        other = self._post_from("2001:db8:1:3::1", "guest3@example.com")
        self.assertEqual(other.status_code, 303)

    def test_a_double_submit_still_in_flight_gets_the_booking(self):
        data = self._form_data()
        first = self._post("/book/finish", data, allow_redirects=False)
        self.assertEqual(first.status_code, 303)
        original = BookingEngine._booking_find_done
        calls = []

        def not_yet_visible(controller, key):
            # The first request is not committed yet when the second one looks.
            calls.append(key)
            if len(calls) == 1:
                return original(controller, key).browse()
            return original(controller, key)

        before = self.env["clock.reservation"].search_count([])
        with (
            patch.object(BookingEngine, "_booking_find_done", not_yet_visible),
            mute_logger("odoo.sql_db"),
        ):
            second = self._post("/book/finish", data, allow_redirects=False)
        self.assertEqual(second.status_code, 303)
        self.assertEqual(second.headers["Location"], first.headers["Location"])
        self.assertEqual(self.env["clock.reservation"].search_count([]), before)
