from odoo.tests import BaseCase, tagged

from ..budget_keys import address_key, email_key


@tagged("post_install", "-at_install")
class TestBudgetKeys(BaseCase):
    """Who an attempt is counted for (no database needed)."""

    def test_an_ipv4_address_is_its_own_key(self):
        self.assertEqual(address_key("203.0.113.7"), "203.0.113.7")
        self.assertNotEqual(address_key("203.0.113.7"), address_key("203.0.113.8"))

    def test_the_addresses_of_one_ipv6_client_share_a_key(self):
        first = address_key("2001:db8:1:2:aaaa::1")
        self.assertEqual(first, "2001:db8:1:2::/64")
        for other in ("2001:db8:1:2::ffff", "2001:DB8:1:2:dead:beef:0:1"):
            self.assertEqual(address_key(other), first, other)

    def test_the_next_ipv6_network_is_another_client(self):
        self.assertNotEqual(
            address_key("2001:db8:1:2::1"), address_key("2001:db8:1:3::1")
        )

    def test_an_ipv4_mapped_ipv6_address_is_its_ipv4_address(self):
        self.assertEqual(address_key("::ffff:203.0.113.7"), "203.0.113.7")

    def test_what_is_no_address_is_its_own_key(self):
        self.assertEqual(address_key(" unknown "), "unknown")
        self.assertEqual(address_key(None), "")

    def test_an_email_key_ignores_case_and_plus_tags(self):
        for email in (
            "guest@example.com",
            "Guest@Example.COM",
            "guest+1@example.com",
            "GUEST+booking+2@example.com",
        ):
            self.assertEqual(email_key(email), "guest@example.com", email)

    def test_other_mailboxes_keep_their_own_key(self):
        key = email_key("guest@example.com")
        self.assertNotEqual(email_key("guest2@example.com"), key)
        self.assertNotEqual(email_key("guest@example.org"), key)

    def test_a_local_part_that_is_only_a_tag_is_kept(self):
        self.assertEqual(email_key("+tag@example.com"), "+tag@example.com")

    def test_no_email_has_no_key(self):
        self.assertEqual(email_key(False), "")
        self.assertEqual(email_key(""), "")
