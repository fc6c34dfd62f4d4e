# Part of clock_stripe_payment. License LGPL-3.

from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    clock_stripe_card_provider_id = fields.Many2one(
        related="company_id.clock_stripe_card_provider_id", readonly=False
    )
    clock_stripe_require_cvc = fields.Boolean(
        related="company_id.clock_stripe_require_cvc", readonly=False
    )
    clock_stripe_require_address = fields.Boolean(
        related="company_id.clock_stripe_require_address", readonly=False
    )
    clock_stripe_card_brand_ids = fields.Many2many(
        related="company_id.clock_stripe_card_brand_ids", readonly=False
    )

    # === HOTEL: card retention === #
    clock_card_retention_days = fields.Integer(
        related="company_id.clock_card_retention_days", readonly=False
    )
