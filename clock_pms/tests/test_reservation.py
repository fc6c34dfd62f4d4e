from datetime import datetime, timedelta

from psycopg2 import IntegrityError

from odoo import Command
from odoo.exceptions import UserError, ValidationError
from odoo.tests import freeze_time, tagged
from odoo.tools import mute_logger

from .common import ClockPmsCommon

# How to bring a draft booking into each state.
PATH_TO_STATE = {
    "draft": [],
    "confirmed": ["action_confirm"],
    "checked_in": ["action_confirm", "action_check_in"],
    "checked_out": ["action_confirm", "action_check_in", "action_check_out"],
    "cancelled": ["action_cancel"],
    "no_show": ["action_confirm", "action_mark_no_show"],
}
ACTIONS = {
    "action_confirm": "confirmed",
    "action_check_in": "checked_in",
    "action_check_out": "checked_out",
    "action_cancel": "cancelled",
    "action_mark_no_show": "no_show",
}
ALLOWED = {
    ("draft", "action_confirm"),
    ("draft", "action_cancel"),
    ("confirmed", "action_check_in"),
    ("confirmed", "action_cancel"),
    ("confirmed", "action_mark_no_show"),
    ("checked_in", "action_check_out"),
}


@tagged("post_install", "-at_install")
class TestReservation(ClockPmsCommon):
    def _booking_in_state(self, state, **values):
        booking = self._create_booking(**values)
        for method in PATH_TO_STATE[state]:
            getattr(booking, method)()
        self.assertEqual(booking.state, state)
        return booking

    # ------------------------------------------------------------------
    # Reference, nights and amounts
    # ------------------------------------------------------------------

    def test_bookings_are_numbered_by_year(self):
        first = self._create_booking()
        second = self._create_booking()
        year = datetime.now().year
        self.assertRegex(first.name, rf"^RES/{year}/\d{{5}}$")
        self.assertEqual(
            int(second.name.rsplit("/", 1)[1]), int(first.name.rsplit("/", 1)[1]) + 1
        )

    def test_a_reference_given_by_a_channel_is_kept(self):
        booking = self._create_booking(name="OTA-4711", channel="ota")
        self.assertEqual(booking.name, "OTA-4711")

    def test_a_draft_booking_prices_its_nights_from_the_room_type(self):
        booking = self._create_booking(room_type=self.room_deluxe, nights=4)
        self.assertEqual(booking.nights, 4)
        self.assertEqual(booking.nightly_price, 140.0)
        self.assertEqual(booking.amount_room, 560.0)
        self.assertEqual(booking.amount_total, 560.0)
        self.assertEqual(booking.balance, 560.0)
        self.assertEqual(booking.currency_id, self.hotel.currency_id)

    # ------------------------------------------------------------------
    # State machine
    # ------------------------------------------------------------------

    def test_a_stay_goes_through_its_states_and_stores_when(self):
        booking = self._create_booking()
        self.assertEqual(booking.state, "draft")
        steps = [
            ("action_confirm", "confirmed", "confirmed_at", datetime(2030, 3, 1, 9)),
            (
                "action_check_in",
                "checked_in",
                "checked_in_at",
                datetime(2030, 3, 5, 15),
            ),
            (
                "action_check_out",
                "checked_out",
                "checked_out_at",
                datetime(2030, 3, 8, 11),
            ),
        ]
        for method, state, stamp, moment in steps:
            with freeze_time(moment):
                getattr(booking, method)()
            self.assertEqual(booking.state, state)
            self.assertEqual(booking[stamp], moment)
        # every step keeps its own time
        for _method, _state, stamp, moment in steps:
            self.assertEqual(booking[stamp], moment)
        self.assertFalse(booking.cancelled_at)
        self.assertFalse(booking.no_show_at)

    def test_cancelling_stores_when(self):
        for state in ("draft", "confirmed"):
            with self.subTest(state=state):
                booking = self._booking_in_state(state)
                with freeze_time("2030-02-01 10:30:00"):
                    booking.action_cancel()
                self.assertEqual(booking.state, "cancelled")
                self.assertEqual(booking.cancelled_at, datetime(2030, 2, 1, 10, 30))

    def test_a_no_show_stores_when(self):
        booking = self._booking_in_state("confirmed")
        with freeze_time("2030-02-02 23:00:00"):
            booking.action_mark_no_show()
        self.assertEqual(booking.state, "no_show")
        self.assertEqual(booking.no_show_at, datetime(2030, 2, 2, 23))
        self.assertFalse(booking.checked_in_at)

    def test_checking_out_a_cancelled_booking_is_refused(self):
        booking = self._booking_in_state("cancelled")
        with self.assertRaisesRegex(UserError, "is Cancelled: it cannot be set to"):
            booking.action_check_out()
        self.assertEqual(booking.state, "cancelled")
        self.assertFalse(booking.checked_out_at)

    def test_every_transition_not_allowed_is_refused_and_changes_nothing(self):
        for state in PATH_TO_STATE:
            for method, target in ACTIONS.items():
                if (state, method) in ALLOWED:
                    continue
                with self.subTest(state=state, action=method):
                    booking = self._booking_in_state(state)
                    stamp_before = booking[f"{target}_at"]
                    with self.assertRaises(UserError):
                        getattr(booking, method)()
                    self.assertEqual(booking.state, state)
                    self.assertEqual(booking[f"{target}_at"], stamp_before)

    def test_every_allowed_transition_succeeds(self):
        for state, method in sorted(ALLOWED):
            with self.subTest(state=state, action=method):
                booking = self._booking_in_state(state)
                getattr(booking, method)()
                self.assertEqual(booking.state, ACTIONS[method])
                self.assertTrue(booking[f"{ACTIONS[method]}_at"])

    def test_one_refused_booking_stops_the_whole_batch(self):
        draft = self._create_booking()
        cancelled = self._booking_in_state("cancelled")
        with self.assertRaises(UserError):
            (draft | cancelled).action_confirm()
        self.assertEqual(draft.state, "draft")
        self.assertFalse(draft.folio_ids)

    # ------------------------------------------------------------------
    # Folio
    # ------------------------------------------------------------------

    def test_confirming_opens_one_folio_with_one_room_charge_per_night(self):
        booking = self._create_booking(arrival_in=5, nights=3)
        self.assertFalse(booking.folio_ids)
        booking.action_confirm()

        self.assertEqual(len(booking.folio_ids), 1)
        self.assertEqual(booking.folio_count, 1)
        folio = booking.folio_ids
        self.assertEqual(folio.name, f"{booking.name}/1")
        self.assertEqual(folio.partner_id, self.guest)
        self.assertEqual(folio.company_id, self.hotel)
        arrival = booking.arrival_date
        # the nights of the 1st, 2nd and 3rd; nothing on the departure day
        self.assertEqual(
            folio.line_ids.mapped("date"),
            [arrival, arrival + timedelta(days=1), arrival + timedelta(days=2)],
        )
        self.assertEqual(folio.line_ids.mapped("amount"), [90.0, 90.0, 90.0])
        self.assertEqual(set(folio.line_ids.mapped("kind")), {"charge"})
        self.assertEqual(set(folio.line_ids.mapped("revenue_group")), {"room"})
        self.assertIn("Standard Double", folio.line_ids[0].name)
        self.assertEqual(folio.amount_total, 270.0)
        self.assertEqual(folio.balance, 270.0)
        self.assertEqual(booking.amount_total, 270.0)

    def test_checking_in_and_out_opens_no_second_folio(self):
        booking = self._booking_in_state("checked_out")
        self.assertEqual(len(booking.folio_ids), 1)
        self.assertEqual(len(booking.folio_ids.line_ids), 3)

    def test_folio_charges_the_price_agreed_at_booking(self):
        booking = self._create_booking(nights=2)
        negotiated = self._create_booking(nights=2, nightly_price=75.0)
        self.room_standard.price = 110.0
        (booking | negotiated).action_confirm()
        self.assertEqual(booking.folio_ids.line_ids.mapped("amount"), [90.0, 90.0])
        self.assertEqual(negotiated.folio_ids.line_ids.mapped("amount"), [75.0, 75.0])

    def test_the_smart_button_opens_the_folio(self):
        booking = self._booking_in_state("confirmed")
        action = booking.action_view_folios()
        self.assertEqual(action["res_model"], "clock.folio")
        self.assertEqual(action["res_id"], booking.folio_ids.id)
        self.assertEqual(action["domain"], [("reservation_id", "=", booking.id)])

    def test_payments_and_extras_move_the_balance(self):
        booking = self._booking_in_state("confirmed")  # 3 nights of 90.0
        folio = booking.folio_ids
        folio.line_ids = [
            Command.create({"name": "Bank transfer", "kind": "payment", "amount": 100})
        ]
        self.assertEqual(folio.amount_paid, 100.0)
        self.assertEqual(folio.balance, 170.0)
        self.assertEqual(booking.amount_paid, 100.0)
        self.assertEqual(booking.balance, 170.0)
        self.assertEqual(folio.payment_line_ids.mapped("name"), ["Bank transfer"])
        self.assertEqual(len(folio.charge_line_ids), 3)

        folio.line_ids = [
            Command.create(
                {"name": "Minibar", "revenue_group": "extras", "amount": 30.0}
            ),
            Command.create({"name": "Refund", "kind": "payment", "amount": -20.0}),
        ]
        self.assertEqual(booking.amount_total, 300.0)
        self.assertEqual(booking.amount_paid, 80.0)
        self.assertEqual(booking.balance, 220.0)

        folio.line_ids = [
            Command.create({"name": "Card", "kind": "payment", "amount": 220.0})
        ]
        self.assertEqual(folio.balance, 0.0)
        self.assertEqual(booking.balance, 0.0)

    def test_a_charge_needs_a_revenue_group(self):
        folio = self._booking_in_state("confirmed").folio_ids
        with self.assertRaises(ValidationError) as caught:
            folio.line_ids = [
                Command.create({"name": "Parking", "kind": "charge", "amount": 15})
            ]
        self.assertIn("needs a revenue group", str(caught.exception))
        self.assertNotIn("Parking", folio.line_ids.mapped("name"))
        self.assertEqual(folio.amount_total, 270.0)

    # ------------------------------------------------------------------
    # Guarantee
    # ------------------------------------------------------------------

    def test_guarantee_status_follows_the_policy(self):
        # no policy on the room type: the hotel's first policy ("none") applies
        standard = self._create_booking(room_type=self.room_standard)
        self.assertEqual(standard.guarantee_policy_id, self.policy_none)
        self.assertEqual(standard.guarantee_status, "not_required")
        deluxe = self._create_booking(room_type=self.room_deluxe)
        self.assertEqual(deluxe.guarantee_policy_id, self.policy_manual)
        self.assertEqual(deluxe.guarantee_status, "awaiting")
        # a policy given on the booking wins over the room type's
        direct = self._create_booking(
            room_type=self.room_deluxe, guarantee_policy_id=self.policy_none.id
        )
        self.assertEqual(direct.guarantee_status, "not_required")

    def test_marking_guaranteed_sticks(self):
        booking = self._booking_in_state("confirmed", room_type=self.room_deluxe)
        self.assertEqual(booking.guarantee_status, "awaiting")
        booking.action_mark_guaranteed()
        self.assertEqual(booking.guarantee_status, "guaranteed")
        booking.guarantee_policy_id = self.policy_first_night
        self.assertEqual(booking.guarantee_status, "guaranteed")
        booking.action_check_in()
        self.assertEqual(booking.guarantee_status, "guaranteed")

    def test_a_closed_booking_cannot_be_marked_guaranteed(self):
        for state in ("checked_out", "cancelled", "no_show"):
            with self.subTest(state=state):
                booking = self._booking_in_state(state, room_type=self.room_deluxe)
                with self.assertRaisesRegex(UserError, "nothing to guarantee"):
                    booking.action_mark_guaranteed()
                self.assertEqual(booking.guarantee_status, "awaiting")

    def test_guarantee_deadline_is_the_earlier_of_the_two_limits(self):
        # bank transfer: 3 days after booking, and 7 days before arrival
        far = self._create_booking(room_type=self.room_deluxe, arrival_in=30)
        self.assertEqual(far.guarantee_deadline, self.today + timedelta(days=3))
        near = self._create_booking(room_type=self.room_deluxe, arrival_in=8)
        self.assertEqual(near.guarantee_deadline, self.today + timedelta(days=1))

    def test_guarantee_deadline_without_a_limit_after_booking(self):
        self.policy_manual.deadline_days_after_booking = 0
        booking = self._create_booking(room_type=self.room_deluxe, arrival_in=30)
        self.assertEqual(booking.guarantee_deadline, self.today + timedelta(days=23))
        self.policy_manual.deadline_days_before_arrival = 0
        booking = self._create_booking(room_type=self.room_deluxe, arrival_in=30)
        self.assertEqual(booking.guarantee_deadline, booking.arrival_date)

    def test_expiry_cron_marks_only_overdue_open_bookings(self):
        deluxe = self.room_deluxe  # bank transfer: deadline 3 days after booking
        overdue_draft = self._create_booking(room_type=deluxe, arrival_in=30)
        overdue_confirmed = self._booking_in_state(
            "confirmed", room_type=deluxe, arrival_in=30
        )
        guaranteed = self._booking_in_state(
            "confirmed", room_type=deluxe, arrival_in=30
        )
        guaranteed.action_mark_guaranteed()
        cancelled = self._booking_in_state("cancelled", room_type=deluxe, arrival_in=30)
        no_guarantee_needed = self._booking_in_state("confirmed", arrival_in=30)
        later_deadline = self._create_booking(
            room_type=deluxe,
            arrival_in=60,
            guarantee_policy_id=self._create_policy(
                self.hotel,
                name="7 days before arrival",
                payment_option="manual",
                deadline_days_before_arrival=7,
            ).id,
        )
        bookings = (
            overdue_draft
            | overdue_confirmed
            | guaranteed
            | cancelled
            | no_guarantee_needed
            | later_deadline
        )
        Reservation = self.env["clock.reservation"]

        # on the deadline day itself the guest still has time
        with freeze_time(self.today + timedelta(days=3)):
            self.assertFalse(Reservation._cron_expire_guarantees() & bookings)
        self.assertEqual(overdue_draft.guarantee_status, "awaiting")

        with freeze_time(self.today + timedelta(days=5)):
            expired = Reservation._cron_expire_guarantees()
        self.assertEqual(expired & bookings, overdue_draft | overdue_confirmed)
        self.assertEqual(
            bookings.mapped("guarantee_status"),
            [
                "expired",
                "expired",
                "guaranteed",
                "awaiting",
                "not_required",
                "awaiting",
            ],
        )
        # an expired booking can still be guaranteed late
        overdue_confirmed.action_mark_guaranteed()
        self.assertEqual(overdue_confirmed.guarantee_status, "guaranteed")

    def test_deposit_asked_by_the_policy(self):
        suite = self._create_booking(room_type=self.room_suite, nights=3)
        self.assertEqual(suite.deposit_amount, 220.0)  # the first night
        standard = self._create_booking(room_type=self.room_standard, nights=3)
        self.assertEqual(standard.deposit_amount, 0.0)
        half_total = self._create_policy(
            self.hotel,
            name="Half of everything",
            deposit_rule="percent_total",
            deposit_percent=50,
        )
        booking = self._booking_in_state(
            "confirmed", nights=3, guarantee_policy_id=half_total.id
        )
        self.assertEqual(booking.deposit_amount, 135.0)
        booking.folio_ids.line_ids = [
            Command.create({"name": "Spa", "revenue_group": "extras", "amount": 31.0})
        ]
        self.assertEqual(booking.deposit_amount, 150.5)

    # ------------------------------------------------------------------
    # Bad input
    # ------------------------------------------------------------------

    @mute_logger("odoo.sql_db")
    def test_departure_must_be_after_arrival(self):
        for nights in (0, -2):
            with self.subTest(nights=nights):
                with self.assertRaises(IntegrityError) as caught:
                    self._create_booking(nights=nights)
                self.assertIn("clock_reservation_dates_order", str(caught.exception))

    def test_too_many_guests_for_the_room_are_refused(self):
        Reservation = self.env["clock.reservation"]
        count = Reservation.search_count([])
        with self.assertRaises(ValidationError) as caught:
            self._create_booking(room_type=self.room_standard, guest_count=3)
        self.assertIn("sleeps at most 2 guests, not 3", str(caught.exception))
        self.assertEqual(Reservation.search_count([]), count)

        suite = self._create_booking(room_type=self.room_suite, guest_count=4)
        with self.assertRaises(ValidationError) as caught:
            suite.room_type_id = self.room_deluxe
        self.assertIn("sleeps at most 2 guests, not 4", str(caught.exception))
        self.assertEqual(suite.room_type_id, self.room_suite)

    @mute_logger("odoo.sql_db")
    def test_a_booking_without_guests_is_refused(self):
        with self.assertRaises(IntegrityError) as caught:
            self._create_booking(guest_count=0)
        self.assertIn("clock_reservation_guests_positive", str(caught.exception))
