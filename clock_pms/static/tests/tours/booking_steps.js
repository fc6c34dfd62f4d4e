/** @odoo-module */

/*
 * Steps shared by the booking engine tours.
 */

/**
 * An ISO date (yyyy-mm-dd) `days` days from today, in the browser's time zone.
 *
 * @param {Number} days
 * @returns {String}
 */
function isoDateIn(days) {
    const date = new Date();
    date.setDate(date.getDate() + days);
    const month = String(date.getMonth() + 1).padStart(2, "0");
    const day = String(date.getDate()).padStart(2, "0");
    return `${date.getFullYear()}-${month}-${day}`;
}

/**
 * On `/book`: look for rooms for two guests, arriving in 10 days for two nights.
 *
 * @returns {Object[]} The tour steps.
 */
export function searchRooms() {
    return [
        {
            content: "Choose the arrival date",
            trigger: "#clock_booking_arrival",
            run() {
                this.anchor.value = isoDateIn(10);
            },
        },
        {
            content: "Choose the departure date",
            trigger: "#clock_booking_departure",
            run() {
                this.anchor.value = isoDateIn(12);
            },
        },
        {
            content: "Two guests",
            trigger: "#clock_booking_guests",
            run: "edit 2",
        },
        {
            content: "Look for rooms",
            trigger: "#clock_booking_search",
            run: "click",
        },
    ];
}
