from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import format_amount

from .. import utils


class ClockRefundWizard(models.TransientModel):
    _name = "clock.refund.wizard"
    _inherit = "clock.transaction.wizard.mixin"
    _description = "Refund a card payment"

    transaction_id = fields.Many2one(string="Payment")
    amount_paid = fields.Monetary(string="Paid", compute="_compute_payment_values")
    amount_refundable = fields.Monetary(
        string="Refundable", compute="_compute_payment_values"
    )
    amount = fields.Monetary(
        string="Amount to Refund",
        compute="_compute_amount",
        store=True,
        readonly=False,
        precompute=True,
    )

    def _clock_get_allowed_transactions(self):
        self.ensure_one()
        payments = self.reservation_id.sudo().transaction_ids
        payments = payments._clock_filter_payments().filtered(
            lambda tx: tx.currency_id.compare_amounts(
                tx._clock_get_refundable_amount(), 0.0
            )
            > 0
            or tx._clock_stripe_unanswered_refunds()
        )
        if self.folio_id:
            payments = payments.filtered(
                lambda tx, f=self.folio_id: f in tx._clock_get_folio()
            )
        return payments

    def _clock_get_default_transaction(self):
        # the latest payment
        self.ensure_one()
        return self.allowed_transaction_ids[-1:]._origin

    @api.depends("transaction_id")
    def _compute_payment_values(self):
        for wizard in self:
            tx = wizard.transaction_id.sudo()
            wizard.amount_paid = tx.amount if tx else 0.0
            wizard.amount_refundable = tx._clock_get_refundable_amount() if tx else 0.0

    @api.depends("transaction_id")
    def _compute_amount(self):
        for wizard in self:
            # A refund without an answer from Stripe is sent again first.
            unanswered = wizard.transaction_id.sudo()._clock_stripe_unanswered_refunds()
            wizard.amount = (
                -unanswered[0].amount if unanswered else wizard.amount_refundable
            )

    def action_confirm(self):
        self.ensure_one()
        if not self.transaction_id:
            raise UserError(_("The booking has no refundable card payment."))
        self._clock_check_amount_entered(_("Enter the amount to refund."))
        refund_tx = self.reservation_id._clock_refund(self.transaction_id, self.amount)
        amount = format_amount(self.env, -refund_tx.amount, refund_tx.currency_id)
        if refund_tx.state == "done":
            kind, message = "success", _("%s refunded to the card.", amount)
        elif refund_tx.state == "error":
            kind, message = (
                "danger",
                _(
                    "The refund of %(amount)s failed: %(reason)s",
                    amount=amount,
                    reason=refund_tx.state_message or "",
                ),
            )
        elif (
            refund_tx.state == "draft"
            and refund_tx.clock_stripe_error_kind == "rate_limit"
        ):
            # Stripe refused the request before doing anything: it says so.
            kind, message = "warning", refund_tx.state_message
        elif refund_tx.state == "draft":
            kind, message = (
                "warning",
                _(
                    "Not sure yet whether %(amount)s was refunded: %(reason)s",
                    amount=amount,
                    reason=refund_tx.state_message or "",
                ),
            )
        else:
            kind, message = (
                "info",
                _(
                    "The refund of %s was sent; it is posted when the bank "
                    "confirms it.",
                    amount,
                ),
            )
        return utils.closing_notification(kind, message)
