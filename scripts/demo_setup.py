# Demo only. scripts/demo runs this file inside `odoo shell` (which defines `env`)
# after installing or updating the demo database and before serving it:
#
#     odoo shell -d clock_demo ... < scripts/demo_setup.py
#
# It makes localstripe, the Stripe double that scripts/demo started, the demo hotel's
# Stripe: the "Stripe (hotel)" provider points at it in test mode, its webhook is
# registered there, and the hotel takes cards through it. Then it makes sure the demo
# shows a booking guaranteed by card, its first night paid and the rest held. It is
# safe on every start. scripts/demo keeps the double's objects in a file (--store),
# but webhooks live in memory only, so the provider and the webhook are set again;
# and when the double does not know what Odoo has on record (its file was lost,
# or another double answers), Odoo is repaired to match it: cards and holds the
# double does not have are archived or cancelled, then the card booking gets a card
# and a hold again. The summary is read back from the double, not assumed.
#
# Settings (environment): CLOCK_STRIPE_DEMO_API_BASE (the localstripe URL, required),
# CLOCK_DEMO_BASE_URL (Odoo's URL, default http://127.0.0.1:8069), CLOCK_DEMO_SUMMARY
# (a file that receives the lines scripts/demo prints next to its URLs), CLOCK_DEMO_TZ
# (the time zone of the demo users, as the browser's: default UTC).
# `env` is given by odoo shell:
# ruff: noqa: F821

import os
import sys
from datetime import timedelta
from urllib.parse import urlparse

import stripe

from odoo import Command, fields
from odoo.exceptions import UserError

from odoo.addons.clock_stripe_payment.models.payment_provider import WEBHOOK_ROUTE

API_BASE = os.environ["CLOCK_STRIPE_DEMO_API_BASE"].rstrip("/")
ODOO_URL = os.environ.get("CLOCK_DEMO_BASE_URL", "http://127.0.0.1:8069").rstrip("/")
SUMMARY_FILE = os.environ.get("CLOCK_DEMO_SUMMARY")
DEMO_TZ = os.environ.get("CLOCK_DEMO_TZ") or "UTC"
SECRET_KEY = "sk_test_demo_clock_hotel"
PUBLISHABLE_KEY = "pk_test_demo_clock_hotel"
# Stripe's test Visa. A raw card number only ever goes to the Stripe double, from
# here, as Stripe.js would send it from the guest's browser; Odoo never sees it.
TEST_CARD = "4242424242424242"

if urlparse(API_BASE).hostname == "api.stripe.com":
    raise SystemExit(f"demo_setup.py only talks to a Stripe double, not {API_BASE}")


def configure_provider(env, company):
    """Point the company's Stripe (hotel) provider at localstripe, in test mode."""
    provider = env["payment.provider"].search(
        [("code", "=", "clock_stripe"), ("company_id", "=", company.id)], limit=1
    )
    if not provider:
        raise SystemExit(f"no Stripe (hotel) provider for {company.name}")
    # Odoo's address as localstripe reaches it: the webhook URL is built from it.
    env["ir.config_parameter"].set_param("web.base.url", ODOO_URL)
    # Saving the keys runs the provider's credential check against localstripe,
    # which also puts the provider in test mode and publishes it.
    provider.write(
        {
            "clock_stripe_api_base": API_BASE,
            "clock_stripe_js_url": f"{API_BASE}/js.stripe.com/v3/",
            "clock_stripe_secret_key": SECRET_KEY,
            "clock_stripe_publishable_key": PUBLISHABLE_KEY,
            "state": "test",
            "is_published": True,
        }
    )
    # The provider's "Register webhook" button: localstripe forgets its webhooks
    # when it restarts, so this runs on every start (a new signing secret each time).
    provider.action_clock_stripe_register_webhook()
    company.clock_stripe_card_provider_id = provider
    return provider


def stripe_sdk():
    """The SDK on the Stripe double, to read back what it holds (demo only)."""
    return stripe.StripeClient(
        SECRET_KEY, base_addresses={"api": API_BASE}, max_network_retries=0
    )


def at_double(retrieve, ref):
    """The object ``ref`` as the Stripe double has it, or None when it has not."""
    if not ref:
        return None
    try:
        return retrieve(ref)
    except stripe.InvalidRequestError as error:
        if error.http_status == 404:
            return None
        raise


