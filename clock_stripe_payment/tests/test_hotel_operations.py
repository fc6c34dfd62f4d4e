"""Back-office card operations on a booking and what they do to its folio and its
accounting: charge, hold, capture (full, part), release, refund; rights and bad
input."""

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import CARD_3DS, CARD_DECLINED_AT_CHARGE, money_posts
from .hotel_common import MUTE, HotelPaymentCommon


@tagged("post_install", "-at_install")
class TestHotelCharge(HotelPaymentCommon):
    def test_charge_posts_a_folio_payment_and_an_accounting_payment(self):
        booking = self._booking()
        folio = booking.folio_ids
        token = self._card_on_file(booking)
        self.assertEqual(folio.balance, 300.0)

        tx = booking.with_user(self.payments_user)._clock_charge(token, 120.0)

        self.assertEqual(tx.state, "done")
        self.assertEqual(tx.operation, "offline")
        self.assertEqual(tx.token_id, token)
        self.assertEqual(tx.clock_reservation_ids, booking)
        self.assertEqual(tx.clock_folio_ids, folio)
        self.assertTrue(tx.reference.startswith(folio.name))
        line = self._payment_lines(folio)
        self.assertEqual(len(line), 1)
        self.assertEqual(line.amount, 120.0)
        self.assertEqual(line.payment_transaction_id, tx)
        self.assertIn("4242", line.name)
        self.assertEqual(folio.balance, 180.0)
        self.assertEqual(booking.balance, 180.0)
        payment = tx.payment_id
        self.assertTrue(payment, "account_payment created the accounting payment")
        self.assertEqual(line.account_payment_id, payment)
        self.assertEqual(payment.clock_folio_line_ids, line)
        self.assertEqual(payment.clock_folio_id, folio)
        self.assertEqual(payment.amount, 120.0)
        self.assertEqual(payment.payment_type, "inbound")
        self.assertEqual(payment.journal_id, self.provider.journal_id)
        self.assertNotEqual(payment.state, "draft")
        self.assertEqual(self._stripe_pi(tx.provider_reference)["status"], "succeeded")
        messages = booking.message_ids.mapped("body")
        self.assertTrue(
            any("Payment of" in body and "4242" in body for body in messages),
            messages,
        )

    def test_payment_in_another_currency_is_posted_in_the_folio_currency(self):
        booking = self._booking()
        folio = booking.folio_ids
        other = ((self.currency_euro | self.currency_usd) - folio.currency_id)[:1]
        self.env["res.currency.rate"].create(
            {
                "currency_id": other.id,
                "rate": 0.5 * folio.currency_id.rate,
                "name": fields.Date.today(),
                "company_id": self.hotel.id,
            }
        )
        tx = self._clock_tx(
            amount=50.0,
            currency_id=other.id,
            partner_id=self.guest.id,
            clock_reservation_ids=[Command.set(booking.ids)],
            clock_folio_ids=[Command.set(folio.ids)],
        )
        self._pay_with_card(tx)
        tx._post_process()
        line = self._payment_lines(folio)
        self.assertEqual(line.payment_transaction_id, tx)
        self.assertEqual(line.currency_id, folio.currency_id)
        self.assertAlmostEqual(line.amount, 100.0)
        self.assertEqual(folio.balance, 200.0)

    def test_a_posted_card_payment_cannot_be_edited_or_deleted(self):
        booking = self._booking()
        token = self._card_on_file(booking)
        booking._clock_charge(token, 40.0)
        line = self._payment_lines(booking.folio_ids).with_user(self.desk_user)
        with self.assertRaises(UserError):
            line.amount = 400.0
        with self.assertRaises(UserError):
            line.unlink()
        line.name = "Deposit by card"  # the label may be reworded
        self.assertEqual(booking.folio_ids.balance, 260.0)

    @mute_logger(*MUTE)
    def test_declined_charge_changes_nothing_on_the_folio(self):
        booking = self._booking()
        folio = booking.folio_ids
        token = self._card_on_file(booking, number=CARD_DECLINED_AT_CHARGE)

        tx = booking.with_user(self.payments_user)._clock_charge(token, 100.0)

        self.assertEqual(tx.state, "error")
        self.assertFalse(self._payment_lines(folio))
        self.assertFalse(tx.payment_id)
        self.assertEqual(folio.balance, 300.0)
        self.assertTrue(
            any("failed" in body for body in booking.message_ids.mapped("body"))
        )

    def test_charge_with_an_archived_card_is_refused_before_stripe(self):
        booking = self._booking()
        token = self._card_on_file(booking)
        token.active = False
        with self._spy_stripe() as calls, self.assertRaises(UserError):
            booking._clock_charge(token, 50.0)
        self.assertFalse(money_posts(calls))
        self.assertFalse(booking.transaction_ids)

    def test_charge_of_a_non_positive_amount_is_refused(self):
        booking = self._booking()
        token = self._card_on_file(booking)
        for amount in (0.0, -10.0):
            with self._spy_stripe() as calls, self.assertRaises(UserError):
                booking._clock_charge(token, amount)
            self.assertFalse(money_posts(calls))

    def test_charge_with_a_card_of_another_booking_is_refused(self):
        booking = self._booking()
        other = self._booking()
        token = self._card_on_file(other)
        with self.assertRaises(UserError):
            booking._clock_charge(token, 50.0)

    def test_only_hotel_payments_staff_charge(self):
        booking = self._booking()
        token = self._card_on_file(booking)
        for user in (self.desk_user, self.guest_portal_user):
            with self._spy_stripe() as calls, self.assertRaises(AccessError):
                booking.with_user(user)._clock_charge(token, 50.0)
            self.assertFalse(money_posts(calls))
        with self.assertRaises(AccessError):
            booking.with_user(self.desk_user).action_clock_charge()

    def test_charge_wizard_shows_card_and_amount_then_charges(self):
        booking = self._booking()
        token = self._card_on_file(booking)
        action = booking.with_user(self.payments_user).action_clock_charge()
        wizard = (
            self.env[action["res_model"]]
            .with_user(self.payments_user)
            .with_context(**action["context"])
            .create({})
        )
        self.assertEqual(wizard.card_id.token_id, token)
        self.assertEqual(wizard.amount, 300.0, "the balance is proposed")
        wizard.amount = 75.0
        result = wizard.action_confirm()
        self.assertEqual(result["params"]["type"], "success")
        self.assertEqual(booking.folio_ids.balance, 225.0)

    @mute_logger(*MUTE)
    def test_charge_needing_authentication_mails_the_guest_a_payment_link(self):
        booking = self._booking()
        booking._portal_ensure_token()
        # A 3-D Secure card cannot be saved through localstripe's SetupIntent:
        # attach it to the guest's Stripe customer and make its token directly.
        customer = self.env["clock.stripe.customer"]._get_or_create(
            self.provider, self.guest
        )
        card = self._create_card(CARD_3DS)
        self.stripe.v1.payment_methods.attach(card["id"], params={"customer": customer})
        token = self.env["payment.token"].create(
            {
                "provider_id": self.provider.id,
                "payment_method_id": self.card_method.id,
                "partner_id": self.guest.id,
                "provider_ref": customer,
                "payment_details": CARD_3DS[-4:],
                "clock_stripe_payment_method_id": card["id"],
            }
        )
        booking._clock_link_card(token)
        wizard = (
            self.env["clock.charge.wizard"]
            .with_user(self.payments_user)
            .create({"reservation_id": booking.id, "amount": 80.0})
        )
        result = wizard.action_confirm()
        self.assertEqual(result["params"]["type"], "warning")
        self.assertIn("authenticate", result["params"]["message"])
        tx = booking.transaction_ids
        self.assertEqual(tx.state, "error")
        self.assertFalse(self._payment_lines(booking.folio_ids))
        mail = booking.message_ids.filtered(
            lambda m: self.guest in m.partner_ids
            and f"/folio/{booking.folio_ids.id}/pay" in m.body
        )
        self.assertEqual(len(mail), 1)
        self.assertIn("amount=80.0", mail.body)
        self.assertIn(booking.access_token, mail.body)


