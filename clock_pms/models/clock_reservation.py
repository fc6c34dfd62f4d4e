from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import format_date

# Which states each state can be reached from.
STATE_TRANSITIONS = {
    "confirmed": ("draft",),
    "checked_in": ("confirmed",),
    "checked_out": ("checked_in",),
    "cancelled": ("draft", "confirmed"),
    "no_show": ("confirmed",),
}


class ClockReservation(models.Model):
    _name = "clock.reservation"
    _description = "Reservation"
    _inherit = ["portal.mixin", "mail.thread", "mail.activity.mixin"]
    _order = "arrival_date desc, id desc"
    _check_company_auto = True

    name = fields.Char(
        string="Reference",
        required=True,
        readonly=True,
        copy=False,
        default=lambda self: _("New"),
    )
    company_id = fields.Many2one(
        "res.company",
        string="Hotel",
        required=True,
        index=True,
        default=lambda self: self.env.company,
    )
    currency_id = fields.Many2one(related="company_id.currency_id", store=True)
    partner_id = fields.Many2one(
        "res.partner", string="Guest", required=True, tracking=True, index=True
    )
    room_type_id = fields.Many2one(
        "clock.room.type", required=True, tracking=True, check_company=True
    )
    arrival_date = fields.Date(required=True, tracking=True, index=True)
    departure_date = fields.Date(required=True, tracking=True)
    nights = fields.Integer(compute="_compute_nights", store=True)
    guest_count = fields.Integer(string="Guests", required=True, default=1)
    state = fields.Selection(
        [
            ("draft", "Draft"),
            ("confirmed", "Confirmed"),
            ("checked_in", "Checked In"),
            ("checked_out", "Checked Out"),
            ("cancelled", "Cancelled"),
            ("no_show", "No-show"),
        ],
        required=True,
        default="draft",
        readonly=True,
        copy=False,
        tracking=True,
        index=True,
    )
    confirmed_at = fields.Datetime(readonly=True, copy=False)
    checked_in_at = fields.Datetime(readonly=True, copy=False)
    checked_out_at = fields.Datetime(readonly=True, copy=False)
    cancelled_at = fields.Datetime(readonly=True, copy=False)
    no_show_at = fields.Datetime(readonly=True, copy=False)
    channel = fields.Selection(
        [("direct", "Direct"), ("booking_engine", "Booking Engine"), ("ota", "OTA")],
        required=True,
        default="direct",
        index=True,
    )
    agent_id = fields.Many2one("res.partner", string="Agent", index=True)
    company_partner_id = fields.Many2one(
        "res.partner",
        string="Company",
        index=True,
        help="The company the guest travels for, if any.",
    )
    guarantee_policy_id = fields.Many2one(
        "clock.guarantee.policy",
        compute="_compute_guarantee_policy_id",
        store=True,
        readonly=False,
        precompute=True,
        tracking=True,
        check_company=True,
    )
    guarantee_status = fields.Selection(
        [
            ("not_required", "Not Required"),
            ("awaiting", "Awaiting Guarantee"),
            ("guaranteed", "Guaranteed"),
            ("expired", "Guarantee Expired"),
        ],
        compute="_compute_guarantee_status",
        store=True,
        readonly=False,
        precompute=True,
        tracking=True,
        copy=False,
        index=True,
    )
    guarantee_deadline = fields.Date(
        compute="_compute_guarantee_deadline", store=True, index=True
    )
    nightly_price = fields.Monetary(
        compute="_compute_nightly_price",
        store=True,
        readonly=False,
        precompute=True,
        help="Price of one night, taken from the room type when the booking is made.",
    )
    amount_room = fields.Monetary(
        string="Room Charges", compute="_compute_amount_room", store=True
    )
    folio_ids = fields.One2many("clock.folio", "reservation_id", string="Folios")
    folio_count = fields.Integer(compute="_compute_folio_count")
    amount_total = fields.Monetary(
        string="Total", compute="_compute_amounts", store=True
    )
    amount_paid = fields.Monetary(string="Paid", compute="_compute_amounts", store=True)
    balance = fields.Monetary(compute="_compute_amounts", store=True)
    deposit_amount = fields.Monetary(
        string="Deposit",
        compute="_compute_deposit_amount",
        help="What the guarantee policy asks the guest to pay up front.",
    )
    note = fields.Text(string="Guest Request")
    booking_request_key = fields.Char(
        copy=False,
        readonly=True,
        index="btree_not_null",
        help="Once-only key of the booking engine form that made this booking: a "
        "second submission of the same form finds this booking instead of making "
        "another.",
    )

    _sql_constraints = [
        (
            "dates_order",
            "CHECK(departure_date > arrival_date)",
            "The departure must be after the arrival.",
        ),
        ("guests_positive", "CHECK(guest_count > 0)", "A booking needs a guest."),
        (
            "booking_request_key_uniq",
            "unique(booking_request_key)",
            "This booking request was already made.",
        ),
    ]

    # ------------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------------

    @api.depends("arrival_date", "departure_date")
    def _compute_nights(self):
        for booking in self:
            if booking.arrival_date and booking.departure_date:
                booking.nights = max(
                    (booking.departure_date - booking.arrival_date).days, 0
                )
            else:
                booking.nights = 0

    @api.depends("room_type_id")
    def _compute_guarantee_policy_id(self):
        for booking in self:
            booking.guarantee_policy_id = (
                booking.guarantee_policy_id
                or booking.room_type_id._get_guarantee_policy()
            )

    @api.depends("guarantee_policy_id")
    def _compute_guarantee_status(self):
        for booking in self:
            policy = booking.guarantee_policy_id
            if booking.guarantee_status == "guaranteed":
                booking.guarantee_status = "guaranteed"
            elif policy and policy._requires_guarantee():
                booking.guarantee_status = "awaiting"
            else:
                booking.guarantee_status = "not_required"

    @api.depends("guarantee_policy_id", "arrival_date", "create_date")
    def _compute_guarantee_deadline(self):
        for booking in self:
            policy = booking.guarantee_policy_id
            if not (policy and booking.arrival_date):
                booking.guarantee_deadline = False
                continue
            booked_on = (booking.create_date or fields.Datetime.now()).date()
            booking.guarantee_deadline = policy._get_guarantee_deadline(
                booked_on, booking.arrival_date
            )

    @api.depends("room_type_id")
    def _compute_nightly_price(self):
        for booking in self:
            booking.nightly_price = booking.room_type_id.price

    @api.depends("nightly_price", "nights")
    def _compute_amount_room(self):
        for booking in self:
            booking.amount_room = booking.nightly_price * booking.nights

    @api.depends("folio_ids")
    def _compute_folio_count(self):
        for booking in self:
            booking.folio_count = len(booking.folio_ids)

    @api.depends(
        "amount_room",
        "folio_ids.amount_total",
        "folio_ids.amount_paid",
    )
    def _compute_amounts(self):
        for booking in self:
            folios = booking.folio_ids
            booking.amount_total = (
                sum(folios.mapped("amount_total")) if folios else booking.amount_room
            )
            booking.amount_paid = sum(folios.mapped("amount_paid"))
            booking.balance = booking.currency_id.round(
                booking.amount_total - booking.amount_paid
            )

    @api.depends(
        "guarantee_policy_id",
        "nightly_price",
        "nights",
        "amount_total",
        "folio_ids.line_ids.amount",
    )
    def _compute_deposit_amount(self):
        for booking in self:
            policy = booking.guarantee_policy_id
            booking.deposit_amount = (
                policy._get_deposit_amount(
                    booking._get_room_charges(),
                    booking.amount_total,
                    booking.currency_id,
                )
                if policy
                else 0.0
            )

    def _get_room_charges(self):
        """The room charge of each night, in stay order."""
        self.ensure_one()
        room_lines = self.folio_ids.line_ids.filtered(
            lambda line: line.kind == "charge" and line.revenue_group == "room"
        )
        if room_lines:
            return room_lines.sorted(lambda line: (line.date, line.id)).mapped("amount")
        return [self.nightly_price] * self.nights

    def _compute_access_url(self):
        for booking in self:
            booking.access_url = f"/my/bookings/{booking.id}"

    # ------------------------------------------------------------------
    # Constraints and CRUD
    # ------------------------------------------------------------------

    @api.constrains("guest_count", "room_type_id")
    def _check_guest_count(self):
        for booking in self:
            if booking.guest_count > booking.room_type_id.capacity:
                raise ValidationError(
                    _(
                        "%(room_type)s sleeps at most %(capacity)s guests, "
                        "not %(count)s.",
                        room_type=booking.room_type_id.name,
                        capacity=booking.room_type_id.capacity,
                        count=booking.guest_count,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("name", _("New")) == _("New"):
                company = self.env["res.company"].browse(
                    vals.get("company_id") or self.env.company.id
                )
                vals["name"] = self.env["ir.sequence"].with_company(
                    company
                ).next_by_code("clock.reservation") or _("New")
        return super().create(vals_list)

    # ------------------------------------------------------------------
    # State changes
    # ------------------------------------------------------------------

    def _change_state(self, new_state):
        """Move the bookings to ``new_state`` and store when it happened."""
        labels = dict(self._fields["state"]._description_selection(self.env))
        for booking in self:
            if booking.state not in STATE_TRANSITIONS[new_state]:
                raise UserError(
                    _(
                        "%(booking)s is %(state)s: it cannot be set to %(target)s.",
                        booking=booking.name,
                        state=labels[booking.state],
                        target=labels[new_state],
                    )
                )
        self.write({"state": new_state, f"{new_state}_at": fields.Datetime.now()})

    def action_confirm(self):
        self._change_state("confirmed")
        for booking in self.filtered(lambda b: not b.folio_ids):
            booking._create_folio()
        self.filtered(
            lambda b: b.channel == "booking_engine"
        )._send_booking_confirmation_mail()
        return True

    def action_check_in(self):
        self._change_state("checked_in")
        return True

    def action_check_out(self):
        self._change_state("checked_out")
        return True

    def action_cancel(self):
        self._change_state("cancelled")
        return True

    def action_mark_no_show(self):
        self._change_state("no_show")
        return True

    def action_mark_guaranteed(self):
        for booking in self:
            if booking.state in ("cancelled", "no_show", "checked_out"):
                raise UserError(
                    _("%s is closed: there is nothing to guarantee.", booking.name)
                )
        self.guarantee_status = "guaranteed"
        return True

    def action_view_folios(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "clock_pms.clock_folio_action"
        )
        action["domain"] = [("reservation_id", "=", self.id)]
        action["context"] = {"default_reservation_id": self.id}
        if len(self.folio_ids) == 1:
            action.update(res_id=self.folio_ids.id, views=[(False, "form")])
        return action

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------

    def _create_folio(self):
        """Open the booking's folio with one room charge per night."""
        self.ensure_one()
        nights = [
            fields.Command.create(
                {
                    "name": _(
                        "%(room_type)s, night of %(date)s",
                        room_type=self.room_type_id.name,
                        date=format_date(self.env, night),
                    ),
                    "date": night,
                    "kind": "charge",
                    "revenue_group": "room",
                    "amount": self.nightly_price,
                }
            )
            for night in (
                self.arrival_date + timedelta(days=n) for n in range(self.nights)
            )
        ]
        return self.env["clock.folio"].create(
            {
                "name": f"{self.name}/{len(self.folio_ids) + 1}",
                "reservation_id": self.id,
                "line_ids": nights,
            }
        )

    def _send_booking_confirmation_mail(self):
        """E-mail the guests their booking and its MyBooking link."""
        template = self.env.ref("clock_pms.mail_template_booking_confirmation")
        for booking in self.filtered("partner_id.email"):
            booking.message_post_with_source(
                template,
                email_layout_xmlid="mail.mail_notification_light",
                subtype_xmlid="mail.mt_comment",
            )

    def _booking_engine_complete(self):
        """Finish a booking made on the booking engine and return where the guest
        goes next.

        The core confirms the booking (its policy needs no card); a payment module
        overrides this to send the guest to its own step first.
        """
        self.ensure_one()
        self.action_confirm()
        return self.get_portal_url()

    @api.model
    def _cron_expire_guarantees(self):
        """Mark bookings whose guarantee deadline has passed as expired."""
        expired = self.search(
            [
                ("guarantee_status", "=", "awaiting"),
                ("guarantee_deadline", "<", fields.Date.context_today(self)),
                ("state", "in", ("draft", "confirmed")),
            ]
        )
        expired.guarantee_status = "expired"
        return expired
