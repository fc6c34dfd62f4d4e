"""Adversarial method suite: every public method of clock_pms and
clock_stripe_payment (on their own models and on the framework models they
extend), called as RPC calls it by a portal guest, the public user and the staff
of another hotel, on records that are not theirs.

Routes are not the only door: RPC refuses only the methods whose name starts with
``_`` or that carry ``@api.private``, and ``call_kw`` runs any other one on the
ids the caller gives. Each call must be refused with a clear error, or answer
without a booking link, a token or another guest's data; nothing may be created,
changed or sent to Stripe. The table must cover every such method: a new public
method without a row fails the suite.
"""

import logging

from odoo.api import call_kw
from odoo.exceptions import (
    AccessError,
    MissingError,
    UserError,
    ValidationError,
)
from odoo.service.model import get_public_method
from odoo.tests import tagged
from odoo.tools import mute_logger

from .adversarial_common import AdversarialWorldCommon
from .common import STRIPE_DOUBLE_URL
from .hotel_common import MUTE

_logger = logging.getLogger(__name__)

OUR_MODULES = ("odoo.addons.clock_pms.", "odoo.addons.clock_stripe_payment.")
# Errors that carry a message for the caller (RPC shows them, no traceback).
CLEAR_ERRORS = (AccessError, MissingError, UserError, ValidationError)
# Models whose records a hostile call must neither create nor delete.
COUNTED = (
    "payment.transaction",
    "payment.token",
    "payment.provider",
    "account.payment",
    "res.partner",
    "clock.reservation",
    "clock.reservation.card",
    "clock.folio",
    "clock.folio.line",
    "clock.autopilot.task",
    "clock.autopilot.run",
    "clock.autopilot.preview.line",
    "clock.autopilot.simulation.line",
    "clock.stripe.event",
    "mail.activity",
    "mail.message",
    "mail.mail",
)


def public_methods(env):
    """``{(model, method)}``: the methods of our addons' classes that RPC lets any
    signed-in user call (see ``odoo.service.model.get_public_method``)."""
    methods = set()
    for model_name in env.registry:
        model = env[model_name]
        for cls in type(model).__mro__:
            if not cls.__module__.startswith(OUR_MODULES):
                continue
            for name, member in vars(cls).items():
                if name.startswith("_") or not callable(member):
                    continue
                try:
                    get_public_method(model, name)
                except AccessError:
                    continue  # @api.private here or in a parent class
                methods.add((model_name, name))
    return methods


def call(label, records, *args, **kwargs):
    """A row's call: ``records`` are the ids it is made on (ignored by the
    ``@api.model`` methods, which take none)."""
    return label, records, args, kwargs


