import {registry} from "@web/core/registry";
import {searchRooms} from "@clock_pms/../tests/tours/booking_steps";

/**
 * A guest books the "Tour Suite" for two nights on the booking engine and lands on
 * the booking's MyBooking page. The test creates the room type with a `none`
 * guarantee policy.
 */
registry.category("web_tour.tours").add("clock_pms_book_room", {
    url: "/book",
    steps: () => [
        ...searchRooms(),
        {
            content: "The suite is offered for two nights",
            trigger: "#clock_booking_offers h2:contains('2 nights')",
        },
        {
            content: "Book the suite",
            trigger: ".clock_booking_offer:contains('Tour Suite') button[type=submit]",
            run: "click",
        },
        {
            content: "Give the guest's name",
            trigger: "#clock_booking_name",
            run: "edit Tour Guest",
        },
        {
            content: "Give the guest's e-mail",
            trigger: "#clock_booking_email",
            run: "edit tour.guest@example.com",
        },
        {
            content: "Give the guest's phone",
            trigger: "#clock_booking_phone",
            run: "edit +359 2 000 0000",
        },
        {
            content: "Go to the summary",
            trigger: "#clock_booking_to_summary",
            run: "click",
        },
        {
            content: "The summary shows the policy and no deposit",
            trigger: "#clock_booking_policy:contains('Tour policy'):contains('No deposit')",
        },
        {
            content: "Confirm the booking",
            trigger: "#clock_booking_finish",
            run: "click",
        },
        {
            content: "MyBooking shows the booking, confirmed",
            trigger: ".o_clock_my_booking .clock_booking_state:contains('Confirmed')",
        },
        {
            content: "MyBooking shows the reference and the room",
            trigger: ".o_clock_my_booking:has(.clock_booking_ref:not(:empty)):contains('Tour Suite')",
        },
        {
            content: "MyBooking shows the bill with both nights",
            trigger: ".clock_booking_folio .clock_folio_lines tbody tr:nth-child(2)",
        },
    ],
});
