from odoo import api, fields, models


class ClockReservationCard(models.Model):
    """A card on file for a booking: which saved card guarantees it, and of what kind.

    The guest's own card and an OTA's virtual card are both kept as payment tokens;
    this link says which booking a token serves, whether it is the guest's card or a
    virtual card, and in what order the cards were put on record.
    """

    _name = "clock.reservation.card"
    _description = "Card on File"
    _order = "reservation_id, sequence, id"
    _rec_name = "token_id"

    reservation_id = fields.Many2one(
        "clock.reservation", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(
        related="reservation_id.company_id", store=True, index=True
    )
    token_id = fields.Many2one(
        "payment.token",
        string="Card",
        required=True,
        ondelete="cascade",
        index=True,
        context={"active_test": False},
    )
    card_type = fields.Selection(
        [("guest", "Guest Card"), ("virtual", "Virtual Card")],
        required=True,
        default="guest",
        help="A virtual card is a single-use card an OTA gives for the booking.",
    )
    sequence = fields.Integer(default=10)
    active = fields.Boolean(related="token_id.active")
    card_label = fields.Char(
        string="Masked Card",
        compute="_compute_card_label",
        help="Brand and last digits of the card; the number itself never reaches "
        "Odoo.",
    )
    provider_id = fields.Many2one(related="token_id.provider_id", string="Provider")

    _sql_constraints = [
        (
            "reservation_token_uniq",
            "unique(reservation_id, token_id)",
            "This card is already on file for the booking.",
        ),
    ]

    @api.depends("token_id")
    def _compute_card_label(self):
        for card in self:
            card.card_label = card.token_id.sudo()._clock_get_masked_label()

    @api.model
    def _select_card(self, cards, choice):
        """Pick the active card a task or an operator asked for.

        :param cards: the booking's cards on file (``clock.reservation.card``)
        :param choice: ``guest``, ``virtual`` or ``first`` (first card on record)
        :return: the chosen ``payment.token``, empty when none fits
        """
        active_cards = cards.filtered("token_id.active").sorted(
            lambda card: (card.sequence, card.id)
        )
        if choice != "first":
            active_cards = active_cards.filtered(lambda card: card.card_type == choice)
        return active_cards[:1].token_id
