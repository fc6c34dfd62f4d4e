"""The adapter plugged into localstripe's aiohttp application.

:func:`install` adds to ``localstripe.server.app``, before it is started:

* routes for what localstripe lacks (account, webhook endpoints, Checkout, the
  hosted-page stand-in);
* Stripe.js as a page expects it (:mod:`.stripe_js`);
* the fault point (:mod:`.faults`), outermost: network and server faults that
  tests ask for, per request;
* a middleware, innermost (after localstripe's auth), that for ``/v1/`` requests:

  * honours ``Idempotency-Key`` (replay, or ``idempotency_error``);
  * answers the operations the adapter takes over (:data:`API_ROUTES`) itself, with
    localstripe's resource classes; the others go to localstripe untouched;
  * shapes every JSON answer for the pinned API version (:mod:`.shapes`).

localstripe's auth still applies, except to the hosted page (``/checkout/pay/``),
which a browser opens without a key.
"""

import copy
import hashlib
import json

from aiohttp import web
from localstripe import server
from localstripe.errors import UserError

from . import (
    DEFAULT_ACCOUNT_ID,
    account,
    checkout,
    faults,
    flexible,
    payments,
    shapes,
    stripe_js,
)
from .errors import StripeError

API_ROUTES = payments.ROUTES + account.ROUTES + checkout.ROUTES
OVERRIDES = web.AppKey("overrides", dict)
IDEMPOTENCY = web.AppKey("idempotency", dict)
AUTH_FREE_PREFIX = "/checkout/pay/"


async def read_params(request):
    """The request's parameters, decoded as localstripe decodes them."""
    if request.method == "POST":
        return dict(await server.get_post_data(request) or {})
    return server.unflatten_data(request.query)


def _expand(params):
    expand = params.get("expand") or []
    return [expand] if isinstance(expand, str) else expand


def _endpoint(function):
    """An aiohttp handler for an adapter operation on a route localstripe lacks."""

    async def endpoint(request):
        return server.json_response(function(request, await read_params(request)))

    return endpoint


def _route_of(request):
    resource = getattr(request.match_info.route, "resource", None)
    return request.method, resource and resource.canonical


async def _answer(request, params, handler):
    """Answer with the adapter's operation or localstripe's, shaped."""
    override = request.app[OVERRIDES].get(_route_of(request))
    try:
        if override:
            payload = override(request, copy.deepcopy(params))
        else:
            response = await handler(request)
            if response.status != 200 or response.content_type != "application/json":
                return response
            payload = json.loads(response.body)
    except UserError as error:
        return error.to_response()
    return server.json_response(shapes.shape(payload, _expand(params)))


def _fingerprint(request, params):
    text = json.dumps([request.method, request.path, params], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _mismatch(key):
    return StripeError(
        "Keys for idempotent requests can only be used with the same parameters "
        "they were first used with. Try using a key other than "
        f"'{key}' if you meant to execute a different request.",
        error_type="idempotency_error",
    ).to_response()


async def _idempotent(request, params, handler, key):
    """Answer once per (API key, Idempotency-Key); replay afterwards.

    As on Stripe, only requests that ran are saved: successes and card errors
    (402), not parameter errors (400) or server errors.
    """
    cache = request.app[IDEMPOTENCY]
    scope = (server.get_api_key(request), key)
    fingerprint = _fingerprint(request, params)
    if scope in cache:
        saved_fingerprint, status, body = cache[scope]
        if saved_fingerprint != fingerprint:
            return _mismatch(key)
        headers = {"Idempotent-Replayed": "true", "Idempotency-Key": key}
        return web.Response(
            body=body, status=status, content_type="application/json", headers=headers
        )
    response = await _answer(request, params, handler)
    if response.status < 400 or response.status == 402:
        cache[scope] = (fingerprint, response.status, response.body)
    response.headers["Idempotency-Key"] = key
    return response


@web.middleware
async def endive_middleware(request, handler):
    if request.method == "DELETE" and request.path == "/_config/data":
        response = await handler(request)
        request.app[IDEMPOTENCY].clear()
        faults.clear_all(request.app)
        flexible.restore()
        return response
    if not request.path.startswith("/v1/"):
        return await handler(request)
    params = await read_params(request)
    key = request.headers.get("Idempotency-Key")
    if request.method == "POST" and key:
        return await _idempotent(request, params, handler, key)
    return await _answer(request, params, handler)


def _auth_except_hosted_page(auth):
    @web.middleware
    async def middleware(request, handler):
        if request.path.startswith(AUTH_FREE_PREFIX):
            return await handler(request)
        return await auth(request, handler)

    return middleware


def install(app=server.app, account_id=DEFAULT_ACCOUNT_ID):
    """Plug the adapter into localstripe's ``app`` (not started yet)."""
    shapes.install_event_shape()
    app[account.ACCOUNT_ID] = account_id
    app[account.ENDPOINTS] = {}
    app[IDEMPOTENCY] = {}
    existing = {(r.method, r.resource.canonical) for r in app.router.routes()}
    for method, path, function in API_ROUTES:
        if (method, path) not in existing:
            app.router.add_route(method, path, _endpoint(function))
    app[OVERRIDES] = {
        (method, path): function
        for method, path, function in API_ROUTES
        if (method, path) in existing
    }
    for method, path, function in checkout.PAGE_ROUTES:
        app.router.add_route(method, path, function)
    auth = app.middlewares.index(server.auth_middleware)
    app.middlewares[auth] = _auth_except_hosted_page(server.auth_middleware)
    app.middlewares.append(endive_middleware)
    app.middlewares.insert(0, stripe_js.serve)
    flexible.install(app)
    faults.install(app)
