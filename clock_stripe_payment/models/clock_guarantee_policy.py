from odoo import _, api, fields, models

#: Provider states under which a card policy is offered to guests.
CARD_PROVIDER_USABLE_STATES = ("enabled", "test")


class ClockGuaranteePolicy(models.Model):
    _inherit = "clock.guarantee.policy"

    payment_option = fields.Selection(
        selection_add=[("card", "Credit card tokenization/payment")],
        ondelete={"card": "set default"},
    )
    card_action = fields.Selection(
        [
            ("tokenize", "Save the card"),
            ("pay", "Save the card and pay the deposit"),
            ("hold", "Save the card and hold the deposit"),
        ],
        string="With the Card",
        default="tokenize",
        help="What the booking engine and MyBooking do with the guest's card: save "
        "it only, save it and charge the deposit, or save it and place a hold of the "
        "deposit (captured or released later).",
    )
    card_provider_id = fields.Many2one(
        "payment.provider",
        string="Card Provider",
        compute="_compute_card_provider",
        help="The payment provider that handles cards for this hotel (Settings, "
        "Hotel, Card payments).",
    )
    card_available = fields.Boolean(
        string="Offered to Guests",
        compute="_compute_card_provider",
        help="A card policy is offered to guests only while the hotel's card "
        "provider is enabled or in test mode.",
    )

    @api.depends("payment_option", "company_id.clock_stripe_card_provider_id.state")
    def _compute_card_provider(self):
        for policy in self:
            provider = policy._clock_get_card_provider()
            policy.card_provider_id = provider
            policy.card_available = policy._clock_is_card_available()

    @api.model
    def _guarantee_required_options(self):
        return super()._guarantee_required_options() | {"card"}

    def _clock_get_card_provider(self):
        """The hotel's card provider (a ``clock_stripe`` provider), in sudo."""
        self.ensure_one()
        company = self.company_id.sudo()
        return company.clock_stripe_card_provider_id

    def _clock_is_card_available(self):
        """Whether guests are offered this policy's card step.

        Only a ``card`` policy whose hotel has a card provider that is enabled or in
        test mode; otherwise the card option is hidden from the booking engine and
        MyBooking (the booking is made as under a policy without payment).
        """
        self.ensure_one()
        if self.payment_option != "card":
            return False
        provider = self._clock_get_card_provider()
        return bool(provider) and provider.state in CARD_PROVIDER_USABLE_STATES

    def _clock_get_card_step_label(self):
        """What the card step does, in the guest's words."""
        self.ensure_one()
        return {
            "tokenize": _("Save your card to guarantee the booking"),
            "pay": _("Pay the deposit by card to guarantee the booking"),
            "hold": _("Authorize the deposit on your card to guarantee the booking"),
        }.get(self.card_action, "")
