# Part of clock_stripe_payment. License LGPL-3.
"""The hotel side of a transaction: its bookings and folios, the reference prefix,
post-processing and folio posting, guarantees given late, money in flight on a
bill and the surplus given back, and the filters the hotel views use."""

from odoo import _, api, fields, models
from odoo.tools import format_amount

from .. import const


class PaymentTransaction(models.Model):
    _inherit = "payment.transaction"  # pylint: disable=consider-merging-classes-inherited

    # === HOTEL: reservations, folios and folio posting === #
    # Written for the hotel flows (issue 4); the logic lives on clock.reservation.

    clock_reservation_ids = fields.Many2many(
        "clock.reservation",
        "clock_reservation_transaction_rel",
        "transaction_id",
        "reservation_id",
        string="Reservations",
        copy=False,
        readonly=True,
    )
    clock_folio_ids = fields.Many2many(
        "clock.folio",
        "clock_folio_transaction_rel",
        "transaction_id",
        "folio_id",
        string="Folios",
        copy=False,
        readonly=True,
    )
    clock_folio_line_ids = fields.One2many(
        "clock.folio.line", "payment_transaction_id", string="Folio Lines"
    )
    clock_guarantee = fields.Boolean(
        string="Guarantees the Booking",
        copy=False,
        readonly=True,
        help="Success confirms and guarantees the linked booking (card step).",
    )
    clock_guarantee_outcome = fields.Selection(
        [("applied", "Guaranteed the Booking"), ("returned", "Given Back")],
        copy=False,
        readonly=True,
        help="Given back: the money moved after the booking stopped taking a "
        "guarantee (cancelled, or guaranteed in another tab); the hold was "
        "released or the payment refunded.",
    )
    clock_replace_token_id = fields.Many2one(
        "payment.token",
        string="Replaces Card",
        copy=False,
        readonly=True,
        ondelete="set null",
    )

    @api.model
    def _compute_reference_prefix(self, provider_code, separator, **values):
        """Override of `payment`: hotel references start with the folio/booking."""
        prefix = self.env["clock.reservation"]._clock_reference_prefix(
            separator, values
        )
        return prefix or super()._compute_reference_prefix(
            provider_code, separator, **values
        )

    def _create_child_transaction(
        self, amount, is_refund=False, **custom_create_values
    ):
        """Override of `payment`: captures, releases and refunds stay linked to the
        booking and folio of their source."""
        for field_name in ("clock_reservation_ids", "clock_folio_ids"):
            if self[field_name] and field_name not in custom_create_values:
                custom_create_values[field_name] = [
                    fields.Command.set(self[field_name].ids)
                ]
        return super()._create_child_transaction(
            amount, is_refund=is_refund, **custom_create_values
        )

    def _post_process(self):
        """Override of `payment`: confirm, guarantee and post to the folio, once.

        The rows are locked first, so that the return page, the webhook and the
        cron reporting the same success one after the other (or at once) post one
        folio line and one ``account.payment``.
        """
        self._clock_stripe_lock()
        res = super(
            PaymentTransaction, self.with_context(clock_post_processing=True)
        )._post_process()
        self.env["clock.reservation"]._clock_process_transactions(self)
        return res

    def _log_sent_message(self):
        """Override of `payment`: a saved card charged by the server is told on
        the booking by its outcome alone (charged, declined...); "initiated" is
        logged only when no outcome came back (see ``_send_payment_request``)."""
        if self.env.context.get("clock_stripe_sending"):
            return
        super()._log_sent_message()

    def _log_message_on_linked_documents(self, message):
        """Override of `payment`: log on the linked bookings' chatter.

        The booking was told of the new state when it was reached; the
        post-processing's "payment posted" message would say it again.
        """
        res = super()._log_message_on_linked_documents(message)
        bookings = self.env["clock.reservation"]
        if not (
            self.env.context.get("clock_post_processing")
            and bookings._clock_transaction_message(self) is not None
        ):
            bookings._clock_log_transaction(self, message)
        return res

    def _clock_post_process_now(self):
        """Post-process the transactions that reached a final state, now."""
        txs = self.filtered(
            lambda tx: tx.state in ("authorized", "done", "cancel", "error")
            and not tx.is_post_processed
        )
        if txs:
            txs._post_process()

    def _clock_get_reservations(self):
        self.ensure_one()
        return (
            self.clock_reservation_ids
            or self.source_transaction_id.clock_reservation_ids
            or self.clock_folio_ids.reservation_id
        )

    def _clock_get_folio(self):
        """The folio the transaction is posted to."""
        self.ensure_one()
        return (
            self.clock_folio_ids[:1]
            or self.source_transaction_id.clock_folio_ids[:1]
            or self._clock_get_reservations()[:1]._clock_get_default_folio()
        )

    def _clock_is_late_guarantee(self):
        """Whether this guarantee just took money (a payment, or a hold) while its
        booking no longer takes a guarantee: cancelled, or guaranteed meanwhile
        by another transaction. Decided once; a hold captured later is no new
        guarantee."""
        self.ensure_one()
        if (
            not self.clock_guarantee
            or self.clock_guarantee_outcome
            or self.operation == "validation"
        ):
            return False
        first_success = self.state == "authorized" or (
            self.state == "done" and not self.clock_stripe_capture_manually
        )
        return first_success and not all(
            booking._clock_needs_guarantee()
            for booking in self._clock_get_reservations()
        )

    def _clock_filter_active_holds(self):
        return self.filtered(
            lambda tx: tx.state == "authorized"
            and tx.operation not in ("validation", "refund")
        )

    def _clock_filter_payments(self):
        """Confirmed payments carrying money (a partly captured hold is carried by
        its capture child)."""
        return self.filtered(
            lambda tx: tx.state == "done"
            and tx.operation not in ("validation", "refund")
            and tx.amount > 0
            and not tx.child_transaction_ids.filtered(
                lambda child, t=tx: child.operation == t.operation
                and child.state in ("done", "cancel")
            )
        )

    def _clock_filter_unposted_payments(self):
        """Payments that are, or may be, money taken but not on a folio yet:
        confirmed and not posted, pending, authorized to be charged (not a hold),
        a card-on-file charge sent without a known outcome (a draft ``offline``
        transaction), or a guest payment waiting at Stripe (see
        ``_clock_is_waiting_guest_payment``). A hold is no payment."""
        return self.filtered(
            lambda tx: tx.operation not in ("validation", "refund")
            and tx.amount > 0
            and not tx.clock_folio_line_ids
            and (
                tx.state in ("pending", "done")
                or (tx.state == "authorized" and not tx.clock_stripe_capture_manually)
                or (tx.state == "draft" and tx.operation == "offline")
                or tx._clock_is_waiting_guest_payment()
            )
            and not tx.child_transaction_ids.filtered(
                lambda child, t=tx: child.operation == t.operation
                and child.state in ("done", "cancel")
            )
        )

    def _clock_is_waiting_guest_payment(self):
        """Whether this is a draft guest payment that Stripe may still complete:
        its PaymentIntent awaits 3-D Secure, or its Checkout page is open, within
        :data:`const.GUEST_PAYMENT_WINDOW` of its creation."""
        self.ensure_one()
        return (
            self.state == "draft"
            and self.operation in const.GUEST_PAYMENT_OPERATIONS
            and bool(self.provider_reference or self.clock_stripe_checkout_session_ref)
            and (self.create_date or fields.Datetime.now())
            > fields.Datetime.now() - const.GUEST_PAYMENT_WINDOW
        )

    def _clock_check_folio_owed(self):
        """Right before a guest payment of a bill moves money, check its amount
        again against what the bill still owes, under the folio's row lock and
        counting every other payment of the folio not final yet (another tab,
        a Checkout page, staff, the Autopilot).

        :return: the refusal for the guest, or None when the payment may go
        """
        self.ensure_one()
        folio = self.sudo().clock_folio_ids[:1]
        if self.operation not in const.GUEST_PAYMENT_OPERATIONS or not folio:
            return None
        folio._clock_lock()
        owed = folio._clock_get_payable_balance(exclude=self)
        amount = folio.reservation_id._clock_to_currency(self, self.amount)
        currency = folio.currency_id
        if currency.compare_amounts(amount, owed) <= 0:
            return None
        if currency.compare_amounts(owed, 0.0) <= 0:
            return _("The bill %s was paid meanwhile: nothing was charged.", folio.name)
        return _(
            "Another payment of the bill %(folio)s was made meanwhile: "
            "%(owed)s is left to pay, and nothing was charged.",
            folio=folio.name,
            owed=format_amount(self.env, owed, currency),
        )

    def _clock_return_surplus(self):
        """Give back what a guest payment just posted took beyond its bill:
        money that moved although another payment settled the bill meanwhile
        (a Checkout page paid late, a 3-D Secure payment completed after another
        payment). The surplus is refunded at once, as staff would (idempotency
        key included); the guest reads why on the payment's status, staff get a
        note on the booking. Called once, when the payment is posted.

        A Stripe error is raised: the post-processing is tried again, whole.
        """
        self.ensure_one()
        tx = self.sudo()
        folio = tx.clock_folio_ids[:1]
        if (
            tx.operation not in const.GUEST_PAYMENT_OPERATIONS
            or not folio
            or folio.currency_id != tx.currency_id
        ):
            return
        currency = tx.currency_id
        surplus = min(-folio.balance, tx._clock_get_refundable_amount())
        if currency.compare_amounts(surplus, 0.0) <= 0:
            return
        booking = tx._clock_get_reservations()[:1]
        booking._clock_refund(tx, surplus)
        amount = format_amount(self.env, surplus, currency)
        tx.state_message = _(
            "The bill %(folio)s was paid meanwhile by another payment: %(amount)s "
            "of this payment is refunded to your card.",
            folio=folio.name,
            amount=amount,
        )
        booking.message_post(
            body=_(
                "The payment %(ref)s went through at Stripe after the bill %(folio)s "
                "was paid by another payment: %(amount)s was refunded, so that "
                "nothing is paid twice.",
                ref=tx.reference,
                folio=folio.name,
                amount=amount,
            ),
            subtype_xmlid="mail.mt_note",
        )

    def _clock_get_remaining_hold(self):
        """What is still held on an authorized transaction."""
        self.ensure_one()
        settled = self.child_transaction_ids.filtered(
            lambda child: child.operation == self.operation
            and child.state in ("done", "cancel")
        )
        return self.currency_id.round(self.amount - sum(settled.mapped("amount")))

    def _clock_get_refundable_amount(self):
        """What can still be refunded on a confirmed payment."""
        self.ensure_one()
        if self.provider_code == const.PROVIDER_CODE:
            return self._clock_stripe_refundable()[0]
        refunds = self.child_transaction_ids.filtered(
            lambda child: child.operation == "refund"
            and child.state not in ("cancel", "error")
        )
        return self.currency_id.round(self.amount + sum(refunds.mapped("amount")))

    @api.model
    def _clock_get_hold_values(self, hold):
        """Create values that make a transaction a hold (or a charge)."""
        return {"clock_stripe_capture_manually": bool(hold)}
