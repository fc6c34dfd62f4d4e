"""The fault matrix (issue 9): every money operation times every fault of the
Stripe double's fault point, one generated test per cell.

A cell runs the operation with the fault armed on the operation's one Stripe
request that moves money (or the card), shows what the user saw, then the next
reconcile pass: the events Stripe sends for what it holds (webhooks, as Stripe
would) and, for the Autopilot and card retention, their next cron pass. Then:

* at most one money movement at the double for the operation;
* Odoo's transactions, folio lines and ``account.payment`` agree with the double;
* no decline wording and no guest e-mail, since no fault is a decline;
* while it was unresolved, the user was told clearly: "not known yet, checked
  with Stripe" when Stripe may have applied the request, "nothing was done"
  when it surely did not (a rate limit).

The matrix size and each cell's result are logged on one INFO line at the end.
"""

import logging
import time
from datetime import timedelta
from types import SimpleNamespace
from unittest.mock import patch

import requests
import stripe

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import common as odoo_common
from odoo.tests import tagged
from odoo.tools import mute_logger

from .. import const, stripe_api
from .autopilot_common import AutopilotStripeCommon
from .common import STRIPE_DOUBLE_URL, flush_stripe_double
from .hotel_common import MUTE

_logger = logging.getLogger(__name__)

#: Every attempt of one SDK call: the first and the SDK's network retries.
ALL_ATTEMPTS = const.MAX_NETWORK_RETRIES + 1
#: The client timeout of the matrix, and the delay of a "slow" answer beyond it.
CLIENT_TIMEOUT = 1.0
SLOW_DELAY = 1.5

FAULTS = {
    "answer_lost": {"kind": "lose_answer"},
    "http_500": {"kind": "http_500"},
    "http_429": {"kind": "http_429", "retry_after": 1},
    "reset": {"kind": "reset"},
    "timeout": {"kind": "slow", "delay": SLOW_DELAY},
}
#: Faults after which Stripe surely did nothing: the user may simply try again.
NOTHING_DONE_FAULTS = ("http_429",)

PI = "/v1/payment_intents"
#: operation: (method, path) of its request that moves money (or the card)
OPERATIONS = {
    "guest_new_card_pay": ("POST", PI),
    "guest_new_card_hold": ("POST", PI),
    "guest_new_card_save": ("POST", "/v1/payment_methods/*/attach"),
    "guest_saved_card_pay": ("POST", PI),
    "guarantee": ("POST", PI),
    "staff_charge": ("POST", PI),
    "staff_hold": ("POST", PI),
    "staff_capture": ("POST", f"{PI}/*/capture"),
    "staff_partial_capture": ("POST", f"{PI}/*/capture"),
    "staff_release": ("POST", f"{PI}/*/cancel"),
    "staff_refund": ("POST", "/v1/refunds"),
    "autopilot_charge": ("POST", PI),
    "autopilot_hold": ("POST", PI),
    "autopilot_release": ("POST", f"{PI}/*/cancel"),
    "retention_detach": ("POST", "/v1/payment_methods/*/detach"),
}
#: Requests of those operations that Odoo does not send, so no fault of Odoo's:
#: told here rather than faked.
NOT_FAULTED = {
    "card entry (confirmCardSetup)": "sent by Stripe.js in the guest's browser; "
    "Odoo only reads the SetupIntent afterwards",
    "3-D Secure (confirmCardPayment)": "completed in the browser; Odoo reads the "
    "PaymentIntent back and the webhook settles it",
}

WEBHOOK_OF_STATUS = {
    "succeeded": "payment_intent.succeeded",
    "requires_capture": "payment_intent.amount_capturable_updated",
    "canceled": "payment_intent.canceled",
}
#: Subjects of the e-mails that ask the guest to act on a failed payment.
FAILURE_MAILS = ("please update your card", "please confirm your payment")
# The guest pages and Stripe's errors say "not known yet", the staff wizards "not
# sure yet".
UNSURE_WORDINGS = ("not known yet", "not sure yet")
NOTHING_DONE_WORDING = "nothing was done"


