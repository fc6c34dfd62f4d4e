import logging
from collections import defaultdict
from datetime import date, timedelta

import psycopg2.errors

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL, format_amount

from .. import autopilot

_logger = logging.getLogger(__name__)

#: The stored reservation column each mode is measured from.
ANCHOR_FIELDS = {
    autopilot.MODE_AFTER_CREATION: "create_date",
    autopilot.MODE_BEFORE_ARRIVAL: "autopilot_arrival_noon_at",
    autopilot.MODE_AFTER_CHECK_IN: "checked_in_at",
    autopilot.MODE_BEFORE_DEPARTURE: "autopilot_departure_noon_at",
    autopilot.MODE_AFTER_CHECK_OUT: "checked_out_at",
    autopilot.MODE_AFTER_CANCELLATION: "autopilot_cancelled_at",
}

#: The booking states each mode watches.
MODE_STATES = {
    autopilot.MODE_AFTER_CREATION: ("draft", "confirmed", "checked_in", "checked_out"),
    autopilot.MODE_BEFORE_ARRIVAL: ("draft", "confirmed"),
    autopilot.MODE_AFTER_CHECK_IN: ("checked_in", "checked_out"),
    autopilot.MODE_BEFORE_DEPARTURE: ("confirmed", "checked_in"),
    autopilot.MODE_AFTER_CHECK_OUT: ("checked_out",),
    autopilot.MODE_AFTER_CANCELLATION: ("cancelled", "no_show"),
}

#: Guarantee-status filter: (status, boolean field of the task).
GUARANTEE_STATUS_FILTERS = (
    ("not_required", "filter_status_not_required"),
    ("awaiting", "filter_status_awaiting"),
    ("guaranteed", "filter_status_guaranteed"),
    ("expired", "filter_status_expired"),
)

#: Revenue groups of the "first N nights" basis: (group, boolean field of the task).
REVENUE_GROUP_FIELDS = (
    ("room", "nights_group_room"),
    ("extras", "nights_group_extras"),
    ("fees", "nights_group_fees"),
)

#: Channels counted as direct by the "direct bookings only" filter.
DIRECT_CHANNELS = ("direct", "booking_engine")

MONEY_OPERATIONS = ("charge", "hold")


