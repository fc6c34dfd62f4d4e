"""Texts staff and guests read: whole sentences that say the right thing, and guest
texts that reach the translation files."""

from odoo import Command
from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .autopilot_common import AutopilotStripeCommon


@tagged("post_install", "-at_install")
class TestWording(AutopilotStripeCommon):
    def test_no_card_names_the_card_to_use(self):
        booking = self._booking()
        task = self._create_task(
            operation="charge",
            amount_basis="fixed",
            amount_fixed=10,
            card_choice="first",
        )
        values = task._autopilot_prepare(booking)
        self.assertEqual(values["outcome"], "no_card")
        self.assertEqual(
            values["message"],
            "No card to use: the booking has no active card on file "
            "(card to use: First card on record).",
        )

    def test_card_of_unknown_brand_is_refused_in_a_sentence(self):
        self.hotel.clock_stripe_card_brand_ids = [
            Command.set(self.mastercard_method.ids)
        ]
        self.assertEqual(
            self.hotel._clock_stripe_card_refusal({"card": {}}),
            "This card's brand is not accepted here. Please use a card of another "
            "brand (MASTERCARD).",
        )

    def test_task_refusal_points_at_an_existing_setting(self):
        task = self._create_task(
            operation="charge", amount_basis="fixed", amount_fixed=10
        )
        self.hotel.clock_stripe_card_provider_id = False
        with self.assertRaises(ValidationError) as refusal:
            task.active = True
        self.assertIn(
            "Settings > Hotel Payments > Card payment provider", str(refusal.exception)
        )
        settings = self.env["res.config.settings"].get_views([(False, "form")])
        arch = settings["views"]["form"]["arch"]
        self.assertIn('string="Hotel Payments"', arch)
        self.assertIn('string="Card payment provider"', arch)

    def test_guest_texts_reach_the_translation_files(self):
        for xmlid, terms in (
            (
                "clock_stripe_payment.portal_my_booking_payments",
                ["the payment was not completed."],
            ),
            (
                "clock_stripe_payment.portal_booking_card_page",
                ["the payment was not completed."],
            ),
            # The billing address fields the card form names when they are empty.
            ("clock_stripe_payment.inline_form", ["Street", "City", "Country"]),
        ):
            view = self.env.ref(xmlid)
            found = view._fields["arch_db"].get_trans_terms(view.arch_db)
            for term in terms:
                self.assertIn(term, found, xmlid)
