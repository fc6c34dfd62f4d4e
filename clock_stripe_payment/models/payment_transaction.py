# Part of clock_stripe_payment. License LGPL-3.

import logging
import math
from datetime import timedelta, timezone

from werkzeug.urls import url_encode, url_join

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tools import SQL, consteq, float_compare, float_is_zero, format_amount
from odoo.tools.misc import hmac as hmac_tool

from .. import const, utils
from ..stripe_api import ClockStripeError
from .clock_stripe_event import ClockStripeEventNotReady

_logger = logging.getLogger(__name__)

CONFIRM_ROUTE = "/payment/clock_stripe/confirm"
CHECKOUT_REDIRECT_ROUTE = "/payment/clock_stripe/checkout_redirect"
CHECKOUT_RETURN_ROUTE = "/payment/clock_stripe/checkout_return"
STATUS_ROUTE = "/payment/status"

# Operations whose transactions carry money at Stripe (a PaymentIntent).
PAYMENT_OPERATIONS = ("online_direct", "online_token", "offline", "online_redirect")
# Payments a guest makes on the payment pages (the others are staff's or the
# Autopilot's).
GUEST_PAYMENT_OPERATIONS = ("online_direct", "online_token", "online_redirect")
# How long a guest payment left waiting at Stripe (3-D Secure not completed, a
# Checkout page not paid) counts as money in flight: long enough for a guest
# to finish it, not so long that an abandoned one blocks the bill. One that
# still goes through later and pays the bill twice is refunded (see
# ``_clock_return_surplus``).
GUEST_PAYMENT_WINDOW = timedelta(hours=1)
CARD_ERROR_KINDS = ("card", "authentication_required")
# Stripe error kinds after which the outcome of a request is not known (the
# request may or may not have been applied): never a decline.
ANSWER_LOST_KINDS = ("connection", "api", "rate_limit", "bad_answer")
# A staff charge or refund without Stripe's answer is canceled when Stripe does
# not have it this long after it was sent.
UNANSWERED_GRACE = timedelta(minutes=10)


