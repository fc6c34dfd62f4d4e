"""Payment Autopilot: when a task acts, on which bookings, for how much, and the
rules a task must follow (no Stripe call in this file)."""

from datetime import datetime, timedelta
from unittest.mock import patch

import psycopg2.errors

from odoo import fields
from odoo.exceptions import ValidationError
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from .autopilot_common import AutopilotCommon


@tagged("post_install", "-at_install")
class TestAutopilotTriggers(AutopilotCommon):
    def _assert_due_from(self, task, booking, trigger):
        """``booking`` is due for ``task`` from ``trigger`` on, not a second before."""
        self.assertEqual(task._autopilot_trigger_time(booking), trigger)
        self.assertNotIn(booking, self._due(task, trigger - timedelta(seconds=1)))
        self.assertIn(booking, self._due(task, trigger))

    def test_after_creation(self):
        booking = self._create_booking()
        for offset in (0, 1, 168):
            task = self._create_task(mode="after_creation", offset_hours=offset)
            self._assert_due_from(
                task, booking, booking.create_date + timedelta(hours=offset)
            )

    def test_up_to_arrival_counts_from_noon_on_the_arrival_day(self):
        booking = self._create_booking(arrival_in=10)
        booking.action_confirm()
        # Sofia in the fixture's season: noon local is 09:00 or 10:00 UTC.
        noon = booking.autopilot_arrival_noon_at
        self.assertIn(noon.hour, (9, 10))
        self.assertEqual(noon.date(), booking.arrival_date)
        for offset in (0, 24, 168, -6):
            task = self._create_task(mode="before_arrival", offset_hours=offset)
            self._assert_due_from(task, booking, noon - timedelta(hours=offset))

    def test_before_departure_counts_from_noon_on_the_departure_day(self):
        booking = self._create_booking(arrival_in=10, nights=4)
        booking.action_confirm()
        noon = booking.autopilot_departure_noon_at
        self.assertEqual(noon.date(), booking.departure_date)
        for offset in (0, 3, -2):
            task = self._create_task(mode="before_departure", offset_hours=offset)
            self._assert_due_from(task, booking, noon - timedelta(hours=offset))

    def test_after_check_in_check_out_and_cancellation(self):
        checked_in = self._create_booking(arrival_in=0)
        checked_in.action_confirm()
        checked_in.checked_in_at = datetime(2030, 1, 1, 15, 0)
        checked_in.state = "checked_in"
        checked_out = self._create_booking(arrival_in=0)
        checked_out.write(
            {
                "state": "checked_out",
                "checked_in_at": datetime(2030, 1, 1, 15, 0),
                "checked_out_at": datetime(2030, 1, 3, 10, 30),
            }
        )
        cancelled = self._create_booking()
        cancelled.write({"state": "cancelled", "cancelled_at": datetime(2030, 2, 1)})
        no_show = self._create_booking()
        no_show.write({"state": "no_show", "no_show_at": datetime(2030, 2, 2)})

        task = self._create_task(mode="after_check_in", offset_hours=2)
        self._assert_due_from(task, checked_in, datetime(2030, 1, 1, 17, 0))
        self.assertIn(checked_out, self._due(task, datetime(2030, 1, 1, 17, 0)))

        task = self._create_task(mode="after_check_out", offset_hours=24)
        self._assert_due_from(task, checked_out, datetime(2030, 1, 4, 10, 30))
        self.assertNotIn(checked_in, self._due(task, datetime(2031, 1, 1)))

        task = self._create_task(mode="after_cancellation", offset_hours=0)
        self._assert_due_from(task, cancelled, datetime(2030, 2, 1))
        self._assert_due_from(task, no_show, datetime(2030, 2, 2))
        self.assertEqual(
            no_show.autopilot_cancelled_at, datetime(2030, 2, 2), "no-show = cancel"
        )

    def test_states_watched_by_each_mode(self):
        later = datetime(2100, 1, 1)
        draft = self._create_booking()
        cancelled = self._create_booking()
        cancelled.action_cancel()
        arriving = self._create_task(mode="before_arrival", offset_hours=0)
        created = self._create_task(mode="after_creation", offset_hours=0)
        self.assertIn(draft, self._due(arriving, later))
        self.assertNotIn(cancelled, self._due(arriving, later))
        self.assertNotIn(cancelled, self._due(created, later))
        draft.action_confirm()
        draft.action_check_in()
        self.assertNotIn(draft, self._due(arriving, later), "not expected any more")
        departing = self._create_task(mode="before_departure", offset_hours=0)
        self.assertIn(draft, self._due(departing, later))

    def test_noon_anchors_in_time_zones_far_from_utc(self):
        booking = self._create_booking(arrival_in=30, nights=2)
        arrival = booking.arrival_date
        task = self._create_task(mode="before_arrival", offset_hours=0)

        self.hotel.partner_id.tz = "Pacific/Kiritimati"  # UTC+14
        noon = booking.autopilot_arrival_noon_at
        self.assertEqual(
            noon, datetime.combine(arrival, datetime.min.time()) - timedelta(hours=2)
        )
        self._assert_due_from(task, booking, noon)

        self.hotel.partner_id.tz = "Pacific/Pago_Pago"  # UTC-11
        noon = booking.autopilot_arrival_noon_at
        self.assertEqual(
            noon, datetime.combine(arrival, datetime.min.time()) + timedelta(hours=23)
        )
        self._assert_due_from(task, booking, noon)
        self.assertEqual(booking.autopilot_departure_noon_at, noon + timedelta(days=2))

        self.hotel.partner_id.tz = False  # No time zone: UTC.
        self.assertEqual(booking.autopilot_arrival_noon_at.hour, 12)

    def test_booking_moved_after_planning_is_not_processed_early(self):
        booking = self._create_booking(arrival_in=5)
        booking.action_confirm()
        task = self._create_task(mode="before_arrival", offset_hours=168)
        self.assertIn(booking, self._due(task))
        self.assertEqual(task._autopilot_plan(self.now), 1)
        run = self._run_of(task, booking)
        self.assertEqual(run.state, "planned")
        self.assertEqual(
            run.due_at, booking.autopilot_arrival_noon_at - timedelta(hours=168)
        )

        # The guest moves the stay three weeks later before the run is processed.
        booking.write(
            {
                "arrival_date": booking.arrival_date + timedelta(days=21),
                "departure_date": booking.departure_date + timedelta(days=21),
            }
        )
        with self._commits_as_savepoints():
            self.assertTrue(run._autopilot_process(self.now))
        self.assertFalse(run.exists(), "forgotten, so it can be planned again")
        self.assertNotIn(booking, self._due(task))
        self.assertEqual(task._autopilot_preview_lines(self.now), [])
        # It becomes due again a week before the new arrival.
        new_trigger = booking.autopilot_arrival_noon_at - timedelta(hours=168)
        self._assert_due_from(task, booking, new_trigger)


