# Part of clock_stripe_payment. License LGPL-3.
"""Webhook events routed to their transaction: which transaction an event is
about (its row locked), how each handled event type applies, and what is posted
at once after it."""

import logging

from odoo import _, api, models
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tools import SQL

from .. import const, utils
from .clock_stripe_event import ClockStripeEventNotReady

_logger = logging.getLogger(__name__)


class PaymentTransaction(models.Model):
    _inherit = "payment.transaction"  # pylint: disable=consider-merging-classes-inherited

    # === BUSINESS METHODS - WEBHOOK === #

    @api.model
    def _clock_stripe_search_locked(self, domain):
        """The first transaction matching ``domain``, its row locked as by
        ``_clock_stripe_lock``: the lookup and the lock are one query."""
        query = self._search(domain, limit=1)
        self.env.cr.execute(SQL("%s FOR NO KEY UPDATE", query.select()))
        tx = self.browse(row[0] for row in self.env.cr.fetchall())
        tx.invalidate_recordset()
        return tx

    @api.model
    def _clock_stripe_find_tx_for_event(self, provider, event_type, obj):
        """Find the transaction a webhook object is about and lock its row (empty
        if unknown)."""
        reference = self._clock_stripe_event_reference(event_type, obj)
        fallback = None
        if event_type.startswith("checkout.session."):
            fallback = [("clock_stripe_checkout_session_ref", "=", obj.get("id"))]
        elif event_type == "charge.refund.updated":
            fallback = [
                ("provider_reference", "=", obj.get("id")),
                ("operation", "=", "refund"),
            ]
        elif event_type == "charge.refunded":
            fallback = [
                ("provider_reference", "=", obj.get("payment_intent")),
                ("source_transaction_id", "=", False),
            ]
        elif event_type.startswith("payment_intent."):
            fallback = [
                ("provider_reference", "=", obj.get("id")),
                ("source_transaction_id", "=", False),
            ]
        elif event_type.startswith("setup_intent."):
            fallback = [("clock_stripe_setup_intent_ref", "=", obj.get("id"))]
        domain = [("provider_id", "=", provider.id)]
        tx = self.browse()
        if reference:
            tx = self._clock_stripe_search_locked(
                domain + [("reference", "=", reference)]
            )
        if not tx and fallback and fallback[0][2]:
            tx = self._clock_stripe_search_locked(domain + fallback)
        return tx

    @api.model
    def _clock_stripe_event_reference(self, event_type, obj):
        """The transaction reference a webhook object carries (set by this addon
        when it created the object), if any."""
        reference = (obj.get("metadata") or {}).get(const.METADATA_REFERENCE_KEY)
        if event_type.startswith("checkout.session."):
            reference = reference or obj.get("client_reference_id")
        return reference

    @api.model
    def _clock_stripe_get_event_tx(self, provider, event):
        """The transaction a verified webhook event applies to, its row locked.

        :return: (transaction, message): an empty transaction and the reason when
            the event is ignored.
        :raise ClockStripeEventNotReady: the event carries one of our references
            but its transaction is not found (not committed yet)
        """
        event_type = event.get("type") or ""
        obj = (event.get("data") or {}).get("object") or {}
        if event_type not in const.HANDLED_WEBHOOK_EVENTS:
            return self.browse(), "event type not handled"
        metadata = obj.get("metadata") or {}
        if metadata.get(const.METADATA_PURPOSE_KEY) == const.PURPOSE_VALIDATION_HOLD:
            return self.browse(), "card-check hold, handled in Odoo"
        tx = self._clock_stripe_find_tx_for_event(provider, event_type, obj)
        reference = self._clock_stripe_event_reference(event_type, obj)
        if not tx and reference:
            raise ClockStripeEventNotReady(
                _("No transaction %s (yet) for this event.", reference)
            )
        return tx, ("" if tx else "unknown object")

    def _clock_stripe_apply_event(self, event):
        """Apply a verified webhook event to this transaction (locked).

        :return: (outcome, message) where outcome is ``processed`` or ``ignored``.
        """
        self.ensure_one()
        event_type = event["type"]
        obj = event["data"]["object"]
        if event_type.startswith("payment_intent."):
            was_draft = self.state == "draft"
            self._handle_notification_data(
                const.PROVIDER_CODE,
                {
                    "reference": self.reference,
                    "payment_intent": obj,
                    "event_type": event_type,
                },
            )
            if was_draft and self.state != "draft":
                self._clock_stripe_release_unkept_card()
        elif event_type == "setup_intent.succeeded":
            if self.operation != "validation" or self.state != "draft":
                return "ignored", "already processed"
            setup_intent = self._clock_stripe_client().retrieve_setup_intent(obj["id"])
            self._clock_stripe_process_setup_intent(setup_intent)
        elif event_type == "setup_intent.setup_failed":
            # A card refused at Stripe, which the browser may never tell Odoo.
            if self.state != "draft":
                return "ignored", "already processed"
            setup_intent = self._clock_stripe_client().retrieve_setup_intent(obj["id"])
            if setup_intent.get("status") == "succeeded":
                return "ignored", "another card was saved since"
            self._clock_stripe_process_setup_intent(setup_intent)
            self.env["clock.request.budget"].sudo()._clock_spend_card_attempt(
                self.clock_reservation_ids, self.partner_id
            )
        elif event_type == "charge.refunded":
            self._clock_stripe_sync_refunds(obj)
        elif event_type == "charge.refund.updated":
            if self.operation != "refund":
                return "ignored", "not a refund"
            self._handle_notification_data(
                const.PROVIDER_CODE, {"reference": self.reference, "refund": obj}
            )
        elif event_type.startswith("checkout.session."):
            self._handle_notification_data(
                const.PROVIDER_CODE,
                {
                    "reference": self.reference,
                    "checkout_session": obj,
                    "event_type": event_type,
                },
            )
        self._clock_stripe_post_process_event()
        return "processed", ""

    def _clock_stripe_post_process_event(self):
        """Post what a webhook just settled (folio line, ``account.payment``) at
        once, as Odoo's own operations do: a payment confirmed only by Stripe
        (a hold captured in the Dashboard...) has no browser to wait for.

        The payment, its captures and its refunds are looked at. A failure here
        does not undo the event: payment's post-processing cron tries again. A
        collision with a concurrent request (another payment posted to the same
        folio at once) does: Odoo tries the whole request again, so the payment
        is posted now rather than at the next cron run.
        """
        self.ensure_one()
        root = self._clock_stripe_payment_root()
        family = self | root | root.child_transaction_ids
        family |= family.child_transaction_ids
        try:
            with self.env.cr.savepoint():
                family._clock_post_process_now()
        except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
            raise
        except Exception:
            _logger.exception(
                "post-processing of %s after a webhook failed; the cron retries it",
                self.reference,
            )

    def _clock_stripe_sync_refunds(self, charge):
        """Record the refunds of a charge that Odoo does not know yet (made in the
        Stripe Dashboard) and update those it knows.

        :raise ClockStripeEventNotReady: a refund carries the reference of a
            refund transaction that is not found (not committed yet)
        """
        self.ensure_one()
        root = self._clock_stripe_payment_root()
        refunds_data = charge.get("refunds")
        if isinstance(refunds_data, dict) and "data" in refunds_data:
            refunds = refunds_data["data"]
        else:  # Recent API versions do not embed the refunds in the charge.
            refunds = self._clock_stripe_client().list_refunds(
                charge.get("payment_intent") or root.provider_reference
            )
        captures = root.child_transaction_ids.filtered(
            lambda t: t.operation == root.operation
        )
        known = (root | captures).child_transaction_ids.filtered(
            lambda t: t.operation == "refund"
        )
        by_id = {t.provider_reference: t for t in known if t.provider_reference}
        by_reference = {t.reference: t for t in known}
        code = root._clock_stripe_settlement_code()
        for refund in refunds:
            refund_reference = (refund.get("metadata") or {}).get(
                const.METADATA_REFERENCE_KEY
            )
            refund_tx = by_id.get(refund["id"]) or by_reference.get(refund_reference)
            if not refund_tx and refund_reference:
                # Sent by this database, whose refund transaction is not
                # committed yet: recording it here would record it twice.
                raise ClockStripeEventNotReady(
                    _("No refund transaction %s (yet).", refund_reference)
                )
            if not refund_tx:
                total_minor = root._clock_stripe_minor()
                amount = (
                    root.currency_id.round(root.amount * refund["amount"] / total_minor)
                    if total_minor
                    else 0.0
                )
                if not amount:
                    continue
                refund_tx = root._create_child_transaction(amount, is_refund=True)
                refund_tx.clock_stripe_settlement_amount = -utils.from_minor_units(
                    refund["amount"], code
                )
            refund_tx._handle_notification_data(
                const.PROVIDER_CODE,
                {"reference": refund_tx.reference, "refund": refund},
            )
