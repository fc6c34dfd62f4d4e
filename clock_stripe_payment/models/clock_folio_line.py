from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError

#: What a payment line posted from a card transaction keeps as the transaction says.
CARD_LINE_PROTECTED_FIELDS = {
    "amount",
    "kind",
    "folio_id",
    "payment_transaction_id",
    "account_payment_id",
    "clock_reversed_line_id",
}
#: What links a line to a card transaction: set by the posting code alone.
CARD_LINE_LINK_FIELDS = {
    "payment_transaction_id",
    "account_payment_id",
    "clock_reversed_line_id",
}


class ClockFolioLine(models.Model):
    _inherit = "clock.folio.line"

    payment_transaction_id = fields.Many2one(
        "payment.transaction",
        string="Transaction",
        readonly=True,
        index="btree_not_null",
        ondelete="restrict",
        help="The card transaction this payment line was posted from.",
    )
    account_payment_id = fields.Many2one(
        "account.payment",
        string="Accounting Payment",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
    )

    clock_reversed_line_id = fields.Many2one(
        "clock.folio.line",
        string="Reverses",
        readonly=True,
        index="btree_not_null",
        ondelete="restrict",
        help="The card payment line this line reverses (a refund that failed at "
        "Stripe after it was recorded).",
    )

    _sql_constraints = [
        (
            "payment_transaction_uniq",
            "unique(payment_transaction_id)",
            "A transaction is posted to a folio once.",
        ),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        """Card payment lines are made by the posting of their transaction (in
        sudo) only: a line made by hand for a transaction would take the place
        of its real posting (one line per transaction) with any amount."""
        self._clock_check_card_link(vals_list)
        return super().create(vals_list)

    def _clock_check_card_link(self, vals_list):
        """:raise AccessError: values that link a line to a card transaction,
        outside the posting code."""
        if not self.env.su and any(CARD_LINE_LINK_FIELDS & set(v) for v in vals_list):
            raise AccessError(
                _(
                    "A card payment is posted to the folio by the card transaction "
                    "itself: it cannot be entered by hand."
                )
            )

    def _clock_is_card_line(self):
        """Posted from a card transaction (or reversing one): kept as posted."""
        self.ensure_one()
        return bool(self.payment_transaction_id or self.clock_reversed_line_id)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_card_payment(self):
        if self.filtered(lambda line: line._clock_is_card_line()):
            raise UserError(
                _(
                    "A card payment cannot be deleted from the folio: refund it "
                    "instead."
                )
            )

    def write(self, vals):
        self._clock_check_card_link([vals])
        if (
            not self.env.su
            and CARD_LINE_PROTECTED_FIELDS & set(vals)
            and self.filtered(lambda line: line._clock_is_card_line())
        ):
            raise UserError(
                _(
                    "A card payment is posted as the card transaction says: its "
                    "amount cannot be changed (refund it instead)."
                )
            )
        return super().write(vals)
