# Part of clock_stripe_payment. License LGPL-3.
"""Holds (manual capture) at Stripe: raising a hold, capturing it in full or in
part, and releasing it."""

from odoo import _, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_compare

from .. import const


class PaymentTransaction(models.Model):
    _inherit = "payment.transaction"  # pylint: disable=consider-merging-classes-inherited

    def _clock_stripe_increment_hold(self, amount):
        """Raise this hold to ``amount`` (the new total, transaction currency).

        :return: None; the hold's amount is the new one when Stripe agreed
        :raise UserError: not a hold Stripe allows raising, or a new total that is
            not above the hold; nothing is sent then
        :raise ClockStripeError: Stripe refused (``card``: the bank declined);
            the hold is unchanged
        """
        self.ensure_one()
        self._clock_stripe_lock()
        if self.state != "authorized" or not self.clock_stripe_capture_manually:
            raise UserError(_("Only an authorized hold can be raised."))
        if self.child_transaction_ids.filtered(
            lambda child: child.operation == self.operation
        ):
            raise UserError(_("A hold already partly captured cannot be raised."))
        if not self.clock_stripe_hold_incrementable:
            raise UserError(
                _(
                    "Stripe does not allow raising the hold %s: place a second "
                    "hold for the extra amount instead.",
                    self.reference,
                )
            )
        amount = self.currency_id.round(amount)
        if (
            float_compare(
                amount, self.amount, precision_rounding=self.currency_id.rounding
            )
            <= 0
        ):
            raise UserError(_("The new amount of a hold must be above its amount."))
        settlement_currency = self.clock_stripe_settlement_currency_id
        settlement_amount = settlement_currency.round(
            self.clock_stripe_settlement_amount * amount / self.amount
        )
        minor = self._clock_stripe_minor(settlement_amount)
        payment_intent = self._clock_stripe_client().increment_authorization(
            self.provider_reference,
            minor,
            self._clock_stripe_idempotency_key(f"{const.OPERATION_INCREMENT}-{minor}"),
        )
        self.write(
            {
                "amount": amount,
                "clock_stripe_settlement_amount": settlement_amount,
                **self._clock_stripe_hold_fields(payment_intent),
            }
        )

    def _send_capture_request(self, amount_to_capture=None):
        """Override of `payment`: capture a hold, in full or in part.

        Stripe captures once and releases the rest by itself: after a partial
        capture the remainder is recorded as a canceled (void) child, so that the
        source transaction is complete.
        """
        if self.provider_code != const.PROVIDER_CODE:
            return super()._send_capture_request(amount_to_capture=amount_to_capture)
        self.ensure_one()
        self._clock_stripe_lock()
        self._clock_stripe_check_capture(amount_to_capture)
        if (
            amount_to_capture
            and float_compare(
                amount_to_capture,
                self.amount,
                precision_rounding=self.currency_id.rounding,
            )
            == 0
        ):
            amount_to_capture = None
        child = super()._send_capture_request(amount_to_capture=amount_to_capture)
        tx = child or self
        if child:
            child.clock_stripe_settlement_amount = min(
                child.clock_stripe_settlement_amount,
                self.clock_stripe_settlement_amount,
            )
        payment_intent = self._clock_stripe_client().capture_payment_intent(
            self.provider_reference,
            tx._clock_stripe_idempotency_key(const.OPERATION_CAPTURE),
            amount_to_capture=tx._clock_stripe_minor() if child else None,
        )
        tx._handle_notification_data(
            const.PROVIDER_CODE,
            {
                "reference": tx.reference,
                "payment_intent": payment_intent,
                "clock_stripe_captured": True,
            },
        )
        if child and child.state == "done":
            remainder = self.currency_id.round(self.amount - child.amount)
            void_child = self._create_child_transaction(remainder)
            void_child.write(
                {
                    "clock_stripe_settlement_amount": (
                        self.clock_stripe_settlement_amount
                        - child.clock_stripe_settlement_amount
                    ),
                    "provider_reference": self.provider_reference,
                }
            )
            void_child._set_canceled(
                state_message=_("Released by Stripe when the hold was partly captured.")
            )
        return child

    def _clock_stripe_check_capture(self, amount_to_capture):
        """Refuse a capture Stripe must not receive (no request, no change)."""
        if self.state == "cancel":
            raise UserError(
                _("This hold was released; there is nothing left to capture.")
            )
        if self.state != "authorized":
            raise UserError(_("Only an authorized hold can be captured."))
        if not self.provider_reference:
            raise UserError(_("This hold has no Stripe payment to capture."))
        if amount_to_capture is not None:
            self._clock_stripe_check_minor_step(amount_to_capture)
            rounding = self.currency_id.rounding
            if float_compare(amount_to_capture, 0, precision_rounding=rounding) <= 0:
                raise UserError(_("The amount to capture must be positive."))
            if (
                float_compare(
                    amount_to_capture, self.amount, precision_rounding=rounding
                )
                > 0
            ):
                raise UserError(
                    _(
                        "You cannot capture more than the hold of %(amount)s "
                        "%(currency)s.",
                        amount=self.amount,
                        currency=self.currency_id.name,
                    )
                )
        if (
            self.clock_stripe_hold_expires_at
            and self.clock_stripe_hold_expires_at < fields.Datetime.now()
        ):
            raise UserError(
                _(
                    "This hold expired on %(date)s and was released by Stripe.",
                    date=self.clock_stripe_hold_expires_at,
                )
            )

    def _send_void_request(self, amount_to_void=None):
        """Override of `payment`: release a hold (Stripe releases it in full)."""
        if self.provider_code != const.PROVIDER_CODE:
            return super()._send_void_request(amount_to_void=amount_to_void)
        self.ensure_one()
        self._clock_stripe_lock()
        released = self.child_transaction_ids.filtered(
            lambda t: t.state == "cancel" and t.operation == self.operation
        )
        if self.state == "done" and released:
            # The remainder of a partial capture was already released by Stripe
            # (e.g. the capture wizard's "void remaining amount").
            return self.env["payment.transaction"]
        if self.state != "authorized":
            raise UserError(_("Only an authorized hold can be released."))
        if amount_to_void and float_compare(
            amount_to_void, self.amount, precision_rounding=self.currency_id.rounding
        ):
            raise UserError(
                _("Stripe releases a hold in full; partial releases are not possible.")
            )
        child = super()._send_void_request(amount_to_void=None)
        payment_intent = self._clock_stripe_client().cancel_payment_intent(
            self.provider_reference,
            self._clock_stripe_idempotency_key(const.OPERATION_VOID),
        )
        self._handle_notification_data(
            const.PROVIDER_CODE,
            {"reference": self.reference, "payment_intent": payment_intent},
        )
        return child
