"""MyBooking: the guest's bookings in the customer portal.

The list needs a login; a booking's page opens with its access-token link for
anyone, or without a token for the signed-in guest it belongs to. Anything else
is answered 404, so a wrong link never shows (or confirms) another guest's data.
"""

from odoo import _, http
from odoo.exceptions import AccessError, MissingError
from odoo.http import request

from odoo.addons.portal.controllers.portal import CustomerPortal
from odoo.addons.portal.controllers.portal import pager as portal_pager

from .main import MAX_ID


class BookingPortal(CustomerPortal):
    # ------------------------------------------------------------------
    # Portal home
    # ------------------------------------------------------------------

    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        if "booking_count" in counters:
            values["booking_count"] = (
                request.env["clock.reservation"]
                .sudo()
                .search_count(self._booking_get_domain())
            )
        return values

    # ------------------------------------------------------------------
    # Routes
    # ------------------------------------------------------------------

    @http.route(
        ["/my/bookings", "/my/bookings/page/<int:page>"],
        type="http",
        auth="user",
        website=True,
    )
    def portal_my_bookings(self, page=1, sortby=None, **kw):
        values = self._booking_prepare_list_values(page=page, sortby=sortby)
        request.session["my_bookings_history"] = values["bookings"].ids[:100]
        return request.render("clock_pms.portal_my_bookings", values)

    @http.route(
        ["/my/bookings/<int:booking_id>"],
        type="http",
        auth="public",
        website=True,
    )
    def portal_my_booking(self, booking_id, access_token=None, **kw):
        try:
            booking_sudo = self._booking_check_access(booking_id, access_token)
        except (AccessError, MissingError):
            raise request.not_found() from None
        values = self._booking_get_page_view_values(booking_sudo, access_token, **kw)
        return request.render("clock_pms.portal_my_booking", values)

    # ------------------------------------------------------------------
    # Helpers (extension points)
    # ------------------------------------------------------------------

    def _booking_get_domain(self, partner=None):
        """The bookings the signed-in guest sees in their list."""
        partner = partner or request.env.user.partner_id
        return [("partner_id", "=", partner.id)]

    def _booking_get_searchbar_sortings(self):
        return {
            "arrival": {"label": _("Arrival"), "order": "arrival_date desc, id desc"},
            "name": {"label": _("Reference"), "order": "name desc, id desc"},
        }

    def _booking_prepare_list_values(self, page=1, sortby=None):
        values = self._prepare_portal_layout_values()
        reservations = request.env["clock.reservation"].sudo()
        domain = self._booking_get_domain()
        sortings = self._booking_get_searchbar_sortings()
        if sortby not in sortings:
            sortby = "arrival"
        pager = portal_pager(
            url="/my/bookings",
            url_args={"sortby": sortby},
            total=reservations.search_count(domain),
            page=page,
            step=self._items_per_page,
        )
        bookings = reservations.search(
            domain,
            order=sortings[sortby]["order"],
            limit=self._items_per_page,
            offset=pager["offset"],
        )
        values.update(
            {
                "bookings": bookings,
                "page_name": "booking",
                "pager": pager,
                "default_url": "/my/bookings",
                "searchbar_sortings": sortings,
                "sortby": sortby,
            }
        )
        return values

    def _booking_check_access(self, booking_id, access_token=None):
        """The booking, in sudo, if the visitor may see it.

        :raise MissingError: no such booking
        :raise AccessError: neither the user's own booking nor a valid token
        """
        if not 0 < booking_id <= MAX_ID:
            raise MissingError(_("This booking does not exist."))
        try:
            return self._document_check_access(
                "clock.reservation", booking_id, access_token=access_token
            )
        except AccessError:
            booking_sudo = request.env["clock.reservation"].sudo().browse(booking_id)
            user = request.env.user
            if not user._is_public() and booking_sudo.partner_id == user.partner_id:
                return booking_sudo
            raise

    def _booking_get_page_view_values(self, booking_sudo, access_token, **kwargs):
        """Rendering values of a booking's page.

        Payment modules extend this to add their own values (for example what the
        guest can pay now) next to the ``clock_booking_payment`` area of the page.
        """
        folios = booking_sudo.folio_ids
        visible_folios = folios.filtered(lambda folio: not folio.hide_on_portal)
        values = {
            "page_name": "booking",
            "booking": booking_sudo,
            "folios": visible_folios,
            # A hidden folio hides every amount: totals would give it away.
            "show_amounts": visible_folios == folios,
            "policy": booking_sudo.guarantee_policy_id,
            "res_company": booking_sudo.company_id,
        }
        return self._get_page_view_values(
            booking_sudo,
            access_token,
            values,
            "my_bookings_history",
            request.env.user._is_public(),
            **kwargs,
        )
