"""Answers shaped like the pinned API version, as the SDK's resource classes say.

:func:`shape` rewrites a JSON answer of localstripe (or of the adapter) in place:

* fills the fields the pinned version has and localstripe lacks (``amount_received``,
  ``amount_capturable``, ``payment_method_types``...), from the remembered request
  parameters (:mod:`.ledger`) and from the stored objects;
* turns expandable fields that localstripe embeds (``latest_charge``) into ids
  unless the request's ``expand`` names them;
* drops every key that the SDK resource class of the object does not annotate
  (``charges`` on a PaymentIntent, ``date`` on a Refund...).
"""

import functools

from localstripe import resources, webhooks
from stripe import StripeObject
from stripe._object_classes import get_object_class

from . import API_VERSION, flexible, ledger

EXPANDABLE = {
    "payment_intent": ("customer", "latest_charge", "payment_method"),
    "charge": ("balance_transaction", "customer", "payment_intent"),
    "refund": ("balance_transaction", "charge", "payment_intent"),
    "setup_intent": ("customer", "payment_method"),
    "checkout.session": ("customer", "payment_intent"),
}

PAYMENT_INTENT_DEFAULTS = {
    "automatic_payment_methods": None,
    "canceled_at": None,
    "cancellation_reason": None,
    "confirmation_method": "automatic",
    "description": None,
    "payment_method_types": ["card"],
    "receipt_email": None,
    "setup_future_usage": None,
    "statement_descriptor": None,
    "statement_descriptor_suffix": None,
}

SETUP_INTENT_DEFAULTS = {
    "automatic_payment_methods": None,
    "cancellation_reason": None,
    "description": None,
    "last_setup_error": None,
}


@functools.cache
def sdk_fields(kind):
    """Names annotated on the SDK resource class of ``kind`` (None if unknown)."""
    cls = get_object_class("V1", kind)
    if cls is StripeObject:
        return None
    names = set()
    for klass in cls.__mro__:
        names.update(vars(klass).get("__annotations__", {}))
    return frozenset(n for n in names if not n.startswith("_") and n != "OBJECT_NAME")


def below(expand, field):
    """The expand paths under ``field`` (``latest_charge.x`` -> ``x``)."""
    prefix = field + "."
    return [path[len(prefix) :] for path in expand if path.startswith(prefix)]


def is_expanded(expand, field):
    return field in expand or bool(below(expand, field))


def _fix_payment_intent(answer, intent):
    charge = intent.latest_charge
    answer.update(PAYMENT_INTENT_DEFAULTS)
    answer.update(ledger.echo(intent))
    answer["amount_capturable"] = (
        intent.amount if answer["status"] == "requires_capture" else 0
    )
    answer["amount_received"] = ledger.captured_amount(charge) if charge else 0


def _fix_charge(answer, charge, expand):
    captured = ledger.captured_amount(charge)
    refunded = ledger.refunded_amount(charge)
    answer.update(ledger.echo(charge))
    intent = ledger.stored(resources.PaymentIntent.object, charge.payment_intent)
    if intent is not None:
        flexible.on_authorized(intent)
    answer["payment_method_details"] = flexible.payment_method_details(charge)
    answer["amount_captured"] = captured
    answer["amount_refunded"] = refunded
    answer["refunded"] = captured > 0 and refunded >= captured
    answer.pop("refunds", None)
    if "refunds" in expand:
        answer["refunds"] = {
            "object": "list",
            "url": f"/v1/charges/{charge.id}/refunds",
            "has_more": False,
            "data": [refund._export() for refund in ledger.refunds(charge)],
        }


def _fix_refund(answer, refund):
    charge = ledger.stored(resources.Charge.object, refund.charge)
    answer.update({"description": None, "reason": None})
    answer.update(ledger.echo(refund))
    answer["payment_intent"] = answer["payment_intent"] or charge.payment_intent


def _fix_setup_intent(answer, intent):
    answer.update(SETUP_INTENT_DEFAULTS)
    answer.update(ledger.echo(intent))


def _fix(answer, kind, expand):
    obj = ledger.stored(kind, answer.get("id"))
    if obj is None or answer.get("deleted"):
        return
    if kind == "payment_intent":
        _fix_payment_intent(answer, obj)
    elif kind == "charge":
        _fix_charge(answer, obj, expand)
    elif kind == "refund":
        _fix_refund(answer, obj)
    elif kind == "setup_intent":
        _fix_setup_intent(answer, obj)


def shape(answer, expand=None):
    """Shape ``answer`` (a JSON object or list) for the pinned API version."""
    expand = expand or []
    if isinstance(answer, list):
        return [shape(item, expand) for item in answer]
    if not isinstance(answer, dict):
        return answer
    kind = answer.get("object")
    if kind == "list":
        answer.pop("total_count", None)
        answer["data"] = shape(answer["data"], below(expand, "data"))
        return answer
    _fix(answer, kind, expand)
    for field in EXPANDABLE.get(kind, ()):
        value = answer.get(field)
        if isinstance(value, dict):
            answer[field] = (
                shape(value, below(expand, field))
                if is_expanded(expand, field)
                else value["id"]
            )
    fields = sdk_fields(kind) if kind else None
    if fields is None:
        return answer
    return {key: value for key, value in answer.items() if key in fields}


def _pending_webhooks(event_type):
    return sum(
        1
        for hook in webhooks._webhooks.values()
        if hook.events is None or event_type in hook.events
    )


def install_event_shape():
    """Make localstripe's events look like the pinned version's, webhooks included:
    ``api_version``, ``pending_webhooks``, ``request`` and a shaped ``data.object``."""
    create = resources.Event.__init__
    if getattr(create, "stripe_double", False):
        return

    def __init__(self, event_type, data):
        create(self, event_type, data)
        self.api_version = API_VERSION
        self.data = {"object": shape(self.data["object"])}
        self.pending_webhooks = _pending_webhooks(event_type)
        self.request = {"id": None, "idempotency_key": None}

    __init__.stripe_double = True
    resources.Event.__init__ = __init__
