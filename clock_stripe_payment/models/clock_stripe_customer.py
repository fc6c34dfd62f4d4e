# Part of clock_stripe_payment. License LGPL-3.

from odoo import api, fields, models


class ClockStripeCustomer(models.Model):
    """The Stripe customer of a partner on one provider (one Stripe account).

    A guest keeps one customer per provider: every card saved or charged for them on
    that provider hangs on it.
    """

    _name = "clock.stripe.customer"
    _description = "Stripe Customer of a Partner"
    _rec_name = "customer_ref"

    partner_id = fields.Many2one(
        "res.partner", required=True, ondelete="cascade", index=True
    )
    provider_id = fields.Many2one(
        "payment.provider", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="provider_id.company_id", store=True)
    customer_ref = fields.Char(string="Stripe Customer", required=True)

    _sql_constraints = [
        (
            "partner_provider_uniq",
            "unique(partner_id, provider_id)",
            "A partner has one Stripe customer per provider.",
        ),
    ]

    @api.model
    def _get_or_create(self, provider, partner):
        """Return the Stripe customer id of ``partner`` on ``provider``.

        :param provider: A ``payment.provider`` record (clock_stripe).
        :param partner: A ``res.partner`` record.
        :rtype: str
        """
        record = self.sudo().search(
            [("partner_id", "=", partner.id), ("provider_id", "=", provider.id)],
            limit=1,
        )
        if record:
            return record.customer_ref
        customer = provider._clock_stripe_client().create_customer(
            partner.name,
            email=partner.email or None,
            phone=partner.phone or None,
            address={
                "line1": partner.street,
                "line2": partner.street2,
                "city": partner.city,
                "postal_code": partner.zip,
                "country": partner.country_id.code,
            },
            meta={"odoo_partner_id": str(partner.id)},
        )
        self.sudo().create(
            {
                "partner_id": partner.id,
                "provider_id": provider.id,
                "customer_ref": customer["id"],
            }
        )
        return customer["id"]

    @api.model
    def _forget(self, provider, partner):
        """Drop the mapping (the customer was deleted at Stripe)."""
        self.sudo().search(
            [("partner_id", "=", partner.id), ("provider_id", "=", provider.id)]
        ).unlink()
