"""The fault point: network and server faults a test asks for, per request.

A test registers faults with ``POST /_config/faults`` (no auth, JSON body or
form fields): each one names the ``kind``, the request ``method`` and ``path``
it hits (``fnmatch`` pattern: ``/v1/payment_intents``,
``/v1/payment_intents/*/capture``) and which of the matching requests it hits
(``nth``, 1 = the next one; ``times`` in a row from there). A fault is used up
once it has hit. Kinds:

* ``lose_answer``: the request is applied, then the connection is closed
  without an answer (the client sees a connection error);
* ``reset``: the connection is closed before anything is applied;
* ``http_500``: a Stripe ``api_error`` with status 500, nothing applied;
* ``http_429``: a Stripe ``rate_limit`` error with status 429 and a
  ``Retry-After`` header (``retry_after`` seconds, default 1), nothing applied;
* ``slow``: the answer comes after ``delay`` seconds (default 5): the request
  is applied and answered then, whether the client still waits or not.

``GET /_config/faults`` lists the faults still armed and those that hit;
``DELETE /_config/faults`` and ``DELETE /_config/data`` drop them all.
"""

import asyncio
import fnmatch

from aiohttp import web
from localstripe import server

from .errors import StripeError

FAULTS = web.AppKey("faults", list)
FIRED = web.AppKey("faults_fired", list)
KINDS = ("lose_answer", "reset", "http_500", "http_429", "slow")
CONFIG_PATH = "/_config/faults"


def _positive_int(value, name, default):
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1:
        raise StripeError(f"{name} must be a positive integer", param=name)
    return number


def _parse(values):
    kind = values.get("kind")
    if kind not in KINDS:
        raise StripeError(f"kind must be one of {', '.join(KINDS)}", param="kind")
    path = values.get("path")
    if not path or not str(path).startswith("/"):
        raise StripeError("path must be a path pattern such as /v1/*", param="path")
    fault = {
        "kind": kind,
        "method": str(values.get("method") or "*").upper(),
        "path": str(path),
        "skip": _positive_int(values.get("nth"), "nth", 1) - 1,
        "times": _positive_int(values.get("times"), "times", 1),
    }
    if kind == "http_429":
        fault["retry_after"] = _positive_int(
            values.get("retry_after"), "retry_after", 1
        )
    if kind == "slow":
        try:
            fault["delay"] = float(values.get("delay") or 5)
        except (TypeError, ValueError):
            raise StripeError("delay must be a number", param="delay") from None
    return fault


async def register(request):
    if request.content_type == "application/json":
        values = await request.json()
    else:
        values = dict(await server.get_post_data(request) or {})
    try:
        fault = _parse(values)
    except StripeError as error:
        return error.to_response()
    request.app[FAULTS].append(fault)
    return web.json_response(fault)


async def listing(request):
    return web.json_response(
        {"armed": request.app[FAULTS], "fired": request.app[FIRED]}
    )


async def clear(request):
    clear_all(request.app)
    return web.json_response({"armed": []})


def clear_all(app):
    app[FAULTS].clear()
    app[FIRED].clear()


def _take(request):
    """The fault that hits this request, if any (used up as it hits)."""
    faults = request.app[FAULTS]
    for fault in faults:
        if fault["method"] not in ("*", request.method) or not fnmatch.fnmatchcase(
            request.path, fault["path"]
        ):
            continue
        if fault["skip"]:
            fault["skip"] -= 1
            continue
        fault["times"] -= 1
        if not fault["times"]:
            faults.remove(fault)
        request.app[FIRED].append(
            {"kind": fault["kind"], "method": request.method, "path": request.path}
        )
        return fault
    return None


def _drop_connection(request):
    """Close the connection without an answer; aiohttp writes nothing more."""
    if request.transport is not None:
        request.transport.abort()
    raise asyncio.CancelledError()


def _error(status, message, error_type, code=None, headers=None):
    response = StripeError(
        message, status=status, code=code, error_type=error_type
    ).to_response()
    response.headers.update(headers or {})
    return response


async def _late(request, handler, delay):
    await request.read()  # Kept by aiohttp for the handler: it may be gone later.
    await asyncio.sleep(delay)
    return await handler(request)


@web.middleware
async def fault_middleware(request, handler):
    if request.path.startswith("/_config/"):
        return await handler(request)
    fault = _take(request)
    if fault is None:
        return await handler(request)
    kind = fault["kind"]
    if kind == "reset":
        _drop_connection(request)
    if kind == "http_500":
        return _error(500, "An unknown error occurred (injected fault).", "api_error")
    if kind == "http_429":
        return _error(
            429,
            "Too many requests hit the API too quickly (injected fault).",
            "invalid_request_error",
            code="rate_limit",
            headers={"Retry-After": str(fault["retry_after"])},
        )
    if kind == "slow":
        # Shielded: the request is applied even when the client stopped waiting
        # (aiohttp cancels the handler of a closed connection), as on Stripe.
        return await asyncio.shield(_late(request, handler, fault["delay"]))
    # lose_answer: apply the request fully (idempotency key recorded), then drop.
    response = await handler(request)
    if hasattr(response, "prepare") and not response.prepared:
        _drop_connection(request)
    return response


def install(app):
    app[FAULTS] = []
    app[FIRED] = []
    app.router.add_post(CONFIG_PATH, register)
    app.router.add_get(CONFIG_PATH, listing)
    app.router.add_delete(CONFIG_PATH, clear)
    app.middlewares.insert(0, fault_middleware)
