{
    "name": "Hotel card payments through Stripe",
    "summary": "Stripe (hotel) payment provider: card tokenization, holds, capture, "
    "refunds and folio posting for Clock PMS",
    "version": "18.0.1.0.0",
    "category": "Accounting/Payment Providers",
    "author": "Clock Hotel Payments",
    "license": "LGPL-3",
    "development_status": "Alpha",
    "depends": ["clock_pms", "payment", "account_payment", "portal"],
    "external_dependencies": {"python": ["stripe"]},
    "data": [
        # Hotel payments group, before the access rights that use it.
        "security/hotel_payment_security.xml",
        "security/ir.model.access.csv",
        "views/payment_clock_stripe_templates.xml",
        "views/clock_stripe_event_views.xml",
        "views/payment_provider_views.xml",
        "views/res_config_settings_views.xml",
        "views/clock_card_retention_settings_views.xml",
        # Refers to the templates above.
        "data/payment_provider_data.xml",
        # Hotel flows: card step, MyBooking, back-office operations, folio posting.
        "data/clock_card_mail_template_data.xml",
        "data/clock_card_retention_cron_data.xml",
        "data/clock_stripe_unanswered_cron_data.xml",
        "views/clock_reservation_views.xml",
        "views/clock_folio_views.xml",
        "views/clock_guarantee_policy_views.xml",
        "views/account_payment_views.xml",
        "views/clock_booking_portal_templates.xml",
        "wizards/clock_card_link_wizard_views.xml",
        "wizards/clock_charge_wizard_views.xml",
        "wizards/clock_capture_wizard_views.xml",
        "wizards/clock_refund_wizard_views.xml",
        # Payment Autopilot.
        "security/clock_autopilot_security.xml",
        "data/clock_autopilot_mail_templates.xml",
        "data/clock_autopilot_cron.xml",
        "views/clock_autopilot_task_views.xml",
        "views/clock_autopilot_run_views.xml",
        "views/clock_autopilot_preview_views.xml",
        "views/clock_reservation_autopilot_views.xml",
        "views/clock_autopilot_menus.xml",
    ],
    "demo": [
        "demo/clock_hotel_card_demo.xml",
        "demo/clock_autopilot_demo.xml",
    ],
    "assets": {
        # The card form: Stripe.js Card Element in Odoo's payment form.
        "web.assets_frontend": [
            "clock_stripe_payment/static/src/js/payment_form.js",
        ],
        "web.assets_tests": [
            "clock_stripe_payment/static/tests/tours/**/*",
        ],
    },
    "post_init_hook": "post_init_hook",
    "uninstall_hook": "uninstall_hook",
    "installable": True,
}
