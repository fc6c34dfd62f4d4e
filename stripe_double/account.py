"""The account and its webhook endpoints (localstripe has neither).

Webhook endpoints are registered in localstripe's own webhook machinery
(:func:`localstripe.webhooks.register_webhook`), so every event localstripe or the
adapter emits is signed with the endpoint's secret and delivered. Like localstripe's
``/_config/webhooks``, they live in memory and survive ``DELETE /_config/data``.
"""

import time

from aiohttp import web
from localstripe import webhooks
from localstripe.resources import random_id

from .errors import StripeError, no_such, unknown_parameters
from .params import coerce

ACCOUNT_ID = web.AppKey("account_id", str)
ENDPOINTS = web.AppKey("webhook_endpoints", dict)
STARTED = int(time.time())
CREATE_PARAMETERS = {
    "api_version",
    "description",
    "enabled_events",
    "expand",
    "metadata",
    "url",
}
UPDATE_PARAMETERS = {
    "description",
    "disabled",
    "enabled_events",
    "expand",
    "metadata",
    "url",
}


def retrieve_account(request, params):
    return {
        "id": request.app[ACCOUNT_ID],
        "object": "account",
        "business_profile": {"name": "Stripe double", "url": None},
        "business_type": "company",
        "capabilities": {"card_payments": "active", "transfers": "active"},
        "charges_enabled": True,
        "country": "BE",
        "created": STARTED,
        "default_currency": "eur",
        "details_submitted": True,
        "email": "stripe-double@example.com",
        "metadata": {},
        "payouts_enabled": True,
        "type": "standard",
    }


# === WEBHOOK ENDPOINTS === #


def _url(params):
    url = params.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise StripeError("Invalid URL: must be an http or https URL.", param="url")
    return url


def _events(params):
    events = params.get("enabled_events")
    if not isinstance(events, list) or not events:
        raise StripeError(
            "Missing required param: enabled_events.", param="enabled_events"
        )
    return events


def _register(endpoint, secret):
    """Hand ``endpoint`` to localstripe's webhook sender (or withdraw it)."""
    if endpoint["status"] != "enabled":
        webhooks._webhooks.pop(endpoint["id"], None)
        return
    events = endpoint["enabled_events"]
    webhooks.register_webhook(
        endpoint["id"], endpoint["url"], secret, None if events == ["*"] else events
    )


def _endpoint(request):
    endpoint_id = request.match_info["id"]
    if endpoint_id not in request.app[ENDPOINTS]:
        raise no_such("webhook endpoint", endpoint_id)
    return request.app[ENDPOINTS][endpoint_id]


def _public(stored):
    return {key: value for key, value in stored.items() if key != "secret"}


def create_webhook_endpoint(request, params):
    unknown_parameters(set(params) - CREATE_PARAMETERS)
    endpoint = {
        "id": "we_" + random_id(24),
        "object": "webhook_endpoint",
        "api_version": params.get("api_version"),
        "application": None,
        "created": int(time.time()),
        "description": params.get("description"),
        "enabled_events": _events(params),
        "livemode": False,
        "metadata": params.get("metadata", {}),
        "secret": "whsec_" + random_id(32),
        "status": "enabled",
        "url": _url(params),
    }
    request.app[ENDPOINTS][endpoint["id"]] = endpoint
    _register(endpoint, endpoint["secret"])
    return dict(endpoint)  # the only answer with the secret


def retrieve_webhook_endpoint(request, params):
    return _public(_endpoint(request))


def update_webhook_endpoint(request, params):
    unknown_parameters(set(params) - UPDATE_PARAMETERS)
    endpoint = _endpoint(request)
    if "url" in params:
        endpoint["url"] = _url(params)
    if "enabled_events" in params:
        endpoint["enabled_events"] = _events(params)
    if "disabled" in params:
        endpoint["status"] = "disabled" if coerce(params["disabled"]) else "enabled"
    if "description" in params:
        endpoint["description"] = params["description"]
    endpoint["metadata"].update(params.get("metadata", {}))
    _register(endpoint, endpoint["secret"])
    return _public(endpoint)


def delete_webhook_endpoint(request, params):
    endpoint = _endpoint(request)
    del request.app[ENDPOINTS][endpoint["id"]]
    webhooks._webhooks.pop(endpoint["id"], None)
    return {"id": endpoint["id"], "object": "webhook_endpoint", "deleted": True}


def list_webhook_endpoints(request, params):
    endpoints = [_public(e) for e in reversed(request.app[ENDPOINTS].values())]
    return {
        "object": "list",
        "url": "/v1/webhook_endpoints",
        "has_more": False,
        "data": endpoints,
    }


ROUTES = (
    ("GET", "/v1/account", retrieve_account),
    ("POST", "/v1/webhook_endpoints", create_webhook_endpoint),
    ("GET", "/v1/webhook_endpoints", list_webhook_endpoints),
    ("GET", "/v1/webhook_endpoints/{id}", retrieve_webhook_endpoint),
    ("POST", "/v1/webhook_endpoints/{id}", update_webhook_endpoint),
    ("DELETE", "/v1/webhook_endpoints/{id}", delete_webhook_endpoint),
)
