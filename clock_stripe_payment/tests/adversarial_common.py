"""The world of the adversarial method suite (test_adversarial_methods.py): a guest
of the hotel with a booking, a card, a hold, a payment, folios, an Autopilot task,
a Stripe event and the staff's open wizards; and three callers who are not them: a
portal user who signed up, the public user and the staff of another hotel."""

import json
from datetime import timedelta

from odoo import Command, fields
from odoo.tests import new_test_user

from .common import PUBLISHABLE_KEY, SECRET_KEY
from .hotel_common import HotelPaymentCommon


class AdversarialWorldCommon(HotelPaymentCommon):
    # === The world: a guest of the hotel, and three callers who are not them === #

    def _prepare(self):
        env = self.env
        self.foreigner = env["res.partner"].create(
            {
                "name": "Victor Foreignguest",
                "email": "victor.foreignguest@example.com",
                "street": "99 Private Road",
                "company_id": False,
            }
        )
        guest = {"partner_id": self.foreigner.id}
        self.booking = self._booking(**guest)
        self.booking._portal_ensure_token()
        self.draft = self._booking(confirm=False, **guest)
        self.staying = self._booking(arrival_in=0, **guest)
        self.staying.action_check_in()
        self.token = self._card_on_file(self.booking)
        self.card = self.booking.card_ids
        self.hold = self.booking._clock_charge(self.token, 50.0, hold=True)
        self.payment = self.booking._clock_charge(self.token, 100.0)
        self.assertEqual((self.hold.state, self.payment.state), ("authorized", "done"))
        # A card the guest saved at Stripe that no booking needs.
        self.spare_token = self._save_card(partner=self.foreigner)
        self.folio = self.booking.folio_ids
        self.charge_line = self.folio.line_ids.filtered_domain(
            [("kind", "=", "charge")]
        )[:1]
        self.payment_line = self.folio.line_ids.filtered("payment_transaction_id")
        self.task = env["clock.autopilot.task"].create(
            {
                "name": "Hotel task",
                "company_id": self.hotel.id,
                "mode": "after_creation",
                "operation": "none",
                "failure_template_id": False,
                "active": False,
            }
        )
        self.event = (
            env["clock.stripe.event"]
            .sudo()
            .create(
                {
                    "event_ref": "evt_adversarial_methods",
                    "event_type": "payment_intent.canceled",
                    "provider_id": self.provider.id,
                    "state": "error",
                    "payload": json.dumps(
                        self._event(
                            "payment_intent.canceled",
                            {
                                "id": self.hold.provider_reference,
                                "object": "payment_intent",
                                "status": "canceled",
                            },
                        )
                    ),
                }
            )
        )
        self.second_provider = self.provider.with_context(
            clock_stripe_skip_credential_check=True
        ).copy(
            {
                "name": "Second account",
                "state": "test",
                "clock_stripe_secret_key": SECRET_KEY,
                "clock_stripe_publishable_key": PUBLISHABLE_KEY,
            }
        )
        self._prepare_callers()
        self._prepare_wizards()
        self.targets = (
            self.booking | self.draft | self.staying | self.own_booking,
            self.folio,
            self.folio.line_ids,
            self.card,
            self.token | self.spare_token,
            self.booking.transaction_ids,
            self.booking.transaction_ids.payment_id,
            self.task,
            self.event,
            self.provider | self.second_provider,
            self.hotel,
            self.foreigner,
        )
        self.secrets = (
            self.foreigner.name,
            self.foreigner.email,
            self.foreigner.street,
            self.booking.name,
            self.booking.access_token,
            self.token.provider_ref,
            self.token.clock_stripe_payment_method_id,
            self.hold.provider_reference,
            "access_token",
        )

    def _prepare_callers(self):
        env = self.env
        self.portal = new_test_user(
            env,
            login="adversarial_portal",
            name="Eve Signedup",
            groups="base.group_portal",
        )
        elsewhere = env["res.company"].create({"name": "Elsewhere Hotel"})
        self.elsewhere_staff = new_test_user(
            env,
            login="adversarial_elsewhere",
            name="Mallory Elsewhere",
            groups="base.group_user,clock_pms.group_hotel_manager,"
            "clock_stripe_payment.group_hotel_payments",
            company_id=elsewhere.id,
            company_ids=[Command.set(elsewhere.ids)],
        )
        self.callers = (self.portal, env.ref("base.public_user"), self.elsewhere_staff)
        room = env["clock.room.type"].create(
            {
                "name": "Elsewhere Double",
                "code": "ADVMETH",
                "company_id": elsewhere.id,
                "price": 10.0,
                "capacity": 2,
            }
        )
        arrival = fields.Date.today() + timedelta(days=10)
        self.stay = {
            "arrival_date": arrival,
            "departure_date": arrival + timedelta(days=2),
            "guest_count": 2,
        }
        # The other hotel's own booking, for calls that mix theirs and ours.
        self.own_booking = env["clock.reservation"].create(
            {
                "partner_id": self.foreigner.id,
                "room_type_id": room.id,
                "company_id": elsewhere.id,
                **self.stay,
            }
        )
        self.own_booking.action_confirm()
        self.elsewhere = elsewhere

    def _prepare_wizards(self):
        """The hotel staff's open wizards on the guest's booking, and wizards of
        the other hotel's staff made on their own booking with the guest's card,
        hold or payment."""
        staff = self.env(user=self.payments_manager)
        booking = {"reservation_id": self.booking.id}
        own = {"reservation_id": self.own_booking.id}
        self.link_wizard = staff["clock.card.link.wizard"].create(booking)
        self.charge_wizard = staff["clock.charge.wizard"].create(
            {**booking, "amount": 10.0}
        )
        self.capture_wizard = staff["clock.capture.wizard"].create(
            {**booking, "transaction_id": self.hold.id}
        )
        self.refund_wizard = staff["clock.refund.wizard"].create(
            {**booking, "transaction_id": self.payment.id}
        )
        self.tx_capture_wizard = (
            staff["payment.capture.wizard"]
            .with_context(active_model="payment.transaction", active_ids=self.hold.ids)
            .create({})
        )
        self.simulation = self.env["clock.autopilot.simulation"].create(
            {"company_id": self.hotel.id}
        )
        self.own_charge_wizard = self.env["clock.charge.wizard"].create(
            {**own, "card_id": self.card.id, "amount": 10.0}
        )
        self.own_capture_wizards = {
            mode: self.env["clock.capture.wizard"].create(
                {**own, "transaction_id": self.hold.id, "mode": mode}
            )
            for mode in ("capture", "release", "raise", "renew")
        }
        self.own_refund_wizard = self.env["clock.refund.wizard"].create(
            {**own, "transaction_id": self.payment.id, "amount": 10.0}
        )
        self.own_tx_capture_wizard = (
            self.env["payment.capture.wizard"]
            .with_user(self.elsewhere_staff)
            .sudo()
            .with_context(active_model="payment.transaction", active_ids=self.hold.ids)
            .create({})
        )
        self.own_simulation = self.env["clock.autopilot.simulation"].create(
            {
                "company_id": self.hotel.id,
                "reservation_ids": [Command.set(self.booking.ids)],
            }
        )
