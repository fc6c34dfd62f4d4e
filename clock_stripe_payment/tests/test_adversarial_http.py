"""Adversarial HTTP suite: every public and portal route of clock_pms and
clock_stripe_payment, sent malformed, foreign, replayed and out-of-state
requests.

Each request must be answered with a 4xx, a redirect or a clear message: never
a 500, never another guest's data, and no booking, contact, transaction or
Stripe request may come of it. The table must cover every route the two addons
declare: a new route without a row fails the suite.
"""

import json
import logging

from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.clock_pms.controllers.main import BookingEngine
from odoo.addons.clock_pms.controllers.portal import BookingPortal

from ..controllers.main import ClockStripeController
from ..controllers.portal import HotelPaymentPortal
from .hotel_common import MUTE, HotelPaymentHttpCommon

_logger = logging.getLogger(__name__)

CONTROLLERS = (BookingEngine, BookingPortal, ClockStripeController, HotelPaymentPortal)
# Errors a JSON route may answer with: each carries a message for the guest.
CLEAR_ERRORS = {
    "odoo.exceptions.ValidationError",
    "odoo.exceptions.UserError",
    "odoo.exceptions.AccessError",
    "werkzeug.exceptions.NotFound",
    "werkzeug.exceptions.BadRequest",
}
HUGE = 2**40
BAD_NUMBERS = ("nan", "inf", "-1", "1e400", str(HUGE), "abc", "")


def declared_routes():
    """Every route the two addons' controllers declare."""
    routes = set()
    for controller in CONTROLLERS:
        for member in vars(controller).values():
            routing = getattr(member, "original_routing", None)
            if routing:
                routes.update(routing["routes"])
    return routes


