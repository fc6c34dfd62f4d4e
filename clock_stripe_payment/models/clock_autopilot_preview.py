from odoo import fields, models


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
