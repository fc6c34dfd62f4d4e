import logging
from datetime import timedelta

import psycopg2.errors

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL, format_amount, format_date

from .. import autopilot, const

_logger = logging.getLogger(__name__)

#: A run left ``running`` this long without a worker holding its row is taken to
#: have crashed, and is reconciled with the provider. Longer than any provider call
#: (the Stripe client times out after 30 s, retried twice).
RECONCILE_AFTER_MINUTES = 10

#: Transaction states that end an attempt, per operation: success and failure.
SUCCESS_STATES = {"charge": ("done",), "hold": ("authorized", "done")}
FAILURE_STATES = ("error", "cancel")
#: Operations on the booking's holds, without a transaction of their own.
HOLD_OPERATIONS = ("release", "reauthorize")

#: Run states in which the run's money may be moving (or have moved) at the
#: provider without Odoo knowing the outcome yet.
IN_FLIGHT = ("running", "unknown")


class ClockAutopilotRun(models.Model):
    """What one Autopilot task did (or is doing) to one booking.

    There is at most one run per (task, booking), enforced by a UNIQUE constraint:
    the planning inserts the row before anything is sent to the provider, so a task
    never acts twice on a booking, even with several workers or after a crash.
    """

    _name = "clock.autopilot.run"
    _description = "Payment Autopilot Run"
    _order = "due_at desc, id desc"
    _rec_name = "reservation_id"
    _check_company_auto = True

    task_id = fields.Many2one(
        "clock.autopilot.task",
        required=True,
        ondelete="cascade",
        index=True,
        readonly=True,
        context={"active_test": False},
    )
    reservation_id = fields.Many2one(
        "clock.reservation",
        string="Booking",
        required=True,
        ondelete="cascade",
        index=True,
        readonly=True,
    )
    company_id = fields.Many2one(
        "res.company", string="Hotel", required=True, index=True, readonly=True
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    partner_id = fields.Many2one(related="reservation_id.partner_id", string="Guest")
    mode = fields.Selection(related="task_id.mode")
    due_at = fields.Datetime(
        string="Due", readonly=True, index=True, help="When the task's trigger passed."
    )
    run_at = fields.Datetime(
        string="Last Attempt", readonly=True, help="When the task last acted."
    )
    running_since = fields.Datetime(readonly=True)
    operation = fields.Selection(
        [
            ("charge", "Charge"),
            ("hold", "Hold"),
            ("release", "Release holds"),
            ("reauthorize", "Re-authorize expiring holds"),
            ("none", "No transaction"),
        ],
        required=True,
        readonly=True,
    )
    amount = fields.Monetary(readonly=True)
    token_id = fields.Many2one(
        "payment.token",
        string="Card",
        readonly=True,
        ondelete="set null",
        context={"active_test": False},
    )
    state = fields.Selection(
        [
            ("planned", "Planned"),
            ("running", "Running"),
            ("done", "Done"),
            ("retry", "To Retry"),
            ("failed", "Failed"),
            ("skipped", "Nothing to Do"),
            ("unknown", "Outcome Unknown"),
        ],
        required=True,
        default="planned",
        readonly=True,
        index=True,
        help="Outcome Unknown: the provider's answer was lost (timeout, crash); the "
        "next run asks the provider what happened instead of charging again.",
    )
    failure_kind = fields.Selection(
        [
            (autopilot.FAILURE_ERROR, "Declined or error"),
            (autopilot.FAILURE_NO_CARD, "No card"),
            (autopilot.FAILURE_AUTHENTICATION, "Authentication required"),
            (autopilot.FAILURE_CAP, "Over a cap"),
        ],
        readonly=True,
    )
    transaction_id = fields.Many2one(
        "payment.transaction", string="Transaction", readonly=True, index=True
    )
    transaction_ids = fields.Many2many(
        "payment.transaction",
        "clock_autopilot_run_transaction_rel",
        "run_id",
        "transaction_id",
        string="All Transactions",
        readonly=True,
        help="Every transaction of this run, retries included.",
    )
    transaction_state = fields.Selection(
        related="transaction_id.state", string="Transaction Status"
    )
    message = fields.Text(readonly=True)
    retries = fields.Integer(readonly=True)
    next_retry_at = fields.Datetime(string="Next Retry", readonly=True, index=True)

    _sql_constraints = [
        (
            "task_reservation_uniq",
            "UNIQUE(task_id, reservation_id)",
            "A task acts on a booking once.",
        ),
    ]

    @api.ondelete(at_uninstall=False)
    def _unlink_except_started(self):
        """Only a planned run, which sent nothing, may be deleted: any other holds
        the (task, booking) slot that keeps the task from acting twice on the
        booking, and a running or unknown one holds money in flight."""
        if any(run.state != "planned" for run in self):
            raise UserError(
                _(
                    "Autopilot runs that started cannot be deleted: the task would "
                    "act on the booking again. Only planned runs can be deleted."
                )
            )

    @api.depends("task_id", "reservation_id")
    def _compute_display_name(self):
        for run in self:
            run.display_name = f"{run.task_id.name} / {run.reservation_id.name}"

    # ------------------------------------------------------------------
    # Queue
    # ------------------------------------------------------------------

    def _autopilot_runnable_domain(self, now):
        """Runs to process now: planned or due for a retry, of an active task, on
        a booking where no other run's money is in flight."""
        return [
            "|",
            ("state", "=", "planned"),
            "&",
            ("state", "=", "retry"),
            ("next_retry_at", "<=", now),
            ("task_id.active", "=", True),
            "|",
            ("reservation_id.autopilot_busy_run_id", "=", False),
            ("reservation_id.autopilot_busy_run_id.state", "not in", IN_FLIGHT),
        ]

    def _autopilot_runnable(self, now, limit=None):
        return self.search(
            self._autopilot_runnable_domain(now), order="due_at, id", limit=limit
        )

    def _autopilot_runnable_count(self, now):
        return self.search_count(self._autopilot_runnable_domain(now))

    def _autopilot_claim_next(self, now, exclude=()):
        """Lock the first runnable run that no other worker holds.

        Several cron workers share the queue: each takes the next run with
        ``FOR NO KEY UPDATE SKIP LOCKED``, so that they never wait for one
        another nor take the same run. The lock lasts until the worker's next
        commit, when the run is ``running`` (or finished) for everyone.

        :param exclude: ids this worker already tried in its batch
        :return: the run, an empty recordset when none is left, or ``None`` when
            another worker changed a candidate since this transaction began
            (the transaction is rolled back: the caller asks again)
        """
        domain = self._autopilot_runnable_domain(now)
        if exclude:
            domain = [("id", "not in", list(exclude)), *domain]
        query = self._search(domain, order="due_at, id", limit=1)
        rows = self._autopilot_execute_or_rollback(
            SQL(
                "%s FOR NO KEY UPDATE OF %s SKIP LOCKED",
                query.select(),
                SQL.identifier(self._table),
            )
        )
        if rows is None:
            return None
        return self.browse(rows[0][0] if rows else ())

    def _autopilot_commit(self):
        """Commit the work done on one booking, so that no other one undoes it.

        A cron that acts per record commits per record, as Odoo's own payment
        post-processing cron does; tests replace this method.
        """
        self.env.cr.commit()  # pylint: disable=invalid-commit

    def _autopilot_rollback(self):
        """Drop the work of a booking that failed unexpectedly; tests replace it."""
        self.env.cr.rollback()

    @api.model
    def _autopilot_execute_quietly(self, query):
        """Execute ``query`` (an ``SQL``) without logging its failure.

        For the statements whose failure is expected when another worker got
        there first (serialization failure, lock not available): the caller
        catches it. (``mute_logger`` would not do: it is not thread-safe.)
        """
        self.env.flush_query(query)
        self.env.cr.execute(query, log_exceptions=False)
        return [] if self.env.cr.description is None else self.env.cr.fetchall()

    @api.model
    def _autopilot_execute_or_rollback(self, query):
        """Execute a lock or claim ``query`` that fails when another worker got
        there first; on such a failure, roll the transaction back.

        These statements come after a commit, reads, or work that is to be
        dropped with them (a run claimed in the same transaction): a rollback
        loses nothing, and spares a savepoint on every booking.

        :return: the rows, or ``None`` when another worker got there first
        """
        try:
            return self._autopilot_execute_quietly(query)
        except (
            psycopg2.errors.SerializationFailure,
            psycopg2.errors.LockNotAvailable,
        ):
            self._autopilot_rollback()
            return None

    def _autopilot_record_crash(self, error):
        """Log on the run an unexpected error that undid its processing.

        A run still planned (or to retry) sent nothing, so it is marked failed for
        staff to look at, rather than tried again and again; a run left
        ``running`` keeps that state: its transaction may have reached the
        provider, and the reconciliation finds out.
        """
        self.ensure_one()
        try:
            self.invalidate_recordset()
            if self.state in ("planned", "retry"):
                self.write(
                    {
                        "state": "failed",
                        "failure_kind": autopilot.FAILURE_ERROR,
                        "message": _("Unexpected error: %s", error),
                    }
                )
                self._autopilot_commit()
        except Exception:  # noqa: BLE001 - already logged by the caller
            self._autopilot_rollback()

    def _autopilot_lock(self, states):
        """Lock the run's row if it is in ``states`` and no other worker holds it.

        Callers lock right after a commit, or after reads only: when another
        worker changed the row since the transaction began, the transaction is
        rolled back (nothing is lost) and the run left to that worker.

        :return: whether this worker now owns the run until its next commit
        """
        self.ensure_one()
        rows = self._autopilot_execute_or_rollback(
            SQL(
                "SELECT id FROM clock_autopilot_run WHERE id = %s "
                "AND state IN %s FOR NO KEY UPDATE SKIP LOCKED",
                self.id,
                tuple(states),
            )
        )
        self.invalidate_recordset()
        return bool(rows)

    def _autopilot_claim_booking(self):
        """Mark the booking as having this run's money in flight.

        Two runs of different tasks must not move money on one booking at the
        same time: the second would compute its amount (the balance...) before the
        first is known, or while its outcome is unknown. The claim is a write on
        the booking's row, so a concurrent worker claiming the same booking waits
        for it or fails to serialize; either way only one proceeds.

        When another worker got there first, the transaction (the run's lock
        with it) is rolled back: the run is left for a later pass.

        :return: whether the booking is this run's until its next commit
        """
        self.ensure_one()
        booking = self.reservation_id
        busy = booking.autopilot_busy_run_id
        if busy and busy != self and busy.state in IN_FLIGHT:
            return False
        claimed = self._autopilot_execute_or_rollback(
            SQL(
                "UPDATE clock_reservation SET autopilot_busy_run_id = %s "
                "WHERE id = %s",
                self.id,
                booking.id,
            )
        )
        if claimed is None:
            return False
        booking.invalidate_recordset(["autopilot_busy_run_id"])
        return True

    # ------------------------------------------------------------------
    # Processing
    # ------------------------------------------------------------------

    def _autopilot_process(self, now, claimed=False, due_domains=None):
        """Act on one planned (or due-for-retry) run.

        Transaction 1: lock the run, check the booking is still due, compute the
        amount and the card, create the payment transaction (its reference drives
        the provider's idempotency key) and mark the run ``running``; commit.
        Transaction 2: send the request to the provider, post-process, run the
        success or failure actions; commit. A crash between the two leaves a
        ``running`` run with a known transaction reference, which
        :meth:`_autopilot_reconcile` resolves with the provider.

        :param claimed: the run was locked in this transaction by
            :meth:`_autopilot_claim_next`
        :param due_domains: the still-due domains of the tasks, by task id, kept
            over a batch (see :meth:`_autopilot_still_due`)
        :return: whether the run was acted upon by this worker
        """
        self.ensure_one()
        if not claimed and not self._autopilot_lock(("planned", "retry")):
            return False
        run = self.with_company(self.company_id)
        if run.state == "retry" and run.next_retry_at and run.next_retry_at > now:
            return False
        task, booking = run.task_id, run.reservation_id
        if run.operation != "none" and not run._autopilot_claim_booking():
            return False
        if run._autopilot_rate_limited():
            # The same request, sent again now that Stripe accepts requests.
            run.write({"state": "running", "running_since": now, "run_at": now})
            run._autopilot_commit()
            if run._autopilot_lock(("running",)):
                run._autopilot_send(now)
                run._autopilot_commit()
            return True
        if not run._autopilot_still_due(now, due_domains):
            run._autopilot_commit()
            return True
        values = task._autopilot_prepare(booking)
        run.write(
            {
                "run_at": now,
                "amount": values["amount"],
                "token_id": values["token"].id,
                "message": values["message"],
            }
        )
        card = values["token"] and booking._clock_card_of(values["token"])
        active_from = card and card._clock_get_active_from()
        cap_problem = run._autopilot_cap_problem(values, now)
        if cap_problem:
            run._autopilot_stop_at_cap(cap_problem, now)
        elif values["outcome"] == "skip":
            run.state = "skipped"
        elif values["outcome"] == "no_card":
            run._autopilot_fail(autopilot.FAILURE_NO_CARD, values["message"], now)
        elif active_from and active_from > now:
            run._autopilot_wait(card, active_from)
        elif run.operation == "none":
            run._autopilot_succeed(now)
        elif run.operation in HOLD_OPERATIONS:
            run.write({"state": "running", "running_since": now})
            run._autopilot_commit()
            if not run._autopilot_lock(("running",)):
                return True  # Another worker reconciles it: never act twice.
            run._autopilot_release(now)
        else:
            try:
                tx_values = booking._clock_prepare_charge_values(
                    values["token"], values["amount"], hold=run.operation == "hold"
                )
            except (UserError, ValidationError) as error:
                # E.g. the provider was disabled, the amount is below Stripe's
                # minimum: nothing was written nor sent.
                run._autopilot_fail(autopilot.FAILURE_ERROR, str(error), now)
                run._autopilot_commit()
                return True
            # Checked: a failure to create it is unexpected, and the batch rolls
            # the booking's work back.
            tx = self.env["payment.transaction"].sudo().create(tx_values)
            run.write(
                {
                    "state": "running",
                    "running_since": now,
                    "transaction_id": tx.id,
                    "transaction_ids": [fields.Command.link(tx.id)],
                }
            )
            # The run and its transaction reference exist before Stripe is called.
            run._autopilot_commit()
            if not run._autopilot_lock(("running",)):
                return True  # Another worker reconciles it: never send twice.
            run._autopilot_send(now)
        run._autopilot_commit()
        return True

    def _autopilot_still_due(self, now, due_domains=None):
        """Whether the run's booking still matches its task; a run that no longer
        does is forgotten (planned) or skipped (a retry).

        :param due_domains: a dict kept over a batch of runs at the same ``now``,
            where each task's domain is built once (its filters are read once, as
            for the planning of the pass) rather than once per booking
        """
        self.ensure_one()
        booking = self.reservation_id
        due_domains = {} if due_domains is None else due_domains
        task_id = self.task_id.id
        if task_id not in due_domains:
            due_domains[task_id] = self.task_id._autopilot_due_domain(
                now, new_only=False
            )
        if booking.search_count([("id", "=", booking.id), *due_domains[task_id]]):
            return True
        if self.state == "planned":
            # Moved or changed since the planning: forget it, so that the task acts
            # when the booking is due again.
            self.unlink()
        else:
            self.write(
                {
                    "state": "skipped",
                    "run_at": now,
                    "message": _("The booking no longer matches the task."),
                }
            )
        return False

    def _autopilot_send(self, now):
        """Send the run's transaction to the provider and conclude."""
        self.ensure_one()
        tx = self.transaction_id
        try:
            with self.env.cr.savepoint():
                tx._send_payment_request()
        except Exception as error:  # noqa: BLE001 - any failure leaves it unknown
            _logger.warning(
                "Autopilot run %s: no answer from the provider for %s: %s",
                self.id,
                tx.reference,
                error,
            )
            self.write(
                {
                    "state": "unknown",
                    "message": _(
                        "No answer from the payment provider (%s). The next run "
                        "asks the provider what happened.",
                        error,
                    ),
                }
            )
            return
        if self._autopilot_rate_limited():
            self._autopilot_send_later(now)
            return
        self._autopilot_conclude(now)

    def _autopilot_rate_limited(self):
        """Whether the run's transaction was refused for too many requests (a
        ``429``): Stripe did nothing with it, and it is to be sent again as it
        is, with the same reference and idempotency key."""
        self.ensure_one()
        tx = self.transaction_id
        return bool(
            tx
            and tx.state == "draft"
            and tx.provider_code == const.PROVIDER_CODE
            and tx.clock_stripe_error_kind == "rate_limit"
        )

    def _autopilot_send_later(self, now):
        """Keep a rate-limited run due: it is sent again once Stripe's
        ``Retry-After`` has passed. Neither a failure nor a retry of the task
        (no failure action, no e-mail): only the request waits."""
        self.ensure_one()
        retry_at = max(
            self.transaction_id.provider_id._clock_stripe_request_budget()
            .next_request_at()
            .replace(microsecond=0)
            + timedelta(seconds=1),
            now,
        )
        self.write(
            {
                "state": "retry",
                "next_retry_at": retry_at,
                "message": _(
                    "Stripe is receiving too many requests: the payment is sent "
                    "again at the next retry, when Stripe accepts requests again."
                ),
            }
        )
        cron = self.env.ref(
            "clock_stripe_payment.ir_cron_clock_autopilot", raise_if_not_found=False
        )
        if cron:
            cron._trigger(at=retry_at)

    def _autopilot_release(self, now):
        """Release the booking's holds, or re-authorize those expiring soon."""
        self.ensure_one()
        if self.operation == "reauthorize":
            self._autopilot_reauthorize(now)
            return
        booking = self.reservation_id
        try:
            with self.env.cr.savepoint():
                booking._clock_release_holds()
        except Exception as error:  # noqa: BLE001 - reported on the run
            _logger.warning("Autopilot run %s: release failed: %s", self.id, error)
            if self.env["payment.transaction"]._autopilot_error_outcome_unknown(error):
                # The holds may be released already: the next run asks again
                # (the same request, the same idempotency key).
                self.write(
                    {
                        "state": "unknown",
                        "message": _(
                            "Stripe is busy: nothing was released yet. The next "
                            "run sends the release again."
                        )
                        if error.kind == "rate_limit"
                        else _(
                            "No answer from the payment provider (%s). The next "
                            "run asks the provider again.",
                            error,
                        ),
                    }
                )
                return
            self._autopilot_fail(autopilot.FAILURE_ERROR, str(error), now)
            return
        left = booking._autopilot_active_holds()
        if left:
            self._autopilot_fail(
                autopilot.FAILURE_ERROR,
                _("%s hold(s) could not be released.", len(left)),
                now,
            )
        else:
            self._autopilot_succeed(now)

    def _autopilot_cap_problem(self, values, now):
        """Why the money this run would move goes past a cap of its task."""
        self.ensure_one()
        if values["outcome"] != "act" or self.operation not in ("charge", "hold"):
            return None
        task = self.task_id
        moved = 0.0
        if task.cap_per_run > 0:  # Without a cap per run, no need to add up.
            moved = sum(
                self.search(
                    [
                        ("task_id", "=", task.id),
                        ("run_at", "=", now),
                        ("state", "in", ("running", "unknown", "done")),
                        ("id", "!=", self.id),
                    ]
                ).mapped("amount")
            )
        return task._autopilot_cap_problem(self.reservation_id, values["amount"], moved)

    def _autopilot_stop_at_cap(self, reason, now):
        """Stop instead of moving money past a cap: nothing is sent, the run says
        why, and the task's chatter alerts its followers (once per cron run)."""
        self.ensure_one()
        alerted = self.search_count(
            [
                ("task_id", "=", self.task_id.id),
                ("run_at", "=", now),
                ("failure_kind", "=", autopilot.FAILURE_CAP),
            ]
        )
        self.write(
            {
                "state": "failed",
                "failure_kind": autopilot.FAILURE_CAP,
                "next_retry_at": False,
                "message": _("Stopped, nothing was charged: %s", reason),
            }
        )
        if not alerted:
            self.task_id.message_post(
                body=_(
                    "The Autopilot stopped at a cap of this task instead of "
                    "charging %(booking)s: %(reason)s Check the task and the run "
                    "log.",
                    booking=self.reservation_id.name,
                    reason=reason,
                ),
                message_type="comment",
                subtype_xmlid="mail.mt_comment",
            )

    def _autopilot_reauthorize(self, now):
        """Renew each hold expiring within the task's hours; a hold whose renewal
        fails is kept (the booking carries the staff alert) and fails the run."""
        self.ensure_one()
        booking = self.reservation_id
        holds = booking._clock_holds_expiring_within(
            self.task_id.reauthorize_within_hours
        )
        failed = []
        for hold in holds:
            with self.env.cr.savepoint():
                new = booking._clock_reauthorize_hold(hold)
            if new.state == "authorized":
                self.transaction_ids = [fields.Command.link(new.id)]
            else:
                failed.append(hold.reference)
        if failed:
            self._autopilot_fail(
                autopilot.FAILURE_ERROR,
                _(
                    "The hold(s) %s could not be renewed and are kept until they "
                    "expire.",
                    ", ".join(failed),
                ),
                now,
            )
        else:
            self._autopilot_succeed(now)

    def _autopilot_conclude(self, now, reconciled=False):
        """Turn the transaction's state into the run's outcome.

        :param reconciled: the provider was just asked about the transaction, so
            its state is the provider's last word
        """
        self.ensure_one()
        tx = self.transaction_id
        if not reconciled and tx._autopilot_answer_lost():
            self.write(
                {
                    "state": "unknown",
                    "message": _(
                        "The payment provider's answer for %(reference)s was lost "
                        "(%(error)s). The next run asks the provider what happened.",
                        reference=tx.reference,
                        error=tx.state_message or tx.state,
                    ),
                }
            )
            return
        tx._autopilot_post_process()
        if tx.state in SUCCESS_STATES.get(self.operation, ()):
            self._autopilot_succeed(now)
        elif tx._autopilot_requires_authentication():
            self._autopilot_fail(
                autopilot.FAILURE_AUTHENTICATION,
                _("The bank asks the guest to authenticate the payment."),
                now,
            )
        elif tx.state in FAILURE_STATES:
            self._autopilot_fail(
                autopilot.FAILURE_ERROR,
                tx.state_message or _("The payment failed."),
                now,
            )
        else:
            self.write(
                {
                    "state": "unknown",
                    "message": _(
                        "The transaction %(reference)s is %(state)s; the next run "
                        "checks it again.",
                        reference=tx.reference,
                        state=tx.state,
                    ),
                }
            )

    def _autopilot_succeed(self, now):
        self.ensure_one()
        self.write(
            {
                "state": "done",
                "failure_kind": False,
                "next_retry_at": False,
                "message": self._autopilot_result_text(success=True),
            }
        )
        self._autopilot_run_actions("success")

    def _autopilot_wait(self, card, active_from):
        """Put the run off until the virtual ``card`` can be charged: no failure,
        no retry used, no failure actions (no guest e-mail)."""
        self.ensure_one()
        self.write(
            {
                "state": "retry",
                "failure_kind": False,
                "next_retry_at": active_from,
                "message": _(
                    "The virtual card %(card)s can be charged from %(date)s: the "
                    "task waits until then.",
                    card=card.card_label,
                    date=format_date(self.env, card.activation_date),
                ),
            }
        )

    def _autopilot_fail(self, kind, message, now):
        """Retry later, or give up and run the failure actions."""
        self.ensure_one()
        task = self.task_id
        if autopilot.should_retry(self.retries, task.failure_retries, kind):
            attempt = self.retries + 1
            self.write(
                {
                    "state": "retry",
                    "failure_kind": kind,
                    "retries": attempt,
                    "next_retry_at": autopilot.next_retry_time(
                        now, task.failure_retry_delay_hours, attempt
                    ),
                    "message": message,
                }
            )
            return
        self.write(
            {
                "state": "failed",
                "failure_kind": kind,
                "next_retry_at": False,
                "message": message,
            }
        )
        self._autopilot_run_actions("failure")

    def _autopilot_result_text(self, success):
        self.ensure_one()
        operations = dict(self._fields["operation"]._description_selection(self.env))
        amount = self.amount and self.currency_id.format(self.amount) or ""
        if success:
            return _(
                "%(operation)s %(amount)s done.",
                operation=operations[self.operation],
                amount=amount,
            ).replace("  ", " ")
        return self.message or ""

    # ------------------------------------------------------------------
    # Success and failure actions
    # ------------------------------------------------------------------

    def _autopilot_run_actions(self, prefix):
        """Run the task's ``success`` or ``failure`` actions on the booking.

        Each action runs in its own savepoint: a broken e-mail template must not
        undo the record of a payment that did happen.
        """
        self.ensure_one()
        task, booking = self.task_id, self.reservation_id
        actions = [
            (task[f"{prefix}_mark_guaranteed"], self._autopilot_mark_guaranteed),
            (task[f"{prefix}_hide_folio"], self._autopilot_hide_folios),
            (
                task[f"{prefix}_template_id"]
                or (prefix == "failure" and task.authentication_template_id),
                lambda: self._autopilot_send_template(prefix),
            ),
            (
                task[f"{prefix}_activity_type_id"],
                lambda: self._autopilot_activity(prefix),
            ),
            (task[f"{prefix}_note"], lambda: self._autopilot_post_note(prefix)),
        ]
        problems = []
        for enabled, action in actions:
            if not enabled:
                continue
            try:
                with self.env.cr.savepoint():
                    action()
            except Exception as error:  # noqa: BLE001 - reported on the run
                _logger.warning(
                    "Autopilot run %s on %s: a %s action failed: %s",
                    self.id,
                    booking.name,
                    prefix,
                    error,
                )
                problems.append(str(error))
        if problems:
            self.message = "\n".join(
                filter(None, [self.message, _("Actions not done:"), *problems])
            )

    def _autopilot_mark_guaranteed(self):
        booking = self.reservation_id
        if booking.state not in ("cancelled", "no_show", "checked_out"):
            booking.guarantee_status = "guaranteed"

    def _autopilot_hide_folios(self):
        self.reservation_id.folio_ids.hide_on_portal = True

    def _autopilot_send_template(self, prefix):
        task, booking = self.task_id, self.reservation_id
        template = task[f"{prefix}_template_id"]
        context = {"clock_autopilot_run_id": self.id}
        if (
            prefix == "failure"
            and self.failure_kind == autopilot.FAILURE_AUTHENTICATION
        ):
            template = task.authentication_template_id or template
            context.update(self._autopilot_authentication_link())
        if not template:
            return
        booking.with_context(**context).message_post_with_source(
            template, message_type="comment", subtype_xmlid="mail.mt_comment"
        )

    def _autopilot_authentication_link(self):
        """Where the guest completes a charge the bank wants authenticated: the
        MyBooking page paying the same amount of the same folio, on-session (the
        rendering context of the hotel flows' authentication e-mail)."""
        tx = self.transaction_id
        if self.operation != "charge" or not tx:
            return {}
        folio = tx._clock_get_folio()
        if not folio or folio.hide_on_portal:
            return {}
        booking = self.reservation_id
        return {
            "clock_pay_url": booking.get_base_url()
            + booking._clock_get_folio_pay_url(folio, tx.amount),
            "clock_pay_amount": format_amount(self.env, tx.amount, tx.currency_id),
        }

    def _autopilot_activity(self, prefix):
        task = self.task_id
        self.reservation_id.activity_schedule(
            activity_type_id=task[f"{prefix}_activity_type_id"].id,
            user_id=task[f"{prefix}_activity_user_id"].id,
            summary=_("Autopilot: %s", task.name),
            note=self.message or "",
        )

    def _autopilot_post_note(self, prefix):
        task = self.task_id
        note = task[f"{prefix}_note"]
        self.reservation_id.message_post(
            body=_(
                "Autopilot task %(task)s: %(note)s\n%(result)s",
                task=task.name,
                note=note,
                result=self.message or "",
            ),
            subtype_xmlid="mail.mt_note",
        )

    # ------------------------------------------------------------------
    # Reconciliation
    # ------------------------------------------------------------------

    def _autopilot_reconcile_domain(self, now):
        stale = now - timedelta(minutes=RECONCILE_AFTER_MINUTES)
        return [
            "|",
            ("state", "=", "unknown"),
            "&",
            ("state", "=", "running"),
            ("running_since", "<", stale),
        ]

    def _autopilot_reconcile(self, now):
        """Resolve the runs whose outcome a crash or a timeout left unknown.

        The transaction of such a run exists with its reference; ask the provider
        what became of it and process that answer. Only when the provider has
        never seen the reference is the request sent, with the same reference
        and therefore the same idempotency key: a booking is never charged twice.
        """
        reconciled = 0
        for run in self.search(self._autopilot_reconcile_domain(now), order="id"):
            if not run._autopilot_lock(("running", "unknown")):
                continue
            run = run.with_company(run.company_id)
            run.run_at = now
            if run.operation in HOLD_OPERATIONS:
                run._autopilot_release(now)
            elif not run.transaction_id:
                run._autopilot_succeed(now)
            else:
                run._autopilot_reconcile_transaction(now)
            run._autopilot_commit()
            reconciled += 1
        return reconciled

    def _autopilot_reconcile_transaction(self, now):
        self.ensure_one()
        tx = self.transaction_id
        if tx.state in ("draft", "pending") or tx._autopilot_answer_lost():
            try:
                with self.env.cr.savepoint():
                    known = tx._autopilot_fetch_from_provider()
            except Exception as error:  # noqa: BLE001 - stays unknown
                self.write(
                    {
                        "state": "unknown",
                        "message": _(
                            "The payment provider could not be asked about %(ref)s: "
                            "%(error)s",
                            ref=tx.reference,
                            error=error,
                        ),
                    }
                )
                return
            if not known and tx.state == "draft":
                # The provider never received it: send it now (same reference,
                # same idempotency key).
                self._autopilot_send(now)
                return
        self._autopilot_conclude(now, reconciled=True)
