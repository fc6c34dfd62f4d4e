/** @odoo-module */

import {registry} from "@web/core/registry";
import {
    bookCardDouble,
    CARD_INPUT,
    fillCard as fillCardSteps,
    SUBMIT_BUTTON,
    submit,
} from "@clock_stripe_payment/../tests/tours/tour_utils";

/*
 * Hotel card tours on localstripe's Stripe.js mock: book a room whose guarantee policy takes a
 * card (pay, hold or save), a declined card then a good one, and paying a bill on MyBooking. The
 * Python test creates the "Card Double" room type, sets its policy and opens /book with the dates.
 */

/**
 * Steps that pick the card method, type a card into the mock's Card Element and submit it.
 *
 * @param {String} number - The card number.
 * @returns {Object[]} The tour steps.
 */
function fillCard(number) {
    return [...fillCardSteps(number), ...submit()];
}

/**
 * Steps from the room offers to the card step.
 *
 * @returns {Object[]} The tour steps.
 */
function bookToCardStep() {
    return [
        ...bookCardDouble(),
        {
            content: "The summary announces the card step",
            trigger: ".clock_booking_card_notice",
        },
        {
            content: "Continue to the card step",
            trigger: "#clock_booking_finish",
            run: "click",
        },
        {
            content: "The card step shows the payment form",
            trigger: ".o_clock_booking_card_page #o_payment_form",
        },
    ];
}

/**
 * Steps that check the MyBooking page of a booking guaranteed by card.
 *
 * @returns {Object[]} The tour steps.
 */
function landGuaranteed() {
    return [
        {
            content: "MyBooking shows the booking guaranteed",
            trigger: ".o_clock_my_booking .clock_booking_guarantee_status:contains('Guaranteed')",
        },
        {
            content: "The card is on file, masked",
            trigger: ".clock_booking_cards .clock_card_label:contains('4242')",
        },
    ];
}

registry.category("web_tour.tours").add("clock_hotel_book_with_card", {
    steps: () => [...bookToCardStep(), ...fillCard("4242424242424242"), ...landGuaranteed()],
});

registry.category("web_tour.tours").add("clock_hotel_book_declined_then_good_card", {
    steps: () => [
        ...bookToCardStep(),
        ...fillCard("4000000000000341"),
        {
            content: "An error dialog explains the decline",
            trigger: ".modal .modal-body:contains(declined)",
        },
        {
            content: "Close the dialog",
            trigger: ".modal .modal-footer .btn-primary",
            run: "click",
        },
        {
            content: "Type another card number",
            trigger: `body:not(:has(.o_dialog)) ${CARD_INPUT}[placeholder="number"]`,
            run: "edit 4242424242424242",
        },
        {
            content: "Submit the other card",
            trigger: `${SUBMIT_BUTTON}:enabled`,
            run: "click",
        },
        ...landGuaranteed(),
    ],
});

registry.category("web_tour.tours").add("clock_hotel_pay_folio", {
    steps: () => [
        {
            content: "Pay the balance of the bill",
            trigger: ".clock_booking_folio .clock_folio_pay_button",
            run: "click",
        },
        {
            content: "The bill's payment page shows the balance",
            trigger: ".o_clock_booking_card_page .clock_folio_balance",
        },
        ...fillCard("4242424242424242"),
        {
            content: "Back on MyBooking, the card payment is on the bill",
            trigger: ".clock_booking_folio .clock_folio_lines tbody tr:contains('Card payment')",
        },
        {
            content: "Nothing is left to pay",
            trigger: ".clock_booking_folio:not(:has(.clock_folio_pay_button))",
        },
    ],
});

// MyBooking of a guest who came by the booking's link: a bill with a payment and a hold.
registry.category("web_tour.tours").add("clock_hotel_mybooking_wording", {
    steps: () => [
        {
            content: "A payment is shown as paid, beside the charges, without a minus sign",
            trigger:
                ".clock_booking_folio .clock_folio_lines tbody td.clock_folio_payment:contains('120.00'):not(:contains('-'))",
        },
        {
            content: "What is left to pay is named so",
            trigger: ".clock_booking_folio .clock_folio_left_to_pay:contains('Left to pay'):contains('180.00')",
        },
        {
            content: "What is held on the card is named as not charged",
            trigger: ".clock_booking_folio .clock_folio_held:contains('Held on your card, not charged'):contains('180.00')",
        },
        {
            content: "The guest learns there is nothing to pay now and what happens to the hold",
            trigger:
                ".clock_booking_folio .clock_folio_hold_note:contains('Nothing to pay now'):contains('releases the rest')",
        },
        {
            content: "No button invites the guest to pay what is already held",
            trigger: ".clock_booking_folio:not(:has(.clock_folio_pay_button))",
        },
    ],
});
