"""ICE address policy: which local addresses the SFU offers, which remote ones it tries.

aioice gathers host candidates on every non-loopback interface. A court server
often must offer only some of them, and a loopback-only server (tests, a demo
on one machine) must offer 127.0.0.1 and never probe other addresses.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Callable
from typing import Any

import aioice.ice
import aioice.stun

_original_get_host_addresses: Callable[[bool, bool], list[str]] = aioice.ice.get_host_addresses
_original_parse_message = aioice.stun.parse_message
STUN_MAGIC_COOKIE = b"\x21\x12\xa4\x42"


def _parse_stun_strictly(data: bytes) -> aioice.stun.Message:
    """STUN only if it looks like STUN (RFC 5389 section 6); anything else is media.

    aioice tries to parse every datagram as STUN without checking the magic
    cookie. An SRTP packet whose sequence number happens to equal its length
    minus 20 then parses far enough to raise ``struct.error``, which escapes
    aioice's receive callback and drops the packet. Refusing it with
    ``ValueError`` sends it on as the media it is.
    """
    if len(data) < 20 or data[0] & 0xC0 or data[4:8] != STUN_MAGIC_COOKIE:
        raise ValueError("not a STUN message")
    try:
        return _original_parse_message(data)
    except struct.error as exc:
        raise ValueError("malformed STUN message") from exc


_original_datagram_received = aioice.ice.StunProtocol.datagram_received


def _datagram_received(self: aioice.ice.StunProtocol, data: bytes, addr: tuple[Any, ...]) -> None:
    """aioice's datagram callback, with media (RTP/RTCP) passed on without a STUN parse.

    STUN's first two bits are 0 and RTP's are 10, so a packet with either of the
    top bits set cannot be STUN: aioice would parse it, raise and catch
    ``ValueError`` and then pass it on; at every media packet that costs.
    """
    if data and data[0] & 0xC0:
        self.receiver.data_received(data, self.local_candidate.component)
        return
    _original_datagram_received(self, data, addr)


def harden_stun_parsing() -> None:
    """Install the strict STUN check (and the media shortcut) for every ICE connection."""
    aioice.stun.parse_message = _parse_stun_strictly
    aioice.ice.StunProtocol.datagram_received = _datagram_received  # type: ignore[method-assign]


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
