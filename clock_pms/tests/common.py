from datetime import timedelta

from odoo import Command
from odoo.tests import new_test_user

from odoo.addons.base.tests.common import BaseCommon


class ClockPmsCommon(BaseCommon):
    """A hotel of its own (not the demo one) with room types, the three kinds of
    guarantee policy, guests and one user of each group."""

    @classmethod
    def setup_independent_company(cls, **kwargs):
        return cls._create_hotel("Test Hotel Alpha")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.hotel = cls.env.company
        # The day the fixture bookings are made on (their create_date, in UTC)
        cls.today = cls.env.cr.now().date()

        cls.policy_none = cls._create_policy(cls.hotel, name="Pay at the hotel")
        cls.policy_manual = cls._create_policy(
            cls.hotel,
            name="Bank transfer",
            payment_option="manual",
            priority=20,
            deadline_days_after_booking=3,
            deadline_days_before_arrival=7,
        )
        cls.policy_first_night = cls._create_policy(
            cls.hotel,
            name="First night deposit",
            payment_option="manual",
            priority=30,
            deposit_rule="nights",
            deposit_nights=1,
        )
        cls.room_standard = cls._create_room_type(
            cls.hotel, name="Standard Double", code="STD", price=90.0, capacity=2
        )
        cls.room_deluxe = cls._create_room_type(
            cls.hotel,
            name="Deluxe King",
            code="DLX",
            price=140.0,
            capacity=2,
            guarantee_policy_id=cls.policy_manual.id,
        )
        cls.room_suite = cls._create_room_type(
            cls.hotel,
            name="Family Suite",
            code="FAM",
            price=220.0,
            capacity=4,
            guarantee_policy_id=cls.policy_first_night.id,
        )
        cls.guest = cls.env["res.partner"].create(
            {"name": "Maria Petrova", "email": "maria.petrova@example.com"}
        )

        cls.hotel_user = cls._create_user("hotel_user", "clock_pms.group_hotel_user")
        cls.hotel_manager = cls._create_user(
            "hotel_manager", "clock_pms.group_hotel_manager"
        )
        cls.portal_user = cls._create_user("hotel_portal", "base.group_portal")
        cls.public_user = cls._create_user("hotel_public", "base.group_public")

    @classmethod
    def _create_hotel(cls, name):
        hotel = cls.env["res.company"].create(
            {"name": name, "currency_id": cls._enable_currency("EUR").id}
        )
        cls.env.user.company_ids = [Command.link(hotel.id)]
        return hotel

    @classmethod
    def _create_policy(cls, hotel, **values):
        return cls.env["clock.guarantee.policy"].create(
            {"company_id": hotel.id, **values}
        )

    @classmethod
    def _create_room_type(cls, hotel, **values):
        return cls.env["clock.room.type"].create({"company_id": hotel.id, **values})

    @classmethod
    def _create_user(cls, login, groups, hotel=None):
        hotel = hotel or cls.hotel
        return new_test_user(
            cls.env,
            login=login,
            groups=groups,
            company_id=hotel.id,
            company_ids=[Command.set(hotel.ids)],
        )

    @classmethod
    def _create_booking(cls, room_type=None, arrival_in=10, nights=3, **values):
        """A draft booking arriving ``arrival_in`` days from today."""
        room_type = room_type or cls.room_standard
        arrival = cls.today + timedelta(days=arrival_in)
        return cls.env["clock.reservation"].create(
            {
                "partner_id": cls.guest.id,
                "room_type_id": room_type.id,
                "company_id": room_type.company_id.id,
                "arrival_date": arrival,
                "departure_date": arrival + timedelta(days=nights),
                "guest_count": 2,
                **values,
            }
        )
