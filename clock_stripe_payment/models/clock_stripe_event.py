# Part of clock_stripe_payment. License LGPL-3.

import json
import logging
from datetime import datetime, timedelta, timezone

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from .. import utils

_logger = logging.getLogger(__name__)

# Processed events are kept this long; Stripe retries an event for 3 days.
EVENT_RETENTION_DAYS = 30
# An event row's message as first written, in a few words.
MESSAGE_SIZE = 250
# Errors after which Stripe should send the event again: Stripe unreachable, or
# our key refused (rotated or revoked: fixed by an administrator meanwhile).
TRANSIENT_ERROR_KINDS = ("connection", "rate_limit", "api", "invalid_key", "permission")
# How long Stripe is asked to send again an event that carries one of our
# references while its transaction is not found (not committed yet). Older, the
# event is kept as an error, for an operator to replay.
REFERENCE_WAIT = timedelta(hours=1)


class ClockStripeEventNotReady(UserError):
    """The event is about one of our transactions that is not committed yet (its
    reference is unknown): Stripe should send it again later."""


def event_may_wait(event, now=None):
    """Whether Stripe should still be asked to send ``event`` again when it cannot
    be applied yet (see :data:`REFERENCE_WAIT`)."""
    created = event.get("created")
    if not created:
        return True
    now = now or datetime.now(timezone.utc)
    return now - datetime.fromtimestamp(created, timezone.utc) < REFERENCE_WAIT


