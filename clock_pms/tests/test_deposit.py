from odoo.tests import BaseCase, tagged

from .. import deposit
from ..deposit import compute_deposit

# Three nights of a room whose price rises on the weekend.
NIGHTS = [100.0, 120.0, 150.0]
ROOMS = sum(NIGHTS)  # 370.0
TOTAL = 450.0  # rooms plus 80.0 of extras and fees


@tagged("post_install", "-at_install")
class TestDeposit(BaseCase):
    """The deposit a guest is asked for, per rule (no database needed)."""

    def test_no_deposit_rule_asks_nothing(self):
        self.assertEqual(compute_deposit("none", NIGHTS, TOTAL, percent=50), 0.0)

    def test_first_nights_are_the_first_nights_of_the_stay(self):
        self.assertEqual(compute_deposit("nights", NIGHTS, TOTAL, nights=1), 100.0)
        self.assertEqual(compute_deposit("nights", NIGHTS, TOTAL, nights=2), 220.0)

    def test_more_deposit_nights_than_the_stay_asks_the_whole_stay(self):
        self.assertEqual(compute_deposit("nights", NIGHTS, TOTAL, nights=5), ROOMS)

    def test_zero_deposit_nights_ask_nothing(self):
        self.assertEqual(compute_deposit("nights", NIGHTS, TOTAL, nights=0), 0.0)

    def test_percent_of_room_charges_ignores_extras(self):
        self.assertEqual(
            compute_deposit("percent_room", NIGHTS, TOTAL, percent=30), 111.0
        )

    def test_hundred_percent_of_room_charges_is_all_the_nights(self):
        self.assertEqual(
            compute_deposit("percent_room", NIGHTS, TOTAL, percent=100), ROOMS
        )

    def test_percent_of_total_includes_extras(self):
        self.assertEqual(
            compute_deposit("percent_total", NIGHTS, TOTAL, percent=10), 45.0
        )

    def test_hundred_percent_of_total_is_the_total(self):
        self.assertEqual(
            compute_deposit("percent_total", NIGHTS, TOTAL, percent=100), TOTAL
        )

    def test_larger_of_nights_and_percent_takes_the_percent_when_larger(self):
        # first night 100.0 < 50 % of the rooms 185.0
        self.assertEqual(
            compute_deposit(
                "max_nights_percent_room", NIGHTS, TOTAL, nights=1, percent=50
            ),
            185.0,
        )

    def test_larger_of_nights_and_percent_takes_the_nights_when_larger(self):
        # first two nights 220.0 > 50 % of the rooms 185.0
        self.assertEqual(
            compute_deposit(
                "max_nights_percent_room", NIGHTS, TOTAL, nights=2, percent=50
            ),
            220.0,
        )

    def test_fixed_amount(self):
        self.assertEqual(compute_deposit("fixed", NIGHTS, TOTAL, fixed=75.5), 75.5)

    def test_deposit_never_exceeds_the_total(self):
        self.assertEqual(compute_deposit("fixed", NIGHTS, TOTAL, fixed=1000), TOTAL)
        # a stay cheaper than its first night deposit (total after a discount)
        self.assertEqual(compute_deposit("nights", NIGHTS, 80.0, nights=1), 80.0)

    def test_zero_nights_ask_nothing_whatever_the_rule(self):
        for rule in deposit.RULES:
            with self.subTest(rule=rule):
                self.assertEqual(
                    compute_deposit(rule, [], 0.0, nights=1, percent=100, fixed=50.0),
                    0.0,
                )

    def test_negative_results_become_zero(self):
        self.assertEqual(compute_deposit("percent_total", [], -20.0, percent=50), 0.0)

    def test_rounds_half_up_to_the_cent(self):
        # 33.335 % of 300.00 is 100.005: a guest is asked 100.01, not 100.00
        self.assertEqual(
            compute_deposit("percent_room", [100.0] * 3, 300.0, percent=33.335),
            100.01,
        )
        # 1/3 of 100.00 is 33.333...: never more decimals than the currency has
        self.assertEqual(
            compute_deposit("percent_room", [100.0], 100.0, percent=100 / 3), 33.33
        )

    def test_rounds_to_a_currency_without_cents(self):
        # 30 % of 999 is 299.7: a currency rounded to 1.0 asks 300
        self.assertEqual(
            compute_deposit(
                "percent_room", [333.0] * 3, 999.0, percent=30, rounding=1.0
            ),
            300.0,
        )
        self.assertEqual(
            compute_deposit("fixed", [333.0], 333.0, fixed=12.5, rounding=1.0), 13.0
        )

    def test_rounds_to_a_five_cent_currency(self):
        self.assertEqual(
            compute_deposit("percent_total", [], 10.0, percent=11.3, rounding=0.05),
            1.15,
        )

    def test_round_to_currency_keeps_exact_amounts(self):
        self.assertEqual(deposit.round_to_currency(0.1 + 0.2, 0.01), 0.3)
        self.assertEqual(deposit.round_to_currency(2.5, 1), 3.0)
        # Python's round() gives 2.67 here (binary floats); a guest expects 2.68
        self.assertEqual(deposit.round_to_currency(2.675, 0.01), 2.68)

    def test_unknown_rule_is_refused(self):
        with self.assertRaises(ValueError):
            compute_deposit("half_moon", NIGHTS, TOTAL)
