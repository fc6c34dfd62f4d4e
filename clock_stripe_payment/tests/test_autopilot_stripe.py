"""Payment Autopilot end to end: tasks charge, hold and release through the Stripe
(hotel) provider against localstripe, with the folio effect, the success and
failure actions, retries, authentication, the preview and crash safety."""

from datetime import datetime, time, timedelta
from unittest.mock import patch

from odoo.tests import tagged
from odoo.tools import mute_logger

from ..stripe_api import ClockStripeClient, ClockStripeError
from .autopilot_common import AutopilotStripeCommon
from .common import CARD_3DS, CARD_DECLINED_AT_CHARGE


class Crash(Exception):
    """A worker killed between Stripe's answer and the commit."""


@tagged("post_install", "-at_install")
class TestAutopilotStripe(AutopilotStripeCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.todo = cls.env.ref("mail.mail_activity_data_todo")

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------

    def _intents_of(self, tx):
        """The PaymentIntents localstripe holds for ``tx``'s reference."""
        intents, params = [], {"limit": 100}
        while True:
            page = self.stripe.v1.payment_intents.list(params=dict(params)).to_dict()
            intents += [
                pi
                for pi in page["data"]
                if (pi.get("metadata") or {}).get("odoo_reference") == tx.reference
            ]
            if not page.get("has_more"):
                return intents
            params["starting_after"] = page["data"][-1]["id"]

    def _process_until_crash(self, run):
        """Process ``run`` until the patched step raises :class:`Crash`, then lose
        what was not committed. (Odoo's ``assertRaises`` would roll back to a
        savepoint of its own: not what a crash does.)"""
        try:
            run._autopilot_process(self.now)
        except Crash:
            self._crash()
        else:
            self.fail("the worker did not crash")

    def _week_before_arrival_task(self, operation="charge", **vals):
        """A task that takes the balance a week (168 hours) before arrival."""
        return self._create_task(
            mode="before_arrival",
            offset_hours=168,
            operation=operation,
            amount_basis="balance",
            **vals,
        )

    def _crash_in(self, task, booking, step):
        """Plan ``task``, commit the run of ``booking`` and process it until the
        run's method ``step`` crashes; return the run."""
        with (
            self._commits_as_savepoints(),
            patch.object(type(self.Run), step, side_effect=Crash),
        ):
            task._autopilot_plan(self.now)
            run = self._run_of(task, booking)
            run._autopilot_commit()
            self._process_until_crash(run)
        return run

    def _payment_lines(self, booking):
        return booking.folio_ids.line_ids.filtered(lambda line: line.kind == "payment")

    def _messages(self, booking, text):
        return booking.message_ids.filtered(
            lambda m: text in (m.subject or "") or text in (m.body or "")
        )

    # ------------------------------------------------------------------
    # Operations with their folio effect
    # ------------------------------------------------------------------

    def test_charge_the_balance_a_week_before_arrival(self):
        booking = self._stay(arrival_in=5)
        token = self._add_card(booking)
        task = self._week_before_arrival_task(
            card_choice="guest",
            success_mark_guaranteed=True,
            success_note="Balance charged by the Autopilot.",
        )
        self.assertEqual(booking.balance, 200.0)
        self._run_cron()
        run = self._run_of(task, booking)
        self.assertRecordValues(
            run,
            [
                {
                    "state": "done",
                    "amount": 200.0,
                    "token_id": token.id,
                    "operation": "charge",
                    "retries": 0,
                }
            ],
        )
        tx = run.transaction_id
        self.assertEqual(tx.state, "done")
        self.assertEqual(tx.operation, "offline")
        self.assertIn(booking, tx.clock_reservation_ids)
        self.assertEqual(len(self._intents_of(tx)), 1)
        self.assertEqual(self._payment_lines(booking).mapped("amount"), [200.0])
        self.assertEqual(booking.balance, 0.0)
        self.assertEqual(booking.guarantee_status, "guaranteed")
        self.assertTrue(self._messages(booking, "Balance charged by the Autopilot."))
        # One message on the booking for the charge: its outcome, neither
        # preceded by "initiated" nor said again when the payment is posted.
        self.assertEqual(len(self._messages(booking, "Payment of")), 1)
        self.assertFalse(self._messages(booking, "initiated"))

    def test_a_run_another_worker_holds_is_not_sent(self):
        """Between the commit of the running run and the charge, another worker
        (a reconciliation) took the run's lock: this one sends nothing."""
        booking = self._stay(arrival_in=5)
        self._add_card(booking)
        task = self._week_before_arrival_task()
        run_class = type(self.env["clock.autopilot.run"])
        lock = run_class._autopilot_lock

        def taken_once_running(run, states):
            return False if tuple(states) == ("running",) else lock(run, states)

        with (
            patch.object(run_class, "_autopilot_lock", taken_once_running),
            patch.object(ClockStripeClient, "create_payment_intent") as create,
        ):
            self._run_cron()
        create.assert_not_called()
        run = self._run_of(task, booking)
        self.assertEqual(run.state, "running")
        self.assertEqual(run.transaction_id.state, "draft")

    def test_hold_after_creation_then_release_after_check_out(self):
        booking = self._stay(arrival_in=1, nights=3)
        self._add_card(booking)
        hold_task = self._create_task(
            mode="after_creation",
            operation="hold",
            amount_basis="nights",
            amount_nights=1,
        )
        release_task = self._create_task(
            mode="after_check_out", offset_hours=24, operation="release"
        )
        self._run_cron()
        hold_run = self._run_of(hold_task, booking)
        self.assertEqual(hold_run.state, "done")
        hold = hold_run.transaction_id
        self.assertEqual(hold.state, "authorized")
        self.assertEqual(hold.amount, 100.0)
        self.assertEqual(booking._autopilot_active_holds(), hold)
        self.assertFalse(self._payment_lines(booking), "a hold is not a payment")

        booking.action_check_in()
        booking.action_check_out()
        checked_out = booking.checked_out_at
        self._run_cron(checked_out + timedelta(hours=23))
        self.assertFalse(self._run_of(release_task, booking), "not due yet")
        self._run_cron(checked_out + timedelta(hours=24, minutes=1))
        release_run = self._run_of(release_task, booking)
        self.assertEqual(release_run.state, "done")
        self.assertEqual(release_run.amount, 100.0)
        self.assertEqual(hold.state, "cancel")
        self.assertFalse(booking._autopilot_active_holds())
        self.assertFalse(self._payment_lines(booking))

    def test_release_without_hold_is_nothing_to_do(self):
        booking = self._stay(arrival_in=0)
        booking.action_check_in()
        booking.action_check_out()
        task = self._create_task(mode="after_check_out", operation="release")
        self._run_cron(booking.checked_out_at + timedelta(minutes=1))
        self.assertEqual(self._run_of(task, booking).state, "skipped")

    def test_cancellation_fee(self):
        booking = self._stay(arrival_in=20)
        self._add_card(booking)
        task = self._create_task(
            mode="after_cancellation",
            operation="charge",
            amount_basis="fixed",
            amount_fixed=50.0,
        )
        self._run_cron()
        self.assertFalse(self._run_of(task, booking), "not cancelled yet")
        booking.action_cancel()
        self._run_cron(booking.cancelled_at + timedelta(seconds=1))
        run = self._run_of(task, booking)
        self.assertEqual(run.state, "done")
        self.assertEqual(run.transaction_id.amount, 50.0)
        self.assertEqual(self._payment_lines(booking).mapped("amount"), [50.0])

    def test_ota_virtual_card_is_charged_on_the_arrival_day(self):
        booking = self._stay(arrival_in=0, channel="ota")
        guest_card = self._add_card(booking, "guest")
        virtual_card = self._add_card(booking, "virtual")
        direct = self._stay(arrival_in=0)
        self._add_card(direct, "virtual")
        task = self._create_task(
            mode="before_arrival",
            offset_hours=0,
            channel_filter="ota",
            card_type_filter="virtual",
            operation="charge",
            card_choice="virtual",
            amount_basis="balance",
            success_hide_folio=True,
        )
        noon = booking.autopilot_arrival_noon_at
        self._run_cron(noon - timedelta(minutes=1))
        self.assertFalse(self._run_of(task, booking))
        self._run_cron(noon)
        run = self._run_of(task, booking)
        self.assertEqual(run.state, "done")
        self.assertEqual(run.token_id, virtual_card)
        self.assertNotEqual(run.token_id, guest_card)
        self.assertTrue(booking.folio_ids.hide_on_portal)
        self.assertFalse(self._run_of(task, direct), "not an OTA booking")

    def test_task_on_a_virtual_card_waits_for_its_activation_date(self):
        booking = self._stay(arrival_in=0, channel="ota")
        token = self._add_card(booking, "virtual")
        card = booking.card_ids
        card.activation_date = booking.arrival_date + timedelta(days=1)
        task = self._create_task(
            mode="before_arrival",
            offset_hours=0,
            operation="charge",
            card_choice="virtual",
            amount_basis="balance",
            failure_retries=0,
            failure_template_id=self.env.ref(
                "clock_stripe_payment.clock_autopilot_mail_template_failure"
            ).id,
        )
        noon = booking.autopilot_arrival_noon_at
        with self._spy_stripe() as calls:
            self._run_cron(noon)
        run = self._run_of(task, booking)
        self.assertEqual(run.state, "retry")
        self.assertFalse(run.failure_kind)
        self.assertEqual(run.retries, 0)
        # Midnight of the activation day in Sofia (UTC+2 in winter, +3 in summer).
        active_from = card._clock_get_active_from()
        self.assertEqual(run.next_retry_at, active_from)
        midnight = datetime.combine(card.activation_date, time())
        self.assertIn(midnight - active_from, (timedelta(hours=2), timedelta(hours=3)))
        self.assertIn("can be charged from", run.message)
        self.assertFalse(run.transaction_id)
        self.assertFalse(calls)
        self.assertFalse(self._messages(booking, "please update your card"))

        self._run_cron(active_from - timedelta(minutes=1))
        self.assertEqual(run.state, "retry", "still not active")
        self._run_cron(active_from)
        self.assertEqual(run.state, "done")
        self.assertEqual(run.transaction_id.token_id, token)
        self.assertEqual(run.transaction_id.amount, 200.0)
        self.assertEqual(self._payment_lines(booking).mapped("amount"), [200.0])
        self.assertFalse(self._messages(booking, "please update your card"))

    # ------------------------------------------------------------------
    # Actions, failures, retries, authentication
    # ------------------------------------------------------------------

    def test_success_actions_of_a_task_without_transaction(self):
        booking = self._stay()
        template = self.env.ref(
            "clock_stripe_payment.clock_autopilot_mail_template_authentication"
        )
        task = self._create_task(
            operation="none",
            success_mark_guaranteed=True,
            success_hide_folio=True,
            success_template_id=template.id,
            success_activity_type_id=self.todo.id,
            success_activity_user_id=self.payments_manager.id,
            success_note="Expedia collect: folio hidden.",
        )
        self._run_cron()
        run = self._run_of(task, booking)
        self.assertEqual(run.state, "done")
        self.assertFalse(run.transaction_id)
        self.assertEqual(booking.guarantee_status, "guaranteed")
        self.assertTrue(booking.folio_ids.hide_on_portal)
        self.assertTrue(self._messages(booking, "please confirm your payment"))
        activity = booking.activity_ids
        self.assertEqual(activity.user_id, self.payments_manager)
        self.assertEqual(activity.activity_type_id, self.todo)
        self.assertTrue(self._messages(booking, "Expedia collect: folio hidden."))

    @mute_logger("odoo.addons.clock_stripe_payment.stripe_api")
    def test_declined_card_is_retried_then_the_failure_actions_run(self):
        booking = self._stay(arrival_in=3)
        self._add_card(booking, number=CARD_DECLINED_AT_CHARGE)
        task = self._week_before_arrival_task(
            failure_retries=1,
            failure_retry_delay_hours=24,
            failure_template_id=self.env.ref(
                "clock_stripe_payment.clock_autopilot_mail_template_failure"
            ).id,
            failure_activity_type_id=self.todo.id,
            failure_activity_user_id=self.payments_manager.id,
            failure_note="Card declined.",
        )
        self._run_cron()
        run = self._run_of(task, booking)
        self.assertEqual(run.state, "retry")
        self.assertEqual(run.retries, 1)
        self.assertEqual(run.failure_kind, "error")
        self.assertEqual(run.next_retry_at, self.now + timedelta(hours=24))
        first_tx = run.transaction_id
        self.assertEqual(first_tx.state, "error")
        self.assertFalse(self._messages(booking, "please update your card"))
        self.assertFalse(booking.activity_ids)

        self._run_cron(self.now + timedelta(hours=23))
        self.assertEqual(run.state, "retry", "the retry is not due yet")
        self.assertEqual(run.transaction_id, first_tx)

        self._run_cron(self.now + timedelta(hours=24, minutes=1))
        self.assertEqual(run.state, "failed")
        self.assertEqual(len(run.transaction_ids), 2)
        self.assertNotEqual(run.transaction_id, first_tx)
        self.assertEqual(run.transaction_id.state, "error")
        self.assertTrue(self._messages(booking, "please update your card"))
        self.assertEqual(booking.activity_ids.user_id, self.payments_manager)
        self.assertTrue(self._messages(booking, "Card declined."))
        self.assertFalse(self._payment_lines(booking))
        self._run_cron(self.now + timedelta(days=5))
        self.assertEqual(len(run.transaction_ids), 2, "never tried again")

    def test_booking_without_card_fails_with_the_failure_actions(self):
        booking = self._stay()
        task = self._create_task(
            operation="charge",
            amount_basis="fixed",
            amount_fixed=20,
            failure_template_id=self.env.ref(
                "clock_stripe_payment.clock_autopilot_mail_template_failure"
            ).id,
        )
        self._run_cron()
        run = self._run_of(task, booking)
        self.assertEqual(run.state, "failed")
        self.assertEqual(run.failure_kind, "no_card")
        self.assertFalse(run.transaction_id)
        self.assertTrue(self._messages(booking, "please update your card"))

    def test_authentication_required_emails_the_link_instead_of_retrying(self):
        booking = self._stay(arrival_in=3)
        self._add_card(booking, number=CARD_3DS)
        task = self._week_before_arrival_task(failure_retries=3)
        self._run_cron()
        run = self._run_of(task, booking)
        self.assertEqual(run.state, "failed")
        self.assertEqual(run.failure_kind, "authentication_required")
        self.assertEqual(run.retries, 0)
        mail = self._messages(booking, "please confirm your payment")
        self.assertTrue(mail)
        folio = booking.folio_ids
        self.assertIn(f"/my/bookings/{booking.id}/folio/{folio.id}/pay", mail.body)
        self.assertIn("amount=200.0", mail.body)
        self.assertIn("access_token=", mail.body)
        self.assertEqual(mail.partner_ids, booking.partner_id)
        self._run_cron(self.now + timedelta(days=2))
        self.assertEqual(len(run.transaction_ids), 1, "no retry")

    # ------------------------------------------------------------------
    # Preview, idempotency, concurrency in one cursor, crashes
    # ------------------------------------------------------------------

    def test_preview_equals_run(self):
        with_card = self._stay(arrival_in=4)
        self._add_card(with_card)
        without_card = self._stay(arrival_in=4)
        paid = self._stay(arrival_in=4)
        self._add_card(paid)
        paid.folio_ids.line_ids = [
            (0, 0, {"name": "Paid", "kind": "payment", "amount": paid.balance})
        ]
        not_yet = self._stay(arrival_in=30)
        self._add_card(not_yet)
        task = self._week_before_arrival_task()
        action = task.action_preview()
        preview = self.env["clock.autopilot.preview"].browse(action["res_id"])
        self.assertEqual(
            set(preview.line_ids.reservation_id.ids),
            {with_card.id, without_card.id, paid.id},
        )
        self.assertFalse(self.Run.search([("task_id", "=", task.id)]), "no change")
        lines = {
            line["reservation_id"]: line
            for line in task._autopilot_preview_lines(self.now)
        }
        self.assertEqual(set(lines), set(preview.line_ids.reservation_id.ids))

        self._run_cron()
        runs = self.Run.search([("task_id", "=", task.id)])
        self.assertEqual(set(runs.reservation_id.ids), set(lines))
        outcome_of_state = {"done": "act", "skipped": "skip", "failed": "no_card"}
        for run in runs:
            line = lines[run.reservation_id.id]
            self.assertEqual(run.amount, line["amount"])
            self.assertEqual(run.token_id.id, line["token_id"])
            self.assertEqual(run.due_at, line["due_at"])
            self.assertEqual(outcome_of_state[run.state], line["outcome"])
            if run.transaction_id:
                self.assertEqual(run.transaction_id.amount, line["amount"])
                self.assertEqual(run.transaction_id.token_id.id, line["token_id"])

    def test_cron_run_twice_charges_once(self):
        booking = self._stay(arrival_in=2)
        self._add_card(booking)
        task = self._week_before_arrival_task()
        self._run_cron()
        self._run_cron()
        self._run_cron(self.now + timedelta(days=1))
        run = self._run_of(task, booking)
        self.assertEqual(len(run), 1)
        txs = self.env["payment.transaction"].search(
            [("clock_reservation_ids", "in", booking.ids)]
        )
        self.assertEqual(txs, run.transaction_id)
        self.assertEqual(len(self._intents_of(txs)), 1)
        self.assertEqual(len(self._payment_lines(booking)), 1)

    def test_crash_after_stripe_answer_is_reconciled_not_charged_again(self):
        booking = self._stay(arrival_in=2)
        self._add_card(booking)
        task = self._week_before_arrival_task()
        self._crash_in(task, booking, "_autopilot_conclude")
        # The run and its transaction were committed before Stripe was called;
        # Stripe's success was lost with the crash.
        run = self._run_of(task, booking)
        tx = run.transaction_id
        self.assertEqual(run.state, "running")
        self.assertEqual(tx.state, "draft")
        self.assertFalse(tx.provider_reference)
        self.assertEqual(len(self._intents_of(tx)), 1, "charged once at Stripe")

        # A run soon after leaves it alone: its worker may still be at work.
        self._run_cron(self.now + timedelta(minutes=2))
        self.assertEqual(run.state, "running")
        # Later, the run is reconciled with Stripe instead of charged again.
        self._run_cron(self.now + timedelta(minutes=20))
        self.assertEqual(run.state, "done")
        self.assertEqual(tx.state, "done")
        self.assertEqual(len(self._intents_of(tx)), 1, "not charged twice")
        self.assertEqual(self._payment_lines(booking).mapped("amount"), [200.0])
        self.assertEqual(
            self.env["payment.transaction"].search_count(
                [("clock_reservation_ids", "in", booking.ids)]
            ),
            1,
        )

    def test_crash_before_stripe_call_sends_it_once_on_reconciliation(self):
        booking = self._stay(arrival_in=2)
        self._add_card(booking)
        task = self._week_before_arrival_task()
        run = self._crash_in(task, booking, "_autopilot_send")
        tx = run.transaction_id
        self.assertEqual((run.state, tx.state), ("running", "draft"))
        self.assertFalse(self._intents_of(tx), "Stripe never saw it")
        self._run_cron(self.now + timedelta(minutes=20))
        self.assertEqual(run.state, "done")
        self.assertEqual(len(self._intents_of(tx)), 1)

    def test_timeout_leaves_the_outcome_unknown_until_stripe_is_asked(self):
        booking = self._stay(arrival_in=2, nights=1)
        self._add_card(booking)
        task = self._week_before_arrival_task(operation="hold", failure_retries=2)
        create = ClockStripeClient.create_payment_intent

        def charged_then_timed_out(client, **kwargs):
            create(client, **kwargs)
            raise ClockStripeError("Could not reach Stripe.", kind="connection")

        with patch.object(
            ClockStripeClient, "create_payment_intent", charged_then_timed_out
        ):
            self._run_cron()
        run = self._run_of(task, booking)
        tx = run.transaction_id
        self.assertEqual(run.state, "unknown")
        self.assertEqual(len(self._intents_of(tx)), 1)
        # No outcome came back: the booking says the hold was initiated.
        self.assertTrue(self._messages(booking, "initiated"))

        self._run_cron(self.now + timedelta(minutes=15))
        self.assertEqual(run.state, "done")
        self.assertEqual(tx.state, "authorized")
        self.assertEqual(len(run.transaction_ids), 1, "no second attempt")
        self.assertEqual(len(self._intents_of(tx)), 1)

    @mute_logger("odoo.addons.clock_stripe_payment.stripe_api")
    def test_rate_limit_keeps_the_run_due_and_sends_it_once_after_retry_after(self):
        """Stripe answers 429: the run is neither failed nor retried as a
        failure (no e-mail); the same request is sent again after Retry-After."""
        booking = self._stay(arrival_in=2)
        self._add_card(booking)
        task = self._week_before_arrival_task(
            failure_retries=0,
            failure_template_id=self.env.ref(
                "clock_stripe_payment.clock_autopilot_mail_template_failure"
            ).id,
        )
        self._stripe_fault("http_429", "POST", "/v1/payment_intents", retry_after=2)
        self._run_cron()
        run = self._run_of(task, booking)
        tx = run.transaction_id
        self.assertEqual(run.state, "retry", run.message)
        self.assertFalse(run.failure_kind)
        self.assertEqual(run.retries, 0, "not a failed attempt")
        self.assertEqual(tx.state, "draft")
        self.assertFalse(self._intents_of(tx), "Stripe did nothing")
        self.assertFalse(self._messages(booking, "please update your card"))
        # Every worker holds off the account for the Retry-After.
        budget = self.provider._clock_stripe_request_budget()
        self.assertGreater(budget.reserve(), 1.0)

        self._run_cron(run.next_retry_at)
        self.assertEqual(run.state, "done", run.message)
        self.assertEqual(run.transaction_ids, tx, "the same transaction, sent again")
        self.assertEqual(tx.state, "done")
        self.assertEqual(len(self._intents_of(tx)), 1)
        self.assertEqual(self._payment_lines(booking).mapped("amount"), [200.0])
        self.assertFalse(self._messages(booking, "please update your card"))
