from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import format_amount, format_datetime

from .. import utils


class ClockCaptureWizard(models.TransientModel):
    _name = "clock.capture.wizard"
    _inherit = "clock.transaction.wizard.mixin"
    _description = "Capture or release a hold"

    mode = fields.Selection(
        [
            ("capture", "Capture"),
            ("release", "Release"),
            ("raise", "Raise"),
            ("renew", "Renew"),
        ],
        required=True,
        default="capture",
    )
    transaction_id = fields.Many2one(string="Hold")
    amount_held = fields.Monetary(string="Held", compute="_compute_hold_values")
    hold_expiry = fields.Datetime(string="Expires", compute="_compute_hold_values")
    hold_extended = fields.Boolean(
        string="Extended Hold", compute="_compute_hold_values"
    )
    hold_incrementable = fields.Boolean(
        string="Can Be Raised", compute="_compute_hold_values"
    )
    amount_added = fields.Monetary(
        string="Amount to Add",
        help="Added to the hold when Stripe allows raising it; otherwise placed as "
        "a second hold.",
    )
    amount = fields.Monetary(
        string="Amount to Capture",
        compute="_compute_amount",
        store=True,
        readonly=False,
        precompute=True,
        help="Capturing less than the hold releases the rest.",
    )

    def _clock_get_allowed_transactions(self):
        self.ensure_one()
        holds = self.reservation_id.sudo().transaction_ids
        holds = holds._clock_filter_active_holds()
        if self.folio_id:
            holds = holds.filtered(
                lambda tx, f=self.folio_id: not tx.clock_folio_ids
                or f in tx.clock_folio_ids
            )
        return holds

    @api.depends("transaction_id")
    def _compute_hold_values(self):
        for wizard in self:
            tx = wizard.transaction_id.sudo()
            wizard.amount_held = tx._clock_get_remaining_hold() if tx else 0.0
            wizard.hold_expiry = tx.clock_stripe_hold_expires_at if tx else False
            wizard.hold_extended = tx.clock_stripe_hold_extended
            wizard.hold_incrementable = tx.clock_stripe_hold_incrementable

    @api.depends("transaction_id")
    def _compute_amount(self):
        for wizard in self:
            wizard.amount = wizard.amount_held

    def action_second_hold(self):
        """Stripe does not allow raising the hold: hold the extra amount apart."""
        self.ensure_one()
        return self.reservation_id._clock_wizard_action(
            "clock_stripe_payment.clock_charge_wizard_action",
            {
                "default_hold": True,
                "default_amount": self.amount_added,
                "default_folio_id": self.transaction_id.sudo().clock_folio_ids[:1].id,
            },
        )

    def action_confirm(self):
        self.ensure_one()
        if not self.transaction_id:
            raise UserError(_("The booking has no active hold."))
        booking = self.reservation_id
        if self.mode == "raise":
            tx = booking._clock_raise_hold(self.transaction_id, self.amount_added)
            kind = "success"
            message = _(
                "The hold now holds %s.",
                format_amount(self.env, tx.amount, tx.currency_id),
            )
        elif self.mode == "renew":
            tx = booking._clock_reauthorize_hold(self.transaction_id)
            if tx.state == "authorized":
                kind = "success"
                message = _(
                    "The hold was renewed by %(ref)s until %(expiry)s.",
                    ref=tx.reference,
                    expiry=format_datetime(self.env, tx.clock_stripe_hold_expires_at),
                )
            else:
                kind = "warning"
                message = _(
                    "The new hold failed: the old hold is kept and a to-do was "
                    "added to the booking."
                )
        elif self.mode == "release":
            booking._clock_release_holds(self.transaction_id)
            message = _(
                "The hold of %s was released.",
                format_amount(self.env, self.amount_held, self.currency_id),
            )
            kind = "success"
        else:
            self._clock_check_amount_entered(_("Enter the amount to capture."))
            tx = booking._clock_capture(self.transaction_id, self.amount)
            if tx.state == "done":
                kind = "success"
                message = _(
                    "%s captured.", format_amount(self.env, tx.amount, tx.currency_id)
                )
            else:
                kind = "warning"
                message = _(
                    "The capture %(ref)s is not confirmed yet: %(message)s",
                    ref=tx.reference,
                    message=tx.state_message or tx.state,
                )
        return utils.closing_notification(kind, message)
