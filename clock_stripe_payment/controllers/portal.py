"""Card pages of a booking: the booking engine's card step and MyBooking payments.

* ``/my/bookings/<id>/guarantee``: guarantee the booking as its policy says (save
  the card, pay the deposit or hold it). The booking engine sends the guest here
  after the summary when the policy takes a card.
* ``/my/bookings/<id>/folio/<folio>/pay``: pay the open balance of a visible folio,
  or a part of it.
* ``/my/bookings/<id>/card`` (and ``/card/<card>``): put a card on file, or replace
  one.

Each page t-calls Odoo's ``payment.form`` and has its own JSON transaction route.
The booking's access token (or the signed-in guest owning it) opens every route;
anything else is answered 404. Amounts are always computed here: what the browser
sends is checked against them, never used as such; so are the payment flows a
page offers. Every card attempt (a card form handed out, a card refused) is
counted against the budgets of the booking, of the guest's e-mail address and of
the client address; so are the card forms of Odoo's own payment pages
(``/my/payment_method``, ``/payment/pay``) for this provider.
"""

import logging
import math
from contextlib import contextmanager

from werkzeug.exceptions import NotFound

from odoo import Command, _, http
from odoo.exceptions import AccessError, MissingError, UserError, ValidationError
from odoo.http import request
from odoo.tools import float_compare

from odoo.addons.clock_pms.budget_keys import address_key
from odoo.addons.clock_pms.controllers.main import MAX_ID
from odoo.addons.clock_pms.controllers.portal import BookingPortal
from odoo.addons.payment.controllers.portal import PaymentPortal

from .. import const
from ..stripe_api import ClockStripeError

_logger = logging.getLogger(__name__)

#: Stripe error kinds whose message is ours and names no Stripe object.
GUEST_SAFE_ERROR_KINDS = (*const.CARD_ERROR_KINDS, "connection", "rate_limit", "api")


def spend_card_attempt(bookings_sudo, partners_sudo=None):
    """Count a card attempt for ``bookings_sudo``, the guests' e-mail addresses
    (and those of ``partners_sudo``) and the client address.

    :return: False, counting nothing, when a budget is spent
    """
    return (
        request.env["clock.request.budget"]
        .sudo()
        ._clock_spend_card_attempt(
            bookings_sudo,
            partners_sudo,
            address=address_key(request.httprequest.remote_addr),
        )
    )


def card_budget_spent_error():
    return ValidationError(
        _(
            "Too many card attempts were made for this booking or from your "
            "connection. Please try again tomorrow, or contact the hotel."
        )
    )


@contextmanager
def guest_safe_stripe_errors():
    """Show a guest Stripe's refusals of a card, never its other messages (they
    name Stripe objects); those go to the log."""
    try:
        yield
    except ClockStripeError as error:
        if error.kind in GUEST_SAFE_ERROR_KINDS:
            raise
        _logger.warning(
            "Stripe refused a guest's card request (%s): %s",
            error.kind,
            error.stripe_message or error,
        )
        raise UserError(
            _(
                "Your card could not be processed. Please try again, or contact "
                "the hotel."
            )
        ) from None


