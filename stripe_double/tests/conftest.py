"""Start the double once per session on a free port and give tests an SDK client."""

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests
import stripe

REPOSITORY = Path(__file__).resolve().parents[2]
API_KEY = "sk_test_x"
ACCOUNT_ID = "acct_testsdouble"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_ready(url, process, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"stripe_double exited with {process.returncode}")
        try:
            if requests.get(f"{url}/v1/customers", auth=(API_KEY, ""), timeout=1).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise RuntimeError("stripe_double did not answer in time")


@pytest.fixture(scope="session")
def base_url():
    port = free_port()
    env = {**os.environ, "STRIPE_DOUBLE_ACCOUNT_ID": ACCOUNT_ID}
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "stripe_double", "--port", str(port)],
            cwd=REPOSITORY,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_ready(url, process)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture
def client(base_url):
    requests.delete(f"{base_url}/_config/data", timeout=5).raise_for_status()
    return stripe.StripeClient(
        API_KEY, base_addresses={"api": base_url}, max_network_retries=0
    )


@pytest.fixture
def card(client):
    """A factory of card PaymentMethods (default: 4242), optionally attached."""

    def make(number="4242424242424242", customer=None):
        method = client.v1.payment_methods.create(
            params={
                "type": "card",
                "card": {
                    "number": number,
                    "exp_month": 12,
                    "exp_year": 2034,
                    "cvc": "123",
                },
            }
        )
        if customer:
            client.v1.payment_methods.attach(method.id, params={"customer": customer})
        return method

    return make


@pytest.fixture
def authorized(client, card):
    """A factory of manual-capture PaymentIntents in ``requires_capture``."""

    def make(amount=10000, **params):
        return client.v1.payment_intents.create(
            params={
                "amount": amount,
                "currency": "eur",
                "payment_method": card().id,
                "capture_method": "manual",
                "allowed_payment_method_types": ["card"],
                "confirm": True,
                **params,
            }
        )

    return make
