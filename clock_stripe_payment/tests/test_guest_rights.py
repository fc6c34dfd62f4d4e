"""What a signed-in guest may do with cards through Odoo's own doors: the model
methods any user reaches over RPC and the portal's "Payment methods" page. A
guest sees their own bookings only, never a booking link with its access token,
and cannot remove the card that guarantees their stay."""

from odoo.api import call_kw
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .hotel_common import MUTE, HotelPaymentHttpCommon


@tagged("post_install", "-at_install")
class TestGuestRights(HotelPaymentHttpCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.guest_user = new_test_user(
            cls.env,
            login="maria_portal",
            password="maria_portal",
            groups="base.group_portal",
            partner_id=cls.guest.id,
        )
        cls.stranger_user = new_test_user(
            cls.env, login="eve_portal", groups="base.group_portal"
        )

    def _linked_records(self, user, token):
        """``get_linked_records_info`` as the payment form calls it, over RPC."""
        return call_kw(
            self.env["payment.token"].with_user(user),
            "get_linked_records_info",
            [token.ids],
            {},
        )

    def test_another_guests_card_tells_nothing(self):
        booking = self._booking()
        booking._portal_ensure_token()
        token = self._card_on_file(booking)
        with self.assertRaises(AccessError):
            self._linked_records(self.stranger_user, token)

    def test_a_guest_sees_their_bookings_without_access_token(self):
        booking = self._checked_out(days_ago=40)  # Past its card retention.
        booking._portal_ensure_token()
        token = self._card_on_file(booking)
        info = self._linked_records(self.guest_user, token)
        self.assertEqual(
            [(row["name"], row["url"]) for row in info],
            [(booking.name, f"/my/bookings/{booking.id}")],
        )
        self.assertNotIn(booking.access_token, repr(info))

    @mute_logger("odoo.http")
    def test_a_guest_cannot_remove_the_card_that_guarantees_the_booking(self):
        booking = self._booking()
        token = self._card_on_file(booking)
        booking.guarantee_status = "guaranteed"
        with self.assertRaises(UserError) as refusal:
            self._linked_records(self.guest_user, token)
        self.assertIn(booking.name, str(refusal.exception))
        self.assertIn("cannot be removed", str(refusal.exception))
        self.authenticate("maria_portal", "maria_portal")
        error = self._rpc_error("/payment/archive_token", {"token_id": token.id})
        self.assertEqual(error["data"]["name"], "odoo.exceptions.UserError")
        self.assertIn("replace it from the booking's page", error["data"]["message"])
        self.assertTrue(token.active)
        self.assertEqual(booking.card_ids.token_id, token)

    def test_a_guest_removes_a_card_no_booking_needs(self):
        booking = self._checked_out(days_ago=40)
        token = self._card_on_file(booking)
        self.authenticate("maria_portal", "maria_portal")
        self.make_jsonrpc_request("/payment/archive_token", {"token_id": token.id})
        self.assertFalse(token.active)

    @mute_logger(*MUTE, "odoo.http")
    def test_a_card_is_not_paid_on_the_stripe_hosted_page(self):
        """The hosted page would skip the hotel's card rules (brands, CVC,
        address): a bill is paid by card in the card form only."""
        self.provider.clock_stripe_alternative_method_ids = self.env.ref(
            "payment.payment_method_ideal"
        )
        booking = self._booking()
        booking._portal_ensure_token()
        folio = booking.folio_ids
        route = f"/my/bookings/{booking.id}/folio/{folio.id}/transaction"
        for method in (self.card_method, self.card_method.brand_ids[:1]):
            with self.subTest(method=method.code), self._spy_stripe() as calls:
                error = self._rpc_error(
                    route,
                    self._tx_params(
                        booking, flow="redirect", payment_method_id=method.id, amount=50
                    ),
                )
                self.assertEqual(
                    error["data"]["name"], "odoo.exceptions.ValidationError"
                )
                self.assertIn("card form", error["data"]["message"])
                self.assertFalse(calls)
        self.assertFalse(booking.transaction_ids)
        self.assertFalse(self._payment_lines(folio))
