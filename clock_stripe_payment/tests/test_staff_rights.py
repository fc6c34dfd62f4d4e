"""Back-office rights on hotel card payments, as real users with only the given
groups: Odoo's own Capture, Void and Refund buttons follow the hotel's rules, and a
card goes on file (and is charged) only for its own guest and its own hotel."""

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged

from .common import money_posts
from .hotel_common import HotelPaymentCommon


@tagged("post_install", "-at_install")
class TestStaffRights(HotelPaymentCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        user_values = {
            "company_id": cls.hotel.id,
            "company_ids": [Command.set(cls.hotel.ids)],
        }
        cls.accountant = new_test_user(
            cls.env,
            login="hotel_accountant",
            groups="account.group_account_invoice",
            **user_values,
        )
        # Hotel payments staff who also do the invoicing: the core buttons need
        # Odoo's write right on transactions, which the invoicing group gives.
        cls.payments_accountant = new_test_user(
            cls.env,
            login="hotel_payments_accountant",
            groups="account.group_account_invoice,"
            "clock_stripe_payment.group_hotel_payments",
            **user_values,
        )
        cls.manager_accountant = new_test_user(
            cls.env,
            login="hotel_manager_accountant",
            groups="account.group_account_invoice,clock_pms.group_hotel_manager,"
            "clock_stripe_payment.group_hotel_payments",
            **user_values,
        )
        cls.other_hotel = cls.env["res.company"].create({"name": "Other Hotel"})
        cls.other_provider = cls.provider.copy({"company_id": cls.other_hotel.id})

    def _hold(self, booking, amount=100.0):
        token = self._card_on_file(booking)
        hold = booking.with_user(self.payments_user)._clock_charge(
            token, amount, hold=True
        )
        self.assertEqual(hold.state, "authorized")
        return hold

    def _capture_wizard(self, user, tx):
        return (
            self.env["payment.capture.wizard"]
            .with_user(user)
            .with_context(active_model="payment.transaction", active_ids=tx.ids)
            .create({})
        )

    def _refund_wizard(self, user, tx):
        return (
            self.env["payment.refund.wizard"]
            .with_user(user)
            .with_context(active_model="account.payment", active_id=tx.payment_id.id)
            .create({})
        )

    # === Odoo's Capture, Void and Refund buttons === #

    def test_invoicing_user_cannot_capture_or_release_a_hotel_hold(self):
        booking = self._booking()
        hold = self._hold(booking)
        with self._spy_stripe() as calls:
            for button in (
                hold.with_user(self.accountant).action_capture,
                hold.with_user(self.accountant).action_void,
                self._capture_wizard(self.accountant, hold).action_capture,
            ):
                with self.assertRaises(AccessError):
                    button()
        self.assertFalse(money_posts(calls))
        self.assertEqual(hold.state, "authorized")
        self.assertEqual(booking.clock_amount_held, 100.0)

    def test_hotel_payments_staff_capture_with_the_core_wizard(self):
        booking = self._booking()
        hold = self._hold(booking)
        with self._spy_stripe() as calls:
            self._capture_wizard(self.payments_accountant, hold).action_capture()
        self.assertEqual(hold.state, "done")
        (capture,) = money_posts(calls)
        self.assertTrue(capture["path"].endswith("/capture"))

    def test_invoicing_user_cannot_refund_a_hotel_payment(self):
        booking = self._booking()
        token = self._card_on_file(booking)
        tx = booking._clock_charge(token, 100.0)
        self.assertTrue(tx.payment_id)
        for user in (self.accountant, self.payments_accountant):
            wizard = self._refund_wizard(user, tx)
            with self._spy_stripe() as calls, self.assertRaises(AccessError):
                wizard.action_refund()
            self.assertFalse(money_posts(calls))
        self.assertFalse(tx.child_transaction_ids)
        self.assertEqual(booking.folio_ids.balance, 200.0)

        with self._spy_stripe() as calls:
            self._refund_wizard(self.manager_accountant, tx).action_refund()
        self.assertEqual(len(money_posts(calls)), 1)
        self.assertEqual(booking.clock_amount_refunded, 100.0)

    # === Cards on file === #

    def test_staff_cannot_put_another_guests_card_on_file(self):
        booking = self._booking()
        stranger = self.env["res.partner"].create({"name": "Ivan Stranger"})
        other_booking = self._booking(partner_id=stranger.id)
        token = self._card_on_file(other_booking)
        own_token = self._card_on_file(booking)
        Card = self.env["clock.reservation.card"].with_user(self.payments_user)
        with self.assertRaises(UserError) as refused:
            Card.create({"reservation_id": booking.id, "token_id": token.id})
        self.assertIn("Ivan Stranger", str(refused.exception))
        with self.assertRaises(UserError) as refused:
            Card.browse(booking.card_ids.ids).token_id = token
        self.assertIn("Ivan Stranger", str(refused.exception))
        self.assertEqual(booking.card_ids.token_id, own_token)
        with self._spy_stripe() as calls, self.assertRaises(UserError):
            booking.with_user(self.payments_user)._clock_charge(token, 50.0)
        self.assertFalse(calls)

    def test_staff_may_put_the_guests_company_card_on_file(self):
        employer = self.env["res.partner"].create(
            {"name": "Acme Travel", "is_company": True}
        )
        self.guest.parent_id = employer
        booking = self._booking()
        token = self._save_card(partner=employer)
        self.env["clock.reservation.card"].with_user(self.payments_user).create(
            {"reservation_id": booking.id, "token_id": token.id}
        )
        tx = booking.with_user(self.payments_user)._clock_charge(token, 50.0)
        self.assertEqual(tx.state, "done")

    def test_card_of_another_hotel_cannot_go_on_file(self):
        booking = self._booking()
        token = self._save_card(partner=self.guest)
        token.provider_id = self.other_provider
        with self.assertRaises(ValidationError) as refused:
            booking._clock_link_card(token)
        self.assertIn("Other Hotel", str(refused.exception))
        self.assertFalse(booking.card_ids)

    def test_charge_goes_through_the_bookings_hotel_provider_only(self):
        booking = self._booking()
        token = self._card_on_file(booking)
        # The card's Stripe account changed hands after it was put on file.
        token.provider_id = self.other_provider
        with self._spy_stripe() as calls:
            with self.assertRaisesRegex(UserError, "own hotel's provider"):
                booking.with_user(self.payments_user)._clock_charge(token, 50.0)
        self.assertFalse(calls)
        self.assertFalse(booking.transaction_ids)

    def test_hotel_card_provider_belongs_to_the_hotel(self):
        with self.assertRaises(ValidationError) as refused:
            self.hotel.clock_stripe_card_provider_id = self.other_provider
        self.assertIn("Other Hotel", str(refused.exception))
        self.assertEqual(self.hotel.clock_stripe_card_provider_id, self.provider)

    def test_a_card_payment_line_cannot_be_entered_by_hand(self):
        """A line made over RPC for a transaction not posted yet would take the
        place of its real posting, with any amount."""
        booking = self._booking()
        token = self._card_on_file(booking)
        folio = booking.folio_ids
        tx = booking._clock_create_charge_transaction(token, 50.0)
        Line = self.env["clock.folio.line"]
        for user in (self.desk_user, self.payments_manager):
            for field_name, value in (
                ("payment_transaction_id", tx.id),
                ("clock_reversed_line_id", folio.line_ids[:1].id),
            ):
                with self.subTest(user=user.login, field=field_name):
                    values = {
                        "folio_id": folio.id,
                        "name": "Forged",
                        "kind": "payment",
                        "amount": 9999.0,
                        field_name: value,
                    }
                    with self.assertRaises(AccessError) as refusal:
                        Line.with_user(user).create(values)
                    self.assertIn("cannot be entered by hand", str(refusal.exception))
                    plain = Line.with_user(user).create(
                        {
                            "folio_id": folio.id,
                            "name": "Cash",
                            "kind": "payment",
                            "amount": 1.0,
                        }
                    )
                    with self.assertRaises(AccessError):
                        plain.write({field_name: value})
        tx._send_payment_request()
        tx._clock_post_process_now()
        line = tx.clock_folio_line_ids
        self.assertEqual((line.amount, line.folio_id), (50.0, folio))
