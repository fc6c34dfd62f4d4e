import logging
from datetime import timedelta

from markupsafe import Markup

from odoo import Command, _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import float_compare, format_amount, format_datetime

from .. import autopilot, utils
from ..stripe_api import ClockStripeError

_logger = logging.getLogger(__name__)

#: States of a booking that still needs money secured.
OPEN_STATES = ("draft", "confirmed", "checked_in")
#: A hold expiring sooner than this is flagged on the reservation form.
HOLD_WARNING_DELAY = timedelta(hours=48)


class ClockReservation(models.Model):
    _inherit = "clock.reservation"

    card_ids = fields.One2many(
        "clock.reservation.card", "reservation_id", string="Cards on File"
    )
    transaction_ids = fields.Many2many(
        "payment.transaction",
        "clock_reservation_transaction_rel",
        "reservation_id",
        "transaction_id",
        string="Transactions",
        copy=False,
        readonly=True,
    )
    clock_card_count = fields.Integer(
        string="Cards", compute="_compute_clock_payment_overview"
    )
    clock_hold_ids = fields.Many2many(
        "payment.transaction",
        string="Active Holds",
        compute="_compute_clock_payment_overview",
        help="Amounts authorized on a card and not captured or released yet.",
    )
    clock_amount_held = fields.Monetary(
        string="Held", compute="_compute_clock_payment_overview"
    )
    clock_amount_card_paid = fields.Monetary(
        string="Paid by Card", compute="_compute_clock_payment_overview"
    )
    clock_amount_refunded = fields.Monetary(
        string="Refunded", compute="_compute_clock_payment_overview"
    )
    clock_amount_unsecured = fields.Monetary(
        string="Owed, not Secured",
        compute="_compute_clock_payment_overview",
        help="The balance of the folios that no active hold covers.",
    )
    clock_next_hold_expiry = fields.Datetime(
        string="Next Hold Expiry", compute="_compute_clock_payment_overview"
    )
    clock_payment_warning = fields.Text(
        string="Payment Warning", compute="_compute_clock_payment_overview"
    )
    clock_card_available = fields.Boolean(
        string="Card Guarantee Offered",
        compute="_compute_clock_card_available",
        help="The booking's policy asks for a card and the hotel's card provider "
        "is active.",
    )

    # ------------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------------

    @api.depends(
        "guarantee_policy_id.payment_option",
        "company_id.clock_stripe_card_provider_id.state",
    )
    def _compute_clock_card_available(self):
        for booking in self:
            policy = booking.guarantee_policy_id
            booking.clock_card_available = bool(
                policy and policy._clock_is_card_available()
            )

    @api.depends(
        "card_ids.token_id.active",
        "transaction_ids.state",
        "transaction_ids.amount",
        "balance",
        "state",
    )
    def _compute_clock_payment_overview(self):
        now = fields.Datetime.now()
        for booking in self:
            txs = booking.sudo().transaction_ids
            holds = txs._clock_filter_active_holds()
            held = sum(booking._clock_to_currency(tx, tx.amount) for tx in holds)
            payments = txs._clock_filter_payments()
            paid = sum(booking._clock_to_currency(tx, tx.amount) for tx in payments)
            refunds = txs.filtered(
                lambda tx: tx.operation == "refund" and tx.state == "done"
            )
            refunded = -sum(booking._clock_to_currency(tx, tx.amount) for tx in refunds)
            expiries = [
                expiry
                for expiry in holds.mapped("clock_stripe_hold_expires_at")
                if expiry
            ]
            booking.clock_card_count = len(
                booking.sudo().card_ids.filtered("token_id.active")
            )
            booking.clock_hold_ids = holds
            booking.clock_amount_held = held
            booking.clock_amount_card_paid = paid
            booking.clock_amount_refunded = refunded
            booking.clock_amount_unsecured = max(
                booking.currency_id.round(booking.balance - held), 0.0
            )
            booking.clock_next_hold_expiry = min(expiries) if expiries else False
            warnings = []
            if booking.state in OPEN_STATES:
                if (
                    float_compare(
                        booking.balance,
                        held,
                        precision_rounding=booking.currency_id.rounding,
                    )
                    > 0
                ):
                    warnings.append(
                        _(
                            "The balance of %(balance)s exceeds what is secured by "
                            "holds (%(held)s).",
                            balance=format_amount(
                                self.env, booking.balance, booking.currency_id
                            ),
                            held=format_amount(self.env, held, booking.currency_id),
                        )
                    )
                for hold in holds.filtered(
                    lambda tx: tx.clock_stripe_hold_expires_at
                    and tx.clock_stripe_hold_expires_at <= now + HOLD_WARNING_DELAY
                ):
                    warnings.append(
                        _(
                            "The hold %(reference)s of %(amount)s expires on "
                            "%(expiry)s: capture it or place a new one.",
                            reference=hold.reference,
                            amount=format_amount(
                                self.env, hold.amount, hold.currency_id
                            ),
                            expiry=format_datetime(
                                self.env, hold.clock_stripe_hold_expires_at
                            ),
                        )
                    )
            booking.clock_payment_warning = "\n".join(warnings) or False

    def _clock_to_currency(self, tx, amount):
        """``amount`` of the transaction ``tx`` in the booking's currency."""
        self.ensure_one()
        if tx.currency_id == self.currency_id or not tx.currency_id:
            return amount
        return tx.currency_id._convert(
            amount,
            self.currency_id,
            self.company_id,
            (tx.last_state_change or tx.create_date or fields.Datetime.now()).date(),
        )

    # ------------------------------------------------------------------
    # Booking engine: the card step
    # ------------------------------------------------------------------

    def _booking_engine_complete(self):
        """Send a booking whose policy takes a card to the card step.

        The booking stays a draft until the card step succeeds: the transaction's
        post-processing confirms and guarantees it (see
        :meth:`_clock_process_transactions`). A card policy whose provider is not
        active is not offered: the booking is then completed as by the core.
        """
        self.ensure_one()
        if self.clock_card_available:
            return self._clock_get_guarantee_url()
        return super()._booking_engine_complete()

    def _clock_get_guarantee_url(self):
        """The guest's link to guarantee the booking with a card (access token in)."""
        self.ensure_one()
        return self.get_portal_url(suffix="/guarantee")

    def _clock_get_add_card_url(self):
        """The guest's link to put a (new) card on file for the booking."""
        self.ensure_one()
        return self.get_portal_url(suffix="/card")

    def _clock_get_card_link(self):
        """The link e-mailed to the guest: guarantee when still due, else add a card."""
        self.ensure_one()
        if self.clock_card_available and self.guarantee_status in (
            "awaiting",
            "expired",
        ):
            return self._clock_get_guarantee_url()
        return self._clock_get_add_card_url()

    def _clock_get_guarantee_amount(self):
        """What the card step charges or holds: the policy's deposit, never more
        than the open balance (0 when the policy only saves the card)."""
        self.ensure_one()
        policy = self.guarantee_policy_id
        if not policy or policy.card_action not in ("pay", "hold"):
            return 0.0
        amount = min(self.deposit_amount, max(self._clock_get_balance(), 0.0))
        return self._clock_to_card_step(max(amount, 0.0))

    def _clock_to_card_step(self, amount, currency=None):
        """``amount`` (in ``currency``, default the booking's) rounded down to what
        a card payment takes as it is (three-decimal currencies go by 0.010 at
        Stripe): what the server computes is asked as it will be charged."""
        currency = currency or self.currency_id
        return utils.floor_to_minor_step(currency.round(amount), currency.name)

    def _clock_get_card_provider(self):
        """The hotel's card provider when it is active (else empty), in sudo."""
        self.ensure_one()
        provider = self.company_id.sudo().clock_stripe_card_provider_id
        if provider.state in ("enabled", "test"):
            return provider
        return provider.browse()

    def _clock_get_last_failed_guarantee(self):
        """The guest's last card-step transaction, when it failed and the booking is
        still not guaranteed (to show the reason and a retry)."""
        self.ensure_one()
        last = (
            self.sudo()
            .transaction_ids.filtered("clock_guarantee")
            .sorted(lambda tx: tx.id)[-1:]
        )
        if last.state in ("error", "cancel") and self._clock_needs_guarantee():
            return last
        return last.browse()

    def _clock_needs_guarantee(self):
        """Whether the booking still waits for a guarantee: open, not guaranteed."""
        self.ensure_one()
        return self.state in ("draft", "confirmed") and self.guarantee_status in (
            "awaiting",
            "expired",
        )

    def _clock_can_guarantee_by_card(self):
        """Whether the guest may guarantee the booking by card now."""
        self.ensure_one()
        return self.clock_card_available and self._clock_needs_guarantee()

    # ------------------------------------------------------------------
    # Amounts
    # ------------------------------------------------------------------

    def _clock_get_visible_folios(self):
        self.ensure_one()
        return self.folio_ids.filtered(lambda folio: not folio.hide_on_portal)

    def _clock_get_balance(self, include_hidden=False):
        """What the guest still owes on the booking's folios, less the payments
        done or under way that are not posted yet (the folios'
        ``_clock_get_payable_balance``).

        :param bool include_hidden: count the folios hidden from MyBooking too
        :return: the balance of the visible folios (all folios with
            ``include_hidden``); before the booking has a folio, its price less
            the payments under way
        """
        self.ensure_one()
        if not self.folio_ids:
            unposted = self.sudo().transaction_ids._clock_filter_unposted_payments()
            in_flight = sum(self._clock_to_currency(tx, tx.amount) for tx in unposted)
            return self.currency_id.round(self.balance - in_flight)
        folios = self.folio_ids if include_hidden else self._clock_get_visible_folios()
        return self.currency_id.round(
            sum(folio._clock_get_payable_balance() for folio in folios)
        )

    def _clock_get_default_folio(self):
        """The folio a payment without an explicit folio is posted to."""
        self.ensure_one()
        return (self._clock_get_visible_folios() or self.folio_ids)[:1]

    # ------------------------------------------------------------------
    # Back-office operations (also used by the Payment Autopilot)
    # ------------------------------------------------------------------

    def _clock_check_payment_access(self, refund=False):
        """Refuse payment operations to users outside the Hotel payments group
        (and refunds to users below hotel Manager). The superuser (crons, the
        Autopilot) passes."""
        if self.env.su:
            return
        user = self.env.user
        if not user.has_group("clock_stripe_payment.group_hotel_payments"):
            raise AccessError(
                _(
                    "Only members of the Hotel payments group can charge, hold, "
                    "capture, release or refund cards."
                )
            )
        if refund and not user.has_group("clock_pms.group_hotel_manager"):
            raise AccessError(_("Refunds can only be made by a hotel manager."))
        self.check_access("write")

    def _clock_get_card_owners(self):
        """The partners whose saved cards may be put on file for the booking: the
        guest, the guest's company, the company the guest travels for and the
        booking's agent (an OTA's virtual card)."""
        self.ensure_one()
        booking = self.sudo()
        return (
            booking.partner_id
            | booking.partner_id.commercial_partner_id
            | booking.company_partner_id
            | booking.agent_id
        )

    def _clock_check_amount(self, amount, currency):
        if (
            not amount
            or float_compare(amount, 0.0, precision_rounding=currency.rounding) <= 0
        ):
            raise UserError(_("The amount must be positive."))

    def _clock_check_provider(self, provider):
        if provider.state not in ("enabled", "test"):
            raise UserError(
                _(
                    "The card provider %s is not active: no payment can be made "
                    "through it.",
                    provider.name,
                )
            )

    def _clock_charge(self, token, amount, folio=None, hold=False):
        """Charge (or hold) ``amount`` on a card on file of the booking.

        Creates an ``offline`` transaction with the token's provider, linked to the
        booking and the folio, sends it (merchant-initiated) and post-processes it
        when Stripe answered at once, so a successful charge is on the folio when
        this returns.

        :param payment.token token: an active card on file of the booking
        :param float amount: the amount, in the folio's (booking's) currency
        :param clock.folio folio: the folio the payment goes to (default: the first
            visible folio; required for a charge above its balance when the
            booking has several folios)
        :param bool hold: authorize only (manual capture) instead of charging
        :return: the transaction (its ``state`` tells the outcome)
        :rtype: payment.transaction
        :raise UserError: archived or foreign card, non-positive amount, inactive
            provider; nothing is sent to Stripe then
        :raise AccessError: the user is not allowed to move money
        """
        self.ensure_one()
        unanswered = self._clock_get_unanswered_charges()[:1]
        if unanswered:
            tx = self._clock_charge_again(unanswered, token, amount, folio, hold)
            if tx:
                return tx
        tx = self._clock_create_charge_transaction(token, amount, folio, hold)
        tx._send_payment_request()
        tx._clock_post_process_now()
        return tx

    def _clock_get_unanswered_charges(self):
        """Staff charges (and holds) of the booking sent to Stripe without an
        answer (the Payment Autopilot resolves its own)."""
        self.ensure_one()
        txs = self.sudo().transaction_ids.filtered(
            lambda tx: tx.operation == "offline"
            and tx.state == "draft"
            and tx.state_message
            and tx._autopilot_answer_lost()
        )
        if txs:
            runs = self.env["clock.autopilot.run"].sudo()
            txs -= runs.search([("transaction_ids", "in", txs.ids)]).transaction_ids
        return txs

    def _clock_charge_again(self, tx, token, amount, folio=None, hold=False):
        """Settle a charge whose answer was lost before charging again: Stripe is
        asked what became of it. Never a second charge for one request.

        * Stripe has it: its outcome is applied and the transaction returned;
        * Stripe never received it and the same charge is asked again: it is sent
          again (same reference and idempotency key) and returned;
        * Stripe never received it and another charge is asked: it is canceled,
          and ``None`` returned (the caller sends the new charge).

        :raise UserError: Stripe is still unreachable (nothing is sent)
        """
        self.ensure_one()
        self._clock_check_payment_access()
        tx = tx.sudo()
        if tx._autopilot_fetch_from_provider():
            tx._clock_post_process_now()
            return tx
        currency = tx.currency_id
        same = (
            tx.token_id == token.sudo()
            and not currency.compare_amounts(tx.amount, amount or 0.0)
            and tx.clock_stripe_capture_manually == bool(hold)
            and (not folio or tx.clock_folio_ids == folio.sudo())
        )
        if not same:
            tx._set_canceled(
                state_message=_("Never received by Stripe: replaced by another charge.")
            )
            return None
        tx._send_payment_request()
        tx._clock_post_process_now()
        return tx

    def _clock_create_charge_transaction(self, token, amount, folio=None, hold=False):
        """Check a charge (or hold) of a card on file and create its ``offline``
        transaction, without sending it.

        The Payment Autopilot commits the transaction (and its reference, from which
        the provider derives the idempotency key) before anything reaches Stripe;
        :meth:`_clock_charge` sends it at once. Same parameters and errors as
        :meth:`_clock_charge`.

        :return: the draft transaction
        :rtype: payment.transaction
        """
        self.ensure_one()
        values = self._clock_prepare_charge_values(token, amount, folio, hold)
        return self.env["payment.transaction"].sudo().create(values)

    def _clock_prepare_charge_values(self, token, amount, folio=None, hold=False):
        """Check a charge (or hold) of a card on file and return the create values
        of its ``offline`` transaction; nothing is created or sent.

        Same parameters and errors as :meth:`_clock_charge`.
        """
        self.ensure_one()
        self._clock_check_payment_access()
        booking = self.sudo()
        token = token.sudo()
        explicit_folio = bool(folio)
        folio = (folio or booking._clock_get_default_folio()).sudo()
        if folio and folio.reservation_id != booking:
            raise UserError(
                _(
                    "The folio %(folio)s is not a folio of %(booking)s.",
                    folio=folio.name,
                    booking=booking.name,
                )
            )
        currency = folio.currency_id or booking.currency_id
        booking._clock_check_amount(amount, currency)
        if not explicit_folio and not hold:
            booking._clock_check_single_folio_amount(folio, amount)
        if not token.exists() or not token.active:
            raise UserError(
                _(
                    "This card is archived: choose another card or ask the guest "
                    "for one."
                )
            )
        if token not in booking.card_ids.token_id:
            raise UserError(
                _(
                    "The card %(card)s is not on file for %(booking)s.",
                    card=token._clock_get_masked_label(),
                    booking=booking.name,
                )
            )
        card = booking._clock_card_of(token)
        card._clock_check_charge(amount, currency)
        provider = token.provider_id
        if provider.company_id != booking.company_id:
            raise UserError(
                _(
                    "The card %(card)s was saved with the provider %(provider)s of "
                    "%(company)s: a booking of %(hotel)s is charged through its own "
                    "hotel's provider only.",
                    card=token._clock_get_masked_label(),
                    provider=provider.name,
                    company=provider.company_id.name,
                    hotel=booking.company_id.name,
                )
            )
        booking._clock_check_provider(provider)
        if hold and not provider.support_manual_capture:
            raise UserError(
                _("The provider %s cannot place holds on cards.", provider.name)
            )
        return {
            "provider_id": provider.id,
            "payment_method_id": token.payment_method_id.id,
            "amount": currency.round(amount),
            "currency_id": currency.id,
            "partner_id": token.partner_id.id,
            "token_id": token.id,
            "operation": "offline",
            "clock_reservation_ids": [Command.set(booking.ids)],
            "clock_folio_ids": [Command.set(folio.ids)],
            **self.env["payment.transaction"]._clock_get_hold_values(hold),
        }

    def _clock_check_single_folio_amount(self, folio, amount):
        """Refuse to post to the default ``folio`` a payment larger than its
        payable balance when the booking has other folios: the payment is posted
        to one folio only, so the staff charge each folio separately.

        :raise UserError: the amount spans several folios
        """
        self.ensure_one()
        if len(self.folio_ids) < 2:
            return
        balance = folio._clock_get_payable_balance()
        rounding = folio.currency_id.rounding
        if float_compare(amount, balance, precision_rounding=rounding) > 0:
            raise UserError(
                _(
                    "%(booking)s has several folios and a payment is posted to one "
                    "of them: choose the folio to charge (%(amount)s is more than "
                    "the balance of %(balance)s of %(folio)s).",
                    booking=self.name,
                    amount=format_amount(self.env, amount, folio.currency_id),
                    balance=format_amount(self.env, balance, folio.currency_id),
                    folio=folio.name,
                )
            )

    def _clock_release_holds(self, transactions=None):
        """Release (void) the booking's active holds.

        :param payment.transaction transactions: only these holds (default: all the
            booking's active holds)
        :return: the holds a release was sent for
        :rtype: payment.transaction
        """
        self.ensure_one()
        self._clock_check_payment_access()
        holds = self.sudo().transaction_ids._clock_filter_active_holds()
        if transactions is not None:
            # Named below: only transactions the caller may read.
            transactions.check_access("read")
            foreign = transactions.sudo() - holds
            if foreign:
                raise UserError(
                    _(
                        "%(references)s is not an active hold of %(booking)s.",
                        references=", ".join(foreign.mapped("reference")),
                        booking=self.name,
                    )
                )
            holds = transactions.sudo()
        for tx in holds:
            self._clock_check_provider(tx.provider_id)
            tx._send_void_request()
        (holds | holds.child_transaction_ids)._clock_post_process_now()
        return holds

    def _clock_capture(self, tx, amount=None):
        """Capture a hold of the booking, fully or partly (the rest is released).

        :param payment.transaction tx: an active hold of the booking
        :param float amount: the amount to capture (``None``: the whole hold; an
            empty or zero amount is refused)
        :return: the transaction that carries the captured payment (the hold
            itself, or its partial-capture child)
        :raise UserError: not an active hold, or an amount above the hold
        """
        self.ensure_one()
        self._clock_check_payment_access()
        tx = self._clock_get_active_hold(tx)
        remaining = tx._clock_get_remaining_hold()
        amount = remaining if amount is None else tx.currency_id.round(amount or 0.0)
        self._clock_check_amount(amount, tx.currency_id)
        cmp = float_compare(
            amount, remaining, precision_rounding=tx.currency_id.rounding
        )
        if cmp > 0:
            raise UserError(
                _(
                    "You cannot capture %(amount)s: the hold is %(held)s.",
                    amount=format_amount(self.env, amount, tx.currency_id),
                    held=format_amount(self.env, remaining, tx.currency_id),
                )
            )
        if cmp < 0 and tx.provider_id.support_manual_capture != "partial":
            raise UserError(
                _(
                    "The provider %s can only capture a hold in full.",
                    tx.provider_id.name,
                )
            )
        self._clock_check_provider(tx.provider_id)
        child = tx._send_capture_request(amount_to_capture=amount if cmp < 0 else None)
        (tx | tx.child_transaction_ids)._clock_post_process_now()
        return child or tx

    def _clock_get_active_hold(self, tx):
        """``tx`` as an active hold of the booking (sudo).

        :raise UserError: it is not one
        :raise AccessError: the caller may not read ``tx`` (another hotel's)
        """
        self.ensure_one()
        tx.check_access("read")
        tx = tx.sudo()
        if tx not in self.sudo().transaction_ids._clock_filter_active_holds():
            raise UserError(
                _(
                    "%(reference)s is not an active hold of %(booking)s.",
                    reference=tx.reference,
                    booking=self.name,
                )
            )
        return tx

    def _clock_raise_hold(self, tx, amount):
        """Raise an active hold of the booking by ``amount`` (incidentals, an
        extra night), when Stripe allows it on that hold.

        :param payment.transaction tx: an active hold of the booking
        :param float amount: the amount added to the hold, in its currency
        :return: the hold, raised
        :raise UserError: not a hold Stripe allows raising (place a second hold
            then), a non-positive amount, or the bank declined the raise; the
            hold is unchanged
        """
        self.ensure_one()
        self._clock_check_payment_access()
        tx = self._clock_get_active_hold(tx)
        self._clock_check_amount(amount, tx.currency_id)
        self._clock_check_provider(tx.provider_id)
        before = tx.amount
        try:
            tx._clock_stripe_increment_hold(tx.amount + amount)
        except ClockStripeError as error:
            if error.kind != "card":
                raise
            raise UserError(
                _(
                    "The bank declined raising the hold %(reference)s (%(reason)s): "
                    "it still holds %(amount)s. Place a second hold for the extra "
                    "amount instead.",
                    reference=tx.reference,
                    reason=error,
                    amount=format_amount(self.env, before, tx.currency_id),
                )
            ) from None
        self.message_post(
            body=_(
                "The hold %(reference)s was raised from %(before)s to %(after)s.",
                reference=tx.reference,
                before=format_amount(self.env, before, tx.currency_id),
                after=format_amount(self.env, tx.amount, tx.currency_id),
            ),
            subtype_xmlid="mail.mt_note",
        )
        return tx

    def _clock_reauthorize_hold(self, tx):
        """Renew an active hold before it expires, never leaving the booking
        unsecured: a new hold of what is still held is placed on the same card
        first, and the old one is released only once the new one is authorized.
        When the new hold fails, the old one is kept and staff are alerted (an
        activity and a note on the booking).

        :param payment.transaction tx: an active hold of the booking
        :return: the new hold's transaction (its ``state`` tells the outcome), or
            an empty recordset when no new hold could be sent
        """
        self.ensure_one()
        self._clock_check_payment_access()
        tx = self._clock_get_active_hold(tx)
        token = tx.token_id
        new = self.env["payment.transaction"]
        reason = False
        if not token.active or token not in self.sudo().card_ids.token_id:
            reason = _("its card is no longer on file")
        else:
            try:
                new = self._clock_charge(
                    token,
                    tx._clock_get_remaining_hold(),
                    folio=tx.clock_folio_ids[:1] or None,
                    hold=True,
                )
            except UserError as error:
                reason = str(error)
            else:
                if new.state != "authorized":
                    reason = new.state_message or _("Stripe did not authorize it")
        if reason:
            self._clock_alert_staff(
                _(
                    "The hold %(reference)s could not be renewed (%(reason)s). It is "
                    "kept until it expires on %(expiry)s: renew it by hand or ask "
                    "the guest for another card.",
                    reference=tx.reference,
                    reason=reason,
                    expiry=format_datetime(self.env, tx.clock_stripe_hold_expires_at),
                )
            )
            return new
        try:
            self._clock_release_holds(tx)
        except UserError as error:
            self._clock_alert_staff(
                _(
                    "The hold %(reference)s was renewed by %(new)s but could not be "
                    "released (%(reason)s): release it by hand.",
                    reference=tx.reference,
                    new=new.reference,
                    reason=error,
                )
            )
            return new
        self.message_post(
            body=_(
                "The hold %(reference)s was renewed by %(new)s of %(amount)s, "
                "valid until %(expiry)s.",
                reference=tx.reference,
                new=new.reference,
                amount=format_amount(self.env, new.amount, new.currency_id),
                expiry=format_datetime(self.env, new.clock_stripe_hold_expires_at),
            ),
            subtype_xmlid="mail.mt_note",
        )
        return new

    def _clock_holds_expiring_within(self, hours):
        """The booking's active holds that expire within ``hours`` from now."""
        self.ensure_one()
        limit = fields.Datetime.now() + timedelta(hours=hours)
        return (
            self.sudo()
            .transaction_ids._clock_filter_active_holds()
            .filtered(
                lambda hold: hold.clock_stripe_hold_expires_at
                and hold.clock_stripe_hold_expires_at <= limit
            )
        )

    def _clock_alert_staff(self, message):
        """A to-do for the user at work (the administrator when a cron runs)
        and a note on the booking."""
        self.ensure_one()
        user = self.env.user
        if user._is_superuser():
            user = self.env.ref("base.user_admin")
        self.sudo().activity_schedule(
            "mail.mail_activity_data_todo",
            summary=_("Card hold needs attention"),
            note=message,
            user_id=user.id,
        )
        self.message_post(body=message, subtype_xmlid="mail.mt_note")

    def _clock_refund(self, tx, amount=None):
        """Refund a card payment of the booking, fully or partly.

        :param payment.transaction tx: a confirmed payment of the booking
        :param float amount: the amount to refund (``None``: all that is left; an
            empty or zero amount is refused)
        :return: the refund transaction
        :raise UserError: not a refundable payment, or an amount above what is left
        :raise AccessError: the user is not a hotel manager of the payments group
        """
        self.ensure_one()
        self._clock_check_payment_access(refund=True)
        tx.check_access("read")
        tx = tx.sudo()
        if tx not in self.sudo().transaction_ids._clock_filter_payments():
            raise UserError(
                _(
                    "%(reference)s is not a confirmed payment of %(booking)s.",
                    reference=tx.reference,
                    booking=self.name,
                )
            )
        if tx.provider_id.support_refund == "none":
            raise UserError(
                _("The provider %s cannot refund payments.", tx.provider_id.name)
            )
        unanswered = tx._clock_stripe_unanswered_refunds()[:1]
        if unanswered:
            return self._clock_refund_again(unanswered, amount)
        refundable = tx._clock_get_refundable_amount()
        amount = refundable if amount is None else tx.currency_id.round(amount or 0.0)
        self._clock_check_amount(amount, tx.currency_id)
        cmp = float_compare(
            amount, refundable, precision_rounding=tx.currency_id.rounding
        )
        if cmp > 0:
            raise UserError(
                _(
                    "You cannot refund %(amount)s: %(left)s of this payment can "
                    "still be refunded.",
                    amount=format_amount(self.env, amount, tx.currency_id),
                    left=format_amount(self.env, refundable, tx.currency_id),
                )
            )
        if cmp < 0 and tx.provider_id.support_refund == "full_only":
            raise UserError(
                _(
                    "The provider %s can only refund a payment in full.",
                    tx.provider_id.name,
                )
            )
        self._clock_check_provider(tx.provider_id)
        refund_tx = tx._send_refund_request(amount_to_refund=amount)
        refund_tx._clock_post_process_now()
        return refund_tx

    def _clock_refund_again(self, refund_tx, amount=None):
        """Send again a refund whose answer was lost (same reference and
        idempotency key: Stripe refunds once), instead of a new refund.

        :raise UserError: ``amount`` is not the amount of that refund
        """
        self.ensure_one()
        currency = refund_tx.currency_id
        if amount is not None and currency.compare_amounts(amount, -refund_tx.amount):
            raise UserError(
                _(
                    "The refund of %(amount)s (%(ref)s) got no answer from Stripe: "
                    "refund %(amount)s again to check it with Stripe (it is never "
                    "refunded twice), then refund the rest.",
                    amount=format_amount(self.env, -refund_tx.amount, currency),
                    ref=refund_tx.reference,
                )
            )
        self._clock_check_provider(refund_tx.provider_id)
        refund_tx._clock_stripe_lock()
        refund_tx._clock_stripe_send_refund(again=True)
        refund_tx._clock_post_process_now()
        return refund_tx

    def _clock_send_card_link(self):
        """E-mail the guest the link to guarantee the booking or add a card."""
        self._clock_check_payment_access()
        template = self.env.ref("clock_stripe_payment.mail_template_clock_card_link")
        for booking in self:
            if not booking.partner_id.email:
                raise UserError(
                    _(
                        "%s has no e-mail address: the link cannot be sent.",
                        booking.partner_id.display_name,
                    )
                )
            booking.message_post_with_source(
                template, message_type="comment", subtype_xmlid="mail.mt_comment"
            )
        return True

    def _clock_get_folio_pay_url(self, folio, amount=None):
        """The guest's link to pay ``amount`` (default: the balance) of a folio."""
        self.ensure_one()
        query = f"amount={amount}" if amount else None
        return self.get_portal_url(
            suffix=f"/folio/{folio.id}/pay", query_string=query and f"&{query}"
        )

    def _clock_send_authentication_link(self, tx):
        """The guest's bank refused a merchant-initiated charge without the card
        holder's authentication (3-D Secure): e-mail the guest a link to pay the
        same amount of the same folio themselves, on-session."""
        self.ensure_one()
        self._clock_check_payment_access()
        folio = tx._clock_get_folio()
        if not folio or folio.hide_on_portal or not self.partner_id.email:
            return False
        url = self.get_base_url() + self._clock_get_folio_pay_url(folio, tx.amount)
        template = self.env.ref(
            "clock_stripe_payment.mail_template_clock_card_authenticate"
        )
        self.with_context(
            clock_pay_url=url,
            clock_pay_amount=format_amount(self.env, tx.amount, tx.currency_id),
        ).message_post_with_source(
            template, message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        return url

    # ------------------------------------------------------------------
    # Post-processing of transactions (called by payment.transaction)
    # ------------------------------------------------------------------

    @api.model
    def _clock_reference_prefix(self, separator, values):
        """Reference prefix of a hotel transaction: its folio, else its booking."""
        transactions = self.env["payment.transaction"]
        for field_name, model in (
            ("clock_folio_ids", "clock.folio"),
            ("clock_reservation_ids", "clock.reservation"),
        ):
            commands = values.get(field_name)
            if not commands:
                continue
            ids = transactions._fields[field_name].convert_to_cache(
                commands, transactions
            )
            records = self.env[model].sudo().browse(ids).exists()
            if records and len(records) == len(ids):
                return separator.join(records.mapped("name"))
        return ""

    @api.model
    def _clock_process_transactions(self, transactions):
        """Apply the hotel side of processed transactions, idempotently.

        * a successful guarantee (payment, hold or saved card) confirms the draft
          booking and marks it guaranteed; one whose money moved after the
          booking stopped taking a guarantee (cancelled, or guaranteed in another
          tab) is given back instead (see :meth:`_clock_return_late_guarantee`);
        * a successful transaction with a card puts the card on file (a replaced
          card makes way for the new one);
        * a confirmed payment, capture or refund becomes one folio payment line;
        * a hold is listed on the folio (linked to it), not posted.

        The caller holds a row lock on the transactions, and a folio line is unique
        per transaction, so this runs once per transaction whoever reports the
        result (return page, webhook or cron).
        """
        for tx in transactions.sudo():
            bookings = tx._clock_get_reservations()
            if not bookings:
                continue
            late_guarantee = tx._clock_is_late_guarantee()
            if tx.state in ("authorized", "done"):
                for booking in bookings:
                    if tx.token_id and tx.token_id.active:
                        booking._clock_link_card(tx.token_id, tx)
                    if tx.clock_guarantee and not late_guarantee:
                        booking._clock_guarantee_by(tx)
                if tx.clock_guarantee and not tx.clock_guarantee_outcome:
                    tx.clock_guarantee_outcome = (
                        "returned" if late_guarantee else "applied"
                    )
                if tx.clock_replace_token_id and tx.token_id:
                    bookings._clock_replace_card(tx.clock_replace_token_id, tx.token_id)
            if tx.state == "authorized" and tx.operation != "validation":
                folio = tx._clock_get_folio()
                if folio and folio not in tx.clock_folio_ids:
                    tx.clock_folio_ids = [Command.link(folio.id)]
            elif tx.state == "done":
                posted = tx.clock_folio_line_ids
                if self._clock_post_transaction_to_folio(tx) and not posted:
                    tx._clock_return_surplus()
            elif tx.state == "error" and tx.operation == "refund":
                self._clock_reverse_failed_refund(tx)
            if late_guarantee:
                self._clock_return_late_guarantee(tx)

    @api.model
    def _clock_return_late_guarantee(self, tx):
        """Give back a guarantee whose money moved at Stripe after its booking
        stopped taking one: release the hold, or refund the payment in full
        (posted to the folio against the payment), as staff would, idempotency
        keys included. The guest reads why on the payment's status; staff get a
        note on the booking.

        A Stripe error is raised: the post-processing is tried again, whole.
        """
        tx = tx.sudo()
        bookings = tx._clock_get_reservations()
        amount = format_amount(self.env, tx.amount, tx.currency_id)
        if any(booking.guarantee_status == "guaranteed" for booking in bookings):
            guest_reason = _("This booking is already guaranteed")
            staff_reason = _("the booking was already guaranteed")
        else:
            guest_reason = _("This booking no longer needs a guarantee")
            staff_reason = _("the booking was cancelled or closed")
        if tx.state == "authorized":
            bookings[:1]._clock_release_holds(tx)
            tx.state_message = _(
                "%(reason)s: the hold of %(amount)s on your card was released and "
                "nothing was charged.",
                reason=guest_reason,
                amount=amount,
            )
            outcome = _("its hold of %s was released", amount)
        else:
            bookings[:1]._clock_refund(tx)
            tx.state_message = _(
                "%(reason)s: your payment of %(amount)s is refunded to your card.",
                reason=guest_reason,
                amount=amount,
            )
            outcome = _("its payment of %s was refunded", amount)
        for booking in bookings:
            booking.message_post(
                body=_(
                    "The guarantee %(ref)s went through at Stripe after %(reason)s: "
                    "%(outcome)s, so that nothing stays charged.",
                    ref=tx.reference,
                    reason=staff_reason,
                    outcome=outcome,
                ),
                subtype_xmlid="mail.mt_note",
            )

    @api.model
    def _clock_reverse_failed_refund(self, tx):
        """Undo on the folio and in accounting a refund that Stripe reports
        failed after it succeeded (the money stayed with the hotel): a reversing
        folio line, the refund's ``account.payment`` canceled, both said in the
        booking's chatter. Once.

        :return: the reversing line (empty when there was nothing to reverse)
        """
        tx = tx.sudo()
        Line = self.env["clock.folio.line"].sudo()
        line = tx.clock_folio_line_ids[:1]
        if not line or Line.search_count([("clock_reversed_line_id", "=", line.id)]):
            return Line
        reversal = Line.create(
            {
                "folio_id": line.folio_id.id,
                "name": _("Refund failed at Stripe (%s): reversed", tx.reference),
                "kind": "payment",
                "amount": -line.amount,
                "clock_reversed_line_id": line.id,
            }
        )
        payment = tx.payment_id
        if payment and payment.state != "canceled":
            payment.action_draft()
            payment.action_cancel()
        body = _(
            "The refund %(ref)s of %(amount)s failed at Stripe after it was "
            "recorded: the money stays with the hotel. Its folio line is reversed "
            "and its accounting payment canceled; the amount can be refunded "
            "again.",
            ref=tx.reference,
            amount=format_amount(self.env, abs(line.amount), line.currency_id),
        )
        for booking in tx._clock_get_reservations():
            booking.message_post(body=body)
        return reversal

    @api.model
    def _clock_post_transaction_to_folio(self, tx):
        """Post a confirmed payment, capture or refund to its folio (once).

        A hold captured in part is posted by its capture child (the source carries
        nothing, as in ``account_payment``); a card check (validation) is no
        payment. The line is in the folio's currency and linked to the
        ``account.payment`` that ``account_payment`` created for the transaction.
        """
        tx = tx.sudo()
        if tx.state != "done" or tx.operation == "validation":
            return self.env["clock.folio.line"]
        if tx.clock_folio_line_ids:
            return tx.clock_folio_line_ids
        if tx.operation != "refund" and tx.child_transaction_ids.filtered(
            lambda child: child.operation == tx.operation
            and child.state in ("done", "cancel")
        ):
            return self.env["clock.folio.line"]
        folio = tx._clock_get_folio()
        if not folio:
            _logger.warning(
                "transaction %s of a booking without folio: not posted", tx.reference
            )
            return self.env["clock.folio.line"]
        if folio not in tx.clock_folio_ids:
            tx.clock_folio_ids = [Command.link(folio.id)]
        amount = tx.amount
        if tx.currency_id != folio.currency_id:
            amount = tx.currency_id._convert(
                amount,
                folio.currency_id,
                folio.company_id,
                (tx.last_state_change or fields.Datetime.now()).date(),
            )
        card = tx.token_id._clock_get_masked_label() if tx.token_id else _("card")
        if tx.operation == "refund":
            name = _("Card refund %(card)s (%(ref)s)", card=card, ref=tx.reference)
        else:
            name = _("Card payment %(card)s (%(ref)s)", card=card, ref=tx.reference)
        line = (
            self.env["clock.folio.line"]
            .sudo()
            .create(
                {
                    "folio_id": folio.id,
                    "name": name,
                    "date": (tx.last_state_change or fields.Datetime.now()).date(),
                    "kind": "payment",
                    "amount": folio.currency_id.round(amount),
                    "payment_transaction_id": tx.id,
                    "account_payment_id": tx.payment_id.id,
                }
            )
        )
        return line

    @api.model
    def _clock_log_transaction(self, tx, message):
        """Post what happened to ``tx`` on its bookings' chatter (amount, card)."""
        bookings = tx._clock_get_reservations()
        if not bookings:
            return
        user = self.env.user
        author = user.partner_id if user._is_internal() else tx.partner_id
        body = self._clock_transaction_message(tx)
        if body is None:
            body = message
        if not body:
            return
        # A log, not a post: no one is notified of it, so nothing is computed for
        # notifications (followers, thread parent).
        for booking in bookings:
            booking._message_log(body=body, author_id=author.id)

    @api.model
    def _clock_transaction_message(self, tx):
        """The hotel wording of a transaction's new state (``None``: keep the
        framework's message, ``""``: post nothing)."""
        if tx.state in ("draft", "pending"):
            return None
        env = self.env
        amount = format_amount(env, abs(tx.amount), tx.currency_id)
        card = tx.token_id._clock_get_masked_label() if tx.token_id else _("the card")
        values = {"amount": amount, "card": card, "ref": tx.reference}
        reason = tx.state_message or _("no reason given")
        source = tx.source_transaction_id
        is_capture_child = bool(source) and tx.operation == source.operation
        is_hold = tx.clock_stripe_capture_manually or (
            is_capture_child and source.clock_stripe_capture_manually
        )
        if tx.operation == "validation":
            if tx.state == "done":
                return ""  # The card put on file is logged by _clock_link_card.
            if tx.state == "error":
                return _(
                    "The card could not be saved: %(reason)s (%(ref)s).",
                    reason=reason,
                    ref=tx.reference,
                )
            return None
        if tx.operation == "refund":
            if tx.state == "done":
                return _("Refund of %(amount)s to %(card)s (%(ref)s).", **values)
            if tx.state == "error":
                return _(
                    "Refund of %(amount)s to %(card)s failed: %(reason)s (%(ref)s).",
                    reason=reason,
                    **values,
                )
            return _("Refund of %(amount)s to %(card)s canceled (%(ref)s).", **values)
        if tx.state == "authorized":
            expiry = tx.clock_stripe_hold_expires_at
            if expiry:
                return _(
                    "Hold of %(amount)s placed on %(card)s (%(ref)s), valid until "
                    "%(expiry)s.",
                    expiry=format_datetime(env, expiry),
                    **values,
                )
            return _("Hold of %(amount)s placed on %(card)s (%(ref)s).", **values)
        if tx.state == "done":
            if is_capture_child:
                return _(
                    "Capture of %(amount)s from the hold %(hold)s on %(card)s.",
                    hold=source.reference,
                    **values,
                )
            if is_hold:
                return _("Hold of %(amount)s captured on %(card)s (%(ref)s).", **values)
            return _("Payment of %(amount)s with %(card)s (%(ref)s).", **values)
        if tx.state == "cancel":
            if is_hold:
                return _("Hold of %(amount)s on %(card)s released (%(ref)s).", **values)
            return _(
                "Payment of %(amount)s with %(card)s canceled (%(ref)s).", **values
            )
        # error
        if is_hold:
            return _(
                "Hold of %(amount)s on %(card)s failed: %(reason)s (%(ref)s).",
                reason=reason,
                **values,
            )
        return _(
            "Payment of %(amount)s with %(card)s failed: %(reason)s (%(ref)s).",
            reason=reason,
            **values,
        )

    @api.model
    def _clock_token_is_needed(self, token, exclude=None):
        """Whether a card must be kept: an active hold on it, or a booking (other
        than ``exclude``) still open or within its card retention period."""
        token = token.sudo()
        holds = (
            self.env["payment.transaction"]
            .sudo()
            .search([("token_id", "=", token.id), ("state", "=", "authorized")])
        )
        if holds._clock_filter_active_holds():
            return True
        now = fields.Datetime.now()
        cards = (
            self.env["clock.reservation.card"]
            .sudo()
            .with_context(active_test=False)
            .search([("token_id", "=", token.id)])
        )
        for booking in cards.reservation_id - (exclude or self.browse()):
            if booking.state in OPEN_STATES:
                return True
            start = booking._clock_get_retention_start()
            days = booking.company_id.clock_card_retention_days
            if start and days > 0 and start + timedelta(days=days) > now:
                return True
        return False

    def _clock_guarantee_by(self, tx):
        """Confirm (if still a draft) and guarantee the booking after ``tx``."""
        self.ensure_one()
        booking = self.sudo()
        if booking.state == "draft":
            booking.action_confirm()
        if booking.state in OPEN_STATES and booking.guarantee_status != "guaranteed":
            booking.guarantee_status = "guaranteed"
            booking.message_post(
                body=_(
                    "Booking guaranteed by card %(card)s (%(reference)s).",
                    card=tx.token_id._clock_get_masked_label(),
                    reference=tx.reference,
                )
            )

    def _clock_card_of(self, token):
        """The booking's card on file for ``token`` (empty when none)."""
        self.ensure_one()
        return self.card_ids.filtered(lambda card: card.token_id == token)

    def _clock_link_card(self, token, tx=None, card_type="guest"):
        """Put ``token`` on file for the booking (once)."""
        self.ensure_one()
        cards = self.sudo().card_ids
        if token in cards.token_id:
            return self.sudo()._clock_card_of(token)
        card = (
            self.env["clock.reservation.card"]
            .sudo()
            .create(
                {
                    "reservation_id": self.id,
                    "token_id": token.id,
                    "card_type": card_type,
                    "sequence": max(cards.mapped("sequence") or [0]) + 1,
                }
            )
        )
        card_label = token._clock_get_masked_label()
        self.sudo().message_post(
            body=_(
                "Card %(card)s saved for the booking (%(reference)s).",
                card=card_label,
                reference=tx.reference,
            )
            if tx
            else _("Card %(card)s saved for the booking.", card=card_label)
        )
        return card

    def _clock_replace_card(self, old_token, new_token):
        """The guest replaced ``old_token`` by ``new_token``: the new card takes the
        old one's place (keeping its own type: a guest's card replacing an OTA's
        virtual card is a guest card), and the old card is archived unless a hold
        or another booking still needs it."""
        for booking in self.sudo():
            old_card = booking._clock_card_of(old_token)
            new_card = booking._clock_card_of(new_token)
            if not old_card or not new_card or old_card == new_card:
                continue
            new_card.sequence = old_card.sequence
            old_card.unlink()
            booking.message_post(
                body=_(
                    "Card %(old)s replaced by %(new)s.",
                    old=old_token._clock_get_masked_label(),
                    new=new_token._clock_get_masked_label(),
                )
            )
        if old_token.active and not old_token._clock_is_needed():
            old_token.active = False

    # ------------------------------------------------------------------
    # Card retention
    # ------------------------------------------------------------------

    def _clock_get_retention_start(self):
        """When the card retention period of a closed booking starts."""
        self.ensure_one()
        return {
            "checked_out": self.checked_out_at,
            "cancelled": self.cancelled_at,
            "no_show": self.no_show_at,
        }.get(self.state)

    def _clock_cards_still_needed(self):
        """Whether the booking still needs its cards: an active hold on it, or a
        Payment Autopilot task that may still charge or hold them (an unfinished
        run of such a task, or an active one that matches the booking and has not
        acted on it yet, e.g. a cancellation fee a day after)."""
        self.ensure_one()
        booking = self.sudo()
        if booking.transaction_ids._clock_filter_active_holds():
            return True
        money = ("charge", "hold")
        if booking.autopilot_run_ids.filtered(
            lambda run: run.operation in money
            and run.state in ("planned", "running", "retry", "unknown")
        ):
            return True
        tasks = (
            self.env["clock.autopilot.task"]
            .sudo()
            .search(
                [
                    ("company_id", "=", booking.company_id.id),
                    ("operation", "in", money),
                ]
            )
        )
        return any(
            booking.search_count(
                [
                    ("id", "=", booking.id),
                    *task._autopilot_match_domain(),
                    ("autopilot_run_ids", "not any", [("task_id", "=", task.id)]),
                ],
                limit=1,
            )
            for task in tasks
        )

    @api.model
    def _cron_clock_card_retention(self):
        """Archive the cards of bookings closed longer than the company's
        retention; archiving a token detaches its card at the provider.

        Each booking is committed on its own (as the Autopilot does), so that a
        failure does not undo the cards already detached at the provider; a card
        that could not be detached stays active and is tried again next run.
        """
        now = fields.Datetime.now()
        bookings = self.sudo().search(
            [
                ("state", "in", ("checked_out", "cancelled", "no_show")),
                ("card_ids.token_id.active", "=", True),
            ]
        )
        archived = self.env["payment.token"]
        for booking in bookings:
            try:
                tokens = booking._clock_retention_archive_cards(now)
            except Exception:
                _logger.exception(
                    "Card retention: could not delete the cards of booking %s",
                    booking.id,
                )
                self._clock_retention_rollback()
                continue
            self._clock_retention_commit()
            archived |= tokens
        return archived

    def _clock_retention_archive_cards(self, now):
        """Archive the booking's cards if its retention period is over.

        :return: the archived tokens (payment.token)
        """
        self.ensure_one()
        booking = self
        archived = self.env["payment.token"]
        days = booking.company_id.clock_card_retention_days
        start = booking._clock_get_retention_start()
        if days <= 0 or not start or start + timedelta(days=days) > now:
            return archived
        if booking._clock_cards_still_needed():
            return archived
        tokens = booking.card_ids.token_id.filtered("active")
        tokens = tokens.filtered(
            lambda token: not token._clock_is_needed(exclude=booking)
        )
        for token in tokens:
            try:
                with self.env.cr.savepoint():
                    token.with_context(clock_stripe_detach_required=True).write(
                        {"active": False}
                    )
            except ClockStripeError as error:
                _logger.warning(
                    "Card retention: could not detach token %s of %s at the "
                    "provider, tried again next run: %s",
                    token.id,
                    booking.name,
                    error.stripe_message or error,
                )
                continue
            archived |= token
        if archived:
            booking.message_post(
                body=Markup("%s<br/>%s")
                % (
                    _("Card retention: the cards on file were deleted."),
                    ", ".join(t._clock_get_masked_label() for t in archived),
                )
            )
        return archived

    def _clock_retention_commit(self):
        """Commit the card retention of one booking, so that no other one undoes
        it (see ``clock.autopilot.run._autopilot_commit``); tests replace it."""
        self.env.cr.commit()  # pylint: disable=invalid-commit

    def _clock_retention_rollback(self):
        """Drop the work of a booking that failed unexpectedly; tests replace it."""
        self.env.cr.rollback()

    # ------------------------------------------------------------------
    # Actions (buttons of the reservation form)
    # ------------------------------------------------------------------

    def _clock_wizard_action(self, xmlid, context=None):
        self.ensure_one()
        self._clock_check_payment_access()
        action = self.env["ir.actions.act_window"]._for_xml_id(xmlid)
        action["context"] = {
            "default_reservation_id": self.id,
            **(context or {}),
        }
        return action

    def action_clock_send_card_link(self):
        return self._clock_wizard_action(
            "clock_stripe_payment.clock_card_link_wizard_action"
        )

    def action_clock_charge(self):
        return self._clock_wizard_action(
            "clock_stripe_payment.clock_charge_wizard_action",
            {"default_hold": False},
        )

    def action_clock_hold(self):
        action = self._clock_wizard_action(
            "clock_stripe_payment.clock_charge_wizard_action",
            {"default_hold": True},
        )
        action["name"] = _("Hold Amount")  # the same wizard as "Charge Card"
        return action

    def action_clock_capture(self):
        return self._clock_wizard_action(
            "clock_stripe_payment.clock_capture_wizard_action"
        )

    def action_clock_release(self):
        return self._clock_wizard_action(
            "clock_stripe_payment.clock_capture_wizard_action",
            {"default_mode": "release"},
        )

    def action_clock_raise_hold(self):
        return self._clock_wizard_action(
            "clock_stripe_payment.clock_capture_wizard_action",
            {"default_mode": "raise"},
        )

    def action_clock_renew_hold(self):
        return self._clock_wizard_action(
            "clock_stripe_payment.clock_capture_wizard_action",
            {"default_mode": "renew"},
        )

    def action_clock_refund(self):
        self._clock_check_payment_access(refund=True)
        return self._clock_wizard_action(
            "clock_stripe_payment.clock_refund_wizard_action"
        )

    def action_clock_view_transactions(self):
        self.ensure_one()
        self._clock_check_payment_access()
        return {
            "name": _("Transactions"),
            "type": "ir.actions.act_window",
            "res_model": "payment.transaction",
            "view_mode": "list,form",
            "domain": [("id", "in", self.sudo().transaction_ids.ids)],
            "context": {"create": False},
        }

    # === AUTOPILOT === #
    # The Payment Autopilot's view of a booking. Planning compares a stored anchor
    # per mode with "now ± offset" in SQL, so every anchor a mode needs is a
    # stored, indexed column: the 12:00 anchors depend on the hotel's time zone and
    # are computed here; creation, check-in and check-out times are already stored
    # by the core.

    autopilot_arrival_noon_at = fields.Datetime(
        string="Arrival Day Noon",
        compute="_compute_autopilot_noon_anchors",
        store=True,
        index=True,
        help="12:00 on the arrival day in the hotel's time zone: the anchor of the "
        "Autopilot's 'up to arrival' mode.",
    )
    autopilot_departure_noon_at = fields.Datetime(
        string="Departure Day Noon",
        compute="_compute_autopilot_noon_anchors",
        store=True,
        index=True,
        help="12:00 on the departure day in the hotel's time zone: the anchor of "
        "the Autopilot's 'before departure' mode.",
    )
    autopilot_cancelled_at = fields.Datetime(
        string="Cancelled or No-show At",
        compute="_compute_autopilot_cancelled_at",
        store=True,
        index=True,
    )
    autopilot_run_ids = fields.One2many(
        "clock.autopilot.run", "reservation_id", string="Autopilot History"
    )
    autopilot_busy_run_id = fields.Many2one(
        "clock.autopilot.run",
        string="Autopilot Run in Progress",
        readonly=True,
        copy=False,
        ondelete="set null",
        help="The last Autopilot run that moved money on the booking; while it is "
        "running or its outcome is unknown, no other run moves money here.",
    )
    autopilot_next_task_id = fields.Many2one(
        "clock.autopilot.task",
        string="Next Autopilot Task",
        compute="_compute_autopilot_next_action",
    )
    autopilot_next_action_at = fields.Datetime(
        string="Next Autopilot Action At",
        compute="_compute_autopilot_next_action",
    )
    autopilot_next_action = fields.Char(
        string="Next Autopilot Action",
        compute="_compute_autopilot_next_action",
    )

    @api.depends("arrival_date", "departure_date", "company_id.partner_id.tz")
    def _compute_autopilot_noon_anchors(self):
        for booking in self:
            tz_name = booking.company_id.partner_id.tz or "UTC"
            booking.autopilot_arrival_noon_at = autopilot.local_noon_utc(
                booking.arrival_date, tz_name
            )
            booking.autopilot_departure_noon_at = autopilot.local_noon_utc(
                booking.departure_date, tz_name
            )

    @api.depends("cancelled_at", "no_show_at")
    def _compute_autopilot_cancelled_at(self):
        for booking in self:
            booking.autopilot_cancelled_at = booking.cancelled_at or booking.no_show_at

    @api.depends_context("uid")
    def _compute_autopilot_next_action(self):
        """The earliest trigger still ahead among the active tasks matching the booking.

        A trigger already passed and not yet acted on is shown too: the next cron run
        takes it.
        """
        self.autopilot_next_task_id = False
        self.autopilot_next_action_at = False
        self.autopilot_next_action = False
        bookings = self.filtered("id")
        if not bookings:
            return
        tasks = self.env["clock.autopilot.task"].search(
            [("company_id", "in", bookings.company_id.ids)]
        )
        best = {}
        for task in tasks:
            matching = bookings.search(
                [("id", "in", bookings.ids), *task._autopilot_match_domain()]
            )
            done = set(
                self.env["clock.autopilot.run"]
                .search(
                    [("task_id", "=", task.id), ("reservation_id", "in", matching.ids)]
                )
                .reservation_id.ids
            )
            for booking in matching:
                if booking.id in done:
                    continue
                when = task._autopilot_trigger_time(booking)
                if when and (booking.id not in best or when < best[booking.id][0]):
                    best[booking.id] = (when, task)
        operations = dict(
            self.env["clock.autopilot.task"]
            ._fields["operation"]
            ._description_selection(self.env)
        )
        for booking in bookings:
            if booking.id not in best:
                continue
            when, task = best[booking.id]
            booking.autopilot_next_task_id = task
            booking.autopilot_next_action_at = when
            booking.autopilot_next_action = _(
                "%(operation)s (%(task)s)",
                operation=operations[task.operation],
                task=task.name,
            )

    def _autopilot_active_holds(self):
        """The booking's holds that are still open (what a release task voids)."""
        self.ensure_one()
        return self.sudo().transaction_ids._clock_filter_active_holds()