class ClockAutopilotTask(models.Model):
    """A Payment Autopilot task: one rule that acts on bookings without staff.

    It answers six questions (when, which bookings, what, which card, how much, what
    afterwards); the cron (:meth:`_cron_run_autopilot`) finds the bookings whose
    trigger has passed, in one SQL query per task, and acts on each once.
    """

    _name = "clock.autopilot.task"
    _description = "Payment Autopilot Task"
    _inherit = ["mail.thread"]
    _order = "company_id, sequence, id"
    _check_company_auto = True

    name = fields.Char(required=True, tracking=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(
        default=False,
        copy=False,
        tracking=True,
        help="A new task (or a copy) is inactive: preview it, then activate it.",
    )
    activated_at = fields.Datetime(
        string="Activated On",
        readonly=True,
        copy=False,
        tracking=True,
        help="When the task was last activated. It acts only on bookings whose "
        "trigger time is at or after this moment less the catch-up grace.",
    )
    catch_up_hours = fields.Integer(
        string="Catch-up Grace (hours)",
        default=24,
        tracking=True,
        help="On activation, the task also acts on bookings whose trigger time "
        "passed at most this many hours before; older ones are never acted on (a "
        "new task does not charge or hold long-past bookings). 0: only triggers "
        "from the activation on.",
    )
    company_id = fields.Many2one(
        "res.company",
        string="Hotel",
        required=True,
        index=True,
        default=lambda self: self.env.company,
        tracking=True,
    )
    currency_id = fields.Many2one(related="company_id.currency_id")

    # When ---------------------------------------------------------------------
    mode = fields.Selection(
        [
            (autopilot.MODE_AFTER_CREATION, "After booking creation"),
            (
                autopilot.MODE_BEFORE_ARRIVAL,
                "Up to arrival (from 12:00 on arrival day)",
            ),
            (autopilot.MODE_AFTER_CHECK_IN, "After check-in"),
            (
                autopilot.MODE_BEFORE_DEPARTURE,
                "Before departure (from 12:00 on departure day)",
            ),
            (autopilot.MODE_AFTER_CHECK_OUT, "After check-out"),
            (autopilot.MODE_AFTER_CANCELLATION, "After cancellation or no-show"),
        ],
        required=True,
        default=autopilot.MODE_AFTER_CREATION,
        tracking=True,
    )
    offset_hours = fields.Integer(
        string="Offset (hours)",
        tracking=True,
        help="Hours after the event for the 'after' modes; hours before 12:00 (hotel "
        "time) on the arrival or departure day for the other two, where a negative "
        "offset means after 12:00. E.g. 168 before arrival = one week before; 0 up "
        "to arrival = on the arrival day.",
    )

    # Which bookings (each filter is ignored when empty) -----------------------
    filter_status_not_required = fields.Boolean(string="Not Required")
    filter_status_awaiting = fields.Boolean(string="Awaiting Guarantee")
    filter_status_guaranteed = fields.Boolean(string="Guaranteed")
    filter_status_expired = fields.Boolean(string="Guarantee Expired")
    guarantee_policy_ids = fields.Many2many(
        "clock.guarantee.policy",
        "clock_autopilot_task_guarantee_policy_rel",
        "task_id",
        "policy_id",
        string="Guarantee Policies",
        check_company=True,
    )
    channel_filter = fields.Selection(
        [("ota", "OTA bookings only"), ("direct", "Direct bookings only")],
        string="Channel",
        help="Direct covers bookings made directly and on the booking engine.",
    )
    card_type_filter = fields.Selection(
        [("guest", "Guest card"), ("virtual", "Virtual card")],
        string="Card Type",
        help="Only bookings with an active card of this type on file.",
    )
    include_company_partner_ids = fields.Many2many(
        "res.partner",
        "clock_autopilot_task_include_company_rel",
        "task_id",
        "partner_id",
        string="Companies",
    )
    exclude_company_partner_ids = fields.Many2many(
        "res.partner",
        "clock_autopilot_task_exclude_company_rel",
        "task_id",
        "partner_id",
        string="Except Companies",
    )
    include_agent_ids = fields.Many2many(
        "res.partner",
        "clock_autopilot_task_include_agent_rel",
        "task_id",
        "partner_id",
        string="Agents",
    )
    exclude_agent_ids = fields.Many2many(
        "res.partner",
        "clock_autopilot_task_exclude_agent_rel",
        "task_id",
        "partner_id",
        string="Except Agents",
    )

    # What, with which card, how much ------------------------------------------
    operation = fields.Selection(
        [
            ("charge", "Charge"),
            ("hold", "Hold (pre-authorize)"),
            ("release", "Release holds"),
            ("reauthorize", "Re-authorize expiring holds"),
            ("none", "No transaction"),
        ],
        required=True,
        default="charge",
        tracking=True,
        help="No transaction: only the success actions run. Re-authorize: each hold "
        "of the booking expiring within the hours set is renewed by a new hold on "
        "the same card, placed before the old one is released.",
    )
    reauthorize_within_hours = fields.Integer(
        string="Expiring Within (Hours)",
        default=48,
        help="Re-authorize the holds that expire within this many hours of the run.",
    )
    cap_per_booking = fields.Monetary(
        string="Cap per Booking",
        help="The most the task charges or holds on one booking. A booking that "
        "asks for more is not charged: its run stops and the task alerts. "
        "0: no cap.",
    )
    cap_per_run = fields.Monetary(
        string="Cap per Run",
        help="The most the task charges or holds in one run of the Autopilot, all "
        "bookings together. Past it, the bookings are not charged: their runs "
        "stop and the task alerts. 0: no cap.",
    )
    card_choice = fields.Selection(
        [
            ("guest", "Guest card"),
            ("virtual", "Virtual card"),
            ("first", "First card on record"),
        ],
        string="Card to Use",
        required=True,
        default="first",
    )
    amount_basis = fields.Selection(
        [
            (autopilot.BASIS_BALANCE, "Folio balance"),
            (autopilot.BASIS_FIXED, "Fixed amount"),
            (autopilot.BASIS_NIGHTS, "First nights"),
            (autopilot.BASIS_PERCENT_TOTAL, "% of total"),
        ],
        string="Amount",
        tracking=True,
        help="Zero or less means there is nothing to do for the booking.",
    )
    amount_fixed = fields.Monetary(string="Fixed Amount", currency_field="currency_id")
    amount_nights = fields.Integer(string="Nights", default=1)
    nights_group_room = fields.Boolean(string="Room", default=True)
    nights_group_extras = fields.Boolean(string="Extras")
    nights_group_fees = fields.Boolean(string="Fees")
    amount_percent = fields.Float(string="Percentage", default=100.0)

    # After success ------------------------------------------------------------
    success_mark_guaranteed = fields.Boolean(string="Mark Guaranteed")
    success_hide_folio = fields.Boolean(string="Hide Folios from MyBooking")
    success_template_id = fields.Many2one(
        "mail.template",
        string="E-mail the Guest",
        domain=[("model", "=", "clock.reservation")],
    )
    success_activity_type_id = fields.Many2one(
        "mail.activity.type", string="Schedule Activity"
    )
    success_activity_user_id = fields.Many2one(
        "res.users", string="Activity For", domain=[("share", "=", False)]
    )
    success_note = fields.Text(
        string="Chatter Note",
        help="Posted on the booking as an internal note, with the result.",
    )

    # After failure ------------------------------------------------------------
    failure_retries = fields.Integer(
        string="Retries",
        help="How many times a failed attempt is tried again before the failure "
        "actions run.",
    )
    failure_retry_delay_hours = fields.Integer(string="Retry After (hours)", default=24)
    failure_mark_guaranteed = fields.Boolean(string="Failure: Mark Guaranteed")
    failure_hide_folio = fields.Boolean(string="Failure: Hide Folios from MyBooking")
    failure_template_id = fields.Many2one(
        "mail.template",
        string="Failure: E-mail the Guest",
        domain=[("model", "=", "clock.reservation")],
        default=lambda self: self.env.ref(
            "clock_stripe_payment.clock_autopilot_mail_template_failure",
            raise_if_not_found=False,
        ),
        help="The default template carries the MyBooking link to replace the card.",
    )
    failure_activity_type_id = fields.Many2one(
        "mail.activity.type", string="Failure: Schedule Activity"
    )
    failure_activity_user_id = fields.Many2one(
        "res.users", string="Failure: Activity For", domain=[("share", "=", False)]
    )
    failure_note = fields.Text(string="Failure: Chatter Note")
    authentication_template_id = fields.Many2one(
        "mail.template",
        string="Authentication E-mail",
        domain=[("model", "=", "clock.reservation")],
        default=lambda self: self.env.ref(
            "clock_stripe_payment.clock_autopilot_mail_template_authentication",
            raise_if_not_found=False,
        ),
        help="When the bank asks the guest to authenticate the payment, the guest "
        "is sent this e-mail with the MyBooking link instead of a retry.",
    )

    run_ids = fields.One2many("clock.autopilot.run", "task_id", string="Runs")
    run_count = fields.Integer(compute="_compute_run_count")
    trigger_description = fields.Char(
        string="When", compute="_compute_trigger_description"
    )
    timezone_warning = fields.Char(compute="_compute_timezone_warning")

    _sql_constraints = [
        (
            "amount_nights_positive",
            "CHECK(amount_nights >= 0)",
            "The number of nights cannot be negative.",
        ),
        (
            "catch_up_hours_positive",
            "CHECK(catch_up_hours >= 0)",
            "The catch-up grace cannot be negative.",
        ),
        (
            "failure_retries_positive",
            "CHECK(failure_retries >= 0 AND failure_retry_delay_hours >= 0)",
            "Retries and their delay cannot be negative.",
        ),
    ]

    # ------------------------------------------------------------------
    # CRUD: the activation time
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        now = fields.Datetime.now()
        for vals in vals_list:
            if vals.get("active") and not vals.get("activated_at"):
                vals["activated_at"] = now
        return super().create(vals_list)

    def write(self, vals):
        if vals.get("active") and "activated_at" not in vals:
            activated = self.filtered(lambda task: not task.active)
            if activated:
                super(ClockAutopilotTask, activated).write(
                    {**vals, "activated_at": fields.Datetime.now()}
                )
                return super(ClockAutopilotTask, self - activated).write(vals)
        return super().write(vals)

    # ------------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------------

    def _compute_run_count(self):
        counts = dict(
            self.env["clock.autopilot.run"]._read_group(
                [("task_id", "in", self.ids)], ["task_id"], ["__count"]
            )
        )
        for task in self:
            task.run_count = counts.get(task, 0)

    @api.depends("mode", "offset_hours")
    def _compute_trigger_description(self):
        modes = dict(self._fields["mode"]._description_selection(self.env))
        for task in self:
            if not task.mode:
                task.trigger_description = False
                continue
            offset = task.offset_hours
            if task.mode in autopilot.BEFORE_MODES:
                if offset > 0:
                    text = _("%(hours)s h before 12:00", hours=offset)
                elif offset < 0:
                    text = _("%(hours)s h after 12:00", hours=-offset)
                else:
                    text = _("at 12:00")
            else:
                text = _("%(hours)s h after", hours=offset) if offset else _("at once")
            task.trigger_description = f"{modes[task.mode]}: {text}"

    @api.depends("mode", "company_id.partner_id.tz")
    def _compute_timezone_warning(self):
        for task in self:
            task.timezone_warning = task._autopilot_timezone_problem()

    def _autopilot_timezone_problem(self):
        """Why the task's 12:00 anchor cannot be placed, or False."""
        self.ensure_one()
        if self.mode not in autopilot.BEFORE_MODES or self.company_id.partner_id.tz:
            return False
        return _(
            "%(hotel)s has no time zone: 12:00 on the arrival or departure day would "
            "be 12:00 UTC. Set the time zone on the hotel's contact before activating "
            "the task.",
            hotel=self.company_id.name,
        )

    # ------------------------------------------------------------------
    # Constraints
    # ------------------------------------------------------------------

    @api.constrains("active", "mode", "company_id")
    def _check_timezone(self):
        for task in self:
            problem = task.active and task._autopilot_timezone_problem()
            if problem:
                raise ValidationError(
                    _(
                        "Task %(task)s cannot be activated: %(problem)s",
                        task=task.name,
                        problem=problem,
                    )
                )

    @api.constrains("mode", "offset_hours")
    def _check_offset(self):
        modes = dict(self._fields["mode"]._description_selection(self.env))
        for task in self:
            if task.offset_hours < 0 and not autopilot.accepts_negative_offset(
                task.mode
            ):
                raise ValidationError(
                    _(
                        "Task %(task)s: the mode '%(mode)s' is counted from an event "
                        "and cannot have a negative offset. Only 'Up to arrival' and "
                        "'Before departure' accept one (hours after 12:00).",
                        task=task.name,
                        mode=modes[task.mode],
                    )
                )

    @api.constrains(
        "operation",
        "amount_basis",
        "amount_fixed",
        "amount_percent",
        "amount_nights",
        "nights_group_room",
        "nights_group_extras",
        "nights_group_fees",
    )
    def _check_amount(self):
        for task in self:
            if task.operation not in MONEY_OPERATIONS:
                continue
            if not task.amount_basis:
                raise ValidationError(
                    _(
                        "Task %s charges or holds money: choose how the amount is "
                        "computed.",
                        task.name,
                    )
                )
            basis = task.amount_basis
            if basis == autopilot.BASIS_FIXED and task.amount_fixed <= 0:
                raise ValidationError(
                    _("Task %s: the fixed amount must be more than zero.", task.name)
                )
            if basis == autopilot.BASIS_PERCENT_TOTAL and not (
                0 < task.amount_percent <= 100
            ):
                raise ValidationError(
                    _(
                        "Task %s: the percentage must be more than 0 and at most 100.",
                        task.name,
                    )
                )
            if basis == autopilot.BASIS_NIGHTS:
                if task.amount_nights <= 0:
                    raise ValidationError(
                        _("Task %s: count at least one night.", task.name)
                    )
                if not task._autopilot_revenue_groups():
                    raise ValidationError(
                        _(
                            "Task %s: choose the revenue groups the nights are "
                            "counted in.",
                            task.name,
                        )
                    )

    @api.constrains("success_activity_type_id", "failure_activity_type_id")
    def _check_activity_user(self):
        for task in self:
            for prefix in ("success", "failure"):
                if (
                    task[f"{prefix}_activity_type_id"]
                    and not task[f"{prefix}_activity_user_id"]
                ):
                    raise ValidationError(
                        _(
                            "Task %s: choose who the activity is scheduled for.",
                            task.name,
                        )
                    )

    @api.constrains("active", "operation", "company_id")
    def _check_card_provider(self):
        for task in self:
            if not task.active or task.operation == "none":
                continue
            provider = task._autopilot_card_provider()
            if not provider or provider.state not in ("enabled", "test"):
                raise ValidationError(
                    _(
                        "Task %(task)s cannot be activated: %(hotel)s has no enabled "
                        "card payment provider. Set one in Settings > Hotel Payments > "
                        "Card payment provider first.",
                        task=task.name,
                        hotel=task.company_id.name,
                    )
                )

    def _autopilot_card_provider(self):
        """The payment provider that handles the hotel's cards."""
        self.ensure_one()
        return self.company_id.sudo().clock_stripe_card_provider_id

    # ------------------------------------------------------------------
    # Which bookings: domains (the planning runs them as one SQL query per task)
    # ------------------------------------------------------------------

    def _autopilot_revenue_groups(self):
        self.ensure_one()
        return {group for group, fname in REVENUE_GROUP_FIELDS if self[fname]}

    def _autopilot_filter_domain(self):
        """The task's booking filters; an empty filter adds nothing."""
        self.ensure_one()
        domain = []
        statuses = [code for code, fname in GUARANTEE_STATUS_FILTERS if self[fname]]
        if statuses:
            domain.append(("guarantee_status", "in", statuses))
        if self.guarantee_policy_ids:
            domain.append(("guarantee_policy_id", "in", self.guarantee_policy_ids.ids))
        if self.channel_filter == "ota":
            domain.append(("channel", "=", "ota"))
        elif self.channel_filter == "direct":
            domain.append(("channel", "in", DIRECT_CHANNELS))
        if self.card_type_filter:
            domain.append(
                (
                    "card_ids",
                    "any",
                    [
                        ("card_type", "=", self.card_type_filter),
                        ("token_id.active", "=", True),
                    ],
                )
            )
        if self.include_company_partner_ids:
            domain.append(
                ("company_partner_id", "in", self.include_company_partner_ids.ids)
            )
        if self.exclude_company_partner_ids:
            domain.append(
                ("company_partner_id", "not in", self.exclude_company_partner_ids.ids)
            )
        if self.include_agent_ids:
            domain.append(("agent_id", "in", self.include_agent_ids.ids))
        if self.exclude_agent_ids:
            domain.append(("agent_id", "not in", self.exclude_agent_ids.ids))
        return domain

    def _autopilot_match_domain(self):
        """Bookings the task watches: company, states, filters, and a trigger time
        not before the catch-up limit (see :meth:`_autopilot_earliest_trigger`)."""
        self.ensure_one()
        earliest_anchor = autopilot.anchor_for_trigger(
            self.mode, self.offset_hours, self._autopilot_earliest_trigger()
        )
        return [
            ("company_id", "=", self.company_id.id),
            ("state", "in", MODE_STATES[self.mode]),
            (ANCHOR_FIELDS[self.mode], ">=", earliest_anchor),
            *self._autopilot_filter_domain(),
        ]

    def _autopilot_earliest_trigger(self):
        """The earliest trigger time the task acts on: its activation less the
        catch-up grace. A task not active yet counts from now, when activating it
        would (so its preview shows what activating it does)."""
        self.ensure_one()
        return autopilot.earliest_trigger(
            self.activated_at or fields.Datetime.now(), self.catch_up_hours
        )

    def _autopilot_due_domain(self, now, new_only=True):
        """Bookings whose trigger has passed at ``now``.

        :param new_only: also require that the task has no run for the booking yet
        """
        self.ensure_one()
        anchor = ANCHOR_FIELDS[self.mode]
        limit = autopilot.latest_due_anchor(self.mode, self.offset_hours, now)
        domain = [*self._autopilot_match_domain(), (anchor, "<=", limit)]
        if new_only:
            domain.append(("autopilot_run_ids", "not any", [("task_id", "=", self.id)]))
        return domain

    def _autopilot_trigger_time(self, booking):
        """When the task acts (or acted) on ``booking``; None while no anchor."""
        self.ensure_one()
        return autopilot.trigger_time(
            self.mode, self.offset_hours, booking[ANCHOR_FIELDS[self.mode]]
        )

    def _autopilot_due_sql(self, now):
        """SELECT of the bookings due at ``now``: (reservation id, due time)."""
        self.ensure_one()
        query = self.env["clock.reservation"]._search(
            self._autopilot_due_domain(now), order="id"
        )
        anchor = SQL.identifier(query.table, ANCHOR_FIELDS[self.mode])
        sign = SQL("-") if self.mode in autopilot.BEFORE_MODES else SQL("+")
        due_at = SQL(
            "%s %s make_interval(hours => %s)", anchor, sign, self.offset_hours
        )
        return query.select(SQL.identifier(query.table, "id"), due_at)

    # ------------------------------------------------------------------
    # How much, which card (shared by the preview and the run)
    # ------------------------------------------------------------------

    def _autopilot_amount(self, booking, balance=None):
        """The amount the task asks for ``booking``, in the booking's currency.

        :param float balance: the booking's balance to count with (the
            simulator's expected one; default: the balance now)
        """
        self.ensure_one()
        currency = booking.currency_id
        charges = []
        if self.amount_basis == autopilot.BASIS_NIGHTS:
            charges = [
                (line.date, line.revenue_group, line.amount)
                for line in booking.folio_ids.line_ids
                if line.kind == "charge"
            ]
            if not charges and "room" in self._autopilot_revenue_groups():
                # No folio yet (the booking is not confirmed): count the room
                # price of each night, as the deposit rules do.
                charges = [
                    (night, "room", booking.nightly_price)
                    for night in _stay_nights(booking)
                ]
        amount = autopilot.compute_amount(
            self.amount_basis,
            balance=booking._clock_get_balance() if balance is None else balance,
            fixed=self.amount_fixed,
            night_charges=charges,
            arrival=booking.arrival_date,
            nights=self.amount_nights,
            groups=self._autopilot_revenue_groups(),
            total=booking.amount_total,
            percent=self.amount_percent,
            rounding=currency.rounding,
        )
        return booking._clock_to_card_step(amount, currency)

    def _autopilot_prepare(self, booking, balance=None):
        """What the task would do on ``booking`` now, without doing it.

        The preview and the simulator show this and the run acts on it, so they
        agree. ``balance``: see :meth:`_autopilot_amount`.

        :return: dict with ``amount``, ``token`` (payment.token), ``holds``
            (payment.transaction to release) and ``outcome``: ``act`` (go ahead),
            ``skip`` (nothing to do) or ``no_card`` (a failure), with a ``message``.
        """
        self.ensure_one()
        values = {
            "amount": 0.0,
            "token": self.env["payment.token"],
            "holds": self.env["payment.transaction"],
            "outcome": "act",
            "message": "",
        }
        if self.operation in MONEY_OPERATIONS:
            amount = self._autopilot_amount(booking, balance)
            values["amount"] = amount
            if autopilot.nothing_to_do(amount, booking.currency_id.rounding):
                values.update(
                    outcome="skip",
                    message=_(
                        "Nothing to do: the amount is %s.",
                        format_amount(self.env, amount, booking.currency_id),
                    ),
                )
                return values
            token = self.env["clock.reservation.card"]._select_card(
                booking.card_ids, self.card_choice
            )
            values["token"] = token
            if not token:
                choices = dict(
                    self._fields["card_choice"]._description_selection(self.env)
                )
                values.update(
                    outcome="no_card",
                    message=_(
                        "No card to use: the booking has no active card on file "
                        "(card to use: %s).",
                        choices[self.card_choice],
                    ),
                )
        elif self.operation == "release":
            holds = booking._autopilot_active_holds()
            values.update(holds=holds, amount=sum(holds.mapped("amount")))
            if not holds:
                values.update(outcome="skip", message=_("No hold to release."))
        elif self.operation == "reauthorize":
            holds = booking._clock_holds_expiring_within(self.reauthorize_within_hours)
            values.update(holds=holds, amount=sum(holds.mapped("amount")))
            if not holds:
                values.update(
                    outcome="skip",
                    message=_(
                        "No hold expires within %s hours.",
                        self.reauthorize_within_hours,
                    ),
                )
        return values

    def _autopilot_cap_problem(self, booking, amount, moved_in_run=0.0):
        """Why moving ``amount`` on ``booking`` goes past a cap of the task.

        :param float amount: in the booking's currency
        :param float moved_in_run: what the task already moved in this run, in
            the task's currency
        :return: the reason, or None when no cap is passed
        """
        self.ensure_one()
        currency = self.currency_id
        if booking.currency_id != currency:
            amount = booking.currency_id._convert(
                amount, currency, self.company_id, fields.Date.today()
            )
        rounding = currency.rounding
        if autopilot.over_cap(amount, self.cap_per_booking, rounding=rounding):
            return _(
                "%(amount)s is above the task's cap of %(cap)s per booking.",
                amount=format_amount(self.env, amount, currency),
                cap=format_amount(self.env, self.cap_per_booking, currency),
            )
        if autopilot.over_cap(amount, self.cap_per_run, moved_in_run, rounding):
            return _(
                "%(amount)s would take this run past the task's cap of %(cap)s per "
                "run (%(moved)s already moved).",
                amount=format_amount(self.env, amount, currency),
                cap=format_amount(self.env, self.cap_per_run, currency),
                moved=format_amount(self.env, moved_in_run, currency),
            )
        return None

    def _autopilot_hold_problem(self, token, when):
        """Why ``token`` cannot be held at ``when`` (None: it can)."""
        self.ensure_one()
        if not token.provider_id.support_manual_capture:
            return _("its provider cannot place holds")
        year, month = token.clock_stripe_exp_year, token.clock_stripe_exp_month
        if year and month:
            expiry = date(year + month // 12, month % 12 + 1, 1)
            if expiry <= when.date():
                return _("the card has expired by then")
        return None

    # ------------------------------------------------------------------
    # Simulator
    # ------------------------------------------------------------------

    def _autopilot_simulate(self, date_from, date_to, bookings=None):
        """Every operation the tasks ``self`` (active or not) would make from
        ``date_from`` to ``date_to``, per booking, with the expected balance and
        held amount after each step and the overlaps flagged.

        The cron's own planning answers each question: which bookings are due for
        a task by ``date_to`` and not run yet (:meth:`_autopilot_due_domain`),
        when (:meth:`_autopilot_trigger_time`), how much and which card
        (:meth:`_autopilot_prepare`, on the balance the earlier steps leave), and
        the caps (:meth:`_autopilot_cap_problem`). Steps come in the cron's order
        (trigger time, then task order). Triggers already passed are counted when
        the period starts now or earlier: the next cron run takes them.

        :param bookings: only these bookings (default: all)
        :return: one dict of ``clock.autopilot.simulation.line`` values per step
        """
        now = fields.Datetime.now()
        planned = defaultdict(list)
        for position, task in enumerate(self.sorted()):
            domain = task._autopilot_due_domain(date_to)
            if bookings is not None:
                domain = [("id", "in", bookings.ids), *domain]
            for booking in self.env["clock.reservation"].search(domain):
                when = task._autopilot_trigger_time(booking)
                if when < date_from and date_from > now:
                    continue  # Taken by a cron run before the period.
                planned[booking].append((when, position, task))
        lines = []
        for booking, steps in planned.items():
            lines += self._autopilot_simulate_booking(
                booking, sorted(steps, key=lambda step: step[:2])
            )
        return lines

    @api.model
    def _autopilot_simulate_booking(self, booking, steps):
        """The simulator's lines of one booking: ``steps`` are ``(when, position,
        task)`` in the cron's order."""
        rounding = booking.currency_id.rounding
        balance = booking._clock_get_balance()
        held = sum(
            booking._clock_to_currency(hold, hold._clock_get_remaining_hold())
            for hold in booking._autopilot_active_holds()
        )
        flag_labels = {
            autopilot.FLAG_OVERLAP: _("another task charges the same balance"),
            autopilot.FLAG_HOLD_COVERS: _("a hold already covers this charge"),
            autopilot.FLAG_OVER_CAP: _("over the task's cap"),
        }
        charged = False
        lines = []
        for sequence, (when, _position, task) in enumerate(steps):
            values = task._autopilot_prepare(booking, balance=balance)
            outcome, amount = values["outcome"], values["amount"]
            if task.operation == "release":
                # Holds placed earlier in the simulation are released too.
                outcome, amount = ("act", held) if held else ("skip", 0.0)
            problems = []
            if outcome == "act" and task.operation in MONEY_OPERATIONS:
                cap_problem = task._autopilot_cap_problem(booking, amount)
                if cap_problem:
                    outcome = "over_cap"
                    values["message"] = cap_problem
                    problems.append(flag_labels[autopilot.FLAG_OVER_CAP])
            acting = outcome == "act"
            balance, held, flags = autopilot.simulate_step(
                task.operation,
                amount if acting else 0.0,
                balance,
                held,
                charged,
                rounding,
            )
            problems += [flag_labels[flag] for flag in flags]
            if task.operation == "hold" and values["token"]:
                hold_problem = task._autopilot_hold_problem(values["token"], when)
                if hold_problem:
                    problems.append(_("the card cannot be held: %s", hold_problem))
            charged = charged or (acting and task.operation == "charge")
            lines.append(
                {
                    "sequence": sequence,
                    "reservation_id": booking.id,
                    "when": when,
                    "task_id": task.id,
                    "task_active": task.active,
                    "operation": task.operation,
                    "amount": amount,
                    "token_id": values["token"].id,
                    "balance_after": balance,
                    "held_after": held,
                    "outcome": outcome,
                    "flags": "; ".join(problems) or False,
                    "message": values["message"],
                }
            )
        return lines

    # ------------------------------------------------------------------
    # Preview
    # ------------------------------------------------------------------

    def _autopilot_preview_lines(self, now=None):
        """What the next run would do: one dict per booking, changing nothing."""
        self.ensure_one()
        now = now or fields.Datetime.now()
        rows = self.env.execute_query(self._autopilot_due_sql(now))
        bookings = self.env["clock.reservation"].browse([row[0] for row in rows])
        lines = []
        for (booking_id, due_at), booking in zip(rows, bookings, strict=True):
            values = self._autopilot_prepare(booking)
            lines.append(
                {
                    "reservation_id": booking_id,
                    "due_at": due_at,
                    "amount": values["amount"],
                    "token_id": values["token"].id,
                    "outcome": values["outcome"],
                    "message": values["message"],
                }
            )
        return lines

    def action_preview(self):
        self.ensure_one()
        wizard = self.env["clock.autopilot.preview"].create(
            {
                "task_id": self.id,
                "line_ids": [
                    fields.Command.create(line)
                    for line in self._autopilot_preview_lines()
                ],
            }
        )
        return {
            "type": "ir.actions.act_window",
            "name": _("Preview: %s", self.name),
            "res_model": "clock.autopilot.preview",
            "res_id": wizard.id,
            "view_mode": "form",
            "target": "new",
        }

    def action_view_runs(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "clock_stripe_payment.clock_autopilot_run_action"
        )
        action["domain"] = [("task_id", "=", self.id)]
        action["context"] = {}
        return action

    # ------------------------------------------------------------------
    # Cron
    # ------------------------------------------------------------------

    @api.model
    def _cron_run_autopilot(self, batch_size=100):
        """Plan and process the due (task, booking) pairs of every active task.

        Reconcile the runs a crash or a timeout left in doubt, plan (one INSERT ...
        SELECT per task, whatever the number of bookings), wake the charging
        workers (:meth:`_cron_autopilot_charge`) when runs are due, then process
        one batch like them.
        """
        runs = self.env["clock.autopilot.run"]
        now = fields.Datetime.now()
        runs._autopilot_reconcile(now)
        self.search([])._autopilot_plan(now)
        runs._autopilot_commit()
        # The planned rows are committed: the other workers may now take some.
        if runs._autopilot_runnable_count(now) > 1:
            for cron in self._autopilot_worker_crons():
                cron._trigger()
        return self._autopilot_process_batch(now, batch_size)

    @api.model
    def _cron_autopilot_charge(self, batch_size=100):
        """Entry point of the extra Autopilot workers: process due runs only.

        Each worker is a scheduled action of its own, so that Odoo's cron threads
        (on one or more servers sharing the database) run them side by side; the
        main action plans and wakes them.
        """
        return self._autopilot_process_batch(fields.Datetime.now(), batch_size)

    @api.model
    def _autopilot_worker_crons(self):
        """The scheduled actions of the extra workers (copies of one count too)."""
        return (
            self.env["ir.cron"]
            .sudo()
            .search(
                [
                    ("model_id.model", "=", self._name),
                    ("code", "like", "_cron_autopilot_charge("),
                ]
            )
        )

    @api.model
    def _autopilot_process_batch(self, now, batch_size):
        """Process up to ``batch_size`` runs, committing per booking, and report
        the progress so that the cron runs again at once while work remains.

        The runs are claimed one at a time (:meth:`clock.autopilot.run.
        _autopilot_claim_next`): workers running this at the same time share the
        queue, and each run is acted on by one of them.
        """
        runs = self.env["clock.autopilot.run"]
        done = 0
        tried = []
        due_domains = {}
        full = True
        for _attempt in range(batch_size):
            run = runs._autopilot_claim_next(now, tried)
            if run is None:
                # Another worker changed a candidate since this transaction
                # began: ask again in a new one.
                continue
            if not run:
                full = False
                break
            tried.append(run.id)
            try:
                if run._autopilot_process(now, claimed=True, due_domains=due_domains):
                    done += 1
            except Exception as error:
                # Unexpected (a bug, the database): keep what was committed, log,
                # and go on with the next booking.
                _logger.exception("Autopilot: run %s failed", run.id)
                runs._autopilot_rollback()
                if not isinstance(error, psycopg2.OperationalError):
                    run._autopilot_record_crash(error)
        remaining = full and runs._autopilot_runnable_count(fields.Datetime.now())
        self.env["ir.cron"]._notify_progress(done=done, remaining=remaining or 0)
        return done

    def _autopilot_plan(self, now):
        """Create a ``planned`` run for every booking due at ``now`` and not run yet.

        One INSERT ... SELECT per task: the number of queries does not depend on the
        number of bookings. ``ON CONFLICT DO NOTHING`` on (task, booking) makes two
        workers planning at once harmless.
        """
        runs = self.env["clock.autopilot.run"]
        runs.flush_model()
        inserted = 0
        for task in self:
            try:
                with self.env.cr.savepoint(flush=False):
                    inserted += task._autopilot_insert_runs(now)
            except psycopg2.errors.SerializationFailure:
                # Another worker planned the same bookings since this transaction
                # began: its rows stand, nothing is lost.
                _logger.info("Autopilot: task %s planned by another worker", task.id)
        if inserted:
            runs.invalidate_model()
            self.env["clock.reservation"].invalidate_model(["autopilot_run_ids"])
        return inserted

    def _autopilot_insert_runs(self, now):
        self.ensure_one()
        task = self
        select = task._autopilot_due_sql(now)
        rows = self.env["clock.autopilot.run"]._autopilot_execute_quietly(
            SQL(
                """
                    INSERT INTO clock_autopilot_run (
                        task_id, reservation_id, company_id, due_at, operation,
                        state, retries, create_uid, create_date, write_uid,
                        write_date
                    )
                    SELECT %(task)s, due.id, %(company)s, due.due_at,
                           %(operation)s, 'planned', 0, %(uid)s,
                           %(now)s, %(uid)s, %(now)s
                      FROM (%(select)s) AS due(id, due_at)
                    ON CONFLICT (task_id, reservation_id) DO NOTHING
                    RETURNING id
                    """,
                task=task.id,
                company=task.company_id.id,
                operation=task.operation,
                uid=self.env.uid,
                now=now,
                select=select,
            )
        )
        return len(rows)


def _stay_nights(booking):
    return [booking.arrival_date + timedelta(days=n) for n in range(booking.nights)]
