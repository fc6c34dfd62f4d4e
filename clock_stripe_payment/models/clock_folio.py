from odoo import _, api, fields, models
from odoo.tools import SQL


class ClockFolio(models.Model):
    _inherit = "clock.folio"

    transaction_ids = fields.Many2many(
        "payment.transaction",
        "clock_folio_transaction_rel",
        "folio_id",
        "transaction_id",
        string="Transactions",
        copy=False,
        readonly=True,
    )
    clock_hold_ids = fields.Many2many(
        "payment.transaction",
        string="Active Holds",
        compute="_compute_clock_holds",
        help="Amounts authorized on the guest's card for this folio: they are not "
        "payments until captured.",
    )
    clock_amount_held = fields.Monetary(
        string="Held on Card", compute="_compute_clock_holds"
    )
    # For the form's card operations: which of them apply right now.
    clock_reservation_state = fields.Selection(
        related="reservation_id.state", string="Booking Status"
    )
    clock_card_count = fields.Integer(related="reservation_id.clock_card_count")
    clock_amount_refundable = fields.Monetary(
        string="Refundable to Card",
        compute="_compute_clock_amount_refundable",
        help="Card payments posted to this folio that can still be refunded.",
    )

    @api.depends("transaction_ids.state", "transaction_ids.amount")
    def _compute_clock_holds(self):
        for folio in self:
            holds = folio.sudo().transaction_ids._clock_filter_active_holds()
            folio.clock_hold_ids = holds
            folio.clock_amount_held = sum(
                folio.reservation_id._clock_to_currency(tx, tx.amount) for tx in holds
            )

    @api.depends(
        "transaction_ids.state",
        "reservation_id.transaction_ids.state",
        "reservation_id.transaction_ids.amount",
    )
    def _compute_clock_amount_refundable(self):
        for folio in self:
            payments = folio.reservation_id.sudo().transaction_ids
            folio.clock_amount_refundable = sum(
                tx._clock_get_refundable_amount()
                for tx in payments._clock_filter_payments()
                if folio in tx._clock_get_folio()
            )

    def _clock_get_payable_balance(self, exclude=None):
        """What may still be taken on the folio: its balance less the payments
        done or under way that are not posted to it yet (see
        ``payment.transaction._clock_filter_unposted_payments``). The amount a
        guest may pay, the staff's default charge and the Autopilot's "folio
        balance" all start from it, so that nothing is taken twice.

        :param payment.transaction exclude: a payment not to count (the one
            about to be sent, checked against what is left for it)
        """
        self.ensure_one()
        folio = self.sudo()
        booking = folio.reservation_id
        candidates = folio.transaction_ids | booking.transaction_ids
        if exclude:
            candidates -= exclude.sudo()
        unposted = candidates._clock_filter_unposted_payments().filtered(
            lambda tx: tx._clock_get_folio() == folio
        )
        in_flight = sum(booking._clock_to_currency(tx, tx.amount) for tx in unposted)
        return folio.currency_id.round(folio.balance - in_flight)

    def _clock_lock(self):
        """Lock the folios' rows: payments of one folio are checked and sent one
        at a time (the lock is held until the commit that follows the request to
        Stripe, when the payment is counted by the next one)."""
        if self.ids:
            self.env.cr.execute(
                SQL(
                    "SELECT id FROM clock_folio WHERE id IN %s FOR NO KEY UPDATE",
                    tuple(self.ids),
                )
            )

    def _clock_wizard_action(self, method):
        self.ensure_one()
        action = getattr(self.reservation_id, method)()
        action["context"] = dict(action.get("context") or {}, default_folio_id=self.id)
        return action

    def action_clock_send_card_link(self):
        return self._clock_wizard_action("action_clock_send_card_link")

    def action_clock_charge(self):
        return self._clock_wizard_action("action_clock_charge")

    def action_clock_hold(self):
        return self._clock_wizard_action("action_clock_hold")

    def action_clock_capture(self):
        return self._clock_wizard_action("action_clock_capture")

    def action_clock_release(self):
        return self._clock_wizard_action("action_clock_release")

    def action_clock_refund(self):
        return self._clock_wizard_action("action_clock_refund")

    def action_clock_view_transactions(self):
        self.ensure_one()
        self.reservation_id._clock_check_payment_access()
        return {
            "name": _("Transactions"),
            "type": "ir.actions.act_window",
            "res_model": "payment.transaction",
            "view_mode": "list,form",
            "domain": [("id", "in", self.sudo().transaction_ids.ids)],
            "context": {"create": False},
        }
