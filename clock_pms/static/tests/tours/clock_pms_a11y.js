/** @odoo-module */

import {registry} from "@web/core/registry";
import {checkPage} from "@clock_pms/../tests/tours/a11y";
import {searchRooms} from "@clock_pms/../tests/tours/booking_steps";

/**
 * Every step of the booking engine, each checked with axe-core (see a11y.js): dates, offers,
 * guest details (also with an error), summary, and the booking's MyBooking page it ends on.
 * Steps find elements by id, not by text, so that the tour runs in every language. The Python
 * test (tests/test_accessibility.py) creates the "Web Family" room type (policy: deposit by
 * transfer).
 */
registry.category("web_tour.tours").add("clock_pms_a11y_booking", {
    steps: () => [
        checkPage("booking engine: dates", "#clock_booking_search_form"),
        ...searchRooms(),
        checkPage("booking engine: offers", "#clock_booking_offers .clock_booking_offer"),
        {
            content: "Book the family room",
            trigger: ".clock_booking_offer:contains('Web Family') button[type=submit]",
            run: "click",
        },
        checkPage("booking engine: guest details", "#clock_booking_details_form"),
        {
            content: "Give the guest's name",
            trigger: "#clock_booking_name",
            run: "edit A11y Guest",
        },
        {
            content: "Give an e-mail address the server refuses",
            trigger: "#clock_booking_email",
            run() {
                // The browser would refuse it first: let the server answer instead.
                this.anchor.form.noValidate = true;
                this.anchor.value = "a11y.guest@";
            },
        },
        {
            content: "Go to the summary",
            trigger: "#clock_booking_to_summary",
            run: "click",
        },
        checkPage("booking engine: guest details with an error", ".clock_booking_error"),
        {
            content: "Correct the e-mail address",
            trigger: "#clock_booking_email",
            run: "edit a11y.guest@example.com",
        },
        {
            content: "Go to the summary",
            trigger: "#clock_booking_to_summary",
            run: "click",
        },
        checkPage("booking engine: summary", "#clock_booking_finish_form"),
        {
            content: "Confirm the booking",
            trigger: "#clock_booking_finish",
            run: "click",
        },
        checkPage("MyBooking: booking page after booking", ".o_clock_my_booking"),
    ],
});
