"""Payment Autopilot rules as plain functions (no ORM, no Odoo import).

An Autopilot task answers "when?", "how much?" and "what if it fails?" for every
booking it watches. The answers depend only on a few dates and numbers, so they live
here, where they can be unit-tested without a database; the models in
``models/clock_autopilot_task.py`` turn them into SQL domains and records.

Times are naive ``datetime`` objects in UTC, like Odoo's ``Datetime`` fields.
"""

from datetime import datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# ----------------------------------------------------------------------------------
# When: modes and trigger times
# ----------------------------------------------------------------------------------

MODE_AFTER_CREATION = "after_creation"
MODE_BEFORE_ARRIVAL = "before_arrival"
MODE_AFTER_CHECK_IN = "after_check_in"
MODE_BEFORE_DEPARTURE = "before_departure"
MODE_AFTER_CHECK_OUT = "after_check_out"
MODE_AFTER_CANCELLATION = "after_cancellation"

MODES = (
    MODE_AFTER_CREATION,
    MODE_BEFORE_ARRIVAL,
    MODE_AFTER_CHECK_IN,
    MODE_BEFORE_DEPARTURE,
    MODE_AFTER_CHECK_OUT,
    MODE_AFTER_CANCELLATION,
)

#: Modes counted back from a calendar anchor (12:00 on a day of the stay).
BEFORE_MODES = frozenset({MODE_BEFORE_ARRIVAL, MODE_BEFORE_DEPARTURE})

#: Modes counted forward from an event (the moment the booking changed).
AFTER_MODES = frozenset(set(MODES) - BEFORE_MODES)

#: The local hour of the calendar anchors ("from 12:00 on the arrival day").
ANCHOR_HOUR = 12


def accepts_negative_offset(mode):
    """Whether a task in ``mode`` may have a negative offset.

    Only the two calendar-anchored modes do. Their anchor, 12:00 on the arrival or
    departure day, is a point in time known in advance, so "-6 hours before 12:00 on
    the arrival day" is a meaningful moment: 18:00 on the arrival day (e.g. charge a
    virtual card once the guest is due in, whether or not checked in yet).

    The event modes are anchored on something that has not happened yet when the
    booking is planned (creation, check-in, check-out, cancellation). A negative
    offset would ask to act *before* an event whose time nobody knows until it
    happens; by the time the event exists the trigger is already in the past, so the
    task would fire at once, exactly like offset 0. Accepting it would only hide that
    misunderstanding, so it is refused.
    """
    _check_mode(mode)
    return mode in BEFORE_MODES


def check_offset(mode, offset_hours):
    """Raise ``ValueError`` when ``offset_hours`` is not allowed for ``mode``."""
    if offset_hours < 0 and not accepts_negative_offset(mode):
        raise ValueError(f"Mode {mode!r} does not accept a negative offset")


def local_noon_utc(day, tz_name, hour=ANCHOR_HOUR):
    """Return ``hour``:00 local time on ``day`` in time zone ``tz_name``, as naive UTC.

    :param day: a ``date``
    :param tz_name: an IANA time zone name; empty or unknown means UTC
    """
    if not day:
        return None
    zone = _zone(tz_name)
    local = datetime.combine(day, time(hour), tzinfo=zone)
    return local.astimezone(timezone.utc).replace(tzinfo=None)


def trigger_time(mode, offset_hours, anchor):
    """When a task in ``mode`` with ``offset_hours`` acts on a booking.

    The ``before_*`` modes subtract the offset from their anchor, the ``after_*``
    modes add it. Returns ``None`` while the anchor is unknown (not checked in yet…).
    """
    _check_mode(mode)
    if anchor is None or anchor is False:
        return None
    delta = timedelta(hours=offset_hours)
    return anchor - delta if mode in BEFORE_MODES else anchor + delta


def latest_due_anchor(mode, offset_hours, now):
    """The latest anchor whose trigger time has passed at ``now``.

    A booking is due when ``trigger_time(mode, offset, anchor) <= now``, that is when
    its anchor is at most the returned value; this is what the planning domain
    compares the stored anchor with, so the comparison runs in SQL.
    """
    return anchor_for_trigger(mode, offset_hours, now)


def anchor_for_trigger(mode, offset_hours, when):
    """The anchor whose trigger time is ``when`` (inverse of :func:`trigger_time`)."""
    _check_mode(mode)
    delta = timedelta(hours=offset_hours)
    return when + delta if mode in BEFORE_MODES else when - delta


def earliest_trigger(activated_at, catch_up_hours):
    """The earliest trigger time a task acts on: its activation less the catch-up
    grace (0 or less: only triggers from the activation on).

    A newly activated task thus catches up on triggers missed shortly before, but
    never on long-past bookings (a hold "one night after creation" must not hold
    the cards of bookings made a year ago and checked out since).
    """
    return activated_at - timedelta(hours=max(catch_up_hours or 0, 0))


# ----------------------------------------------------------------------------------
# How much
# ----------------------------------------------------------------------------------

BASIS_BALANCE = "balance"
BASIS_FIXED = "fixed"
BASIS_NIGHTS = "nights"
BASIS_PERCENT_TOTAL = "percent_total"

BASES = (BASIS_BALANCE, BASIS_FIXED, BASIS_NIGHTS, BASIS_PERCENT_TOTAL)


def round_to_currency(amount, rounding=0.01):
    """Round ``amount`` half-up to a multiple of the currency ``rounding``."""
    step = Decimal(str(rounding))
    quantized = (Decimal(str(amount)) / step).quantize(Decimal(1), ROUND_HALF_UP)
    return float(quantized * step)


