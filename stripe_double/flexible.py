"""Flexible acquiring on card holds: extended and incremental authorization.

localstripe knows neither. A manual-capture PaymentIntent confirmed with
``payment_method_options[card][request_extended_authorization]`` or
``[request_incremental_authorization]`` (``if_available`` or ``never``) gets, on its
Charge's ``payment_method_details.card``:

* ``capture_before``: authorization time + 7 days, or + 30 days when the extended
  authorization was requested and the card allows it;
* ``extended_authorization.status``: ``enabled`` or ``disabled``;
* ``incremental_authorization.status``: ``available`` or ``unavailable``.

``POST /v1/payment_intents/{id}/increment_authorization`` raises the amount of a
hold whose incremental authorization is ``available`` (at most 10 attempts, as on
Stripe), and answers the PaymentIntent.

What the "card" allows is a switch, so that tests reach the refusals:
``POST /_config/flexible_acquiring`` (no auth, JSON or form) with any of
``extended_authorization`` (``available`` or ``unavailable``),
``incremental_authorization`` (``available`` or ``unavailable``) and
``increments`` (``approve`` or ``decline``: the issuer declines increments with a
402 ``card_declined``, the hold unchanged). ``GET`` shows it; ``DELETE`` and
``DELETE /_config/data`` restore the defaults (everything available, approved).
"""

from aiohttp import web
from localstripe import server
from localstripe.resources import PaymentMethod

from . import ledger
from .errors import StripeError
from .params import integer, one_of

CONFIG_PATH = "/_config/flexible_acquiring"
DEFAULTS = {
    "extended_authorization": "available",
    "incremental_authorization": "available",
    "increments": "approve",
}
CHOICES = {
    "extended_authorization": ("available", "unavailable"),
    "incremental_authorization": ("available", "unavailable"),
    "increments": ("approve", "decline"),
}
REQUEST_CHOICES = ("if_available", "never")
DAY = 24 * 3600
STANDARD_VALIDITY = 7 * DAY
EXTENDED_VALIDITY = 30 * DAY
MAX_INCREMENTS = 10
#: On a Charge: its ``payment_method_details.card`` additions.
CARD_DETAILS = "_stripe_double_card_details"
#: On a Charge: the increment attempts made.
INCREMENTS = "_stripe_double_increments"

_switch = dict(DEFAULTS)


def _requested(intent, option):
    options = ledger.echo(intent).get("payment_method_options") or {}
    card = options.get("card") or {}
    return one_of(
        card.get(option), REQUEST_CHOICES, f"payment_method_options[card][{option}]"
    )


def check_options(params):
    """Refuse request options outside Stripe's enum (400, nothing created)."""
    card = (params.get("payment_method_options") or {}).get("card") or {}
    for option in (
        "request_extended_authorization",
        "request_incremental_authorization",
    ):
        one_of(
            card.get(option), REQUEST_CHOICES, f"payment_method_options[card][{option}]"
        )


def on_authorized(intent):
    """Record the hold's validity and flexible-acquiring statuses on its charge."""
    charge = intent.latest_charge
    if intent.capture_method != "manual" or charge is None:
        return
    if intent.status != "requires_capture" or hasattr(charge, CARD_DETAILS):
        return
    extended = (
        _requested(intent, "request_extended_authorization") == "if_available"
        and _switch["extended_authorization"] == "available"
    )
    incremental = (
        _requested(intent, "request_incremental_authorization") == "if_available"
        and _switch["incremental_authorization"] == "available"
    )
    validity = EXTENDED_VALIDITY if extended else STANDARD_VALIDITY
    setattr(
        charge,
        CARD_DETAILS,
        {
            "capture_before": int(charge.created) + validity,
            "extended_authorization": {"status": "enabled" if extended else "disabled"},
            "incremental_authorization": {
                "status": "available" if incremental else "unavailable"
            },
        },
    )


def payment_method_details(charge):
    """The ``payment_method_details`` of a card charge, or None."""
    method = PaymentMethod._api_retrieve(charge.payment_method)
    if method.type != "card":
        return None
    card = method.card
    details = {
        key: card[key]
        for key in ("brand", "country", "exp_month", "exp_year", "funding", "last4")
    }
    details.update(
        {
            "capture_before": None,
            "extended_authorization": None,
            "incremental_authorization": None,
        }
    )
    details.update(getattr(charge, CARD_DETAILS, {}))
    return {"type": "card", "card": details}


def increment_authorization(request, params, retrieve, unexpected_state):
    """``POST /v1/payment_intents/{id}/increment_authorization``."""
    expand = params.pop("expand", None)
    intent = retrieve(request.match_info["id"])
    if "amount" not in params:
        raise StripeError("Missing required param: amount.", param="amount")
    amount = integer(params.pop("amount"), "amount")
    echo = {
        key: params.pop(key)
        for key in ("description", "metadata", "statement_descriptor")
        if key in params
    }
    if params:
        name = sorted(params)[0]
        raise StripeError(
            f"Received unknown parameter: {name}", code="parameter_unknown", param=name
        )
    if intent.status != "requires_capture":
        raise unexpected_state(intent, "incremented", ("requires_capture",))
    charge = intent.latest_charge
    details = getattr(charge, CARD_DETAILS, {})
    status = (details.get("incremental_authorization") or {}).get("status")
    if status != "available":
        raise StripeError(
            "This PaymentIntent is not eligible for incremental authorization: "
            "request_incremental_authorization was not requested or is not "
            "available for this card.",
        )
    if amount <= intent.amount:
        raise StripeError(
            f"The amount ({amount}) must be greater than the currently authorized "
            f"amount ({intent.amount}).",
            param="amount",
        )
    attempts = getattr(charge, INCREMENTS, 0)
    if attempts >= MAX_INCREMENTS:
        raise StripeError(
            f"This PaymentIntent has reached the maximum of {MAX_INCREMENTS} "
            "incremental authorization attempts.",
        )
    setattr(charge, INCREMENTS, attempts + 1)
    if _switch["increments"] == "decline":
        raise StripeError(
            "Your card was declined.",
            status=402,
            code="card_declined",
            error_type="card_error",
        )
    intent.amount = amount
    charge.amount = amount
    if echo.get("metadata"):
        intent.metadata = {**(intent.metadata or {}), **echo.pop("metadata")}
    ledger.remember(intent, echo)
    return intent._export(expand=expand)


async def configure(request):
    if request.content_type == "application/json":
        values = await request.json()
    else:
        values = dict(await server.get_post_data(request) or {})
    try:
        for name, value in values.items():
            if name not in CHOICES:
                raise StripeError(f"Unknown switch {name}", param=name)
            _switch[name] = one_of(value, CHOICES[name], name)
    except StripeError as error:
        return error.to_response()
    return web.json_response(dict(_switch))


async def show(request):
    return web.json_response(dict(_switch))


def restore():
    """Back to the defaults (``DELETE /_config/data`` too)."""
    _switch.clear()
    _switch.update(DEFAULTS)


async def reset(request):
    restore()
    return web.json_response(dict(_switch))


def install(app):
    app.router.add_post(CONFIG_PATH, configure)
    app.router.add_get(CONFIG_PATH, show)
    app.router.add_delete(CONFIG_PATH, reset)
