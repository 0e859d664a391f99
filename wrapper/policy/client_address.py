"""The client's address, honouring ``X-Forwarded-For`` only from trusted proxies.

Behind a reverse proxy every request comes from the proxy's address, so limits
per address would lump all clients together. ``X-Forwarded-For`` fixes that,
but anyone can send it: it is read only when the direct peer is one of
``TRUSTED_PROXIES`` (addresses or CIDR networks). The list is then walked from
the right — each trusted proxy appended the address it received from — and the
first address that is not a trusted proxy is the client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_address(raw: str) -> IPAddress | None:
    """An IP address from a peer or forwarded entry (``1.2.3.4``, ``1.2.3.4:80``, ``[::1]:80``)."""
    text = raw.strip().strip('"')
    if text.startswith("["):
        end = text.find("]")
        text = text[1:end] if end != -1 else text
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class ClientAddressResolver:
    """Finds the client address of a request from its peer and forwarded headers."""

    def __init__(self, trusted_proxies: Iterable[str] = ()) -> None:
        self.networks: tuple[IPNetwork, ...] = tuple(
            ipaddress.ip_network(network, strict=False) for network in trusted_proxies
        )

    def _trusted(self, address: IPAddress) -> bool:
        return any(address in network for network in self.networks)

    def resolve(self, peer: str, forwarded_for: Sequence[str] = ()) -> str:
        """The client address for a request from ``peer`` with these header values."""
        peer_address = parse_address(peer)
        if peer_address is None or not self.networks or not self._trusted(peer_address):
            return str(peer_address) if peer_address is not None else peer
        hops = [hop for value in forwarded_for for hop in value.split(",") if hop.strip()]
        current = peer_address
        for hop in reversed(hops):
            address = parse_address(hop)
            if address is None:
                break
            current = address
            if not self._trusted(address):
                break
        return str(current)