@tagged("post_install", "-at_install")
class TestHotelHolds(HotelPaymentCommon):
    def _held_booking(self, amount=100.0):
        booking = self._booking()
        token = self._card_on_file(booking)
        hold = booking.with_user(self.payments_user)._clock_charge(
            token, amount, hold=True
        )
        self.assertEqual(hold.state, "authorized")
        return booking, hold

    def test_hold_is_listed_on_the_folio_but_is_not_a_payment(self):
        booking, hold = self._held_booking(100.0)
        folio = booking.folio_ids
        self.assertTrue(hold.clock_stripe_capture_manually)
        self.assertFalse(self._payment_lines(folio))
        self.assertFalse(hold.payment_id)
        self.assertEqual(folio.balance, 300.0)
        self.assertEqual(folio.clock_hold_ids, hold)
        self.assertEqual(folio.clock_amount_held, 100.0)
        self.assertEqual(booking.clock_hold_ids, hold)
        self.assertEqual(booking.clock_amount_held, 100.0)
        self.assertEqual(booking.clock_amount_unsecured, 200.0)
        self.assertTrue(hold.clock_stripe_hold_expires_at)
        self.assertIn("exceeds what is secured", booking.clock_payment_warning)
        self.assertTrue(
            any("Hold of" in body for body in booking.message_ids.mapped("body"))
        )

    def test_hold_expiring_within_48_hours_is_flagged(self):
        booking, hold = self._held_booking(300.0)
        booking.invalidate_recordset()
        self.assertFalse(booking.clock_payment_warning, "balance is secured")
        hold.clock_stripe_hold_expires_at = hold.last_state_change.replace(
            microsecond=0
        )
        booking.invalidate_recordset()
        self.assertIn(hold.reference, booking.clock_payment_warning)
        self.assertIn("expires", booking.clock_payment_warning)

    def test_full_capture_posts_the_hold(self):
        booking, hold = self._held_booking(100.0)
        captured = booking.with_user(self.payments_user)._clock_capture(hold)
        self.assertEqual(captured, hold)
        self.assertEqual(hold.state, "done")
        line = self._payment_lines(booking.folio_ids)
        self.assertEqual(line.amount, 100.0)
        self.assertEqual(line.payment_transaction_id, hold)
        self.assertEqual(line.account_payment_id, hold.payment_id)
        self.assertEqual(booking.folio_ids.balance, 200.0)
        self.assertFalse(booking.folio_ids.clock_hold_ids)

    def test_partial_capture_posts_the_captured_amount_only(self):
        booking, hold = self._held_booking(100.0)
        with self._spy_stripe() as calls:
            child = booking.with_user(self.payments_user)._clock_capture(hold, 60.0)
        self.assertEqual(len(money_posts(calls)), 1)
        self.assertNotEqual(child, hold)
        self.assertEqual(child.state, "done")
        self.assertEqual(hold.state, "done")
        self.assertEqual(child.clock_reservation_ids, booking)
        folio = booking.folio_ids
        line = self._payment_lines(folio)
        self.assertEqual(len(line), 1)
        self.assertEqual(line.amount, 60.0)
        self.assertEqual(line.payment_transaction_id, child)
        self.assertTrue(child.payment_id)
        self.assertFalse(hold.payment_id, "the children carry the accounting")
        self.assertEqual(folio.balance, 240.0)
        released = hold.child_transaction_ids.filtered(lambda t: t.state == "cancel")
        self.assertEqual(released.amount, 40.0)
        self.assertTrue(
            any("Capture of" in body for body in booking.message_ids.mapped("body"))
        )

    def test_capture_above_the_hold_is_refused_before_stripe(self):
        booking, hold = self._held_booking(100.0)
        with self._spy_stripe() as calls, self.assertRaises(UserError):
            booking.with_user(self.payments_user)._clock_capture(hold, 100.01)
        self.assertFalse(money_posts(calls))
        self.assertEqual(hold.state, "authorized")

    def test_release_voids_the_holds(self):
        booking, hold = self._held_booking(100.0)
        released = booking.with_user(self.payments_user)._clock_release_holds()
        self.assertEqual(released, hold)
        self.assertEqual(hold.state, "cancel")
        self.assertEqual(self._stripe_pi(hold.provider_reference)["status"], "canceled")
        self.assertFalse(self._payment_lines(booking.folio_ids))
        self.assertFalse(booking.clock_hold_ids)
        self.assertTrue(
            any("released" in body for body in booking.message_ids.mapped("body"))
        )

    def test_capture_wizard_captures_part_of_the_hold(self):
        booking, hold = self._held_booking(100.0)
        action = booking.with_user(self.payments_user).action_clock_capture()
        wizard = (
            self.env[action["res_model"]]
            .with_user(self.payments_user)
            .with_context(**action["context"])
            .create({})
        )
        self.assertEqual(wizard.transaction_id, hold)
        self.assertEqual(wizard.amount_held, 100.0)
        self.assertIn("4242", wizard.card_label)
        wizard.amount = 30.0
        wizard.action_confirm()
        self.assertEqual(booking.folio_ids.balance, 270.0)


