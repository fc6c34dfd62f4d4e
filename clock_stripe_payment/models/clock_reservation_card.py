from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import format_amount, format_date

from .. import autopilot, utils


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
    activation_date = fields.Date(
        help="Virtual card: the first day (hotel's time) the OTA lets the hotel "
        "charge it. Charges and Autopilot tasks wait for it.",
    )
    loaded_currency_id = fields.Many2one(
        "res.currency",
        string="Loaded Currency",
        compute="_compute_loaded_currency_id",
        store=True,
        readonly=False,
        precompute=True,
    )
    loaded_amount = fields.Monetary(
        currency_field="loaded_currency_id",
        help="Virtual card: the amount the OTA loaded on it, when known. No charge "
        "or hold may take more, counting what was already taken or held on it.",
    )
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

    @api.model_create_multi
    def create(self, vals_list):
        cards = super().create(vals_list)
        cards._clock_check_card_owner()
        return cards

    def write(self, vals):
        res = super().write(vals)
        if {"reservation_id", "token_id"} & set(vals):
            self._clock_check_card_owner()
        return res

    @api.constrains("reservation_id", "token_id")
    def _check_token_company(self):
        """A card is charged through its provider's Stripe account: only a card of
        the booking's own hotel goes on file."""
        for card in self.sudo():
            provider = card.token_id.provider_id
            if provider.company_id != card.reservation_id.company_id:
                raise ValidationError(
                    _(
                        "The card %(card)s was saved with the provider %(provider)s "
                        "of %(company)s; it cannot guarantee a booking of "
                        "%(hotel)s.",
                        card=card.card_label,
                        provider=provider.name,
                        company=provider.company_id.name,
                        hotel=card.reservation_id.company_id.name,
                    )
                )

    def _clock_check_card_owner(self):
        """Staff put on file only a card of the booking's guest (or of the guest's
        company, or the OTA's virtual card); the guest's own card flows run in
        sudo and link the card the guest just gave.

        :raise UserError: the card belongs to someone else
        """
        if self.env.su:
            return
        for card in self.sudo():
            booking = card.reservation_id
            if card.token_id.partner_id not in booking._clock_get_card_owners():
                raise UserError(
                    _(
                        "The card %(card)s belongs to %(owner)s: only a card of the "
                        "guest of %(booking)s, or of their company, can be put on "
                        "file for it.",
                        card=card.card_label,
                        owner=card.token_id.partner_id.display_name,
                        booking=booking.name,
                    )
                )

    @api.depends("reservation_id")
    def _compute_loaded_currency_id(self):
        for card in self:
            card.loaded_currency_id = (
                card.loaded_currency_id or card.reservation_id.currency_id
            )

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

    # ------------------------------------------------------------------
    # OTA virtual cards
    # ------------------------------------------------------------------

    def _clock_get_active_from(self):
        """When a virtual card can first be charged: the start of its activation
        day in the hotel's time zone (naive UTC); False when it can be charged
        at any time."""
        self.ensure_one()
        if self.card_type != "virtual" or not self.activation_date:
            return False
        tz_name = self.reservation_id.company_id.partner_id.tz
        return autopilot.local_noon_utc(self.activation_date, tz_name, hour=0)

    def _clock_get_charged_amount(self):
        """What the booking already took or holds on this card, in the loaded
        currency: confirmed payments net of refunds, active holds, and charges
        whose outcome is not known yet."""
        self.ensure_one()
        txs = self.reservation_id.sudo().transaction_ids.filtered(
            lambda tx: tx.token_id == self.token_id
        )
        amounts = [(tx, tx.amount) for tx in txs._clock_filter_payments()]
        amounts += [
            (tx, tx.amount)
            for tx in txs.filtered(
                lambda tx: tx.operation == "refund" and tx.state == "done"
            )
        ]
        amounts += [
            (tx, tx._clock_get_remaining_hold())
            for tx in txs._clock_filter_active_holds()
        ]
        amounts += [
            (tx, tx.amount)
            for tx in txs.filtered(
                lambda tx: tx.state in ("draft", "pending")
                and tx.operation == "offline"
                and not tx.source_transaction_id
            )
        ]
        currency = self.loaded_currency_id
        company = self.reservation_id.company_id
        today = fields.Date.context_today(self)
        return currency.round(
            sum(
                tx.currency_id._convert(amount, currency, company, today)
                for tx, amount in amounts
            )
        )

    def _clock_check_charge(self, amount, currency, now=None):
        """Refuse a charge (or hold) the card must not receive: a virtual card
        before its activation date, or above what it was loaded with.

        :param float amount: the charge, in ``currency``
        :raise UserError: with the reason; nothing is sent to Stripe
        """
        self.ensure_one()
        if self.card_type != "virtual":
            return
        loaded_currency = self.loaded_currency_id or currency
        amount = currency._convert(
            amount,
            loaded_currency,
            self.reservation_id.company_id,
            fields.Date.context_today(self),
        )
        charged = self._clock_get_charged_amount() if self.loaded_amount else 0.0
        refusal = utils.virtual_card_refusal(
            now or fields.Datetime.now(),
            self._clock_get_active_from(),
            self.loaded_amount,
            charged,
            amount,
            loaded_currency.rounding,
        )
        if refusal == "inactive":
            raise UserError(
                _(
                    "The virtual card %(card)s cannot be charged before its "
                    "activation date, %(date)s.",
                    card=self.card_label,
                    date=format_date(self.env, self.activation_date),
                )
            )
        if refusal == "over_loaded":
            raise UserError(
                _(
                    "The virtual card %(card)s was loaded with %(loaded)s and "
                    "%(charged)s was already taken or held on it: %(amount)s is "
                    "more than the %(left)s left.",
                    card=self.card_label,
                    loaded=format_amount(self.env, self.loaded_amount, loaded_currency),
                    charged=format_amount(self.env, charged, loaded_currency),
                    amount=format_amount(self.env, amount, loaded_currency),
                    left=format_amount(
                        self.env,
                        max(self.loaded_amount - charged, 0.0),
                        loaded_currency,
                    ),
                )
            )
