# Part of clock_stripe_payment. License LGPL-3.
"""What the Payment Autopilot needs from a transaction, provider-agnostic."""

import logging
from datetime import timezone

from odoo import api, fields, models

from .. import const
from ..stripe_api import ClockStripeError

_logger = logging.getLogger(__name__)


class PaymentTransaction(models.Model):
    _inherit = "payment.transaction"  # pylint: disable=consider-merging-classes-inherited

    # === AUTOPILOT === #
    # What the Payment Autopilot needs from a transaction, provider-agnostic. The
    # Autopilot moves money through the payment framework only; the few things it
    # must know about the outcome of a request (did the bank ask for
    # authentication, what does the provider know about a transaction whose answer
    # was lost) are asked here, with the Stripe (hotel) specifics kept behind
    # ``provider_code``.

    def _autopilot_requires_authentication(self):
        """Whether the bank asked the card holder to authenticate (3-D Secure).

        Stripe answers an off-session charge with ``authentication_required``
        (HTTP 402), or leaves the intent in ``requires_action``.
        """
        self.ensure_one()
        if self.provider_code != const.PROVIDER_CODE:
            return False
        return (
            self.clock_stripe_error_kind == "authentication_required"
            or self.clock_stripe_intent_status == "requires_action"
        )

    @api.model
    def _autopilot_error_outcome_unknown(self, error):
        """Whether ``error``, raised by a request to the provider (a release),
        leaves its outcome unknown: no answer, the provider failing or busy. It
        is no refusal: the provider is asked again at the next run."""
        return (
            isinstance(error, ClockStripeError)
            and error.kind in const.ANSWER_LOST_KINDS
        )

    def _autopilot_answer_lost(self):
        """Whether the request was sent but its answer never arrived.

        A timeout or a connection error after the request left is not a decline:
        the card may have been charged. On an ``offline`` payment the Stripe
        (hotel) provider then leaves the transaction a draft without any Stripe
        status (older versions put it in error: treated alike). Either way the
        provider must be asked before anything else is tried.
        """
        self.ensure_one()
        if self.provider_code != const.PROVIDER_CODE:
            return self.state == "draft"
        if self.provider_reference or self.clock_stripe_intent_status:
            return False
        return self.state in ("draft", "error")

    def _autopilot_post_process(self):
        """Post-process now (folio posting, accounting) rather than by the cron.

        A failure here does not undo the payment: the framework's post-processing
        cron tries again.
        """
        self.ensure_one()
        if self.is_post_processed or self.state == "draft":
            return
        try:
            with self.env.cr.savepoint():
                self._clock_post_process_now()
        except Exception:
            _logger.exception(
                "Autopilot: post-processing of %s failed; the cron retries it",
                self.reference,
            )

    def _autopilot_fetch_from_provider(self):
        """Ask the provider what became of this transaction and apply the answer.

        :return: whether the provider knows the transaction (if not, it was never
            received and may be sent, with the same reference)
        :rtype: bool
        """
        self.ensure_one()
        if self.provider_code != const.PROVIDER_CODE:
            return False
        client = self._clock_stripe_client()
        if self.provider_reference:
            payment_intent = client.retrieve_payment_intent(self.provider_reference)
        else:
            created = self.create_date or fields.Datetime.now()
            payment_intent = client.find_payment_intent(
                self.reference,
                customer_id=self.token_id.provider_ref,
                created_after=created.replace(tzinfo=timezone.utc).timestamp() - 3600,
                amount=self._clock_stripe_minor(),
                currency=self._clock_stripe_settlement_code(),
            )
        if not payment_intent:
            return False
        self._clock_stripe_lock()
        if self.state == "error" and self._autopilot_answer_lost():
            # The error was the lost answer, not Stripe's: Stripe's own word
            # (charged, held, declined) replaces it.
            self.state = "draft"
        if self.state in ("draft", "pending"):
            self._handle_notification_data(
                const.PROVIDER_CODE,
                {"reference": self.reference, "payment_intent": payment_intent},
            )
        return True
