"""Set up Odoo 18.0 Community in the project's virtual environment (see scripts/lib.sh).

Usage: python3 scripts/odoo_venv.py VENV_DIR PROJECT_ROOT

Creates VENV_DIR with the running interpreter and gets Odoo 18.0's source:
CLOCK_ODOO_SOURCE (a source folder, used in place, or a .tar.gz/.zip archive), else
Odoo's official 18.0 archive (CLOCK_ODOO_URL). Installs Odoo's requirements, avoiding
the known build snags of its pins, Odoo itself (editable, from that source), then the
project's requirements. Standard library only.
"""

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
import venv
import zipfile

ODOO_URL = "https://github.com/odoo/odoo/archive/refs/heads/18.0.tar.gz"


def say(msg):
    print(f"==> {msg}", flush=True)


def warn(msg):
    print(f"WARNING: {msg}", file=sys.stderr, flush=True)


def has_header(name):
    """True when a C header the build of a pinned package needs is installed."""
    return any(
        os.path.isfile(os.path.join(d, name))
        for d in ("/usr/include", "/usr/local/include")
    )


def patch_requirements(lines, *, libpq_headers, ldap_headers):
    """Odoo's requirements.txt lines, rewritten so that they install on this machine.

    Returns (lines, notes): each note says what was changed and why.
    - cbor2==5.4.2 (its pin below Python 3.12) does not build on Python 3.11:
      5.6.2, Odoo's own pin for Python 3.12, is used instead;
    - psycopg2 builds from source and needs libpq's headers (Debian libpq-dev):
      without them, psycopg2-binary of the same version;
    - python-ldap builds from source and needs Debian libldap2-dev and
      libsasl2-dev: without them it is left out (only Odoo's auth_ldap uses it).
    """
    out, notes = [], []
    for line in lines:
        req = line.split("#", 1)[0].strip()
        name = re.split(r"[=<>!~; ]", req, maxsplit=1)[0].lower() if req else ""
        if name == "cbor2" and "5.4.2" in req:
            line = req.replace("5.4.2", "5.6.2")
            notes.append(
                "cbor2 5.6.2 instead of 5.4.2 (5.4.2 does not build on Python 3.11)"
            )
        elif name == "psycopg2" and not libpq_headers:
            line = re.sub(r"^psycopg2\b", "psycopg2-binary", req)
            if not any("psycopg2-binary" in n for n in notes):
                notes.append(
                    "psycopg2-binary instead of psycopg2 "
                    "(no libpq headers: Debian libpq-dev)"
                )
        elif name == "python-ldap" and not ldap_headers:
            line = ""
            if not any("python-ldap" in n for n in notes):
                notes.append(
                    "python-ldap left out (it needs Debian libldap2-dev and "
                    "libsasl2-dev; only Odoo's auth_ldap uses it)"
                )
        out.append(line)
    return out, notes


def _top_folder(names):
    tops = {n.split("/", 1)[0] for n in names if n.strip("/")}
    return tops.pop() if len(tops) == 1 else ""


def unpack(archive, dest):
    """Unpack an Odoo source archive into dest; return the folder of its setup.py."""
    os.makedirs(dest, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(dest)
            top = _top_folder(zf.namelist())
    else:
        with tarfile.open(archive) as tf:
            if hasattr(tarfile, "data_filter"):  # refuses unsafe members
                tf.extractall(dest, filter="data")
            else:
                tf.extractall(dest)  # noqa: S202 (Odoo's source archive)
            top = _top_folder(tf.getnames())
    return os.path.join(dest, top) if top else dest


def odoo_source(venv_dir):
    """The folder of Odoo 18.0's source: CLOCK_ODOO_SOURCE, or an unpacked archive."""
    given = os.environ.get("CLOCK_ODOO_SOURCE", "").strip()
    src_root = os.path.join(venv_dir, "src")
    if given and os.path.isdir(given):
        say(f"Odoo source: the folder {given} (used in place)")
        return os.path.abspath(given)
    if given:
        if not os.path.isfile(given):
            sys.exit(
                f"ERROR: CLOCK_ODOO_SOURCE={given} is neither a folder nor an archive"
            )
        say(f"Odoo source: unpacking {given}")
        return unpack(given, src_root)
    url = os.environ.get("CLOCK_ODOO_URL", ODOO_URL)
    say(f"Odoo source: downloading {url}")
    os.makedirs(src_root, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        dir=src_root, suffix=".archive", delete=False
    ) as tmp:
        with urllib.request.urlopen(url, timeout=600) as resp:  # noqa: S310
            shutil.copyfileobj(resp, tmp)
    try:
        return unpack(tmp.name, src_root)
    finally:
        os.unlink(tmp.name)


def check_release(src):
    release = {}
    path = os.path.join(src, "odoo", "release.py")
    if not os.path.isfile(path):
        sys.exit(f"ERROR: {src} holds no Odoo source (odoo/release.py is missing)")
    with open(path, encoding="utf-8") as fh:
        exec(compile(fh.read(), path, "exec"), release)  # noqa: S102
    if release.get("major_version") != "18.0":
        sys.exit(
            f"ERROR: {src} holds Odoo {release.get('major_version')}; "
            "this project needs 18.0"
        )


def pip(python, *args):
    cmd = [python, "-m", "pip", "--disable-pip-version-check", "-q", *args]
    if subprocess.call(cmd) != 0:
        sys.exit(f"ERROR: failed: {' '.join(cmd)}")


def main(venv_dir, project_root):
    started = time.monotonic()
    if not (3, 10) <= sys.version_info[:2] <= (3, 12):
        sys.exit(
            "ERROR: Odoo 18.0 needs Python 3.10 to 3.12; "
            f"{sys.executable} is {sys.version.split()[0]}"
        )
    say(
        f"Creating the virtual environment {venv_dir} (Python {sys.version.split()[0]})"
    )
    venv.create(venv_dir, with_pip=True, clear=True)
    python = os.path.join(venv_dir, "bin", "python")
    # Some of Odoo 18's pins build from source only with setuptools before 70.
    pip(python, "install", "--upgrade", "pip", "setuptools<70", "wheel")

    src = odoo_source(venv_dir)
    check_release(src)
    with open(os.path.join(src, "requirements.txt"), encoding="utf-8") as fh:
        lines, notes = patch_requirements(
            fh.read().splitlines(),
            libpq_headers=has_header("postgresql/libpq-fe.h")
            or has_header("libpq-fe.h"),
            ldap_headers=has_header("ldap.h") and has_header("sasl/sasl.h"),
        )
    for note in notes:
        say(f"Odoo requirements: {note}")
    patched = os.path.join(venv_dir, "odoo-requirements.txt")
    with open(patched, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    say("Installing Odoo 18.0's requirements")
    pip(python, "install", "-r", patched)
    say("Installing Odoo 18.0 (editable, from its source)")
    # "compat": the source folder goes on sys.path, so that the wheels of addons
    # (odoo/addons/<name> in site-packages) extend Odoo's own odoo.addons package.
    pip(
        python,
        "install",
        "--no-deps",
        "--no-build-isolation",
        "--config-settings",
        "editable_mode=compat",
        "-e",
        src,
    )
    say(
        "Installing the project's requirements (requirements.txt, requirements-dev.txt)"
    )
    pip(
        python,
        "install",
        "-r",
        os.path.join(project_root, "requirements.txt"),
        "-r",
        os.path.join(project_root, "requirements-dev.txt"),
    )
    say(f"Odoo 18.0 is set up in {venv_dir} ({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]))
