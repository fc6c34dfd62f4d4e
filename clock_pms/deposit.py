"""Deposit rules of a guarantee policy, as plain functions (no ORM, no Odoo import).

The booking engine, MyBooking and the back office all ask "how much does this policy
want up front?"; the answer depends only on the numbers below, so it lives here where
it can be unit-tested without a database.
"""

from decimal import ROUND_HALF_UP, Decimal

RULE_NONE = "none"
RULE_NIGHTS = "nights"
RULE_PERCENT_ROOM = "percent_room"
RULE_MAX_NIGHTS_PERCENT_ROOM = "max_nights_percent_room"
RULE_PERCENT_TOTAL = "percent_total"
RULE_FIXED = "fixed"

RULES = (
    RULE_NONE,
    RULE_NIGHTS,
    RULE_PERCENT_ROOM,
    RULE_MAX_NIGHTS_PERCENT_ROOM,
    RULE_PERCENT_TOTAL,
    RULE_FIXED,
)


def round_to_currency(amount, rounding):
    """Round ``amount`` half-up to a multiple of the currency ``rounding``."""
    step = Decimal(str(rounding))
    quantized = (Decimal(str(amount)) / step).quantize(Decimal(1), ROUND_HALF_UP)
    return float(quantized * step)


def compute_deposit(
    rule, room_charges, total, *, nights=0, percent=0.0, fixed=0.0, rounding=0.01
):
    """Return the deposit a policy asks for, rounded to the currency.

    :param rule: one of :data:`RULES`
    :param room_charges: the room charge of each night, in stay order
    :param total: the total price of the booking (rooms, extras and fees)
    :param nights: N of the "first N nights" rules
    :param percent: the percentage of the percentage rules (0-100)
    :param fixed: the amount of the fixed rule
    :param rounding: the rounding step of the currency
    :return: the deposit, never negative and never more than ``total``
    """
    if rule not in RULES:
        raise ValueError(f"Unknown deposit rule {rule!r}")
    room_total = sum(room_charges)
    first_nights = sum(room_charges[: max(nights, 0)])
    share_of_room = room_total * percent / 100.0
    amounts = {
        RULE_NONE: 0.0,
        RULE_NIGHTS: first_nights,
        RULE_PERCENT_ROOM: share_of_room,
        RULE_MAX_NIGHTS_PERCENT_ROOM: max(first_nights, share_of_room),
        RULE_PERCENT_TOTAL: total * percent / 100.0,
        RULE_FIXED: fixed,
    }
    deposit = min(max(amounts[rule], 0.0), max(total, 0.0))
    return round_to_currency(deposit, rounding)
