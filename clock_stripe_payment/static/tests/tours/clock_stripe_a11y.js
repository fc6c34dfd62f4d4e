/** @odoo-module */

import {registry} from "@web/core/registry";
import {checkPage, pageNameFromHash} from "@clock_pms/../tests/tours/a11y";
import {
    noPointerEvents,
    onNewPage,
    pressEnter,
    selectRadio,
    tabTo,
    type,
} from "@clock_pms/../tests/tours/keyboard";
import {
    bookCardDouble,
    CARD_INPUT,
    CARD_RADIO,
    fillCard,
    SUBMIT_BUTTON,
    submit,
} from "@clock_stripe_payment/../tests/tours/tour_utils";

/*
 * Accessibility of the card pages (see clock_pms' a11y.js), and a booking made and paid with the
 * keyboard alone. The Stripe card element is left out of the axe-core check: in tests it holds the
 * Stripe double's Stripe.js mock (localstripe's inputs, with placeholders and no labels), a
 * stand-in for Stripe's own Card Element, an iframe that Stripe makes accessible.
 */

const CARD_ELEMENT = ".o_clock_stripe_card_element";
/** The page, once a shown card element has been mounted by Stripe.js. */
const CARD_FORM_READY = `#wrapwrap > main:not(:has(${CARD_ELEMENT}:visible:empty))`;

/**
 * A step that checks a page that may hold the card form.
 *
 * @param {String} page
 * @param {String} [trigger]
 * @returns {Object}
 */
function checkCardPage(page, trigger = CARD_FORM_READY) {
    return checkPage(page, trigger, [CARD_ELEMENT]);
}

/**
 * Show the card form when the page has a payment form whose card method is not selected.
 */
const showCardForm = {
    content: "Show the card form, if the page has a payment form",
    trigger: "#wrapwrap > main",
    run() {
        const radio = document.querySelector(`${CARD_RADIO}:not(:checked)`);
        if (radio) {
            radio.click();
        }
    },
};

/* One page, opened at the tour's start URL, with its card form shown. */
registry.category("web_tour.tours").add("clock_stripe_a11y_page", {
    steps: () => [showCardForm, checkCardPage(pageNameFromHash())],
});

/*
 * The booking engine under a card policy: summary with the card notice, the card step, then
 * MyBooking with the card on file. Starts on the offers (dates in the URL).
 */
registry.category("web_tour.tours").add("clock_stripe_a11y_booking", {
    steps: () => [
        ...bookCardDouble(),
        checkCardPage("booking engine: summary with the card step", ".clock_booking_card_notice"),
        {
            content: "Continue to the card step",
            trigger: "#clock_booking_finish",
            run: "click",
        },
        showCardForm,
        checkCardPage("card step: guarantee page", `.o_clock_booking_card_page ${CARD_INPUT}`),
        ...fillCard("4242424242424242"),
        ...submit(),
        checkCardPage(
            "MyBooking: booking guaranteed by card",
            ".o_clock_my_booking .clock_booking_cards .clock_card_label"
        ),
    ],
});

/*
 * A guest books a room and pays the deposit with the keyboard alone (see keyboard.js): search,
 * offer, guest details, summary, card step, and MyBooking. Starts on /book with the dates in the
 * URL (the search form is filled in; its date fields are the browser's own).
 */
registry.category("web_tour.tours").add("clock_stripe_keyboard_booking", {
    steps: () => [
        tabTo("the search button", "#clock_booking_search"),
        pressEnter("the search button", "#clock_booking_search"),
        onNewPage("The offers are shown", "#clock_booking_offers"),
        tabTo(
            "the card double's booking button",
            ".clock_booking_offer:contains('Card Double') button[type=submit]"
        ),
        pressEnter(
            "the card double's booking button",
            ".clock_booking_offer:contains('Card Double') button[type=submit]"
        ),
        tabTo("the name", "#clock_booking_name"),
        type("the name", "#clock_booking_name", "Key Board"),
        tabTo("the e-mail", "#clock_booking_email"),
        type("the e-mail", "#clock_booking_email", "key.board@example.com"),
        pressEnter("the e-mail (submits the form)", "#clock_booking_email"),
        onNewPage("The summary announces the card step", ".clock_booking_card_notice"),
        tabTo("the confirm button", "#clock_booking_finish"),
        pressEnter("the confirm button", "#clock_booking_finish"),
        selectRadio("the card method", CARD_RADIO, ".o_clock_booking_card_page #o_payment_form"),
        tabTo("the card number", `${CARD_INPUT}[placeholder="number"]`),
        type("the card number", `${CARD_INPUT}[placeholder="number"]`, "4242424242424242"),
        tabTo("the expiry month", `${CARD_INPUT}[placeholder="exp_month"]`),
        type("the expiry month", `${CARD_INPUT}[placeholder="exp_month"]`, "12"),
        tabTo("the expiry year", `${CARD_INPUT}[placeholder="exp_year"]`),
        type("the expiry year", `${CARD_INPUT}[placeholder="exp_year"]`, "34"),
        tabTo("the CVC", `${CARD_INPUT}[placeholder="cvc"]`),
        type("the CVC", `${CARD_INPUT}[placeholder="cvc"]`, "123"),
        tabTo("the postal code", `${CARD_INPUT}[placeholder="postal_code"]`),
        type("the postal code", `${CARD_INPUT}[placeholder="postal_code"]`, "12345"),
        tabTo("the pay button", `${SUBMIT_BUTTON}:enabled`),
        noPointerEvents(SUBMIT_BUTTON),
        pressEnter("the pay button", `${SUBMIT_BUTTON}:enabled`),
        {
            content: "MyBooking shows the booking guaranteed",
            trigger: ".o_clock_my_booking .clock_booking_guarantee_status:contains('Guaranteed')",
        },
        noPointerEvents(".o_clock_my_booking"),
    ],
});