def repair_from_double(env, provider):
    """Drop from Odoo the Stripe objects of ``provider`` that the double does not have.

    Customers it does not know are forgotten (a new one is made when needed), cards
    archived, holds cancelled in Odoo only: there is nothing left to release.

    :return: the bookings touched, with a note for each
    :rtype: dict
    """
    sdk = stripe_sdk()
    for customer in env["clock.stripe.customer"].search(
        [("provider_id", "=", provider.id)]
    ):
        if not at_double(sdk.v1.customers.retrieve, customer.customer_ref):
            customer.unlink()
    notes = {}
    for token in env["payment.token"].search([("provider_id", "=", provider.id)]):
        if not at_double(
            sdk.v1.payment_methods.retrieve, token.clock_stripe_payment_method_id
        ):
            for booking in token.clock_reservation_card_ids.reservation_id:
                notes.setdefault(booking, []).append(
                    f"card {token._clock_get_masked_label()} archived"
                )
            token.active = False
    holds = env["payment.transaction"].search(
        [("provider_id", "=", provider.id), ("state", "=", "authorized")]
    )
    for hold in holds:
        intent = at_double(sdk.v1.payment_intents.retrieve, hold.provider_reference)
        if not intent or intent.status != "requires_capture":
            hold._set_canceled(
                state_message="The demo's Stripe double no longer has this hold."
            )
            for booking in hold._clock_get_reservations():
                notes.setdefault(booking, []).append(f"hold {hold.reference} cancelled")
    holds._clock_post_process_now()
    for booking, what in notes.items():
        booking.message_post(
            body="Demo start: the Stripe double does not have what Odoo had on "
            f"record for this booking ({', '.join(what)})."
        )
    return notes


def save_card(env, provider, booking):
    """Put the test card on file for ``booking``, as the card step does.

    The card step of the booking engine and MyBooking: a validation transaction
    creates a SetupIntent, Stripe.js confirms it with the card typed by the guest,
    and the confirm route saves the card (token) and guarantees the booking.
    """
    tx = env["payment.transaction"].create(
        {
            "provider_id": provider.id,
            "payment_method_id": env.ref("payment.payment_method_card").id,
            "partner_id": booking.partner_id.id,
            "operation": "validation",
            "amount": provider._get_validation_amount(),
            "currency_id": provider._get_validation_currency().id,
            "tokenize": True,
            "clock_guarantee": True,
            "clock_reservation_ids": [Command.set(booking.ids)],
        }
    )
    tx._get_processing_values()  # Creates the SetupIntent.
    # What Stripe.js does in the guest's browser, here with the SDK, on localstripe
    # only: real Stripe refuses raw card numbers from a server.
    sdk = stripe_sdk()
    card = sdk.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {
                "number": TEST_CARD,
                "exp_month": 12,
                "exp_year": fields.Date.today().year + 3,
                "cvc": "123",
            },
            "billing_details": {
                "name": booking.partner_id.name,
                "email": booking.partner_id.email,
            },
        }
    )
    sdk.v1.setup_intents.confirm(
        tx.clock_stripe_setup_intent_ref, params={"payment_method": card.id}
    )
    tx._clock_stripe_confirm_from_browser(
        setup_intent_id=tx.clock_stripe_setup_intent_ref
    )
    tx._clock_post_process_now()
    if tx.state != "done" or not tx.token_id:
        raise SystemExit(f"the demo card could not be saved: {tx.state_message}")
    return tx.token_id


def new_booking(env, company, guest_ref, arrival_in, nights, **values):
    """A booking of the demo's superior room for the demo guest ``guest_ref``."""
    arrival = fields.Date.today() + timedelta(days=arrival_in)
    return env["clock.reservation"].create(
        {
            "partner_id": env.ref(guest_ref).id,
            "company_id": company.id,
            "room_type_id": env.ref(
                "clock_stripe_payment.clock_room_type_superior_card_demo"
            ).id,
            "arrival_date": arrival,
            "departure_date": arrival + timedelta(days=nights),
            **values,
        }
    )


def ensure_card_booking(env, company, provider):
    """A booking guaranteed by card: first night paid, the rest held on the card.

    An existing one that lost its card or its hold (see ``repair_from_double``) gets
    them again.

    :return: (booking, what was done: "new", "repaired" or "")
    """
    policy = env.ref("clock_stripe_payment.clock_guarantee_policy_card_pay_demo")
    booking = env["clock.reservation"].search(
        [
            ("company_id", "=", company.id),
            ("guarantee_policy_id", "=", policy.id),
            ("folio_ids.line_ids.payment_transaction_id", "!=", False),
        ],
        order="id",
        limit=1,
    )
    if booking:
        token = booking.card_ids.token_id.filtered("active")[:1]
        if token and booking.clock_hold_ids:
            return booking, ""
        token = token or save_card(env, provider, booking)
        if not booking.clock_hold_ids:
            hold_balance(booking, token)
        return booking, "repaired"
    booking = new_booking(
        env,
        company,
        "clock_pms.res_partner_maria_petrova_demo",
        arrival_in=5,
        nights=3,
        guarantee_policy_id=policy.id,
        guest_count=2,
        channel="booking_engine",
    )
    token = save_card(env, provider, booking)  # Confirms and guarantees it.
    # The deposit, charged with the card on file (the back office's "Charge").
    deposit = booking._clock_charge(token, booking._clock_get_guarantee_amount())
    if deposit.state != "done":
        raise SystemExit(f"the demo deposit failed: {deposit.state_message}")
    hold_balance(booking, token)
    return booking, "new"


