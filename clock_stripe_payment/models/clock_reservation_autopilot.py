from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError

from .. import autopilot


class ClockReservation(models.Model):
    """The Payment Autopilot's view of a booking.

    Planning compares a stored anchor per mode with "now ± offset" in SQL, so every
    anchor a mode needs is a stored, indexed column: the 12:00 anchors depend on the
    hotel's time zone and are computed here; creation, check-in and check-out times
    are already stored by the core.
    """

    # Kept apart from the payment flows' extension: the Autopilot's own file.
    # pylint: disable-next=consider-merging-classes-inherited
    _inherit = "clock.reservation"

    autopilot_arrival_noon_at = fields.Datetime(
        string="Arrival Day Noon",
        compute="_compute_autopilot_noon_anchors",
        store=True,
        index=True,
        help="12:00 on the arrival day in the hotel's time zone: the anchor of the "
        "Autopilot's 'up to arrival' mode.",
    )
    autopilot_departure_noon_at = fields.Datetime(
        string="Departure Day Noon",
        compute="_compute_autopilot_noon_anchors",
        store=True,
        index=True,
        help="12:00 on the departure day in the hotel's time zone: the anchor of "
        "the Autopilot's 'before departure' mode.",
    )
    autopilot_cancelled_at = fields.Datetime(
        string="Cancelled or No-show At",
        compute="_compute_autopilot_cancelled_at",
        store=True,
        index=True,
    )
    autopilot_run_ids = fields.One2many(
        "clock.autopilot.run", "reservation_id", string="Autopilot History"
    )
    autopilot_busy_run_id = fields.Many2one(
        "clock.autopilot.run",
        string="Autopilot Run in Progress",
        readonly=True,
        copy=False,
        ondelete="set null",
        help="The last Autopilot run that moved money on the booking; while it is "
        "running or its outcome is unknown, no other run moves money here.",
    )
    autopilot_next_task_id = fields.Many2one(
        "clock.autopilot.task",
        string="Next Autopilot Task",
        compute="_compute_autopilot_next_action",
    )
    autopilot_next_action_at = fields.Datetime(
        string="Next Autopilot Action At",
        compute="_compute_autopilot_next_action",
    )
    autopilot_next_action = fields.Char(
        string="Next Autopilot Action",
        compute="_compute_autopilot_next_action",
    )

    @api.depends("arrival_date", "departure_date", "company_id.partner_id.tz")
    def _compute_autopilot_noon_anchors(self):
        for booking in self:
            tz_name = booking.company_id.partner_id.tz or "UTC"
            booking.autopilot_arrival_noon_at = autopilot.local_noon_utc(
                booking.arrival_date, tz_name
            )
            booking.autopilot_departure_noon_at = autopilot.local_noon_utc(
                booking.departure_date, tz_name
            )

    @api.depends("cancelled_at", "no_show_at")
    def _compute_autopilot_cancelled_at(self):
        for booking in self:
            booking.autopilot_cancelled_at = booking.cancelled_at or booking.no_show_at

    @api.depends_context("uid")
    def _compute_autopilot_next_action(self):
        """The earliest trigger still ahead among the active tasks matching the booking.

        A trigger already passed and not yet acted on is shown too: the next cron run
        takes it.
        """
        self.autopilot_next_task_id = False
        self.autopilot_next_action_at = False
        self.autopilot_next_action = False
        bookings = self.filtered("id")
        if not bookings:
            return
        tasks = self.env["clock.autopilot.task"].search(
            [("company_id", "in", bookings.company_id.ids)]
        )
        best = {}
        for task in tasks:
            matching = bookings.search(
                [("id", "in", bookings.ids), *task._autopilot_match_domain()]
            )
            done = set(
                self.env["clock.autopilot.run"]
                .search(
                    [("task_id", "=", task.id), ("reservation_id", "in", matching.ids)]
                )
                .reservation_id.ids
            )
            for booking in matching:
                if booking.id in done:
                    continue
                when = task._autopilot_trigger_time(booking)
                if when and (booking.id not in best or when < best[booking.id][0]):
                    best[booking.id] = (when, task)
        operations = dict(
            self.env["clock.autopilot.task"]
            ._fields["operation"]
            ._description_selection(self.env)
        )
        for booking in bookings:
            if booking.id not in best:
                continue
            when, task = best[booking.id]
            booking.autopilot_next_task_id = task
            booking.autopilot_next_action_at = when
            booking.autopilot_next_action = _(
                "%(operation)s (%(task)s)",
                operation=operations[task.operation],
                task=task.name,
            )

    # ------------------------------------------------------------------
    # Money, through the hotel payment flows
    # ------------------------------------------------------------------

    def _autopilot_active_holds(self):
        """The booking's holds that are still open (what a release task voids)."""
        self.ensure_one()
        return self.sudo().transaction_ids._clock_filter_active_holds()

    def _autopilot_create_transaction(self, token, amount, hold=False):
        """Create, without sending it, the transaction of a charge or a hold.

        Same checks and values as :meth:`_clock_charge`, which creates *and* sends:
        the Autopilot commits the transaction (and its reference, from which the
        provider derives the idempotency key) before anything reaches Stripe.

        :return: the draft ``offline`` transaction
        :raise UserError: archived or foreign card, non-positive amount, inactive
            provider
        """
        self.ensure_one()
        self._clock_check_payment_access()
        booking = self.sudo()
        token = token.sudo()
        folio = booking._clock_get_default_folio().sudo()
        currency = folio.currency_id or booking.currency_id
        booking._clock_check_amount(amount, currency)
        if not token.exists() or not token.active:
            raise UserError(_("This card is archived: it cannot be charged."))
        if token not in booking.card_ids.token_id:
            raise UserError(
                _(
                    "The card %(card)s is not on file for %(booking)s.",
                    card=token.display_name,
                    booking=booking.name,
                )
            )
        provider = token.provider_id
        booking._clock_check_provider(provider)
        if hold and not provider.support_manual_capture:
            raise UserError(
                _("The provider %s cannot place holds on cards.", provider.name)
            )
        transactions = self.env["payment.transaction"]
        return transactions.sudo().create(
            {
                "provider_id": provider.id,
                "payment_method_id": token.payment_method_id.id,
                "amount": currency.round(amount),
                "currency_id": currency.id,
                "partner_id": token.partner_id.id,
                "token_id": token.id,
                "operation": "offline",
                "clock_reservation_ids": [Command.set(booking.ids)],
                "clock_folio_ids": [Command.set(folio.ids)],
                **transactions._clock_get_hold_values(hold),
            }
        )

    # ------------------------------------------------------------------
    # Card retention
    # ------------------------------------------------------------------

    def _clock_cards_still_needed(self):
        """Keep the cards while an Autopilot task may still charge or hold them:
        an unfinished run of such a task, or an active one that matches the booking
        and has not acted on it yet (e.g. a cancellation fee a day after)."""
        if super()._clock_cards_still_needed():
            return True
        booking = self.sudo()
        money = ("charge", "hold")
        if booking.autopilot_run_ids.filtered(
            lambda run: run.operation in money
            and run.state in ("planned", "running", "retry", "unknown")
        ):
            return True
        tasks = (
            self.env["clock.autopilot.task"]
            .sudo()
            .search(
                [
                    ("company_id", "=", booking.company_id.id),
                    ("operation", "in", money),
                ]
            )
        )
        return any(
            booking.search_count(
                [
                    ("id", "=", booking.id),
                    *task._autopilot_match_domain(),
                    ("autopilot_run_ids", "not any", [("task_id", "=", task.id)]),
                ],
                limit=1,
            )
            for task in tasks
        )
