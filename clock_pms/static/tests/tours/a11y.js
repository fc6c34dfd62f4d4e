/** @odoo-module */

import {registry} from "@web/core/registry";

/*
 * Accessibility check of the guest pages, run by the browser tours: axe-core checks the page
 * against WCAG 2.1 A and AA, and the tour fails on any serious or critical violation, naming the
 * page, the rule and the element.
 *
 * axe-core is not part of the repository: scripts/install_axe installs it from npm, and the Python
 * test (clock_pms/tests/test_accessibility.py, AxeMixin) serves it to the browser at AXE_URL through
 * the test browser's request interception (HttpCase.fetch_proxy).
 */

export const AXE_URL = "https://clock-axe.test/axe.min.js";

/** Rules of WCAG 2.0 and 2.1, levels A and AA. */
const AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];
const FAILING_IMPACTS = ["serious", "critical"];

/**
 * What the check leaves out: the website's header and footer (theme, menus) and the cookie bar
 * are not guest page content. Payment modules add their own (see `exclude` below).
 */
const EXCLUDED = ["#wrapwrap > header", "#wrapwrap > footer", "#website_cookies_bar"];

/**
 * Load axe-core into the page (once per page).
 *
 * @returns {Promise<Object>} The axe object.
 */
function loadAxe() {
    if (window.axe) {
        return Promise.resolve(window.axe);
    }
    return new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = AXE_URL;
        script.onload = () => resolve(window.axe);
        script.onerror = () =>
            reject(
                new Error(
                    `axe-core could not be loaded from ${AXE_URL}: the Python test serves it ` +
                        "(set CLOCK_AXE_JS or run scripts/install_axe)"
                )
            );
        document.head.appendChild(script);
    });
}

/**
 * One line per element that breaks a rule.
 *
 * @param {Object} violation - An axe result of the `violations` list.
 * @returns {String[]}
 */
function describeViolation(violation) {
    return violation.nodes.map((node) => {
        const html = node.html.replace(/\s+/g, " ").slice(0, 200);
        const summary = (node.failureSummary || "").replace(/\s+/g, " ").slice(0, 300);
        return (
            `- ${violation.id} (${violation.impact}): ${violation.help} ` +
            `| element ${node.target.join(" ")} | ${html} | ${summary}`
        );
    });
}

/**
 * Run axe-core on the current page and throw on any serious or critical violation.
 *
 * @param {String} page - The page's name, for the failure message.
 * @param {String[]} [exclude] - Selectors of more parts to leave out (not the guest page's own).
 */
export async function assertAccessible(page, exclude = []) {
    const axe = await loadAxe();
    const pageLang = document.documentElement.lang;
    const context = {
        exclude: [...EXCLUDED, ...exclude]
            .filter((selector) => document.querySelector(selector))
            .map((selector) => [selector]),
    };
    const results = await axe.run(
        context,
        {
            runOnly: {type: "tag", values: AXE_TAGS},
            resultTypes: ["violations"],
        }
    );
    const violations = results.violations.filter((violation) =>
        FAILING_IMPACTS.includes(violation.impact)
    );
    if (violations.length) {
        throw new Error(
            [
                `Accessibility: ${violations.length} serious or critical axe-core rule(s) ` +
                    `broken on ${page} (${window.location.pathname}, lang ${pageLang}):`,
                ...violations.flatMap(describeViolation),
            ].join("\n")
        );
    }
    // The Python test counts the pages checked from this line of the browser log.
    console.info(`clock_a11y: ${page} passed (${window.location.pathname}, lang ${pageLang})`);
}

/**
 * A tour step that checks the page once `trigger` is there.
 *
 * @param {String} page - The page's name, for the failure message.
 * @param {String} [trigger] - What to wait for before checking.
 * @param {String[]} [exclude] - Selectors of more parts to leave out.
 * @returns {Object} The tour step.
 */
export function checkPage(page, trigger = "#wrapwrap > main", exclude = []) {
    return {
        content: `Accessibility check: ${page}`,
        trigger,
        async run() {
            await assertAccessible(page, exclude);
        },
    };
}

/**
 * The name the Python test gives the page in the start URL's hash (`#a11y=<name>`).
 *
 * @returns {String}
 */
export function pageNameFromHash() {
    return new URLSearchParams(window.location.hash.slice(1)).get("a11y") || "page";
}

/*
 * The check of one page, opened at the tour's start URL.
 */
registry.category("web_tour.tours").add("clock_a11y_page", {
    steps: () => [checkPage(pageNameFromHash())],
});