class ClockStripeEvent(models.Model):
    """A Stripe webhook event received by this database.

    The row is inserted *before* the event is applied, under a unique constraint
    on the event id, so that a second delivery of the same event (sequential or
    concurrent) finds it and changes nothing.
    """

    _name = "clock.stripe.event"
    _description = "Stripe Webhook Event"
    _order = "id desc"
    _rec_name = "event_ref"

    event_ref = fields.Char(string="Event", required=True, readonly=True)
    event_type = fields.Char(string="Type", readonly=True)
    provider_id = fields.Many2one(
        "payment.provider", readonly=True, ondelete="cascade", index=True
    )
    transaction_id = fields.Many2one(
        "payment.transaction", readonly=True, ondelete="set null"
    )
    state = fields.Selection(
        [
            ("received", "Received"),
            ("processed", "Processed"),
            ("ignored", "Ignored"),
            ("error", "Error"),
        ],
        default="received",
        readonly=True,
    )
    message = fields.Char(readonly=True)
    payload = fields.Text(
        readonly=True,
        # Client secrets, e-mails and billing addresses: administrators only.
        groups="base.group_system",
        help="The event as Stripe sent it (replayed from here).",
    )
    duplicate_count = fields.Integer(
        string="Duplicates",
        readonly=True,
        help="How many times Stripe sent the event again after it was recorded "
        "(changes nothing).",
    )
    replay_count = fields.Integer(string="Replays", readonly=True)

    _sql_constraints = [
        ("event_ref_uniq", "unique(event_ref)", "A Stripe event is processed once."),
    ]

    @api.model
    def _clock_stripe_process(self, provider, event):
        """Record and apply a verified event, once.

        The transaction the event is about is looked up and its row locked first,
        so that the event row is inserted with its outcome in the common case. The
        insert comes before any change: a second delivery of the event, even a
        concurrent one, collides with the row on the unique event id and changes
        nothing.

        Errors are not caught here: they leave the event half applied, so the
        caller rolls the whole transaction back, then records a non-transient
        failure with ``_clock_stripe_record_failure``.

        :param provider: The ``payment.provider`` whose secret signed the event.
        :param dict event: The event.
        :return: ``processed``, ``ignored`` or ``duplicate``.
        """
        event_ref = event.get("id")
        if not event_ref:
            return "ignored"
        tx, message = (
            self.env["payment.transaction"]
            .sudo()
            ._clock_stripe_get_event_tx(provider, event)
        )
        outcome = "processed" if tx else "ignored"
        event_id = self._clock_stripe_insert(provider, event, outcome, tx, message)
        if not event_id:
            _logger.info("Stripe event %s already received; skipped", event_ref)
            self.env.cr.execute(
                SQL(
                    "UPDATE clock_stripe_event SET duplicate_count = "
                    "duplicate_count + 1 WHERE event_ref = %s",
                    event_ref,
                )
            )
            return "duplicate"
        return self.browse(event_id)._clock_stripe_apply(
            tx, event, outcome, message, inserted=True
        )

    def _clock_stripe_apply(self, tx, event, outcome, message, inserted=False):
        """Apply ``event`` to ``tx`` (locked; none when the event is ignored) and
        record the outcome on this (inserted) event row: the one step of the
        webhook route and of a replay.

        :param bool inserted: the row was just inserted with ``outcome``,
            ``message`` and ``tx``; it is only updated when the outcome differs
        :return: ``processed`` or ``ignored``
        """
        self.ensure_one()
        recorded = (outcome, _short(message)) if inserted else None
        if tx:
            outcome, message = tx._clock_stripe_apply_event(event)
            # Errors of the deferred writes are errors of the event too.
            self.env.flush_all()
        if recorded != (outcome, message or None):
            self._clock_stripe_record_outcome(tx, outcome, message)
        _logger.info(
            "Stripe event %s (%s): %s %s",
            event.get("id"),
            event.get("type"),
            outcome,
            message,
        )
        return outcome

    def _clock_stripe_record_outcome(self, tx, outcome, message):
        """Write the outcome of the event's application on its row."""
        self.env.cr.execute(
            SQL(
                "UPDATE clock_stripe_event SET state = %s, message = %s, "
                "transaction_id = %s WHERE id = %s",
                outcome,
                message or None,
                tx.id or None,
                self.id,
            )
        )
        self.invalidate_recordset()

    def action_replay(self):
        """Apply errored events again, as the webhook route does: once each (an
        event applied meanwhile is skipped), every event in its own savepoint."""
        user = self.env.user
        if not user.has_group("base.group_system") and not (
            user.has_group("clock_pms.group_hotel_manager")
            and user.has_group("clock_stripe_payment.group_hotel_payments")
        ):
            raise AccessError(
                _("Only payment managers and administrators can replay events.")
            )
        # Only events the caller may read (their own hotels' providers).
        self.check_access("read")
        outcomes = {}
        for record in self.sudo():
            outcomes[record.event_ref] = record._clock_stripe_replay()
        failed = [ref for ref, outcome in outcomes.items() if outcome == "error"]
        if failed:
            message = _(
                "%(count)s event(s) could not be applied again: %(events)s. Their "
                "message says why.",
                count=len(failed),
                events=", ".join(failed),
            )
            kind = "warning"
        else:
            message = _("%s event(s) applied.", len(outcomes))
            kind = "success"
        return utils.closing_notification(kind, message)

    def _clock_stripe_replay(self):
        """Replay this errored event: its row is locked first, so that a replay
        running at the same time, or a delivery of the event, waits and then
        finds it applied.

        :return: the outcome (``error`` when it failed again, ``skipped`` when it
            is not an error anymore)
        """
        self.ensure_one()
        self.env.cr.execute(
            SQL(
                "SELECT id FROM clock_stripe_event WHERE id = %s AND state = 'error' "
                "FOR UPDATE",
                self.id,
            )
        )
        locked = self.env.cr.fetchone()
        self.invalidate_recordset()
        if not locked or not self.payload or not self.provider_id:
            return "skipped"
        event = json.loads(self.payload)
        try:
            with self.env.cr.savepoint():
                tx, message = (
                    self.env["payment.transaction"]
                    .sudo()
                    ._clock_stripe_get_event_tx(self.provider_id, event)
                )
                outcome = self._clock_stripe_apply(
                    tx, event, "processed" if tx else "ignored", message
                )
        except UserError as error:
            _logger.warning("Stripe event %s not replayed: %s", self.event_ref, error)
            self.message = _short(str(error))
            outcome = "error"
        self.replay_count += 1
        _logger.info(
            "Stripe event %s replayed by user %s: %s",
            self.event_ref,
            self.env.uid,
            outcome,
        )
        return outcome

    @api.model
    def _clock_stripe_record_failure(self, provider, event, error):
        """Keep an event that could not be applied as ``error``, so that it is not
        applied again when Stripe sends it again. Call it after rolling back what
        the event changed.

        :return: ``error``, or ``duplicate`` when another delivery of the event was
            recorded meanwhile.
        """
        _logger.warning("Stripe event %s not applied: %s", event.get("id"), error)
        if not event.get("id"):
            return "error"
        if not self._clock_stripe_insert(provider, event, "error", message=str(error)):
            return "duplicate"
        return "error"

    @api.model
    def _clock_stripe_insert(self, provider, event, state, tx=None, message=None):
        """Insert the row of ``event`` unless its id is already recorded.

        Plain SQL, so that a known id is skipped instead of breaking the
        transaction. A concurrent insert of the same id makes this one wait for
        it: once it is committed, this one fails with a serialization error, Odoo
        tries the request again and the insert skips.

        :return: The id of the new row, or ``None`` when the event is known.
        """
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO clock_stripe_event
                    (event_ref, event_type, provider_id, transaction_id, state,
                     message, payload, duplicate_count, replay_count,
                     create_uid, create_date, write_uid, write_date)
                VALUES (%s, %s, %s, %s, %s, %s, %s, 0, 0, %s,
                        NOW() AT TIME ZONE 'UTC', %s, NOW() AT TIME ZONE 'UTC')
                ON CONFLICT (event_ref) DO NOTHING
                RETURNING id
                """,
                event["id"],
                event.get("type"),
                provider.id,
                tx.id if tx else None,
                state,
                _short(message),
                json.dumps(event, indent=2, sort_keys=True),
                self.env.uid,
                self.env.uid,
            )
        )
        row = self.env.cr.fetchone()
        return row[0] if row else None

    @api.autovacuum
    def _gc_old_events(self):
        limit = fields.Datetime.now() - timedelta(days=EVENT_RETENTION_DAYS)
        self.sudo().search([("create_date", "<", limit)]).unlink()


def _short(message):
    """``message`` cut to :data:`MESSAGE_SIZE` characters; None when empty."""
    return (message or "")[:MESSAGE_SIZE] or None
