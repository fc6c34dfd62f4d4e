"""Booking engine: the public pages where a guest books a room.

The steps are ``/book`` (dates and guests, then a room type), ``/book/details``
(guest details), ``/book/summary`` (price, guarantee policy and deposit) and
``/book/finish`` (create the booking). Each step re-reads every choice from the
POSTed form and recomputes prices on the server: nothing the browser sends is
trusted beyond the ids and words the guest picked.
"""

import re
import unicodedata
import uuid
from datetime import timedelta

from psycopg2.errors import UniqueViolation

from odoo import _, fields, http, tools
from odoo.exceptions import UserError, ValidationError
from odoo.http import request

from ..budget_keys import address_key, email_key

# Ids above this are not PostgreSQL integers: reject them before they reach SQL.
MAX_ID = 2**31 - 1

# What makes a guest's name a link in the hotel's mails.
LINK_RE = re.compile(r"://|\bwww\.|[<>@]|\b[\w-]{2,}\.[a-z]{2,}\b", re.I)

#: Bookings a client address may make on the booking engine in a day (system
#: parameter ``clock_pms.booking_budget_per_address``, 0 for no limit).
BOOKING_BUDGET_PER_ADDRESS = 20
#: Bookings (and so confirmation mails) one e-mail address may get in a day
#: (``clock_pms.booking_budget_per_email``).
BOOKING_BUDGET_PER_EMAIL = 5


def clean_name(name):
    """The guest's name without control or formatting characters, on one line."""
    name = "".join(
        " " if unicodedata.category(char)[0] in "CZ" else char for char in name or ""
    )
    return " ".join(name.split())


class BookingInputError(Exception):
    """Input the guest has to correct; ``step`` names the page that asks again."""

    def __init__(self, message, step="search"):
        super().__init__(message)
        self.message = message
        self.step = step


