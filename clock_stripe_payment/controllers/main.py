# Part of clock_stripe_payment. License LGPL-3.

import logging

import stripe
from werkzeug.exceptions import NotFound

from odoo import _, http
from odoo.exceptions import UserError
from odoo.http import request

from .. import const
from ..models.clock_stripe_event import (
    TRANSIENT_ERROR_KINDS,
    ClockStripeEventNotReady,
    event_may_wait,
)
from ..stripe_api import ClockStripeError, construct_event
from .portal import guest_safe_stripe_errors, spend_card_attempt

_logger = logging.getLogger(__name__)


class ClockStripeController(http.Controller):
    """Routes of the Stripe (hotel) provider.

    Browser contract of the card form (after ``/payment/transaction`` returned the
    processing values, see ``payment.transaction._get_specific_processing_values``):

    1. ``stripe.confirmCardSetup(clock_stripe_setup_intent_secret,
       {payment_method: {card: cardElement, billing_details}})``;
    2. JSON-RPC ``POST /payment/clock_stripe/confirm`` with
       ``{reference, access_token: clock_stripe_access_token,
       setup_intent_id: result.setupIntent.id}``;
    3. the answer is ``{reference, state, requires_action, client_secret, error,
       redirect_url}``:

       * ``requires_action`` true: run ``stripe.confirmCardPayment(client_secret)``
         (3-D Secure), then post again ``{reference, access_token}``, optionally
         with ``payment_intent_id`` (also after a failed authentication, so that
         the server reads the intent at Stripe and records the outcome);
       * ``state`` ``error``/``cancel``: show ``message`` (= ``error``), the
         reason the card was refused or declined, and let the guest retry (a new
         transaction);
       * otherwise go to ``redirect_url`` (``/payment/status``).

    Calling the route again for a transaction that is already processed only
    returns its state: nothing is charged twice.

    Token payments (``online_token``) with ``clock_stripe_requires_action`` in the
    processing values run step 3 with ``clock_stripe_payment_intent_secret``.
    """

    _confirm_url = "/payment/clock_stripe/confirm"
    _checkout_redirect_url = "/payment/clock_stripe/checkout_redirect"
    _checkout_return_url = "/payment/clock_stripe/checkout_return"
    _webhook_url = "/payment/clock_stripe/webhook"
    WEBHOOK_TOLERANCE = 300  # seconds

    @staticmethod
    def _find_tx_sudo(reference):
        return (
            request.env["payment.transaction"]
            .sudo()
            .search(
                [
                    ("reference", "=", reference if isinstance(reference, str) else ""),
                    ("provider_code", "=", const.PROVIDER_CODE),
                ],
                limit=1,
            )
        )

    def _get_tx_sudo(self, reference, token, redirect_only=False):
        """The transaction, or 404 alike for an unknown reference and a wrong
        token: the answer never tells whether a reference exists.

        :param bool redirect_only: ``token`` is the Checkout redirect token
            (see ``_clock_stripe_redirect_token``), not the access token
        """
        tx_sudo = self._find_tx_sudo(reference)
        if not tx_sudo:
            raise NotFound()
        if redirect_only:
            valid = tx_sudo._clock_stripe_check_redirect_token(token)
        else:
            valid = tx_sudo._clock_stripe_check_access_token(token)
        if not valid:
            raise NotFound()
        return tx_sudo

    @staticmethod
    def _refuse_late_guarantee(tx_sudo):
        """Cancel a guarantee its booking no longer takes (cancelled, or
        guaranteed meanwhile in another tab) before any money moves.

        :return: the browser answer when refused, else None
        """
        if (
            not tx_sudo.clock_guarantee
            or tx_sudo.state != "draft"
            or tx_sudo.provider_reference
            or tx_sudo.clock_stripe_validation_intent_ref
        ):
            return None
        bookings = tx_sudo.clock_reservation_ids
        if all(booking._clock_can_guarantee_by_card() for booking in bookings):
            return None
        tx_sudo._set_canceled(
            state_message=_(
                "This booking no longer needs a guarantee: nothing was charged."
            )
        )
        return tx_sudo._clock_stripe_browser_answer()

    @http.route(_confirm_url, type="json", auth="public")
    def clock_stripe_confirm(
        self,
        reference=None,
        access_token=None,
        setup_intent_id=None,
        payment_intent_id=None,
        **kwargs,
    ):
        """Continue the card flow after Stripe.js (see the class docstring)."""
        tx_sudo = self._get_tx_sudo(reference, access_token)
        refused = self._refuse_late_guarantee(tx_sudo)
        if refused:
            return refused
        was_draft = tx_sudo.state == "draft"
        with guest_safe_stripe_errors():
            answer = tx_sudo._clock_stripe_confirm_from_browser(
                setup_intent_id=setup_intent_id, payment_intent_id=payment_intent_id
            )
        if was_draft and answer.get("state") == "error":
            # A refused card spends the budgets too (card testing), once.
            spend_card_attempt(tx_sudo.clock_reservation_ids, tx_sudo.partner_id)
        return answer

    @http.route(
        _checkout_redirect_url,
        type="http",
        methods=["GET"],
        auth="public",
        sitemap=False,
    )
    def clock_stripe_checkout_redirect(self, reference=None, redirect_token=None, **kw):
        """Send the guest to the Stripe Checkout page of the transaction (its
        redirect token opens nothing else)."""
        tx_sudo = self._get_tx_sudo(reference, redirect_token, redirect_only=True)
        if tx_sudo.state != "draft" or not tx_sudo.clock_stripe_checkout_url:
            return request.redirect("/payment/status")
        return request.redirect(tx_sudo.clock_stripe_checkout_url, local=False)

    @http.route(
        _checkout_return_url,
        type="http",
        methods=["GET"],
        auth="public",
        sitemap=False,
    )
    def clock_stripe_checkout_return(
        self, reference=None, access_token=None, canceled=None, **kw
    ):
        """The guest is back from Stripe Checkout: settle from Stripe's answer.

        The return addresses carry the transaction's access token, so that nobody
        else can cancel a guest's Checkout session by guessing its reference.
        """
        tx_sudo = self._find_tx_sudo(reference)
        if tx_sudo and tx_sudo._clock_stripe_check_access_token(access_token):
            tx_sudo._clock_stripe_process_checkout_return(canceled=bool(canceled))
        return request.redirect("/payment/status")

    @http.route(
        _webhook_url,
        type="http",
        methods=["POST"],
        auth="public",
        csrf=False,
        save_session=False,
    )
    def clock_stripe_webhook(self):
        """Receive a Stripe event: verify, de-duplicate, apply.

        * no, bad or expired signature (300 s): 400, nothing changes;
        * an event already received: 200, nothing changes;
        * an event about an object that is not ours (no reference of ours): 200,
          ignored;
        * an event that carries one of our references while its transaction is
          not found (not committed yet): 409, nothing kept, so that Stripe sends
          it again; after ``REFERENCE_WAIT``, kept as an error instead;
        * Stripe unreachable, or our key refused, while applying the event: 503,
          nothing kept, so that Stripe sends the event again;
        * any other error while applying the event: 200 ``error``, nothing kept but
          the event row (state ``error``), for an operator to replay.
        """
        payload = request.httprequest.get_data()
        signature = request.httprequest.headers.get("Stripe-Signature")
        if not signature:
            _logger.warning("Stripe webhook without signature refused")
            return request.make_json_response(
                {"error": "missing signature"}, status=400
            )
        event = provider = None
        providers = request.env["payment.provider"].sudo()
        for provider_id, secret in providers._clock_stripe_webhook_secrets():
            try:
                event = construct_event(
                    payload, signature, secret, tolerance=self.WEBHOOK_TOLERANCE
                )
            except stripe.SignatureVerificationError:
                continue
            except ValueError:
                return request.make_json_response(
                    {"error": "invalid payload"}, status=400
                )
            provider = providers.browse(provider_id)
            break
        if event is None:
            _logger.warning("Stripe webhook with a bad or expired signature refused")
            return request.make_json_response(
                {"error": "invalid signature"}, status=400
            )
        events = request.env["clock.stripe.event"].sudo()
        try:
            outcome = events._clock_stripe_process(provider, event)
        except UserError as error:  # ClockStripeError and ValidationError included
            # Undo everything the event changed, its row included.
            request.env.cr.rollback()
            if isinstance(error, ClockStripeEventNotReady) and event_may_wait(event):
                _logger.info("Stripe event %s postponed: %s", event.get("id"), error)
                return request.make_json_response(
                    {"error": "not ready, try again later"}, status=409
                )
            if (
                isinstance(error, ClockStripeError)
                and error.kind in TRANSIENT_ERROR_KINDS
            ):
                # Nothing is kept (not even the event id): Stripe sends it again.
                _logger.warning("Stripe event %s postponed: %s", event.get("id"), error)
                return request.make_json_response(
                    {"error": "try again later"}, status=503
                )
            outcome = events._clock_stripe_record_failure(provider, event, error)
        return request.make_json_response({"status": outcome})
