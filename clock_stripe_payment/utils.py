# Part of clock_stripe_payment. License LGPL-3.
"""Pure helpers of the Stripe (hotel) provider.

Nothing here imports Odoo: amounts, keys, card rules and signatures are plain data,
so these functions are unit-tested without a database.
"""

import hashlib
import hmac
import time
from datetime import datetime, timedelta, timezone
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from . import const

# === AMOUNTS === #


def currency_exponent(currency_code):
    """Return the number of decimals Stripe uses for ``currency_code``.

    :param str currency_code: ISO 4217 code, any case.
    :rtype: int
    """
    code = (currency_code or "").upper()
    if code in const.ZERO_DECIMAL_CURRENCIES:
        return 0
    if code in const.THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def to_minor_units(amount, currency_code):
    """Convert a major-unit amount into the integer Stripe expects.

    * zero-decimal currencies (JPY...) are sent as is: 5000 JPY -> 5000;
    * three-decimal currencies (KWD...) are x1000 and rounded to a multiple of 10,
      as Stripe requires: 12.345 KWD -> 12350;
    * ISK is x100 with 00 decimals: 1234.56 ISK -> 123500;
    * every other currency is x100: 12.34 EUR -> 1234.

    Rounding is half-up on the decimal value (no float artefacts).

    :param amount: The amount in major units (float, int, str or Decimal).
    :param str currency_code: ISO 4217 code.
    :rtype: int
    """
    code = (currency_code or "").upper()
    value = Decimal(str(amount))
    exponent = currency_exponent(code)
    minor = (value * (Decimal(10) ** exponent)).quantize(
        Decimal(1), rounding=ROUND_HALF_UP
    )
    if code in const.THREE_DECIMAL_CURRENCIES:
        minor = (minor / 10).quantize(Decimal(1), rounding=ROUND_HALF_UP) * 10
    elif code in const.WHOLE_UNIT_TWO_DECIMAL_CURRENCIES:
        minor = (minor / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP) * 100
    return int(minor)


def minor_step(currency_code):
    """Return the step, in minor units, of the amounts Stripe takes in
    ``currency_code``: 10 for three-decimal currencies (the last digit must be 0),
    100 for ISK, 1 otherwise.

    :rtype: int
    """
    code = (currency_code or "").upper()
    if code in const.THREE_DECIMAL_CURRENCIES:
        return 10
    if code in const.WHOLE_UNIT_TWO_DECIMAL_CURRENCIES:
        return 100
    return 1


def is_on_minor_step(amount, currency_code):
    """Tell whether Stripe takes ``amount`` as it is (no rounding to its step):
    12.340 KWD yes, 12.345 KWD no.

    :rtype: bool
    """
    exponent = currency_exponent(currency_code)
    minor = Decimal(str(amount)) * (Decimal(10) ** exponent)
    return minor == minor.to_integral_value() and not int(minor) % minor_step(
        currency_code
    )


def round_to_minor_step(amount, currency_code):
    """Round ``amount`` as Stripe takes it (see :func:`to_minor_units`).

    :rtype: float
    """
    return from_minor_units(to_minor_units(amount, currency_code), currency_code)


