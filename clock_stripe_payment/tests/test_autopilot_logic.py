"""Plain unit tests of :mod:`clock_stripe_payment.autopilot` (no database)."""

from datetime import date, datetime, timedelta

from odoo.tests import BaseCase, tagged

from .. import autopilot as ap


@tagged("post_install", "-at_install")
class TestAutopilotLogicTimes(BaseCase):
    def test_local_noon_in_utc_plus_and_minus(self):
        day = date(2025, 3, 10)
        self.assertEqual(ap.local_noon_utc(day, "UTC"), datetime(2025, 3, 10, 12))
        # +14: noon on the 10th is still the 9th in UTC.
        self.assertEqual(
            ap.local_noon_utc(day, "Pacific/Kiritimati"), datetime(2025, 3, 9, 22)
        )
        # -11: noon on the 10th is 23:00 UTC the same day.
        self.assertEqual(
            ap.local_noon_utc(day, "Pacific/Pago_Pago"), datetime(2025, 3, 10, 23)
        )

    def test_local_noon_follows_daylight_saving_time(self):
        # Sofia: UTC+2 in winter, UTC+3 from the last Sunday of March.
        self.assertEqual(
            ap.local_noon_utc(date(2025, 3, 29), "Europe/Sofia"),
            datetime(2025, 3, 29, 10),
        )
        # The day of the change itself (the clock jumped at 03:00 local).
        self.assertEqual(
            ap.local_noon_utc(date(2025, 3, 30), "Europe/Sofia"),
            datetime(2025, 3, 30, 9),
        )
        # New York: back to UTC-5 on the first Sunday of November.
        self.assertEqual(
            ap.local_noon_utc(date(2025, 11, 2), "America/New_York"),
            datetime(2025, 11, 2, 17),
        )

    def test_local_noon_unknown_or_empty_zone_is_utc(self):
        day = date(2025, 1, 1)
        self.assertEqual(ap.local_noon_utc(day, False), datetime(2025, 1, 1, 12))
        self.assertEqual(
            ap.local_noon_utc(day, "Mars/Olympus"), datetime(2025, 1, 1, 12)
        )
        self.assertIsNone(ap.local_noon_utc(False, "UTC"))

    def test_trigger_time_of_each_mode(self):
        anchor = datetime(2025, 6, 1, 12)
        for mode in (ap.MODE_BEFORE_ARRIVAL, ap.MODE_BEFORE_DEPARTURE):
            self.assertEqual(
                ap.trigger_time(mode, 168, anchor), datetime(2025, 5, 25, 12), mode
            )
            # Negative offset: after 12:00.
            self.assertEqual(
                ap.trigger_time(mode, -6, anchor), datetime(2025, 6, 1, 18), mode
            )
        for mode in ap.AFTER_MODES:
            self.assertEqual(
                ap.trigger_time(mode, 24, anchor), datetime(2025, 6, 2, 12), mode
            )
            self.assertEqual(ap.trigger_time(mode, 0, anchor), anchor, mode)
            self.assertIsNone(ap.trigger_time(mode, 24, None), mode)
        with self.assertRaises(ValueError):
            ap.trigger_time("whenever", 0, anchor)

    def test_latest_due_anchor_is_the_inverse_of_trigger_time(self):
        now = datetime(2025, 6, 1, 8, 30)
        for mode in ap.MODES:
            for offset in (0, 5, 168) + ((-6,) if mode in ap.BEFORE_MODES else ()):
                limit = ap.latest_due_anchor(mode, offset, now)
                self.assertEqual(ap.trigger_time(mode, offset, limit), now)
                later = limit + timedelta(seconds=1)
                self.assertGreater(ap.trigger_time(mode, offset, later), now)

    def test_negative_offsets_only_for_calendar_modes(self):
        self.assertTrue(ap.accepts_negative_offset(ap.MODE_BEFORE_ARRIVAL))
        self.assertTrue(ap.accepts_negative_offset(ap.MODE_BEFORE_DEPARTURE))
        for mode in ap.AFTER_MODES:
            self.assertFalse(ap.accepts_negative_offset(mode), mode)
            with self.assertRaises(ValueError):
                ap.check_offset(mode, -1)
            ap.check_offset(mode, 0)
        ap.check_offset(ap.MODE_BEFORE_ARRIVAL, -12)


