"""PaymentIntents, SetupIntents, Charges and Refunds as the pinned version has them.

Each handler takes ``(request, params)`` (params: the decoded request, a copy) and
returns the exported object; :mod:`.adapter` shapes it and answers. localstripe's
resource classes do the actual work.
"""

import time

from localstripe.errors import UserError
from localstripe.resources import (
    Charge,
    PaymentIntent,
    PaymentMethod,
    Refund,
    SetupIntent,
)

from . import flexible, ledger
from .errors import (
    StripeError,
    no_such,
    refuse_payment_method_types,
    unknown_parameters,
)
from .params import integer, list_answer, one_of, payment_method_types, pop_remembered

PAYMENT_INTENT_ECHOED = (
    "automatic_payment_methods",
    "description",
    "excluded_payment_method_types",
    "payment_method_options",
    "receipt_email",
    "setup_future_usage",
    "statement_descriptor",
    "statement_descriptor_suffix",
)
# Accepted by Stripe, without effect on the double and not part of the object.
PAYMENT_INTENT_IGNORED = (
    "error_on_requires_action",
    "mandate",
    "mandate_data",
    "return_url",
    "use_stripe_sdk",
)
SETUP_INTENT_ECHOED = (
    "automatic_payment_methods",
    "description",
    "excluded_payment_method_types",
    "payment_method_options",
)
SETUP_INTENT_IGNORED = ("return_url", "use_stripe_sdk")
SETUP_INTENT_OPEN = (
    "requires_payment_method",
    "requires_confirmation",
    "requires_action",
)
CANCELLATION_REASONS = ("abandoned", "duplicate", "fraudulent", "requested_by_customer")
SETUP_CANCELLATION_REASONS = ("abandoned", "duplicate", "requested_by_customer")
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")


def _retrieve(cls, object_id):
    obj = ledger.stored(cls.object, object_id)
    if obj is None:
        raise no_such(cls.object, object_id)
    return obj


def _take_endive_parameters(params, echoed, ignored):
    """Remove the parameters localstripe refuses; return those to echo, with
    ``payment_method_types`` computed from ``allowed_payment_method_types``."""
    refuse_payment_method_types(params)
    echo = pop_remembered(params, echoed)
    pop_remembered(params, ignored)
    if "allowed_payment_method_types" in params:
        allowed = params.pop("allowed_payment_method_types")
        echo["allowed_payment_method_types"] = allowed
        echo["payment_method_types"] = payment_method_types(
            allowed, echo.get("excluded_payment_method_types")
        )
    return echo


# === PAYMENT INTENTS === #


def _unexpected_state(intent, action, allowed):
    kind = "SetupIntent" if intent.object == "setup_intent" else "PaymentIntent"
    return StripeError(
        f"This {kind} could not be {action} because it has a status of "
        f"{intent.status}. Only a {kind} with one of the following statuses "
        f"may be {action}: {', '.join(allowed)}.",
        code=f"{intent.object}_unexpected_state",
    )


def _confirm(intent):
    """Confirm ``intent``; save its card on the customer as Stripe does for
    ``setup_future_usage``."""
    intent._confirm(on_failure_now=intent._report_failure)
    saving = ledger.echo(intent).get("setup_future_usage")
    authorized = intent.status in ("succeeded", "requires_capture")
    if saving and intent.customer and authorized:
        PaymentMethod._api_retrieve(intent.payment_method).customer = intent.customer


def create_payment_intent(request, params):
    expand = params.pop("expand", None)
    flexible.check_options(params)
    echo = _take_endive_parameters(
        params, PAYMENT_INTENT_ECHOED, PAYMENT_INTENT_IGNORED
    )
    confirm = params.pop("confirm", "false") in (True, "true")
    if "off_session" in params and not confirm:
        raise StripeError(
            "off_session can only be used when confirm=true.", param="off_session"
        )
    params.pop("off_session", None)
    intent = PaymentIntent._api_create(
        payment_method_types=echo.get("payment_method_types", ["card"]), **params
    )
    ledger.remember(intent, echo)
    if confirm:
        _confirm(intent)
    return intent._export(expand=expand)


def update_payment_intent(request, params):
    expand = params.pop("expand", None)
    echo = _take_endive_parameters(
        params, PAYMENT_INTENT_ECHOED, PAYMENT_INTENT_IGNORED
    )
    intent = _retrieve(PaymentIntent, request.match_info["id"])
    if "amount" in params:
        params["amount"] = integer(params["amount"], "amount")
    if params:
        intent._update(**params)
    ledger.remember(intent, echo)
    return intent._export(expand=expand)


