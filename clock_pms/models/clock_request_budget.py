"""Budgets of what a public visitor may do in a day, kept in the database.

A script on the public pages can book rooms, send mails or try stolen cards by
the thousand. Each such attempt is counted here under a key (a client address,
an e-mail address, a booking) so that the count holds across workers and
restarts; past its budget the attempt is refused.
"""

from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL


class ClockRequestBudget(models.Model):
    _name = "clock.request.budget"
    _description = "Public Request Attempt"
    _log_access = False
    _order = "id"

    kind = fields.Char(required=True, help="What was attempted (booking, card...).")
    key = fields.Char(required=True, help="Who or what it is counted for.")
    at = fields.Datetime(required=True, default=fields.Datetime.now)

    def init(self):
        self.env.cr.execute(
            SQL(
                "CREATE INDEX IF NOT EXISTS clock_request_budget_kind_key_at_idx "
                "ON %s (kind, key, at)",
                SQL.identifier(self._table),
            )
        )

    @api.model
    def _clock_get_limit(self, param, default):
        """The budget of system parameter ``param`` (``default`` when unset or
        not a number; 0 or less turns the budget off)."""
        value = self.env["ir.config_parameter"].sudo().get_param(param)
        try:
            return int(value) if value not in (None, False, "") else default
        except ValueError:
            return default

    @api.model
    def _clock_spend(self, kind, budgets, hours=24):
        """Count one attempt of ``kind`` for each key of ``budgets``.

        :param dict budgets: ``{key: limit}``; a limit of 0 or less has no budget
        :return: False, counting nothing, when a key has spent its budget in the
            last ``hours`` hours; True otherwise
        """
        budgets = {key: limit for key, limit in budgets.items() if key and limit > 0}
        if not budgets:
            return True
        cr = self.env.cr
        for key in sorted(budgets):
            # One attempt at a time per key, whichever worker serves it.
            cr.execute(
                SQL("SELECT pg_advisory_xact_lock(hashtext(%s))", f"{kind}:{key}")
            )
        since = fields.Datetime.now() - timedelta(hours=hours)
        budget_sudo = self.sudo()
        for key, limit in budgets.items():
            spent = budget_sudo.search_count(
                [("kind", "=", kind), ("key", "=", key), ("at", ">=", since)]
            )
            if spent >= limit:
                return False
        budget_sudo.create([{"kind": kind, "key": key} for key in budgets])
        return True

    @api.autovacuum
    def _gc_old_attempts(self):
        self.sudo().search(
            [("at", "<", fields.Datetime.now() - timedelta(days=2))]
        ).unlink()
