# Part of clock_stripe_payment. License LGPL-3.

import time

import psycopg2.errors

from odoo import fields, models
from odoo.tools import SQL

#: The database's clock, in UTC like Odoo's datetime columns: one clock for the
#: workers of every server.
DB_NOW = SQL("(clock_timestamp() AT TIME ZONE 'UTC')")


class ClockStripeRequestBudget(models.Model):
    """When the next request to one Stripe account may leave.

    Every request to the account takes the next free slot; slots are ``1 / rate``
    seconds apart on the database's clock, so the workers of every Odoo server
    sharing the database stay together under the account's ceiling. A ``429``
    answer moves the next slot to the end of its ``Retry-After``.

    The row is changed in a short transaction of its own (:class:`RequestBudget`),
    never in the worker's: its lock is held for one statement.
    """

    _name = "clock.stripe.request.budget"
    _description = "Stripe Request Budget"
    _log_access = False
    _rec_name = "account"

    account = fields.Char(
        required=True,
        readonly=True,
        help="The Stripe account id, or the provider when it is not known.",
    )
    next_request_at = fields.Datetime(readonly=True)

    _sql_constraints = [
        ("account_uniq", "unique(account)", "A Stripe account has one budget."),
    ]


class RequestBudget:
    """The request budget a :class:`~..stripe_api.ClockStripeClient` applies.

    :param registry: the database's registry (each step opens a cursor of its own)
    :param str account: the budget's key (one per Stripe account)
    :param int rate: the ceiling, in requests per second
    """

    def __init__(self, registry, account, rate):
        self.registry = registry
        self.account = account
        self.step = 1.0 / rate

    def _take(self, query):
        """Run ``query`` in a transaction of its own, committed at once."""
        with self.registry.cursor() as cr:
            while True:
                try:
                    cr.execute(query, log_exceptions=False)
                    return cr.fetchone()[0]
                except psycopg2.errors.SerializationFailure:
                    # Another worker took a slot since this transaction began:
                    # it progressed; try again in a new transaction.
                    cr.rollback()

    def _upsert(self, first, update, returning):
        return self._take(
            SQL(
                "INSERT INTO clock_stripe_request_budget AS budget "
                "(account, next_request_at) VALUES (%s, %s) "
                "ON CONFLICT (account) DO UPDATE SET next_request_at = %s "
                "RETURNING %s",
                self.account,
                first,
                update,
                returning,
            )
        )

    def reserve(self):
        """Take the account's next slot; return the seconds to wait for it."""
        step = SQL("%s * interval '1 second'", self.step)
        return self._upsert(
            SQL("%s + %s", DB_NOW, step),
            SQL("GREATEST(budget.next_request_at, %s) + %s", DB_NOW, step),
            SQL(
                "EXTRACT(EPOCH FROM budget.next_request_at - %s - %s)::float",
                step,
                DB_NOW,
            ),
        )

    def wait(self):
        """Wait for the account's next slot (called before each request)."""
        delay = self.reserve()
        if delay > 0:
            time.sleep(delay)

    def hold_off(self, seconds):
        """No request to the account for ``seconds`` (a ``429``'s Retry-After).

        :return: when requests may leave again (naive UTC datetime)
        """
        until = SQL("%s + %s * interval '1 second'", DB_NOW, seconds)
        return self._upsert(
            until,
            SQL("GREATEST(budget.next_request_at, %s)", until),
            SQL("budget.next_request_at"),
        )

    def next_request_at(self):
        """When the account's next request may leave (naive UTC datetime)."""
        return self._take(
            SQL(
                "SELECT GREATEST(MAX(next_request_at), %s) "
                "FROM clock_stripe_request_budget WHERE account = %s",
                DB_NOW,
                self.account,
            )
        )