def hold_balance(booking, token):
    """The rest of the stay held on the card, for the "secured vs owed" panel."""
    hold = booking._clock_charge(token, booking._clock_get_balance(), hold=True)
    if hold.state != "authorized":
        raise SystemExit(f"the demo hold failed: {hold.state_message}")


def ensure_virtual_card_booking(env, company, provider):
    """An OTA booking paid by the OTA's virtual card, which is not active yet.

    The card is put on file as the card step does, then marked as the OTA's
    virtual card: active from the day after arrival, loaded with the stay. A
    charge now is refused before any request to Stripe, and the Autopilot's
    virtual-card task waits for the activation date instead of failing.

    :return: text lines for the summary, measured on the booking
    """
    agent = env.ref("clock_pms.res_partner_globe_travel_demo")
    booking = env["clock.reservation"].search(
        [
            ("company_id", "=", company.id),
            ("agent_id", "=", agent.id),
            ("card_ids.card_type", "=", "virtual"),
            ("card_ids.token_id.active", "=", True),
        ],
        order="id",
        limit=1,
    )
    if not booking:
        booking = new_booking(
            env,
            company,
            "clock_pms.res_partner_sofia_rossi_demo",
            arrival_in=2,
            nights=2,
            guest_count=1,
            channel="ota",
            agent_id=agent.id,
        )
        save_card(env, provider, booking)
        booking.card_ids.write(
            {
                "card_type": "virtual",
                "activation_date": booking.arrival_date + timedelta(days=1),
                "loaded_amount": booking._clock_get_balance(),
            }
        )
    card = booking.card_ids.filtered(lambda c: c.card_type == "virtual")[:1]
    try:
        with env.cr.savepoint():
            booking._clock_charge(card.token_id, booking._clock_get_balance())
        refused = "NOT refused"
    except UserError as error:
        refused = f"refused: {error}"
    return [
        f"Virtual-card booking {booking.name} (OTA {agent.name}): card active from "
        f"{card.activation_date}, loaded {card.loaded_amount:.2f} "
        f"{card.loaded_currency_id.name}; a charge today is {refused}",
        f"  back office  {ODOO_URL}/odoo/action-clock_pms.clock_reservation_action/"
        f"{booking.id}",
    ]


def show_extended_hold(env, provider, booking):
    """Ask Stripe for extended and incremental holds, and renew the card booking's
    hold under them (the back office's "Renew Hold"): the new hold is placed
    before the old one is released.

    :return: text lines for the summary
    """
    provider.write(
        {"clock_stripe_extended_holds": True, "clock_stripe_incremental_holds": True}
    )
    hold = booking.clock_hold_ids[:1]
    if hold and not hold.clock_stripe_hold_extended:
        hold = booking._clock_reauthorize_hold(hold)
    if hold.state != "authorized":
        raise SystemExit(f"the demo extended hold failed: {hold.state_message}")
    return [
        f"  hold {hold.reference}: {hold.amount:.2f} {hold.currency_id.name}, "
        f"{'extended' if hold.clock_stripe_hold_extended else 'standard'} until "
        f"{hold.clock_stripe_hold_expires_at} UTC (Stripe's capture_before), "
        f"{'can' if hold.clock_stripe_hold_incrementable else 'cannot'} be raised"
    ]


def simulate_autopilot(env, company, days=30):
    """The Autopilot simulator's answer for the example tasks over ``days``.

    :return: text lines for the summary
    """
    simulation = env["clock.autopilot.simulation"].create(
        {
            "company_id": company.id,
            "date_to": fields.Datetime.now() + timedelta(days=days),
        }
    )
    simulation.action_simulate()
    steps = simulation.line_ids
    lines = [
        f"Autopilot simulator, next {days} days: {len(steps)} planned operations "
        f"by {len(steps.task_id)} tasks on {len(steps.reservation_id)} bookings, "
        f"{simulation.overlap_count} flagged"
    ]
    for step in steps.filtered("flags")[:5]:
        lines.append(
            f"  {step.reservation_id.name} {step.when:%Y-%m-%d %H:%M} "
            f"{step.task_id.name}: {step.amount:.2f} -> {step.flags}"
        )
    return lines


