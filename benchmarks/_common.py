"""Helpers shared by the benchmark scripts of this folder.

Command-line options and database handling (Odoo's CLI installs the modules, Odoo
drops the database), the localstripe check, and the meter that counts the SQL
queries, wall time and Stripe requests of the phases of one operation.
"""

# A benchmark prints what it does.
# pylint: disable=print-used

import os
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager, nullcontext

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# === COMMAND LINE AND DATABASE === #


def add_odoo_arguments(parser):
    """``--create``, ``--drop`` and Odoo's database and addons options."""
    parser.add_argument(
        "--create",
        action="store_true",
        help="create the database and install the modules (--without-demo=all)",
    )
    parser.add_argument(
        "--drop", action="store_true", help="drop the database at the end"
    )
    parser.add_argument("--addons-path", default=None)
    parser.add_argument("--db_host", default=None)
    parser.add_argument("--db_port", default=None)
    parser.add_argument("--db_user", default=None)
    parser.add_argument("--db_password", default=None)
    parser.add_argument("--log-level", default="warn", help="Odoo's --log-level")


def complete_args(args):
    if args.addons_path is None:
        args.addons_path = default_addons_path()
    return args


def default_addons_path():
    """Odoo's own addons folders, then this repository (as scripts/lib.sh does)."""
    import odoo

    odoo_dir = os.path.dirname(os.path.abspath(odoo.__file__))
    paths = [
        candidate
        for candidate in (
            os.path.join(odoo_dir, "addons"),
            os.path.join(os.path.dirname(odoo_dir), "addons"),
        )
        if os.path.isfile(os.path.join(candidate, "web", "__manifest__.py"))
    ]
    return ",".join(paths + [REPO_ROOT])


def odoo_options(args):
    options = [f"--addons-path={args.addons_path}"]
    for option in ("db_host", "db_port", "db_user", "db_password"):
        if getattr(args, option):
            options.append(f"--{option}={getattr(args, option)}")
    return options


#: Odoo's command line, prefork mode included (see scripts/odoo_cli.py).
ODOO_CLI = [
    sys.executable,
    os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        "scripts",
        "odoo_cli.py",
    ),
]


def create_database(args, modules):
    """Install ``modules`` in a new database with Odoo's CLI."""
    print(f"Creating database {args.db} ({', '.join(modules)}, without demo data)...")
    command = [
        *ODOO_CLI,
        f"--database={args.db}",
        f"--init={','.join(modules)}",
        "--without-demo=all",
        "--stop-after-init",
        "--max-cron-threads=0",
        "--log-level=warn",
        *odoo_options(args),
    ]
    result = subprocess.run(
        command,
        env=dict(os.environ, TZ="UTC"),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        sys.stderr.write(result.stdout[-5000:] + result.stderr[-5000:])
        sys.exit(f"Installing the modules in {args.db} failed.")


def drop_database(db):
    import odoo

    odoo.modules.registry.Registry.delete(db)
    odoo.sql_db.close_db(db)
    odoo.service.db.exp_drop(db)
    print(f"Dropped database {db}.")


def open_registry(args, modules):
    """Configure Odoo for ``args`` and return the registry of ``args.db``, whose
    ``modules`` must be installed (after ``--create``, they are)."""
    import odoo
    from odoo.tools import config

    if args.create:
        create_database(args, modules)
    config.parse_config(
        [
            f"--database={args.db}",
            f"--log-level={args.log_level}",
            "--log-handler=stripe:WARNING",
            *odoo_options(args),
        ]
    )
    if not args.create and not odoo.service.db.exp_db_exist(args.db):
        sys.exit(f"There is no database {args.db} (use --create).")
    registry = odoo.modules.registry.Registry(args.db)
    with registry.cursor() as cr:
        cr.execute(
            "SELECT name FROM ir_module_module WHERE state = 'installed' "
            "AND name IN %s",
            [tuple(modules)],
        )
        if len(cr.fetchall()) != len(modules):
            sys.exit(f"{args.db} lacks {' or '.join(modules)} (use --create).")
    return registry


def check_stripe_double(url):
    import requests

    try:
        requests.get(
            f"{url}/v1/customers", auth=("sk_test_bench", ""), timeout=10
        ).raise_for_status()
    except requests.RequestException as exc:
        sys.exit(
            f"The Stripe double does not answer at {url} ({exc}). Start it with "
            "`python3 -m stripe_double --port 8420 &` or pass --localstripe."
        )


# === MEASURING === #


def sql_count():
    """Queries run by the whole process so far (every ``Cursor.execute``)."""
    import odoo.sql_db

    return odoo.sql_db.sql_counter


class Meter:
    """Queries, wall time and Stripe requests of the phases of one operation.

    A phase entered more than once (the Autopilot commits twice per booking) adds
    up. ``stripe_log`` is any object with a ``calls`` list of
    ``(side, kind, seconds)``.
    """

    KEYS = ("queries", "ms", "calls", "stripe_ms")

    def __init__(self, stripe_log, trace=None):
        self.stripe_log = stripe_log
        self.trace = trace
        self.phases = {}

    @contextmanager
    def phase(self, name, traced=True):
        """Count the block as phase ``name``; a phase inside another one passes
        ``traced=False`` (its statements are traced by the outer one)."""
        calls = len(self.stripe_log.calls)
        tracing = (
            self.trace.active() if self.trace is not None and traced else nullcontext()
        )
        with tracing:
            queries = sql_count()
            start = time.perf_counter()
            try:
                yield
            finally:
                seconds = time.perf_counter() - start
                queries = sql_count() - queries
                new_calls = self.stripe_log.calls[calls:]
                figures = self.phases.setdefault(name, dict.fromkeys(self.KEYS, 0))
                figures["queries"] += queries
                figures["ms"] += seconds * 1000.0
                figures["calls"] += len(new_calls)
                figures["stripe_ms"] += sum(c[2] for c in new_calls) * 1000.0

    def get(self, name):
        return self.phases.get(name) or dict.fromkeys(self.KEYS, 0)

    def total(self, names=None):
        names = self.phases if names is None else names
        return {key: sum(self.get(name)[key] for name in names) for key in self.KEYS}


def median_mean(values):
    return statistics.median(values), statistics.fmean(values)


def ratio(ours, theirs):
    return f"{ours / theirs:.2f}" if theirs else "-"


def print_goals(title, rows):
    """The ratios an issue sets a goal for, next to that goal.

    ``rows``: ``(measure, ours, theirs, goal)``; a ratio meets its goal when it is
    at most ``goal``.
    """
    header = f"{'measure':<66} {'ours':>8} {'theirs':>8} {'ratio':>6} {'goal':>6}  met"
    print(f"\n{title}")
    print(header)
    print("-" * len(header))
    for measure, ours, theirs, goal in rows:
        value = ours / theirs if theirs else float("inf")
        print(
            f"{measure:<66} {ours:>8g} {theirs:>8g} {ratio(ours, theirs):>6} "
            f"{f'<= {goal:g}':>6}  {'yes' if value <= goal else 'NO'}"
        )
