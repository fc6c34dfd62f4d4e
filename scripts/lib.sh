# shellcheck shell=bash
# Helpers shared by scripts/test, scripts/demo and scripts/lint. Source it; do not run it.
#
# Settings (environment variables, all optional):
#   CLOCK_PYTHON       interpreter that imports Odoo 18 and the tools (default: python3). When it
#                      does not import Odoo 18.0, the project's .venv is used, and made with it
#                      when missing (see ensure_odoo)
#   CLOCK_ODOO_SOURCE  Odoo 18.0 source (folder or archive) for that set-up; default: Odoo's
#                      official 18.0 source archive (CLOCK_ODOO_URL)
#   CLOCK_DB_HOST      PostgreSQL host (default 127.0.0.1)
#   CLOCK_DB_PORT      PostgreSQL port (default 5432)
#   CLOCK_DB_USER      PostgreSQL role (default root; trust authentication is assumed)

CLOCK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLOCK_VENV="$CLOCK_ROOT/.venv"
BASE_PY="${CLOCK_PYTHON:-python3}"
DB_HOST="${CLOCK_DB_HOST:-127.0.0.1}"
DB_PORT="${CLOCK_DB_PORT:-5432}"
DB_USER="${CLOCK_DB_USER:-root}"

# 0 when the interpreter $1 imports Odoo 18.0.
imports_odoo18() {
    "$1" -c 'import sys, odoo.release as r; sys.exit(r.major_version != "18.0")' 2>/dev/null
}

# The interpreter: CLOCK_PYTHON (or python3) when it imports Odoo 18.0, else the project's .venv
# when there is one, else CLOCK_PYTHON (ensure_odoo then makes the .venv).
if ! imports_odoo18 "$BASE_PY" && [ -x "$CLOCK_VENV/bin/python" ]; then
    PY="$CLOCK_VENV/bin/python"
else
    PY="$BASE_PY"
fi

