"""Who an attempt is counted for in ``clock.request.budget``, as plain functions
(no ORM, no Odoo import).

A budget keyed on what a visitor can change for free does not hold: an IPv6
client gets a whole /64 from its provider and picks a new address in it at will,
and ``guest+1@example.com`` reaches the mailbox of ``guest@example.com``. The keys
below are the same for all of those.
"""

import ipaddress

#: Bits of an IPv6 address that one client (one subscriber's network) owns.
IPV6_CLIENT_PREFIX = 64


def address_key(address):
    """The budget key of a client address: an IPv4 address as it is, an IPv6
    address as its /64 network (an IPv4-mapped one as its IPv4 address).

    Something that is no address at all is its own key, stripped.
    """
    text = (address or "").strip()
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return text
    if ip.version == 4:
        return str(ip)
    if ip.ipv4_mapped:
        return str(ip.ipv4_mapped)
    host_bits = 128 - IPV6_CLIENT_PREFIX
    network = int(ip) >> host_bits << host_bits
    return str(ipaddress.IPv6Network((network, IPV6_CLIENT_PREFIX)))


def email_key(email):
    """The budget key of an e-mail address: lower case, without the ``+tag`` of
    its local part (``Guest+1@Example.com`` -> ``guest@example.com``).

    :param str email: one address, already normalised (``tools.email_normalize``
        or a partner's ``email_normalized``)
    :return: the key, or "" without an address
    """
    text = (email or "").strip().lower()
    local, at, domain = text.rpartition("@")
    if not at or not local:
        return text
    return f"{local.split('+', 1)[0] or local}@{domain}"
