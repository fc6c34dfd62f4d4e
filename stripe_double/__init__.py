"""Stripe test double: localstripe with an adapter that speaks the pinned API version.

The Odoo addons use the ``stripe`` SDK 16.1.0, pinned at API version
``2026-10-28.endive``. localstripe (1.15.10) speaks a much older API. The adapter in
this package is plugged into localstripe's own aiohttp application (middleware and
extra routes, same process), so the addons send real Stripe requests to the double.

Start it with ``python3 -m stripe_double --port 8420``; see README.md.
"""

import stripe

# The version the installed SDK is generated for (its typed parameters and resource
# types): the addons pin the same one (clock_stripe_payment/const.py), and a test there
# holds them equal. Moving to a newer version is a matter of the SDK pin.
API_VERSION = stripe.api_version
DEFAULT_ACCOUNT_ID = "acct_clockstripedouble"
