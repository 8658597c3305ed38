"""The address a request came from, as the audit log records it.

``X-Forwarded-For`` is anyone's to write, so it is believed only when the
connection comes from a proxy the court named (``TYNDAU_TRUSTED_PROXIES``);
then the nearest address in it that is not one of those proxies is the client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from aiohttp import web


def _parse(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _trusted(
    address: str | None,
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network],
) -> bool:
    parsed = _parse(address or "")
    return parsed is not None and any(parsed in net for net in networks)


def client_address(request: web.Request, trusted_proxies: Iterable[str]) -> str | None:
    """The client's address: the peer, or behind a trusted proxy the forwarded one."""
    peer = request.remote
    networks = [ipaddress.ip_network(p, strict=False) for p in trusted_proxies]
    if not networks or not _trusted(peer, networks):
        return peer
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    # Walk from the proxy back towards the client; the first untrusted hop is the client.
    for hop in reversed(hops):
        if _parse(hop) is None:
            return peer  # garbage in the header: keep what we know for sure
        if not _trusted(hop, networks):
            return hop
    return hops[0] if hops else peer
