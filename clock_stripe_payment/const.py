# Part of clock_stripe_payment. License LGPL-3.
"""Constants of the Stripe (hotel) provider.

This module imports nothing from Odoo so that it can be used by plain unit tests.
"""

from datetime import timedelta

PROVIDER_CODE = "clock_stripe"

# The Stripe API version this module is written for, sent as ``Stripe-Version`` on
# every request and used when a webhook endpoint is registered. It is the version
# the pinned ``stripe`` SDK (16.x) is generated for, so objects have the shape the
# SDK expects (``latest_charge`` instead of ``charges``...).
# See https://docs.stripe.com/api/versioning and https://docs.stripe.com/upgrades.
API_VERSION = "2026-10-28.endive"

# Stripe's own API base; a setting of the provider, so that tests and demos can use a
# local stand-in.
STRIPE_API_BASE = "https://api.stripe.com"
STRIPE_JS_URL = "https://js.stripe.com/v3/"

# Transport settings of the client module (seconds / count).
REQUEST_TIMEOUT = 30
MAX_NETWORK_RETRIES = 2

# Requests per second to one Stripe account, shared by every Odoo worker (the
# provider's "Stripe Requests per Second"). Stripe allows 100 a second in live mode
# and 25 in test mode, and 25 a second on one endpoint (creating PaymentIntents...)
# unless documented otherwise: https://docs.stripe.com/rate-limits. The default
# stays under all of them; the setting stays under 90 % of the global limit.
DEFAULT_REQUEST_RATE = 20
MAX_REQUEST_RATE = {"live": 90, "test": 22}
# Seconds to wait after a 429 answer without a usable Retry-After header.
DEFAULT_RETRY_AFTER = 1

# Key prefixes. See https://docs.stripe.com/keys.
SECRET_KEY_PREFIXES = ("sk_", "rk_")  # Secret and restricted keys.
PUBLISHABLE_KEY_PREFIX = "pk_"
ACCOUNT_ID_PREFIX = "acct_"

# Authorizations expire after 7 days for online card payments unless Stripe says
# otherwise in ``payment_method_details.card.capture_before``.
# See https://docs.stripe.com/payments/place-a-hold-on-a-payment-method.
HOLD_VALIDITY_DAYS = 7

# Metadata keys put on every Stripe object created for a transaction. Transactions
# are found by this metadata on webhooks (``description`` is free text for people).
METADATA_REFERENCE_KEY = "odoo_reference"
METADATA_PURPOSE_KEY = "odoo_purpose"
PURPOSE_VALIDATION_HOLD = "validation_hold"

# Mapping of transaction states to Stripe statuses.
# https://docs.stripe.com/api/payment_intents/object#payment_intent_object-status
# https://docs.stripe.com/api/setup_intents/object#setup_intent_object-status
PAYMENT_INTENT_STATUS_MAPPING = {
    "draft": ("requires_confirmation", "requires_action"),
    "pending": ("processing",),
    "authorized": ("requires_capture",),
    "done": ("succeeded",),
    "cancel": ("canceled",),
    "error": ("requires_payment_method",),
}
SETUP_INTENT_STATUS_MAPPING = {
    "draft": ("requires_confirmation", "requires_action", "requires_payment_method"),
    "pending": ("processing",),
    "done": ("succeeded",),
    "cancel": ("canceled",),
}
# SetupIntents that can still be confirmed (with another card), or cancelled.
# https://docs.stripe.com/api/setup_intents/cancel
SETUP_INTENT_OPEN_STATUSES = (
    "requires_payment_method",
    "requires_confirmation",
    "requires_action",
)
# https://docs.stripe.com/api/refunds/object#refund_object-status
REFUND_STATUS_MAPPING = {
    "pending": ("pending", "requires_action"),
    "done": ("succeeded",),
    "error": ("failed", "canceled"),
}
# https://docs.stripe.com/api/checkout/sessions/object#checkout_session_object-payment_status
CHECKOUT_PAYMENT_STATUS_MAPPING = {
    "pending": ("unpaid",),
    "done": ("paid", "no_payment_required"),
}

