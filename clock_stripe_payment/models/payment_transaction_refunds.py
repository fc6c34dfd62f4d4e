# Part of clock_stripe_payment. License LGPL-3.
"""Refunds at Stripe: what a payment can still give back, the refund request,
sending it again with its idempotency key after a lost answer, and finding it."""

from odoo import _, models
from odoo.exceptions import UserError
from odoo.tools import float_compare, float_is_zero

from .. import const, utils
from ..stripe_api import ClockStripeError


class PaymentTransaction(models.Model):
    _inherit = "payment.transaction"  # pylint: disable=consider-merging-classes-inherited

    def _clock_stripe_payment_root(self):
        """The transaction that holds the Stripe payment (source of captures)."""
        self.ensure_one()
        source = self.source_transaction_id
        if source and self.operation != "refund" and source.operation == self.operation:
            return source
        return self

    def _clock_stripe_refundable(self):
        """What can still be refunded on the payment of this transaction.

        :return: (amount in the transaction currency, amount in the settlement
            currency)
        """
        self.ensure_one()
        root = self._clock_stripe_payment_root()
        captures = root.child_transaction_ids.filtered(
            lambda t: t.operation == root.operation and t.state == "done"
        )
        if not captures and root.state == "done":
            captures = root
        refunds = (root | captures).child_transaction_ids.filtered(
            lambda t: t.operation == "refund" and t.state not in ("cancel", "error")
        )
        amount = sum(captures.mapped("amount")) + sum(refunds.mapped("amount"))
        settlement = sum(captures.mapped("clock_stripe_settlement_amount")) + sum(
            refunds.mapped("clock_stripe_settlement_amount")
        )
        return root.currency_id.round(amount), settlement

    def _send_refund_request(self, amount_to_refund=None):
        """Override of `payment`: refund a payment, in full or in part.

        Never more than what was captured net of previous refunds: checked here,
        before any request.
        """
        if self.provider_code != const.PROVIDER_CODE:
            return super()._send_refund_request(amount_to_refund=amount_to_refund)
        self.ensure_one()
        self._clock_stripe_lock()
        if self.state != "done" or self.operation not in const.PAYMENT_OPERATIONS:
            raise UserError(_("Only a confirmed payment can be refunded."))
        if not self.provider_reference:
            raise UserError(_("This payment has no Stripe payment to refund."))
        refundable, refundable_settlement = self._clock_stripe_refundable()
        rounding = self.currency_id.rounding
        if amount_to_refund is None:
            amount_to_refund = refundable
        if float_compare(amount_to_refund, 0, precision_rounding=rounding) <= 0:
            if float_is_zero(refundable, precision_rounding=rounding):
                raise UserError(_("This payment has already been fully refunded."))
            raise UserError(_("The amount to refund must be positive."))
        if float_compare(amount_to_refund, refundable, precision_rounding=rounding) > 0:
            raise UserError(
                _(
                    "You cannot refund %(amount)s %(currency)s: only %(refundable)s "
                    "%(currency)s of this payment can still be refunded.",
                    amount=amount_to_refund,
                    currency=self.currency_id.name,
                    refundable=refundable,
                )
            )
        root = self._clock_stripe_payment_root()
        if (
            float_compare(amount_to_refund, refundable, precision_rounding=rounding)
            == 0
        ):
            minor = utils.to_minor_units(
                refundable_settlement, root._clock_stripe_settlement_code()
            )
        else:
            root._clock_stripe_check_minor_step(amount_to_refund)
            minor = min(
                utils.prorate_minor(
                    amount_to_refund,
                    root.amount,
                    root._clock_stripe_minor(),
                    step=utils.minor_step(root._clock_stripe_settlement_code()),
                ),
                utils.to_minor_units(
                    refundable_settlement, root._clock_stripe_settlement_code()
                ),
            )
        refund_tx = super()._send_refund_request(amount_to_refund=amount_to_refund)
        refund_tx.clock_stripe_settlement_amount = -utils.from_minor_units(
            minor, root._clock_stripe_settlement_code()
        )
        refund_tx._clock_stripe_send_refund()
        return refund_tx

    def _clock_stripe_send_refund(self, again=False):
        """Send this refund transaction to Stripe, or send it again after its
        answer was lost: same reference, same idempotency key and same request,
        so that Stripe refunds once whatever the number of tries. Sent again,
        the refunds of the payment are read first: a refund Stripe made is
        applied, not sent (idempotency keys expire after 24 hours).

        A lost answer (timeout, Stripe down or busy) is not a failure: the
        refund stays a draft, "not sure yet", until Stripe's answer to a retry.
        """
        self.ensure_one()
        try:
            refund = self._clock_stripe_find_refund() if again else None
            refund = refund or self._clock_stripe_client().create_refund(
                self.source_transaction_id.provider_reference,
                self._clock_stripe_minor(),
                self.reference,
                self._clock_stripe_idempotency_key(const.OPERATION_REFUND),
            )
        except ClockStripeError as error:
            if error.kind not in const.ANSWER_LOST_KINDS:
                raise
            self.write(
                {
                    # A rate limit: Stripe did nothing, and its error says so.
                    "state_message": str(error)
                    if error.kind == "rate_limit"
                    else _(
                        "%s Not sure yet whether the refund was made: refund it "
                        "again to check with Stripe (it is never refunded twice).",
                        error,
                    ),
                    "clock_stripe_error_kind": error.kind,
                }
            )
            return
        self._handle_notification_data(
            const.PROVIDER_CODE, {"reference": self.reference, "refund": refund}
        )

    def _clock_stripe_find_refund(self):
        """The Stripe refund made for this refund transaction, or ``None``."""
        self.ensure_one()
        refunds = self._clock_stripe_client().list_refunds(
            self.source_transaction_id.provider_reference
        )
        return next(
            (
                refund
                for refund in refunds
                if (refund.get("metadata") or {}).get(const.METADATA_REFERENCE_KEY)
                == self.reference
            ),
            None,
        )
