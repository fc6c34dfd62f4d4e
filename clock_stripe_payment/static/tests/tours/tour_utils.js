/** @odoo-module */

/*
 * Steps shared by the card tours, on localstripe's Stripe.js mock: its Card Element is five plain
 * inputs (number, exp_month, exp_year, cvc, postal_code).
 */

export const CARD_RADIO =
    'input[name="o_payment_radio"][data-provider-code="clock_stripe"]' +
    '[data-payment-method-code="card"]';
export const CARD_INPUT = '[name="o_clock_stripe_card_element"] input';
export const SUBMIT_BUTTON = 'button[name="o_payment_submit_button"]';

/**
 * Steps that pick the card method and type a card into the mock's Card Element.
 *
 * @param {string} number - The card number.
 * @return {object[]} The tour steps.
 */
export function fillCard(number) {
    return [
        {
            content: "Select the card method of Stripe (hotel)",
            trigger: CARD_RADIO,
            run: "click",
        },
        {
            content: "The card form is mounted",
            trigger: `${CARD_INPUT}[placeholder="number"]`,
        },
        {
            content: "Type the card number",
            trigger: `${CARD_INPUT}[placeholder="number"]`,
            run: `edit ${number}`,
        },
        {
            content: "Type the expiry month",
            trigger: `${CARD_INPUT}[placeholder="exp_month"]`,
            run: "edit 12",
        },
        {
            content: "Type the expiry year",
            trigger: `${CARD_INPUT}[placeholder="exp_year"]`,
            run: "edit 34",
        },
        {
            content: "Type the CVC",
            trigger: `${CARD_INPUT}[placeholder="cvc"]`,
            run: "edit 123",
        },
        {
            content: "Type the postal code",
            trigger: `${CARD_INPUT}[placeholder="postal_code"]`,
            run: "edit 12345",
        },
    ];
}

/**
 * Steps that submit the payment form.
 *
 * @return {object[]} The tour steps.
 */
export function submit() {
    return [
        {
            content: "Submit the payment form",
            trigger: `${SUBMIT_BUTTON}:enabled`,
            run: "click",
        },
    ];
}

/**
 * Steps from the room offers to the booking's summary: book the "Card Double" as Card Guest.
 *
 * @returns {Object[]} The tour steps.
 */
export function bookCardDouble() {
    return [
        {
            content: "Book the card double",
            trigger: ".clock_booking_offer:contains('Card Double') button[type=submit]",
            run: "click",
        },
        {
            content: "Give the guest's name",
            trigger: "#clock_booking_name",
            run: "edit Card Guest",
        },
        {
            content: "Give the guest's e-mail",
            trigger: "#clock_booking_email",
            run: "edit card.guest@example.com",
        },
        {
            content: "Go to the summary",
            trigger: "#clock_booking_to_summary",
            run: "click",
        },
    ];
}
