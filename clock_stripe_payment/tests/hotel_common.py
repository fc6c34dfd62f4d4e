"""Hotel fixtures of the card payment tests: a hotel with card policies, guests,
bookings and users of each level, on top of the localstripe base (common.py)."""

import json
from datetime import timedelta

from odoo import Command, fields
from odoo.tests import new_test_user

from .common import (
    CARD_OK,
    ClockStripeCommon,
    ClockStripeHttpCommon,
    commits_as_savepoints,
)

MUTE = (
    "odoo.addons.clock_stripe_payment.stripe_api",
    "odoo.addons.payment.models.payment_transaction",
    "odoo.addons.clock_stripe_payment.models.payment_transaction",
)


class HotelPaymentMixin:
    """Card policies of the three variants, a room at 100 a night, a guest and
    users: payments staff, front desk without payments, manager, portal."""

    def setUp(self):
        # Post-process for real: folio posting and account.payment are under test.
        self.enable_post_process_patcher = False
        super().setUp()

    @classmethod
    def _setup_hotel(cls):
        cls.hotel = cls.provider.company_id
        cls.hotel.clock_card_retention_days = 30
        cls.hotel_currency = cls.hotel.currency_id
        cls.provider.write(
            {
                "available_currency_ids": [Command.clear()],
                "allow_tokenization": True,
            }
        )
        Policy = cls.env["clock.guarantee.policy"]
        common = {
            "company_id": cls.hotel.id,
            "payment_option": "card",
            "deposit_rule": "nights",
            "deposit_nights": 1,
            "guest_text": "<p>Your card guarantees the booking.</p>",
        }
        cls.policy_pay = Policy.create(
            {**common, "name": "Card: pay first night", "card_action": "pay"}
        )
        cls.policy_hold = Policy.create(
            {**common, "name": "Card: hold first night", "card_action": "hold"}
        )
        cls.policy_tokenize = Policy.create(
            {
                **common,
                "name": "Card: save only",
                "card_action": "tokenize",
                "deposit_rule": "none",
            }
        )
        cls.room_type = cls.env["clock.room.type"].create(
            {
                "name": "Card Double",
                "code": "CARDDBL",
                "company_id": cls.hotel.id,
                "price": 100.0,
                "capacity": 2,
                "guarantee_policy_id": cls.policy_pay.id,
            }
        )
        cls.guest = cls.env["res.partner"].create(
            {
                "name": "Maria Petrova",
                "email": "maria.petrova@example.com",
                "company_id": False,
            }
        )
        user_values = {
            "company_id": cls.hotel.id,
            "company_ids": [Command.set(cls.hotel.ids)],
        }
        cls.payments_user = new_test_user(
            cls.env,
            login="hotel_payments",
            groups="clock_stripe_payment.group_hotel_payments",
            **user_values,
        )
        cls.desk_user = new_test_user(
            cls.env,
            login="hotel_desk",
            groups="clock_pms.group_hotel_user",
            **user_values,
        )
        cls.payments_manager = new_test_user(
            cls.env,
            login="hotel_payments_manager",
            groups="clock_pms.group_hotel_manager,"
            "clock_stripe_payment.group_hotel_payments",
            **user_values,
        )
        cls.guest_portal_user = new_test_user(
            cls.env,
            login="hotel_guest_portal",
            groups="base.group_portal",
            **user_values,
        )

    # === Bookings === #

    def _booking(self, policy=None, confirm=True, nights=3, arrival_in=10, **values):
        arrival = fields.Date.today() + timedelta(days=arrival_in)
        booking = self.env["clock.reservation"].create(
            {
                "partner_id": self.guest.id,
                "room_type_id": self.room_type.id,
                "company_id": self.hotel.id,
                "arrival_date": arrival,
                "departure_date": arrival + timedelta(days=nights),
                "guest_count": 2,
                "guarantee_policy_id": (policy or self.policy_pay).id,
                **values,
            }
        )
        if confirm:
            booking.action_confirm()
        return booking

    def _card_on_file(self, booking, number=CARD_OK, card_type="guest"):
        """Save a card for the guest (validation through localstripe) and put it
        on file for ``booking``; return the token."""
        token = self._save_card(number=number, partner=booking.partner_id)
        booking._clock_link_card(token, card_type=card_type)
        return token

    def _payment_lines(self, folio):
        return folio.line_ids.filtered(lambda line: line.kind == "payment")

    def _checked_out(self, days_ago):
        """A one-night booking checked out ``days_ago`` days ago."""
        booking = self._booking(arrival_in=0, nights=1)
        booking.action_check_in()
        booking.action_check_out()
        booking.checked_out_at = fields.Datetime.now() - timedelta(days=days_ago)
        return booking

    def _run_card_retention(self):
        """Run the card retention cron (commits replaced by savepoints)."""
        bookings = self.env["clock.reservation"]
        with commits_as_savepoints(
            bookings,
            "_clock_retention_commit",
            "_clock_retention_rollback",
            self.env.cr,
        ):
            return bookings._cron_clock_card_retention()


class HotelPaymentCommon(HotelPaymentMixin, ClockStripeCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_hotel()


class HotelPaymentHttpCommon(HotelPaymentMixin, ClockStripeHttpCommon):
    """With the MyBooking card pages' transaction and confirm routes, as the
    payment form calls them."""

    def _tx_params(self, booking, flow="direct", **overrides):
        params = {
            "provider_id": self.provider.id,
            "payment_method_id": self.card_method.id,
            "token_id": None,
            "amount": None,
            "flow": flow,
            "tokenization_requested": False,
            "landing_route": "/my",
            "is_validation": False,
            "access_token": booking.access_token,
        }
        params.update(overrides)
        return params

    def _rpc_error(self, route, params):
        """The JSON-RPC error answer of ``route`` (as the browser gets it)."""
        response = self.url_open(
            route,
            data=json.dumps(
                {"jsonrpc": "2.0", "method": "call", "id": 1, "params": params}
            ),
            headers={"Content-Type": "application/json"},
        )
        self.assertEqual(response.status_code, 200)
        return response.json().get("error")

    def _create_tx(self, route, booking, **overrides):
        """Call a card page's transaction route, return the new transaction."""
        values = self.make_jsonrpc_request(route, self._tx_params(booking, **overrides))
        return self.env["payment.transaction"].search(
            [("reference", "=", values["reference"])]
        )

    def _confirm_in_browser(self, tx, number=CARD_OK):
        """Stripe.js then the provider's confirm route, as the card form does."""
        setup_intent_id = self._confirm_card_setup(tx, number=number)
        return self.make_jsonrpc_request(
            "/payment/clock_stripe/confirm",
            {
                "reference": tx.reference,
                "access_token": tx._clock_stripe_access_token(),
                "setup_intent_id": setup_intent_id,
            },
        )

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_hotel()
