# Part of clock_stripe_payment. License LGPL-3.
"""What the browser is handed for a Stripe (hotel) transaction: the card form's
processing values (its client secrets kept out of the logs) and, for the
alternative methods, the Stripe Checkout session behind the redirect form."""

from werkzeug.urls import url_encode, url_join

from odoo import models
from odoo.exceptions import ValidationError

from .. import const
from ..stripe_api import ClockStripeError


class PaymentTransaction(models.Model):
    _inherit = "payment.transaction"  # pylint: disable=consider-merging-classes-inherited

    # === BUSINESS METHODS - PROCESSING VALUES === #

    def _get_specific_secret_keys(self):
        """Keys of the processing values that are never logged (client secrets).

        Odoo 18 logs the whole processing values; these keys are added after that
        log (see ``_get_processing_values``).
        """
        return const.SECRET_PROCESSING_KEYS

    def _get_processing_values(self):
        """Override of `payment` to keep client secrets out of the logs."""
        if self.provider_code != const.PROVIDER_CODE:
            return super()._get_processing_values()
        secret_values = {}
        processing_values = super(
            PaymentTransaction,
            self.with_context(clock_stripe_secret_values=secret_values),
        )._get_processing_values()
        processing_values.update(secret_values)
        return processing_values

    def _clock_stripe_put_secret(self, values, key, value):
        bucket = self.env.context.get("clock_stripe_secret_values")
        if bucket is not None and key in self._get_specific_secret_keys():
            bucket[key] = value
        else:
            values[key] = value

    def _get_specific_processing_values(self, processing_values):
        """Override of `payment` to give the browser what the card form needs.

        Server contract of the card form (``online_direct`` and ``validation``):

        * ``clock_stripe_publishable_key``: for ``Stripe(publishable_key)``;
        * ``clock_stripe_js_url``: the provider's Stripe.js URL;
        * ``clock_stripe_setup_intent_secret``: client secret of a SetupIntent created
          here with the guest's Stripe customer; the browser collects the card with
          ``stripe.confirmCardSetup(secret, {payment_method: {card,
          billing_details}})``;
        * ``clock_stripe_access_token`` and ``clock_stripe_confirm_route``: the
          browser then posts ``{reference, access_token, setup_intent_id}`` to the
          confirm route (JSON-RPC), see ``controllers/main.py``;
        * ``clock_stripe_require_address`` / ``clock_stripe_require_cvc`` /
          ``clock_stripe_allowed_brands``: card rules to enforce in the form too;
        * ``clock_stripe_status_route``: where to go when the confirm route is done.

        Token payments (``online_token``) are sent before this is called; when the
        bank asks for 3-D Secure, ``clock_stripe_requires_action`` is True and
        ``clock_stripe_payment_intent_secret`` is set for ``confirmCardPayment``.
        """
        res = super()._get_specific_processing_values(processing_values)
        if self.provider_code != const.PROVIDER_CODE:
            return res
        provider = self.provider_id
        rules = provider._clock_stripe_card_rules()
        values = {
            "clock_stripe_publishable_key": provider.clock_stripe_publishable_key,
            "clock_stripe_js_url": provider.clock_stripe_js_url or const.STRIPE_JS_URL,
            "clock_stripe_confirm_route": const.CONFIRM_ROUTE,
            "clock_stripe_status_route": const.STATUS_ROUTE,
            "clock_stripe_requires_action": False,
            "clock_stripe_require_cvc": rules["require_cvc"],
            "clock_stripe_require_address": rules["require_address"],
            "clock_stripe_allowed_brands": rules["allowed_brands"],
        }
        self._clock_stripe_put_secret(
            values, "clock_stripe_access_token", self._clock_stripe_access_token()
        )
        if self.operation in ("online_direct", "validation"):
            self._clock_stripe_check_amount()
            setup_intent = self._clock_stripe_create_setup_intent()
            self._clock_stripe_put_secret(
                values,
                "clock_stripe_setup_intent_secret",
                setup_intent["client_secret"],
            )
        elif (
            self.operation == "online_token"
            and self.state == "draft"
            and self.clock_stripe_intent_status == "requires_action"
            and self.provider_reference
        ):
            payment_intent = self._clock_stripe_client().retrieve_payment_intent(
                self.provider_reference
            )
            values["clock_stripe_requires_action"] = True
            self._clock_stripe_put_secret(
                values,
                "clock_stripe_payment_intent_secret",
                payment_intent.get("client_secret"),
            )
        return values

    def _clock_stripe_create_setup_intent(self):
        """Create the SetupIntent the browser confirms with the card."""
        self.ensure_one()
        client = self._clock_stripe_client()
        customer = self._clock_stripe_get_customer()
        try:
            setup_intent = client.create_setup_intent(
                customer, self.reference, description=self.reference
            )
        except ClockStripeError as error:
            if error.code != "resource_missing" or error.param != "customer":
                raise
            # The customer was deleted at Stripe: make a new one.
            self.env["clock.stripe.customer"]._forget(self.provider_id, self.partner_id)
            self.clock_stripe_customer_ref = False
            setup_intent = client.create_setup_intent(
                self._clock_stripe_get_customer(),
                self.reference,
                description=self.reference,
            )
        self.clock_stripe_setup_intent_ref = setup_intent["id"]
        return setup_intent

    def _get_specific_rendering_values(self, processing_values):
        """Override of `payment`: open a Stripe Checkout session (alternative methods).

        The redirect form sends the guest to ``/payment/clock_stripe/checkout_redirect``
        which forwards to the session's Stripe-hosted page.
        """
        res = super()._get_specific_rendering_values(processing_values)
        if self.provider_code != const.PROVIDER_CODE:
            return res
        self._clock_stripe_check_amount()
        refusal = self._clock_check_folio_owed()
        if refusal:
            raise ValidationError(refusal)
        base_url = self.provider_id.get_base_url()
        return_url = url_join(base_url, const.CHECKOUT_RETURN_ROUTE)
        query = url_encode(
            {
                "reference": self.reference,
                "access_token": self._clock_stripe_access_token(),
            }
        )
        method_code = self.payment_method_id.primary_payment_method_id.code or (
            self.payment_method_code
        )
        session = self._clock_stripe_client().create_checkout_session(
            amount=self._clock_stripe_minor(),
            currency=self._clock_stripe_settlement_code(),
            reference=self.reference,
            allowed_payment_method_types=[
                const.PAYMENT_METHODS_MAPPING.get(method_code, method_code)
            ],
            # {CHECKOUT_SESSION_ID} is filled in by Stripe: keep it unencoded.
            success_url=f"{return_url}?{query}&session_id={{CHECKOUT_SESSION_ID}}",
            cancel_url=f"{return_url}?{query}&canceled=1",
            idempotency_key=self._clock_stripe_idempotency_key(
                const.OPERATION_CHECKOUT
            ),
            customer_email=self.partner_email,
            product_name=self.reference,
        )
        self.write(
            {
                "clock_stripe_checkout_session_ref": session["id"],
                "clock_stripe_checkout_url": session.get("url"),
            }
        )
        return {
            "api_url": url_join(base_url, const.CHECKOUT_REDIRECT_ROUTE),
            "reference": self.reference,
            "redirect_token": self._clock_stripe_redirect_token(),
        }
