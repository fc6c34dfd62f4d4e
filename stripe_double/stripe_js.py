"""Stripe.js stand-in: localstripe's mock, served to behave in a page as Stripe.js does.

localstripe's ``localstripe-v3.js`` differs from Stripe.js in two ways a page notices:

* it declares top-level globals (``class Element``, ``openModal``...). ``Element``
  shadows the DOM's own for every other script of the page, and breaks Odoo's Owl
  components. Served here inside a function scope, it only sets ``window.Stripe``;
* it calls the card element's ``change`` listeners without an event. Here they get
  one with ``complete``, ``empty``, ``brand`` and ``error``, as Stripe.js gives.
"""

import functools
from pathlib import Path

import localstripe
from aiohttp import web

PATH = "/js.stripe.com/v3/"
_CHANGE_CALL = "forEach(handler => handler());"
_CHANGE_EVENT = (
    "forEach(handler => handler({"
    "complete: Boolean(this.value.card.number && this.value.card.exp_month"
    " && this.value.card.exp_year.length > 2 && this.value.card.cvc),"
    " empty: !(this.value.card.number || this.value.card.exp_month"
    " || this.value.card.cvc),"
    " brand: 'unknown', error: undefined}));"
)


@functools.cache
def source():
    """The mock's source, scoped and with change events."""
    mock = (Path(localstripe.__file__).parent / "localstripe-v3.js").read_text()
    if _CHANGE_CALL not in mock:
        raise RuntimeError(
            "localstripe's Stripe.js mock changed: stripe_double/stripe_js.py no "
            "longer knows where its card element calls its change listeners."
        )
    return "(function () {\n" + mock.replace(_CHANGE_CALL, _CHANGE_EVENT) + "\n})();\n"


@web.middleware
async def serve(request, handler):
    """Answer localstripe's Stripe.js route with the stand-in."""
    if request.method == "GET" and request.path == PATH:
        return web.Response(text=source(), content_type="application/javascript")
    return await handler(request)
