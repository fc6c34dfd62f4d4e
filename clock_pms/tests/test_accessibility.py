"""Accessibility of the guest pages of the booking engine and MyBooking.

axe-core runs in the browser on each page, in English and in Bulgarian, and fails on
any serious or critical violation of WCAG 2.1 A/AA in the page content (see
``a11y_common.py`` and ``static/tests/tours/a11y.js``).
"""

from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from .a11y_common import AxeMixin
from .http_common import ClockPmsHttpCommon


@tagged("post_install", "-at_install")
class TestAccessibility(AxeMixin, ClockPmsHttpCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_axe()
        cls.portal_user = cls._create_portal_user("a11y_guest", "Vera Guest")
        partner = cls.portal_user.partner_id
        # One booking of each state and guarantee status, for every badge's colours.
        cls.bookings = cls.env["clock.reservation"]
        for state, status in (
            ("draft", "awaiting"),
            ("confirmed", "not_required"),
            ("checked_in", "guaranteed"),
            ("checked_out", "guaranteed"),
            ("cancelled", "expired"),
            ("no_show", "expired"),
        ):
            booking = cls._create_booking(
                partner, room_type=cls.room_family, confirm=state != "draft"
            )
            booking.write({"state": state, "guarantee_status": status})
            cls.bookings |= booking
        cls.booking = cls.bookings[1]
        cls.awaiting = cls._create_booking(
            partner, room_type=cls.room_family, note="Late arrival, around 23:00."
        )
        cls.empty_user = cls._create_portal_user("a11y_nobody", "Nadia Nobody")

    def test_booking_engine_steps(self):
        """Dates, offers, guest details (with an error too), summary and the
        booking's page the engine ends on."""
        for prefix in self.A11Y_LANGS:
            with self.subTest(lang=prefix or "en"):
                self.start_tour(f"{prefix}/book", "clock_pms_a11y_booking", login=None)

    def test_booking_engine_pages(self):
        """The search with an error, and with no room for the guests."""
        past = fields.Date.to_string(self.today - timedelta(days=3))
        arrival = fields.Date.to_string(self.arrival)
        departure = fields.Date.to_string(self.departure)
        self.assertPagesAccessible(
            [
                (
                    f"/book?arrival={past}&departure={arrival}&guests=2",
                    "booking engine: error",
                ),
                (
                    f"/book?arrival={arrival}&departure={departure}&guests=9",
                    "booking engine: no room",
                ),
            ]
        )

    def test_mybooking_list(self):
        self.assertPagesAccessible(
            [("/my/bookings", "MyBooking: list")], login=self.portal_user.login
        )
        self.assertPagesAccessible(
            [("/my/bookings", "MyBooking: empty list")], login=self.empty_user.login
        )

    def test_mybooking_booking_page(self):
        """A booking's page, by its access-token link and for its signed-in guest."""
        self.assertPagesAccessible(
            [
                (self.awaiting.get_portal_url(), "MyBooking: booking by link"),
                (
                    self.bookings[3].get_portal_url(),
                    "MyBooking: checked-out booking by link",
                ),
            ]
        )
        self.assertPagesAccessible(
            [(f"/my/bookings/{self.awaiting.id}", "MyBooking: booking, signed in")],
            login=self.portal_user.login,
        )