@tagged("post_install", "-at_install")
class TestAutopilotLogicAmounts(BaseCase):
    charges = [
        (date(2025, 6, 1), "room", 100.0),
        (date(2025, 6, 1), "extras", 15.0),
        (date(2025, 6, 2), "room", 120.0),
        (date(2025, 6, 2), "fees", 3.0),
        (date(2025, 6, 3), "room", 130.0),
        # A charge dated outside the stay's first nights does not count.
        (date(2025, 5, 20), "room", 999.0),
    ]

    def amount(self, basis, **kwargs):
        return ap.compute_amount(basis, **kwargs)

    def test_balance_and_fixed(self):
        self.assertEqual(self.amount(ap.BASIS_BALANCE, balance=250.555), 250.56)
        self.assertEqual(self.amount(ap.BASIS_FIXED, fixed=40), 40.0)
        self.assertEqual(self.amount(ap.BASIS_BALANCE, balance=-10), -10.0)

    def test_first_nights_of_chosen_revenue_groups(self):
        kwargs = {"night_charges": self.charges, "arrival": date(2025, 6, 1)}
        self.assertEqual(
            self.amount(ap.BASIS_NIGHTS, nights=1, groups=("room",), **kwargs), 100.0
        )
        self.assertEqual(
            self.amount(ap.BASIS_NIGHTS, nights=2, groups=("room",), **kwargs), 220.0
        )
        self.assertEqual(
            self.amount(
                ap.BASIS_NIGHTS, nights=2, groups=("room", "extras", "fees"), **kwargs
            ),
            238.0,
        )
        # More nights than the stay has: all of them.
        self.assertEqual(
            self.amount(ap.BASIS_NIGHTS, nights=10, groups=("room",), **kwargs), 350.0
        )
        self.assertEqual(
            self.amount(ap.BASIS_NIGHTS, nights=0, groups=("room",), **kwargs), 0.0
        )

    def test_percent_of_total_rounded_to_the_currency(self):
        self.assertEqual(
            self.amount(ap.BASIS_PERCENT_TOTAL, total=333.33, percent=30), 100.0
        )
        self.assertEqual(
            self.amount(
                ap.BASIS_PERCENT_TOTAL, total=10001, percent=33.3, rounding=1.0
            ),
            3330.0,
        )

    def test_zero_or_less_is_nothing_to_do(self):
        self.assertTrue(ap.nothing_to_do(0))
        self.assertTrue(ap.nothing_to_do(-5))
        self.assertTrue(ap.nothing_to_do(0.004))
        self.assertTrue(ap.nothing_to_do(None))
        self.assertFalse(ap.nothing_to_do(0.005))
        self.assertFalse(ap.nothing_to_do(0.5, rounding=1.0))

    def test_unknown_basis(self):
        with self.assertRaises(ValueError):
            self.amount("everything")


@tagged("post_install", "-at_install")
class TestAutopilotLogicRetries(BaseCase):
    def test_retry_schedule(self):
        failed_at = datetime(2025, 6, 1, 10)
        self.assertTrue(ap.should_retry(0, 2))
        self.assertTrue(ap.should_retry(1, 2))
        self.assertFalse(ap.should_retry(2, 2))
        self.assertFalse(ap.should_retry(0, 0))
        self.assertEqual(ap.next_retry_time(failed_at, 24, 1), datetime(2025, 6, 2, 10))
        self.assertEqual(ap.next_retry_time(failed_at, 24, 2), datetime(2025, 6, 2, 10))
        with self.assertRaises(ValueError):
            ap.next_retry_time(failed_at, 24, 0)

    def test_authentication_required_is_never_retried(self):
        self.assertFalse(ap.should_retry(0, 5, ap.FAILURE_AUTHENTICATION))
        self.assertTrue(ap.should_retry(0, 5, ap.FAILURE_NO_CARD))


@tagged("post_install", "-at_install")
class TestAutopilotLogicSimulator(BaseCase):
    def test_caps(self):
        self.assertFalse(ap.over_cap(500.0, 0.0), "0: no cap")
        self.assertFalse(ap.over_cap(100.0, 100.0))
        self.assertTrue(ap.over_cap(100.01, 100.0))
        self.assertFalse(ap.over_cap(50.0, 150.0, already=100.0))
        self.assertTrue(ap.over_cap(50.0, 149.99, already=100.0))

    def test_a_charge_lowers_the_balance_a_hold_raises_what_is_held(self):
        self.assertEqual(
            ap.simulate_step("hold", 80.0, 200.0, 0.0, False), (200.0, 80.0, [])
        )
        self.assertEqual(
            ap.simulate_step("charge", 150.0, 200.0, 0.0, False), (50.0, 0.0, [])
        )
        self.assertEqual(
            ap.simulate_step("release", 80.0, 50.0, 80.0, True), (50.0, 0.0, [])
        )
        self.assertEqual(
            ap.simulate_step("none", 0.0, 50.0, 80.0, True), (50.0, 80.0, [])
        )

    def test_overlaps(self):
        # A second task charging more than the balance the first one left.
        self.assertEqual(
            ap.simulate_step("charge", 200.0, 50.0, 0.0, True),
            (-150.0, 0.0, [ap.FLAG_OVERLAP]),
        )
        # ... or nothing left at all.
        self.assertEqual(
            ap.simulate_step("charge", 0.0, 0.0, 0.0, True),
            (0.0, 0.0, [ap.FLAG_OVERLAP]),
        )
        # The rest of the balance, charged by a second task: no overlap.
        self.assertEqual(
            ap.simulate_step("charge", 50.0, 50.0, 0.0, True), (0.0, 0.0, [])
        )
        # A hold already covers the charge.
        self.assertEqual(
            ap.simulate_step("charge", 50.0, 200.0, 80.0, False),
            (150.0, 80.0, [ap.FLAG_HOLD_COVERS]),
        )
        self.assertEqual(
            ap.simulate_step("charge", 100.0, 200.0, 80.0, False), (100.0, 80.0, [])
        )