# Webhook events handled by the webhook route (SPEC 5.7).
# https://docs.stripe.com/api/events/types
HANDLED_WEBHOOK_EVENTS = [
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.amount_capturable_updated",
    "payment_intent.canceled",
    "charge.refunded",
    "charge.refund.updated",
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "setup_intent.succeeded",
    "setup_intent.setup_failed",
]

# Codes of the payment methods activated with the provider: card and its brands.
DEFAULT_PAYMENT_METHOD_CODES = {
    "card",
    "visa",
    "mastercard",
    "amex",
    "discover",
}

# Odoo payment method code -> Stripe payment method type, where they differ
# (used for Checkout's ``allowed_payment_method_types``).
PAYMENT_METHODS_MAPPING = {
    "sepa_direct_debit": "sepa_debit",
    "bacs_direct_debit": "bacs_debit",
    "becs_direct_debit": "au_becs_debit",
    "ach_direct_debit": "us_bank_account",
    "afterpay": "afterpay_clearpay",
    "clearpay": "afterpay_clearpay",
    "cash_app_pay": "cashapp",
    "mobile_pay": "mobilepay",
}

# Stripe card brand (``card.brand``) -> Odoo brand payment method code.
# https://docs.stripe.com/api/payment_methods/object#payment_method_object-card-brand
CARD_BRAND_MAPPING = {
    "amex": "amex",
    "diners": "diners",
    "discover": "discover",
    "eftpos_au": "eftpos_au",
    "jcb": "jcb",
    "mastercard": "mastercard",
    "unionpay": "unionpay",
    "visa": "visa",
    "cartes_bancaires": "cartes_bancaires",
}

# Currencies whose smallest unit is the major unit (amount sent as is).
# https://docs.stripe.com/currencies#zero-decimal
ZERO_DECIMAL_CURRENCIES = {
    "BIF",
    "CLP",
    "DJF",
    "GNF",
    "JPY",
    "KMF",
    "KRW",
    "MGA",
    "PYG",
    "RWF",
    "UGX",
    "VND",
    "VUV",
    "XAF",
    "XOF",
    "XPF",
}
# Three-decimal currencies: amount x1000, and the last digit must be 0.
# https://docs.stripe.com/currencies#three-decimal
THREE_DECIMAL_CURRENCIES = {"BHD", "JOD", "KWD", "OMR", "TND"}
# Special case: sent as a two-decimal amount whose decimals must be 00.
# https://docs.stripe.com/currencies#special-cases
WHOLE_UNIT_TWO_DECIMAL_CURRENCIES = {"ISK"}

# Minimum charge amounts, in major units of the charge currency.
# https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts
MINIMUM_AMOUNTS = {
    "USD": 0.50,
    "AED": 2.00,
    "AUD": 0.50,
    "BGN": 1.00,
    "BRL": 0.50,
    "CAD": 0.50,
    "CHF": 0.50,
    "CZK": 15.00,
    "DKK": 2.50,
    "EUR": 0.50,
    "GBP": 0.30,
    "HKD": 4.00,
    "HUF": 175.00,
    "INR": 0.50,
    "JPY": 50,
    "MXN": 10,
    "MYR": 2,
    "NOK": 3.00,
    "NZD": 0.50,
    "PLN": 2.00,
    "RON": 2.00,
    "SEK": 3.00,
    "SGD": 0.50,
    "THB": 10,
}

