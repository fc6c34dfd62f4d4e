# Part of clock_stripe_payment. License LGPL-3.
"""Stripe's word on a transaction applied to it: PaymentIntents, refunds and
Checkout sessions, from the browser, the webhook or a read at Stripe, mapped to
the framework's states."""

import logging

from odoo import _, models
from odoo.exceptions import ValidationError

from .. import const, utils

_logger = logging.getLogger(__name__)


class PaymentTransaction(models.Model):
    _inherit = "payment.transaction"  # pylint: disable=consider-merging-classes-inherited

    # === BUSINESS METHODS - NOTIFICATIONS === #

    def _get_tx_from_notification_data(self, provider_code, notification_data):
        """Override of `payment` to find the transaction by its reference."""
        tx = super()._get_tx_from_notification_data(provider_code, notification_data)
        if provider_code != const.PROVIDER_CODE or len(tx) == 1:
            return tx
        reference = notification_data.get("reference")
        if not reference:
            raise ValidationError(
                _("Stripe: received data without a transaction reference.")
            )
        tx = self.search(
            [("reference", "=", reference), ("provider_code", "=", provider_code)]
        )
        if not tx:
            raise ValidationError(
                _("Stripe: no transaction found with reference %s.", reference)
            )
        return tx

    def _process_notification_data(self, notification_data):
        """Override of `payment` to apply a Stripe object to the transaction.

        ``notification_data`` has ``reference`` and one of ``payment_intent``,
        ``refund`` or ``checkout_session`` (plain dicts), plus optionally
        ``payment_method`` (dict) and ``event_type``.
        """
        res = super()._process_notification_data(notification_data)
        if self.provider_code != const.PROVIDER_CODE:
            return res
        if notification_data.get("payment_intent"):
            self._clock_stripe_apply_payment_intent(
                notification_data["payment_intent"],
                payment_method=notification_data.get("payment_method"),
                captured_here=notification_data.get("clock_stripe_captured", False),
            )
        elif notification_data.get("refund"):
            self._clock_stripe_apply_refund(notification_data["refund"])
        elif notification_data.get("checkout_session"):
            self._clock_stripe_apply_checkout_session(
                notification_data["checkout_session"],
                event_type=notification_data.get("event_type"),
            )
        else:
            raise ValidationError(_("Stripe: received data without a Stripe object."))
        return res

    def _clock_stripe_apply_payment_intent(
        self, payment_intent, payment_method=None, captured_here=False
    ):
        """Map a PaymentIntent status to the transaction state."""
        status = payment_intent.get("status")
        values = {"clock_stripe_intent_status": status}
        if not self.provider_reference:
            values["provider_reference"] = payment_intent["id"]
        if payment_intent.get("customer") and not self.clock_stripe_customer_ref:
            values["clock_stripe_customer_ref"] = payment_intent["customer"]
        pm = payment_method or payment_intent.get("payment_method")
        pm_id = pm.get("id") if isinstance(pm, dict) else pm
        if pm_id and not self.clock_stripe_payment_method_ref:
            values["clock_stripe_payment_method_ref"] = pm_id
        self.write(values)
        mapping = const.PAYMENT_INTENT_STATUS_MAPPING
        if status in mapping["draft"]:
            return
        if (
            (status in mapping["pending"] and self.state != "draft")
            or (
                status in mapping["authorized"]
                and self.state not in ("draft", "pending", "authorized")
            )
            or (status in mapping["error"] and self.state == "authorized")
        ):
            # An earlier status arriving late (Stripe does not order its events):
            # the transaction never goes back. A failed attempt reported after the
            # hold was authorized (``payment_intent.payment_failed`` of an earlier
            # card) does not undo the hold either.
            _logger.info(
                "PaymentIntent status %s for transaction %s (%s) arrived late: "
                "ignored",
                status,
                self.reference,
                self.state,
            )
            return
        if status in mapping["pending"]:
            self._set_pending()
        elif status in mapping["authorized"]:
            self.write(self._clock_stripe_hold_fields(payment_intent))
            self._clock_stripe_tokenize_if_asked(pm)
            self._set_authorized()
        elif status in mapping["done"]:
            if self.state == "authorized" and not captured_here:
                if self._clock_stripe_split_external_capture(payment_intent):
                    return
            self._clock_stripe_tokenize_if_asked(pm)
            self._set_done()
        elif status in mapping["cancel"]:
            reason = payment_intent.get("cancellation_reason")
            self._set_canceled(
                state_message=_("Stripe canceled the payment (%s).", reason)
                if reason
                else None
            )
        elif status in mapping["error"]:
            error = payment_intent.get("last_payment_error") or {}
            self._set_error(
                error.get("message") or _("The payment was not completed at Stripe.")
            )
        else:
            _logger.warning(
                "unknown PaymentIntent status %s for transaction %s",
                status,
                self.reference,
            )
            self._set_error(_("Stripe returned an unknown payment status: %s", status))

    def _clock_stripe_tokenize_if_asked(self, payment_method):
        if not self.tokenize or self.token_id:
            return
        if isinstance(payment_method, str):
            payment_method = self._clock_stripe_client().retrieve_payment_method(
                payment_method
            )
        if payment_method:
            self._clock_stripe_tokenize(payment_method)

    def _clock_stripe_hold_fields(self, payment_intent):
        """The hold's expiry, extension and incrementability as Stripe gives them.

        An answer without the card details of the charge (a webhook's intent
        names its charge by id) changes nothing already read."""
        self.ensure_one()
        terms = utils.hold_terms(payment_intent)
        if not terms["known"] and self.clock_stripe_hold_expires_at:
            return {}
        return {
            "clock_stripe_hold_expires_at": terms["expires_at"],
            "clock_stripe_hold_extended": terms["extended"],
            "clock_stripe_hold_incrementable": terms["incrementable"],
        }

    def _clock_stripe_split_external_capture(self, payment_intent):
        """A hold captured outside Odoo (dashboard) for less than its amount.

        Creates the captured child (done) and the released remainder (canceled).

        :return: Whether the capture was partial and handled.
        """
        received = payment_intent.get("amount_received")
        total = payment_intent.get("amount")
        if not received or not total or int(received) >= int(total):
            return False
        code = self._clock_stripe_settlement_code()
        settlement_captured = utils.from_minor_units(int(received), code)
        captured = self.currency_id.round(self.amount * int(received) / int(total))
        child = self._create_child_transaction(captured)
        child.write(
            {
                "clock_stripe_settlement_amount": settlement_captured,
                "provider_reference": payment_intent["id"],
            }
        )
        child._set_done()
        remainder = self._create_child_transaction(
            self.currency_id.round(self.amount - captured)
        )
        remainder.write(
            {
                "clock_stripe_settlement_amount": self.clock_stripe_settlement_amount
                - settlement_captured,
                "provider_reference": payment_intent["id"],
            }
        )
        remainder._set_canceled(
            state_message=_("Released by Stripe when the hold was partly captured.")
        )
        return True

    def _clock_stripe_apply_refund(self, refund):
        """Map a Refund status to the (refund) transaction state."""
        status = refund.get("status")
        self.write(
            {"provider_reference": refund["id"], "clock_stripe_intent_status": status}
        )
        mapping = const.REFUND_STATUS_MAPPING
        if status in mapping["done"]:
            self._set_done()
            # No browser polls a refund: post-process it soon.
            cron = self.env.ref(
                "payment.cron_post_process_payment_tx", raise_if_not_found=False
            )
            if cron:
                cron._trigger()
        elif status in mapping["pending"]:
            self._set_pending()
        elif status in mapping["error"]:
            self._set_error(
                _(
                    "The refund did not go through at Stripe (%(reason)s). Check the "
                    "payment in the Stripe Dashboard.",
                    reason=refund.get("failure_reason") or status,
                ),
                extra_allowed_states=("done",),
            )
        else:
            _logger.warning("unknown refund status %s for %s", status, self.reference)

    def _clock_stripe_apply_checkout_session(self, session, event_type=None):
        """Map a Checkout session to the transaction state."""
        payment_intent = session.get("payment_intent")
        pi_id = (
            payment_intent.get("id")
            if isinstance(payment_intent, dict)
            else payment_intent
        )
        values = {"clock_stripe_checkout_session_ref": session["id"]}
        if pi_id:
            values["provider_reference"] = pi_id
        self.write(values)
        status = session.get("status")
        payment_status = session.get("payment_status")
        if event_type == "checkout.session.async_payment_failed":
            self._set_error(_("The payment was refused by the payment method."))
        elif status == "complete":
            mapping = const.CHECKOUT_PAYMENT_STATUS_MAPPING
            if payment_status in mapping["done"]:
                self._set_done()
            elif payment_status in mapping["pending"]:
                self._set_pending()
        elif status == "expired":
            self._set_canceled(state_message=_("The Stripe payment page expired."))

    def _clock_stripe_process_checkout_return(self, canceled=False):
        """The guest came back from the Checkout page: read the session from Stripe.

        A canceled visit expires the session at Stripe first, so that it cannot be
        paid after the transaction was canceled in Odoo.
        """
        self.ensure_one()
        self._clock_stripe_lock()
        if self.state not in ("draft", "pending") or not (
            self.clock_stripe_checkout_session_ref
        ):
            return
        client = self._clock_stripe_client()
        session = client.retrieve_checkout_session(
            self.clock_stripe_checkout_session_ref
        )
        if canceled and session.get("status") == "open":
            session = client.expire_checkout_session(session["id"])
            self._set_canceled(
                state_message=_("The payment was canceled on the Stripe page.")
            )
            return
        self._handle_notification_data(
            const.PROVIDER_CODE,
            {"reference": self.reference, "checkout_session": session},
        )
