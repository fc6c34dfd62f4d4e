"""What the adapter remembers on localstripe's own objects.

Everything is kept in private attributes of the stored objects, so it is pickled with
the store and flushed with it (``DELETE /_config/data``):

* ``_stripe_double_echo``: request parameters localstripe does not take, echoed back
  in the answers (``description``, ``setup_future_usage``, ``cancellation_reason``...);
* ``_stripe_double_captured`` on a Charge: the amount of a partial capture;
* ``_stripe_double_released`` on a Refund: the synthetic refund by which localstripe
  models the released rest of a partial capture. It is no refund for Stripe.
"""

from localstripe.resources import Refund, store

ECHO = "_stripe_double_echo"
CAPTURED = "_stripe_double_captured"
RELEASED = "_stripe_double_released"


def stored(kind, object_id):
    """The localstripe object ``kind:object_id``, or None."""
    return store.get(f"{kind}:{object_id}")


def stored_of_kind(kind):
    """All stored objects of ``kind``, newest first (as Stripe lists them)."""
    prefix = kind + ":"
    return [obj for key, obj in reversed(store.items()) if key.startswith(prefix)]


def echo(obj):
    return getattr(obj, ECHO, {})


def remember(obj, values):
    """Keep ``values`` (request parameters) to echo them in later answers."""
    setattr(obj, ECHO, {**echo(obj), **values})


def captured_amount(charge):
    """What was captured on ``charge`` (0 while only authorized)."""
    if not charge.captured or charge.status != "succeeded":
        return 0
    return getattr(charge, CAPTURED, charge.amount)


def refunds(charge):
    """The real refunds of ``charge``, without localstripe's synthetic one."""
    return [
        refund
        for refund in stored_of_kind(Refund.object)
        if refund.charge == charge.id and not getattr(refund, RELEASED, False)
    ]


def refunded_amount(charge):
    return sum(refund.amount for refund in refunds(charge))


def capture(charge, amount, on_success):
    """Capture ``amount`` of ``charge`` and flag the refund localstripe makes of
    the released rest."""
    before = {refund.id for refund in stored_of_kind(Refund.object)}
    setattr(charge, CAPTURED, amount)
    charge._capture(amount, on_success=on_success)
    for refund in stored_of_kind(Refund.object):
        if refund.charge == charge.id and refund.id not in before:
            setattr(refund, RELEASED, True)