def confirm_payment_intent(request, params):
    """Confirm, also with ``payment_method`` (localstripe: 500) and
    ``off_session`` (localstripe: 400)."""
    expand = params.pop("expand", None)
    flexible.check_options(params)
    echo = _take_endive_parameters(
        params, PAYMENT_INTENT_ECHOED, PAYMENT_INTENT_IGNORED + ("off_session",)
    )
    intent = _retrieve(PaymentIntent, request.match_info["id"])
    if "payment_method" in params:
        method = PaymentMethod._api_retrieve(params.pop("payment_method"))
        if intent.status == "requires_payment_method":
            intent.latest_charge = None  # a new attempt gets a new charge
        intent.payment_method = method.id
    unknown_parameters(params)
    if intent.status != "requires_confirmation":
        raise _unexpected_state(
            intent, "confirmed", ("requires_payment_method", "requires_confirmation")
        )
    ledger.remember(intent, echo)
    _confirm(intent)
    return intent._export(expand=expand)


def cancel_payment_intent(request, params):
    expand = params.pop("expand", None)
    reason = one_of(
        params.pop("cancellation_reason", None),
        CANCELLATION_REASONS,
        "cancellation_reason",
    )
    unknown_parameters(params)
    intent = _retrieve(PaymentIntent, request.match_info["id"])
    cancellable = (
        "requires_payment_method",
        "requires_capture",
        "requires_confirmation",
        "requires_action",
    )
    if intent.status not in cancellable:
        raise _unexpected_state(intent, "canceled", cancellable)
    PaymentIntent._api_cancel(intent.id)
    ledger.remember(
        intent, {"cancellation_reason": reason, "canceled_at": int(time.time())}
    )
    return intent._export(expand=expand)


def capture_payment_intent(request, params):
    """Capture, refusing what Stripe refuses (capture after cancel...), and keep
    what a partial capture took (see :func:`.ledger.capture`)."""
    expand = params.pop("expand", None)
    intent = _retrieve(PaymentIntent, request.match_info["id"])
    if intent.status != "requires_capture":
        raise _unexpected_state(intent, "captured", ("requires_capture",))
    charge = intent.latest_charge
    amount = params.pop("amount_to_capture", charge.amount)
    amount = integer(amount, "amount_to_capture")
    unknown_parameters(params)
    if not 0 < amount <= charge.amount:
        raise StripeError(
            f"The amount to capture ({amount}) must be positive and at most the "
            f"amount capturable ({charge.amount}).",
            code="amount_too_large",
            param="amount_to_capture",
        )
    ledger.capture(charge, amount, on_success=intent._on_success)
    return intent._export(expand=expand)


def increment_authorization(request, params):
    """Raise the amount of a hold (see :mod:`.flexible`)."""
    return flexible.increment_authorization(
        request,
        params,
        lambda intent_id: _retrieve(PaymentIntent, intent_id),
        _unexpected_state,
    )


def list_payment_intents(request, params):
    customer = params.get("customer")
    return list_answer(
        "/v1/payment_intents",
        ledger.stored_of_kind(PaymentIntent.object),
        params,
        lambda intent: customer is None or intent.customer == customer,
    )


# === SETUP INTENTS === #


def create_setup_intent(request, params):
    """Create; ``payment_method`` and ``confirm=true`` work as on Stripe."""
    expand = params.pop("expand", None)
    echo = _take_endive_parameters(params, SETUP_INTENT_ECHOED, SETUP_INTENT_IGNORED)
    method = params.pop("payment_method", None)
    confirm = params.pop("confirm", "false") in (True, "true")
    intent = SetupIntent._api_create(
        payment_method_types=echo.get("payment_method_types", ["card"]), **params
    )
    ledger.remember(intent, echo)
    if method and confirm:
        SetupIntent._api_confirm(intent.id, payment_method=method)
    elif method:
        intent.payment_method = PaymentMethod._api_retrieve(method).id
        intent.status = "requires_confirmation"
    return intent._export(expand=expand)


def update_setup_intent(request, params):
    expand = params.pop("expand", None)
    echo = _take_endive_parameters(params, SETUP_INTENT_ECHOED, SETUP_INTENT_IGNORED)
    intent = _retrieve(SetupIntent, request.match_info["id"])
    if params:
        intent._update(**params)
    ledger.remember(intent, echo)
    return intent._export(expand=expand)


def confirm_setup_intent(request, params):
    """Confirm an open SetupIntent only. A declined card leaves it in
    ``requires_payment_method`` with ``last_setup_error``, ready for another card,
    as on Stripe (localstripe: ``canceled``, and any status may be confirmed)."""
    expand = params.pop("expand", None)
    params.pop("return_url", None)
    intent = _retrieve(SetupIntent, request.match_info["id"])
    if intent.status not in SETUP_INTENT_OPEN:
        raise _unexpected_state(intent, "confirmed", SETUP_INTENT_OPEN)
    try:
        SetupIntent._api_confirm(intent.id, **params)
    except UserError as error:
        if error.code != 402:
            raise
        ledger.remember(
            intent,
            {"last_setup_error": {**error.body["error"], "type": "card_error"}},
        )
        intent.status = "requires_payment_method"
        intent.payment_method = None
        raise
    ledger.remember(intent, {"last_setup_error": None})
    return intent._export(expand=expand)