@tagged("post_install", "-at_install")
class TestAutopilotFilters(AutopilotCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Partner = cls.env["res.partner"]
        cls.acme = Partner.create({"name": "ACME Ltd", "is_company": True})
        cls.globex = Partner.create({"name": "Globex", "is_company": True})
        cls.agent_a = Partner.create({"name": "Travel Agent A"})
        cls.agent_b = Partner.create({"name": "Travel Agent B"})
        cls.direct = cls._create_booking(
            channel="direct",
            guarantee_policy_id=cls.policy_none.id,
            company_partner_id=cls.acme.id,
        )
        cls.engine = cls._create_booking(
            channel="booking_engine",
            guarantee_policy_id=cls.policy_manual.id,
            agent_id=cls.agent_a.id,
        )
        cls.ota = cls._create_booking(
            channel="ota",
            guarantee_policy_id=cls.policy_manual.id,
            company_partner_id=cls.globex.id,
            agent_id=cls.agent_b.id,
        )
        cls.engine.guarantee_status = "guaranteed"
        cls.ota.guarantee_status = "expired"
        cls._add_card(cls.direct, "guest")
        cls._add_card(cls.ota, "virtual")
        archived = cls._add_card(cls.engine, "virtual")
        archived.active = False
        cls.bookings = cls.direct | cls.engine | cls.ota
        cls.later = datetime(2100, 1, 1)

    def _matching(self, **filters):
        task = self._create_task(**filters)
        return self._due(task, self.later) & self.bookings

    def test_no_filter_takes_every_booking(self):
        self.assertEqual(self._matching(), self.bookings)

    def test_guarantee_status(self):
        self.assertEqual(self._matching(filter_status_guaranteed=True), self.engine)
        self.assertEqual(
            self._matching(filter_status_guaranteed=True, filter_status_expired=True),
            self.engine | self.ota,
        )
        self.assertEqual(self._matching(filter_status_not_required=True), self.direct)
        self.assertFalse(self._matching(filter_status_awaiting=True))

    def test_guarantee_policies(self):
        self.assertEqual(
            self._matching(guarantee_policy_ids=self.policy_manual.ids),
            self.engine | self.ota,
        )

    def test_channel(self):
        self.assertEqual(self._matching(channel_filter="ota"), self.ota)
        self.assertEqual(
            self._matching(channel_filter="direct"), self.direct | self.engine
        )

    def test_card_type_needs_an_active_card_of_that_type(self):
        self.assertEqual(self._matching(card_type_filter="guest"), self.direct)
        self.assertEqual(self._matching(card_type_filter="virtual"), self.ota)

    def test_companies_include_and_exclude(self):
        self.assertEqual(
            self._matching(include_company_partner_ids=self.acme.ids), self.direct
        )
        self.assertEqual(
            self._matching(exclude_company_partner_ids=self.acme.ids),
            self.engine | self.ota,
            "a booking without company is not excluded",
        )

    def test_agents_include_and_exclude(self):
        self.assertEqual(
            self._matching(include_agent_ids=(self.agent_a | self.agent_b).ids),
            self.engine | self.ota,
        )
        self.assertEqual(
            self._matching(exclude_agent_ids=self.agent_b.ids),
            self.direct | self.engine,
        )

    def test_filters_combined(self):
        self.assertEqual(
            self._matching(
                channel_filter="ota",
                card_type_filter="virtual",
                filter_status_expired=True,
                guarantee_policy_ids=self.policy_manual.ids,
                include_company_partner_ids=self.globex.ids,
                exclude_agent_ids=self.agent_a.ids,
            ),
            self.ota,
        )
        self.assertFalse(self._matching(channel_filter="ota", card_type_filter="guest"))
        self.assertEqual(
            self._matching(channel_filter="direct", exclude_agent_ids=self.agent_a.ids),
            self.direct,
        )

    def test_other_hotel_is_ignored(self):
        other_hotel = self._create_hotel("Test Hotel Beta")
        room = self._create_room_type(other_hotel, name="Twin", code="TW", price=50)
        other = self._create_booking(room_type=room)
        task = self._create_task()
        self.assertNotIn(other, self._due(task, self.later))

    def test_a_task_acts_once_per_booking(self):
        task = self._create_task()
        self.assertEqual(task._autopilot_plan(self.later), 3)
        self.assertFalse(self._due(task, self.later) & self.bookings)
        self.assertEqual(task._autopilot_plan(self.later), 0)
        other_task = self._create_task()
        self.assertEqual(
            self._due(other_task, self.later) & self.bookings, self.bookings
        )


@tagged("post_install", "-at_install")
class TestAutopilotAmounts(AutopilotCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Three nights of 90.0 (room), plus extras on the first night and a fee.
        cls.booking = cls._create_booking(arrival_in=10, nights=3)
        cls.booking.action_confirm()
        folio = cls.booking.folio_ids
        first_night = cls.booking.arrival_date
        folio.line_ids = [
            (
                0,
                0,
                {
                    "name": "Breakfast",
                    "date": first_night,
                    "kind": "charge",
                    "revenue_group": "extras",
                    "amount": 20.0,
                },
            ),
            (
                0,
                0,
                {
                    "name": "City tax",
                    "date": first_night + timedelta(days=1),
                    "kind": "charge",
                    "revenue_group": "fees",
                    "amount": 4.0,
                },
            ),
            (
                0,
                0,
                {
                    "name": "Deposit",
                    "date": first_night,
                    "kind": "payment",
                    "amount": 50.0,
                },
            ),
        ]
        cls._add_card(cls.booking)

    def _amount(self, **values):
        task = self._create_task(operation="charge", **values)
        return task._autopilot_prepare(self.booking)

    def test_balance(self):
        self.assertEqual(self.booking.balance, 270.0 + 24.0 - 50.0)
        self.assertEqual(self._amount(amount_basis="balance")["amount"], 244.0)

    def test_balance_of_hidden_folios_is_not_asked(self):
        self.booking.folio_ids.hide_on_portal = True
        self.booking._create_folio()  # A second, visible folio of 270.0.
        self.assertEqual(self._amount(amount_basis="balance")["amount"], 270.0)

    def test_fixed(self):
        self.assertEqual(
            self._amount(amount_basis="fixed", amount_fixed=35.5)["amount"], 35.5
        )

    def test_first_nights_of_revenue_groups(self):
        self.assertEqual(
            self._amount(amount_basis="nights", amount_nights=1)["amount"], 90.0
        )
        self.assertEqual(
            self._amount(
                amount_basis="nights",
                amount_nights=2,
                nights_group_extras=True,
                nights_group_fees=True,
            )["amount"],
            90.0 * 2 + 20.0 + 4.0,
        )
        self.assertEqual(
            self._amount(
                amount_basis="nights",
                amount_nights=1,
                nights_group_room=False,
                nights_group_extras=True,
            )["amount"],
            20.0,
        )

    def test_first_nights_before_the_folio_exists(self):
        draft = self._create_booking(arrival_in=10, nights=2)
        task = self._create_task(
            operation="charge", amount_basis="nights", amount_nights=1
        )
        self.assertEqual(task._autopilot_amount(draft), 90.0)

    def test_percent_of_total(self):
        self.assertEqual(
            self._amount(amount_basis="percent_total", amount_percent=25)["amount"],
            73.5,
        )

    def test_zero_or_less_is_nothing_to_do(self):
        self.booking.folio_ids.line_ids = [
            (0, 0, {"name": "Paid", "kind": "payment", "amount": 300.0})
        ]
        values = self._amount(amount_basis="balance")
        self.assertEqual(values["amount"], -56.0)
        self.assertEqual(values["outcome"], "skip")
        self.assertFalse(values["token"], "no card is even chosen")

    def test_card_choice(self):
        booking = self._create_booking()
        guest = self._add_card(booking, "guest")
        virtual = self._add_card(booking, "virtual")
        for choice, token in (("first", guest), ("guest", guest), ("virtual", virtual)):
            task = self._create_task(
                operation="charge",
                amount_basis="fixed",
                amount_fixed=10,
                card_choice=choice,
            )
            self.assertEqual(task._autopilot_prepare(booking)["token"], token, choice)
        guest.active = False
        task = self._create_task(
            operation="charge",
            amount_basis="fixed",
            amount_fixed=10,
            card_choice="guest",
        )
        values = task._autopilot_prepare(booking)
        self.assertEqual(values["outcome"], "no_card")
        self.assertFalse(values["token"])


@tagged("post_install", "-at_install")
class TestAutopilotCatchUp(AutopilotCommon):
    """A newly activated task catches up on recent triggers only."""

    def _created_ago(self, **delta):
        """A booking whose creation was ``delta`` before ``self.now``."""
        booking = self._create_booking()
        booking.flush_recordset()
        self.env.cr.execute(
            "UPDATE clock_reservation SET create_date = %s WHERE id = %s",
            (self.now - timedelta(**delta), booking.id),
        )
        booking.invalidate_recordset(["create_date"])
        return booking

    def _hold_a_night_after_creation(self, **values):
        # "One night after creation"; no transaction, the planning is what counts.
        values = {"catch_up_hours": 24, **values}
        task = self._create_task(mode="after_creation", offset_hours=24, **values)
        task.activated_at = self.now
        return task

    def _planned(self, task, now):
        """Plan ``task`` at ``now``: the bookings planned by this run, which its
        preview showed just before (same bookings, same due times)."""
        preview = {
            (line["reservation_id"], line["due_at"])
            for line in task._autopilot_preview_lines(now)
        }
        before = self.Run.search([("task_id", "=", task.id)])
        task._autopilot_plan(now)
        runs = self.Run.search([("task_id", "=", task.id)]) - before
        self.assertEqual(
            {(run.reservation_id.id, run.due_at) for run in runs},
            preview,
            "the preview shows what the run plans",
        )
        return runs.reservation_id

    def test_old_bookings_are_not_caught_up(self):
        old = self._created_ago(days=365)
        just_outside = self._created_ago(hours=48, seconds=1)
        at_the_limit = self._created_ago(hours=48)
        recent = self._created_ago(hours=30)
        fresh = self._created_ago(hours=1)
        task = self._hold_a_night_after_creation()
        planned = self._planned(task, self.now)
        self.assertNotIn(old, planned)
        self.assertNotIn(just_outside, planned)
        self.assertIn(at_the_limit, planned, "trigger at activation less the grace")
        self.assertIn(recent, planned, "trigger passed 6 h before the activation")
        self.assertNotIn(fresh, planned, "not due yet")
        later = self._planned(task, self.now + timedelta(days=400))
        self.assertIn(fresh, later, "due after the activation: taken")
        self.assertFalse((old | just_outside) & later, "never taken")

    def test_no_grace_takes_only_triggers_after_the_activation(self):
        recent = self._created_ago(hours=30)
        soon = self._created_ago(hours=23)
        task = self._hold_a_night_after_creation(catch_up_hours=0)
        self.assertNotIn(recent, self._planned(task, self.now))
        planned = self._planned(task, self.now + timedelta(hours=2))
        self.assertIn(soon, planned)
        self.assertNotIn(recent, planned)

    def test_activation_time_is_set_when_the_task_is_activated(self):
        old = self._created_ago(days=30)
        recent = self._created_ago(hours=30)
        task = self.Task.create(
            {
                "name": "Hold a night after creation",
                "company_id": self.hotel.id,
                "mode": "after_creation",
                "offset_hours": 24,
                "operation": "none",
            }
        )
        self.assertEqual(task.catch_up_hours, 24, "a day of grace by default")
        self.assertFalse(task.activated_at)
        # Not active yet: the preview counts from now, as activating it would.
        previewed = {
            line["reservation_id"] for line in task._autopilot_preview_lines(self.now)
        }
        self.assertIn(recent.id, previewed)
        self.assertNotIn(old.id, previewed)
        task.active = True
        activated_at = task.activated_at
        self.assertTrue(activated_at)
        self.assertEqual(self._planned(task, self.now) & (old | recent), recent)
        task.active = False
        self.assertEqual(task.activated_at, activated_at, "kept while inactive")
        task.active = True
        self.assertGreaterEqual(task.activated_at, activated_at)
        reactivation = activated_at + timedelta(days=10)
        task.active = False
        with patch.object(fields.Datetime, "now", return_value=reactivation):
            task.active = True
        self.assertEqual(task.activated_at, reactivation, "counted from the last one")

    @mute_logger("odoo.sql_db")
    def test_grace_cannot_be_negative(self):
        with self.assertRaises(psycopg2.errors.CheckViolation):
            self._create_task(catch_up_hours=-1)


@tagged("post_install", "-at_install")
class TestAutopilotTaskRules(AutopilotCommon):
    def test_new_task_is_inactive(self):
        task = self.Task.create(
            {"name": "New", "company_id": self.hotel.id, "operation": "none"}
        )
        self.assertFalse(task.active)

    def test_charge_or_hold_needs_an_amount_basis(self):
        for operation in ("charge", "hold"):
            with self.assertRaisesRegex(ValidationError, "choose how the amount"):
                self._create_task(operation=operation)
        self._create_task(operation="release")
        self._create_task(operation="none")

    def test_negative_offset_only_where_the_mode_allows_it(self):
        for mode in (
            "after_creation",
            "after_check_in",
            "after_check_out",
            "after_cancellation",
        ):
            with self.assertRaisesRegex(ValidationError, "negative offset"):
                self._create_task(mode=mode, offset_hours=-1)
        self._create_task(mode="before_arrival", offset_hours=-6)
        self._create_task(mode="before_departure", offset_hours=-6)

    def test_fixed_amount_must_be_positive(self):
        for amount in (0, -10):
            with self.assertRaisesRegex(ValidationError, "more than zero"):
                self._create_task(
                    operation="charge", amount_basis="fixed", amount_fixed=amount
                )

    def test_percent_between_0_and_100(self):
        for percent in (0, -5, 100.5):
            with self.assertRaisesRegex(ValidationError, "percentage"):
                self._create_task(
                    operation="hold",
                    amount_basis="percent_total",
                    amount_percent=percent,
                )
        self._create_task(
            operation="hold", amount_basis="percent_total", amount_percent=100
        )

    def test_nights_basis_needs_nights_and_groups(self):
        with self.assertRaisesRegex(ValidationError, "at least one night"):
            self._create_task(
                operation="charge", amount_basis="nights", amount_nights=0
            )
        with self.assertRaisesRegex(ValidationError, "revenue groups"):
            self._create_task(
                operation="charge", amount_basis="nights", nights_group_room=False
            )

    def test_activation_needs_an_enabled_card_provider(self):
        task = self._create_task(operation="charge", amount_basis="balance")
        task.active = True
        task.active = False
        self.provider.with_context(
            clock_stripe_skip_credential_check=True
        ).state = "disabled"
        with self.assertRaisesRegex(
            ValidationError, "no enabled card payment provider"
        ):
            task.active = True
        self.provider.with_context(
            clock_stripe_skip_credential_check=True
        ).state = "test"
        self.hotel.clock_stripe_card_provider_id = False
        with self.assertRaisesRegex(
            ValidationError, "no enabled card payment provider"
        ):
            task.active = True
        # A task that moves no money does not need one.
        self._create_task(operation="none").active = True

    def test_activity_needs_a_user(self):
        with self.assertRaisesRegex(ValidationError, "who the activity"):
            self._create_task(
                success_activity_type_id=self.env.ref("mail.mail_activity_data_todo").id
            )

    def test_demo_tasks_are_inactive_and_valid(self):
        demo = self.Task.with_context(active_test=False).search(
            [
                (
                    "name",
                    "in",
                    (
                        "Charge the cancellation fee",
                        "Charge OTA virtual cards on the arrival date",
                    ),
                )
            ]
        )
        if not demo:
            self.skipTest("demo data not loaded")
        self.assertFalse(any(demo.mapped("active")))
        for task in demo:
            task._autopilot_preview_lines(self.now)


@tagged("post_install", "-at_install")
class TestAutopilotPlanningQueries(AutopilotCommon):
    def _plan_queries(self, task):
        self.env.flush_all()
        self.env.invalidate_all()
        before = self.cr.sql_log_count
        planned = task._autopilot_plan(self.now)
        return planned, self.cr.sql_log_count - before

    def test_planning_queries_do_not_grow_with_the_bookings(self):
        filters = {
            "mode": "before_arrival",
            "offset_hours": 168,
            "channel_filter": "direct",
            "card_type_filter": "guest",
            "filter_status_not_required": True,
            "exclude_agent_ids": [
                (6, 0, self.env["res.partner"].create({"name": "Excluded agent"}).ids)
            ],
        }
        for _n in range(3):
            self._add_card(self._create_booking(arrival_in=3))
        planned_few, queries_few = self._plan_queries(self._create_task(**filters))
        for _n in range(40):
            self._add_card(self._create_booking(arrival_in=3))
        planned_many, queries_many = self._plan_queries(self._create_task(**filters))
        self.assertEqual((planned_few, planned_many), (3, 43))
        self.assertEqual(queries_few, queries_many)


@tagged("post_install", "-at_install")
class TestAutopilotOnTheBooking(AutopilotCommon):
    def test_next_scheduled_action(self):
        booking = self._create_booking(arrival_in=10)
        booking.action_confirm()
        noon = booking.autopilot_arrival_noon_at
        week_before = self._create_task(
            name="Balance", mode="before_arrival", offset_hours=168
        )
        day_before = self._create_task(
            name="Reminder", mode="before_arrival", offset_hours=24
        )
        self._create_task(
            name="Inactive", mode="before_arrival", offset_hours=500, active=False
        )
        self._create_task(
            name="Other channel",
            mode="before_arrival",
            offset_hours=400,
            channel_filter="ota",
        )
        booking.invalidate_recordset()
        self.assertEqual(booking.autopilot_next_task_id, week_before)
        self.assertEqual(booking.autopilot_next_action_at, noon - timedelta(hours=168))
        self.assertIn("Balance", booking.autopilot_next_action)
        # Once the first task has acted, the next one is shown.
        week_before._autopilot_plan(noon)
        booking.invalidate_recordset()
        self.assertEqual(booking.autopilot_next_task_id, day_before)
        day_before._autopilot_plan(noon)
        booking.invalidate_recordset()
        self.assertFalse(booking.autopilot_next_task_id)
        self.assertFalse(booking.autopilot_next_action)

    def test_cards_are_kept_while_a_task_may_still_use_them(self):
        booking = self._create_booking()
        self._add_card(booking)
        booking.action_cancel()
        self.assertFalse(booking._clock_cards_still_needed())
        fee = self._create_task(
            mode="after_cancellation",
            offset_hours=48,
            operation="charge",
            amount_basis="fixed",
            amount_fixed=30,
        )
        self.assertTrue(booking._clock_cards_still_needed(), "the fee is to come")
        fee._autopilot_plan(booking.cancelled_at + timedelta(hours=49))
        run = self._run_of(fee, booking)
        self.assertTrue(booking._clock_cards_still_needed(), "planned, not run")
        run.write({"state": "done"})
        self.assertFalse(booking._clock_cards_still_needed())

    def test_a_retry_of_a_booking_that_no_longer_matches_is_skipped(self):
        booking = self._create_booking(arrival_in=3)
        booking.action_confirm()
        self._add_card(booking)
        task = self._create_task(
            mode="before_arrival",
            offset_hours=168,
            operation="charge",
            amount_basis="balance",
            failure_retries=2,
        )
        task._autopilot_plan(self.now)
        run = self._run_of(task, booking)
        run.write({"state": "retry", "retries": 1, "next_retry_at": self.now})
        booking.action_cancel()
        with self._commits_as_savepoints():
            self.assertTrue(run._autopilot_process(self.now))
        self.assertEqual(run.state, "skipped")
        self.assertFalse(run.transaction_id)
        self.assertIn("no longer matches", run.message)

    def _messages_with(self, booking, text):
        return booking.message_ids.filtered(lambda m: text in (m.body or ""))

    def test_unexpected_error_on_a_booking_does_not_stop_the_others(self):
        first = self._create_booking(arrival_in=3)
        second = self._create_booking(arrival_in=3)
        task = self._create_task(mode="after_creation", success_note="Seen.")
        Run = type(self.Run)
        original = Run._autopilot_succeed

        def succeed_but_not_first(run, now):
            if run.reservation_id == first:
                raise RuntimeError("bug")
            return original(run, now)

        with (
            patch.object(Run, "_autopilot_succeed", succeed_but_not_first),
            mute_logger("odoo.addons.clock_stripe_payment.models.clock_autopilot_task"),
        ):
            self._run_cron()
        run = self._run_of(task, first)
        self.assertEqual(run.state, "failed")
        self.assertIn("bug", run.message)
        self.assertEqual(self._run_of(task, second).state, "done")
        self.assertFalse(
            self._messages_with(first, "Seen."), "the failed work was undone"
        )
        self._run_cron()
        self.assertEqual(run.state, "failed", "not tried again and again")

    def test_no_other_money_moves_on_a_booking_while_a_run_is_in_flight(self):
        booking = self._create_booking(arrival_in=3)
        self._add_card(booking)
        values = {"operation": "charge", "amount_basis": "fixed"}
        first = self._create_task(amount_fixed=10, **values)
        second = self._create_task(amount_fixed=20, **values)
        (first | second)._autopilot_plan(self.now)
        run_1, run_2 = self._run_of(first, booking), self._run_of(second, booking)
        self.assertTrue(run_1._autopilot_claim_booking())
        run_1.state = "unknown"  # E.g. Stripe timed out: was the card charged?
        self.assertEqual(booking.autopilot_busy_run_id, run_1)
        self.assertNotIn(run_2, self.Run._autopilot_runnable(self.now))
        with self._commits_as_savepoints():
            self.assertFalse(run_2._autopilot_process(self.now))
        self.assertEqual(run_2.state, "planned")
        self.assertFalse(run_2.transaction_id)
        run_1.state = "done"  # Reconciled.
        self.assertIn(run_2, self.Run._autopilot_runnable(self.now))


@tagged("post_install", "-at_install")
class TestAutopilotViews(AutopilotCommon):
    def test_manager_sets_up_and_previews_a_task_in_the_form(self):
        booking = self._create_booking(arrival_in=3)
        booking.action_confirm()
        self._add_card(booking)
        manager = self.hotel_manager
        with Form(self.Task.with_user(manager)) as form:
            form.name = "Deposit a week before"
            form.mode = "before_arrival"
            form.offset_hours = 168
            # The booking's trigger passed four days ago: catch up on it.
            form.catch_up_hours = 168
            form.operation = "hold"
            form.amount_basis = "nights"
            form.amount_nights = 1
            form.failure_retries = 1
            form.success_activity_type_id = self.env.ref("mail.mail_activity_data_todo")
            form.success_activity_user_id = manager
        task = form.record
        self.assertFalse(task.active)
        self.assertEqual(task.company_id, self.hotel)
        self.assertIn("168", task.trigger_description)
        action = task.with_user(manager).action_preview()
        preview = self.env["clock.autopilot.preview"].browse(action["res_id"])
        self.assertEqual(preview.line_ids.reservation_id, booking)
        self.assertEqual(preview.amount_total, 90.0)
        self.assertEqual(preview.line_ids.token_id, booking.card_ids.token_id)

    def test_front_desk_sees_the_autopilot_on_the_booking(self):
        booking = self._create_booking(arrival_in=3)
        booking.action_confirm()
        task = self._create_task(mode="before_arrival", offset_hours=24)
        task._autopilot_plan(booking.autopilot_arrival_noon_at)
        with Form(booking.with_user(self.hotel_user)) as form:
            self.assertEqual(len(form.autopilot_run_ids), 1)
        self.assertEqual(
            task.with_user(self.hotel_user).action_view_runs()["res_model"],
            "clock.autopilot.run",
        )
        self.assertEqual(task.run_count, 1)
