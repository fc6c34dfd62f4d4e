{
    "name": "Clock PMS (hotel core)",
    "summary": "Room types, reservations, folios, guarantee policies, booking engine "
    "and the MyBooking guest portal",
    "version": "18.0.1.0.0",
    "category": "Services/Hotel",
    "author": "Clock Hotel Payments",
    "license": "LGPL-3",
    "development_status": "Beta",
    "depends": ["mail", "portal", "website"],
    "data": [
        "security/clock_pms_security.xml",
        "security/ir.model.access.csv",
        "data/ir_sequence_data.xml",
        "data/ir_cron_data.xml",
        "data/mail_template_data.xml",
        "views/clock_room_type_views.xml",
        "views/clock_guarantee_policy_views.xml",
        "views/clock_folio_views.xml",
        "views/clock_reservation_views.xml",
        "views/clock_pms_menus.xml",
        "views/booking_templates.xml",
        "views/portal_templates.xml",
    ],
    "demo": [
        "demo/clock_pms_demo.xml",
    ],
    "assets": {
        "web.assets_frontend": [
            "clock_pms/static/src/js/booking_bot_protection.js",
        ],
        "web.assets_tests": [
            "clock_pms/static/tests/tours/*.js",
        ],
    },
    "installable": True,
    "application": True,
}