# Presentment currencies Stripe supports for card payments.
# https://docs.stripe.com/currencies#presentment-currencies
SUPPORTED_CURRENCIES = {
    "AED",
    "AFN",
    "ALL",
    "AMD",
    "ANG",
    "AOA",
    "ARS",
    "AUD",
    "AWG",
    "AZN",
    "BAM",
    "BBD",
    "BDT",
    "BGN",
    "BHD",
    "BIF",
    "BMD",
    "BND",
    "BOB",
    "BRL",
    "BSD",
    "BWP",
    "BYN",
    "BZD",
    "CAD",
    "CDF",
    "CHF",
    "CLP",
    "CNY",
    "COP",
    "CRC",
    "CVE",
    "CZK",
    "DJF",
    "DKK",
    "DOP",
    "DZD",
    "EGP",
    "ETB",
    "EUR",
    "FJD",
    "FKP",
    "GBP",
    "GEL",
    "GIP",
    "GMD",
    "GNF",
    "GTQ",
    "GYD",
    "HKD",
    "HNL",
    "HTG",
    "HUF",
    "IDR",
    "ILS",
    "INR",
    "ISK",
    "JMD",
    "JOD",
    "JPY",
    "KES",
    "KGS",
    "KHR",
    "KMF",
    "KRW",
    "KWD",
    "KYD",
    "KZT",
    "LAK",
    "LBP",
    "LKR",
    "LRD",
    "LSL",
    "MAD",
    "MDL",
    "MGA",
    "MKD",
    "MMK",
    "MNT",
    "MOP",
    "MUR",
    "MVR",
    "MWK",
    "MXN",
    "MYR",
    "MZN",
    "NAD",
    "NGN",
    "NIO",
    "NOK",
    "NPR",
    "NZD",
    "OMR",
    "PAB",
    "PEN",
    "PGK",
    "PHP",
    "PKR",
    "PLN",
    "PYG",
    "QAR",
    "RON",
    "RSD",
    "RUB",
    "RWF",
    "SAR",
    "SBD",
    "SCR",
    "SEK",
    "SGD",
    "SHP",
    "SLE",
    "SOS",
    "SRD",
    "STD",
    "SZL",
    "THB",
    "TJS",
    "TND",
    "TOP",
    "TRY",
    "TTD",
    "TWD",
    "TZS",
    "UAH",
    "UGX",
    "USD",
    "UYU",
    "UZS",
    "VND",
    "VUV",
    "WST",
    "XAF",
    "XCD",
    "XOF",
    "XPF",
    "YER",
    "ZAR",
    "ZMW",
}

# Card checks. Only an explicit ``fail`` refuses a card: Stripe documents
# ``unavailable`` (issuer does not check) and ``unchecked`` (not verified yet) as
# non-failures, and Radar's default rule also blocks on ``fail`` only.
# https://docs.stripe.com/api/payment_methods/object#payment_method_object-card-checks
CHECK_FAILED = "fail"

# Operations that create or change money at Stripe, used to derive idempotency keys.
OPERATION_PAYMENT = "payment_intent"
OPERATION_VALIDATION_HOLD = "validation_hold"
OPERATION_VALIDATION_RELEASE = "validation_release"
OPERATION_CAPTURE = "capture"
# Followed by the new total in minor units: each raise of a hold has its own key.
OPERATION_INCREMENT = "increment"
OPERATION_VOID = "void"
OPERATION_REFUND = "refund"
OPERATION_CHECKOUT = "checkout_session"

# Keys of the processing values that must never be logged.
SECRET_PROCESSING_KEYS = (
    "clock_stripe_setup_intent_secret",
    "clock_stripe_payment_intent_secret",
    "clock_stripe_access_token",
)

# === Transactions === #

CONFIRM_ROUTE = "/payment/clock_stripe/confirm"
CHECKOUT_REDIRECT_ROUTE = "/payment/clock_stripe/checkout_redirect"
CHECKOUT_RETURN_ROUTE = "/payment/clock_stripe/checkout_return"
STATUS_ROUTE = "/payment/status"

# Operations whose transactions carry money at Stripe (a PaymentIntent).
PAYMENT_OPERATIONS = ("online_direct", "online_token", "offline", "online_redirect")
# Payments a guest makes on the payment pages (the others are staff's or the
# Autopilot's).
GUEST_PAYMENT_OPERATIONS = ("online_direct", "online_token", "online_redirect")
# How long a guest payment left waiting at Stripe (3-D Secure not completed, a
# Checkout page not paid) counts as money in flight: long enough for a guest
# to finish it, not so long that an abandoned one blocks the bill. One that
# still goes through later and pays the bill twice is refunded (see
# ``_clock_return_surplus``).
GUEST_PAYMENT_WINDOW = timedelta(hours=1)
CARD_ERROR_KINDS = ("card", "authentication_required")
# Stripe error kinds after which the outcome of a request is not known (the
# request may or may not have been applied): never a decline.
ANSWER_LOST_KINDS = ("connection", "api", "rate_limit", "bad_answer")
# A staff charge or refund without Stripe's answer is canceled when Stripe does
# not have it this long after it was sent.
UNANSWERED_GRACE = timedelta(minutes=10)
