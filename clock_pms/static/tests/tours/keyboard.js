/** @odoo-module */

import * as hoot from "@odoo/hoot-dom";

/*
 * Tour steps that use the keyboard only: Tab moves the focus, typing goes to the focused field,
 * Enter and Space act on the focused element. No step clicks, and each step fails if a mouse or
 * pointer event happened on the page (a guard counts them).
 *
 * Tab and typing are hoot's keyboard simulation (`press("Tab")` focuses the next tabbable element;
 * `fill` types each character). A script cannot make the browser run the default action of a
 * synthetic Enter or Space, so `pressEnter` and `selectRadio` dispatch the key events and then do
 * what Chromium does for the key on the focused element when no handler prevented it: activate
 * a focused link or button (a click with no pointer), submit the form of a focused text field
 * through its default button (implicit submission), and toggle a focused radio or checkbox.
 */

const POINTER_EVENTS = ["pointerdown", "pointerup", "mousedown", "mouseup"];

/**
 * Count pointer events on this page; throw if there was any.
 */
function guardKeyboardOnly() {
    if (!window.__clockKeyboardOnly) {
        window.__clockKeyboardOnly = {pointerEvents: []};
        for (const type of POINTER_EVENTS) {
            window.addEventListener(
                type,
                (ev) => window.__clockKeyboardOnly.pointerEvents.push(`${type} on ${ev.target.tagName}`),
                true
            );
        }
    }
    const seen = window.__clockKeyboardOnly.pointerEvents;
    if (seen.length) {
        throw new Error(`Keyboard-only tour, but the page got pointer events: ${seen.join(", ")}`);
    }
}

/**
 * Whether the focused element is one of `selector` (hoot's selectors, `:contains` included).
 *
 * @param {String} selector
 * @returns {Boolean}
 */
function isFocused(selector) {
    return Boolean(document.activeElement) && hoot.queryAll(selector).includes(document.activeElement);
}

/**
 * The focused element, checked against `selector`.
 *
 * @param {String} selector
 * @returns {HTMLElement}
 */
function focused(selector) {
    const element = document.activeElement;
    if (!isFocused(selector)) {
        throw new Error(
            `The focus is on ${element?.outerHTML.slice(0, 120)}, not on ${selector}`
        );
    }
    return element;
}

/**
 * Dispatch a key's keydown; return whether no handler prevented its default action.
 *
 * @param {HTMLElement} element
 * @param {String} key
 * @param {String} type
 * @returns {Boolean}
 */
function dispatchKey(element, key, type) {
    return element.dispatchEvent(
        new KeyboardEvent(type, {key, code: key === " " ? "Space" : key, bubbles: true, cancelable: true})
    );
}

/**
 * Press Tab until `selector` has the focus (at most `maxTabs` times); throw if it is not reached.
 *
 * @param {String} selector
 * @param {Number} maxTabs
 */
async function tabUntil(selector, maxTabs) {
    for (let count = 0; count < maxTabs; count++) {
        if (isFocused(selector)) {
            return;
        }
        await hoot.press("Tab");
    }
    throw new Error(`${selector} is not reached with ${maxTabs} presses of Tab`);
}

/**
 * Press Tab until `selector` has the focus (at most `maxTabs` times).
 *
 * @param {String} content
 * @param {String} selector
 * @param {Number} [maxTabs]
 * @returns {Object} The tour step.
 */
export function tabTo(content, selector, maxTabs = 80) {
    return {
        content: `Keyboard: Tab to ${content}`,
        trigger: selector,
        async run() {
            guardKeyboardOnly();
            await tabUntil(selector, maxTabs);
        },
    };
}

/**
 * Type `text` into the focused field (`selector`), replacing its value.
 *
 * @param {String} content
 * @param {String} selector
 * @param {String} text
 * @returns {Object} The tour step.
 */
export function type(content, selector, text) {
    return {
        content: `Keyboard: type ${content}`,
        trigger: selector,
        async run() {
            guardKeyboardOnly();
            const element = focused(selector);
            if (element.value) {
                await hoot.clear();
            }
            await hoot.fill(text);
        },
    };
}

/**
 * Press Enter on the focused element (`selector`).
 *
 * @param {String} content
 * @param {String} selector
 * @returns {Object} The tour step.
 */
export function pressEnter(content, selector) {
    return {
        content: `Keyboard: Enter on ${content}`,
        trigger: selector,
        run() {
            guardKeyboardOnly();
            const element = focused(selector);
            // Marks this page as left, for `onNewPage` (a reload looks the same).
            document.body.dataset.clockKeyboardLeft = "1";
            if (dispatchKey(element, "Enter", "keydown")) {
                const tag = element.tagName;
                if (tag === "A" || tag === "BUTTON" || ["submit", "button"].includes(element.type)) {
                    element.click();
                } else if (element.form && tag === "INPUT") {
                    const defaultButton = element.form.querySelector(
                        "button[type=submit], button:not([type]), input[type=submit]"
                    );
                    if (defaultButton) {
                        defaultButton.click();
                    } else {
                        element.form.requestSubmit();
                    }
                }
            }
            dispatchKey(element, "Enter", "keyup");
        },
    };
}

/**
 * Select a radio (`selector`) with the keyboard: Tab to it and press Space, unless it is selected
 * already (a form with a single option selects it, and may hide it).
 *
 * @param {String} content
 * @param {String} selector
 * @param {String} trigger - The form the radio is in, once ready.
 * @returns {Object} The tour step.
 */
export function selectRadio(content, selector, trigger) {
    return {
        content: `Keyboard: select ${content}`,
        trigger,
        async run() {
            guardKeyboardOnly();
            const radio = document.querySelector(selector);
            if (!radio || radio.checked) {
                return;
            }
            await tabUntil(selector, 80);
            dispatchKey(radio, " ", "keydown");
            if (dispatchKey(radio, " ", "keyup")) {
                radio.click();
            }
        },
    };
}

/**
 * A step that waits for the page that a `pressEnter` loaded (even the same page again).
 *
 * @param {String} content
 * @param {String} trigger
 * @returns {Object} The tour step.
 */
export function onNewPage(content, trigger) {
    return {
        content,
        trigger: `body:not([data-clock-keyboard-left]) ${trigger}`,
    };
}

/**
 * A step that fails if the page got any pointer event.
 *
 * @param {String} trigger
 * @returns {Object} The tour step.
 */
export function noPointerEvents(trigger) {
    return {
        content: "Keyboard: no mouse or pointer event on this page",
        trigger,
        run() {
            guardKeyboardOnly();
        },
    };
}