def check_autopilot_previews(env, company):
    """Press "Preview Next Run" on every Autopilot task of the demo.

    :return: (the example tasks of the demo data, failures as text lines)
    """
    examples = env["ir.model.data"].search(
        [
            ("model", "=", "clock.autopilot.task"),
            ("module", "=", "clock_stripe_payment"),
        ]
    )
    tasks = (
        env["clock.autopilot.task"]
        .with_context(active_test=False)
        .browse(examples.mapped("res_id"))
        .exists()
        .filtered(lambda task: task.company_id == company)
    )
    failures = []
    for task in tasks:
        try:
            with env.cr.savepoint():
                action = task.action_preview()
                env[action["res_model"]].browse(action["res_id"]).line_ids.mapped(
                    "outcome"
                )
        except Exception as error:
            failures.append(f"Autopilot preview of {task.name!r} FAILED: {error}")
    return tasks, failures


def set_demo_time_zone(env):
    """Give the demo users the browser's time zone: the form shows times in the
    browser's zone, the chatter's messages in the user's."""
    users = env["res.users"].with_context(active_test=False).search([])
    users.filtered(lambda user: user.tz != DEMO_TZ).write({"tz": DEMO_TZ})


def measured_summary(booking):
    """What the card booking has at the Stripe double, read back from it."""
    sdk = stripe_sdk()
    currency = booking.currency_id.name
    deposit = booking.transaction_ids.filtered(
        lambda tx: tx.operation == "offline" and tx.state == "done"
    ).sorted("id")[:1]
    paid = at_double(sdk.v1.payment_intents.retrieve, deposit.provider_reference)
    token = booking.card_ids.token_id.filtered("active")[:1]
    card = at_double(
        sdk.v1.payment_methods.retrieve, token.clock_stripe_payment_method_id
    )
    held = [
        at_double(sdk.v1.payment_intents.retrieve, hold.provider_reference)
        for hold in booking.clock_hold_ids
    ]
    held = [intent for intent in held if intent and intent.status == "requires_capture"]
    decimals = booking.currency_id.decimal_places
    lines = []
    if card:
        lines.append(
            f"card {card.card.brand} ending {card.card.last4} (on file at the double)"
        )
    else:
        lines.append("NO card at the double")
    if paid and paid.status == "succeeded":
        lines.append(
            f"deposit {paid.amount_received / 10**decimals:.2f} {currency} paid "
            f"({deposit.payment_id.name or 'no account.payment'})"
        )
    elif deposit:
        lines.append(f"deposit {deposit.reference} NOT found paid at the double")
    amount_held = sum(intent.amount for intent in held) / 10**decimals
    lines.append(f"{amount_held:.2f} {currency} held at the double")
    return ", ".join(lines)


def main(env):
    # As the admin user (chatter author), with superuser rights.
    env = env(user=env.ref("base.user_admin"), su=True)
    company = env.ref("base.main_company")
    set_demo_time_zone(env)
    provider = configure_provider(env, company)
    repaired = repair_from_double(env, provider)
    booking, done = ensure_card_booking(env, company, provider)
    lines = [
        f"Stripe (hotel) provider in {provider.state} mode on {API_BASE}; webhook "
        f"to {ODOO_URL}{WEBHOOK_ROUTE}",
        f"Card booking {booking.name} of {booking.partner_id.name}"
        f"{f' ({done})' if done else ''}: {measured_summary(booking)}",
        f"  back office  {ODOO_URL}/odoo/action-clock_pms.clock_reservation_action/"
        f"{booking.id}",
        # get_portal_url() gives the booking its access token: before the commit.
        f"  MyBooking    {ODOO_URL}{booking.get_portal_url()}",
    ]
    if repaired:
        lines.append(
            f"Repaired {len(repaired)} booking(s) whose Stripe objects the double "
            "did not have (see their chatter)"
        )
    lines += show_extended_hold(env, provider, booking)
    lines += ensure_virtual_card_booking(env, company, provider)
    env.cr.commit()

    tasks, failures = check_autopilot_previews(env, company)
    active = len(tasks.filtered("active"))
    lines += simulate_autopilot(env, company)
    env.cr.rollback()  # A preview or a simulation changes nothing; drop the wizards.
    lines += failures or [
        f"Payment Autopilot: {len(tasks)} example tasks ({active} active), each with "
        "a working Preview Next Run"
    ]
    if SUMMARY_FILE:  # scripts/demo prints it next to its URLs.
        with open(SUMMARY_FILE, "w", encoding="utf-8") as summary:
            summary.write("\n".join(lines) + "\n")
    else:
        print("\n".join(lines))
    for failure in failures:
        print(f"WARNING: {failure}", file=sys.stderr)


main(env)
