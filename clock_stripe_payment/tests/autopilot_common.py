"""Fixtures of the Payment Autopilot tests.

* :class:`AutopilotCommon`: a hotel of its own (clock_pms' test hotel) with a Stripe
  (hotel) provider in test mode and cards on file with made-up Stripe ids: planning,
  filters, amounts and task rules, nothing is sent to Stripe.
* :class:`AutopilotStripeCommon`: the card payment tests' hotel on localstripe
  (``hotel_common.py`` / ``common.py``), for the end-to-end runs.

Both run the cron with a controlled clock and with its per-booking commits turned
into savepoints, so that a test can also "crash" back to the last commit.
"""

from datetime import timedelta
from unittest.mock import patch

from odoo import Command, fields

from odoo.addons.clock_pms.tests.common import ClockPmsCommon

from .common import CARD_OK, commits_as_savepoints
from .hotel_common import HotelPaymentCommon

#: A catch-up grace that takes every fixture booking: their triggers are placed days
#: before the tests' clock (the catch-up rule has tests of its own).
CATCH_UP_ALL = 24 * 365 * 10


class AutopilotMixin:
    @classmethod
    def _setup_autopilot(cls):
        cls.Task = cls.env["clock.autopilot.task"]
        cls.Run = cls.env["clock.autopilot.run"]
        cls.card_method = cls.env.ref("payment.payment_method_card")
        # A fixed "now" for planning: the fixture bookings are created at the
        # transaction's start (their create_date), which is before it.
        cls.now = fields.Datetime.now().replace(microsecond=0) + timedelta(minutes=1)

    # ------------------------------------------------------------------
    # Cards
    # ------------------------------------------------------------------

    @classmethod
    def _create_token(cls, partner, number=CARD_OK, at_stripe=False):
        """A saved card of ``partner`` on the test provider.

        :param at_stripe: create the customer and the card at localstripe (the card
            can then be charged); otherwise the Stripe ids are made up
        """
        if at_stripe:
            client = cls.provider._clock_stripe_client()
            customer = client.create_customer(partner.name, email=partner.email)
            card = client._call(
                "payment method create",
                client._client.v1.payment_methods.create,
                params={
                    "type": "card",
                    "card": {
                        "number": number,
                        "exp_month": 12,
                        "exp_year": 2034,
                        "cvc": "123",
                    },
                },
            )
            client.attach_payment_method(card["id"], customer["id"])
            customer_id, card_id = customer["id"], card["id"]
        else:
            # No card id: archiving the token then detaches nothing at Stripe.
            customer_id, card_id = "cus_autopilot_fake", False
        return cls.env["payment.token"].create(
            {
                "provider_id": cls.provider.id,
                "payment_method_id": cls.card_method.id,
                "partner_id": partner.id,
                "payment_details": number[-4:],
                "provider_ref": customer_id,
                "clock_stripe_payment_method_id": card_id,
                "clock_stripe_card_brand": "visa",
                "clock_stripe_exp_month": 12,
                "clock_stripe_exp_year": 2034,
            }
        )

    @classmethod
    def _add_card(cls, booking, card_type="guest", number=CARD_OK, token=None):
        token = token or cls._create_token(
            booking.partner_id, number=number, at_stripe=cls.cards_at_stripe
        )
        cls.env["clock.reservation.card"].create(
            {
                "reservation_id": booking.id,
                "token_id": token.id,
                "card_type": card_type,
                "sequence": 10 + len(booking.card_ids),
            }
        )
        return token

    # ------------------------------------------------------------------
    # Tasks and runs
    # ------------------------------------------------------------------

    @classmethod
    def _task_defaults(cls):
        return {
            "name": "Test task",
            "company_id": cls.hotel.id,
            "mode": "after_creation",
            "operation": "none",
            "failure_template_id": False,
            "active": True,
            "catch_up_hours": CATCH_UP_ALL,
        }

    @classmethod
    def _create_task(cls, **values):
        return cls.Task.create({**cls._task_defaults(), **values})

    def _due(self, task, now=None):
        """The bookings due for ``task`` at ``now``."""
        return self.env["clock.reservation"].search(
            task._autopilot_due_domain(now or self.now)
        )

    def _commits_as_savepoints(self):
        """Replace the Autopilot's per-booking commits (and its rollback after an
        unexpected error) by savepoints, so that the tests can run the cron in
        their transaction and 'crash' back to the last commit with :meth:`_crash`."""
        return commits_as_savepoints(
            self.Run, "_autopilot_commit", "_autopilot_rollback", self.env.cr
        )

    def _crash(self):
        """Lose everything since the last Autopilot commit, as a killed worker."""
        self.env.cr.execute("ROLLBACK TO SAVEPOINT autopilot_commit")
        self.env.cr.clear()  # The cache and the pending writes go too.

    def _run_cron(self, now=None):
        """Run the Autopilot cron at ``now`` (commits replaced by savepoints)."""
        now = now or self.now
        with (
            self._commits_as_savepoints(),
            patch.object(fields.Datetime, "now", return_value=now),
        ):
            return self.Task._cron_run_autopilot()

    def _run_of(self, task, booking):
        return self.Run.search(
            [("task_id", "=", task.id), ("reservation_id", "=", booking.id)]
        )


class AutopilotCommon(AutopilotMixin, ClockPmsCommon):
    """clock_pms' test hotel, in Sofia, with a Stripe (hotel) provider that is never
    called (its cards have made-up ids)."""

    cards_at_stripe = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_autopilot()
        cls.hotel.partner_id.tz = "Europe/Sofia"
        cls.provider = (
            cls.env["payment.provider"]
            .with_context(clock_stripe_skip_credential_check=True)
            .create(
                {
                    "name": "Stripe (hotel) autopilot tests",
                    "code": "clock_stripe",
                    "company_id": cls.hotel.id,
                    "state": "test",
                    "allow_tokenization": True,
                    "clock_stripe_secret_key": "sk_test_autopilot",
                    "clock_stripe_publishable_key": "pk_test_autopilot",
                    "clock_stripe_api_base": "http://127.0.0.1:9",
                    "payment_method_ids": [Command.set(cls.card_method.ids)],
                }
            )
        )
        cls.hotel.clock_stripe_card_provider_id = cls.provider


class AutopilotStripeCommon(AutopilotMixin, HotelPaymentCommon):
    """The card payment tests' hotel (the main company) on localstripe.

    The main company also has the demo bookings: every booking made here gets
    ``scope_agent`` as agent and every task filters on it, so the tasks see only
    the test's bookings.
    """

    cards_at_stripe = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_autopilot()
        cls.hotel.partner_id.tz = "Europe/Sofia"
        cls.scope_agent = cls.env["res.partner"].create({"name": "Autopilot Agent"})

    @classmethod
    def _task_defaults(cls):
        return {
            **super()._task_defaults(),
            "include_agent_ids": [Command.set(cls.scope_agent.ids)],
        }

    def _week_before_arrival_task(self, **values):
        """A task acting a week before arrival (``operation`` and amount in
        ``values``) that e-mails the guest when it fails."""
        return self._create_task(
            mode="before_arrival",
            offset_hours=168,
            failure_template_id=self.env.ref(
                "clock_stripe_payment.clock_autopilot_mail_template_failure"
            ).id,
            **values,
        )

    def _stay(self, arrival_in=5, nights=2, confirm=True, **values):
        """A booking of the test scope, under the 'save the card' policy."""
        return self._booking(
            policy=self.policy_tokenize,
            confirm=confirm,
            nights=nights,
            arrival_in=arrival_in,
            agent_id=self.scope_agent.id,
            **values,
        )
