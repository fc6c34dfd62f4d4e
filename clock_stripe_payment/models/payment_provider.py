# Part of clock_stripe_payment. License LGPL-3.

import json
import logging
from datetime import timedelta

from werkzeug.urls import url_join

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import ormcache

from .. import const, utils
from ..stripe_api import ClockStripeClient, ClockStripeError
from .clock_stripe_request_budget import RequestBudget

_logger = logging.getLogger(__name__)

WEBHOOK_ROUTE = "/payment/clock_stripe/webhook"
CONFIRM_ROUTE = "/payment/clock_stripe/confirm"

# Fields whose change triggers the credential check on save.
CREDENTIAL_FIELDS = (
    "clock_stripe_account_id",
    "clock_stripe_secret_key",
    "clock_stripe_publishable_key",
    "clock_stripe_api_base",
)
# Fields read by the cached list of webhook secrets (_clock_stripe_webhook_secrets).
WEBHOOK_SECRET_FIELDS = ("code", "clock_stripe_webhook_secret")


class PaymentProvider(models.Model):
    _inherit = "payment.provider"

    code = fields.Selection(
        selection_add=[(const.PROVIDER_CODE, "Stripe (hotel)")],
        ondelete={const.PROVIDER_CODE: "set default"},
    )
    clock_stripe_account_id = fields.Char(
        string="Stripe Account ID",
        help="The id of the Stripe account (acct_...). Checked against the secret key "
        "on save.",
        copy=False,
    )
    clock_stripe_secret_key = fields.Char(
        string="Stripe Secret Key",
        required_if_provider=const.PROVIDER_CODE,
        groups="base.group_system",
        copy=False,
    )
    clock_stripe_publishable_key = fields.Char(
        string="Stripe Publishable Key",
        help="The public key used by Stripe.js in the guest's browser.",
        required_if_provider=const.PROVIDER_CODE,
        copy=False,
    )
    clock_stripe_webhook_secret = fields.Char(
        string="Stripe Webhook Signing Secret",
        help="Signing secret of the webhook endpoint (whsec_...); events whose "
        "signature does not match it are refused.",
        groups="base.group_system",
        copy=False,
    )
    clock_stripe_webhook_endpoint_id = fields.Char(
        string="Webhook Endpoint", readonly=True, copy=False
    )
    clock_stripe_settlement_currency_id = fields.Many2one(
        string="Settlement Currency",
        comodel_name="res.currency",
        help="Every amount is sent to Stripe in this currency, converted with Odoo's "
        "rates at the transaction date. Empty: amounts are sent in their own currency.",
        context={"active_test": False},
    )
    clock_stripe_currency_id = fields.Many2one(
        comodel_name="res.currency",
        compute="_compute_clock_stripe_currency_id",
        help="Settlement currency, or the company currency when none is set.",
    )
    clock_stripe_tokenize_amount = fields.Monetary(
        string="Tokenize with Amount",
        currency_field="clock_stripe_currency_id",
        help="When a card is saved, this amount is held on it to prove it is valid, "
        "then released at once. Empty: cards are saved without a check.",
    )
    clock_stripe_extended_holds = fields.Boolean(
        string="Request Extended Holds",
        help="Ask Stripe to extend the validity of card holds (up to 30 days for "
        "lodging on the card networks that allow it, instead of 7). Each hold "
        "shows the expiry Stripe gave it.",
    )
    clock_stripe_incremental_holds = fields.Boolean(
        string="Request Incremental Holds",
        help="Ask Stripe that card holds can be raised later (incidentals, an "
        "extra night). Each hold shows whether Stripe allows it.",
    )
    clock_stripe_alternative_method_ids = fields.Many2many(
        string="Alternative Methods",
        comodel_name="payment.method",
        relation="clock_stripe_provider_alternative_method_rel",
        column1="provider_id",
        column2="payment_method_id",
        domain=[("is_primary", "=", True), ("code", "!=", "card")],
        context={"active_test": False},
        help="Methods offered on a Stripe-hosted Checkout page (wallets, online "
        "banking...). Cards are typed straight into the payment form.",
    )
    clock_stripe_api_base = fields.Char(
        string="Stripe API Base URL",
        default=const.STRIPE_API_BASE,
        help="Stripe's API address. Change it only to point tests and demos at a "
        "local stand-in for Stripe.",
        copy=False,
    )
    clock_stripe_js_url = fields.Char(
        string="Stripe.js URL",
        default=const.STRIPE_JS_URL,
        help="Address of Stripe.js loaded by the card form.",
    )
    clock_stripe_request_rate = fields.Integer(
        string="Stripe Requests per Second",
        default=const.DEFAULT_REQUEST_RATE,
        groups="base.group_system",
        help="Most requests sent to the Stripe account each second, by all Odoo "
        "workers and servers together (the Autopilot's charges...). Stripe allows "
        "100 a second in live mode, 25 in test mode, and 25 a second on one kind of "
        "request such as creating payments: above that it refuses requests, which "
        "are then sent again when it says.",
    )
    clock_stripe_api_base_is_custom = fields.Boolean(
        string="Custom Stripe API Base URL",
        compute="_compute_clock_stripe_api_base_is_custom",
        help="The API base URL is not Stripe's own.",
    )

    clock_stripe_event_silence_hours = fields.Integer(
        string="Warn Without Webhook Events After (hours)",
        default=24,
        help="Warn on this form when no Stripe webhook event has arrived for this "
        "many hours while payments wait for one (0: never warn).",
    )
    clock_stripe_event_silence_warning = fields.Char(
        compute="_compute_clock_stripe_event_silence_warning"
    )

    # === COMPUTE METHODS === #

    def _compute_clock_stripe_event_silence_warning(self):
        """No event for ``clock_stripe_event_silence_hours`` while payments have
        waited that long for Stripe's answer (pending): the webhook endpoint or
        its secret is probably wrong."""
        Event = self.env["clock.stripe.event"].sudo()
        Transaction = self.env["payment.transaction"].sudo()
        for provider in self:
            provider.clock_stripe_event_silence_warning = False
            hours = provider.clock_stripe_event_silence_hours
            if provider.code != const.PROVIDER_CODE or hours <= 0 or not provider.id:
                continue
            since = fields.Datetime.now() - timedelta(hours=hours)
            waiting = Transaction.search_count(
                [
                    ("provider_id", "=", provider.id),
                    ("state", "=", "pending"),
                    ("last_state_change", "<", since),
                ]
            )
            if not waiting or Event.search_count(
                [("provider_id", "=", provider.id), ("create_date", ">=", since)],
                limit=1,
            ):
                continue
            provider.clock_stripe_event_silence_warning = _(
                "No Stripe webhook event has arrived for %(hours)s hours while "
                "%(count)s payment(s) wait for Stripe's answer. Check the webhook "
                "endpoint and its signing secret (Register Webhook), and the event "
                "log.",
                hours=hours,
                count=waiting,
            )

    @api.depends("clock_stripe_settlement_currency_id", "company_id.currency_id")
    def _compute_clock_stripe_currency_id(self):
        for provider in self:
            provider.clock_stripe_currency_id = (
                provider.clock_stripe_settlement_currency_id
                or provider.company_id.currency_id
            )

    @api.depends("clock_stripe_api_base")
    def _compute_clock_stripe_api_base_is_custom(self):
        for provider in self:
            provider.clock_stripe_api_base_is_custom = (
                provider.code == const.PROVIDER_CODE
                and utils.normalize_api_base(provider.clock_stripe_api_base)
                != const.STRIPE_API_BASE
            )

    def _compute_feature_support_fields(self):
        """Override of `payment` to enable tokenization, partial capture and refund."""
        res = super()._compute_feature_support_fields()
        self.filtered(lambda p: p.code == const.PROVIDER_CODE).update(
            {
                "support_tokenization": True,
                "support_manual_capture": "partial",
                "support_refund": "partial",
            }
        )
        return res

    # === CONSTRAINT METHODS === #

    @api.constrains("clock_stripe_request_rate", "state", "code")
    def _check_clock_stripe_request_rate(self):
        for provider in self.filtered(lambda p: p.code == const.PROVIDER_CODE):
            mode = "test" if provider.state == "test" else "live"
            ceiling = const.MAX_REQUEST_RATE[mode]
            if not 1 <= provider.clock_stripe_request_rate <= ceiling:
                raise ValidationError(
                    _(
                        "Stripe requests per second: between 1 and %(ceiling)s in "
                        "%(mode)s mode, under Stripe's own limit.",
                        ceiling=ceiling,
                        mode=_("test") if mode == "test" else _("live"),
                    )
                )

    @api.constrains(
        "clock_stripe_tokenize_amount", "clock_stripe_settlement_currency_id", "code"
    )
    def _check_clock_stripe_amounts(self):
        for provider in self.filtered(lambda p: p.code == const.PROVIDER_CODE):
            currency = provider.clock_stripe_currency_id
            settlement = provider.clock_stripe_settlement_currency_id
            if settlement and not utils.is_supported_currency(settlement.name):
                raise ValidationError(
                    _(
                        "Settlement currency: Stripe does not accept payments in "
                        "%(currency)s.",
                        currency=settlement.name,
                    )
                )
            amount = provider.clock_stripe_tokenize_amount
            if amount < 0:
                raise ValidationError(
                    _("Tokenize with amount: the amount cannot be negative.")
                )
            if amount and currency and utils.is_below_minimum(amount, currency.name):
                raise ValidationError(
                    _(
                        "Tokenize with amount: %(amount)s %(currency)s is below "
                        "Stripe's minimum charge of %(minimum)s %(currency)s.",
                        amount=amount,
                        currency=currency.name,
                        minimum=utils.minimum_amount(currency.name),
                    )
                )

    # === CRUD METHODS === #

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.context.get("clock_stripe_skip_credential_check"):
            for vals in vals_list:
                if vals.get("code") == const.PROVIDER_CODE and vals.get(
                    "clock_stripe_secret_key"
                ):
                    # Stripe (at the address given) is asked for those who may
                    # create a provider only.
                    self.check_access("create")
                    merged = {field: vals.get(field) for field in CREDENTIAL_FIELDS}
                    self._clock_stripe_check_credentials(merged, vals)
        providers = super().create(vals_list)
        providers._clock_stripe_link_alternative_methods()
        if any(vals.get("clock_stripe_webhook_secret") for vals in vals_list):
            self.env.registry.clear_cache()  # _clock_stripe_webhook_secrets
        return providers

    def write(self, vals):
        check = not self.env.context.get("clock_stripe_skip_credential_check") and any(
            field in vals for field in CREDENTIAL_FIELDS
        )
        clock_providers = self.filtered(
            lambda p: (vals.get("code") or p.code) == const.PROVIDER_CODE
        )
        if not check or not clock_providers:
            res = super().write(vals)
        else:
            # Each provider may end in another state (test or live key): write one
            # by one, after the check, so that nothing is saved when it fails.
            # Stripe is asked for those who may write the providers only.
            clock_providers.check_access("write")
            others = self - clock_providers
            res = super(PaymentProvider, others).write(vals) if others else True
            for provider in clock_providers:
                provider_vals = dict(vals)
                current = provider.sudo()
                merged = {
                    field: provider_vals[field]
                    if field in provider_vals
                    else current[field]
                    for field in CREDENTIAL_FIELDS
                }
                if merged["clock_stripe_secret_key"]:
                    provider._clock_stripe_check_credentials(merged, provider_vals)
                res = super(PaymentProvider, provider).write(provider_vals) and res
        if "clock_stripe_alternative_method_ids" in vals or "state" in vals:
            self._clock_stripe_link_alternative_methods()
        if any(field in vals for field in WEBHOOK_SECRET_FIELDS):
            self.env.registry.clear_cache()  # _clock_stripe_webhook_secrets
        return res

    def unlink(self):
        had_webhook_secret = any(self.sudo().mapped("clock_stripe_webhook_secret"))
        res = super().unlink()
        if had_webhook_secret:
            self.env.registry.clear_cache()  # _clock_stripe_webhook_secrets
        return res

    @api.model
    def _clock_stripe_check_credentials(self, credentials, vals):
        """Check the credentials against Stripe and switch the provider on.

        On success ``vals`` is completed with the state (``enabled`` for a live key,
        ``test`` for a test key), ``is_published`` and the account id of the key
        when it was left empty.

        :param dict credentials: The values of ``CREDENTIAL_FIELDS`` after the save.
        :param dict vals: The values being saved; updated in place.
        :raise ValidationError: Naming the faulty field; nothing is saved.
        """
        secret_key = (credentials.get("clock_stripe_secret_key") or "").strip()
        publishable_key = (
            credentials.get("clock_stripe_publishable_key") or ""
        ).strip()
        account_id = (credentials.get("clock_stripe_account_id") or "").strip()
        api_base = credentials.get("clock_stripe_api_base")

        secret_mode = utils.key_mode(secret_key)
        if not utils.is_secret_key(secret_key) or not secret_mode:
            raise ValidationError(
                _(
                    "Secret key: this is not a Stripe secret key. It starts with "
                    "sk_test_ or sk_live_ (or rk_ for a restricted key)."
                )
            )
        if publishable_key:
            publishable_mode = utils.key_mode(publishable_key)
            if not utils.is_publishable_key(publishable_key) or not publishable_mode:
                raise ValidationError(
                    _(
                        "Publishable key: this is not a Stripe publishable key. It "
                        "starts with pk_test_ or pk_live_."
                    )
                )
            if publishable_mode != secret_mode:
                raise ValidationError(
                    _(
                        "Publishable key: it is a %(pk_mode)s key while the Secret key "
                        "is a %(sk_mode)s key. Test and live keys cannot be mixed.",
                        pk_mode=publishable_mode,
                        sk_mode=secret_mode,
                    )
                )
        if account_id and not account_id.startswith(const.ACCOUNT_ID_PREFIX):
            raise ValidationError(
                _("Account ID: a Stripe account id starts with acct_.")
            )

        try:
            client = ClockStripeClient(secret_key, api_base=api_base)
            actual = client.check_credentials()["account_id"]
        except ClockStripeError as error:
            if error.kind == "invalid_key":
                raise ValidationError(
                    _(
                        "Secret key: Stripe refused it (HTTP 401). Check that it is "
                        "copied in full and has not been rolled or revoked."
                    )
                ) from None
            if error.kind == "permission":
                raise ValidationError(
                    _(
                        "Secret key: this key may not read the Stripe account. Use the "
                        "account's secret key rather than a restricted key."
                    )
                ) from None
            raise ValidationError(
                _(
                    "The Stripe credentials could not be checked: %(error)s",
                    error=str(error),
                )
            ) from None
        if account_id and actual != account_id:
            raise ValidationError(
                _(
                    "Account ID: the Secret key belongs to the Stripe account "
                    "%(actual)s, not to %(given)s.",
                    actual=actual,
                    given=account_id,
                )
            )
        if not account_id:
            vals["clock_stripe_account_id"] = actual

        if vals.get("state") != "disabled":
            vals["state"] = "enabled" if secret_mode == "live" else "test"
            vals["is_published"] = True
        _logger.info(
            "Stripe credentials checked (%s mode, key %s)",
            secret_mode,
            utils.mask_secret(secret_key),
        )

    def _clock_stripe_link_alternative_methods(self):
        """Offer the ticked alternative methods in the payment form."""
        for provider in self.filtered(lambda p: p.code == const.PROVIDER_CODE):
            methods = provider.clock_stripe_alternative_method_ids
            missing = (
                methods - provider.with_context(active_test=False).payment_method_ids
            )
            if missing:
                provider.payment_method_ids = [
                    fields.Command.link(m.id) for m in missing
                ]
            if provider.state != "disabled":
                methods.filtered(lambda m: not m.active).write({"active": True})

    # === ACTION METHODS === #

    def action_clock_stripe_register_webhook(self):
        """Register this database's webhook endpoint at Stripe and keep its secret.

        :return: A notification action.
        """
        self.ensure_one()
        self.check_access("write")
        provider = self.sudo()
        if not provider.clock_stripe_secret_key:
            raise UserError(
                _("Set the Secret key before registering the webhook endpoint.")
            )
        url = url_join(self.get_base_url(), WEBHOOK_ROUTE)
        client = self._clock_stripe_client()
        previous_endpoint_id = provider.clock_stripe_webhook_endpoint_id
        endpoint = client.register_webhook(url, const.HANDLED_WEBHOOK_EVENTS)
        if previous_endpoint_id and previous_endpoint_id != endpoint["id"]:
            # Registered again (a new URL, a lost secret): the old endpoint would
            # deliver every event a second time.
            client.delete_webhook(previous_endpoint_id)
        provider.write(
            {
                "clock_stripe_webhook_secret": endpoint["secret"],
                "clock_stripe_webhook_endpoint_id": endpoint["id"],
            }
        )
        return utils.closing_notification(
            "success",
            _("The webhook endpoint %(url)s is registered at Stripe.", url=url),
        )

    # === BUSINESS METHODS - FRAMEWORK HOOKS === #

    def _get_supported_currencies(self):
        """Override of `payment` to return the currencies Stripe accepts."""
        supported = super()._get_supported_currencies()
        if self.code != const.PROVIDER_CODE:
            return supported
        return supported.filtered(lambda c: c.name in const.SUPPORTED_CURRENCIES)

    def _get_default_payment_method_codes(self):
        """Override of `payment` to activate card and its brands."""
        default_codes = super()._get_default_payment_method_codes()
        if self.code != const.PROVIDER_CODE:
            return default_codes
        return const.DEFAULT_PAYMENT_METHOD_CODES

    def _get_validation_amount(self):
        """Override of `payment`: the card-check hold (0 when cards are just saved)."""
        res = super()._get_validation_amount()
        if self.code != const.PROVIDER_CODE:
            return res
        return self.clock_stripe_tokenize_amount or 0.0

    def _get_validation_currency(self):
        """Override of `payment`: validation holds are in the settlement currency."""
        res = super()._get_validation_currency()
        if self.code != const.PROVIDER_CODE:
            return res
        return self.clock_stripe_settlement_currency_id or res

    def _get_redirect_form_view(self, is_validation=False):
        """Override of `payment`: cards are saved in the inline form, never redirected.

        The redirect form (Stripe Checkout) serves alternative methods only.
        """
        res = super()._get_redirect_form_view(is_validation=is_validation)
        if self.code != const.PROVIDER_CODE:
            return res
        if is_validation:
            return self.env["ir.ui.view"]
        return res

    # === BUSINESS METHODS === #

    @api.model
    @ormcache()
    def _clock_stripe_webhook_secrets(self):
        """The (id, webhook signing secret) of the Stripe (hotel) providers that have
        one: the webhook checks the signature of each event against them.

        Cached, as the webhook runs for every event: ``create``, ``write`` and
        ``unlink`` clear the cache when a secret or a code changes.

        :rtype: tuple
        """
        providers = self.sudo().search(
            [
                ("code", "=", const.PROVIDER_CODE),
                ("clock_stripe_webhook_secret", "!=", False),
            ],
            order="id",
        )
        return tuple((p.id, p.clock_stripe_webhook_secret) for p in providers)

    def _clock_stripe_client(self):
        """Return the Stripe client of this provider: the one seam to Stripe.

        :rtype: ClockStripeClient
        """
        self.ensure_one()
        provider = self.sudo()
        return ClockStripeClient(
            provider.clock_stripe_secret_key,
            api_base=provider.clock_stripe_api_base,
            budget=provider._clock_stripe_request_budget(),
        )

    def _clock_stripe_request_budget(self):
        """Return the request budget of the provider's Stripe account, shared by
        the providers of the account and by every worker.

        :rtype: RequestBudget
        """
        self.ensure_one()
        provider = self.sudo()
        return RequestBudget(
            self.env.registry,
            provider.clock_stripe_account_id or f"provider-{provider.id}",
            provider.clock_stripe_request_rate or const.DEFAULT_REQUEST_RATE,
        )

    def _clock_stripe_hold_card_options(self):
        """``payment_method_options.card`` of a card hold: the extended and
        incremental authorization the provider requests (None: neither)."""
        self.ensure_one()
        options = {}
        if self.clock_stripe_extended_holds:
            options["request_extended_authorization"] = "if_available"
        if self.clock_stripe_incremental_holds:
            options["request_incremental_authorization"] = "if_available"
        return options or None

    def _clock_stripe_settlement_currency(self, currency):
        """Return the currency amounts are sent in for a payment in ``currency``."""
        self.ensure_one()
        return self.clock_stripe_settlement_currency_id or currency

    def _clock_stripe_card_rules(self):
        """Return the card rules of the provider's company (see res.company)."""
        self.ensure_one()
        return self.company_id.sudo()._clock_stripe_card_rules()

    def _clock_stripe_get_inline_form_values(
        self,
        amount,
        currency,
        partner_id,
        is_validation,
        payment_method_sudo=None,
        capture_manually=None,
        **kwargs,
    ):
        """Return the JSON the inline card form reads (``data-clock-stripe-values``).

        Keys: ``publishable_key``, ``stripe_js_url``, ``is_card`` (False for an
        alternative method: the form then keeps Odoo's redirect flow to Checkout),
        ``mode`` (``payment`` or ``validation``), ``capture_method``,
        ``require_cvc``, ``require_address``, ``supported_brands`` (Stripe brand
        codes, empty = all; ``allowed_brands`` is the same list),
        ``supported_brand_names``, ``billing_details`` (prefill), ``confirm_route``.

        ``capture_method`` follows ``capture_manually`` when the page tells it (the
        hotel card pages do), else the provider's "Capture Amount Manually".
        """
        self.ensure_one()
        partner = self.env["res.partner"].sudo().browse(partner_id).exists()
        rules = self._clock_stripe_card_rules()
        if capture_manually is None:
            capture_manually = self.capture_manually
        values = {
            "publishable_key": self.clock_stripe_publishable_key or "",
            "stripe_js_url": self.clock_stripe_js_url or const.STRIPE_JS_URL,
            "is_card": not payment_method_sudo or payment_method_sudo.code == "card",
            "mode": "validation" if is_validation else "payment",
            "capture_method": "manual" if capture_manually else "automatic",
            "require_cvc": rules["require_cvc"],
            "require_address": rules["require_address"],
            "allowed_brands": rules["allowed_brands"],
            "supported_brands": rules["allowed_brands"],
            "supported_brand_names": ", ".join(
                self.company_id.sudo().clock_stripe_card_brand_ids.mapped("name")
            ),
            "billing_details": {
                "name": partner.name or "",
                "email": partner.email or "",
                "phone": partner.phone or "",
                "address": {
                    "line1": partner.street or "",
                    "line2": partner.street2 or "",
                    "city": partner.city or "",
                    "state": partner.state_id.code or "",
                    "country": partner.country_id.code or "",
                    "postal_code": partner.zip or "",
                },
            },
            "confirm_route": CONFIRM_ROUTE,
        }
        return json.dumps(values)
