from datetime import timedelta

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError


class ClockAutopilotPreview(models.TransientModel):
    """The bookings the next run of a task would process, with amount and card.

    Filled by :meth:`clock.autopilot.task._autopilot_preview_lines`, the same code
    the run uses; nothing is changed or sent.
    """

    _name = "clock.autopilot.preview"
    _description = "Payment Autopilot Preview"

    task_id = fields.Many2one(
        "clock.autopilot.task",
        required=True,
        ondelete="cascade",
        readonly=True,
        context={"active_test": False},
    )
    line_ids = fields.One2many(
        "clock.autopilot.preview.line", "preview_id", string="Bookings", readonly=True
    )
    currency_id = fields.Many2one(related="task_id.currency_id")
    booking_count = fields.Integer(compute="_compute_totals")
    amount_total = fields.Monetary(string="Total", compute="_compute_totals")

    def _compute_totals(self):
        for preview in self:
            acting = preview.line_ids.filtered(lambda line: line.outcome == "act")
            preview.booking_count = len(preview.line_ids)
            preview.amount_total = sum(acting.mapped("amount"))


class ClockAutopilotPreviewLine(models.TransientModel):
    _name = "clock.autopilot.preview.line"
    _description = "Payment Autopilot Preview Line"
    _order = "due_at, id"

    preview_id = fields.Many2one(
        "clock.autopilot.preview", required=True, ondelete="cascade"
    )
    reservation_id = fields.Many2one(
        "clock.reservation", string="Booking", readonly=True
    )
    partner_id = fields.Many2one(related="reservation_id.partner_id", string="Guest")
    arrival_date = fields.Date(related="reservation_id.arrival_date")
    due_at = fields.Datetime(string="Due", readonly=True)
    amount = fields.Monetary(readonly=True)
    currency_id = fields.Many2one(related="reservation_id.currency_id")
    token_id = fields.Many2one(
        "payment.token", string="Card", readonly=True, context={"active_test": False}
    )
    outcome = fields.Selection(
        [
            ("act", "Would act"),
            ("skip", "Nothing to do"),
            ("no_card", "No card: fails"),
        ],
        readonly=True,
    )
    message = fields.Char(readonly=True)


class ClockAutopilotSimulation(models.TransientModel):
    """Every active and draft task's planned operations per booking over a period,
    with the expected balance after each step and the overlaps flagged.

    Filled by :meth:`clock.autopilot.task._autopilot_simulate`, which asks the
    cron's own planning code (due bookings, trigger times, amounts and cards);
    nothing is changed or sent.
    """

    _name = "clock.autopilot.simulation"
    _description = "Payment Autopilot Simulator"

    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    date_from = fields.Datetime(
        string="From", required=True, default=fields.Datetime.now
    )
    date_to = fields.Datetime(
        string="To",
        required=True,
        default=lambda self: fields.Datetime.now() + timedelta(days=7),
    )
    reservation_ids = fields.Many2many(
        "clock.reservation",
        string="Bookings",
        domain="[('company_id', '=', company_id)]",
        help="Empty: every booking of the hotel.",
    )
    line_ids = fields.One2many(
        "clock.autopilot.simulation.line",
        "simulation_id",
        string="Planned Operations",
        readonly=True,
    )
    overlap_count = fields.Integer(string="Overlaps", compute="_compute_overlap_count")

    @api.depends("line_ids.flags")
    def _compute_overlap_count(self):
        for simulation in self:
            simulation.overlap_count = len(simulation.line_ids.filtered("flags"))

    def action_simulate(self):
        self.ensure_one()
        if self.date_to < self.date_from:
            raise UserError(_("The end of the period is before its start."))
        tasks = (
            self.env["clock.autopilot.task"]
            .with_context(active_test=False)
            .search([("company_id", "=", self.company_id.id)])
        )
        lines = tasks._autopilot_simulate(
            self.date_from, self.date_to, self.reservation_ids or None
        )
        self.line_ids = [Command.clear()] + [Command.create(line) for line in lines]
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
        }


class ClockAutopilotSimulationLine(models.TransientModel):
    _name = "clock.autopilot.simulation.line"
    _description = "Payment Autopilot Simulator Step"
    _order = "reservation_id, when, sequence, id"

    simulation_id = fields.Many2one(
        "clock.autopilot.simulation", required=True, ondelete="cascade"
    )
    sequence = fields.Integer()
    reservation_id = fields.Many2one(
        "clock.reservation", string="Booking", readonly=True
    )
    when = fields.Datetime(readonly=True)
    task_id = fields.Many2one(
        "clock.autopilot.task", readonly=True, context={"active_test": False}
    )
    task_active = fields.Boolean(string="Active Task", readonly=True)
    operation = fields.Selection(
        selection=lambda self: self.env["clock.autopilot.task"]
        ._fields["operation"]
        ._description_selection(self.env),
        readonly=True,
    )
    amount = fields.Monetary(readonly=True)
    currency_id = fields.Many2one(related="reservation_id.currency_id")
    token_id = fields.Many2one(
        "payment.token", string="Card", readonly=True, context={"active_test": False}
    )
    balance_after = fields.Monetary(readonly=True)
    held_after = fields.Monetary(readonly=True)
    outcome = fields.Selection(
        [
            ("act", "Would act"),
            ("skip", "Nothing to do"),
            ("no_card", "No card: fails"),
            ("over_cap", "Over the cap: stops"),
        ],
        readonly=True,
    )
    flags = fields.Char(string="Overlaps", readonly=True)
    message = fields.Char(readonly=True)
