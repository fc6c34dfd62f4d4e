# Part of clock_stripe_payment. License LGPL-3.
"""The one Stripe client of the addon.

Every request this addon sends to Stripe goes through :class:`ClockStripeClient`,
which is built on the official SDK (``stripe.StripeClient``, ``client.v1.*``) with:

* the API base URL of the provider (Stripe's by default; a setting, so that tests
  and demos can point it at a local stand-in);
* a timeout, network retries and the pinned API version (``const.API_VERSION``);
* an explicit idempotency key, derived from the Odoo transaction reference and the
  operation (``utils.idempotency_key``), on every call that creates or changes money;
* Stripe errors turned into :class:`ClockStripeError` (a ``UserError``) carrying a
  clear message for guests and staff and the details callers need (kind, code);
* results returned as plain dicts (``StripeObject.to_dict()``): SDK 16 objects are
  not dicts;
* a request budget, when given: each request waits for a slot of the account's
  requests per second, and a ``429`` answer holds the account off for its
  ``Retry-After``.

**One request path.** Whatever the API base, the client sends the requests the
pinned API version (``const.API_VERSION``) takes, and only those: it never branches
on where they go.

Secrets are never logged: only operation names, object ids and idempotency keys.
"""

import logging
import threading

import stripe

from odoo.exceptions import UserError
from odoo.tools.translate import LazyTranslate

from . import const, utils

_logger = logging.getLogger(__name__)
# Messages are translated when raised: in the language of the request's user, or
# in English in crons and tests (no warning about a missing language).
_lt = LazyTranslate(__name__, default_lang="en_US")


# === ERRORS === #


class ClockStripeError(UserError):
    """A Stripe request failed; ``str(error)`` is safe to show to a guest.

    :ivar str kind: ``card``, ``authentication_required``, ``invalid_key``,
        ``permission``, ``rate_limit``, ``connection``, ``invalid_request``,
        ``idempotency``, ``bad_answer`` (an answer without a field the addon
        reads) or ``api``.
    :ivar str code: Stripe's error code (``card_declined``...), if any.
    :ivar str decline_code: Stripe's decline code, if any.
    :ivar int http_status: HTTP status of the answer, if any.
    :ivar dict payment_intent: The PaymentIntent returned with a card error, if any.
    :ivar str stripe_message: Stripe's own message (for logs and back office).
    :ivar float retry_after: For a ``rate_limit`` error: the seconds Stripe asked
        to wait (its ``Retry-After`` header).
    """

    def __init__(
        self,
        message,
        kind="api",
        code=None,
        decline_code=None,
        http_status=None,
        payment_intent=None,
        stripe_message=None,
        param=None,
        retry_after=None,
    ):
        super().__init__(str(message))
        self.kind = kind
        self.code = code
        self.decline_code = decline_code
        self.http_status = http_status
        self.payment_intent = payment_intent
        self.stripe_message = stripe_message
        self.param = param
        self.retry_after = retry_after


def _card_error_message(code, decline_code, stripe_message):
    """Return the guest-facing message of a card error."""
    if code == "expired_card":
        return _lt("The card has expired. Please use another card.")
    if code == "incorrect_cvc":
        return _lt("The card's security code (CVC) is incorrect.")
    if code in ("incorrect_number", "invalid_number"):
        return _lt("The card number is incorrect.")
    if code == "authentication_required" or decline_code == "authentication_required":
        return _lt(
            "The card's bank requires the card holder to authenticate this payment "
            "(3-D Secure)."
        )
    if decline_code == "insufficient_funds":
        return _lt(
            "The card was declined: insufficient funds. Please use another card."
        )
    if code == "processing_error":
        return _lt(
            "The card could not be processed by its bank. Please try again or use "
            "another card."
        )
    return _lt(
        "The card was declined by its bank (%(reason)s). Please use another card.",
        reason=stripe_message or code or _lt("no reason given"),
    )


