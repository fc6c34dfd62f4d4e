from odoo import _, api, fields, models

from .. import utils


class ClockCardLinkWizard(models.TransientModel):
    _name = "clock.card.link.wizard"
    _description = "Send the guest a card link"

    reservation_id = fields.Many2one("clock.reservation", required=True, readonly=True)
    folio_id = fields.Many2one("clock.folio", readonly=True)
    partner_id = fields.Many2one(related="reservation_id.partner_id", string="Guest")
    email = fields.Char(related="reservation_id.partner_id.email", string="E-mail")
    currency_id = fields.Many2one(related="reservation_id.currency_id")
    purpose = fields.Char(compute="_compute_link", string="The Guest Will")
    amount = fields.Monetary(
        compute="_compute_link",
        help="What the guest pays or authorizes on the card to guarantee the "
        "booking (nothing when the card is only saved).",
    )
    link = fields.Char(compute="_compute_link")

    @api.depends("reservation_id")
    def _compute_link(self):
        for wizard in self:
            booking = wizard.reservation_id.sudo()
            url = booking._clock_get_card_link()
            wizard.link = booking.get_base_url() + url
            if url.startswith(booking._clock_get_guarantee_url().split("?")[0]):
                wizard.purpose = (
                    booking.guarantee_policy_id._clock_get_card_step_label()
                )
                wizard.amount = booking._clock_get_guarantee_amount()
            else:
                wizard.purpose = _("Put a card on file for the booking")
                wizard.amount = 0.0

    def action_send(self):
        self.ensure_one()
        self.reservation_id._clock_send_card_link()
        return utils.closing_notification(
            "success", _("The card link was sent to %s.", self.email)
        )
