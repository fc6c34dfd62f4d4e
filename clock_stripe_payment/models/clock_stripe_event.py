# Part of clock_stripe_payment. License LGPL-3.

import logging
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from ..stripe_api import ClockStripeError

_logger = logging.getLogger(__name__)

# Processed events are kept this long; Stripe retries an event for 3 days.
EVENT_RETENTION_DAYS = 30
# Errors after which Stripe should send the event again.
TRANSIENT_ERROR_KINDS = ("connection", "rate_limit", "api")


class ClockStripeEvent(models.Model):
    """A Stripe webhook event received by this database.

    The row is inserted *before* the event is processed, under a unique constraint
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
        """Record and process a verified event, once.

        :param provider: The ``payment.provider`` whose secret signed the event.
        :param dict event: The event.
        :return: ``processed``, ``ignored``, ``duplicate`` or ``error``.
        """
        event_ref = event.get("id")
        if not event_ref:
            return "ignored"
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO clock_stripe_event
                    (event_ref, event_type, provider_id, state,
                     create_uid, create_date, write_uid, write_date)
                VALUES (%s, %s, %s, 'received', %s, NOW() AT TIME ZONE 'UTC',
                        %s, NOW() AT TIME ZONE 'UTC')
                ON CONFLICT (event_ref) DO NOTHING
                RETURNING id
                """,
                event_ref,
                event.get("type"),
                provider.id,
                self.env.uid,
                self.env.uid,
            )
        )
        row = self.env.cr.fetchone()
        if not row:
            _logger.info("Stripe event %s already received; skipped", event_ref)
            return "duplicate"
        tx_id = None
        try:
            with self.env.cr.savepoint():
                outcome, tx, message = (
                    self.env["payment.transaction"]
                    .sudo()
                    ._clock_stripe_handle_event(provider, event)
                )
                tx_id = tx.id or None
                self.env.flush_all()
        except ClockStripeError as error:
            if error.kind in TRANSIENT_ERROR_KINDS:
                # Stripe could not be reached while applying the event: fail the
                # request (the event row goes with it) so that Stripe sends the
                # event again later.
                raise
            self.env.invalidate_all()
            outcome, message = "error", str(error)
            _logger.warning("Stripe event %s not applied: %s", event_ref, error)
        except (UserError, ValidationError) as error:
            self.env.invalidate_all()
            outcome, message = "error", str(error)
            _logger.warning("Stripe event %s not applied: %s", event_ref, error)
        _logger.info(
            "Stripe event %s (%s): %s %s",
            event_ref,
            event.get("type"),
            outcome,
            message,
        )
        self.env.cr.execute(
            SQL(
                "UPDATE clock_stripe_event SET state = %s, message = %s, "
                "transaction_id = %s WHERE id = %s",
                outcome,
                (message or "")[:250] or None,
                tx_id,
                row[0],
            )
        )
        return outcome

    @api.autovacuum
    def _gc_old_events(self):
        limit = fields.Datetime.now() - timedelta(days=EVENT_RETENTION_DAYS)
        self.sudo().search([("create_date", "<", limit)]).unlink()