def retry_after_seconds(headers):
    """The seconds a ``Retry-After`` header (in ``headers``) asks to wait, or
    ``const.DEFAULT_RETRY_AFTER`` when it is missing or not a number of seconds."""
    try:
        seconds = float((headers or {}).get("Retry-After"))
    except (TypeError, ValueError):
        return const.DEFAULT_RETRY_AFTER
    return seconds if seconds > 0 else const.DEFAULT_RETRY_AFTER


def _error_from_stripe(exc):
    """Map a ``stripe.StripeError`` to a :class:`ClockStripeError`."""
    stripe_message = getattr(exc, "user_message", None) or str(exc)
    code = getattr(exc, "code", None)
    http_status = getattr(exc, "http_status", None)
    error_object = getattr(exc, "error", None)
    payment_intent = None
    decline_code = None
    param = getattr(exc, "param", None)
    if error_object is not None:
        decline_code = getattr(error_object, "decline_code", None)
        pi = getattr(error_object, "payment_intent", None)
        if pi is not None:
            payment_intent = pi.to_dict() if hasattr(pi, "to_dict") else pi
    if isinstance(exc, stripe.CardError):
        decline_code = decline_code or getattr(exc, "decline_code", None)
        kind = (
            "authentication_required"
            if "authentication_required" in (code, decline_code)
            else "card"
        )
        message = _card_error_message(code, decline_code, stripe_message)
    elif isinstance(exc, stripe.AuthenticationError):
        kind = "invalid_key"
        message = _lt(
            "Stripe refused the Secret key: it is invalid, expired or revoked."
        )
    elif isinstance(exc, stripe.PermissionError):
        kind = "permission"
        message = _lt(
            "The Secret key is not allowed to make this request at Stripe "
            "(restricted key?)."
        )
    elif isinstance(exc, stripe.RateLimitError):
        kind = "rate_limit"
        message = _lt(
            "Stripe is receiving too many requests right now; nothing was done. "
            "Please try again in a moment."
        )
    elif isinstance(exc, stripe.APIConnectionError):
        kind = "connection"
        # A lost answer or a timeout: Stripe may have applied the request.
        message = _lt(
            "No answer from Stripe: it is not known yet whether this went through. "
            "It is being checked with Stripe; look at the payment again before "
            "trying again."
        )
    elif isinstance(exc, stripe.IdempotencyError):
        kind = "idempotency"
        message = _lt(
            "Stripe refused a repeated request with different data. Please refresh "
            "and check the payment before trying again."
        )
    elif isinstance(exc, stripe.InvalidRequestError):
        kind = "invalid_request"
        if code == "payment_intent_unexpected_state":
            message = _lt(
                "Stripe refused the operation: the payment is no longer in a state "
                "that allows it (%(detail)s).",
                detail=stripe_message,
            )
        else:
            message = _lt(
                "Stripe refused the request: %(detail)s", detail=stripe_message
            )
    else:  # APIError and anything else the SDK raises.
        kind = "api"
        message = _lt(
            "Stripe failed to answer: it is not known yet whether this went "
            "through. It is being checked with Stripe; look at the payment again "
            "before trying again."
        )
    return ClockStripeError(
        message,
        kind=kind,
        code=code,
        decline_code=decline_code,
        http_status=http_status,
        payment_intent=payment_intent,
        stripe_message=stripe_message,
        param=param,
        retry_after=(
            retry_after_seconds(getattr(exc, "headers", None))
            if kind == "rate_limit"
            else None
        ),
    )


# === CLIENT === #

_clients = {}
_clients_lock = threading.Lock()


def _sdk_client(secret_key, api_base, timeout, max_network_retries):
    """Return a cached ``stripe.StripeClient`` (keeps HTTP connections alive)."""
    cache_key = (secret_key, api_base, timeout, max_network_retries)
    with _clients_lock:
        client = _clients.get(cache_key)
        if client is None:
            if len(_clients) > 32:  # Keys were rotated many times: start afresh.
                _clients.clear()
            client = stripe.StripeClient(
                secret_key,
                base_addresses={"api": api_base},
                stripe_version=const.API_VERSION,
                max_network_retries=max_network_retries,
                http_client=stripe.RequestsClient(timeout=timeout),
            )
            _clients[cache_key] = client
    return client


