"""ICE address policy: which local addresses the SFU offers, which remote ones it tries.

aioice gathers host candidates on every non-loopback interface. A court server
often must offer only some of them, and a loopback-only server (tests, a demo
on one machine) must offer 127.0.0.1 and never probe other addresses.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import aioice.ice

_original_get_host_addresses: Callable[[bool, bool], list[str]] = aioice.ice.get_host_addresses


def restrict_host_addresses(addresses: list[str]) -> None:
    """Gather ICE candidates only on ``addresses`` (empty restores aioice's default).

    aioice reads this module-level function for every gathering, so the policy
    applies to the whole process.
    """
    if not addresses:
        aioice.ice.get_host_addresses = _original_get_host_addresses
        return
    parsed = [ipaddress.ip_address(address) for address in addresses]

    def configured(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [
            str(ip)
            for ip in parsed
            if (ip.version == 4 and use_ipv4) or (ip.version == 6 and use_ipv6)
        ]

    aioice.ice.get_host_addresses = configured


def is_loopback_only(addresses: list[str]) -> bool:
    return bool(addresses) and all(ipaddress.ip_address(a).is_loopback for a in addresses)


def candidate_address(candidate_line: str) -> str | None:
    """The connection address of an ``a=candidate`` / ``candidate:`` line, if parseable."""
    parts = candidate_line.split()
    if len(parts) < 8:
        return None
    return parts[4]


def filter_sdp_candidates(sdp: str, keep: Callable[[str], bool]) -> str:
    """Drop ``a=candidate`` lines whose address ``keep`` rejects."""
    lines = sdp.splitlines(keepends=True)
    kept = []
    for line in lines:
        if line.startswith("a=candidate:"):
            address = candidate_address(line.strip())
            if address is None or not keep(address):
                continue
        kept.append(line)
    return "".join(kept)


def loopback_address(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False  # mDNS names (*.local) and garbage never resolve to loopback here
