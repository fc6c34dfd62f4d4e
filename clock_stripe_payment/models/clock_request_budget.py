# Part of clock_stripe_payment. License LGPL-3.
"""The card attempts of the guest pages, counted in ``clock.request.budget``.

An attempt is a new card form (each asks Stripe for a fresh intent) or a card that
Stripe refused. It is counted for each booking it is made for, for the e-mail
address of each guest (so that new bookings bring no new attempts) and for the
client address when there is one (a webhook has none: it comes from Stripe).
"""

from odoo import api, models, tools

from odoo.addons.clock_pms.budget_keys import email_key

#: Card attempts a booking may take in a day (system parameter
#: ``clock_stripe_payment.card_budget_per_booking``, 0 for no limit).
CARD_BUDGET_PER_BOOKING = 10
#: Card attempts a client address (an IPv6 /64) may take in a day
#: (``clock_stripe_payment.card_budget_per_address``).
CARD_BUDGET_PER_ADDRESS = 30
#: Card attempts for one guest e-mail address in a day, all bookings together
#: (``clock_stripe_payment.card_budget_per_email``).
CARD_BUDGET_PER_EMAIL = 20


class ClockRequestBudget(models.Model):
    _inherit = "clock.request.budget"

    @api.model
    def _clock_spend_card_attempt(self, bookings, partners=None, address=None):
        """Count a card attempt for ``bookings``, the e-mail addresses of their
        guests and of ``partners``, and the client ``address`` (a budget key of
        ``clock_pms.budget_keys``, None for none).

        :return: False, counting nothing, when a budget is spent
        """
        per_booking = self._clock_get_limit(
            "clock_stripe_payment.card_budget_per_booking", CARD_BUDGET_PER_BOOKING
        )
        per_email = self._clock_get_limit(
            "clock_stripe_payment.card_budget_per_email", CARD_BUDGET_PER_EMAIL
        )
        keys = {f"booking:{booking.id}": per_booking for booking in bookings}
        partners = bookings.partner_id | (partners or self.env["res.partner"])
        for partner in partners:
            email = email_key(tools.email_normalize(partner.email))
            if email:
                keys[f"email:{email}"] = per_email
        if address:
            keys[f"address:{address}"] = self._clock_get_limit(
                "clock_stripe_payment.card_budget_per_address", CARD_BUDGET_PER_ADDRESS
            )
        return self._clock_spend("card", keys)
