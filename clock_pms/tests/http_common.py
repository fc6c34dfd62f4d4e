import re
import uuid
from datetime import timedelta
from html import unescape

from odoo import fields
from odoo.tests import HttpCase, new_test_user

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


class ClockPmsHttpCommon(HttpCase):
    """Room types and policies on the website's hotel, for the public pages."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.website = cls.env.ref("website.default_website")
        cls.hotel = cls.website.company_id
        cls.currency = cls.hotel.currency_id
        cls.today = fields.Date.today()
        cls.arrival = cls.today + timedelta(days=10)
        cls.departure = cls.arrival + timedelta(days=2)

        Policy = cls.env["clock.guarantee.policy"]
        cls.policy_none = Policy.create(
            {
                "name": "Pay at the hotel (web)",
                "company_id": cls.hotel.id,
                "payment_option": "none",
                "guest_text": "<p>You pay for your stay at the hotel.</p>",
            }
        )
        cls.policy_deposit = Policy.create(
            {
                "name": "First night by transfer (web)",
                "company_id": cls.hotel.id,
                "payment_option": "manual",
                "deposit_rule": "nights",
                "deposit_nights": 1,
                "deadline_days_before_arrival": 3,
                "guest_text": "<p>Please wire the first night within a week.</p>",
            }
        )
        RoomType = cls.env["clock.room.type"]
        cls.room_double = RoomType.create(
            {
                "name": "Web Double",
                "code": "WEBDBL",
                "company_id": cls.hotel.id,
                "price": 100.0,
                "capacity": 2,
                "guarantee_policy_id": cls.policy_none.id,
            }
        )
        cls.room_family = RoomType.create(
            {
                "name": "Web Family",
                "code": "WEBFAM",
                "company_id": cls.hotel.id,
                "price": 180.0,
                "capacity": 4,
                "guarantee_policy_id": cls.policy_deposit.id,
            }
        )
        cls.room_archived = RoomType.create(
            {
                "name": "Web Archived",
                "code": "WEBOLD",
                "company_id": cls.hotel.id,
                "price": 50.0,
                "capacity": 2,
                "active": False,
            }
        )
        cls.other_hotel = cls.env["res.company"].create({"name": "Other Web Hotel"})
        cls.other_room = RoomType.create(
            {
                "name": "Elsewhere Double",
                "code": "WEBELSE",
                "company_id": cls.other_hotel.id,
                "price": 70.0,
                "capacity": 2,
            }
        )

    # ------------------------------------------------------------------
    # Fixtures
    # ------------------------------------------------------------------

    @classmethod
    def _create_portal_user(cls, login, name):
        return new_test_user(
            cls.env,
            login=login,
            groups="base.group_portal",
            name=name,
            email=f"{login}@example.com",
        )

    @classmethod
    def _create_booking(cls, partner, room_type=None, confirm=True, **values):
        booking = cls.env["clock.reservation"].create(
            {
                "company_id": cls.hotel.id,
                "partner_id": partner.id,
                "room_type_id": (room_type or cls.room_double).id,
                "arrival_date": cls.arrival,
                "departure_date": cls.departure,
                "guest_count": 2,
                **values,
            }
        )
        if confirm:
            booking.action_confirm()
        booking._portal_ensure_token()
        return booking

    # ------------------------------------------------------------------
    # HTTP helpers
    # ------------------------------------------------------------------

    def _csrf_token(self):
        """A CSRF token of the current session, read from a room offer."""
        response = self.url_open(
            f"/book?arrival={self.arrival}&departure={self.departure}&guests=1"
        )
        self.assertEqual(response.status_code, 200)
        return CSRF_RE.search(response.text).group(1)

    def _post(self, route, data, **kwargs):
        """POST ``data`` to ``route`` with the session's CSRF token."""
        return self.url_open(
            route, data=dict(data, csrf_token=self._csrf_token()), **kwargs
        )

    def _form_data(self, room_type=None, **overrides):
        """A complete, valid booking engine form; ``overrides`` change fields."""
        data = {
            "arrival": fields.Date.to_string(self.arrival),
            "departure": fields.Date.to_string(self.departure),
            "guests": "2",
            "room_type_id": str((room_type or self.room_double).id),
            "name": "Ana Ivanova",
            "email": "ana.ivanova@example.com",
            "phone": "+359 2 123 4567",
            "request_key": uuid.uuid4().hex,
        }
        data.update(overrides)
        return data

    def _forms(self, html, form_action):
        """The hidden inputs of each form that posts to ``form_action``."""
        return [
            {
                name: unescape(value)
                for name, value in re.findall(
                    r'<input type="hidden" name="([^"]+)" value="([^"]*)"', body
                )
            }
            for body in re.findall(
                rf'<form[^>]*action="{re.escape(form_action)}"[^>]*>(.*?)</form>',
                html,
                re.S,
            )
        ]

    def _hidden_fields(self, html, form_action, **match):
        """The hidden inputs of the first form posting to ``form_action`` whose
        inputs include ``match``."""
        for form in self._forms(html, form_action):
            if all(form.get(name) == value for name, value in match.items()):
                return form
        self.fail(f"No form posting to {form_action} with {match}")

    # ------------------------------------------------------------------
    # Assertions on pages, with short failure messages
    # ------------------------------------------------------------------

    def assertInPage(self, text, page, msg=None):
        if text not in page:
            self.fail(f"{text!r} is not on the page" + (f": {msg}" if msg else ""))

    def assertNotInPage(self, text, page, msg=None):
        if text in page:
            self.fail(f"{text!r} is on the page" + (f": {msg}" if msg else ""))
