from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import format_amount

from .. import utils


class ClockChargeWizard(models.TransientModel):
    _name = "clock.charge.wizard"
    _description = "Charge or hold a card on file"

    reservation_id = fields.Many2one("clock.reservation", required=True, readonly=True)
    folio_id = fields.Many2one(
        "clock.folio",
        domain="[('reservation_id', '=', reservation_id)]",
        help="The folio the payment is posted to.",
    )
    hold = fields.Boolean(
        help="Authorize the amount on the card only: it is captured or released "
        "later.",
    )
    card_id = fields.Many2one(
        "clock.reservation.card",
        string="Card",
        domain="[('reservation_id', '=', reservation_id), ('active', '=', True)]",
        compute="_compute_card_id",
        store=True,
        readonly=False,
        precompute=True,
    )
    currency_id = fields.Many2one(
        "res.currency", compute="_compute_currency_id", readonly=True
    )
    balance = fields.Monetary(compute="_compute_balance")
    amount = fields.Monetary(
        compute="_compute_amount",
        store=True,
        readonly=False,
        required=True,
        precompute=True,
    )

    @api.depends("reservation_id")
    def _compute_card_id(self):
        cards = self.env["clock.reservation.card"]
        for wizard in self:
            if wizard.card_id:
                continue
            token = cards._select_card(wizard.reservation_id._origin.card_ids, "first")
            wizard.card_id = wizard.reservation_id._origin.card_ids.filtered(
                lambda card, t=token: card.token_id == t
            )[:1]

    @api.depends("folio_id", "reservation_id")
    def _compute_currency_id(self):
        for wizard in self:
            wizard.currency_id = (
                wizard.folio_id.currency_id or wizard.reservation_id.currency_id
            )

    @api.depends("folio_id", "reservation_id")
    def _compute_balance(self):
        for wizard in self:
            wizard.balance = (
                wizard.folio_id._origin._clock_get_payable_balance()
                if wizard.folio_id
                else wizard.reservation_id._clock_get_balance(include_hidden=True)
            )

    @api.depends("folio_id", "reservation_id", "hold")
    def _compute_amount(self):
        for wizard in self:
            booking = wizard.reservation_id
            if wizard.hold and not wizard.folio_id and booking.deposit_amount:
                amount = booking.deposit_amount
            else:
                amount = wizard.balance
            amount = max(amount, 0.0)
            if wizard.currency_id:
                amount = booking._clock_to_card_step(amount, wizard.currency_id)
            wizard.amount = amount

    def action_confirm(self):
        self.ensure_one()
        if not self.card_id:
            raise UserError(_("The booking has no active card on file."))
        tx = self.reservation_id._clock_charge(
            self.card_id.token_id, self.amount, folio=self.folio_id, hold=self.hold
        )
        return self._clock_result_action(tx)

    def _clock_result_action(self, tx):
        amount = format_amount(self.env, tx.amount, tx.currency_id)
        if tx.state == "done":
            kind, message = "success", _("%s charged to the card.", amount)
        elif tx.state == "authorized":
            kind, message = "success", _("%s held on the card.", amount)
        elif (
            tx.state == "error"
            and not self.hold
            and tx._autopilot_requires_authentication()
        ):
            sent = self.reservation_id._clock_send_authentication_link(tx)
            kind = "warning"
            message = (
                _(
                    "The guest's bank asks the card holder to authenticate this "
                    "payment: a link to pay %s was e-mailed to the guest.",
                    amount,
                )
                if sent
                else _(
                    "The guest's bank asks the card holder to authenticate this "
                    "payment; the guest has no e-mail address or visible folio to "
                    "receive a payment link."
                )
            )
        elif tx.state == "error":
            kind, message = "danger", self._clock_error_message(tx)
        elif tx.state == "draft" and tx.clock_stripe_error_kind == "rate_limit":
            # Stripe refused the request before doing anything: it says so.
            kind, message = "warning", tx.state_message
        elif tx.state == "draft":
            kind = "warning"
            message = (
                _(
                    "Not sure yet whether %(amount)s was held: Stripe did not "
                    "answer. The hold is being checked with Stripe: placing it "
                    "again resends the same hold, never a second one (%(ref)s).",
                    amount=amount,
                    ref=tx.reference,
                )
                if tx.clock_stripe_capture_manually
                else _(
                    "Not sure yet whether %(amount)s was charged: Stripe did not "
                    "answer. The charge is being checked with Stripe: charging "
                    "again resends the same charge, never a second one (%(ref)s).",
                    amount=amount,
                    ref=tx.reference,
                )
            )
        else:
            kind, message = (
                "warning",
                _(
                    "The transaction %(ref)s is %(state)s: %(message)s",
                    ref=tx.reference,
                    state=dict(tx._fields["state"]._description_selection(self.env))[
                        tx.state
                    ],
                    message=tx.state_message or "",
                ),
            )
        return utils.closing_notification(kind, message)

    def _clock_error_message(self, tx):
        """What a failed charge means, worded by its kind: only a card error is a
        decline."""
        reason = tx.state_message or _("no reason given")
        error_kind = tx.clock_stripe_error_kind
        if error_kind == "not_found":
            return _(
                "Nothing was charged: Stripe does not know this card or its "
                "customer any more (%s). Ask the guest for a card.",
                reason,
            )
        if error_kind in ("invalid_key", "permission"):
            return _(
                "Nothing was charged: Stripe refused the hotel's Stripe key (%s). "
                "An administrator must check the provider.",
                reason,
            )
        if error_kind and error_kind not in ("card", "authentication_required"):
            return _("Nothing was charged: %s", reason)
        return _("The card was declined: %s", reason)
