from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_compare


class ClockTransactionWizardMixin(models.AbstractModel):
    _name = "clock.transaction.wizard.mixin"
    _description = "Wizard acting on one card transaction of a booking"

    reservation_id = fields.Many2one("clock.reservation", required=True, readonly=True)
    folio_id = fields.Many2one("clock.folio", readonly=True)
    allowed_transaction_ids = fields.Many2many(
        "payment.transaction", compute="_compute_allowed_transaction_ids"
    )
    transaction_id = fields.Many2one(
        "payment.transaction",
        domain="[('id', 'in', allowed_transaction_ids)]",
        compute="_compute_transaction_id",
        store=True,
        readonly=False,
        precompute=True,
    )
    card_label = fields.Char(string="Card", compute="_compute_card_values")
    currency_id = fields.Many2one("res.currency", compute="_compute_card_values")

    @api.depends("reservation_id", "folio_id")
    def _compute_allowed_transaction_ids(self):
        for wizard in self:
            wizard.allowed_transaction_ids = wizard._clock_get_allowed_transactions()

    @api.depends("allowed_transaction_ids")
    def _compute_transaction_id(self):
        for wizard in self:
            if (
                wizard.transaction_id._origin
                not in wizard.allowed_transaction_ids._origin
            ):
                wizard.transaction_id = wizard._clock_get_default_transaction()

    @api.depends("transaction_id")
    def _compute_card_values(self):
        for wizard in self:
            tx = wizard.transaction_id.sudo()
            wizard.card_label = tx.token_id._clock_get_masked_label() if tx else False
            wizard.currency_id = tx.currency_id or wizard.reservation_id.currency_id

    def _clock_get_allowed_transactions(self):
        """The transactions of the booking (and folio) the wizard may act on.

        :return: ``payment.transaction`` records (sudoed)
        """
        self.ensure_one()
        return self.env["payment.transaction"]

    def _clock_get_default_transaction(self):
        """The allowed transaction selected when none is (still) selected."""
        self.ensure_one()
        return self.allowed_transaction_ids[:1]._origin

    def _clock_check_amount_entered(self, message):
        """Refuse an empty, zero or negative amount: it never means "all"."""
        self.ensure_one()
        currency = self.currency_id or self.reservation_id.currency_id
        if (
            not self.amount
            or float_compare(self.amount, 0.0, precision_rounding=currency.rounding)
            <= 0
        ):
            raise UserError(message)