say() { printf '==> %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# The addons of this repository: every top-level folder holding a __manifest__.py.
clock_addons() {
    local m
    for m in "$CLOCK_ROOT"/*/__manifest__.py; do
        [ -e "$m" ] && basename "$(dirname "$m")"
    done
}

# Make sure PY imports Odoo 18.0. When neither CLOCK_PYTHON (python3) nor the project's .venv does,
# set up .venv: Odoo 18.0 Community from CLOCK_ODOO_SOURCE or Odoo's official 18.0 archive, its
# requirements, then the project's (scripts/odoo_venv.py). Then define ODOO_CMD and
# ODOO_CONTRACT_CMD for that interpreter.
ensure_odoo() {
    if ! imports_odoo18 "$PY"; then
        local base="$BASE_PY" candidate
        if ! "$base" -c 'import sys; sys.exit(not ((3, 10) <= sys.version_info[:2] <= (3, 12)))' 2>/dev/null; then
            for candidate in python3.12 python3.11 python3.10; do
                command -v "$candidate" >/dev/null 2>&1 && { base="$candidate"; break; }
            done
        fi
        say "Odoo 18.0 is not importable by '$BASE_PY': setting it up in $CLOCK_VENV"
        "$base" "$CLOCK_ROOT/scripts/odoo_venv.py" "$CLOCK_VENV" "$CLOCK_ROOT" \
            || die "could not set up Odoo 18.0 in $CLOCK_VENV (see above); remove it and run again"
        PY="$CLOCK_VENV/bin/python"
        imports_odoo18 "$PY" || die "$PY still does not import Odoo 18.0 (see above)"
    fi
    "$PY" -c 'import sys; sys.exit(not ((3, 10) <= sys.version_info[:2] <= (3, 12)))' \
        || warn "Odoo 18.0 supports Python 3.10 to 3.12; '$PY' is $("$PY" -V 2>&1)."
    # The command line that runs Odoo's CLI (what odoo-bin does) with any importable Odoo 18,
    # prefork mode (--workers) included (scripts/odoo_cli.py).
    # Usage: "${ODOO_CMD[@]}" [odoo options...]
    # shellcheck disable=SC2034  # used by the scripts that source this file
    ODOO_CMD=(env TZ=UTC "$PY" "$CLOCK_ROOT/scripts/odoo_cli.py")
    # The same, with the Stripe contract check (stripe_double/contract.py) on every request the
    # process hands to the stripe SDK; the JSON report is written to REPORT at exit.
    # Usage: "${ODOO_CONTRACT_CMD[@]}" REPORT [odoo options...]
    # shellcheck disable=SC2034
    ODOO_CONTRACT_CMD=("${ODOO_CMD[@]}" --stripe-contract-report)
}

# --addons-path value: Odoo's own addons folders (a pip/tarball install keeps them in
# odoo/addons, a git checkout also has <checkout>/addons), then this repository.
odoo_addons_path() {
    "$PY" - "$CLOCK_ROOT" <<'EOF'
import os
import sys

import odoo

odoo_dir = os.path.dirname(os.path.abspath(odoo.__file__))
paths = []
for candidate in (
    os.path.join(odoo_dir, "addons"),
    os.path.join(os.path.dirname(odoo_dir), "addons"),
):
    if os.path.isdir(candidate) and any(
        os.path.isfile(os.path.join(candidate, mod, "__manifest__.py"))
        for mod in ("web", "base")
    ):
        paths.append(candidate)
paths.append(sys.argv[1])
print(",".join(paths))
EOF
}

# Start the local PostgreSQL cluster when nothing answers on DB_HOST:DB_PORT.
ensure_postgres() {
    if pg_isready -q -h "$DB_HOST" -p "$DB_PORT" 2>/dev/null; then
        return 0
    fi
    command -v pg_ctlcluster >/dev/null 2>&1 \
        || die "PostgreSQL is not answering on $DB_HOST:$DB_PORT and pg_ctlcluster is missing (Debian: apt-get install postgresql)."
    local ver name
    read -r ver name < <(pg_lsclusters -h 2>/dev/null | awk -v p="$DB_PORT" '$3 == p {print $1, $2; exit}')
    ver="${ver:-15}"
    name="${name:-main}"
    say "Starting PostgreSQL cluster $ver/$name"
    pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start \
        || die "could not start PostgreSQL cluster $ver/$name"
    for _ in $(seq 1 30); do
        pg_isready -q -h "$DB_HOST" -p "$DB_PORT" && return 0
        sleep 1
    done
    die "PostgreSQL still does not answer on $DB_HOST:$DB_PORT"
}

psql_admin() {
    psql -X -q -v ON_ERROR_STOP=1 -h "$DB_HOST" -p "$DB_PORT" -U "$DB_USER" -d postgres "$@"
}

db_exists() {
    [ "$(psql_admin -Atc "SELECT 1 FROM pg_database WHERE datname = '$1'")" = "1" ]
}

drop_db() {
    psql_admin -c "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)" >/dev/null 2>&1 \
        || warn "could not drop database $1"
}

# A TCP port that nothing listens on right now.
free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# 0 when the Stripe double answers GET /v1/customers with 200 at the given base URL.
stripe_double_ready() {
    "$PY" - "$1" <<'EOF'
import base64
import sys
import urllib.request

req = urllib.request.Request(
    sys.argv[1] + "/v1/customers",
    headers={"Authorization": "Basic " + base64.b64encode(b"sk_test_x:").decode()},
)
try:
    with urllib.request.urlopen(req, timeout=2) as resp:
        sys.exit(0 if resp.status == 200 else 1)
except Exception:
    sys.exit(1)
EOF
}

# 0 when something accepts TCP connections on 127.0.0.1:PORT.
port_busy() {
    "$PY" -c 'import socket, sys; s = socket.socket(); s.settimeout(1); sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)' "$1"
}

# start_stripe_double PORT LOGFILE [OPTIONS...]: starts the Stripe double (localstripe behind the
# adapter of stripe_double/, listening on 127.0.0.1:PORT, in memory unless --store FILE is given),
# waits until it answers, sets STRIPE_DOUBLE_PID.
start_stripe_double() {
    local port="$1" logfile="$2"
    shift 2
    "$PY" -c 'import localstripe' 2>/dev/null \
        || die "localstripe is not installed for '$PY': $PY -m pip install -r requirements-dev.txt"
    PYTHONPATH="$CLOCK_ROOT${PYTHONPATH:+:$PYTHONPATH}" \
        "$PY" -m stripe_double --port "$port" "$@" >"$logfile" 2>&1 &
    STRIPE_DOUBLE_PID=$!
    for _ in $(seq 1 100); do
        if stripe_double_ready "http://127.0.0.1:$port"; then
            return 0
        fi
        kill -0 "$STRIPE_DOUBLE_PID" 2>/dev/null || break
        sleep 0.2
    done
    cat "$logfile" >&2 || true
    die "the Stripe double did not start on port $port"
}

# stop_pid PID [NAME]: SIGTERM, then SIGKILL after 15 s.
stop_pid() {
    local pid="$1"
    [ -n "$pid" ] || return 0
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 75); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
        sleep 0.2
    done
    warn "${2:-process $pid} did not stop on SIGTERM; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
