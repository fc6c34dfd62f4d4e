from odoo import fields, models


class ClockRoomType(models.Model):
    _name = "clock.room.type"
    _description = "Room Type"
    _order = "sequence, name"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    code = fields.Char(required=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    description = fields.Text(translate=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    price = fields.Monetary(
        string="Nightly Price", required=True, currency_field="currency_id"
    )
    capacity = fields.Integer(
        string="Max Guests", required=True, default=2, help="How many guests fit."
    )
    guarantee_policy_id = fields.Many2one(
        "clock.guarantee.policy",
        check_company=True,
        help="The policy a booking of this room type gets on the booking engine. "
        "When empty, the company's policy with the lowest priority number applies.",
    )

    _sql_constraints = [
        (
            "code_company_uniq",
            "unique(code, company_id)",
            "A room type code must be unique per hotel.",
        ),
        ("capacity_positive", "CHECK(capacity > 0)", "A room sleeps at least one."),
        ("price_not_negative", "CHECK(price >= 0)", "A price cannot be negative."),
    ]

    def _get_guarantee_policy(self):
        """The policy that governs a new booking of this room type (none without a
        room type)."""
        if not self:
            return self.env["clock.guarantee.policy"]
        self.ensure_one()
        return self.guarantee_policy_id or self.env["clock.guarantee.policy"].search(
            [("company_id", "=", self.company_id.id)], order="priority, id", limit=1
        )
