from datetime import timedelta

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .common import ClockPmsCommon


@tagged("post_install", "-at_install")
class TestSecurity(ClockPmsCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.booking = cls._create_booking()
        cls.booking.action_confirm()

        cls.hotel_b = cls._create_hotel("Test Hotel Beta")
        cls.room_b = cls._create_room_type(
            cls.hotel_b, name="Sea View", code="SEA", price=200.0, capacity=2
        )
        cls.policy_b = cls._create_policy(cls.hotel_b, name="Pay at Beta")
        cls.booking_b = cls._create_booking(room_type=cls.room_b)
        cls.booking_b.action_confirm()
        cls.user_b = cls._create_user(
            "hotel_user_b", "clock_pms.group_hotel_user", hotel=cls.hotel_b
        )

    # ------------------------------------------------------------------
    # Multi-company
    # ------------------------------------------------------------------

    def test_a_hotel_user_sees_only_the_bookings_of_their_hotel(self):
        env_b = self.env(user=self.user_b)
        bookings = env_b["clock.reservation"].search([])
        self.assertIn(self.booking_b, bookings)
        self.assertNotIn(self.booking, bookings)
        self.assertEqual(env_b["clock.folio"].search([]), self.booking_b.folio_ids)
        self.assertEqual(
            env_b["clock.folio.line"].search([]), self.booking_b.folio_ids.line_ids
        )
        self.assertEqual(env_b["clock.room.type"].search([]), self.room_b)
        self.assertEqual(env_b["clock.guarantee.policy"].search([]), self.policy_b)
        with self.assertRaises(AccessError):
            self.booking.with_user(self.user_b).read(["partner_id"])
        with self.assertRaises(AccessError):
            self.booking.folio_ids.with_user(self.user_b).read(["balance"])

        alpha_bookings = self.env(user=self.hotel_user)["clock.reservation"].search([])
        self.assertIn(self.booking, alpha_bookings)
        self.assertNotIn(self.booking_b, alpha_bookings)

    def test_a_user_of_two_hotels_sees_the_hotels_they_have_selected(self):
        self.hotel_user.company_ids = [Command.link(self.hotel_b.id)]
        Reservation = self.env(user=self.hotel_user)["clock.reservation"]
        alpha_only = Reservation.with_context(allowed_company_ids=self.hotel.ids)
        self.assertNotIn(self.booking_b, alpha_only.search([]))
        both = Reservation.with_context(
            allowed_company_ids=(self.hotel | self.hotel_b).ids
        ).search([])
        self.assertIn(self.booking, both)
        self.assertIn(self.booking_b, both)

    def test_a_booking_cannot_mix_hotels(self):
        with self.assertRaises(UserError):
            self._create_booking(room_type=self.room_b, company_id=self.hotel.id)
        with self.assertRaises(UserError):
            self._create_booking(guarantee_policy_id=self.policy_b.id)

    # ------------------------------------------------------------------
    # Access rights per group
    # ------------------------------------------------------------------

    def test_a_hotel_user_runs_the_front_desk(self):
        env = self.env(user=self.hotel_user)
        booking = env["clock.reservation"].create(
            {
                "partner_id": self.guest.id,
                "room_type_id": self.room_standard.id,
                "arrival_date": self.today,
                "departure_date": self.today + timedelta(days=2),
            }
        )
        self.assertEqual(booking.company_id, self.hotel)
        booking.action_confirm()
        booking.action_check_in()
        booking.folio_ids.line_ids = [
            Command.create({"name": "Card", "kind": "payment", "amount": 50.0})
        ]
        self.assertEqual(booking.amount_paid, 50.0)
        self.assertEqual(booking.action_view_folios()["res_id"], booking.folio_ids.id)
        self.assertTrue(env["clock.room.type"].search([]))

    def test_a_hotel_user_cannot_configure_the_hotel_or_delete_bookings(self):
        env = self.env(user=self.hotel_user)
        with self.assertRaises(AccessError):
            env["clock.room.type"].create(
                {"name": "Attic", "code": "ATT", "price": 50.0, "capacity": 1}
            )
        with self.assertRaises(AccessError):
            self.room_standard.with_user(self.hotel_user).price = 1.0
        with self.assertRaises(AccessError):
            env["clock.guarantee.policy"].create({"name": "Free for all"})
        with self.assertRaises(AccessError):
            self.booking.with_user(self.hotel_user).unlink()
        self.assertEqual(self.room_standard.price, 90.0)
        self.assertTrue(self.booking.exists())

    def test_a_hotel_manager_configures_the_hotel(self):
        env = self.env(user=self.hotel_manager)
        room = env["clock.room.type"].create(
            {"name": "Attic", "code": "ATT", "price": 50.0, "capacity": 1}
        )
        self.assertEqual(room.company_id, self.hotel)
        policy = env["clock.guarantee.policy"].create(
            {"name": "Half up front", "deposit_rule": "percent_total"}
        )
        room.guarantee_policy_id = policy
        self.booking.with_user(self.hotel_manager).unlink()
        self.assertFalse(self.booking.exists())

    @mute_logger("odoo.addons.base.models.ir_model", "odoo.models")
    def test_portal_public_and_other_employees_cannot_read_bookings(self):
        employee = new_test_user(
            self.env,
            login="accountant",
            groups="base.group_user",
            company_id=self.hotel.id,
            company_ids=[Command.set(self.hotel.ids)],
        )
        for user in (self.portal_user, self.public_user, employee):
            for model in ("clock.reservation", "clock.folio", "clock.folio.line"):
                with self.subTest(user=user.login, model=model):
                    with self.assertRaises(AccessError):
                        self.env(user=user)[model].search([])
            with self.subTest(user=user.login):
                with self.assertRaises(AccessError):
                    self.booking.with_user(user).read(["partner_id", "balance"])
                with self.assertRaises(AccessError):
                    self.env(user=user)["clock.reservation"].create(
                        {
                            "partner_id": user.partner_id.id,
                            "room_type_id": self.room_standard.id,
                            "arrival_date": "2030-01-01",
                            "departure_date": "2030-01-02",
                        }
                    )
