"""Accessibility check of the guest pages with axe-core, in the browser tours.

axe-core is installed from npm by ``scripts/install_axe`` into a cache folder outside
the repository (never committed). The tests read the path of its ``axe.min.js`` from
``CLOCK_AXE_JS``, or run the installer themselves; the test browser then gets the file
at ``AXE_URL`` through the request interception of the test browser
(``HttpCase.fetch_proxy``), and ``static/tests/tours/a11y.js`` runs it on each page.
"""

import base64
import os
import subprocess
from pathlib import Path
from urllib.parse import quote

from odoo.tests import HttpCase

#: Where the browser asks for axe-core (see static/tests/tours/a11y.js).
AXE_URL = "https://clock-axe.test/axe.min.js"
#: The installer, at the repository's root.
INSTALL_AXE = Path(__file__).resolve().parents[2] / "scripts" / "install_axe"
#: Modules whose Bulgarian terms show on the guest pages.
GUEST_PAGE_MODULES = ["web", "website", "portal", "payment", "clock_pms"]


def axe_js_path():
    """Path of axe-core's ``axe.min.js``: ``CLOCK_AXE_JS``, or what
    ``scripts/install_axe`` installs. Fail clearly when there is none."""
    path = os.environ.get("CLOCK_AXE_JS")
    if path:
        if not os.path.isfile(path):
            raise AssertionError(f"CLOCK_AXE_JS={path} is not a file")
        return path
    if not INSTALL_AXE.is_file():
        raise AssertionError(
            "axe-core is needed by the accessibility check: set CLOCK_AXE_JS to its "
            f"axe.min.js (installer {INSTALL_AXE} not found)"
        )
    result = subprocess.run(
        [str(INSTALL_AXE)], capture_output=True, text=True, timeout=300, check=False
    )
    lines = result.stdout.strip().splitlines()
    if result.returncode or not lines or not os.path.isfile(lines[-1]):
        raise AssertionError(
            f"{INSTALL_AXE} could not install axe-core (exit {result.returncode}): "
            f"{result.stderr.strip()[-500:]}"
        )
    return lines[-1]


class AxeMixin:
    """Serve axe-core to the test browser and check pages with it, in English and
    in Bulgarian (``/bg/...``)."""

    #: URL prefixes of the languages the pages are checked in.
    A11Y_LANGS = ("", "/bg")

    @classmethod
    def _setup_axe(cls, modules=None):
        cls._axe_source = Path(axe_js_path()).read_bytes()
        lang = cls.env["res.lang"]._activate_lang("bg_BG")
        website = cls.env["website"].get_current_website()
        website.language_ids |= lang
        cls.env["ir.module.module"]._load_module_terms(
            modules or GUEST_PAGE_MODULES, ["bg_BG"]
        )

    def fetch_proxy(self, url):
        if url == AXE_URL:
            return {
                "body": base64.b64encode(self._axe_source).decode(),
                "responseCode": 200,
                "responseHeaders": [
                    {"name": "Content-Type", "value": "text/javascript; charset=utf-8"},
                    {"name": "Access-Control-Allow-Origin", "value": "*"},
                ],
            }
        return super().fetch_proxy(url)

    def assertPageAccessible(self, url, page, login=None, tour="clock_a11y_page"):
        """Open ``url`` and fail on any serious or critical axe-core violation."""
        self.start_tour(f"{url}#a11y={quote(page)}", tour, login=login)

    def assertPagesAccessible(self, pages, login=None, tour="clock_a11y_page"):
        """Check each ``(path, page name)`` in every language; report each failure."""
        for prefix in self.A11Y_LANGS:
            for path, page in pages:
                with self.subTest(page=page, lang=prefix or "en"):
                    self.assertPageAccessible(
                        prefix + path,
                        f"{page} [{prefix.strip('/') or 'en'}]",
                        login=login,
                        tour=tour,
                    )


class AxeHttpCase(AxeMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_axe()