@tagged("post_install", "-at_install")
class TestHotelRefunds(HotelPaymentCommon):
    def _paid_booking(self, amount=100.0):
        booking = self._booking()
        token = self._card_on_file(booking)
        tx = booking._clock_charge(token, amount)
        self.assertEqual(tx.state, "done")
        return booking, tx

    def test_partial_refund_is_a_negative_folio_line_with_its_own_payment(self):
        booking, tx = self._paid_booking(100.0)
        folio = booking.folio_ids
        refund = booking.with_user(self.payments_manager)._clock_refund(tx, 30.0)
        self.assertEqual(refund.state, "done")
        self.assertEqual(refund.amount, -30.0)
        self.assertEqual(refund.clock_reservation_ids, booking)
        refund_line = self._payment_lines(folio).filtered(
            lambda line: line.payment_transaction_id == refund
        )
        self.assertEqual(refund_line.amount, -30.0)
        self.assertEqual(folio.balance, 230.0)
        self.assertTrue(refund.payment_id)
        self.assertNotEqual(refund.payment_id, tx.payment_id)
        self.assertEqual(refund.payment_id.payment_type, "outbound")
        self.assertEqual(refund.payment_id.amount, 30.0)
        self.assertEqual(refund_line.account_payment_id, refund.payment_id)
        self.assertEqual(booking.clock_amount_refunded, 30.0)
        self.assertTrue(
            any("Refund of" in body for body in booking.message_ids.mapped("body"))
        )

    def test_refund_above_the_payment_is_refused_before_stripe(self):
        booking, tx = self._paid_booking(100.0)
        booking._clock_refund(tx, 80.0)
        with self._spy_stripe() as calls, self.assertRaises(UserError):
            booking.with_user(self.payments_manager)._clock_refund(tx, 20.01)
        self.assertFalse(money_posts(calls))
        self.assertEqual(booking.folio_ids.balance, 280.0)

    def test_refund_needs_a_hotel_manager(self):
        booking, tx = self._paid_booking(100.0)
        for user in (self.payments_user, self.desk_user, self.guest_portal_user):
            with self._spy_stripe() as calls, self.assertRaises(AccessError):
                booking.with_user(user)._clock_refund(tx, 10.0)
            self.assertFalse(money_posts(calls))
        with self.assertRaises(AccessError):
            booking.with_user(self.payments_user).action_clock_refund()

    def test_refund_wizard_refunds_what_is_left(self):
        booking, tx = self._paid_booking(100.0)
        booking._clock_refund(tx, 40.0)
        action = booking.with_user(self.payments_manager).action_clock_refund()
        wizard = (
            self.env[action["res_model"]]
            .with_user(self.payments_manager)
            .with_context(**action["context"])
            .create({})
        )
        self.assertEqual(wizard.transaction_id, tx)
        self.assertEqual(wizard.amount_refundable, 60.0)
        self.assertEqual(wizard.amount, 60.0)
        wizard.action_confirm()
        self.assertEqual(booking.folio_ids.balance, 300.0)
        self.assertEqual(booking.clock_amount_refunded, 100.0)


@tagged("post_install", "-at_install")
class TestHotelCardLink(HotelPaymentCommon):
    def test_card_link_mail_goes_to_the_guest(self):
        booking = self._booking(policy=self.policy_hold, confirm=False)
        action = booking.with_user(self.payments_user).action_clock_send_card_link()
        wizard = (
            self.env[action["res_model"]]
            .with_user(self.payments_user)
            .with_context(**action["context"])
            .create({})
        )
        self.assertIn(f"/my/bookings/{booking.id}/guarantee", wizard.link)
        self.assertIn(booking.access_token, wizard.link)
        self.assertEqual(wizard.amount, 100.0)
        wizard.action_send()
        message = booking.message_ids.filtered(lambda m: self.guest in m.partner_ids)[
            :1
        ]
        self.assertTrue(message)
        self.assertIn(f"/my/bookings/{booking.id}/guarantee", message.body)

    def test_card_link_is_refused_to_front_desk_without_payments(self):
        booking = self._booking()
        with self.assertRaises(AccessError):
            booking.with_user(self.desk_user)._clock_send_card_link()
