# Part of clock_stripe_payment. License LGPL-3.

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from .. import const, utils


class ResCompany(models.Model):
    _inherit = "res.company"

    clock_stripe_card_provider_id = fields.Many2one(
        string="Card Payment Provider",
        comodel_name="payment.provider",
        domain=[("code", "=", const.PROVIDER_CODE)],
        help="The Stripe (hotel) provider that handles card payments of this "
        "property.",
    )
    clock_stripe_require_cvc = fields.Boolean(
        string="Require CVC",
        default=True,
        help="Refuse a card whose security code check failed.",
    )
    clock_stripe_require_address = fields.Boolean(
        string="Require Billing Address",
        help="Refuse a card given without the card holder's address.",
    )
    clock_stripe_card_brand_ids = fields.Many2many(
        string="Supported Card Brands",
        comodel_name="payment.method",
        relation="res_company_clock_stripe_card_brand_rel",
        column1="company_id",
        column2="payment_method_id",
        domain=[("is_primary", "=", False)],
        context={"active_test": False},
        help="Card brands accepted by the property. Empty: every brand.",
    )

    @api.constrains("clock_stripe_card_provider_id")
    def _check_clock_stripe_card_provider_company(self):
        """A hotel takes cards through a provider of its own: another company's
        provider would charge its guests on that company's Stripe account."""
        for company in self:
            provider = company.clock_stripe_card_provider_id
            if provider and provider.company_id != company:
                raise ValidationError(
                    _(
                        "The card payment provider %(provider)s belongs to "
                        "%(other)s: %(company)s needs a provider of its own.",
                        provider=provider.name,
                        other=provider.company_id.name,
                        company=company.name,
                    )
                )

    def _clock_stripe_card_rules(self):
        """Return the card rules of the property.

        :return: ``{'require_cvc': bool, 'require_address': bool,
            'allowed_brands': list of Stripe brand codes (empty: all)}``
        """
        self.ensure_one()
        odoo_to_stripe = {odoo: code for code, odoo in const.CARD_BRAND_MAPPING.items()}
        return {
            "require_cvc": self.clock_stripe_require_cvc,
            "require_address": self.clock_stripe_require_address,
            "allowed_brands": [
                odoo_to_stripe.get(code, code)
                for code in self.clock_stripe_card_brand_ids.mapped("code")
            ],
        }

    def _clock_stripe_card_refusal(self, payment_method):
        """Check a Stripe card against the property's card rules.

        :param dict payment_method: A Stripe PaymentMethod as a dict.
        :return: The guest-facing refusal message, or None when the card is accepted.
        :rtype: str|None
        """
        self.ensure_one()
        rules = self._clock_stripe_card_rules()
        violation = utils.card_rule_violation(
            payment_method,
            require_cvc=rules["require_cvc"],
            require_address=rules["require_address"],
            allowed_brands=rules["allowed_brands"],
        )
        if violation == "brand":
            brand = utils.card_brand(payment_method)
            brands = ", ".join(b.upper() for b in rules["allowed_brands"])
            if brand == "unknown":
                return _(
                    "This card's brand is not accepted here. Please use a card of "
                    "another brand (%(brands)s).",
                    brands=brands,
                )
            return _(
                "%(brand)s cards are not accepted here. Please use a card of another "
                "brand (%(brands)s).",
                brand=brand.upper(),
                brands=brands,
            )
        if violation == "cvc":
            return _(
                "The card's security code (CVC) did not match. Please check it or use "
                "another card."
            )
        if violation == "address":
            return _(
                "The card holder's billing address is required: street, country and "
                "postal code or city."
            )
        return None

    # === HOTEL: card retention === #
    # Written for the hotel flows (issue 4).

    clock_card_retention_days = fields.Integer(
        string="Keep Cards (days)",
        default=30,
        help="Cards on file of a booking are deleted (and detached at Stripe) this "
        "many days after check-out, cancellation or no-show, unless a hold is still "
        "open. 0 keeps them.",
    )