@tagged("post_install", "-at_install")
class TestAdversarialMethods(AdversarialWorldCommon):
    # === The table === #

    def _cases(self):
        """``{(model, method): [call(label, records, *args, **kwargs)]}``: the calls
        each caller makes of each public method."""
        booking, folio, card, token = self.booking, self.folio, self.card, self.token
        hold, payment, task = self.hold, self.payment, self.task
        both = self.own_booking | booking
        new_booking = {
            "partner_id": self.foreigner.id,
            "room_type_id": self.room_type.id,
            **self.stay,
        }
        wizard_rows = {
            "action_clock_send_card_link",
            "action_clock_charge",
            "action_clock_hold",
            "action_clock_capture",
            "action_clock_release",
            "action_clock_refund",
            "action_clock_view_transactions",
        }
        cases = {
            ("clock.reservation", "create"): [
                call(
                    "a booking at the hotel",
                    None,
                    [{**new_booking, "company_id": self.hotel.id}],
                ),
                call(
                    "an own booking of the hotel's room",
                    None,
                    [{**new_booking, "company_id": self.elsewhere.id}],
                ),
            ],
            ("clock.reservation", "action_confirm"): [
                call("a draft booking", self.draft)
            ],
            ("clock.reservation", "action_check_in"): [
                call("a confirmed booking", booking)
            ],
            ("clock.reservation", "action_check_out"): [
                call("a guest in the house", self.staying)
            ],
            ("clock.reservation", "action_cancel"): [
                call("a confirmed booking", booking),
                call("an own booking and the hotel's", both),
            ],
            ("clock.reservation", "action_mark_no_show"): [
                call("a confirmed booking", booking)
            ],
            ("clock.reservation", "action_mark_guaranteed"): [
                call("a draft booking", self.draft)
            ],
            ("clock.reservation", "action_view_folios"): [
                call("a confirmed booking", booking)
            ],
            **{
                ("clock.reservation", method): [call("a card on file", booking)]
                for method in wizard_rows
                | {"action_clock_raise_hold", "action_clock_renew_hold"}
            },
            **{
                ("clock.folio", method): [call("a guest's folio", folio)]
                for method in wizard_rows
            },
            ("clock.folio.line", "create"): [
                call(
                    "a charge on the guest's folio",
                    None,
                    [
                        {
                            "folio_id": folio.id,
                            "name": "Minibar",
                            "revenue_group": "extras",
                            "amount": -500.0,
                        }
                    ],
                ),
                call(
                    "an own folio's payment from the guest's transaction",
                    None,
                    [
                        {
                            "folio_id": self.own_booking.folio_ids.id,
                            "name": "Paid",
                            "kind": "payment",
                            "amount": 1.0,
                            "payment_transaction_id": payment.id,
                        }
                    ],
                ),
            ],
            ("clock.folio.line", "write"): [
                call("a room charge", self.charge_line, {"amount": 0.0}),
                call("a card payment", self.payment_line, {"amount": 0.0}),
            ],
            ("clock.reservation.card", "create"): [
                call(
                    "another card of the guest's",
                    None,
                    [{"reservation_id": booking.id, "token_id": self.spare_token.id}],
                ),
                call(
                    "the guest's card on an own booking",
                    None,
                    [{"reservation_id": self.own_booking.id, "token_id": token.id}],
                ),
            ],
            ("clock.reservation.card", "write"): [
                call("the guest's card", card, {"sequence": 1}),
                call(
                    "moved to an own booking",
                    card,
                    {"reservation_id": self.own_booking.id},
                ),
            ],
            ("clock.stripe.event", "action_replay"): [
                call("an errored event", self.event)
            ],
            ("clock.autopilot.task", "create"): [
                call(
                    "a task of the hotel",
                    None,
                    [
                        {
                            "name": "Mine",
                            "company_id": self.hotel.id,
                            "mode": "after_creation",
                            "operation": "none",
                        }
                    ],
                )
            ],
            ("clock.autopilot.task", "write"): [
                call("switched on", task, {"active": True}),
                call("renamed", task, {"name": "Mine"}),
            ],
            ("clock.autopilot.task", "action_preview"): [call("a task", task)],
            ("clock.autopilot.task", "action_view_runs"): [call("a task", task)],
            ("clock.autopilot.simulation", "action_simulate"): [
                call("the hotel's simulation", self.simulation),
                call("an own simulation of the hotel", self.own_simulation),
            ],
            ("clock.card.link.wizard", "action_send"): [
                call("the staff's wizard", self.link_wizard)
            ],
            ("clock.charge.wizard", "action_confirm"): [
                call("the staff's wizard", self.charge_wizard),
                call("an own wizard with the guest's card", self.own_charge_wizard),
            ],
            ("clock.capture.wizard", "action_confirm"): [
                call("the staff's wizard", self.capture_wizard),
            ]
            + [
                call(f"an own wizard: {mode} the guest's hold", wizard)
                for mode, wizard in self.own_capture_wizards.items()
            ],
            ("clock.capture.wizard", "action_second_hold"): [
                call("the staff's wizard", self.capture_wizard),
                call(
                    "an own wizard on the guest's hold",
                    self.own_capture_wizards["raise"],
                ),
            ],
            ("clock.refund.wizard", "action_confirm"): [
                call("the staff's wizard", self.refund_wizard),
                call("an own wizard with the guest's payment", self.own_refund_wizard),
            ],
            ("payment.capture.wizard", "action_capture"): [
                call("the staff's wizard", self.tx_capture_wizard),
                call("an own wizard on the guest's hold", self.own_tx_capture_wizard),
            ],
            ("payment.provider", "create"): [
                call(
                    "a provider checking keys at an address of the caller's",
                    None,
                    [
                        {
                            "name": "Evil",
                            "code": "clock_stripe",
                            "company_id": self.hotel.id,
                            "clock_stripe_secret_key": "sk_test_evil",
                            "clock_stripe_publishable_key": "pk_test_evil",
                            "clock_stripe_api_base": STRIPE_DOUBLE_URL,
                        }
                    ],
                )
            ],
            ("payment.provider", "write"): [
                call(
                    "the hotel's keys, checked at an address of the caller's",
                    self.provider,
                    {
                        "clock_stripe_secret_key": "sk_test_evil",
                        "clock_stripe_api_base": STRIPE_DOUBLE_URL,
                    },
                ),
                call("switched off", self.provider, {"state": "disabled"}),
            ],
            ("payment.provider", "unlink"): [
                call("the hotel's second account", self.second_provider)
            ],
            ("payment.provider", "action_clock_stripe_register_webhook"): [
                call("the hotel's", self.provider)
            ],
            ("payment.token", "write"): [
                call("the guest's card removed", token, {"active": False}),
                call("the guest's card taken", token, {"partner_id": 1}),
                call(
                    "a card no booking needs removed",
                    self.spare_token,
                    {"active": False},
                ),
            ],
            ("payment.token", "get_linked_records_info"): [
                call("the guest's card", token)
            ],
            ("payment.transaction", "action_capture"): [call("a hold", hold)],
            ("payment.transaction", "action_void"): [call("a hold", hold)],
            ("payment.transaction", "action_refund"): [
                call("a payment", payment),
                call("a payment, in part", payment, amount_to_refund=1.0),
            ],
        }
        return cases

    # === One call === #

    def _state(self):
        """What a hostile call must leave as it was: how many records of each
        counted model, and the stored values of the records under attack."""
        self.env.flush_all()
        self.env.invalidate_all()
        state = {
            model: self.env[model].with_context(active_test=False).search_count([])
            for model in COUNTED
        }
        for records in self.targets:
            names = [
                name
                for name, field in records._fields.items()
                if field.store and field.type != "binary"
            ]
            existing = records.with_context(active_test=False).exists()
            for values in existing.read(names):
                state[records._name, values["id"]] = values
        return state

    def _changes(self, before, after):
        changes = []
        for key, was in before.items():
            now = after.get(key, "deleted")
            if isinstance(was, dict) and isinstance(now, dict):
                changes += [
                    f"{key}.{name}: {was[name]!r} -> {now[name]!r}"
                    for name in was
                    if now[name] != was[name]
                ]
            elif now != was:
                changes.append(f"{key}: {was} -> {now}")
        return changes

    def _attempt(self, user, model, method, records, args, kwargs):
        """Call ``method`` as RPC does for ``user``, in a savepoint rolled back
        afterwards. Return the answer or error, the changes and the Stripe
        requests it made."""
        model_as_user = self.env[model].with_user(user)
        takes_ids = not getattr(getattr(type(model_as_user), method), "_api", None)
        call_args = [records.ids, *args] if takes_ids else list(args)
        before = self._state()
        sent = len(self.stripe_calls)
        with self.env.cr.savepoint() as savepoint:
            try:
                answer = call_kw(model_as_user, method, call_args, kwargs)
            except Exception as error:  # noqa: BLE001 (judged by the caller)
                answer = error
                savepoint.rollback()  # as RPC rolls back a failed call
            changes = self._changes(before, self._state())
            savepoint.rollback()
        return answer, changes, self.stripe_calls[sent:]

    def _assert_safe(self, answer, changes, requests):
        if isinstance(answer, Exception):
            self.assertIsInstance(
                answer, CLEAR_ERRORS, f"{type(answer).__name__}: {answer}"
            )
            text = str(answer)
        else:
            text = repr(answer)
        for secret in self.secrets:
            self.assertNotIn(secret, text, "nothing of the guest's in the answer")
        self.assertEqual(changes, [], "nothing created or changed")
        self.assertEqual(
            [(r["method"], r["path"]) for r in requests], [], "no request to Stripe"
        )

    # === The suite === #

    @mute_logger(*MUTE, "odoo.addons.clock_stripe_payment.models.clock_stripe_event")
    def test_every_public_method_refuses_hostile_callers(self):
        self._prepare()
        cases = self._cases()
        self.assertEqual(
            set(cases),
            public_methods(self.env),
            "every public method of our addons has its row in the table",
        )
        attempts = 0
        with self._spy_stripe() as self.stripe_calls:
            for (model, method), calls in sorted(cases.items()):
                for label, records, args, kwargs in calls:
                    for user in self.callers:
                        attempts += 1
                        outcome = self._attempt(
                            user, model, method, records, args, kwargs
                        )
                        with self.subTest(
                            method=f"{model}.{method}", call=label, user=user.login
                        ):
                            self._assert_safe(*outcome)
        _logger.info("adversarial methods: %s methods, %s calls", len(cases), attempts)

    def test_another_hotels_wizards_show_nothing(self):
        """The wizards read the guest, the card and the booking's link (with its
        access token) in sudo: another hotel's staff neither open the hotel's
        staff's wizards nor make their own on its bookings."""
        self._prepare()
        preview = self.env["clock.autopilot.preview"].browse(
            self.task.action_preview()["res_id"]
        )
        self.simulation.action_simulate()
        booking = {"reservation_id": self.booking.id}
        opened = {
            self.link_wizard: booking,
            self.charge_wizard: booking,
            self.capture_wizard: booking,
            self.refund_wizard: booking,
            preview: {"task_id": self.task.id},
            preview.line_ids: {"preview_id": preview.id, **booking},
            self.simulation: {"company_id": self.hotel.id},
            self.simulation.line_ids: {"simulation_id": self.simulation.id, **booking},
        }
        for wizard, values in opened.items():
            as_staff = self.env[wizard._name].with_user(self.elsewhere_staff)
            self.assertTrue(wizard, f"the hotel has a {wizard._name} open")
            with (
                self.subTest(model=wizard._name, attempt="open the hotel's"),
                self.assertRaises(AccessError),
            ):
                as_staff.browse(wizard.ids).read(list(as_staff._fields))
            with (
                self.subTest(model=wizard._name, attempt="make one on its booking"),
                self.assertRaises(AccessError),
                self.env.cr.savepoint(),
            ):
                as_staff.create(values).read(list(as_staff._fields))