def cancel_setup_intent(request, params):
    """Cancel an open SetupIntent only (localstripe: any status)."""
    expand = params.pop("expand", None)
    reason = one_of(
        params.pop("cancellation_reason", None),
        SETUP_CANCELLATION_REASONS,
        "cancellation_reason",
    )
    intent = _retrieve(SetupIntent, request.match_info["id"])
    if intent.status not in SETUP_INTENT_OPEN:
        raise _unexpected_state(intent, "canceled", SETUP_INTENT_OPEN)
    SetupIntent._api_cancel(intent.id, **params)
    ledger.remember(intent, {"cancellation_reason": reason})
    return intent._export(expand=expand)


# === CHARGES AND REFUNDS === #


def list_charges(request, params):
    wanted = {
        name: params[name] for name in ("customer", "payment_intent") if name in params
    }
    return list_answer(
        "/v1/charges",
        ledger.stored_of_kind(Charge.object),
        params,
        lambda charge: all(getattr(charge, k) == v for k, v in wanted.items()),
    )


def _refunded_charge(params):
    """The Charge a refund request is about, checked to be refundable."""
    if "payment_intent" in params:
        intent = _retrieve(PaymentIntent, params["payment_intent"])
        charge = intent.latest_charge
        if charge is None or charge.status != "succeeded":
            raise StripeError(
                f"This PaymentIntent ({intent.id}) does not have a successful "
                "charge to refund.",
                code="charge_not_refundable",
                param="payment_intent",
            )
    else:
        charge = _retrieve(Charge, params.get("charge"))
    if ledger.captured_amount(charge) == 0:
        raise StripeError(
            f"Charge {charge.id} has not been captured: it cannot be refunded. "
            "Cancel the PaymentIntent to release the authorization instead.",
            code="charge_not_refundable",
        )
    return charge


def create_refund(request, params):
    """Create, bounded by what the charge captured minus what was refunded."""
    expand = params.pop("expand", None)
    echo = pop_remembered(params, ("description", "instructions_email", "reason"))
    one_of(echo.get("reason"), REFUND_REASONS, "reason")
    charge = _refunded_charge(params)
    remaining = ledger.captured_amount(charge) - ledger.refunded_amount(charge)
    if remaining <= 0:
        raise StripeError(
            f"Charge {charge.id} has already been refunded.",
            code="charge_already_refunded",
        )
    amount = integer(params.get("amount", remaining), "amount")
    if amount > remaining:
        raise StripeError(
            f"Refund amount ({amount}) is greater than unrefunded amount on charge "
            f"({remaining})",
            code="amount_too_large",
            param="amount",
        )
    refund = Refund._api_create(**{**params, "amount": amount})
    ledger.remember(refund, echo)
    return refund._export(expand=expand)


def list_refunds(request, params):
    """List real refunds only (not localstripe's synthetic partial-capture one)."""
    real = {
        refund.id
        for charge in ledger.stored_of_kind(Charge.object)
        for refund in ledger.refunds(charge)
        if params.get("charge", charge.id) == charge.id
        and params.get("payment_intent", charge.payment_intent) == charge.payment_intent
    }
    return list_answer(
        "/v1/refunds",
        ledger.stored_of_kind(Refund.object),
        params,
        lambda refund: refund.id in real,
    )


def retrieve_refund(request, params):
    refund = _retrieve(Refund, request.match_info["id"])
    if getattr(refund, ledger.RELEASED, False):
        raise no_such("refund", refund.id)
    return refund._export(expand=params.get("expand"))


ROUTES = (
    ("POST", "/v1/payment_intents", create_payment_intent),
    ("GET", "/v1/payment_intents", list_payment_intents),
    ("POST", "/v1/payment_intents/{id}", update_payment_intent),
    ("POST", "/v1/payment_intents/{id}/confirm", confirm_payment_intent),
    ("POST", "/v1/payment_intents/{id}/cancel", cancel_payment_intent),
    ("POST", "/v1/payment_intents/{id}/capture", capture_payment_intent),
    (
        "POST",
        "/v1/payment_intents/{id}/increment_authorization",
        increment_authorization,
    ),
    ("POST", "/v1/setup_intents", create_setup_intent),
    ("POST", "/v1/setup_intents/{id}", update_setup_intent),
    ("POST", "/v1/setup_intents/{id}/confirm", confirm_setup_intent),
    ("POST", "/v1/setup_intents/{id}/cancel", cancel_setup_intent),
    ("GET", "/v1/charges", list_charges),
    ("POST", "/v1/refunds", create_refund),
    ("GET", "/v1/refunds", list_refunds),
    ("GET", "/v1/refunds/{id}", retrieve_refund),
)
