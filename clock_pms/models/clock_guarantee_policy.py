from datetime import timedelta

from odoo import api, fields, models

from .. import deposit


class ClockGuaranteePolicy(models.Model):
    _name = "clock.guarantee.policy"
    _description = "Guarantee Policy"
    _order = "priority, name"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    active = fields.Boolean(default=True)
    guest_text = fields.Html(
        string="Text for Guests",
        translate=True,
        help="Shown to guests on the booking engine and in MyBooking.",
    )
    priority = fields.Integer(
        default=10, help="Lower numbers win when several policies could apply."
    )
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    payment_option = fields.Selection(
        [("none", "No guarantee"), ("manual", "Manual (e.g. bank transfer)")],
        required=True,
        default="none",
        help="How a booking under this policy is guaranteed.",
    )
    deposit_rule = fields.Selection(
        [
            (deposit.RULE_NONE, "No deposit"),
            (deposit.RULE_NIGHTS, "First N nights"),
            (deposit.RULE_PERCENT_ROOM, "% of room charges"),
            (
                deposit.RULE_MAX_NIGHTS_PERCENT_ROOM,
                "Larger of first N nights and % of room charges",
            ),
            (deposit.RULE_PERCENT_TOTAL, "% of total"),
            (deposit.RULE_FIXED, "Fixed amount"),
        ],
        required=True,
        default=deposit.RULE_NONE,
    )
    deposit_nights = fields.Integer(string="Nights", default=1)
    deposit_percent = fields.Float(string="Percentage", default=100.0)
    deposit_fixed = fields.Monetary(string="Fixed Amount", currency_field="currency_id")
    deadline_days_after_booking = fields.Integer(
        string="Guarantee Within (days after booking)",
        help="0 means no limit counted from the booking date.",
    )
    deadline_days_before_arrival = fields.Integer(
        string="Guarantee By (days before arrival)",
        help="0 means by the arrival day.",
    )

    _sql_constraints = [
        (
            "deposit_nights_positive",
            "CHECK(deposit_nights >= 0)",
            "The number of deposit nights cannot be negative.",
        ),
        (
            "deposit_percent_range",
            "CHECK(deposit_percent >= 0 AND deposit_percent <= 100)",
            "The deposit percentage must be between 0 and 100.",
        ),
        (
            "deposit_fixed_positive",
            "CHECK(deposit_fixed >= 0)",
            "The fixed deposit cannot be negative.",
        ),
        (
            "deadline_days_positive",
            "CHECK(deadline_days_after_booking >= 0 "
            "AND deadline_days_before_arrival >= 0)",
            "Guarantee deadlines are counted in days and cannot be negative.",
        ),
    ]

    @api.model
    def _guarantee_required_options(self):
        """Payment options under which a booking has to be guaranteed."""
        return {"manual"}

    def _requires_guarantee(self):
        self.ensure_one()
        return self.payment_option in self._guarantee_required_options()

    def _get_deposit_amount(self, room_charges, total, currency):
        """The deposit this policy asks for a stay (see :mod:`..deposit`)."""
        self.ensure_one()
        return deposit.compute_deposit(
            self.deposit_rule,
            room_charges,
            total,
            nights=self.deposit_nights,
            percent=self.deposit_percent,
            fixed=self.deposit_fixed,
            rounding=currency.rounding,
        )

    def _get_guarantee_deadline(self, booking_date, arrival_date):
        """The last day a booking made on ``booking_date`` may be guaranteed."""
        self.ensure_one()
        deadline = arrival_date - timedelta(days=self.deadline_days_before_arrival)
        if self.deadline_days_after_booking:
            after_booking = booking_date + timedelta(
                days=self.deadline_days_after_booking
            )
            deadline = min(deadline, after_booking)
        return deadline