@tagged("post_install", "-at_install")
class TestAdversarialHttp(HotelPaymentHttpCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.foreigner = cls.env["res.partner"].create(
            {
                "name": "Victor Foreignguest",
                "email": "victor.foreignguest@example.com",
                "street": "99 Private Road",
                "company_id": False,
            }
        )

    def _http(self, method, url, data=None, headers=None):
        self.requests_sent += 1
        return self.opener.request(
            method,
            self.base_url() + url,
            data=data,
            headers=headers,
            allow_redirects=False,
            timeout=60,
        )

    def _rpc(self, url, params):
        return self._http(
            "POST",
            url,
            data=json.dumps(
                {"jsonrpc": "2.0", "method": "call", "id": 1, "params": params}
            ),
            headers={"Content-Type": "application/json"},
        )

    def _form(self, url, data, csrf=True):
        if csrf:
            data = dict(data, csrf_token=self.csrf)
        return self._http("POST", url, data=data)

    def _assert_safe(self, label, response):
        """Not a 500, no foreign data, and a JSON error a guest can read."""
        self.assertLess(response.status_code, 500, label)
        for secret in self.foreign_texts:
            self.assertNotIn(secret, response.text, label)
        if response.headers.get("Content-Type", "").startswith("application/json"):
            error = (response.json() or {}).get("error")
            if error and "data" in error:
                self.assertIn(error["data"]["name"], CLEAR_ERRORS, label)
                self.assertTrue(error["data"]["message"], label)
                self.assertNotIn("Traceback", error["data"]["message"], label)

    def _counts(self):
        return {
            model: self.env[model].with_context(active_test=False).search_count([])
            for model in (
                "payment.transaction",
                "clock.reservation",
                "res.partner",
                "payment.token",
                "clock.reservation.card",
            )
        }

    # === The table === #

    def _cases(self):
        """``{route: [(label, callable)]}``: the requests sent to each route."""
        mine, foreign, done = self.mine, self.foreign, self.done
        token, other = mine.access_token, foreign.access_token
        folio, foreign_folio = self.confirmed.folio_ids, foreign.folio_ids
        confirmed = self.confirmed
        card, foreign_card = confirmed.card_ids, foreign.card_ids
        book = self.book_form

        def booking_pages(suffix, booking=mine):
            base = f"/my/bookings/{booking.id}{suffix}"
            return [
                ("no token", lambda: self._http("GET", base)),
                ("wrong token", lambda: self._http("GET", f"{base}?access_token=x")),
                (
                    "another booking's token",
                    lambda: self._http("GET", f"{base}?access_token={other}"),
                ),
                (
                    "token list",
                    lambda: self._http(
                        "GET", f"{base}?access_token={token}&access_token={other}"
                    ),
                ),
            ]

        def tx_calls(route, booking, amounts=False, **extra):
            """Hostile calls of a transaction route; with ``amounts`` (the folio
            route) the amount and a Checkout (redirect flow) are the guest's to
            choose, so bad amounts are sent."""
            params = self._tx_params(booking, **extra)
            calls = [
                ("no token", lambda: self._rpc(route, dict(params, access_token=None))),
                (
                    "wrong token",
                    lambda: self._rpc(route, dict(params, access_token="x")),
                ),
                (
                    "another booking's token",
                    lambda: self._rpc(route, dict(params, access_token=other)),
                ),
                (
                    "form content type",
                    lambda: self._http("POST", route, data=params),
                ),
                (
                    "not json",
                    lambda: self._http(
                        "POST",
                        route,
                        data="{nope",
                        headers={"Content-Type": "application/json"},
                    ),
                ),
                ("GET", lambda: self._http("GET", route)),
                (
                    "flow redirect",
                    lambda: self._rpc(
                        route, dict(params, flow="redirect", amount="nan")
                    ),
                ),
                ("flow nonsense", lambda: self._rpc(route, dict(params, flow=["x"]))),
                (
                    "another provider",
                    lambda: self._rpc(
                        route, dict(params, provider_id=self.dummy_provider.id)
                    ),
                ),
                (
                    "provider list",
                    lambda: self._rpc(route, dict(params, provider_id=[1])),
                ),
                (
                    "huge provider",
                    lambda: self._rpc(route, dict(params, provider_id=HUGE)),
                ),
                (
                    "another booking's card",
                    lambda: self._rpc(
                        route,
                        dict(params, flow="token", token_id=foreign_card.token_id.id),
                    ),
                ),
                (
                    "huge card",
                    lambda: self._rpc(route, dict(params, flow="token", token_id=HUGE)),
                ),
            ]
            calls += [
                (
                    f"amount {amount!r}",
                    lambda amount=amount: self._rpc(route, dict(params, amount=amount)),
                )
                for amount in (*BAD_NUMBERS, [1], {"x": 1})
                if amounts  # The other routes take no amount from the browser.
            ]
            return calls

        guarantee_route = f"/my/bookings/{mine.id}/guarantee/transaction"
        folio_route = f"/my/bookings/{confirmed.id}/folio/{folio.id}"
        card_route = f"/my/bookings/{confirmed.id}/card"
        confirm = "/payment/clock_stripe/confirm"
        done_token = done._clock_stripe_access_token()
        cases = {
            "/book": [
                (
                    f"search {field}={value}",
                    lambda field=field, value=value: self._http(
                        "GET",
                        f"/book?arrival=2030-01-01&departure=2030-01-03&{field}={value}",
                    ),
                )
                for field, value in (
                    ("guests", "nan"),
                    ("guests", HUGE),
                    ("guests", "-3"),
                    ("arrival", "9999-99-99"),
                    ("departure", "1900-01-01"),
                    ("room_type_id", HUGE),
                )
            ],
            "/book/details": [
                (
                    f"details {field}={value}",
                    lambda field=field, value=value: self._form(
                        "/book/details", dict(book, **{field: value})
                    ),
                )
                for field, value in (
                    ("room_type_id", HUGE),
                    ("room_type_id", "-1"),
                    ("room_type_id", self.other_room_type.id),
                    ("guests", "nan"),
                    ("arrival", "x"),
                )
            ]
            + [
                (
                    "details without csrf",
                    lambda: self._form("/book/details", book, False),
                )
            ],
            "/book/summary": [
                (
                    f"summary {field}={value!r}",
                    lambda field=field, value=value: self._form(
                        "/book/summary", dict(book, **{field: value})
                    ),
                )
                for field, value in (
                    ("email", "not an address"),
                    ("email", ""),
                    ("name", ""),
                    ("name", "Visit https://evil.example"),
                    ("room_type_id", self.other_room_type.id),
                )
            ],
            "/book/finish": [
                ("finish GET", lambda: self._http("GET", "/book/finish")),
                (
                    "finish without csrf",
                    lambda: self._form("/book/finish", book, False),
                ),
                (
                    "finish without key",
                    lambda: self._form("/book/finish", dict(book, request_key="")),
                ),
                (
                    "finish with a bad key",
                    lambda: self._form(
                        "/book/finish", dict(book, request_key="x" * 99)
                    ),
                ),
                (
                    "finish with a link in the name",
                    lambda: self._form(
                        "/book/finish", dict(book, name="Go to evil.example now")
                    ),
                ),
                (
                    "finish with another hotel's room",
                    lambda: self._form(
                        "/book/finish", dict(book, room_type_id=self.other_room_type.id)
                    ),
                ),
                (
                    "finish replayed after success",
                    lambda: self._form("/book/finish", self.finished_form),
                ),
            ],
            "/my/bookings": [
                ("list as a visitor", lambda: self._http("GET", "/my/bookings"))
            ],
            "/my/bookings/page/<int:page>": [
                (
                    "page as a visitor",
                    lambda: self._http("GET", f"/my/bookings/page/{HUGE}"),
                )
            ],
            "/my/bookings/<int:booking_id>": booking_pages("")
            + [
                (
                    "huge id",
                    lambda: self._http(
                        "GET", f"/my/bookings/{HUGE}?access_token={token}"
                    ),
                ),
                ("negative id", lambda: self._http("GET", "/my/bookings/-1")),
            ],
            "/my/bookings/<int:booking_id>/guarantee": booking_pages("/guarantee")
            + [
                (
                    "guarantee of a guaranteed booking",
                    lambda: self._http(
                        "GET",
                        f"/my/bookings/{done.clock_reservation_ids.id}/guarantee"
                        f"?access_token={done.clock_reservation_ids.access_token}",
                    ),
                ),
            ],
            "/my/bookings/<int:booking_id>/folio/<int:folio_id>/pay": booking_pages(
                f"/folio/{folio.id}/pay", confirmed
            )
            + [
                (
                    f"pay amount {amount!r}",
                    lambda amount=amount: self._http(
                        "GET",
                        f"{folio_route}/pay?access_token={confirmed.access_token}"
                        f"&amount={amount}",
                    ),
                )
                for amount in BAD_NUMBERS
            ]
            + [
                (
                    "another booking's folio",
                    lambda: self._http(
                        "GET",
                        f"/my/bookings/{confirmed.id}/folio/{foreign_folio.id}/pay"
                        f"?access_token={confirmed.access_token}",
                    ),
                ),
                (
                    "huge folio",
                    lambda: self._http(
                        "GET",
                        f"/my/bookings/{confirmed.id}/folio/{HUGE}/pay"
                        f"?access_token={confirmed.access_token}",
                    ),
                ),
            ],
            "/my/bookings/<int:booking_id>/card": booking_pages("/card", confirmed),
            "/my/bookings/<int:booking_id>/card/<int:card_id>": booking_pages(
                f"/card/{card.id}", confirmed
            )
            + [
                (
                    "another booking's card",
                    lambda: self._http(
                        "GET",
                        f"{card_route}/{foreign_card.id}?access_token={confirmed.access_token}",
                    ),
                ),
                (
                    "huge card",
                    lambda: self._http(
                        "GET",
                        f"{card_route}/{HUGE}?access_token={confirmed.access_token}",
                    ),
                ),
            ],
            "/my/bookings/<int:booking_id>/guarantee/transaction": tx_calls(
                guarantee_route, mine
            )
            + [
                (
                    "guarantee replayed after success",
                    lambda: self._rpc(
                        f"/my/bookings/{done.clock_reservation_ids.id}"
                        "/guarantee/transaction",
                        self._tx_params(done.clock_reservation_ids),
                    ),
                ),
            ],
            "/my/bookings/<int:booking_id>/folio/<int:folio_id>/transaction": tx_calls(
                f"{folio_route}/transaction", confirmed, amounts=True, amount=10.0
            )
            + [
                (
                    "another booking's folio",
                    lambda: self._rpc(
                        f"/my/bookings/{confirmed.id}/folio/{foreign_folio.id}"
                        "/transaction",
                        self._tx_params(confirmed, amount=10.0),
                    ),
                ),
                (
                    "more than the balance",
                    lambda: self._rpc(
                        f"{folio_route}/transaction",
                        self._tx_params(confirmed, amount=10**9),
                    ),
                ),
            ],
            "/my/bookings/<int:booking_id>/card/transaction": tx_calls(
                f"{card_route}/transaction", confirmed
            )
            + [
                (
                    "card on a cancelled booking",
                    lambda: self._rpc(
                        f"/my/bookings/{self.cancelled.id}/card/transaction",
                        self._tx_params(self.cancelled),
                    ),
                ),
            ],
            "/my/bookings/<int:booking_id>/card/<int:card_id>/transaction": tx_calls(
                f"{card_route}/{card.id}/transaction", confirmed
            )
            + [
                (
                    "another booking's card",
                    lambda: self._rpc(
                        f"{card_route}/{foreign_card.id}/transaction",
                        self._tx_params(confirmed),
                    ),
                ),
            ],
            confirm: [
                (
                    "unknown reference",
                    lambda: self._rpc(confirm, {"reference": "NOPE"}),
                ),
                (
                    "wrong token",
                    lambda: self._rpc(
                        confirm, {"reference": done.reference, "access_token": "x"}
                    ),
                ),
                (
                    "reference list",
                    lambda: self._rpc(confirm, {"reference": [done.reference]}),
                ),
                (
                    "foreign setup intent",
                    lambda: self._rpc(
                        confirm,
                        {
                            "reference": done.reference,
                            "access_token": done_token,
                            "setup_intent_id": "seti_foreign",
                        },
                    ),
                ),
                (
                    "replay after success",
                    lambda: self._rpc(
                        confirm,
                        {
                            "reference": done.reference,
                            "access_token": done_token,
                            "setup_intent_id": done.clock_stripe_setup_intent_ref,
                        },
                    ),
                ),
                (
                    "form content type",
                    lambda: self._http("POST", confirm, data={"reference": "x"}),
                ),
            ],
            "/payment/clock_stripe/checkout_redirect": [
                (
                    f"checkout {query}",
                    lambda query=query: self._http(
                        "GET", f"/payment/clock_stripe/checkout_redirect?{query}"
                    ),
                )
                for query in (
                    "",
                    "reference=NOPE",
                    f"reference={done.reference}&access_token=x",
                    f"reference={done.reference}&access_token={done_token}",
                )
            ],
            "/payment/clock_stripe/checkout_return": [
                (
                    f"return {query}",
                    lambda query=query: self._http(
                        "GET", f"/payment/clock_stripe/checkout_return?{query}"
                    ),
                )
                for query in (
                    "",
                    "reference=NOPE&canceled=1",
                    f"reference={done.reference}&access_token=x&canceled=1",
                    f"reference={done.reference}&access_token={done_token}&canceled=1",
                )
            ],
            "/payment/clock_stripe/webhook": [
                (
                    "no signature",
                    lambda: self._http(
                        "POST", "/payment/clock_stripe/webhook", data="{}"
                    ),
                ),
                (
                    "bad signature",
                    lambda: self._http(
                        "POST",
                        "/payment/clock_stripe/webhook",
                        data="{}",
                        headers={"Stripe-Signature": "t=1,v1=00"},
                    ),
                ),
                (
                    "GET",
                    lambda: self._http("GET", "/payment/clock_stripe/webhook"),
                ),
            ],
        }
        return cases

    # === The suite === #

    def _prepare(self):
        self.requests_sent = 0
        self.other_room_type = self.env["clock.room.type"].create(
            {
                "name": "Elsewhere",
                "code": "ADVELSE",
                "company_id": self.env["res.company"].create({"name": "Elsewhere"}).id,
                "price": 10.0,
                "capacity": 2,
            }
        )
        self.mine = self._booking(confirm=False, channel="booking_engine")
        self.confirmed = self._booking()
        self.foreign = self._booking(partner_id=self.foreigner.id)
        self.cancelled = self._booking()
        self.cancelled.action_cancel()
        for booking in (self.mine, self.confirmed, self.foreign, self.cancelled):
            booking._portal_ensure_token()
        self._card_on_file(self.confirmed)
        self._card_on_file(self.foreign)
        guaranteed = self._booking(confirm=False, channel="booking_engine")
        guaranteed._portal_ensure_token()
        self.done = self._create_tx(
            f"/my/bookings/{guaranteed.id}/guarantee/transaction", guaranteed
        )
        self._confirm_in_browser(self.done)
        self.make_jsonrpc_request("/payment/status/poll", {})
        self.assertEqual(guaranteed.guarantee_status, "guaranteed")
        self.foreign_texts = (self.foreigner.name, "99 Private Road", self.foreign.name)
        page = self.url_open("/book?arrival=2030-01-01&departure=2030-01-03&guests=2")
        self.csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        self.book_form = {
            "arrival": str(self.mine.arrival_date),
            "departure": str(self.mine.departure_date),
            "guests": "2",
            "room_type_id": str(self.room_type.id),
            "name": "Eve Attacker",
            "email": "eve@example.com",
            "request_key": "a" * 32,
        }
        self.finished_form = dict(self.book_form, request_key="b" * 32)
        finished = self._form("/book/finish", self.finished_form)
        self.assertEqual(finished.status_code, 303)

    @mute_logger(
        "odoo.http", "odoo.addons.clock_stripe_payment.controllers.main", *MUTE
    )
    def test_every_route_answers_hostile_requests_safely(self):
        self._prepare()
        cases = self._cases()
        self.assertEqual(
            set(cases), declared_routes(), "every route has its row in the table"
        )
        before = self._counts()
        with self._spy_stripe() as calls:
            for route, requests in cases.items():
                for label, send in requests:
                    label = f"{route}: {label}"
                    self._assert_safe(label, send())
                    self.assertEqual(self._counts(), before, label)
                    self.assertEqual(calls, [], f"no request to Stripe: {label}")
        _logger.info("adversarial suite: %s requests", self.requests_sent)
