# Part of clock_stripe_payment. License LGPL-3.
"""The Stripe (hotel) transaction: its Stripe fields, the checks of its create
values and amounts, and the helpers every flow uses (client, idempotency keys,
access tokens, row lock, Stripe customer)."""

import math

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL, consteq, float_is_zero, format_amount
from odoo.tools.misc import hmac as hmac_tool

from .. import const, utils


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