def _as_dict(obj):
    if obj is None:
        return None
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    return obj


class ClockStripeClient:
    """Stripe access for one provider (one Stripe account and key).

    :param str secret_key: The provider's secret key (never logged).
    :param str api_base: API base URL; Stripe's when empty.
    :param budget: The account's request budget (``wait()`` before each request,
        ``hold_off(seconds)`` after a ``429``), e.g.
        ``models.clock_stripe_request_budget.RequestBudget``; none when empty.
    """

    def __init__(
        self,
        secret_key,
        api_base=None,
        timeout=const.REQUEST_TIMEOUT,
        max_network_retries=const.MAX_NETWORK_RETRIES,
        budget=None,
    ):
        if not secret_key:
            raise ClockStripeError(
                _lt("The Stripe Secret key is not set on the payment provider."),
                kind="invalid_key",
            )
        self.api_base = utils.normalize_api_base(api_base)
        self.timeout = timeout
        self._secret_key = secret_key
        self._budget = budget
        self._client = _sdk_client(
            secret_key, self.api_base, timeout, max_network_retries
        )

    def __repr__(self):
        key = utils.mask_secret(self._secret_key)
        return f"<ClockStripeClient {self.api_base} key={key}>"

    # --- plumbing ---

    def _call(
        self,
        label,
        method,
        *args,
        params=None,
        idempotency_key=None,
        expected_kinds=(),
        answer_fields=("id",),
    ):
        """Run one SDK call, log it without secrets and map its errors.

        :param str label: Name of the operation for logs.
        :param callable method: A bound ``client.v1.<service>.<method>``.
        :param dict params: Request parameters.
        :param str idempotency_key: Key for calls that create or change money.
        :param tuple expected_kinds: Error kinds the caller handles (logged at
            INFO level only).
        :param tuple answer_fields: Fields the caller reads from the answer; an
            answer without one of them raises a ``bad_answer`` error.
        :return: The answer as a plain dict.
        """
        options = {"idempotency_key": idempotency_key} if idempotency_key else {}
        kwargs = {}
        if params:
            kwargs["params"] = params
        if options:
            kwargs["options"] = options
        if self._budget:
            self._budget.wait()
        try:
            result = method(*args, **kwargs)
        except stripe.StripeError as exc:
            error = _error_from_stripe(exc)
            if error.kind == "rate_limit" and self._budget:
                self._budget.hold_off(error.retry_after)
            _logger.log(
                logging.INFO if error.kind in expected_kinds else logging.WARNING,
                "Stripe %s failed (%s, code=%s, http=%s, idempotency key=%s): %s",
                label,
                error.kind,
                error.code,
                error.http_status,
                idempotency_key,
                error.stripe_message,
            )
            raise error from None
        result = _as_dict(result)
        missing = [
            field
            for field in answer_fields
            if not isinstance(result, dict) or result.get(field) is None
        ]
        if missing:
            _logger.warning(
                "Stripe %s answered without %s (idempotency key %s)",
                label,
                ", ".join(missing),
                idempotency_key,
            )
            raise ClockStripeError(
                _lt(
                    "Stripe's answer could not be read (%(fields)s missing). Nothing "
                    "was recorded as paid: check the payment in the Stripe Dashboard "
                    "before trying again.",
                    fields=", ".join(missing),
                ),
                kind="bad_answer",
            )
        _logger.info(
            "Stripe %s ok: %s%s",
            label,
            result.get("id") if isinstance(result, dict) else "-",
            f" (idempotency key {idempotency_key})" if idempotency_key else "",
        )
        return result

    @staticmethod
    def _metadata(reference, purpose=None):
        metadata = {const.METADATA_REFERENCE_KEY: reference}
        if purpose:
            metadata[const.METADATA_PURPOSE_KEY] = purpose
        return metadata

    # --- account and webhooks ---

    def check_credentials(self):
        """Check that the key works and return the id of the account it belongs to.

        :return: ``{'account_id': str}``
        :raise ClockStripeError: ``invalid_key`` when Stripe answers 401.
        """
        account = self._call("account check", self._client.v1.accounts.retrieve_current)
        return {"account_id": account["id"]}

    def register_webhook(self, url, events):
        """Register the webhook endpoint and return ``{'id', 'secret'}``.

        Stripe returns the signing secret only in the answer to this creation.
        """
        endpoint = self._call(
            "webhook endpoint create",
            self._client.v1.webhook_endpoints.create,
            params={
                "url": url,
                "enabled_events": list(events),
                "api_version": const.API_VERSION,
                "description": "Odoo clock_stripe_payment",
            },
            answer_fields=("id", "secret"),
        )
        return {"id": endpoint["id"], "secret": endpoint["secret"]}

    def delete_webhook(self, endpoint_id):
        """Delete a webhook endpoint; one that no longer exists is fine."""
        try:
            self._call(
                "webhook endpoint delete",
                self._client.v1.webhook_endpoints.delete,
                endpoint_id,
                expected_kinds=("invalid_request",),
            )
        except ClockStripeError as error:
            if error.kind != "invalid_request":
                raise

    # --- customers and payment methods ---

    def create_customer(self, name, email=None, phone=None, address=None, meta=None):
        params = {"name": name or "", "metadata": meta or {}}
        if email:
            params["email"] = email
        if phone:
            params["phone"] = phone[:20]
        if address:
            params["address"] = {k: v for k, v in address.items() if v}
        return self._call(
            "customer create", self._client.v1.customers.create, params=params
        )

    def retrieve_payment_method(self, payment_method_id):
        return self._call(
            "payment method retrieve",
            self._client.v1.payment_methods.retrieve,
            payment_method_id,
        )

    def attach_payment_method(self, payment_method_id, customer_id):
        return self._call(
            "payment method attach",
            self._client.v1.payment_methods.attach,
            payment_method_id,
            params={"customer": customer_id},
        )

    def detach_payment_method(self, payment_method_id, missing_ok=True):
        """Detach a card from its customer; a card that is not attached is fine."""
        try:
            return self._call(
                "payment method detach",
                self._client.v1.payment_methods.detach,
                payment_method_id,
                expected_kinds=("invalid_request",) if missing_ok else (),
            )
        except ClockStripeError as error:
            if missing_ok and error.kind == "invalid_request":
                return None
            raise

    # --- setup intents ---

    def create_setup_intent(self, customer_id, reference, description=None):
        params = {
            "customer": customer_id,
            "usage": "off_session",
            # Cards only. Endive (changelog 2026-09-30, "Removes the payment method
            # types parameter from Payment Intents and Setup Intents") refuses
            # ``payment_method_types``; ``allowed_payment_method_types`` limits the
            # dynamic payment methods to cards, none of which needs a return_url.
            "allowed_payment_method_types": ["card"],
            "metadata": self._metadata(reference),
        }
        if description:
            params["description"] = description
        return self._call(
            "setup intent create",
            self._client.v1.setup_intents.create,
            params=params,
            answer_fields=("id", "status", "client_secret"),
        )

    def retrieve_setup_intent(self, setup_intent_id):
        return self._call(
            "setup intent retrieve",
            self._client.v1.setup_intents.retrieve,
            setup_intent_id,
            params={"expand": ["payment_method"]},
            answer_fields=("id", "status"),
        )

    def cancel_setup_intent(self, setup_intent_id):
        """Cancel a SetupIntent that is still open: its client secret, which the
        browser has, confirms no card any more."""
        return self._call(
            "setup intent cancel",
            self._client.v1.setup_intents.cancel,
            setup_intent_id,
            params={"cancellation_reason": "abandoned"},
            answer_fields=("id", "status"),
        )

    # --- payment intents ---

    def create_payment_intent(
        self,
        *,
        amount,
        currency,
        customer_id,
        payment_method_id,
        reference,
        idempotency_key,
        capture_manually=False,
        off_session=False,
        purpose=None,
        description=None,
        card_options=None,
    ):
        """Create and confirm a card PaymentIntent (charge or hold) in one call.

        ``off_session`` is sent with ``confirm=True`` at creation, as Stripe
        recommends for merchant-initiated charges.

        :param dict card_options: ``payment_method_options.card`` of the intent
            (extended or incremental authorization of a hold), if any.
        """
        if amount <= 0:
            raise ClockStripeError(
                _lt("The amount sent to Stripe must be positive."),
                kind="invalid_request",
            )
        params = {
            "amount": int(amount),
            "currency": currency.lower(),
            "customer": customer_id,
            "payment_method": payment_method_id,
            # Cards only: see create_setup_intent (endive 2026-09-30).
            "allowed_payment_method_types": ["card"],
            "capture_method": "manual" if capture_manually else "automatic",
            "confirm": True,
            "off_session": bool(off_session),
            "metadata": self._metadata(reference, purpose),
            "expand": ["latest_charge", "payment_method"],
        }
        if description:
            params["description"] = description
        if card_options:
            params["payment_method_options"] = {"card": dict(card_options)}
        return self._call(
            "payment intent create",
            self._client.v1.payment_intents.create,
            params=params,
            idempotency_key=idempotency_key,
            # A declined card or a bank asking for 3-D Secure is the guest's
            # outcome, put on the transaction by the caller: not a warning.
            expected_kinds=("card", "authentication_required"),
            answer_fields=("id", "status", "amount"),
        )

    def retrieve_payment_intent(self, payment_intent_id):
        return self._call(
            "payment intent retrieve",
            self._client.v1.payment_intents.retrieve,
            payment_intent_id,
            params={"expand": ["latest_charge", "payment_method"]},
            answer_fields=("id", "status", "amount"),
        )

    def find_payment_intent(
        self,
        reference,
        customer_id=None,
        created_after=None,
        amount=None,
        currency=None,
    ):
        """Return the PaymentIntent created for ``reference``, or None.

        Reconciliation of a transaction whose answer was lost (timeout, crash
        between Stripe's answer and the commit): the intent is found by the
        reference in its metadata, then read back with its charge expanded. An
        intent with that reference but another amount, currency or customer than
        the transaction's is not the transaction's payment: it is ignored (with a
        warning).

        The customer's intents created since ``created_after`` (a Unix timestamp)
        are listed; the Search API is not used, it may lag by a minute.

        :param str reference: The Odoo transaction reference.
        :param str customer_id: The Stripe customer the intent was created for.
        :param int created_after: Unix time before which the intent cannot exist.
        :param int amount: The amount of the intent, in minor units.
        :param str currency: The currency code of the intent.
        :rtype: dict|None
        """
        params = {"limit": 100}
        if customer_id:
            params["customer"] = customer_id
        if created_after:
            params["created"] = {"gte": int(created_after)}
        expected = {
            "amount": None if amount is None else int(amount),
            "currency": currency and currency.lower(),
            "customer": customer_id,
        }
        for _page in range(50):  # At most 5000 intents: a bound, never reached.
            result = self._call(
                "payment intent list",
                self._client.v1.payment_intents.list,
                params=dict(params),
                answer_fields=("data",),
            )
            intents = result["data"]
            for intent in intents:
                metadata = intent.get("metadata") or {}
                if metadata.get(const.METADATA_REFERENCE_KEY) != reference:
                    continue
                mismatches = {
                    key: intent.get(key)
                    for key, value in expected.items()
                    if value is not None and intent.get(key) != value
                }
                if mismatches:
                    _logger.warning(
                        "PaymentIntent %s has the reference %s but not its %s "
                        "(%s instead of %s): ignored",
                        intent.get("id"),
                        reference,
                        ", ".join(mismatches),
                        mismatches,
                        {key: expected[key] for key in mismatches},
                    )
                    continue
                return self.retrieve_payment_intent(intent["id"])
            if not result.get("has_more") or not intents:
                return None
            params["starting_after"] = intents[-1]["id"]
        return None

    def capture_payment_intent(
        self, payment_intent_id, idempotency_key, amount_to_capture=None
    ):
        params = {"expand": ["latest_charge"]}
        if amount_to_capture is not None:
            params["amount_to_capture"] = int(amount_to_capture)
        return self._call(
            "payment intent capture",
            self._client.v1.payment_intents.capture,
            payment_intent_id,
            params=params,
            idempotency_key=idempotency_key,
            answer_fields=("id", "status", "amount"),
        )

    def increment_authorization(self, payment_intent_id, amount, idempotency_key):
        """Raise a hold to ``amount`` (the new total, in minor units).

        Stripe allows it on a hold whose charge says
        ``incremental_authorization.status == 'available'``; a declined raise
        leaves the hold as it was.
        """
        return self._call(
            "payment intent increment authorization",
            self._client.v1.payment_intents.increment_authorization,
            payment_intent_id,
            params={"amount": int(amount), "expand": ["latest_charge"]},
            idempotency_key=idempotency_key,
            expected_kinds=("card",),
            answer_fields=("id", "status", "amount"),
        )

    def cancel_payment_intent(
        self, payment_intent_id, idempotency_key, reason="requested_by_customer"
    ):
        return self._call(
            "payment intent cancel",
            self._client.v1.payment_intents.cancel,
            payment_intent_id,
            params={"cancellation_reason": reason},
            idempotency_key=idempotency_key,
            answer_fields=("id", "status"),
        )

    # --- refunds ---

    def create_refund(
        self,
        payment_intent_id,
        amount,
        reference,
        idempotency_key,
        reason="requested_by_customer",
    ):
        return self._call(
            "refund create",
            self._client.v1.refunds.create,
            params={
                "payment_intent": payment_intent_id,
                "amount": int(amount),
                "metadata": self._metadata(reference),
                "reason": reason,
            },
            idempotency_key=idempotency_key,
            answer_fields=("id", "status", "amount"),
        )

    def list_refunds(self, payment_intent_id, limit=100):
        result = self._call(
            "refund list",
            self._client.v1.refunds.list,
            params={"payment_intent": payment_intent_id, "limit": limit},
            answer_fields=("data",),
        )
        return result["data"]

    # --- Checkout (alternative payment methods) ---

    def create_checkout_session(
        self,
        *,
        amount,
        currency,
        reference,
        allowed_payment_method_types,
        success_url,
        cancel_url,
        idempotency_key,
        customer_email=None,
        product_name=None,
    ):
        """Create a Stripe Checkout session (mode payment) for one amount.

        :param list allowed_payment_method_types: The Stripe codes of the methods
            the hotel offers; empty: the methods of the account's Dashboard settings.
        """
        params = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": currency.lower(),
                        "unit_amount": int(amount),
                        "product_data": {"name": product_name or reference},
                    },
                }
            ],
            "success_url": success_url,
            "cancel_url": cancel_url,
            "client_reference_id": reference,
            "metadata": self._metadata(reference),
            "payment_intent_data": {"metadata": self._metadata(reference)},
        }
        if allowed_payment_method_types:
            # Endive (changelog 2026-09-30, "Removes the payment method types
            # parameter from Checkout Sessions"): the offered methods are an
            # ``allowed_payment_method_types`` filter on the dynamic payment methods.
            params["allowed_payment_method_types"] = list(allowed_payment_method_types)
        if customer_email:
            params["customer_email"] = customer_email
        return self._call(
            "checkout session create",
            self._client.v1.checkout.sessions.create,
            params=params,
            idempotency_key=idempotency_key,
            answer_fields=("id", "url"),
        )

    def retrieve_checkout_session(self, session_id):
        return self._call(
            "checkout session retrieve",
            self._client.v1.checkout.sessions.retrieve,
            session_id,
            params={"expand": ["payment_intent"]},
        )

    def expire_checkout_session(self, session_id):
        return self._call(
            "checkout session expire",
            self._client.v1.checkout.sessions.expire,
            session_id,
        )


def construct_event(payload, signature_header, secret, tolerance=300):
    """Verify a webhook signature and return the event as a plain dict.

    :raise stripe.SignatureVerificationError: bad signature or timestamp too old.
    :raise ValueError: the payload is not JSON.
    """
    event = stripe.Webhook.construct_event(
        payload, signature_header, secret, tolerance=tolerance
    )
    return event.to_dict()
