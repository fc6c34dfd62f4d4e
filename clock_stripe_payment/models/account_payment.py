from odoo import api, fields, models


class AccountPayment(models.Model):
    _inherit = "account.payment"

    clock_folio_line_ids = fields.One2many(
        "clock.folio.line",
        "account_payment_id",
        string="Folio Lines",
        readonly=True,
    )
    clock_folio_id = fields.Many2one(
        "clock.folio",
        string="Folio",
        compute="_compute_clock_folio_id",
        help="The hotel folio this payment was posted to.",
    )

    @api.depends("clock_folio_line_ids.folio_id")
    def _compute_clock_folio_id(self):
        for payment in self:
            payment.clock_folio_id = payment.clock_folio_line_ids[:1].folio_id