@tagged("post_install", "-at_install")
class TestFaultMatrix(AutopilotStripeCommon):
    """Generated: ``test_<operation>__<fault>``, one per cell."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.results = {}
        original = stripe_api._sdk_client

        def short_timeout(secret_key, api_base, timeout, max_network_retries):
            return original(secret_key, api_base, CLIENT_TIMEOUT, max_network_retries)

        # A slow answer outlasts this client timeout; the SDK's retries wait
        # little: the matrix is about outcomes, not about waiting.
        for patcher in (
            patch.object(stripe_api, "_sdk_client", short_timeout),
            patch.object(stripe.HTTPClient, "INITIAL_DELAY", 0.05),
        ):
            patcher.start()
            cls.addClassCleanup(patcher.stop)

    @classmethod
    def tearDownClass(cls):
        counts = {}
        for outcome in cls.results.values():
            counts[outcome] = counts.get(outcome, 0) + 1
        _logger.info(
            "fault matrix: %d cells (%d operations x %d faults), %s; not faulted: "
            "%s; cells: %s",
            len(OPERATIONS) * len(FAULTS),
            len(OPERATIONS),
            len(FAULTS),
            ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())),
            "; ".join(f"{what}: {why}" for what, why in NOT_FAULTED.items()),
            " ".join(
                f"{cell}={outcome}" for cell, outcome in sorted(cls.results.items())
            ),
        )
        super().tearDownClass()

    @classmethod
    def _request_handler(cls, s, r, /, **kw):
        """Odoo's tests raise any timeout below 10 s to 10 s: the requests to the
        Stripe double keep the matrix's client timeout."""
        if r.url.startswith(f"{STRIPE_DOUBLE_URL}/v1/"):
            return odoo_common._super_send(s, r, **kw)  # pylint: disable=protected-access
        return super()._request_handler(s, r, **kw)

    def setUp(self):
        super().setUp()
        flush_stripe_double()

    # === The cell === #

    def _run_cell(self, operation, fault):
        cell_name = f"{operation}/{fault}"
        self.results[cell_name] = "FAIL"
        method, path = OPERATIONS[operation]

        def arm():
            self._stripe_fault(
                method=method, path=path, times=ALL_ATTEMPTS, **FAULTS[fault]
            )

        with mute_logger(
            *MUTE, "odoo.addons.clock_stripe_payment.models.clock_autopilot_run"
        ):
            cell = getattr(self, f"_op_{operation}")(arm)
            self._disarm(fault)
            self._assert_told_clearly(cell, fault)
            self._reconcile(cell)
        self._assert_once_and_agreed(cell)
        self._assert_no_decline(cell)
        self.results[cell_name] = "ok"

    def _disarm(self, fault):
        requests.delete(f"{STRIPE_DOUBLE_URL}/_config/faults", timeout=10)
        if fault == "timeout":
            time.sleep(SLOW_DELAY + 0.5)  # The double applies what was sent.

    def _shown(self, action):
        """Run a user's action as its request does (rolled back on error); return
        the error or notification message shown, if any."""
        try:
            with self.env.cr.savepoint():
                result = action()
        except UserError as error:
            return str(error)
        if isinstance(result, dict) and result.get("tag") == "display_notification":
            return result["params"]["message"]
        if isinstance(result, dict) and result.get("error"):
            return result["error"]
        return None

    # === Operations: each arms the fault with ``arm()`` before its request === #

    def _cell(self, booking, shown=None, **values):
        return SimpleNamespace(
            booking=booking, shown=shown, run=None, token=None, task=None, **values
        )

    def _guest_tx(self, booking, **values):
        values.setdefault("amount", 100.0)
        return self._clock_tx(
            partner_id=booking.partner_id.id,
            currency_id=self.hotel_currency.id,
            clock_reservation_ids=[Command.set(booking.ids)],
            **values,
        )

    def _guest_new_card(self, arm, booking=None, **values):
        booking = booking or self._booking()
        tx = self._guest_tx(booking, **values)
        setup_intent = self._confirm_card_setup(tx)
        arm()
        shown = self._shown(
            lambda: tx._clock_stripe_confirm_from_browser(setup_intent_id=setup_intent)
        )
        return self._cell(booking, shown, setup_intent=setup_intent)

    def _op_guest_new_card_pay(self, arm):
        return self._guest_new_card(arm)

    def _op_guest_new_card_hold(self, arm):
        return self._guest_new_card(arm, clock_stripe_capture_manually=True)

    def _op_guest_new_card_save(self, arm):
        return self._guest_new_card(
            arm, amount=0.0, operation="validation", tokenize=True
        )

    def _op_guarantee(self, arm):
        booking = self._booking(policy=self.policy_hold, confirm=False)
        cell = self._guest_new_card(  # As the booking's guarantee route does.
            arm,
            booking,
            clock_guarantee=True,
            clock_stripe_capture_manually=True,
            tokenize=True,
        )
        cell.guarantee = True
        return cell

    def _op_guest_saved_card_pay(self, arm):
        booking = self._booking()
        token = self._card_on_file(booking)
        tx = self._guest_tx(booking, flow="token", token_id=token.id)
        arm()
        return self._cell(booking, self._shown(tx._send_payment_request))

    def _booking_with_card(self):
        booking = self._booking()
        return booking, self._card_on_file(booking)

    def _staff_charge(self, arm, hold):
        booking, token = self._booking_with_card()
        wizard = self.env["clock.charge.wizard"].create(
            {"reservation_id": booking.id, "amount": 100.0, "hold": hold}
        )
        arm()
        return self._cell(booking, self._shown(wizard.action_confirm))

    def _op_staff_charge(self, arm):
        return self._staff_charge(arm, hold=False)

    def _op_staff_hold(self, arm):
        return self._staff_charge(arm, hold=True)

    def _staff_capture(self, arm, amount):
        booking, token = self._booking_with_card()
        hold = booking._clock_charge(token, 100.0, hold=True)
        arm()
        return self._cell(
            booking, self._shown(lambda: booking._clock_capture(hold, amount))
        )

    def _op_staff_capture(self, arm):
        return self._staff_capture(arm, None)

    def _op_staff_partial_capture(self, arm):
        return self._staff_capture(arm, 60.0)

    def _op_staff_release(self, arm):
        booking, token = self._booking_with_card()
        hold = booking._clock_charge(token, 100.0, hold=True)
        arm()
        return self._cell(
            booking, self._shown(lambda: booking._clock_release_holds(hold))
        )

    def _op_staff_refund(self, arm):
        booking, token = self._booking_with_card()
        payment = booking._clock_charge(token, 100.0)
        arm()
        wizard = self.env["clock.refund.wizard"].create(
            {"reservation_id": booking.id, "transaction_id": payment.id, "amount": 40.0}
        )
        return self._cell(booking, self._shown(wizard.action_confirm))

    def _autopilot(self, arm, booking, task):
        arm()
        self._run_cron()
        cell = self._cell(booking)
        cell.task = task
        cell.run = self._run_of(task, booking)
        return cell

    def _op_autopilot_charge(self, arm):
        booking = self._stay(arrival_in=2)
        self._add_card(booking)
        task = self._week_before_arrival_task(
            operation="charge", amount_basis="balance"
        )
        return self._autopilot(arm, booking, task)

    def _op_autopilot_hold(self, arm):
        booking = self._stay(arrival_in=2)
        self._add_card(booking)
        task = self._week_before_arrival_task(
            operation="hold", amount_basis="nights", amount_nights=1
        )
        return self._autopilot(arm, booking, task)

    def _op_autopilot_release(self, arm):
        booking = self._stay(arrival_in=0)
        token = self._add_card(booking)
        booking._clock_charge(token, 100.0, hold=True)
        task = self._create_task(mode="after_creation", operation="release")
        return self._autopilot(arm, booking, task)

    def _op_retention_detach(self, arm):
        booking = self._checked_out(days_ago=40)
        token = self._card_on_file(booking)
        arm()
        self._run_card_retention()
        cell = self._cell(booking)
        cell.token = token
        return cell

    # === Reconcile pass === #

    def _intents(self):
        """Every PaymentIntent at the double (flushed before each cell)."""
        return self.stripe.v1.payment_intents.list(params={"limit": 100}).to_dict()[
            "data"
        ]

    def _refunds(self, payment_intent):
        return self.stripe.v1.refunds.list(
            params={"payment_intent": payment_intent["id"], "limit": 100}
        ).to_dict()["data"]

    def _deliver(self, event_type, obj):
        """A webhook event, applied as the webhook route applies it."""
        with self.env.cr.savepoint():
            self.env["clock.stripe.event"].sudo()._clock_stripe_process(
                self.provider, self._event(event_type, obj)
            )

    def _reconcile(self, cell):
        """The next pass: Stripe's webhooks for what it holds, then the crons."""
        if getattr(cell, "setup_intent", None):
            setup_intent = self.stripe.v1.setup_intents.retrieve(cell.setup_intent)
            if setup_intent.status == "succeeded":
                self._deliver("setup_intent.succeeded", setup_intent.to_dict())
        for payment_intent in self._intents():
            metadata = payment_intent.get("metadata") or {}
            if metadata.get(const.METADATA_PURPOSE_KEY):
                continue  # A card-check hold, released at once by Odoo.
            event_type = WEBHOOK_OF_STATUS.get(payment_intent["status"])
            if event_type:
                self._deliver(event_type, payment_intent)
            if self._refunds(payment_intent):
                charge = self.stripe.v1.charges.retrieve(
                    payment_intent["latest_charge"]
                ).to_dict()
                self._deliver("charge.refunded", charge)
        if cell.task:
            self._run_cron(self.now + timedelta(minutes=15))
        if cell.token:
            self._run_card_retention()

    # === Checks === #

    def _assert_told_clearly(self, cell, fault):
        """What the user saw while the outcome was unresolved."""
        if cell.run:
            # Stripe busy (429): a charge or hold stays due and is sent again later;
            # a release is asked again at the next run, like any unanswered one.
            expected = (
                ("retry", "unknown", "done")
                if fault in NOTHING_DONE_FAULTS
                else ("unknown", "done")
            )
            self.assertIn(cell.run.state, expected, cell.run.message)
            if cell.run.state != "done":
                return
        if cell.token:
            self.assertTrue(
                cell.token.active
                or not self._stripe_pm(cell.token.clock_stripe_payment_method_id).get(
                    "customer"
                ),
                "a card is archived only once it is detached at Stripe",
            )
            return
        shown = (cell.shown or "").lower()
        if fault in NOTHING_DONE_FAULTS:
            self.assertIn(NOTHING_DONE_WORDING, shown)
        elif shown:
            self.assertTrue(any(wording in shown for wording in UNSURE_WORDINGS), shown)

    def _stripe_movements(self):
        """Net money per PaymentIntent at the double, in major units."""
        money = {}
        for payment_intent in self._intents():
            if (payment_intent.get("metadata") or {}).get(const.METADATA_PURPOSE_KEY):
                continue
            refunds = self._refunds(payment_intent)
            self.assertLessEqual(len(refunds), 1, "refunded once at most")
            if payment_intent["status"] == "requires_capture":
                money[payment_intent["id"]] = (
                    "requires_capture",
                    payment_intent["amount"] / 100.0,
                )
            elif payment_intent["status"] == "succeeded":
                received = payment_intent["amount_received"]
                money[payment_intent["id"]] = (
                    "succeeded",
                    (received - sum(r["amount"] for r in refunds)) / 100.0,
                )
        return money

    def _assert_once_and_agreed(self, cell):
        booking = cell.booking
        references = booking.transaction_ids.mapped("reference")
        intents = [
            pi
            for pi in self._intents()
            if not (pi.get("metadata") or {}).get(const.METADATA_PURPOSE_KEY)
        ]
        for reference in references:
            self.assertLessEqual(
                len(
                    [
                        pi
                        for pi in intents
                        if pi["metadata"].get(const.METADATA_REFERENCE_KEY) == reference
                    ]
                ),
                1,
                f"one PaymentIntent at most for {reference}",
            )
        movements = self._stripe_movements()
        txs = booking.transaction_ids
        txs |= (
            txs.child_transaction_ids | txs.child_transaction_ids.child_transaction_ids
        )
        held = sum(
            net for status, net in movements.values() if status == "requires_capture"
        )
        taken = sum(net for status, net in movements.values() if status == "succeeded")
        lines = booking.folio_ids.line_ids.filtered(lambda line: line.kind == "payment")
        self.assertEqual(sum(lines.mapped("amount")), taken, "the folio agrees")
        payments = txs.payment_id
        self.assertEqual(
            sum(
                p.amount * (-1 if p.payment_type == "outbound" else 1) for p in payments
            ),
            taken,
            "accounting agrees",
        )
        self.assertEqual(len(payments), len(lines), "one account.payment per line")
        holds = txs._clock_filter_active_holds()
        self.assertEqual(
            sum(hold._clock_get_remaining_hold() for hold in holds),
            held,
            "the holds agree",
        )
        for pi_id, (status, _net) in movements.items():
            root = txs.filtered(
                lambda tx, pi_id=pi_id: tx.provider_reference == pi_id
                and not tx.source_transaction_id
            )
            self.assertTrue(root, f"Odoo knows {pi_id} ({status})")
        if getattr(cell, "guarantee", False) and movements:
            self.assertEqual(booking.state, "confirmed", "the hold guarantees it")
        if cell.token:
            detached = not self._stripe_pm(
                cell.token.clock_stripe_payment_method_id
            ).get("customer")
            self.assertTrue(detached, "the card is detached at Stripe")
            self.assertFalse(cell.token.active, "and archived in Odoo")

    def _assert_no_decline(self, cell):
        txs = cell.booking.transaction_ids
        for tx in txs:
            self.assertNotIn("declin", (tx.state_message or "").lower(), tx.reference)
        if cell.run:
            self.assertNotIn("declin", (cell.run.message or "").lower())
            self.assertFalse(cell.run.failure_kind)
        self.assertNotIn("declin", (cell.shown or "").lower())
        mails = cell.booking.message_ids.filtered(
            lambda m: any(words in (m.subject or "") for words in FAILURE_MAILS)
        )
        self.assertFalse(mails, "no guest e-mail about a failed payment")


def _make_cell_test(operation, fault):
    def test(self):
        self._run_cell(operation, fault)

    test.__name__ = f"test_{operation}__{fault}"
    test.__doc__ = f"{operation} under {fault}"
    return test


for _operation in OPERATIONS:
    for _fault in FAULTS:
        setattr(
            TestFaultMatrix,
            f"test_{_operation}__{_fault}",
            _make_cell_test(_operation, _fault),
        )