class BookingEngine(http.Controller):
    #: Longest stay the booking engine accepts, in nights.
    _booking_max_nights = 30
    #: Form fields that carry the guest's choices from one step to the next.
    _booking_stay_fields = ("arrival", "departure", "guests", "room_type_id")
    _booking_guest_fields = ("name", "email", "phone", "note")

    # ------------------------------------------------------------------
    # Routes
    # ------------------------------------------------------------------

    @http.route("/book", type="http", auth="public", website=True, sitemap=True)
    def booking_search(self, **kw):
        """Step 1: dates and guests, then the room types that fit."""
        values = self._booking_prepare_search_values(kw)
        return request.render("clock_pms.booking_search", values)

    @http.route(
        "/book/details",
        type="http",
        auth="public",
        website=True,
        methods=["POST"],
        sitemap=False,
    )
    def booking_details(self, **kw):
        """Step 2: the guest's name, e-mail and phone."""
        try:
            booking = self._booking_read_choice(kw)
        except BookingInputError as error:
            return self._booking_render_error(error, kw)
        values = self._booking_prepare_details_values(booking, kw)
        return request.render("clock_pms.booking_details", values)

    @http.route(
        "/book/summary",
        type="http",
        auth="public",
        website=True,
        methods=["POST"],
        sitemap=False,
    )
    def booking_summary(self, **kw):
        """Step 3: price, guarantee policy and deposit, before the guest confirms."""
        try:
            booking = self._booking_read_choice(kw)
            booking["guest"] = self._booking_read_guest(kw)
        except BookingInputError as error:
            return self._booking_render_error(error, kw)
        values = self._booking_prepare_summary_values(booking, kw)
        return request.render("clock_pms.booking_summary", values)

    @http.route(
        "/book/finish",
        type="http",
        auth="public",
        website=True,
        methods=["POST"],
        sitemap=False,
    )
    def booking_finish(self, **kw):
        """Step 4: create the booking and send the guest where it says next."""
        try:
            booking = self._booking_read_choice(kw)
            booking["guest"] = self._booking_read_guest(kw)
            booking["request_key"] = self._booking_read_request_key(kw)
        except BookingInputError as error:
            return self._booking_render_error(error, kw)
        done_sudo = self._booking_find_done(booking["request_key"])
        if done_sudo:
            # A second click on "Confirm booking" (or a reload): show the booking the
            # first click made instead of booking the room again.
            return request.redirect(done_sudo.get_portal_url(), local=False)
        try:
            with request.env.cr.savepoint():
                self._booking_check_bot()
                self._booking_spend_budget(booking)
                reservation_sudo = self._booking_create_reservation(booking)
                next_url = reservation_sudo._booking_engine_complete()
        except UniqueViolation:
            # The first click is still being booked by another worker: once it is
            # done, show its booking.
            request.env.cr.rollback()
            done_sudo = self._booking_find_done(booking["request_key"])
            if not done_sudo:
                raise
            return request.redirect(done_sudo.get_portal_url(), local=False)
        except (UserError, ValidationError) as error:
            values = self._booking_prepare_summary_values(booking, kw)
            values["error"] = error.args[0]
            return request.render("clock_pms.booking_summary", values)
        # The URL comes from the server (the core's MyBooking page, or a payment
        # step of a payment module), never from the request.
        return request.redirect(next_url, local=False)

    # ------------------------------------------------------------------
    # Reading and checking the guest's input
    # ------------------------------------------------------------------

    def _booking_company(self):
        """The hotel this website books for."""
        return request.website.company_id

    def _booking_today(self):
        return fields.Date.context_today(request.env.user)

    def _booking_read_stay(self, kw):
        """Dates and guests of the request, checked; raise BookingInputError."""
        try:
            arrival = fields.Date.to_date(kw.get("arrival") or None)
            departure = fields.Date.to_date(kw.get("departure") or None)
        except ValueError:
            raise BookingInputError(
                _("Please give the dates as year-month-day.")
            ) from None
        if not arrival or not departure:
            raise BookingInputError(
                _("Please choose your arrival and departure dates.")
            )
        if arrival < self._booking_today():
            raise BookingInputError(_("The arrival date cannot be in the past."))
        if departure <= arrival:
            raise BookingInputError(_("The departure must be after the arrival."))
        nights = (departure - arrival).days
        if nights > self._booking_max_nights:
            raise BookingInputError(
                _(
                    "Stays of more than %s nights cannot be booked online: "
                    "please contact the hotel.",
                    self._booking_max_nights,
                )
            )
        try:
            guests = int(kw.get("guests") or 0)
        except ValueError:
            guests = 0
        if guests < 1:
            raise BookingInputError(_("A booking needs at least one guest."))
        return {
            "arrival": arrival,
            "departure": departure,
            "nights": nights,
            "guests": guests,
            "company": self._booking_company(),
        }

    def _booking_read_room_type(self, kw, stay):
        """The room type the guest picked, if it can be booked for ``stay``."""
        try:
            room_type_id = int(kw.get("room_type_id") or 0)
        except ValueError:
            room_type_id = 0
        room_type = request.env["clock.room.type"].sudo()
        if 0 < room_type_id <= MAX_ID:
            room_type = room_type.browse(room_type_id).exists()
        if (
            not room_type
            or not room_type.active
            or room_type.company_id != stay["company"]
        ):
            raise BookingInputError(
                _("This room type cannot be booked. Please choose another one.")
            )
        if stay["guests"] > room_type.capacity:
            raise BookingInputError(
                _(
                    "%(room_type)s sleeps at most %(capacity)s guests, not %(count)s.",
                    room_type=room_type.name,
                    capacity=room_type.capacity,
                    count=stay["guests"],
                )
            )
        return room_type

    def _booking_read_choice(self, kw):
        """Stay and room type of the request, checked."""
        booking = self._booking_read_stay(kw)
        booking["room_type"] = self._booking_read_room_type(kw, booking)
        return booking

    def _booking_read_request_key(self, kw):
        """The once-only key the summary page gave this booking request."""
        key = (kw.get("request_key") or "").strip()
        if len(key) != 32 or not key.isalnum():
            raise BookingInputError(
                _("This booking form has expired. Please check your booking again.")
            )
        return key

    def _booking_find_done(self, request_key):
        """The booking an earlier submission of the same summary page made."""
        return (
            request.env["clock.reservation"]
            .sudo()
            .search([("booking_request_key", "=", request_key)], limit=1)
        )

    def _booking_check_bot(self):
        """Let Odoo's bot protection (reCAPTCHA or Turnstile), when the hotel
        installed it, refuse a booking made by a script."""
        ir_http = request.env["ir.http"]
        if hasattr(
            ir_http, "_verify_request_recaptcha_token"
        ) and not ir_http._verify_request_recaptcha_token("clock_booking"):
            raise UserError(
                _(
                    "Our protection against robots refused this booking. "
                    "Please try again."
                )
            )

    def _booking_spend_budget(self, booking):
        """Count the booking against the budgets of the client address (its /64
        for IPv6) and of the e-mail address (without its ``+tag``); raise
        UserError when one is spent."""
        budgets = request.env["clock.request.budget"].sudo()
        address = address_key(request.httprequest.remote_addr)
        email = email_key(tools.email_normalize(booking["guest"]["email"]))
        if not budgets._clock_spend(
            "booking",
            {
                f"address:{address}": budgets._clock_get_limit(
                    "clock_pms.booking_budget_per_address", BOOKING_BUDGET_PER_ADDRESS
                ),
                f"email:{email}": budgets._clock_get_limit(
                    "clock_pms.booking_budget_per_email", BOOKING_BUDGET_PER_EMAIL
                ),
            },
        ):
            raise UserError(
                _(
                    "Too many bookings were made from here or for this e-mail address "
                    "today. Please contact the hotel to book."
                )
            )

    def _booking_read_guest(self, kw):
        """The guest's details, checked; raise BookingInputError on step 2."""
        name = clean_name(kw.get("name"))[:128]
        email = (kw.get("email") or "").strip()[:254]
        if not name:
            raise BookingInputError(_("Please give the guest's name."), "details")
        if LINK_RE.search(name):
            raise BookingInputError(
                _("Please give the guest's name without links or web addresses."),
                "details",
            )
        if not email:
            raise BookingInputError(
                _("Please give an e-mail address: your booking link is sent there."),
                "details",
            )
        if not tools.email_normalize(email):
            raise BookingInputError(
                _("%s is not a valid e-mail address.", email), "details"
            )
        return {
            "name": name,
            "email": email,
            "phone": clean_name(kw.get("phone"))[:64],
            "note": (kw.get("note") or "").strip()[:2000],
        }

    # ------------------------------------------------------------------
    # Prices: always computed here, with the reservation's own computes
    # ------------------------------------------------------------------

    def _booking_quote(self, stay, room_type):
        """What a booking of ``room_type`` for ``stay`` costs and asks up front.

        An unsaved reservation computes the amounts, so the booking engine shows
        exactly what the booking will hold once created.
        """
        preview = (
            request.env["clock.reservation"]
            .sudo()
            .with_company(stay["company"])
            .new(self._booking_prepare_stay_values(stay, room_type))
        )
        policy = preview.guarantee_policy_id
        return {
            "room_type": room_type,
            "currency": preview.currency_id,
            "nights": preview.nights,
            "nightly_price": preview.nightly_price,
            "total": preview.amount_total,
            "deposit": preview.deposit_amount,
            "policy": policy,
            "requires_guarantee": bool(policy and policy._requires_guarantee()),
            "guarantee_deadline": preview.guarantee_deadline,
        }

    def _booking_get_room_types(self, stay):
        """Active room types of the website's hotel that sleep the guests."""
        return (
            request.env["clock.room.type"]
            .sudo()
            .search(
                [
                    ("company_id", "=", stay["company"].id),
                    ("capacity", ">=", stay["guests"]),
                ]
            )
        )

    # ------------------------------------------------------------------
    # Creating the booking
    # ------------------------------------------------------------------

    def _booking_prepare_stay_values(self, stay, room_type):
        return {
            "company_id": stay["company"].id,
            "room_type_id": room_type.id,
            "arrival_date": stay["arrival"],
            "departure_date": stay["departure"],
            "guest_count": stay["guests"],
            "channel": "booking_engine",
        }

    def _booking_get_partner(self, guest):
        """The guest's contact: the signed-in user's, else a new one.

        A public visitor is never linked to an existing contact, even one with
        the same e-mail: that would show them the contact's details on the card
        page and put their booking and card on someone else's account.
        """
        user = request.env.user
        if not user._is_public():
            return user.partner_id.sudo()
        return (
            request.env["res.partner"]
            .sudo()
            .create(
                {
                    "name": guest["name"],
                    "email": guest["email"],
                    "phone": guest["phone"] or False,
                }
            )
        )

    def _booking_prepare_reservation_values(self, booking):
        values = self._booking_prepare_stay_values(booking, booking["room_type"])
        values["partner_id"] = self._booking_get_partner(booking["guest"]).id
        values["booking_request_key"] = booking["request_key"]
        if booking["guest"]["note"]:
            values["note"] = booking["guest"]["note"]
        return values

    def _booking_create_reservation(self, booking):
        """Create the booking (in sudo: the guest has no rights of their own)."""
        return (
            request.env["clock.reservation"]
            .sudo()
            .with_company(booking["company"])
            .create(self._booking_prepare_reservation_values(booking))
        )

    # ------------------------------------------------------------------
    # Rendering values
    # ------------------------------------------------------------------

    def _booking_form(self, kw, names):
        """The raw values the guest typed, to fill the forms in again."""
        return {name: (kw.get(name) or "").strip() for name in names}

    def _booking_prepare_search_values(self, kw):
        today = self._booking_today()
        submitted = bool(kw.get("arrival") or kw.get("departure"))
        form = self._booking_form(kw, self._booking_stay_fields)
        if not submitted:
            form.update(
                arrival=fields.Date.to_string(today),
                departure=fields.Date.to_string(today + timedelta(days=1)),
                guests=form["guests"] or "2",
            )
        values = {
            "form": form,
            "today": fields.Date.to_string(today),
            "stay": None,
            "offers": [],
            "error": None,
            "submitted": submitted,
        }
        if submitted:
            try:
                stay = self._booking_read_stay(kw)
            except BookingInputError as error:
                values["error"] = error.message
            else:
                values["stay"] = stay
                values["offers"] = [
                    dict(
                        self._booking_quote(stay, room_type),
                        hidden=self._booking_hidden_values(
                            dict(stay, room_type=room_type)
                        ),
                    )
                    for room_type in self._booking_get_room_types(stay)
                ]
        return values

    def _booking_prepare_details_values(self, booking, kw):
        form = self._booking_form(
            kw, self._booking_stay_fields + self._booking_guest_fields
        )
        user = request.env.user
        if not user._is_public() and not (form["name"] or form["email"]):
            form.update(
                name=user.partner_id.name or "",
                email=user.partner_id.email or "",
                phone=user.partner_id.phone or "",
            )
        return {
            "form": form,
            "booking": booking,
            "quote": self._booking_quote(booking, booking["room_type"]),
            "hidden": self._booking_hidden_values(booking),
            "error": None,
        }

    def _booking_prepare_summary_values(self, booking, kw):
        return {
            "form": self._booking_form(
                kw, self._booking_stay_fields + self._booking_guest_fields
            ),
            "booking": booking,
            "guest": booking["guest"],
            "quote": self._booking_quote(booking, booking["room_type"]),
            "hidden": dict(
                self._booking_hidden_values(booking, booking["guest"]),
                request_key=kw.get("request_key") or uuid.uuid4().hex,
            ),
            "error": None,
        }

    def _booking_hidden_values(self, booking, guest=None):
        """The choices so far, as hidden form fields for the next step."""
        hidden = {
            "arrival": fields.Date.to_string(booking["arrival"]),
            "departure": fields.Date.to_string(booking["departure"]),
            "guests": str(booking["guests"]),
            "room_type_id": str(booking["room_type"].id),
        }
        if guest:
            hidden.update({name: guest[name] for name in self._booking_guest_fields})
        return hidden

    def _booking_render_error(self, error, kw):
        """Show the step that asks for the faulty input again, with the message."""
        if error.step == "details":
            values = self._booking_prepare_details_values(
                self._booking_read_choice(kw), kw
            )
            values["error"] = error.message
            return request.render("clock_pms.booking_details", values)
        values = self._booking_prepare_search_values(kw)
        values["error"] = error.message
        return request.render("clock_pms.booking_search", values)
