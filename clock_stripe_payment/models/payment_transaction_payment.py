# Part of clock_stripe_payment. License LGPL-3.
"""Money going out at Stripe for a transaction: the staff rights on Odoo's own
Capture/Void/Refund buttons, the payment request of a saved card, and the cron
that settles charges and refunds whose answer was lost."""

import logging

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from .. import const
from ..stripe_api import ClockStripeError

_logger = logging.getLogger(__name__)


class PaymentTransaction(models.Model):
    _inherit = "payment.transaction"  # pylint: disable=consider-merging-classes-inherited

    # === ACTION METHODS === #

    def action_capture(self):
        """Override of `payment`: hotel transactions are captured by hotel payments
        staff only (the transaction form's Capture button)."""
        self._clock_check_staff_access()
        return super().action_capture()

    def action_void(self):
        """Override of `payment`: hotel holds are released by hotel payments staff
        only (the transaction form's Void button)."""
        self._clock_check_staff_access()
        return super().action_void()

    def action_refund(self, amount_to_refund=None):
        """Override of `payment`: hotel payments are refunded by hotel managers of
        the payments group only (the accounting payment's Refund wizard)."""
        self._clock_check_staff_access(refund=True)
        return super().action_refund(amount_to_refund=amount_to_refund)

    def _clock_check_staff_access(self, refund=False):
        """Apply the hotel's payment rights to the core buttons: a transaction of
        the Stripe (hotel) provider or of a booking is captured, released or
        refunded under the same rules as the booking's own wizards, whatever the
        user's accounting rights.

        :raise AccessError: the user is not in the Hotel payments group, is not a
            hotel manager for a refund, or may not write on the bookings
        """
        hotel_txs = self.sudo().filtered(
            lambda tx: tx.provider_code == const.PROVIDER_CODE
            or tx._clock_get_reservations()
        )
        if not hotel_txs:
            return
        bookings = self.env["clock.reservation"]
        for tx in hotel_txs:
            bookings |= tx._clock_get_reservations().with_env(self.env)
        bookings._clock_check_payment_access(refund=refund)

    # === BUSINESS METHODS - PAYMENT FLOW (framework hooks) === #

    def _send_payment_request(self):
        """Override of `payment`: charge a saved card (token) with a PaymentIntent.

        ``offline`` (merchant-initiated: staff, Autopilot) is sent off-session;
        ``online_token`` (the guest is on the page) on-session, so that 3-D Secure
        can be completed in the browser. Declines put the transaction in error
        without raising (the cursor is not rolled back).
        """
        if self.provider_code != const.PROVIDER_CODE:
            return super()._send_payment_request()
        self.ensure_one()
        token = self.token_id
        if not token:
            raise UserError(_("There is no saved card to charge."))
        if not token.active:
            raise UserError(_("The saved card has been removed and cannot be charged."))
        if (
            not token.clock_stripe_payment_method_id
            or token.provider_id != self.provider_id
        ):
            raise UserError(
                _("The saved card cannot be charged through this provider.")
            )
        if self.state != "draft":
            raise UserError(_("This payment has already been sent."))
        self._clock_stripe_check_amount()
        refusal = self._clock_check_folio_owed()
        if refusal:
            self._set_error(refusal)
            return
        super(
            PaymentTransaction, self.with_context(clock_stripe_sending=True)
        )._send_payment_request()

        off_session = self.operation == "offline"
        try:
            payment_intent = self._clock_stripe_client().create_payment_intent(
                amount=self._clock_stripe_minor(),
                currency=self._clock_stripe_settlement_code(),
                customer_id=token.provider_ref,
                payment_method_id=token.clock_stripe_payment_method_id,
                reference=self.reference,
                idempotency_key=self._clock_stripe_idempotency_key(
                    const.OPERATION_PAYMENT
                ),
                capture_manually=self.clock_stripe_capture_manually,
                off_session=off_session,
                description=self.reference,
                card_options=self._clock_stripe_card_options(),
            )
        except ClockStripeError as error:
            if error.kind in const.CARD_ERROR_KINDS:
                self._clock_stripe_apply_card_error(error)
                return
            if off_session and error.kind in const.ANSWER_LOST_KINDS:
                # No answer (timeout, connection lost, Stripe down or busy): not
                # a decline. The card may or may not have been charged; the
                # transaction stays a draft, to be resolved with Stripe and sent
                # again with the same idempotency key if Stripe never got it.
                self._log_sent_message()
                self.write(
                    {
                        # The error says what is known: not known yet, or
                        # nothing done (rate limit).
                        "state_message": str(error),
                        # A rate limit is sent again when Stripe says (Autopilot).
                        "clock_stripe_error_kind": error.kind,
                    }
                )
                return
            if off_session:
                # Not a decline: Stripe refused the request itself (not found,
                # invalid, key refused...); its kind words the outcome.
                self.clock_stripe_error_kind = (
                    "not_found" if error.http_status == 404 else error.kind
                )
                self._set_error(str(error))
                return
            raise
        self.clock_stripe_customer_ref = token.provider_ref
        self.clock_stripe_payment_method_ref = token.clock_stripe_payment_method_id
        self._handle_notification_data(
            const.PROVIDER_CODE,
            {"reference": self.reference, "payment_intent": payment_intent},
        )
        if off_session and self.state == "draft":
            # The bank asks for 3-D Secure: Stripe answers 402
            # authentication_required off-session, or leaves the intent in
            # requires_action. Either way the guest must authenticate: the
            # transaction is in error until they do.
            self._set_error(
                _(
                    "The card's bank requires the card holder to authenticate this "
                    "payment (3-D Secure)."
                )
            )
        elif self.state == "draft":
            self._log_sent_message()

    def _clock_stripe_card_options(self):
        """The card options of this transaction's PaymentIntent: a hold asks for
        the extended and incremental authorization the provider requests."""
        self.ensure_one()
        if not self.clock_stripe_capture_manually:
            return None
        return self.provider_id._clock_stripe_hold_card_options()

    @api.model
    def _cron_clock_stripe_check_unanswered(self):
        """Ask Stripe what became of the staff charges and refunds sent without
        an answer (the Payment Autopilot resolves its own runs): what Stripe made
        is applied and posted; what it never received after
        ``const.UNANSWERED_GRACE`` is canceled, so that nothing stays "not sure". While
        Stripe is unreachable, they wait for the next run."""
        limit = fields.Datetime.now() - const.UNANSWERED_GRACE
        txs = self.sudo().search(
            [
                ("provider_code", "=", const.PROVIDER_CODE),
                ("operation", "in", ("offline", "refund")),
                ("state", "=", "draft"),
                ("provider_reference", "=", False),
                ("state_message", "!=", False),
                ("write_date", "<", limit),
            ]
        )
        runs = self.env["clock.autopilot.run"].sudo()
        txs -= runs.search([("transaction_ids", "in", txs.ids)]).transaction_ids
        for tx in txs:
            try:
                with self.env.cr.savepoint():
                    tx._clock_stripe_check_unanswered()
            except ClockStripeError as error:
                _logger.info(
                    "%s still not checked with Stripe: %s", tx.reference, error
                )

    def _clock_stripe_check_unanswered(self):
        """Settle this unanswered charge or refund from what Stripe has."""
        self.ensure_one()
        self._clock_stripe_lock()
        if self.state != "draft" or self.provider_reference:
            return
        if self.operation == "refund":
            refund = self._clock_stripe_find_refund()
            if refund:
                self._handle_notification_data(
                    const.PROVIDER_CODE, {"reference": self.reference, "refund": refund}
                )
        else:
            self._autopilot_fetch_from_provider()
        if self.state == "draft":
            self._set_canceled(
                state_message=_(
                    "Stripe never received it: nothing was charged or refunded."
                )
            )
        self._clock_post_process_now()

    def _clock_stripe_unanswered_refunds(self):
        """The refunds of this payment sent without an answer from Stripe."""
        self.ensure_one()
        return self.child_transaction_ids.filtered(
            lambda t: t.operation == "refund"
            and t.state == "draft"
            and not t.provider_reference
        )
