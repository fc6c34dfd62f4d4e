"""The webhook event log for operators (issue 11, item 4) and the webhook's
answers for events it cannot apply yet (issue 9): Stripe is asked to send again an
event about one of our transactions that is not committed yet, errored events are
replayed once, and the provider form warns when no event arrives."""

import time
from datetime import timedelta
from unittest.mock import patch

from odoo import Command, fields
from odoo.exceptions import AccessError
from odoo.tests import Form, new_test_user, tagged
from odoo.tools import mute_logger

from .. import const
from ..stripe_api import ClockStripeClient, ClockStripeError
from .hotel_common import MUTE, HotelPaymentHttpCommon


@tagged("post_install", "-at_install")
class TestWebhookEventLog(HotelPaymentHttpCommon):
    def _pi_event(self, tx, status="succeeded", reference=None, created=None):
        obj = {
            "id": f"pi_log_{tx.id}",
            "object": "payment_intent",
            "status": status,
            "amount": int(tx.amount * 100),
            "amount_received": int(tx.amount * 100),
            "currency": tx.currency_id.name.lower(),
            "metadata": {const.METADATA_REFERENCE_KEY: reference or tx.reference},
        }
        event = self._event("payment_intent.succeeded", obj)
        if created:
            event["created"] = created
        return event

    def _record(self, event):
        return self.env["clock.stripe.event"].search([("event_ref", "=", event["id"])])

    # === Our reference, not committed yet === #

    @mute_logger(*MUTE, "odoo.http")
    def test_event_with_our_unknown_reference_is_sent_again(self):
        event = self._pi_event(self._clock_tx(), reference="CS-not-committed-yet")
        response = self._post_webhook(event)
        self.assertEqual(response.status_code, 409)
        self.assertFalse(self._record(event), "nothing kept: Stripe sends it again")
        # Not ours at all (no reference of ours): answered and ignored.
        event["data"]["object"]["metadata"] = {}
        event["data"]["object"]["id"] = "pi_someone_else"
        response = self._post_webhook(event)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self._record(event).state, "ignored")

    @mute_logger(*MUTE, "odoo.http")
    def test_unknown_reference_after_the_wait_is_kept_for_a_replay(self):
        tx = self._clock_tx()
        late = int(time.time()) - 2 * 3600
        event = self._pi_event(tx, reference=f"{tx.reference}-late", created=late)
        response = self._post_webhook(event)
        self.assertEqual(response.status_code, 200)
        record = self._record(event)
        self.assertEqual(record.state, "error")
        self.assertIn(f"{tx.reference}-late", record.message)

    # === Replay === #

    def _errored_event(self):
        """A payment_intent.succeeded that failed with Stripe's key refused by a
        rotation; its transaction is still a draft."""
        tx = self._clock_tx(tokenize=True)
        event = self._pi_event(tx)
        event["data"]["object"]["payment_method"] = "pm_log"

        def key_error(client, payment_method_id):
            raise ClockStripeError("No such PaymentMethod.", kind="invalid_request")

        with (
            patch.object(ClockStripeClient, "retrieve_payment_method", key_error),
            mute_logger(*MUTE),
        ):
            response = self._post_webhook(event)
        self.assertEqual(response.json()["status"], "error")
        record = self._record(event)
        self.assertEqual(record.state, "error")
        self.assertEqual(tx.state, "draft")
        return tx, record

    def test_replaying_an_errored_event_applies_it_once(self):
        tx, record = self._errored_event()
        tx.tokenize = False  # what the operator fixed before the replay
        record.with_user(self.payments_manager).action_replay()
        self.assertEqual(record.state, "processed")
        self.assertEqual(record.transaction_id, tx)
        self.assertEqual(record.replay_count, 1)
        self.assertEqual(tx.state, "done")
        self.assertEqual(tx.provider_reference, f"pi_log_{tx.id}")
        state_change = tx.last_state_change
        # Replaying again, or Stripe sending it again, changes nothing.
        record.with_user(self.payments_manager).action_replay()
        self.assertEqual(record.replay_count, 1)
        self.assertEqual(tx.last_state_change, state_change)
        event = {**self._pi_event(tx), "id": record.event_ref}
        self.assertEqual(self._post_webhook(event).json()["status"], "duplicate")
        record.invalidate_recordset()
        self.assertEqual(record.duplicate_count, 1)
        self.assertEqual(tx.last_state_change, state_change)

    @mute_logger(*MUTE)
    def test_a_replay_that_fails_again_stays_an_error(self):
        tx, record = self._errored_event()

        def still_gone(client, payment_method_id):
            raise ClockStripeError(
                "Still no such PaymentMethod.", kind="invalid_request"
            )

        with patch.object(ClockStripeClient, "retrieve_payment_method", still_gone):
            notice = record.with_user(self.payments_manager).action_replay()
        self.assertEqual(notice["params"]["type"], "warning")
        self.assertEqual(record.state, "error")
        self.assertIn("Still no such PaymentMethod", record.message)
        self.assertEqual(tx.state, "draft")
        self.assertFalse(tx.provider_reference, "the failed replay is undone")

    # === Access === #

    def test_only_payment_managers_and_admins_see_the_log(self):
        tx, record = self._errored_event()
        Event = self.env["clock.stripe.event"]
        for user in (self.payments_user, self.desk_user):
            with self.assertRaises(AccessError):
                Event.with_user(user).search([])
            with self.assertRaises(AccessError):
                record.with_user(user).action_replay()
        self.assertIn(record, Event.with_user(self.payments_manager).search([]))
        self.assertIn(
            record, Event.with_user(self.env.ref("base.user_admin")).search([])
        )
        menu = self.env.ref("clock_stripe_payment.clock_stripe_event_menu")
        visible = (
            self.env["ir.ui.menu"].with_user(self.payments_user)._visible_menu_ids()
        )
        self.assertNotIn(menu.id, visible)
        visible = (
            self.env["ir.ui.menu"].with_user(self.payments_manager)._visible_menu_ids()
        )
        self.assertIn(menu.id, visible)
        self.assertEqual(tx.state, "draft")

    def test_event_payloads_are_for_administrators_only(self):
        """A payload carries client secrets, e-mails and billing addresses."""
        _tx, record = self._errored_event()
        with self.assertRaises(AccessError):
            record.with_user(self.payments_manager).read(["payload"])
        self.assertEqual(
            record.with_user(self.payments_manager).read(["state"])[0]["state"],
            "error",
        )
        self.assertTrue(record.with_user(self.env.ref("base.user_admin")).payload)

    def test_another_hotels_event_cannot_be_replayed(self):
        _tx, record = self._errored_event()
        elsewhere = self.env["res.company"].create({"name": "Elsewhere Hotel"})
        other_manager = new_test_user(
            self.env,
            login="elsewhere_manager",
            groups="clock_pms.group_hotel_manager,"
            "clock_stripe_payment.group_hotel_payments",
            company_id=elsewhere.id,
            company_ids=[Command.set(elsewhere.ids)],
        )
        with self.assertRaises(AccessError):
            record.with_user(other_manager).action_replay()
        self.assertEqual((record.state, record.replay_count), ("error", 0))

    # === Warning on the provider form === #

    def test_provider_warns_when_no_event_arrives_while_payments_wait(self):
        self.provider.clock_stripe_event_silence_hours = 6
        self.env["clock.stripe.event"].search([]).unlink()
        provider = self.provider
        self.assertFalse(provider.clock_stripe_event_silence_warning)
        tx = self._clock_tx()
        tx._set_pending()
        tx.last_state_change = fields.Datetime.now() - timedelta(hours=7)
        provider.invalidate_recordset(["clock_stripe_event_silence_warning"])
        self.assertIn(
            "No Stripe webhook event", provider.clock_stripe_event_silence_warning
        )
        with Form(provider) as form:
            self.assertTrue(form.clock_stripe_event_silence_warning)
        # An event arrives: the warning goes.
        self._post_webhook(self._event("customer.created", {"id": "cus_log"}))
        provider.invalidate_recordset(["clock_stripe_event_silence_warning"])
        self.assertFalse(provider.clock_stripe_event_silence_warning)
        # Or the hotel turned the warning off.
        self.env["clock.stripe.event"].search([]).unlink()
        provider.clock_stripe_event_silence_hours = 0
        self.assertFalse(provider.clock_stripe_event_silence_warning)
