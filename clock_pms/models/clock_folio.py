from odoo import api, fields, models


class ClockFolio(models.Model):
    _name = "clock.folio"
    _description = "Folio"
    _inherit = ["mail.thread"]
    _order = "id desc"
    _check_company_auto = True

    name = fields.Char(required=True, readonly=True, copy=False)
    reservation_id = fields.Many2one(
        "clock.reservation",
        required=True,
        ondelete="cascade",
        index=True,
        check_company=True,
    )
    partner_id = fields.Many2one(related="reservation_id.partner_id", store=True)
    company_id = fields.Many2one(
        related="reservation_id.company_id", store=True, index=True
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    line_ids = fields.One2many("clock.folio.line", "folio_id", string="Lines")
    charge_line_ids = fields.One2many(
        "clock.folio.line", "folio_id", domain=[("kind", "=", "charge")]
    )
    payment_line_ids = fields.One2many(
        "clock.folio.line", "folio_id", domain=[("kind", "=", "payment")]
    )
    amount_total = fields.Monetary(
        string="Total Charges", compute="_compute_amounts", store=True
    )
    amount_paid = fields.Monetary(string="Paid", compute="_compute_amounts", store=True)
    balance = fields.Monetary(compute="_compute_amounts", store=True)
    hide_on_portal = fields.Boolean(
        string="Hidden on MyBooking",
        tracking=True,
        help="A hidden folio is not shown to the guest on the MyBooking portal.",
    )

    # The form edits charges and payments through the two filtered lists.
    @api.depends(
        "line_ids.amount",
        "line_ids.kind",
        "charge_line_ids.amount",
        "payment_line_ids.amount",
    )
    def _compute_amounts(self):
        for folio in self:
            charges = folio.line_ids.filtered(lambda line: line.kind == "charge")
            payments = folio.line_ids - charges
            folio.amount_total = sum(charges.mapped("amount"))
            folio.amount_paid = sum(payments.mapped("amount"))
            folio.balance = folio.currency_id.round(
                folio.amount_total - folio.amount_paid
            )