class PaymentTransaction(models.Model):
    _inherit = "payment.transaction"

    clock_stripe_capture_manually = fields.Boolean(
        string="Hold Only",
        help="Place a hold (authorization) to capture or release later instead of "
        "charging at once. Defaults to the provider's 'Capture Amount Manually', "
        "except for bookings and folios, whose flows decide.",
        readonly=True,
    )
    clock_stripe_settlement_amount = fields.Monetary(
        string="Settlement Amount",
        currency_field="clock_stripe_settlement_currency_id",
        help="The amount sent to Stripe, in the provider's settlement currency.",
        readonly=True,
    )
    clock_stripe_settlement_currency_id = fields.Many2one(
        string="Settlement Currency", comodel_name="res.currency", readonly=True
    )
    clock_stripe_hold_expires_at = fields.Datetime(
        string="Hold Expires At",
        help="Stripe releases an uncaptured hold at this time.",
        readonly=True,
    )
    clock_stripe_hold_extended = fields.Boolean(
        string="Extended Hold",
        help="Stripe extended the validity of this hold beyond the standard window.",
        readonly=True,
    )
    clock_stripe_hold_incrementable = fields.Boolean(
        string="Can Be Raised",
        help="Stripe allows raising this hold (incremental authorization).",
        readonly=True,
    )
    clock_stripe_intent_status = fields.Char(string="Stripe Status", readonly=True)
    clock_stripe_error_kind = fields.Char(
        string="Stripe Error Kind",
        readonly=True,
        help="Kind of the last card error Stripe answered (card, "
        "authentication_required...).",
    )
    clock_stripe_customer_ref = fields.Char(string="Stripe Customer", readonly=True)
    clock_stripe_payment_method_ref = fields.Char(
        string="Stripe Payment Method", readonly=True
    )
    clock_stripe_setup_intent_ref = fields.Char(
        string="Stripe SetupIntent", readonly=True
    )
    clock_stripe_validation_intent_ref = fields.Char(
        string="Card Check PaymentIntent",
        help="The PaymentIntent of the validation hold, released at once.",
        readonly=True,
    )
    clock_stripe_checkout_session_ref = fields.Char(
        string="Stripe Checkout Session", readonly=True, index="btree_not_null"
    )
    clock_stripe_checkout_url = fields.Char(readonly=True)

    # === CRUD METHODS === #

    @api.model
    def _get_specific_create_values(self, provider_code, values):
        """Override of `payment`: settlement amount, hold flag and input checks.

        Bad input (non-positive amount, unsupported currency, amount below Stripe's
        minimum) raises here, so no transaction is created and nothing is sent.
        """
        res = super()._get_specific_create_values(provider_code, values)
        if provider_code != const.PROVIDER_CODE:
            return res
        provider = self.env["payment.provider"].browse(values["provider_id"])
        currency = self.env["res.currency"].browse(values["currency_id"])
        amount = values.get("amount") or 0.0
        operation = values.get("operation")
        if operation == "online_redirect":
            self._clock_stripe_check_redirect_method(values.get("payment_method_id"))
        source = self.browse(values.get("source_transaction_id") or [])
        if source:
            settlement_currency = source.clock_stripe_settlement_currency_id or currency
            settlement_amount = (
                settlement_currency.round(
                    source.clock_stripe_settlement_amount * amount / source.amount
                )
                if source.amount
                else 0.0
            )
            capture_manually = source.clock_stripe_capture_manually
        else:
            settlement_currency = provider._clock_stripe_settlement_currency(currency)
            settlement_amount = self._clock_stripe_convert(
                amount, currency, settlement_currency, provider.company_id
            )
            # The hotel flows say themselves when they hold (see
            # ``_clock_get_hold_values``): a guest payment of a booking or folio is
            # charged whatever the provider's "Capture Amount Manually".
            capture_manually = provider.capture_manually and not (
                values.get("clock_reservation_ids") or values.get("clock_folio_ids")
            )
            if operation != "refund":
                self._clock_stripe_check_amount_values(
                    amount,
                    currency,
                    settlement_amount,
                    settlement_currency,
                    allow_zero=operation == "validation",
                )
        if settlement_amount:
            # What Stripe takes (three-decimal currencies go by 0.010).
            settlement_amount = math.copysign(
                utils.round_to_minor_step(
                    abs(settlement_amount), settlement_currency.name
                ),
                settlement_amount,
            )
        res.update(
            {
                "clock_stripe_settlement_amount": settlement_amount,
                "clock_stripe_settlement_currency_id": settlement_currency.id,
            }
        )
        if "clock_stripe_capture_manually" not in values:
            res["clock_stripe_capture_manually"] = capture_manually
        return res

    @api.model
    def _clock_stripe_check_redirect_method(self, payment_method_id):
        """Refuse a card on the Stripe-hosted page: cards go through the card
        form, where the hotel's card rules (brands, CVC, address) are applied.

        :raise ValidationError: the method is a card (or a card brand)
        """
        method = self.env["payment.method"].browse(payment_method_id or [])
        if (method.primary_payment_method_id or method).code == "card":
            raise ValidationError(
                _("Please pay by card in the card form of this page.")
            )

    @api.model
    def _clock_stripe_convert(self, amount, currency, settlement_currency, company):
        """Convert with Odoo's rates at the transaction date (today)."""
        if not amount or currency == settlement_currency:
            return amount
        return currency._convert(
            amount,
            settlement_currency,
            company,
            fields.Date.context_today(self),
        )

    @api.model
    def _clock_stripe_check_amount_values(
        self, amount, currency, settlement_amount, settlement_currency, allow_zero=False
    ):
        """Refuse bad amounts before any request to Stripe.

        :raise ValidationError: non-positive amount, unsupported currency, amount
            below Stripe's minimum charge.
        """
        if amount < 0 or (
            not allow_zero
            and float_is_zero(amount, precision_rounding=currency.rounding)
        ):
            raise ValidationError(_("The amount to pay must be positive."))
        if currency == settlement_currency:
            self._clock_stripe_check_minor_step(amount, currency)
        if not utils.is_supported_currency(settlement_currency.name):
            raise ValidationError(
                _(
                    "Stripe does not accept payments in %(currency)s.",
                    currency=settlement_currency.name,
                )
            )
        if settlement_amount and utils.is_below_minimum(
            settlement_amount, settlement_currency.name
        ):
            raise ValidationError(
                _(
                    "%(amount)s %(currency)s is below Stripe's minimum charge of "
                    "%(minimum)s %(currency)s.",
                    amount=settlement_amount,
                    currency=settlement_currency.name,
                    minimum=utils.minimum_amount(settlement_currency.name),
                )
            )

    @api.model
    def _clock_stripe_check_minor_step(self, amount, currency=None):
        """Refuse an amount Stripe would round (three-decimal currencies go by
        0.010): what is posted must be what Stripe moves.

        :param currency: the amount's currency (default: the transaction's, whose
            amounts are checked only when it is also the settlement currency)
        :raise ValidationError: the amount is not on Stripe's step
        """
        if currency is None:
            self.ensure_one()
            currency = self.currency_id
            settlement = self.clock_stripe_settlement_currency_id or currency
            if settlement != currency:
                return
        if utils.is_on_minor_step(amount, currency.name):
            return
        step = utils.from_minor_units(utils.minor_step(currency.name), currency.name)
        lower = utils.from_minor_units(
            utils.to_minor_units(amount - step / 2, currency.name), currency.name
        )
        raise ValidationError(
            _(
                "Stripe takes %(currency)s amounts in steps of %(step)s: enter "
                "%(lower)s or %(upper)s instead of %(amount)s.",
                currency=currency.name,
                step=format_amount(self.env, step, currency),
                lower=format_amount(self.env, lower, currency),
                upper=format_amount(self.env, lower + step, currency),
                amount=format_amount(self.env, amount, currency),
            )
        )

    def _clock_stripe_check_amount(self):
        """Re-check the transaction's own amounts right before a request."""
        self.ensure_one()
        self._clock_stripe_check_amount_values(
            self.amount,
            self.currency_id,
            self.clock_stripe_settlement_amount,
            self.clock_stripe_settlement_currency_id or self.currency_id,
            allow_zero=self.operation == "validation",
        )

    # === BUSINESS METHODS - HELPERS === #

    def _clock_stripe_client(self):
        return self.provider_id._clock_stripe_client()

    def _clock_stripe_idempotency_key(self, operation):
        """The idempotency key of ``operation`` on this transaction."""
        self.ensure_one()
        db_uuid = self.env["ir.config_parameter"].sudo().get_param("database.uuid")
        return utils.idempotency_key(db_uuid, self.reference, operation)

    def _clock_stripe_settlement_code(self):
        return (self.clock_stripe_settlement_currency_id or self.currency_id).name

    def _clock_stripe_minor(self, settlement_amount=None):
        """The settlement amount of the transaction in Stripe's minor units."""
        self.ensure_one()
        amount = (
            self.clock_stripe_settlement_amount
            if settlement_amount is None
            else settlement_amount
        )
        return utils.to_minor_units(abs(amount), self._clock_stripe_settlement_code())

    def _clock_stripe_access_token(self):
        """Access token of the browser routes of this transaction.

        Same value as ``payment.utils.generate_access_token(reference)``, computed
        without an HTTP request so that it also works in crons and tests.
        """
        self.ensure_one()
        return hmac_tool(self.env(su=True), "generate_access_token", self.reference)

    def _clock_stripe_check_access_token(self, access_token):
        self.ensure_one()
        return bool(access_token) and consteq(
            access_token, self._clock_stripe_access_token()
        )

    def _clock_stripe_redirect_token(self):
        """Token of the Checkout redirect route alone: it only forwards to the
        session's Stripe-hosted page. The redirect form's values are logged by
        the framework, so they never carry the access token, which also settles
        or cancels the session on the return route."""
        self.ensure_one()
        return hmac_tool(
            self.env(su=True), "clock_stripe_checkout_redirect", self.reference
        )

    def _clock_stripe_check_redirect_token(self, redirect_token):
        self.ensure_one()
        return bool(redirect_token) and consteq(
            redirect_token, self._clock_stripe_redirect_token()
        )

    def _clock_stripe_lock(self):
        """Lock the rows so that the webhook and a back-office action on the same
        transaction run one after the other."""
        if self.ids:
            self.env.cr.execute(
                SQL(
                    "SELECT id FROM payment_transaction WHERE id IN %s "
                    "FOR NO KEY UPDATE",
                    tuple(self.ids),
                )
            )
            self.invalidate_recordset()

    def _clock_stripe_get_customer(self):
        """The Stripe customer of the transaction's partner on its provider."""
        self.ensure_one()
        if not self.clock_stripe_customer_ref:
            self.clock_stripe_customer_ref = self.env[
                "clock.stripe.customer"
            ]._get_or_create(self.provider_id, self.partner_id)
        return self.clock_stripe_customer_ref

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
            "clock_stripe_confirm_route": CONFIRM_ROUTE,
            "clock_stripe_status_route": STATUS_ROUTE,
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
        return_url = url_join(base_url, CHECKOUT_RETURN_ROUTE)
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
            "api_url": url_join(base_url, CHECKOUT_REDIRECT_ROUTE),
            "reference": self.reference,
            "redirect_token": self._clock_stripe_redirect_token(),
        }

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
            "redirect_url": STATUS_ROUTE,
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
                if error.kind not in CARD_ERROR_KINDS:
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
            if error.kind not in CARD_ERROR_KINDS:
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
            if error.kind in CARD_ERROR_KINDS:
                self._clock_stripe_apply_card_error(error)
                return
            if off_session and error.kind in ANSWER_LOST_KINDS:
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
        if self.state != "done" or self.operation not in PAYMENT_OPERATIONS:
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
            if error.kind not in ANSWER_LOST_KINDS:
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

    @api.model
    def _cron_clock_stripe_check_unanswered(self):
        """Ask Stripe what became of the staff charges and refunds sent without
        an answer (the Payment Autopilot resolves its own runs): what Stripe made
        is applied and posted; what it never received after
        ``UNANSWERED_GRACE`` is canceled, so that nothing stays "not sure". While
        Stripe is unreachable, they wait for the next run."""
        limit = fields.Datetime.now() - UNANSWERED_GRACE
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

    # === BUSINESS METHODS - WEBHOOK === #

    @api.model
    def _clock_stripe_search_locked(self, domain):
        """The first transaction matching ``domain``, its row locked as by
        ``_clock_stripe_lock``: the lookup and the lock are one query."""
        query = self._search(domain, limit=1)
        self.env.cr.execute(SQL("%s FOR NO KEY UPDATE", query.select()))
        tx = self.browse(row[0] for row in self.env.cr.fetchall())
        tx.invalidate_recordset()
        return tx

    @api.model
    def _clock_stripe_find_tx_for_event(self, provider, event_type, obj):
        """Find the transaction a webhook object is about and lock its row (empty
        if unknown)."""
        reference = self._clock_stripe_event_reference(event_type, obj)
        fallback = None
        if event_type.startswith("checkout.session."):
            fallback = [("clock_stripe_checkout_session_ref", "=", obj.get("id"))]
        elif event_type == "charge.refund.updated":
            fallback = [
                ("provider_reference", "=", obj.get("id")),
                ("operation", "=", "refund"),
            ]
        elif event_type == "charge.refunded":
            fallback = [
                ("provider_reference", "=", obj.get("payment_intent")),
                ("source_transaction_id", "=", False),
            ]
        elif event_type.startswith("payment_intent."):
            fallback = [
                ("provider_reference", "=", obj.get("id")),
                ("source_transaction_id", "=", False),
            ]
        elif event_type.startswith("setup_intent."):
            fallback = [("clock_stripe_setup_intent_ref", "=", obj.get("id"))]
        domain = [("provider_id", "=", provider.id)]
        tx = self.browse()
        if reference:
            tx = self._clock_stripe_search_locked(
                domain + [("reference", "=", reference)]
            )
        if not tx and fallback and fallback[0][2]:
            tx = self._clock_stripe_search_locked(domain + fallback)
        return tx

    @api.model
    def _clock_stripe_event_reference(self, event_type, obj):
        """The transaction reference a webhook object carries (set by this addon
        when it created the object), if any."""
        reference = (obj.get("metadata") or {}).get(const.METADATA_REFERENCE_KEY)
        if event_type.startswith("checkout.session."):
            reference = reference or obj.get("client_reference_id")
        return reference

    @api.model
    def _clock_stripe_get_event_tx(self, provider, event):
        """The transaction a verified webhook event applies to, its row locked.

        :return: (transaction, message): an empty transaction and the reason when
            the event is ignored.
        :raise ClockStripeEventNotReady: the event carries one of our references
            but its transaction is not found (not committed yet)
        """
        event_type = event.get("type") or ""
        obj = (event.get("data") or {}).get("object") or {}
        if event_type not in const.HANDLED_WEBHOOK_EVENTS:
            return self.browse(), "event type not handled"
        metadata = obj.get("metadata") or {}
        if metadata.get(const.METADATA_PURPOSE_KEY) == const.PURPOSE_VALIDATION_HOLD:
            return self.browse(), "card-check hold, handled in Odoo"
        tx = self._clock_stripe_find_tx_for_event(provider, event_type, obj)
        reference = self._clock_stripe_event_reference(event_type, obj)
        if not tx and reference:
            raise ClockStripeEventNotReady(
                _("No transaction %s (yet) for this event.", reference)
            )
        return tx, ("" if tx else "unknown object")

    def _clock_stripe_apply_event(self, event):
        """Apply a verified webhook event to this transaction (locked).

        :return: (outcome, message) where outcome is ``processed`` or ``ignored``.
        """
        self.ensure_one()
        event_type = event["type"]
        obj = event["data"]["object"]
        if event_type.startswith("payment_intent."):
            was_draft = self.state == "draft"
            self._handle_notification_data(
                const.PROVIDER_CODE,
                {
                    "reference": self.reference,
                    "payment_intent": obj,
                    "event_type": event_type,
                },
            )
            if was_draft and self.state != "draft":
                self._clock_stripe_release_unkept_card()
        elif event_type == "setup_intent.succeeded":
            if self.operation != "validation" or self.state != "draft":
                return "ignored", "already processed"
            setup_intent = self._clock_stripe_client().retrieve_setup_intent(obj["id"])
            self._clock_stripe_process_setup_intent(setup_intent)
        elif event_type == "setup_intent.setup_failed":
            # A card refused at Stripe, which the browser may never tell Odoo.
            if self.state != "draft":
                return "ignored", "already processed"
            setup_intent = self._clock_stripe_client().retrieve_setup_intent(obj["id"])
            if setup_intent.get("status") == "succeeded":
                return "ignored", "another card was saved since"
            self._clock_stripe_process_setup_intent(setup_intent)
            self.env["clock.request.budget"].sudo()._clock_spend_card_attempt(
                self.clock_reservation_ids, self.partner_id
            )
        elif event_type == "charge.refunded":
            self._clock_stripe_sync_refunds(obj)
        elif event_type == "charge.refund.updated":
            if self.operation != "refund":
                return "ignored", "not a refund"
            self._handle_notification_data(
                const.PROVIDER_CODE, {"reference": self.reference, "refund": obj}
            )
        elif event_type.startswith("checkout.session."):
            self._handle_notification_data(
                const.PROVIDER_CODE,
                {
                    "reference": self.reference,
                    "checkout_session": obj,
                    "event_type": event_type,
                },
            )
        self._clock_stripe_post_process_event()
        return "processed", ""

    def _clock_stripe_post_process_event(self):
        """Post what a webhook just settled (folio line, ``account.payment``) at
        once, as Odoo's own operations do: a payment confirmed only by Stripe
        (a hold captured in the Dashboard...) has no browser to wait for.

        The payment, its captures and its refunds are looked at. A failure here
        does not undo the event: payment's post-processing cron tries again. A
        collision with a concurrent request (another payment posted to the same
        folio at once) does: Odoo tries the whole request again, so the payment
        is posted now rather than at the next cron run.
        """
        self.ensure_one()
        root = self._clock_stripe_payment_root()
        family = self | root | root.child_transaction_ids
        family |= family.child_transaction_ids
        try:
            with self.env.cr.savepoint():
                family._clock_post_process_now()
        except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
            raise
        except Exception:
            _logger.exception(
                "post-processing of %s after a webhook failed; the cron retries it",
                self.reference,
            )

    def _clock_stripe_sync_refunds(self, charge):
        """Record the refunds of a charge that Odoo does not know yet (made in the
        Stripe Dashboard) and update those it knows.

        :raise ClockStripeEventNotReady: a refund carries the reference of a
            refund transaction that is not found (not committed yet)
        """
        self.ensure_one()
        root = self._clock_stripe_payment_root()
        refunds_data = charge.get("refunds")
        if isinstance(refunds_data, dict) and "data" in refunds_data:
            refunds = refunds_data["data"]
        else:  # Recent API versions do not embed the refunds in the charge.
            refunds = self._clock_stripe_client().list_refunds(
                charge.get("payment_intent") or root.provider_reference
            )
        captures = root.child_transaction_ids.filtered(
            lambda t: t.operation == root.operation
        )
        known = (root | captures).child_transaction_ids.filtered(
            lambda t: t.operation == "refund"
        )
        by_id = {t.provider_reference: t for t in known if t.provider_reference}
        by_reference = {t.reference: t for t in known}
        code = root._clock_stripe_settlement_code()
        for refund in refunds:
            refund_reference = (refund.get("metadata") or {}).get(
                const.METADATA_REFERENCE_KEY
            )
            refund_tx = by_id.get(refund["id"]) or by_reference.get(refund_reference)
            if not refund_tx and refund_reference:
                # Sent by this database, whose refund transaction is not
                # committed yet: recording it here would record it twice.
                raise ClockStripeEventNotReady(
                    _("No refund transaction %s (yet).", refund_reference)
                )
            if not refund_tx:
                total_minor = root._clock_stripe_minor()
                amount = (
                    root.currency_id.round(root.amount * refund["amount"] / total_minor)
                    if total_minor
                    else 0.0
                )
                if not amount:
                    continue
                refund_tx = root._create_child_transaction(amount, is_refund=True)
                refund_tx.clock_stripe_settlement_amount = -utils.from_minor_units(
                    refund["amount"], code
                )
            refund_tx._handle_notification_data(
                const.PROVIDER_CODE,
                {"reference": refund_tx.reference, "refund": refund},
            )

    # === HOTEL: reservations, folios and folio posting === #
    # Written for the hotel flows (issue 4); the logic lives on clock.reservation.

    clock_reservation_ids = fields.Many2many(
        "clock.reservation",
        "clock_reservation_transaction_rel",
        "transaction_id",
        "reservation_id",
        string="Reservations",
        copy=False,
        readonly=True,
    )
    clock_folio_ids = fields.Many2many(
        "clock.folio",
        "clock_folio_transaction_rel",
        "transaction_id",
        "folio_id",
        string="Folios",
        copy=False,
        readonly=True,
    )
    clock_folio_line_ids = fields.One2many(
        "clock.folio.line", "payment_transaction_id", string="Folio Lines"
    )
    clock_guarantee = fields.Boolean(
        string="Guarantees the Booking",
        copy=False,
        readonly=True,
        help="Success confirms and guarantees the linked booking (card step).",
    )
    clock_guarantee_outcome = fields.Selection(
        [("applied", "Guaranteed the Booking"), ("returned", "Given Back")],
        copy=False,
        readonly=True,
        help="Given back: the money moved after the booking stopped taking a "
        "guarantee (cancelled, or guaranteed in another tab); the hold was "
        "released or the payment refunded.",
    )
    clock_replace_token_id = fields.Many2one(
        "payment.token",
        string="Replaces Card",
        copy=False,
        readonly=True,
        ondelete="set null",
    )

    @api.model
    def _compute_reference_prefix(self, provider_code, separator, **values):
        """Override of `payment`: hotel references start with the folio/booking."""
        prefix = self.env["clock.reservation"]._clock_reference_prefix(
            separator, values
        )
        return prefix or super()._compute_reference_prefix(
            provider_code, separator, **values
        )

    def _create_child_transaction(
        self, amount, is_refund=False, **custom_create_values
    ):
        """Override of `payment`: captures, releases and refunds stay linked to the
        booking and folio of their source."""
        for field_name in ("clock_reservation_ids", "clock_folio_ids"):
            if self[field_name] and field_name not in custom_create_values:
                custom_create_values[field_name] = [
                    fields.Command.set(self[field_name].ids)
                ]
        return super()._create_child_transaction(
            amount, is_refund=is_refund, **custom_create_values
        )

    def _post_process(self):
        """Override of `payment`: confirm, guarantee and post to the folio, once.

        The rows are locked first, so that the return page, the webhook and the
        cron reporting the same success one after the other (or at once) post one
        folio line and one ``account.payment``.
        """
        self._clock_stripe_lock()
        res = super(
            PaymentTransaction, self.with_context(clock_post_processing=True)
        )._post_process()
        self.env["clock.reservation"]._clock_process_transactions(self)
        return res

    def _log_sent_message(self):
        """Override of `payment`: a saved card charged by the server is told on
        the booking by its outcome alone (charged, declined...); "initiated" is
        logged only when no outcome came back (see ``_send_payment_request``)."""
        if self.env.context.get("clock_stripe_sending"):
            return
        super()._log_sent_message()

    def _log_message_on_linked_documents(self, message):
        """Override of `payment`: log on the linked bookings' chatter.

        The booking was told of the new state when it was reached; the
        post-processing's "payment posted" message would say it again.
        """
        res = super()._log_message_on_linked_documents(message)
        bookings = self.env["clock.reservation"]
        if not (
            self.env.context.get("clock_post_processing")
            and bookings._clock_transaction_message(self) is not None
        ):
            bookings._clock_log_transaction(self, message)
        return res

    def _clock_post_process_now(self):
        """Post-process the transactions that reached a final state, now."""
        txs = self.filtered(
            lambda tx: tx.state in ("authorized", "done", "cancel", "error")
            and not tx.is_post_processed
        )
        if txs:
            txs._post_process()

    def _clock_get_reservations(self):
        self.ensure_one()
        return (
            self.clock_reservation_ids
            or self.source_transaction_id.clock_reservation_ids
            or self.clock_folio_ids.reservation_id
        )

    def _clock_get_folio(self):
        """The folio the transaction is posted to."""
        self.ensure_one()
        return (
            self.clock_folio_ids[:1]
            or self.source_transaction_id.clock_folio_ids[:1]
            or self._clock_get_reservations()[:1]._clock_get_default_folio()
        )

    def _clock_is_late_guarantee(self):
        """Whether this guarantee just took money (a payment, or a hold) while its
        booking no longer takes a guarantee: cancelled, or guaranteed meanwhile
        by another transaction. Decided once; a hold captured later is no new
        guarantee."""
        self.ensure_one()
        if (
            not self.clock_guarantee
            or self.clock_guarantee_outcome
            or self.operation == "validation"
        ):
            return False
        first_success = self.state == "authorized" or (
            self.state == "done" and not self.clock_stripe_capture_manually
        )
        return first_success and not all(
            booking._clock_needs_guarantee()
            for booking in self._clock_get_reservations()
        )

    def _clock_filter_active_holds(self):
        return self.filtered(
            lambda tx: tx.state == "authorized"
            and tx.operation not in ("validation", "refund")
        )

    def _clock_filter_payments(self):
        """Confirmed payments carrying money (a partly captured hold is carried by
        its capture child)."""
        return self.filtered(
            lambda tx: tx.state == "done"
            and tx.operation not in ("validation", "refund")
            and tx.amount > 0
            and not tx.child_transaction_ids.filtered(
                lambda child, t=tx: child.operation == t.operation
                and child.state in ("done", "cancel")
            )
        )

    def _clock_filter_unposted_payments(self):
        """Payments that are, or may be, money taken but not on a folio yet:
        confirmed and not posted, pending, authorized to be charged (not a hold),
        a card-on-file charge sent without a known outcome (a draft ``offline``
        transaction), or a guest payment waiting at Stripe (see
        ``_clock_is_waiting_guest_payment``). A hold is no payment."""
        return self.filtered(
            lambda tx: tx.operation not in ("validation", "refund")
            and tx.amount > 0
            and not tx.clock_folio_line_ids
            and (
                tx.state in ("pending", "done")
                or (tx.state == "authorized" and not tx.clock_stripe_capture_manually)
                or (tx.state == "draft" and tx.operation == "offline")
                or tx._clock_is_waiting_guest_payment()
            )
            and not tx.child_transaction_ids.filtered(
                lambda child, t=tx: child.operation == t.operation
                and child.state in ("done", "cancel")
            )
        )

    def _clock_is_waiting_guest_payment(self):
        """Whether this is a draft guest payment that Stripe may still complete:
        its PaymentIntent awaits 3-D Secure, or its Checkout page is open, within
        :data:`GUEST_PAYMENT_WINDOW` of its creation."""
        self.ensure_one()
        return (
            self.state == "draft"
            and self.operation in GUEST_PAYMENT_OPERATIONS
            and bool(self.provider_reference or self.clock_stripe_checkout_session_ref)
            and (self.create_date or fields.Datetime.now())
            > fields.Datetime.now() - GUEST_PAYMENT_WINDOW
        )

    def _clock_check_folio_owed(self):
        """Right before a guest payment of a bill moves money, check its amount
        again against what the bill still owes, under the folio's row lock and
        counting every other payment of the folio not final yet (another tab,
        a Checkout page, staff, the Autopilot).

        :return: the refusal for the guest, or None when the payment may go
        """
        self.ensure_one()
        folio = self.sudo().clock_folio_ids[:1]
        if self.operation not in GUEST_PAYMENT_OPERATIONS or not folio:
            return None
        folio._clock_lock()
        owed = folio._clock_get_payable_balance(exclude=self)
        amount = folio.reservation_id._clock_to_currency(self, self.amount)
        currency = folio.currency_id
        if currency.compare_amounts(amount, owed) <= 0:
            return None
        if currency.compare_amounts(owed, 0.0) <= 0:
            return _("The bill %s was paid meanwhile: nothing was charged.", folio.name)
        return _(
            "Another payment of the bill %(folio)s was made meanwhile: "
            "%(owed)s is left to pay, and nothing was charged.",
            folio=folio.name,
            owed=format_amount(self.env, owed, currency),
        )

    def _clock_return_surplus(self):
        """Give back what a guest payment just posted took beyond its bill:
        money that moved although another payment settled the bill meanwhile
        (a Checkout page paid late, a 3-D Secure payment completed after another
        payment). The surplus is refunded at once, as staff would (idempotency
        key included); the guest reads why on the payment's status, staff get a
        note on the booking. Called once, when the payment is posted.

        A Stripe error is raised: the post-processing is tried again, whole.
        """
        self.ensure_one()
        tx = self.sudo()
        folio = tx.clock_folio_ids[:1]
        if (
            tx.operation not in GUEST_PAYMENT_OPERATIONS
            or not folio
            or folio.currency_id != tx.currency_id
        ):
            return
        currency = tx.currency_id
        surplus = min(-folio.balance, tx._clock_get_refundable_amount())
        if currency.compare_amounts(surplus, 0.0) <= 0:
            return
        booking = tx._clock_get_reservations()[:1]
        booking._clock_refund(tx, surplus)
        amount = format_amount(self.env, surplus, currency)
        tx.state_message = _(
            "The bill %(folio)s was paid meanwhile by another payment: %(amount)s "
            "of this payment is refunded to your card.",
            folio=folio.name,
            amount=amount,
        )
        booking.message_post(
            body=_(
                "The payment %(ref)s went through at Stripe after the bill %(folio)s "
                "was paid by another payment: %(amount)s was refunded, so that "
                "nothing is paid twice.",
                ref=tx.reference,
                folio=folio.name,
                amount=amount,
            ),
            subtype_xmlid="mail.mt_note",
        )

    def _clock_get_remaining_hold(self):
        """What is still held on an authorized transaction."""
        self.ensure_one()
        settled = self.child_transaction_ids.filtered(
            lambda child: child.operation == self.operation
            and child.state in ("done", "cancel")
        )
        return self.currency_id.round(self.amount - sum(settled.mapped("amount")))

    def _clock_get_refundable_amount(self):
        """What can still be refunded on a confirmed payment."""
        self.ensure_one()
        if self.provider_code == const.PROVIDER_CODE:
            return self._clock_stripe_refundable()[0]
        refunds = self.child_transaction_ids.filtered(
            lambda child: child.operation == "refund"
            and child.state not in ("cancel", "error")
        )
        return self.currency_id.round(self.amount + sum(refunds.mapped("amount")))

    @api.model
    def _clock_get_hold_values(self, hold):
        """Create values that make a transaction a hold (or a charge)."""
        return {"clock_stripe_capture_manually": bool(hold)}

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
        return isinstance(error, ClockStripeError) and error.kind in ANSWER_LOST_KINDS

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
