# Part of clock_stripe_payment. License LGPL-3.
"""The card form's confirm flow: after Stripe.js collected the card (SetupIntent)
or ran 3-D Secure, check the hotel's card rules, attach, save (validation,
with the card-check hold) or charge the card, and answer the browser."""

import logging

from odoo import _, models
from odoo.exceptions import ValidationError
from odoo.tools import float_is_zero

from .. import const
from ..stripe_api import ClockStripeError

_logger = logging.getLogger(__name__)


class PaymentTransaction(models.Model):
    _inherit = "payment.transaction"  # pylint: disable=consider-merging-classes-inherited

    # === BUSINESS METHODS - CARD FORM (confirm route) === #

    def _clock_stripe_browser_answer(self, payment_intent=None):
        """What the confirm route answers to the browser."""
        self.ensure_one()
        requires_action = bool(
            payment_intent
            and payment_intent.get("status") == "requires_action"
            and self.state == "draft"
        )
        error = self.state_message if self.state in ("error", "cancel") else None
        return {
            "reference": self.reference,
            "state": self.state,
            "requires_action": requires_action,
            "client_secret": payment_intent.get("client_secret")
            if requires_action
            else None,
            "error": error,
            "message": error,
            "redirect_url": const.STATUS_ROUTE,
        }

    def _clock_stripe_confirm_from_browser(
        self, setup_intent_id=None, payment_intent_id=None
    ):
        """Continue the card flow after the browser's Stripe.js step.

        * ``setup_intent_id``: the card was collected (``confirmCardSetup``): check
          the card rules, attach the card to the customer, then save it (validation,
          with the card-check hold when configured) or charge/hold the amount;
        * ``payment_intent_id``, or no id at all: the browser completed (or failed)
          3-D Secure (``confirmCardPayment``): read the transaction's intent back
          from Stripe and finish.

        :return: ``{reference, state, requires_action, client_secret, error,
            message, redirect_url}`` (``message`` = ``error``)
        :raise ValidationError: an id that does not belong to this transaction.
        """
        self.ensure_one()
        self._clock_stripe_lock()
        if not setup_intent_id and not payment_intent_id:
            payment_intent_id = (
                self.clock_stripe_validation_intent_ref
                if self.operation == "validation"
                else self.provider_reference
            )
            if not payment_intent_id:
                if self.state != "draft":
                    return self._clock_stripe_browser_answer()
                raise ValidationError(
                    _("The card confirmation is missing its Stripe id.")
                )
        if setup_intent_id:
            if setup_intent_id != self.clock_stripe_setup_intent_ref:
                raise ValidationError(
                    _("This card setup does not belong to the payment.")
                )
            if self.state != "draft":
                return self._clock_stripe_browser_answer()
            intent_ref = (
                self.clock_stripe_validation_intent_ref
                if self.operation == "validation"
                else self.provider_reference
            )
            if intent_ref:  # Called twice: the intent exists already.
                return self._clock_stripe_confirm_from_browser(
                    payment_intent_id=intent_ref
                )
            setup_intent = self._clock_stripe_client().retrieve_setup_intent(
                setup_intent_id
            )
            return self._clock_stripe_process_setup_intent(setup_intent)
        if payment_intent_id:
            expected = (
                self.clock_stripe_validation_intent_ref
                if self.operation == "validation"
                else self.provider_reference
            )
            if not expected or payment_intent_id != expected:
                raise ValidationError(_("This payment does not belong to the order."))
            if self.state != "draft":
                return self._clock_stripe_browser_answer()
            payment_intent = self._clock_stripe_client().retrieve_payment_intent(
                payment_intent_id
            )
            payment_method = payment_intent.get("payment_method")
            if self.operation == "validation":
                return self._clock_stripe_finish_validation_hold(
                    payment_intent, payment_method
                )
            return self._clock_stripe_apply_browser_intent(
                payment_intent, payment_method
            )
        raise ValidationError(_("The card confirmation is missing its Stripe id."))

    def _clock_stripe_process_setup_intent(self, setup_intent):
        """Check and use the card of a SetupIntent confirmed in the browser.

        :param dict setup_intent: The SetupIntent with its payment method expanded.
        :return: The browser answer (see ``_clock_stripe_browser_answer``).
        """
        self.ensure_one()
        metadata = setup_intent.get("metadata") or {}
        if metadata.get(const.METADATA_REFERENCE_KEY) != self.reference:
            raise ValidationError(_("This card setup does not belong to the payment."))
        client = self._clock_stripe_client()
        payment_method = setup_intent.get("payment_method")
        if isinstance(payment_method, str):
            payment_method = client.retrieve_payment_method(payment_method)
        if setup_intent.get("status") != "succeeded" or not payment_method:
            error = setup_intent.get("last_setup_error") or {}
            self._set_error(
                _(
                    "The card could not be saved: %(reason)s",
                    reason=error.get("message")
                    or _(
                        "Stripe reports the card setup as %s.",
                        setup_intent.get("status"),
                    ),
                )
            )
            if setup_intent.get("status") in const.SETUP_INTENT_OPEN_STATUSES:
                # One card per SetupIntent: its client secret, in the browser,
                # must not try another card at Stripe without Odoo knowing.
                try:
                    client.cancel_setup_intent(setup_intent["id"])
                except ClockStripeError as cancel_error:
                    _logger.warning(
                        "card setup of %s not cancelled at Stripe: %s",
                        self.reference,
                        cancel_error,
                    )
            return self._clock_stripe_browser_answer()

        refusal = self.company_id._clock_stripe_card_refusal(payment_method)
        if refusal:
            client.detach_payment_method(payment_method["id"])
            self._set_error(refusal)
            return self._clock_stripe_browser_answer()

        customer = self._clock_stripe_get_customer()
        if not payment_method.get("customer"):
            # A card confirmed without a customer is not attached yet: attach it
            # so that it can be charged again.
            try:
                payment_method = client.attach_payment_method(
                    payment_method["id"], customer
                )
            except ClockStripeError as error:
                if error.kind not in const.CARD_ERROR_KINDS:
                    raise
                self._set_error(str(error))
                return self._clock_stripe_browser_answer()
        elif payment_method["customer"] != customer:
            raise ValidationError(_("This card belongs to another customer."))
        self.clock_stripe_payment_method_ref = payment_method["id"]

        if self.operation == "validation":
            return self._clock_stripe_validate_card(payment_method)
        return self._clock_stripe_charge_card(payment_method)

    def _clock_stripe_charge_card(self, payment_method):
        """Charge or hold the transaction amount on a checked card (on-session)."""
        self.ensure_one()
        refusal = self._clock_check_folio_owed()
        if refusal:
            self._set_error(refusal)
            self._clock_stripe_release_unkept_card()
            return self._clock_stripe_browser_answer()
        payment_intent, error = self._clock_stripe_create_browser_intent(
            payment_method,
            const.OPERATION_PAYMENT,
            self.clock_stripe_capture_manually,
            description=self.reference,
            card_options=self._clock_stripe_card_options(),
        )
        if error:
            self._clock_stripe_apply_card_error(error)
            self._clock_stripe_release_unkept_card()
            return self._clock_stripe_browser_answer()
        return self._clock_stripe_apply_browser_intent(payment_intent, payment_method)

    def _clock_stripe_validate_card(self, payment_method):
        """Save a checked card, with the card-check hold when one is configured."""
        self.ensure_one()
        if float_is_zero(self.amount, precision_rounding=self.currency_id.rounding):
            self._clock_stripe_tokenize(payment_method)
            self._set_done(state_message=_("The card was saved."))
            return self._clock_stripe_browser_answer()
        payment_intent, error = self._clock_stripe_create_browser_intent(
            payment_method,
            const.OPERATION_VALIDATION_HOLD,
            True,
            purpose=const.PURPOSE_VALIDATION_HOLD,
            description=_("Card check %s", self.reference),
        )
        if error:
            self._clock_stripe_client().detach_payment_method(payment_method["id"])
            self._set_error(str(error))
            return self._clock_stripe_browser_answer()
        self.clock_stripe_validation_intent_ref = payment_intent["id"]
        return self._clock_stripe_finish_validation_hold(payment_intent, payment_method)

    def _clock_stripe_create_browser_intent(
        self, payment_method, operation, capture_manually, **kwargs
    ):
        """Create the on-session PaymentIntent of a checked card.

        :param str operation: the idempotency operation (``const.OPERATION_*``)
        :param bool capture_manually: whether the amount is only held
        :return: ``(payment_intent, None)``, or ``(None, error)`` when the card
            is refused; any other Stripe error is raised
        """
        self.ensure_one()
        self._clock_stripe_check_amount()
        try:
            payment_intent = self._clock_stripe_client().create_payment_intent(
                amount=self._clock_stripe_minor(),
                currency=self._clock_stripe_settlement_code(),
                customer_id=self._clock_stripe_get_customer(),
                payment_method_id=payment_method["id"],
                reference=self.reference,
                idempotency_key=self._clock_stripe_idempotency_key(operation),
                capture_manually=capture_manually,
                off_session=False,
                **kwargs,
            )
        except ClockStripeError as error:
            if error.kind not in const.CARD_ERROR_KINDS:
                raise
            return None, error
        return payment_intent, None

    def _clock_stripe_finish_validation_hold(self, payment_intent, payment_method):
        """Release the card-check hold at once and keep the card if it was held."""
        self.ensure_one()
        client = self._clock_stripe_client()
        status = payment_intent.get("status")
        self.clock_stripe_intent_status = status
        if status == "requires_action":
            return self._clock_stripe_browser_answer(payment_intent)
        if isinstance(payment_method, str) or not payment_method:
            payment_method = client.retrieve_payment_method(
                payment_method or self.clock_stripe_payment_method_ref
            )
        if status == "requires_capture":
            try:
                client.cancel_payment_intent(
                    payment_intent["id"],
                    self._clock_stripe_idempotency_key(
                        const.OPERATION_VALIDATION_RELEASE
                    ),
                    reason="abandoned",
                )
                message = _(
                    "The card was checked with a hold of %(amount)s %(currency)s, "
                    "released at once.",
                    amount=self.clock_stripe_settlement_amount,
                    currency=self._clock_stripe_settlement_code(),
                )
            except ClockStripeError as error:
                # The card is valid; Stripe drops the hold by itself within 7 days.
                _logger.warning(
                    "card-check hold %s of %s not released: %s",
                    payment_intent["id"],
                    self.reference,
                    error.stripe_message,
                )
                message = _(
                    "The card was checked; its hold could not be released at once "
                    "and will expire at Stripe within 7 days."
                )
            self._clock_stripe_tokenize(payment_method)
            self._set_done(state_message=message)
        else:
            error = payment_intent.get("last_payment_error") or {}
            client.detach_payment_method(payment_method["id"])
            self._set_error(
                error.get("message")
                or _("The card could not be checked (Stripe status: %s).", status)
            )
        return self._clock_stripe_browser_answer()

    def _clock_stripe_apply_browser_intent(self, payment_intent, payment_method):
        """Apply a PaymentIntent confirmed from the card form and answer the browser
        (the card the guest did not ask to keep is released once it is over)."""
        self.ensure_one()
        self._handle_notification_data(
            const.PROVIDER_CODE,
            {
                "reference": self.reference,
                "payment_intent": payment_intent,
                "payment_method": payment_method,
            },
        )
        if self.state != "draft":
            self._clock_stripe_release_unkept_card()
        return self._clock_stripe_browser_answer(payment_intent)

    def _clock_stripe_apply_card_error(self, error):
        """Put the transaction in error after a card error (declined, 3DS...) and
        remember its kind (authentication required or not)."""
        self.ensure_one()
        payment_intent = error.payment_intent or {}
        values = {
            "clock_stripe_intent_status": payment_intent.get("status") or "failed",
            # Whether the bank asked for authentication (read by the Autopilot).
            "clock_stripe_error_kind": error.kind,
        }
        if payment_intent.get("id") and not self.provider_reference:
            values["provider_reference"] = payment_intent["id"]
        self.write(values)
        self._set_error(str(error))

    def _clock_stripe_release_unkept_card(self):
        """Detach the card the guest did not ask to keep, once the payment is over."""
        self.ensure_one()
        if (
            self.operation != "online_direct"
            or self.token_id
            or self.tokenize
            or not self.clock_stripe_payment_method_ref
        ):
            return
        try:
            self._clock_stripe_client().detach_payment_method(
                self.clock_stripe_payment_method_ref
            )
        except ClockStripeError as error:
            _logger.warning(
                "could not detach the unsaved card of %s: %s",
                self.reference,
                error.stripe_message,
            )

    def _clock_stripe_tokenize(self, payment_method):
        """Create the token of a card (Stripe PaymentMethod as a dict)."""
        self.ensure_one()
        if self.token_id:
            return self.token_id
        card = payment_method.get("card") or {}
        brand = (card.get("brand") or "").lower()
        brand_method = self.env["payment.method"]._get_from_code(
            const.CARD_BRAND_MAPPING.get(brand, brand)
        )
        if brand_method and brand_method.primary_payment_method_id == (
            self.payment_method_id.primary_payment_method_id or self.payment_method_id
        ):
            self.payment_method_id = brand_method
        token = self.env["payment.token"].create(
            {
                "provider_id": self.provider_id.id,
                "payment_method_id": self.payment_method_id.id,
                "payment_details": card.get("last4"),
                "partner_id": self.partner_id.id,
                "provider_ref": payment_method.get("customer")
                or self._clock_stripe_get_customer(),
                "clock_stripe_payment_method_id": payment_method["id"],
                "clock_stripe_card_brand": brand,
                "clock_stripe_exp_month": card.get("exp_month") or 0,
                "clock_stripe_exp_year": card.get("exp_year") or 0,
            }
        )
        self.write({"token_id": token.id, "tokenize": False})
        _logger.info(
            "created token %s for partner %s from transaction %s",
            token.id,
            self.partner_id.id,
            self.reference,
        )
        return token
