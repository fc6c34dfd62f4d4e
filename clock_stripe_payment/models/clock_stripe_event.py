# Part of clock_stripe_payment. License LGPL-3.

import logging
from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

# Processed events are kept this long; Stripe retries an event for 3 days.
EVENT_RETENTION_DAYS = 30
# Errors after which Stripe should send the event again.
TRANSIENT_ERROR_KINDS = ("connection", "rate_limit", "api")


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
            return "duplicate"
        if tx:
            outcome, message = tx._clock_stripe_apply_event(event)
            if outcome != "processed":
                self.env.cr.execute(
                    SQL(
                        "UPDATE clock_stripe_event SET state = %s, message = %s "
                        "WHERE id = %s",
                        outcome,
                        message,
                        event_id,
                    )
                )
            # Errors of the deferred writes are errors of the event too.
            self.env.flush_all()
        _logger.info(
            "Stripe event %s (%s): %s %s",
            event_ref,
            event.get("type"),
            outcome,
            message,
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
                     message, create_uid, create_date, write_uid, write_date)
                VALUES (%s, %s, %s, %s, %s, %s, %s, NOW() AT TIME ZONE 'UTC',
                        %s, NOW() AT TIME ZONE 'UTC')
                ON CONFLICT (event_ref) DO NOTHING
                RETURNING id
                """,
                event["id"],
                event.get("type"),
                provider.id,
                tx.id if tx else None,
                state,
                (message or "")[:250] or None,
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
