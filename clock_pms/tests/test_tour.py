from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestBookingTour(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        hotel = cls.env["website"].get_current_website().company_id
        policy = cls.env["clock.guarantee.policy"].create(
            {
                "name": "Tour policy",
                "company_id": hotel.id,
                "payment_option": "none",
                "guest_text": "<p>Nothing to pay before your stay.</p>",
            }
        )
        cls.room_type = cls.env["clock.room.type"].create(
            {
                "name": "Tour Suite",
                "code": "TOURSUITE",
                "company_id": hotel.id,
                "price": 150.0,
                "capacity": 3,
                "guarantee_policy_id": policy.id,
            }
        )

    def test_guest_books_a_room_and_sees_it_on_mybooking(self):
        self.start_tour("/book", "clock_pms_book_room", login=None)
        booking = self.env["clock.reservation"].search(
            [("room_type_id", "=", self.room_type.id)]
        )
        self.assertRecordValues(
            booking,
            [
                {
                    "state": "confirmed",
                    "channel": "booking_engine",
                    "guest_count": 2,
                    "nights": 2,
                    "amount_total": 300.0,
                    "guarantee_status": "not_required",
                }
            ],
        )
        self.assertEqual(booking.partner_id.email, "tour.guest@example.com")
        self.assertEqual(len(booking.folio_ids.line_ids), 2)
