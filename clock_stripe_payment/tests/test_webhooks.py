# Part of clock_stripe_payment. License LGPL-3.
"""The webhook route: signatures, de-duplication and each handled event."""

import threading
import time
import uuid
from unittest.mock import patch

from psycopg2.errors import SerializationFailure

from odoo.tests import JsonRpcException, TransactionCase, tagged
from odoo.tools import mute_logger

from ..stripe_api import ClockStripeClient, ClockStripeError
from .common import ClockStripeHttpCommon, CommittedWorldMixin

MUTE = (
    "odoo.addons.clock_stripe_payment.controllers.main",
    "odoo.addons.clock_stripe_payment.models.clock_stripe_event",
    "odoo.addons.payment.models.payment_transaction",
)


@tagged("post_install", "-at_install")
class TestWebhook(ClockStripeHttpCommon):
    def _pi(self, tx, status, pi_id=None, **values):
        return {
            "id": pi_id or tx.provider_reference or f"pi_{tx.id}_test",
            "object": "payment_intent",
            "status": status,
            "amount": 10000,
            "currency": "eur",
            "created": int(time.time()),
            "customer": "cus_webhook",
            "payment_method": "pm_webhook",
            "metadata": {"odoo_reference": tx.reference},
            **values,
        }

    def _events_count(self):
        return self.env["clock.stripe.event"].search_count([])

    # --- signatures ---

    def test_forged_expired_or_missing_signature_is_refused_without_change(self):
        tx = self._clock_tx()
        event = self._event(
            "payment_intent.payment_failed", self._pi(tx, "requires_payment_method")
        )
        count = self._events_count()
        with mute_logger(*MUTE):
            forged = self._post_webhook(event, secret="whsec_forged")
            expired = self._post_webhook(event, timestamp=int(time.time()) - 400)
            missing = self._post_webhook(payload='{"id": "evt_x"}', header="")
            garbage = self._post_webhook(
                payload='{"id": "evt_x"}', header="t=1,v1=deadbeef"
            )
        for response in (forged, expired, missing, garbage):
            self.assertEqual(response.status_code, 400)
        self.assertEqual(tx.state, "draft")
        self.assertEqual(self._events_count(), count)

    def test_a_changed_webhook_secret_is_used_at_once(self):
        """The webhook secrets are cached; changing one clears the cache."""
        response = self._post_webhook(self._event("customer.created", {"id": "cus_1"}))
        self.assertEqual(response.status_code, 200)
        self.provider.clock_stripe_webhook_secret = "whsec_rolled"
        event = self._event("customer.created", {"id": "cus_2"})
        with mute_logger(*MUTE):
            self.assertEqual(self._post_webhook(event).status_code, 400)
        response = self._post_webhook(event, secret="whsec_rolled")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["status"], "ignored")

    def test_same_event_three_times_has_one_effect(self):
        tx = self._clock_tx()
        self._pay_with_card(tx)
        self.assertEqual(tx.state, "done")
        charge = {
            "id": "ch_dup",
            "object": "charge",
            "payment_intent": tx.provider_reference,
            "metadata": {},
            "refunds": {
                "object": "list",
                "data": [
                    {
                        "id": "re_dashboard_1",
                        "object": "refund",
                        "amount": 3000,
                        "status": "succeeded",
                        "metadata": {},
                    }
                ],
            },
        }
        event = self._event("charge.refunded", charge)
        statuses = [self._post_webhook(event).json()["status"] for _i in range(3)]
        self.assertEqual(statuses, ["processed", "duplicate", "duplicate"])
        refunds = tx.child_transaction_ids
        self.assertEqual(len(refunds), 1)
        self.assertEqual(refunds.amount, -30.0)
        self.assertEqual(refunds.state, "done")
        self.assertEqual(refunds.provider_reference, "re_dashboard_1")
        # Another event about the same refund does not create it again either.
        self._post_webhook(self._event("charge.refunded", charge))
        self.assertEqual(len(tx.child_transaction_ids), 1)

    def test_event_about_an_unknown_object_is_ignored(self):
        # Not ours: no reference of ours (see test_webhook_event_log for one
        # of our references not committed yet).
        obj = {
            "id": "pi_unknown",
            "object": "payment_intent",
            "status": "succeeded",
            "metadata": {},
        }
        event = self._event("payment_intent.succeeded", obj)
        response = self._post_webhook(event)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["status"], "ignored")
        record = self.env["clock.stripe.event"].search(
            [("event_ref", "=", event["id"])]
        )
        self.assertEqual(record.state, "ignored")
        unhandled = self._post_webhook(self._event("customer.created", {"id": "cus_1"}))
        self.assertEqual(unhandled.json()["status"], "ignored")

    def test_validation_hold_events_are_ignored(self):
        tx = self._clock_tx(operation="validation", amount=0.5, tokenize=True)
        obj = self._pi(tx, "canceled")
        obj["metadata"]["odoo_purpose"] = "validation_hold"
        response = self._post_webhook(self._event("payment_intent.canceled", obj))
        self.assertEqual(response.json()["status"], "ignored")
        self.assertEqual(tx.state, "draft")

    # --- payment intents ---

    def test_amount_capturable_updated_then_succeeded(self):
        tx = self._clock_tx(amount=100.0, clock_stripe_capture_manually=True)
        self._post_webhook(
            self._event(
                "payment_intent.amount_capturable_updated",
                self._pi(tx, "requires_capture", pi_id="pi_hold_1"),
            )
        )
        self.assertEqual(tx.state, "authorized")
        self.assertEqual(tx.provider_reference, "pi_hold_1")
        self.assertTrue(tx.clock_stripe_hold_expires_at)
        self._post_webhook(
            self._event(
                "payment_intent.succeeded",
                self._pi(tx, "succeeded", amount_received=10000),
            )
        )
        self.assertEqual(tx.state, "done")
        self.assertFalse(tx.child_transaction_ids)

    def test_succeeded_after_a_partial_capture_in_the_dashboard(self):
        tx = self._clock_tx(amount=100.0, clock_stripe_capture_manually=True)
        self._post_webhook(
            self._event(
                "payment_intent.amount_capturable_updated",
                self._pi(tx, "requires_capture", pi_id="pi_hold_2"),
            )
        )
        self._post_webhook(
            self._event(
                "payment_intent.succeeded",
                self._pi(tx, "succeeded", amount_received=6000),
            )
        )
        self.assertEqual(tx.state, "done")
        captured = tx.child_transaction_ids.filtered(lambda t: t.state == "done")
        released = tx.child_transaction_ids.filtered(lambda t: t.state == "cancel")
        self.assertEqual(captured.amount, 60.0)
        self.assertEqual(released.amount, 40.0)

    def test_payment_failed(self):
        tx = self._clock_tx()
        obj = self._pi(
            tx,
            "requires_payment_method",
            last_payment_error={
                "code": "card_declined",
                "message": "Your card was declined.",
            },
        )
        response = self._post_webhook(self._event("payment_intent.payment_failed", obj))
        self.assertEqual(response.json()["status"], "processed")
        self.assertEqual(tx.state, "error")
        self.assertEqual(tx.state_message, "Your card was declined.")

    def test_canceled_releases_the_hold(self):
        tx = self._hold(amount=30.0)
        self._post_webhook(
            self._event(
                "payment_intent.canceled",
                self._pi(tx, "canceled", cancellation_reason="automatic"),
            )
        )
        self.assertEqual(tx.state, "cancel")
        self.assertIn("automatic", tx.state_message)

    def test_out_of_order_event_does_not_go_back(self):
        tx = self._clock_tx()
        self._pay_with_card(tx)
        self.assertEqual(tx.state, "done")
        self._post_webhook(
            self._event(
                "payment_intent.amount_capturable_updated",
                self._pi(tx, "requires_capture"),
            )
        )
        self.assertEqual(tx.state, "done")

    # --- refunds ---

    def test_failed_refund(self):
        tx = self._clock_tx()
        self._pay_with_card(tx)
        refund_tx = tx._send_refund_request(amount_to_refund=20.0)
        self.assertEqual(refund_tx.state, "done")
        refund = {
            "id": refund_tx.provider_reference,
            "object": "refund",
            "amount": 2000,
            "status": "failed",
            "failure_reason": "expired_or_canceled_card",
            "metadata": {"odoo_reference": refund_tx.reference},
        }
        self._post_webhook(self._event("charge.refund.updated", refund))
        self.assertEqual(refund_tx.state, "error")
        self.assertIn("expired_or_canceled_card", refund_tx.state_message)

    # --- Checkout ---

    def _checkout_tx(self):
        ideal = self.env.ref("payment.payment_method_ideal")
        tx = self._clock_tx(flow="redirect", payment_method_id=ideal.id)
        tx.clock_stripe_checkout_session_ref = f"cs_test_{tx.id}"
        return tx

    def _session(self, tx, status="complete", payment_status="paid"):
        return {
            "id": tx.clock_stripe_checkout_session_ref,
            "object": "checkout.session",
            "status": status,
            "payment_status": payment_status,
            "payment_intent": f"pi_checkout_{tx.id}",
            "client_reference_id": tx.reference,
            "metadata": {"odoo_reference": tx.reference},
        }

    def test_checkout_session_completed(self):
        tx = self._checkout_tx()
        self._post_webhook(self._event("checkout.session.completed", self._session(tx)))
        self.assertEqual(tx.state, "done")
        self.assertEqual(tx.provider_reference, f"pi_checkout_{tx.id}")

    def test_checkout_async_payment_succeeded(self):
        tx = self._checkout_tx()
        self._post_webhook(
            self._event(
                "checkout.session.completed",
                self._session(tx, payment_status="unpaid"),
            )
        )
        self.assertEqual(tx.state, "pending")
        self._post_webhook(
            self._event("checkout.session.async_payment_succeeded", self._session(tx))
        )
        self.assertEqual(tx.state, "done")

    def test_checkout_async_payment_failed(self):
        tx = self._checkout_tx()
        self._post_webhook(
            self._event(
                "checkout.session.completed",
                self._session(tx, payment_status="unpaid"),
            )
        )
        self._post_webhook(
            self._event(
                "checkout.session.async_payment_failed",
                self._session(tx, payment_status="unpaid"),
            )
        )
        self.assertEqual(tx.state, "error")

    # --- setup intents ---

    def test_setup_intent_succeeded_saves_the_card(self):
        """The browser confirmed the card but never reached the confirm route."""
        tx = self._clock_tx(operation="validation", amount=0.0, tokenize=True)
        setup_intent_id = self._confirm_card_setup(tx)
        setup_intent = self.stripe.v1.setup_intents.retrieve(setup_intent_id).to_dict()
        response = self._post_webhook(
            self._event("setup_intent.succeeded", setup_intent)
        )
        self.assertEqual(response.json()["status"], "processed")
        self.assertEqual(tx.state, "done")
        self.assertTrue(tx.token_id)
        again = self._post_webhook(self._event("setup_intent.succeeded", setup_intent))
        self.assertEqual(again.json()["status"], "ignored")

    def test_stripe_unreachable_while_applying_asks_for_a_retry(self):
        tx = self._clock_tx(operation="validation", amount=0.0, tokenize=True)
        setup_intent_id = self._confirm_card_setup(tx)
        setup_intent = self.stripe.v1.setup_intents.retrieve(setup_intent_id).to_dict()
        event = self._event("setup_intent.succeeded", setup_intent)

        def unreachable(client, setup_intent_id):
            raise ClockStripeError("Could not reach Stripe.", kind="connection")

        with (
            patch.object(ClockStripeClient, "retrieve_setup_intent", unreachable),
            mute_logger("odoo.http", *MUTE),
        ):
            response = self._post_webhook(event)
        self.assertEqual(response.status_code, 503)
        self.assertFalse(
            self.env["clock.stripe.event"].search([("event_ref", "=", event["id"])])
        )
        self.assertEqual(tx.state, "draft")
        # Stripe sends the event again: now it is applied.
        self.assertEqual(self._post_webhook(event).json()["status"], "processed")
        self.assertEqual(tx.state, "done")

    def test_error_while_applying_keeps_only_the_event_row(self):
        """A non-transient error: what the event changed is undone, the event is
        kept as an error and is not applied when Stripe sends it again."""
        tx = self._clock_tx(tokenize=True)
        obj = self._pi(tx, "succeeded", pi_id="pi_card_gone", payment_method="pm_gone")
        event = self._event("payment_intent.succeeded", obj)

        def gone(client, payment_method_id):
            raise ClockStripeError("No such PaymentMethod.", kind="invalid_request")

        with (
            patch.object(ClockStripeClient, "retrieve_payment_method", gone),
            mute_logger(*MUTE),
        ):
            response = self._post_webhook(event)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["status"], "error")
        # The PaymentIntent was written on the transaction before the card could
        # not be saved: undone too.
        self.assertEqual(tx.state, "draft")
        self.assertFalse(tx.provider_reference)
        record = self.env["clock.stripe.event"].search(
            [("event_ref", "=", event["id"])]
        )
        self.assertEqual(record.state, "error")
        self.assertIn("No such PaymentMethod", record.message)
        self.assertEqual(self._post_webhook(event).json()["status"], "duplicate")
        self.assertEqual(tx.state, "draft")


