"""The Stripe.js stand-in: scoped, and its card element sends change events."""

import requests


def test_stripe_js_is_scoped_and_sends_change_events(base_url):
    answer = requests.get(f"{base_url}/js.stripe.com/v3/", timeout=5)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("application/javascript")
    source = answer.text
    assert source.startswith("(function () {\n")
    assert source.rstrip().endswith("})();")
    assert "handler({complete:" in source
    assert "handler());" not in source