class HotelPaymentPortal(BookingPortal, PaymentPortal):
    # ------------------------------------------------------------------
    # MyBooking page
    # ------------------------------------------------------------------

    def _booking_get_page_view_values(self, booking_sudo, access_token, **kwargs):
        values = super()._booking_get_page_view_values(
            booking_sudo, access_token, **kwargs
        )
        token = access_token or booking_sudo._portal_ensure_token()
        transactions = booking_sudo.transaction_ids
        failed_tx = booking_sudo._clock_get_last_failed_guarantee()
        values.update(
            {
                "clock_can_guarantee": booking_sudo._clock_can_guarantee_by_card(),
                "clock_guarantee_url": booking_sudo._clock_get_guarantee_url(),
                "clock_guarantee_label": (
                    booking_sudo.guarantee_policy_id._clock_get_card_step_label()
                ),
                "clock_guarantee_amount": (
                    booking_sudo._clock_get_guarantee_amount()
                    if booking_sudo.guarantee_policy_id
                    else 0.0
                ),
                "clock_failed_tx": failed_tx,
                "clock_cards": booking_sudo.card_ids.filtered("token_id.active"),
                "clock_cards_enabled": bool(booking_sudo._clock_get_card_provider()),
                "clock_add_card_url": booking_sudo._clock_get_add_card_url(),
                "clock_portal_token": token,
                "clock_holds": transactions._clock_filter_active_holds(),
            }
        )
        return values

    # ------------------------------------------------------------------
    # Pages
    # ------------------------------------------------------------------

    @http.route(
        "/my/bookings/<int:booking_id>/guarantee",
        type="http",
        auth="public",
        website=True,
        sitemap=False,
    )
    def clock_booking_guarantee(self, booking_id, access_token=None, **kw):
        booking_sudo = self._clock_check_booking(booking_id, access_token)
        if not booking_sudo._clock_can_guarantee_by_card():
            return request.redirect(booking_sudo.get_portal_url())
        policy = booking_sudo.guarantee_policy_id
        amount = booking_sudo._clock_get_guarantee_amount()
        validation = policy.card_action == "tokenize" or not amount
        values = self._clock_page_values(
            booking_sudo,
            title=policy._clock_get_card_step_label(),
            amount=amount,
            mode="validation" if validation else "payment",
            transaction_route=f"/my/bookings/{booking_sudo.id}/guarantee/transaction",
            force_tokenization=True,
            hold=policy.card_action == "hold" and not validation,
        )
        values.update(
            {
                "clock_page": "guarantee",
                "clock_card_action": policy.card_action,
                "clock_failed_tx": booking_sudo._clock_get_last_failed_guarantee(),
            }
        )
        return request.render("clock_stripe_payment.portal_booking_card_page", values)

    @http.route(
        "/my/bookings/<int:booking_id>/folio/<int:folio_id>/pay",
        type="http",
        auth="public",
        website=True,
        sitemap=False,
    )
    def clock_booking_folio_pay(
        self, booking_id, folio_id, access_token=None, amount=None, **kw
    ):
        booking_sudo = self._clock_check_booking(booking_id, access_token)
        folio_sudo = self._clock_check_folio(booking_sudo, folio_id)
        balance = folio_sudo._clock_get_payable_balance()
        if (
            float_compare(
                balance, 0.0, precision_rounding=folio_sudo.currency_id.rounding
            )
            <= 0
        ):
            return request.redirect(booking_sudo.get_portal_url())
        error = None
        to_pay = booking_sudo._clock_to_card_step(balance, folio_sudo.currency_id)
        if amount not in (None, ""):
            custom = self._cast_as_float(amount)
            try:
                to_pay = self._clock_check_folio_amount(folio_sudo, custom)
            except ValidationError as exc:
                error = exc.args[0]
        values = self._clock_page_values(
            booking_sudo,
            title=_("Pay the bill %s", folio_sudo.name),
            amount=to_pay,
            currency=folio_sudo.currency_id,
            mode="payment",
            transaction_route=(
                f"/my/bookings/{booking_sudo.id}/folio/{folio_sudo.id}/transaction"
            ),
            card_only=False,
        )
        values.update(
            {
                "clock_page": "folio",
                "folio": folio_sudo,
                "clock_balance": balance,
                "error": error,
            }
        )
        return request.render("clock_stripe_payment.portal_booking_card_page", values)

    @http.route(
        [
            "/my/bookings/<int:booking_id>/card",
            "/my/bookings/<int:booking_id>/card/<int:card_id>",
        ],
        type="http",
        auth="public",
        website=True,
        sitemap=False,
    )
    def clock_booking_card(self, booking_id, card_id=None, access_token=None, **kw):
        booking_sudo = self._clock_check_booking(booking_id, access_token)
        card_sudo = self._clock_check_card(booking_sudo, card_id)
        if (
            not booking_sudo._clock_get_card_provider()
            or booking_sudo.state == "cancelled"
        ):
            return request.redirect(booking_sudo.get_portal_url())
        route = f"/my/bookings/{booking_sudo.id}/card"
        if card_sudo:
            route += f"/{card_sudo.id}"
        values = self._clock_page_values(
            booking_sudo,
            title=_("Replace a card") if card_sudo else _("Add a card"),
            amount=None,
            mode="validation",
            transaction_route=f"{route}/transaction",
            force_tokenization=True,
        )
        values.update({"clock_page": "card", "clock_replaced_card": card_sudo})
        return request.render("clock_stripe_payment.portal_booking_card_page", values)

    # ------------------------------------------------------------------
    # Transaction routes
    # ------------------------------------------------------------------

    @http.route(
        "/my/bookings/<int:booking_id>/guarantee/transaction",
        type="json",
        auth="public",
    )
    def clock_booking_guarantee_transaction(
        self, booking_id, access_token=None, **kwargs
    ):
        booking_sudo = self._clock_check_booking(booking_id, access_token)
        if not booking_sudo._clock_can_guarantee_by_card():
            raise ValidationError(_("This booking does not need a guarantee any more."))
        policy = booking_sudo.guarantee_policy_id
        amount = booking_sudo._clock_get_guarantee_amount()
        validation = policy.card_action == "tokenize" or not amount
        custom_values = {"clock_guarantee": True}
        if policy.card_action == "hold" and not validation:
            custom_values.update(
                request.env["payment.transaction"]._clock_get_hold_values(True)
            )
        return self._clock_create_transaction(
            booking_sudo,
            kwargs,
            amount=None if validation else amount,
            currency=booking_sudo.currency_id,
            is_validation=validation,
            force_tokenization=True,
            custom_values=custom_values,
            flows=("direct",) if validation else ("direct", "token"),
        )

    @http.route(
        "/my/bookings/<int:booking_id>/folio/<int:folio_id>/transaction",
        type="json",
        auth="public",
    )
    def clock_booking_folio_transaction(
        self, booking_id, folio_id, access_token=None, amount=None, **kwargs
    ):
        booking_sudo = self._clock_check_booking(booking_id, access_token)
        folio_sudo = self._clock_check_folio(booking_sudo, folio_id)
        to_pay = self._clock_check_folio_amount(folio_sudo, self._cast_as_float(amount))
        return self._clock_create_transaction(
            booking_sudo,
            kwargs,
            amount=to_pay,
            currency=folio_sudo.currency_id,
            is_validation=False,
            force_tokenization=False,
            custom_values={"clock_folio_ids": [Command.set(folio_sudo.ids)]},
            flows=("direct", "token", "redirect"),
        )

    @http.route(
        [
            "/my/bookings/<int:booking_id>/card/transaction",
            "/my/bookings/<int:booking_id>/card/<int:card_id>/transaction",
        ],
        type="json",
        auth="public",
    )
    def clock_booking_card_transaction(
        self, booking_id, card_id=None, access_token=None, **kwargs
    ):
        booking_sudo = self._clock_check_booking(booking_id, access_token)
        card_sudo = self._clock_check_card(booking_sudo, card_id)
        if booking_sudo.state == "cancelled":
            raise ValidationError(_("This booking is cancelled: it takes no card."))
        custom_values = {}
        if card_sudo:
            custom_values["clock_replace_token_id"] = card_sudo.token_id.id
        return self._clock_create_transaction(
            booking_sudo,
            kwargs,
            amount=None,
            currency=None,
            is_validation=True,
            force_tokenization=True,
            custom_values=custom_values,
            flows=("direct",),
        )

    # ------------------------------------------------------------------
    # Checks
    # ------------------------------------------------------------------

    def _clock_check_booking(self, booking_id, access_token):
        """The booking in sudo, or 404 when the visitor may not see it."""
        try:
            return self._booking_check_access(booking_id, access_token)
        except (AccessError, MissingError):
            raise NotFound() from None

    def _clock_check_folio(self, booking_sudo, folio_id):
        """A folio of the booking the guest sees on MyBooking, or 404."""
        folio_sudo = booking_sudo._clock_get_visible_folios().filtered(
            lambda folio: folio.id == folio_id
        )
        if not 0 < folio_id <= MAX_ID or not folio_sudo:
            raise NotFound()
        return folio_sudo

    def _clock_check_card(self, booking_sudo, card_id):
        """An active guest card on file of the booking (empty without ``card_id``),
        or 404. An OTA's virtual card is never the guest's to replace."""
        cards = booking_sudo.card_ids.browse()
        if card_id is None:
            return cards
        card_sudo = booking_sudo.card_ids.filtered(
            lambda card: card.id == card_id
            and card.token_id.active
            and card.card_type != "virtual"
        )
        if not card_sudo:
            raise NotFound()
        return card_sudo

    @staticmethod
    def _clock_check_folio_amount(folio_sudo, amount):
        """The part of the balance the guest asked to pay: more than zero and never
        more than the balance (recomputed now, less the payments not posted
        yet)."""
        currency = folio_sudo.currency_id
        balance = folio_sudo._clock_get_payable_balance()
        if (
            amount is None
            or not math.isfinite(amount)
            or float_compare(amount, 0.0, precision_rounding=currency.rounding) <= 0
        ):
            raise ValidationError(_("Please enter an amount to pay."))
        amount = currency.round(amount)
        if float_compare(amount, balance, precision_rounding=currency.rounding) > 0:
            raise ValidationError(
                _(
                    "You cannot pay more than the balance of %(balance)s %(currency)s.",
                    balance=balance,
                    currency=currency.name,
                )
            )
        return amount

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------

    def _clock_partner(self, booking_sudo):
        user = request.env.user
        return user.partner_id if not user._is_public() else booking_sudo.partner_id

    def _clock_page_values(
        self,
        booking_sudo,
        title,
        amount,
        mode,
        transaction_route,
        currency=None,
        force_tokenization=False,
        hold=False,
        card_only=True,
    ):
        """Rendering values of a card page (the payment form's context included).

        :param bool hold: the page places a hold (else a payment is charged)
        :param bool card_only: offer the card form only (no Stripe-hosted page)
        """
        partner_sudo = self._clock_partner(booking_sudo)
        company = booking_sudo.company_id
        currency = currency or booking_sudo.currency_id
        is_validation = mode == "validation"
        card_provider = booking_sudo._clock_get_card_provider()
        availability_report = {}
        providers_sudo = (
            request.env["payment.provider"]
            .sudo()
            ._get_compatible_providers(
                company.id,
                partner_sudo.id,
                amount or 0.0,
                currency_id=currency.id,
                force_tokenization=force_tokenization,
                is_validation=is_validation,
                report=availability_report,
            )
            .filtered(lambda provider: provider == card_provider)
        )
        payment_methods_sudo = (
            request.env["payment.method"]
            .sudo()
            ._get_compatible_payment_methods(
                providers_sudo.ids,
                partner_sudo.id,
                currency_id=currency.id,
                force_tokenization=force_tokenization,
                report=availability_report,
            )
        )
        if card_only:
            payment_methods_sudo = payment_methods_sudo.filtered(
                lambda method: method.code == "card"
            )
        if is_validation:
            tokens_sudo = request.env["payment.token"].sudo().browse()
        else:
            # Only the booking's own cards on file are offered.
            tokens_sudo = (
                request.env["payment.token"]
                .sudo()
                ._get_available_tokens(providers_sudo.ids, partner_sudo.id)
            ) & booking_sudo.card_ids.token_id
        access_token = booking_sudo._portal_ensure_token()
        values = {
            "page_name": "booking",
            "booking": booking_sudo,
            "res_company": company,
            "clock_title": title,
            "clock_booking_url": booking_sudo.get_portal_url(),
            "company_mismatch": not PaymentPortal._can_partner_pay_in_company(
                partner_sudo, company
            ),
            "expected_company": company,
            # Payment form context.
            "mode": mode,
            "allow_token_selection": not is_validation,
            "allow_token_deletion": False,
            "show_tokenize_input_mapping": {
                provider.id: (
                    not force_tokenization
                    and provider.allow_tokenization
                    and not provider._is_tokenization_required()
                )
                for provider in providers_sudo
            },
            "reference_prefix": None,
            "amount": amount,
            "currency": currency,
            "partner_id": partner_sudo.id,
            "providers_sudo": providers_sudo,
            "payment_methods_sudo": payment_methods_sudo,
            "tokens_sudo": tokens_sudo,
            "availability_report": availability_report,
            "transaction_route": transaction_route,
            # Read by the card form (inline form values), not the provider's
            # "Capture Amount Manually".
            "clock_stripe_capture_manually": bool(hold),
            "landing_route": booking_sudo.get_portal_url(),
            "access_token": access_token,
        }
        return values

    def _clock_create_transaction(
        self,
        booking_sudo,
        kwargs,
        amount,
        currency,
        is_validation,
        force_tokenization,
        custom_values,
        flows,
    ):
        """Create the transaction of a card page with the server's amount.

        The amount, currency, partner, validation flag and landing route sent by
        the browser are replaced by the server's; the provider must be the hotel's
        card provider and the flow one of ``flows``, those the page offers. The
        attempt is counted against the card budgets.
        """
        card_provider = booking_sudo._clock_get_card_provider()
        kwargs.pop("amount", None)
        kwargs.pop("is_validation", None)
        kwargs.pop("currency_id", None)
        kwargs.pop("partner_id", None)
        kwargs.pop("reference_prefix", None)
        self._validate_transaction_kwargs(kwargs)
        provider_id = self._cast_as_int(kwargs.get("provider_id"))
        flow = kwargs.get("flow")
        if flow not in flows:
            raise ValidationError(_("This payment method is not accepted here."))
        token_sudo = request.env["payment.token"].sudo()
        if flow == "token":
            token_id = self._cast_as_int(kwargs.get("token_id")) or 0
            token_sudo = token_sudo.browse(token_id if 0 < token_id <= MAX_ID else [])
            if (
                is_validation
                or not token_sudo.exists()
                or not token_sudo.active
                or token_sudo not in booking_sudo.card_ids.token_id
            ):
                raise ValidationError(_("Please enter a card."))
            provider_id = token_sudo.provider_id.id
        if not card_provider or provider_id != card_provider.id:
            raise ValidationError(_("This payment method is not accepted here."))
        partner_sudo = self._clock_partner(booking_sudo)
        values = {
            "clock_reservation_ids": [Command.set(booking_sudo.ids)],
            # A guest payment is charged; only the hold variant of the guarantee
            # asks for a hold (in ``custom_values``).
            **request.env["payment.transaction"]._clock_get_hold_values(False),
            **custom_values,
        }
        if force_tokenization and flow in ("direct", "redirect") and not is_validation:
            method_sudo = (
                request.env["payment.method"]
                .sudo()
                .browse(self._cast_as_int(kwargs.get("payment_method_id")) or [])
            )
            if not (
                card_provider.allow_tokenization and method_sudo.support_tokenization
            ):
                raise ValidationError(
                    _("Please pay by card: your card is kept to guarantee the booking.")
                )
            values["tokenize"] = True
        kwargs.update(
            {
                "partner_id": partner_sudo.id,
                "currency_id": currency.id if currency else None,
                "amount": amount,
                "is_validation": is_validation,
                "tokenization_requested": bool(
                    kwargs.get("tokenization_requested") or force_tokenization
                ),
                "landing_route": booking_sudo.get_portal_url(),
            }
        )
        if not spend_card_attempt(booking_sudo, partner_sudo):
            raise card_budget_spent_error()
        with guest_safe_stripe_errors():
            tx_sudo = self._create_transaction(
                custom_create_values=values, clock_card_attempt_counted=True, **kwargs
            )
            return tx_sudo._get_processing_values()

    def _create_transaction(self, *args, clock_card_attempt_counted=False, **kwargs):
        """Override of `payment`: a transaction of the hotel's card provider
        made by Odoo's own payment routes (``/my/payment_method``,
        ``/payment/pay``...) spends a card attempt too; those of the booking's
        card pages were counted already (``_clock_create_transaction``)."""
        env = request.env(su=True)
        providers = env["payment.provider"].browse(kwargs.get("provider_id"))
        providers |= env["payment.token"].browse(kwargs.get("token_id")).provider_id
        if (
            not clock_card_attempt_counted
            and const.PROVIDER_CODE in providers.mapped("code")
            and not spend_card_attempt(
                env["clock.reservation"],
                env["res.partner"].browse(kwargs.get("partner_id")),
            )
        ):
            raise card_budget_spent_error()
        return super()._create_transaction(*args, **kwargs)
