# Part of clock_stripe_payment. License LGPL-3.

import logging

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from .. import const
from ..stripe_api import ClockStripeError

_logger = logging.getLogger(__name__)


class PaymentToken(models.Model):
    _inherit = "payment.token"

    clock_stripe_payment_method_id = fields.Char(
        string="Stripe PaymentMethod", readonly=True, copy=False
    )
    clock_stripe_card_brand = fields.Char(string="Card Brand", readonly=True)
    clock_stripe_exp_month = fields.Integer(string="Expiry Month", readonly=True)
    clock_stripe_exp_year = fields.Integer(string="Expiry Year", readonly=True)

    # === COMPUTE METHODS === #

    @api.depends(
        "payment_details",
        "create_date",
        "clock_stripe_card_brand",
        "clock_stripe_exp_month",
        "clock_stripe_exp_year",
    )
    def _compute_display_name(self):
        return super()._compute_display_name()

    # === BUSINESS METHODS === #

    def _build_display_name(self, *args, max_length=34, should_pad=True, **kwargs):
        """Override of `payment`: ``VISA •••• 4242 (12/30)`` for Stripe cards."""
        name = super()._build_display_name(
            *args, max_length=max_length, should_pad=should_pad, **kwargs
        )
        if (
            self.provider_code != const.PROVIDER_CODE
            or not self.clock_stripe_card_brand
        ):
            return name
        parts = [self.clock_stripe_card_brand.upper(), name]
        if self.clock_stripe_exp_month and self.clock_stripe_exp_year:
            month = self.clock_stripe_exp_month
            year = self.clock_stripe_exp_year % 100
            parts.append(f"({month:02d}/{year:02d})")
        return " ".join(part for part in parts if part)

    def _handle_archiving(self):
        """Override of `payment`: detach the card at Stripe when its token is archived.

        A failure is logged and does not block the archiving (disabling a provider
        with a revoked key must still work); the card then stays on the customer at
        Stripe, where it cannot be charged without a token in Odoo. With the
        ``clock_stripe_detach_required`` context key (the card retention), the
        failure is raised instead: the token stays active and is tried again.
        """
        res = super()._handle_archiving()
        for token in self.filtered(
            lambda t: t.provider_code == const.PROVIDER_CODE
            and t.clock_stripe_payment_method_id
        ):
            try:
                token.provider_id._clock_stripe_client().detach_payment_method(
                    token.clock_stripe_payment_method_id
                )
            except ClockStripeError as error:
                if self.env.context.get("clock_stripe_detach_required"):
                    raise
                _logger.warning(
                    "could not detach the card of token %s at Stripe: %s",
                    token.id,
                    error.stripe_message or error,
                )
        return res

    # === HOTEL: cards on file === #
    # Written for the hotel flows (issue 4).

    clock_reservation_card_ids = fields.One2many(
        "clock.reservation.card", "token_id", string="Bookings"
    )

    def _clock_get_masked_label(self):
        """The card as staff and guests see it: brand, last digits, expiry."""
        self.ensure_one()
        return self._build_display_name()

    def _clock_is_needed(self, exclude=None):
        """Whether the card must be kept (an active hold on it, or another booking
        still open or within its retention period)."""
        self.ensure_one()
        return self.env["clock.reservation"]._clock_token_is_needed(
            self, exclude=exclude
        )

    def write(self, vals):
        """Override of `payment`: a guest cannot remove a card the hotel needs
        (see :meth:`_clock_check_guest_may_archive`). The caller's right to
        write comes first: archiving detaches the card at Stripe, which a
        refusal afterwards would not undo."""
        if not self.env.su:
            self.check_access("write")
        if vals.get("active") is False and not self.env.user._is_internal():
            for token in self:
                token._clock_check_guest_may_archive()
        return super().write(vals)

    def _clock_check_guest_may_archive(self):
        """Refuse a guest the removal of a card that guarantees an open booking
        or carries a hold: the booking would still say "guaranteed" with no card
        to charge. Odoo's ``/payment/archive_token`` archives in sudo as the
        signed-in guest, so the caller is the guest whatever the environment.

        :raise UserError: the card is still needed, naming the booking
        """
        self.ensure_one()
        if not self.sudo()._clock_is_needed():
            return
        bookings = self.sudo().clock_reservation_card_ids.reservation_id
        raise UserError(
            _(
                "This card is kept for your booking %(booking)s: it cannot be removed "
                "now. To use another card, replace it from the booking's page, or "
                "contact the hotel.",
                booking=", ".join(bookings.mapped("name")) or _("at the hotel"),
            )
        )

    def get_linked_records_info(self):
        """Override of `payment`: the caller's own bookings the card is on file for.

        Public over RPC: the token must be the caller's to read (its owner, or
        hotel payments staff), only the caller's own bookings are listed, and by
        their portal address, which opens for the signed-in guest without any
        access token. A guest asking to remove a card the hotel still needs is
        told why at once (see :meth:`_clock_check_guest_may_archive`).
        """
        res = super().get_linked_records_info()
        self.check_access("read")
        if not self.env.user._is_internal():
            self._clock_check_guest_may_archive()
        partner = self.env.user.partner_id
        for booking in self.sudo().clock_reservation_card_ids.reservation_id:
            if booking.partner_id != partner:
                continue
            res.append(
                {
                    "description": self.env._("Booking"),
                    "id": booking.id,
                    "name": booking.name,
                    "url": booking.access_url,
                }
            )
        return res