@tagged("post_install", "-at_install")
class TestConfirmRoute(ClockStripeHttpCommon):
    def test_confirm_route_checks_the_access_token(self):
        tx = self._clock_tx(amount=40.0)
        values = tx._get_processing_values()
        setup_intent_id = self._confirm_card_setup(tx)
        params = {
            "reference": tx.reference,
            "access_token": "wrong",
            "setup_intent_id": setup_intent_id,
        }
        with mute_logger("odoo.http"), self.assertRaises(JsonRpcException):
            self.make_jsonrpc_request("/payment/clock_stripe/confirm", params)
        self.assertEqual(tx.state, "draft")
        params["access_token"] = values["clock_stripe_access_token"]
        answer = self.make_jsonrpc_request("/payment/clock_stripe/confirm", params)
        self.assertEqual(answer["state"], "done")
        self.assertEqual(answer["redirect_url"], "/payment/status")
        self.assertEqual(tx.state, "done")


@tagged("post_install", "-at_install")
class TestWebhookConcurrency(CommittedWorldMixin, TransactionCase):
    """Two deliveries of the same event at once, each in a cursor of its own with
    real commits (as two HTTP workers): the event is applied once.

    The data is created and committed first (the second delivery cannot see the
    test's uncommitted transaction), and deleted at the end.
    """

    def _create_committed_world(self):
        with self.registry.cursor() as cr:
            env = self._env(cr)
            card = env.ref("payment.payment_method_card")
            provider = self._create_committed_provider(
                env, "Stripe (hotel) webhook concurrency test"
            )
            partner = env["res.partner"].create({"name": "Concurrent Webhook Guest"})
            tx = env["payment.transaction"].create(
                {
                    "provider_id": provider.id,
                    "payment_method_id": card.id,
                    "reference": f"CSW-{uuid.uuid4().hex[:10]}",
                    "amount": 100.0,
                    "currency_id": env.company.currency_id.id,
                    "partner_id": partner.id,
                    "operation": "online_direct",
                }
            )
            return {"provider": provider.id, "partner": partner.id, "tx": tx.id}

    def _delete_committed_world(self):
        with self.registry.cursor() as cr:
            env = self._env(cr)
            env["clock.stripe.event"].search(
                [("provider_id", "=", self.ids["provider"])]
            ).unlink()
            env["payment.transaction"].browse(self.ids["tx"]).unlink()
            env["payment.provider"].browse(self.ids["provider"]).unlink()
            env["res.partner"].browse(self.ids["partner"]).unlink()

    def _event(self, event_type, obj):
        return {
            "id": f"evt_{uuid.uuid4().hex[:14]}",
            "object": "event",
            "type": event_type,
            "data": {"object": obj},
        }

    def _process(self, cr, event):
        env = self._env(cr)
        provider = env["payment.provider"].browse(self.ids["provider"])
        return env["clock.stripe.event"]._clock_stripe_process(provider, event)

    def _deliver_twice_at_once(self, event):
        """Process ``event`` in a first cursor, then in a second one while the
        first has not committed yet. The second one runs in a thread and must wait
        for the first one; it is tried again on a serialization failure, as Odoo
        tries a request again (``odoo.service.model.retrying``, which a thread
        cannot call during the tests).

        :return: The outcomes of the first and of the second delivery.
        """
        second, errors = [], []

        def deliver_again():
            for _attempt in range(5):
                try:
                    with self.registry.cursor() as cr:
                        second.append(self._process(cr, event))
                    return
                except SerializationFailure:
                    continue
                except Exception as error:  # noqa: BLE001 - reported by the test
                    errors.append(error)
                    return

        thread = threading.Thread(target=deliver_again)
        with self.registry.cursor() as cr:
            first = self._process(cr, event)
            thread.start()
            thread.join(timeout=2)
            waiting = thread.is_alive()
        # The first delivery is committed here: the second one may go on.
        thread.join(timeout=60)
        self.assertFalse(errors)
        self.assertTrue(waiting, "the second delivery did not wait for the first")
        self.assertEqual(len(second), 1, "the second delivery did not end")
        return first, second[0]

    def test_same_event_about_an_unknown_object_at_once(self):
        """Nothing to lock: the unique event id of the insert makes them collide."""
        obj = {
            "id": "pi_unknown_concurrent",
            "object": "payment_intent",
            "status": "succeeded",
            "metadata": {},
        }
        event = self._event("payment_intent.succeeded", obj)
        with mute_logger("odoo.sql_db"):
            outcomes = self._deliver_twice_at_once(event)
        self.assertEqual(outcomes, ("ignored", "duplicate"))
        with self.registry.cursor() as cr:
            events = self._env(cr)["clock.stripe.event"].search(
                [("event_ref", "=", event["id"])]
            )
            self.assertEqual(events.mapped("state"), ["ignored"])

    def test_same_event_about_a_transaction_at_once(self):
        with self.registry.cursor() as cr:
            tx = self._env(cr)["payment.transaction"].browse(self.ids["tx"])
            reference = tx.reference
        obj = {
            "id": "pi_concurrent",
            "object": "payment_intent",
            "status": "requires_payment_method",
            "amount": 10000,
            "currency": "usd",
            "metadata": {"odoo_reference": reference},
            "last_payment_error": {"message": "Your card was declined."},
        }
        event = self._event("payment_intent.payment_failed", obj)
        with mute_logger(
            "odoo.sql_db", "odoo.addons.payment.models.payment_transaction"
        ):
            outcomes = self._deliver_twice_at_once(event)
        self.assertEqual(outcomes, ("processed", "duplicate"))
        with self.registry.cursor() as cr:
            env = self._env(cr)
            tx = env["payment.transaction"].browse(self.ids["tx"])
            self.assertEqual(tx.state, "error")
            events = env["clock.stripe.event"].search([("event_ref", "=", event["id"])])
            self.assertEqual(events.mapped("state"), ["processed"])
            self.assertEqual(events.transaction_id, tx)
