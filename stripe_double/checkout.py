"""Checkout Sessions (mode ``payment``) and a stand-in for Stripe's hosted page.

localstripe has no Checkout. A session is stored in localstripe's store (so it is
pickled and flushed with it). Its ``url`` points at ``/checkout/pay/<id>`` on the
double: a tiny page with the amount and two buttons. "Pay" creates and confirms a
PaymentIntent with a 4242 test card, completes the session, emits
``checkout.session.completed`` through localstripe's events and webhooks and
redirects to ``success_url``; "Cancel" redirects to ``cancel_url``. Tests can POST
to the same two routes instead of clicking.
"""

import html
import time

from aiohttp import web
from localstripe.resources import (
    Event,
    PaymentIntent,
    PaymentMethod,
    StripeObject,
    schedule_webhook,
)

from . import ledger
from .errors import (
    StripeError,
    no_such,
    refuse_payment_method_types,
    unknown_parameters,
)
from .params import integer, list_answer, one_of, payment_method_types

CREATE_PARAMETERS = {
    "allowed_payment_method_types",
    "cancel_url",
    "client_reference_id",
    "customer_email",
    "excluded_payment_method_types",
    "expand",
    "expires_at",
    "line_items",
    "locale",
    "metadata",
    "mode",
    "payment_intent_data",
    "success_url",
}
PAYMENT_INTENT_DATA = {"capture_method", "description", "metadata"}
MIN_LIFETIME, MAX_LIFETIME = 30 * 60, 24 * 3600
ZERO_DECIMAL = {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf"}
ZERO_DECIMAL |= {"ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
TEST_CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034}


class CheckoutSession(StripeObject):
    """A ``checkout.session`` in localstripe's store; its fields are attributes."""

    object = "checkout.session"
    _id_prefix = "cs_test_"

    def __init__(self, fields):
        super().__init__()
        vars(self).update(fields)


# === API === #


def _line_item_amount(item, index):
    where = f"line_items[{index}]"
    if "price" in item:
        raise StripeError(
            "The Stripe double has no Prices: use price_data.", param=f"{where}[price]"
        )
    price = item.get("price_data") or {}
    if not price.get("currency") or "unit_amount" not in price:
        raise StripeError(
            "Missing required param: price_data[currency] or [unit_amount].",
            param=f"{where}[price_data]",
        )
    if not (price.get("product_data") or {}).get("name"):
        raise StripeError(
            "Missing required param: product_data[name].",
            param=f"{where}[price_data][product_data][name]",
        )
    quantity = integer(item.get("quantity", 1), f"{where}[quantity]")
    unit_amount = integer(price["unit_amount"], f"{where}[price_data][unit_amount]")
    return price["currency"].lower(), unit_amount * quantity


def _amount(line_items):
    """``(currency, total)`` of the line items, all in one currency."""
    if not isinstance(line_items, list) or not line_items:
        raise StripeError("Missing required param: line_items.", param="line_items")
    amounts = [_line_item_amount(item, i) for i, item in enumerate(line_items)]
    currencies = {currency for currency, _ in amounts}
    if len(currencies) != 1:
        raise StripeError("All line items must use the same currency.")
    return currencies.pop(), sum(amount for _, amount in amounts)


def _expires_at(params, now):
    expires_at = integer(params.get("expires_at", now + MAX_LIFETIME), "expires_at")
    if not MIN_LIFETIME <= expires_at - now <= MAX_LIFETIME:
        raise StripeError(
            "The `expires_at` timestamp must be between 30 minutes and 24 hours "
            "from Checkout Session creation.",
            param="expires_at",
        )
    return expires_at


def _payment_intent_data(params):
    data = params.get("payment_intent_data") or {}
    unknown = set(data) - PAYMENT_INTENT_DATA
    unknown_parameters({f"payment_intent_data[{name}]" for name in unknown})
    return data


def create_session(request, params):
    refuse_payment_method_types(params)
    unknown_parameters(set(params) - CREATE_PARAMETERS)
    if params.get("mode") is None:
        raise StripeError("Missing required param: mode.", param="mode")
    one_of(params["mode"], ("payment",), "mode")
    if not params.get("success_url"):
        raise StripeError(
            "The Stripe double needs success_url (hosted page only).",
            param="success_url",
        )
    currency, amount = _amount(params.get("line_items"))
    allowed = params.get("allowed_payment_method_types")
    excluded = params.get("excluded_payment_method_types")
    now = int(time.time())
    session = CheckoutSession(
        {
            "mode": "payment",
            "ui_mode": "hosted",
            "status": "open",
            "payment_status": "unpaid",
            "amount_subtotal": amount,
            "amount_total": amount,
            "currency": currency,
            "metadata": params.get("metadata", {}),
            "client_reference_id": params.get("client_reference_id"),
            "customer": None,
            "customer_email": params.get("customer_email"),
            "payment_intent": None,
            "success_url": params["success_url"],
            "cancel_url": params.get("cancel_url"),
            "expires_at": _expires_at(params, now),
            "locale": params.get("locale"),
            "allowed_payment_method_types": allowed,
            "excluded_payment_method_types": excluded,
            "payment_method_types": payment_method_types(allowed, excluded),
            "_payment_intent_data": _payment_intent_data(params),
        }
    )
    session.url = f"{request.scheme}://{request.host}/checkout/pay/{session.id}"
    return session._export(expand=params.get("expand"))


def _expire(session):
    session.status = "expired"
    session.url = None
    schedule_webhook(Event("checkout.session.expired", session))


def _session(session_id):
    """The stored session, expired first if its ``expires_at`` has passed."""
    session = ledger.stored(CheckoutSession.object, session_id)
    if session is None:
        raise no_such("checkout.session", session_id)
    if session.status == "open" and session.expires_at <= time.time():
        _expire(session)
    return session


def retrieve_session(request, params):
    session = _session(request.match_info["id"])
    return session._export(expand=params.get("expand"))


def expire_session(request, params):
    session = _session(request.match_info["id"])
    if session.status != "open":
        raise StripeError(
            'Only Checkout Sessions with a status in ["open"] can be expired. '
            f'This Checkout Session has a status of "{session.status}".',
            code="checkout_session_unexpected_state",
        )
    _expire(session)
    return session._export(expand=params.get("expand"))


def list_sessions(request, params):
    intent = params.get("payment_intent")
    return list_answer(
        "/v1/checkout/sessions",
        ledger.stored_of_kind(CheckoutSession.object),
        params,
        lambda session: intent is None or session.payment_intent == intent,
    )


ROUTES = (
    ("POST", "/v1/checkout/sessions", create_session),
    ("GET", "/v1/checkout/sessions", list_sessions),
    ("GET", "/v1/checkout/sessions/{id}", retrieve_session),
    ("POST", "/v1/checkout/sessions/{id}/expire", expire_session),
)


# === HOSTED PAGE === #


def _money(amount, currency):
    if currency in ZERO_DECIMAL:
        return f"{amount} {currency.upper()}"
    return f"{amount / 100:.2f} {currency.upper()}"


PAGE = """<!DOCTYPE html>
<html lang="{lang}">
<head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<main>
<h1>{title}</h1>
<p>Stripe double: stand-in for the Stripe-hosted Checkout page.</p>
<p>Amount: <strong id="amount">{amount}</strong></p>
{actions}
</main>
</body>
</html>
"""
ACTIONS = """<form method="post" action="/checkout/pay/{id}/complete">
<button type="submit" id="pay">Pay {amount}</button></form>
<form method="post" action="/checkout/pay/{id}/cancel">
<button type="submit" id="cancel">Cancel and go back</button></form>"""


async def hosted_page(request):
    session = _session(request.match_info["id"])
    amount = html.escape(_money(session.amount_total, session.currency))
    if session.status == "open":
        title = "Pay with the Stripe double"
        actions = ACTIONS.format(id=html.escape(session.id), amount=amount)
    else:
        title = f"This Checkout Session is {html.escape(session.status)}"
        actions = ""
    text = PAGE.format(
        lang=html.escape(session.locale or "en"),
        title=title,
        amount=amount,
        actions=actions,
    )
    return web.Response(text=text, content_type="text/html")


def _open_session(request):
    session = _session(request.match_info["id"])
    if session.status != "open":
        raise StripeError(
            f"This Checkout Session is {session.status}.",
            code="checkout_session_unexpected_state",
        )
    return session


def _pay(session):
    """Pay ``session`` with a 4242 test card; the PaymentIntent succeeds (or is
    ``requires_capture`` with ``payment_intent_data[capture_method]=manual``)."""
    data = session._payment_intent_data
    card = PaymentMethod(type="card", card={**TEST_CARD, "cvc": "123"})
    intent = PaymentIntent(
        amount=session.amount_total,
        currency=session.currency,
        payment_method=card.id,
        metadata=dict(data.get("metadata") or {}),
        capture_method=data.get("capture_method"),
    )
    echo = {"payment_method_types": session.payment_method_types}
    if "description" in data:
        echo["description"] = data["description"]
    ledger.remember(intent, echo)
    intent._confirm(on_failure_now=intent._report_failure)
    return intent


async def complete(request):
    session = _open_session(request)
    session.payment_intent = _pay(session).id
    session.status = "complete"
    session.payment_status = "paid"
    session.url = None
    schedule_webhook(Event("checkout.session.completed", session))
    target = session.success_url.replace("{CHECKOUT_SESSION_ID}", session.id)
    raise web.HTTPSeeOther(target)


async def cancel(request):
    session = _open_session(request)
    target = session.cancel_url or f"/checkout/pay/{session.id}"
    raise web.HTTPSeeOther(target.replace("{CHECKOUT_SESSION_ID}", session.id))


PAGE_ROUTES = (
    ("GET", "/checkout/pay/{id}", hosted_page),
    ("POST", "/checkout/pay/{id}/complete", complete),
    ("POST", "/checkout/pay/{id}/cancel", cancel),
)
