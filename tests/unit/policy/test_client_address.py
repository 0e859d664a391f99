"""X-Forwarded-For is honoured only from trusted proxies, walked from the right."""

from __future__ import annotations

import pytest

from wrapper.config import ConfigError, load_settings
from wrapper.policy.client_address import ClientAddressResolver, parse_address

TRUSTED = ("127.0.0.1", "10.0.0.0/8", "fd00::/8")


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        # No proxy configured for this peer: the header is ignored (anyone can send it).
        ("198.51.100.7", ["203.0.113.9"], "198.51.100.7"),
        # A trusted proxy: the address it received from is the client.
        ("127.0.0.1", ["203.0.113.9"], "203.0.113.9"),
        # Spoofed entries left of the real client are never reached.
        ("127.0.0.1", ["1.1.1.1, 203.0.113.9"], "203.0.113.9"),
        # A chain of trusted proxies is skipped from the right.
        ("10.1.2.3", ["203.0.113.9, 10.0.0.5, 10.9.9.9"], "203.0.113.9"),
        # Several header lines count as one list, in order.
        ("127.0.0.1", ["1.1.1.1", "203.0.113.9, 10.0.0.5"], "203.0.113.9"),
        # Ports and brackets are accepted.
        ("127.0.0.1", ["203.0.113.9:5555"], "203.0.113.9"),
        ("127.0.0.1", ["[2001:db8::1]:443"], "2001:db8::1"),
        ("fd00::1", ["2001:db8::2"], "2001:db8::2"),
        # Garbage stops the walk at the last good hop.
        ("127.0.0.1", ["not-an-ip, 10.0.0.5"], "10.0.0.5"),
        ("127.0.0.1", ["unknown"], "127.0.0.1"),
        # Every hop trusted: the leftmost one is the best we know.
        ("127.0.0.1", ["10.0.0.1, 10.0.0.2"], "10.0.0.1"),
        # No header: the peer.
        ("127.0.0.1", [], "127.0.0.1"),
        # IPv4-mapped IPv6 peers are their IPv4 address.
        ("::ffff:127.0.0.1", ["203.0.113.9"], "203.0.113.9"),
    ],
)
def test_resolve(peer: str, forwarded: list[str], expected: str) -> None:
    assert ClientAddressResolver(TRUSTED).resolve(peer, forwarded) == expected


def test_without_trusted_proxies_the_header_is_never_read() -> None:
    resolver = ClientAddressResolver()
    assert resolver.resolve("127.0.0.1", ["203.0.113.9"]) == "127.0.0.1"
    assert resolver.resolve("unknown", ["203.0.113.9"]) == "unknown"


def test_parse_address() -> None:
    assert str(parse_address(" 192.0.2.1 ")) == "192.0.2.1"
    assert parse_address("") is None
    assert parse_address("example.com") is None


def test_trusted_proxies_setting() -> None:
    settings = load_settings({"TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8 ,fd00::/8"})
    assert settings.trusted_proxies == ("127.0.0.1/32", "10.0.0.0/8", "fd00::/8")
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        load_settings({"TRUSTED_PROXIES": "10.0.0.0/33"})