def floor_to_minor_step(amount, currency_code):
    """The largest amount Stripe takes as it is that is not above ``amount``:
    45.755 KWD -> 45.750, 6.863 KWD -> 6.860; 12.34 EUR stays 12.34. Amounts the
    server computes (a deposit, a share or all of a balance) are asked this way,
    never more than computed and never refused for being off Stripe's step.

    :rtype: float
    """
    code = (currency_code or "").upper()
    step = minor_step(code)
    minor = (Decimal(str(amount)) * (Decimal(10) ** currency_exponent(code))).quantize(
        Decimal(1), rounding=ROUND_FLOOR
    )
    return from_minor_units(int(minor) // step * step, code)


def from_minor_units(minor_amount, currency_code):
    """Convert a Stripe integer amount back to major units.

    :param int minor_amount: The amount in Stripe's minor units.
    :param str currency_code: ISO 4217 code.
    :rtype: float
    """
    exponent = currency_exponent(currency_code)
    return float(Decimal(int(minor_amount)) / (Decimal(10) ** exponent))


def minimum_amount(currency_code):
    """Return Stripe's minimum charge amount in major units, or None when unknown.

    :param str currency_code: ISO 4217 code.
    :rtype: float|None
    """
    return const.MINIMUM_AMOUNTS.get((currency_code or "").upper())


def is_below_minimum(amount, currency_code):
    """Tell whether ``amount`` is below Stripe's minimum charge for the currency.

    Currencies without a published minimum are never considered below it.

    :rtype: bool
    """
    minimum = minimum_amount(currency_code)
    if minimum is None:
        return False
    return to_minor_units(amount, currency_code) < to_minor_units(
        minimum, currency_code
    )


def is_supported_currency(currency_code):
    """Tell whether Stripe accepts payments in this currency."""
    return (currency_code or "").upper() in const.SUPPORTED_CURRENCIES


def prorate_minor(part, total, total_minor, step=1):
    """Return the share of ``total_minor`` that ``part`` is of ``total``.

    Used to send a partial capture or refund in the settlement currency at the rate
    of the original payment. Half-up rounding to a multiple of ``step`` (see
    :func:`minor_step`), bounded by ``total_minor``.

    :param float part: The partial amount, in the transaction currency.
    :param float total: The full amount, in the transaction currency.
    :param int total_minor: The full amount, in settlement minor units.
    :param int step: The step of the settlement currency, in minor units.
    :rtype: int
    """
    if not total:
        return 0
    share = Decimal(str(part)) / Decimal(str(total)) * Decimal(int(total_minor))
    steps = (share / step).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return min(int(steps) * step, total_minor)


# === KEYS AND ADDRESSES === #


def idempotency_key(database_uuid, reference, operation):
    """Derive the idempotency key of a money-moving request.

    The same database, transaction reference and operation always give the same key,
    so a retry after a lost answer or a rolled-back cursor cannot move money twice;
    any other operation or transaction gives another key.

    :param str database_uuid: ``database.uuid`` of the Odoo database.
    :param str reference: The Odoo transaction reference.
    :param str operation: One of ``const.OPERATION_*``.
    :rtype: str
    """
    if not reference or not operation:
        raise ValueError("An idempotency key needs a reference and an operation.")
    digest = hashlib.sha256(
        f"{database_uuid or ''}|{reference}|{operation}".encode()
    ).hexdigest()
    return f"clock-stripe-{operation}-{digest}"


def key_mode(key):
    """Return ``'test'``, ``'live'`` or None for a Stripe API key.

    :param str key: A secret (sk_/rk_) or publishable (pk_) key.
    :rtype: str|None
    """
    if not key:
        return None
    for mode in ("test", "live"):
        if any(
            key.startswith(f"{prefix}{mode}_")
            for prefix in (*const.SECRET_KEY_PREFIXES, const.PUBLISHABLE_KEY_PREFIX)
        ):
            return mode
    return None


def is_secret_key(key):
    return bool(key) and key.startswith(const.SECRET_KEY_PREFIXES)


def is_publishable_key(key):
    return bool(key) and key.startswith(const.PUBLISHABLE_KEY_PREFIX)


def mask_secret(value):
    """Return a loggable form of a secret: its prefix and last four characters."""
    if not value:
        return ""
    prefix = value.split("_", 2)
    head = "_".join(prefix[:2]) + "_" if len(prefix) == 3 else ""
    return f"{head}…{value[-4:]}"


def normalize_api_base(url):
    """Return the API base URL without trailing slash, Stripe's when empty."""
    return (url or const.STRIPE_API_BASE).strip().rstrip("/")


# === CARDS === #


def card_brand(payment_method):
    """Return the Stripe brand of a card PaymentMethod dict (``visa``...)."""
    card = (payment_method or {}).get("card") or {}
    return (card.get("brand") or "unknown").lower()


def card_rule_violation(
    payment_method, require_cvc=False, require_address=False, allowed_brands=None
):
    """Check a card PaymentMethod (as a dict) against the hotel's card rules.

    * brand: when ``allowed_brands`` (Stripe brand codes) is not empty, the card's
      brand must be one of them;
    * CVC: when required, ``card.checks.cvc_check == 'fail'`` refuses the card.
      ``unavailable``, ``unchecked`` and a missing result pass: Stripe documents them
      as "not verified" rather than "wrong";
    * address: when required, the billing address must have a first line, a country
      and a postal code or a city.

    :return: None when the card is accepted, else ``'brand'``, ``'cvc'`` or
        ``'address'``.
    :rtype: str|None
    """
    payment_method = payment_method or {}
    if allowed_brands:
        if card_brand(payment_method) not in {b.lower() for b in allowed_brands}:
            return "brand"
    if require_cvc:
        checks = (payment_method.get("card") or {}).get("checks") or {}
        if (checks.get("cvc_check") or "").lower() == const.CHECK_FAILED:
            return "cvc"
    if require_address:
        billing = payment_method.get("billing_details") or {}
        address = billing.get("address") or {}
        if not (
            address.get("line1")
            and address.get("country")
            and (address.get("postal_code") or address.get("city"))
        ):
            return "address"
    return None


def virtual_card_refusal(now, active_from, loaded, charged, amount, rounding=0.01):
    """Check a charge (or hold) of an OTA's virtual card.

    :param datetime now: the time of the charge (naive UTC)
    :param datetime active_from: when the card can first be charged (naive UTC),
        or None when it is already active
    :param float loaded: the amount loaded on the card, 0 or None when unknown
    :param float charged: what was already taken or held on the card (in the
        loaded amount's currency)
    :param float amount: the charge, in the same currency
    :param float rounding: the currency's rounding
    :return: None when the charge may go, ``'inactive'`` before the activation,
        ``'over_loaded'`` when the card would give more than it was loaded with
    :rtype: str|None
    """
    if active_from and now < active_from:
        return "inactive"
    if loaded and charged + amount - loaded > rounding / 2:
        return "over_loaded"
    return None


def hold_expiry(capture_before=None, created=None, now=None):
    """Return the naive UTC datetime when an authorization expires.

    Stripe gives ``payment_method_details.card.capture_before`` (a timestamp) for
    card holds; without it, a hold lives ``HOLD_VALIDITY_DAYS`` from its creation.

    :param int capture_before: Unix timestamp given by Stripe, if any.
    :param int created: Unix timestamp of the PaymentIntent or charge.
    :param datetime now: Fallback start (naive UTC) when ``created`` is missing.
    :rtype: datetime
    """
    if capture_before:
        return datetime.fromtimestamp(int(capture_before), tz=timezone.utc).replace(
            tzinfo=None
        )
    if created:
        start = datetime.fromtimestamp(int(created), tz=timezone.utc).replace(
            tzinfo=None
        )
    else:
        start = now or datetime.now(timezone.utc).replace(tzinfo=None)
    return start + timedelta(days=const.HOLD_VALIDITY_DAYS)


def hold_terms(payment_intent):
    """What Stripe says of a card hold: when it expires, whether its validity was
    extended and whether it can be raised (incremental authorization).

    Read from ``latest_charge.payment_method_details.card`` (the charge expanded);
    without it, the expiry falls back to :func:`hold_expiry` and the hold is
    neither extended nor incrementable.

    :param dict payment_intent: A PaymentIntent answer.
    :return: ``{'expires_at': datetime, 'extended': bool, 'incrementable': bool,
        'known': bool}``, ``known`` telling whether the card details were there
    """
    charge = payment_intent.get("latest_charge")
    created = payment_intent.get("created")
    card = {}
    if isinstance(charge, dict):
        card = (charge.get("payment_method_details") or {}).get("card") or {}
        created = charge.get("created") or created
    extended = (card.get("extended_authorization") or {}).get("status")
    incremental = (card.get("incremental_authorization") or {}).get("status")
    return {
        "expires_at": hold_expiry(
            capture_before=card.get("capture_before"), created=created
        ),
        "extended": extended == "enabled",
        "incrementable": incremental == "available",
        "known": bool(card),
    }


# === WEBHOOK SIGNATURES === #


def compute_webhook_signature(payload, secret, timestamp):
    """Return the v1 signature Stripe computes for a webhook payload.

    HMAC-SHA256 of ``"<timestamp>.<payload>"`` keyed with the endpoint secret.
    https://docs.stripe.com/webhooks#verify-manually

    :param payload: The raw body (str or bytes).
    :param str secret: The endpoint's signing secret (``whsec_...``).
    :param int timestamp: Unix timestamp.
    :rtype: str
    """
    if isinstance(payload, bytes):
        payload = payload.decode("utf-8")
    signed = f"{int(timestamp)}.{payload}".encode()
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def webhook_signature_header(payload, secret, timestamp=None):
    """Build a ``Stripe-Signature`` header value for a payload (tests, demos)."""
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    signature = compute_webhook_signature(payload, secret, timestamp)
    return f"t={timestamp},v1={signature}"


# === BACK OFFICE === #


def closing_notification(kind, message):
    """The client action that closes a dialog and shows ``message`` as a
    notification of ``kind`` (success, info, warning, danger); anything but a
    success stays until the user closes it."""
    return {
        "type": "ir.actions.client",
        "tag": "display_notification",
        "params": {
            "type": kind,
            "sticky": kind != "success",
            "message": message,
            "next": {"type": "ir.actions.act_window_close"},
        },
    }
