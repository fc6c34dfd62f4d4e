"""Odoo's command line (what odoo-bin does), for any importable Odoo 18.0.

Usage: python3 scripts/odoo_cli.py [--stripe-contract-report REPORT] [odoo options...]

A file of its own, so that Odoo in prefork mode (``--workers``) can start its
websocket worker, which it runs as ``sys.executable sys.argv[0] gevent ...``. With
``--stripe-contract-report``, the Stripe contract check (stripe_double/contract.py)
checks every request this process hands to the stripe SDK and writes its JSON report
to REPORT at exit; the option is not passed on to Odoo's own workers.
"""

import os
import sys

if __name__ == "__main__":
    if sys.argv[1:2] == ["--stripe-contract-report"]:
        report = sys.argv[2]
        del sys.argv[1:3]
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        from stripe_double import contract

        contract.install(report)
    import odoo.cli

    sys.exit(odoo.cli.main())