def first_nights_amount(charges, arrival, nights, groups):
    """Sum of the charges of the first ``nights`` nights of a stay in ``groups``.

    :param charges: iterable of ``(date, revenue_group, amount)`` of the folio charges
    :param arrival: the arrival ``date``; the first N nights are the N days from it
    :param nights: N
    :param groups: the revenue groups to count (e.g. ``{"room"}``)
    """
    if nights <= 0 or not arrival:
        return 0.0
    last_night = arrival + timedelta(days=nights - 1)
    return sum(
        amount
        for day, group, amount in charges
        if group in groups and day and arrival <= day <= last_night
    )


def compute_amount(
    basis,
    *,
    balance=0.0,
    fixed=0.0,
    night_charges=(),
    arrival=None,
    nights=0,
    groups=(),
    total=0.0,
    percent=0.0,
    rounding=0.01,
):
    """The amount a task would charge or hold, rounded to the currency.

    :param basis: one of :data:`BASES`
    :param balance: open balance of the booking's folios
    :param fixed: the fixed amount
    :param night_charges: ``(date, revenue_group, amount)`` of the folio charges
    :param arrival: arrival date (start of the first night)
    :param nights: N of the "first N nights" basis
    :param groups: revenue groups of the "first N nights" basis
    :param total: the booking total for the "% of total" basis
    :param percent: 0-100
    :param rounding: currency rounding step
    :return: the amount; zero or less means there is nothing to do
        (see :func:`nothing_to_do`)
    """
    if basis == BASIS_BALANCE:
        amount = balance
    elif basis == BASIS_FIXED:
        amount = fixed
    elif basis == BASIS_NIGHTS:
        amount = first_nights_amount(night_charges, arrival, nights, set(groups))
    elif basis == BASIS_PERCENT_TOTAL:
        amount = total * percent / 100.0
    else:
        raise ValueError(f"Unknown amount basis {basis!r}")
    return round_to_currency(amount, rounding)


def nothing_to_do(amount, rounding=0.01):
    """Whether ``amount`` calls for no transaction: zero or less once rounded."""
    return round_to_currency(amount or 0.0, rounding) <= 0


# ----------------------------------------------------------------------------------
# What if it fails
# ----------------------------------------------------------------------------------

#: Failure kinds (how a failed attempt is classified).
FAILURE_ERROR = "error"
FAILURE_AUTHENTICATION = "authentication_required"
FAILURE_NO_CARD = "no_card"


def should_retry(retries_done, max_retries, failure=FAILURE_ERROR):
    """Whether a failed attempt is tried again instead of running the failure actions.

    ``authentication_required`` is never retried: no amount of retrying makes the
    bank stop asking for the guest; the guest is sent a link to authenticate.
    """
    if failure == FAILURE_AUTHENTICATION:
        return False
    return retries_done < max(max_retries, 0)


def next_retry_time(failed_at, delay_hours, attempt=1):
    """When attempt number ``attempt`` (1 = first retry) runs after a failure.

    The delay is constant: a card that failed for lack of funds is as likely to work
    a day later as two days later, and a constant delay is what the user configures
    and expects to read in the run log.
    """
    if attempt < 1:
        raise ValueError("Retry attempts are numbered from 1")
    return failed_at + timedelta(hours=max(delay_hours, 0))


# ----------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------


def _check_mode(mode):
    if mode not in MODES:
        raise ValueError(f"Unknown Autopilot mode {mode!r}")


def _zone(tz_name):
    if not tz_name:
        return timezone.utc
    try:
        return ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        return timezone.utc


# ----------------------------------------------------------------------------------
# Safety caps and the simulator
# ----------------------------------------------------------------------------------

FAILURE_CAP = "cap"

#: Overlaps the simulator flags on a step.
FLAG_OVERLAP = "overlap"
FLAG_HOLD_COVERS = "hold_covers"
FLAG_OVER_CAP = "over_cap"


def over_cap(amount, cap, already=0.0, rounding=0.01):
    """Whether moving ``amount`` on top of ``already`` goes past ``cap``.

    :param cap: the most a task may move; 0 or less means no cap
    """
    if not cap or cap <= 0:
        return False
    total = round_to_currency(already + amount, rounding)
    return total - round_to_currency(cap, rounding) > rounding / 2


def simulate_step(operation, amount, balance, held, charged_before, rounding=0.01):
    """The expected balance and held amount after one Autopilot step, and the
    overlaps it shows.

    :param operation: ``charge``, ``hold``, ``release``, ``reauthorize`` or ``none``
    :param amount: what the step moves (0: nothing to do)
    :param balance: the booking's balance before the step
    :param held: what active holds secure on the booking before the step
    :param charged_before: whether another task charged the booking earlier in
        the simulation
    :return: ``(balance, held, flags)``, flags a list of ``FLAG_*``
    """
    flags = []
    half = rounding / 2
    acting = amount > half
    if operation == "charge" and acting:
        if charged_before and amount - balance > half:
            flags.append(FLAG_OVERLAP)
        if held > half and held - amount > -half:
            flags.append(FLAG_HOLD_COVERS)
        balance = round_to_currency(balance - amount, rounding)
    elif operation == "charge" and charged_before:
        # Nothing left to charge: an earlier task took the same balance.
        flags.append(FLAG_OVERLAP)
    elif operation == "hold" and acting:
        held = round_to_currency(held + amount, rounding)
    elif operation == "release":
        held = 0.0
    return balance, held, flags
