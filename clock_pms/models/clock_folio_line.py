from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


class ClockFolioLine(models.Model):
    _name = "clock.folio.line"
    _description = "Folio Line"
    _order = "date, id"

    folio_id = fields.Many2one(
        "clock.folio", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(
        related="folio_id.company_id", store=True, precompute=True
    )
    currency_id = fields.Many2one(related="folio_id.currency_id")
    name = fields.Char(string="Description", required=True)
    date = fields.Date(required=True, default=fields.Date.context_today)
    kind = fields.Selection(
        [("charge", "Charge"), ("payment", "Payment")],
        required=True,
        default="charge",
        help="Charges add to what the guest owes; payments (negative for refunds) "
        "settle it.",
    )
    revenue_group = fields.Selection(
        [("room", "Room"), ("extras", "Extras"), ("fees", "Fees")],
        help="Which revenue a charge belongs to.",
    )
    amount = fields.Monetary(required=True, currency_field="currency_id")

    @api.constrains("kind", "revenue_group")
    def _check_revenue_group(self):
        for line in self:
            if line.kind == "charge" and not line.revenue_group:
                raise ValidationError(
                    _("The charge %s needs a revenue group.", line.name)
                )
