/** @odoo-module */

import { registry } from "@web/core/registry";
import { fillCard, SUBMIT_BUTTON, submit } from "@clock_stripe_payment/../tests/tours/tour_utils";

/*
 * Tours of the "Stripe (hotel)" card form, run on localstripe's Stripe.js mock (see tour_utils.js);
 * its 3-D Secure page is a modal with "Complete authentication" and "Fail authentication" buttons.
 */

/**
 * Step that completes the mock's 3-D Secure page.
 *
 * @param {string} content - What is being authenticated.
 * @return {object} The tour step.
 */
function completeAuthentication(content) {
    return {
        content,
        trigger: 'button:contains("Complete authentication")',
        run: "click",
    };
}

/**
 * Steps that wait for the confirmation page of a successful payment.
 *
 * @return {object[]} The tour steps.
 */
function landOnConfirmation() {
    return [
        {
            content: "The confirmation page says the payment is done",
            trigger: 'div[name="o_payment_status_alert"].alert-success:contains("Thank you!")',
        },
    ];
}

registry.category("web_tour.tours").add("clock_stripe_pay_card", {
    steps: () => [...fillCard("4242424242424242"), ...submit(), ...landOnConfirmation()],
});

registry.category("web_tour.tours").add("clock_stripe_pay_card_declined", {
    steps: () => [
        ...fillCard("4000000000000341"),
        ...submit(),
        {
            content: "An error dialog explains the decline",
            trigger: '.modal .modal-title:contains("Payment processing failed")',
        },
        {
            content: "The dialog names the reason",
            trigger: ".modal .modal-body:contains(declined)",
        },
        {
            content: "Close the dialog",
            trigger: ".modal .modal-footer .btn-primary",
            run: "click",
        },
        {
            content: "The customer can try again",
            trigger: `body:not(:has(.o_dialog)) ${SUBMIT_BUTTON}:enabled`,
        },
    ],
});

registry.category("web_tour.tours").add("clock_stripe_pay_card_3ds", {
    steps: () => [
        ...fillCard("4000002500003155"),
        ...submit(),
        // localstripe asks for 3-D Secure when the card is set up and again when it is charged.
        completeAuthentication("Authenticate the card (setup)"),
        completeAuthentication("Authenticate the payment"),
        ...landOnConfirmation(),
    ],
});

registry.category("web_tour.tours").add("clock_stripe_save_card", {
    steps: () => [
        ...fillCard("4242424242424242"),
        ...submit(),
        {
            content: "Back on the payment methods page, the saved card is listed",
            trigger:
                'li[name="o_payment_option"]:has(input[data-payment-option-type="token"])' +
                ':contains("4242")',
        },
    ],
});

registry.category("web_tour.tours").add("clock_stripe_pay_card_address", {
    steps: () => [
        ...fillCard("4242424242424242"),
        {
            content: "The billing address is asked for, prefilled from the guest",
            trigger: 'input[name="o_clock_stripe_line1"]:value("1 Harbour Road")',
        },
        {
            content: "Clear the street",
            trigger: 'input[name="o_clock_stripe_line1"]',
            run: "clear",
        },
        ...submit(),
        {
            content: "The form says what is missing",
            trigger: '.modal .modal-title:contains("Incorrect payment details")',
        },
        {
            content: "The missing field is named",
            trigger: ".modal .modal-body:contains(Street)",
        },
        {
            content: "Close the dialog",
            trigger: ".modal .modal-footer .btn-primary",
            run: "click",
        },
        {
            content: "Type the street again",
            trigger: 'input[name="o_clock_stripe_line1"].is-invalid',
            run: "edit 2 Sea Garden Street",
        },
        ...submit(),
        ...landOnConfirmation(),
    ],
});

registry.category("web_tour.tours").add("clock_stripe_pay_token_3ds", {
    steps: () => [
        {
            content: "The saved card is selected",
            trigger: 'input[name="o_payment_radio"][data-payment-option-type="token"]:checked',
        },
        ...submit(),
        completeAuthentication("Authenticate the payment with the saved card"),
        ...landOnConfirmation(),
    ],
});
