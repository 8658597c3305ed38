"""ICE details the SFU relies on: strict STUN recognition and the loopback policy."""

from __future__ import annotations

from types import SimpleNamespace

import aioice.ice
import aioice.stun
import pytest

from server.sfu import ice


def test_an_srtp_packet_that_looks_like_stun_is_media_not_a_crash() -> None:
    ice.harden_stun_parsing()
    # An RTP header whose sequence number (8) equals its length minus 20.
    lookalike = b"\x80\x60\x00\x08" + bytes(16) + b"\x00\x24\x00\x02\x00\x00\x00\x00"
    with pytest.raises(ValueError, match="not a STUN message"):
        aioice.stun.parse_message(lookalike)
    request = aioice.stun.Message(
        message_method=aioice.stun.Method.BINDING, message_class=aioice.stun.Class.REQUEST
    )
    parsed = aioice.stun.parse_message(bytes(request))
    assert parsed.transaction_id == request.transaction_id


async def test_media_skips_the_stun_parse_and_stun_still_reaches_aioice() -> None:
    ice.harden_stun_parsing()
    seen: list[tuple[str, object]] = []
    receiver = SimpleNamespace(
        data_received=lambda data, component: seen.append(("data", data)),
        request_received=lambda message, addr, protocol: seen.append(("stun", message)),
    )
    protocol = aioice.ice.StunProtocol(receiver)
    protocol.local_candidate = SimpleNamespace(component=1)
    rtp = b"\x80\x60\x00\x08" + bytes(16) + b"\x00\x24\x00\x02\x00\x00\x00\x00"
    dtls = b"\x16\xfe\xfd" + bytes(20)
    request = aioice.stun.Message(
        message_method=aioice.stun.Method.BINDING, message_class=aioice.stun.Class.REQUEST
    )
    for datagram in (rtp, dtls, bytes(request)):
        protocol.datagram_received(datagram, ("127.0.0.1", 5000))
    assert seen[0] == ("data", rtp)
    assert seen[1] == ("data", dtls)
    assert seen[2][0] == "stun"
    assert seen[2][1].transaction_id == request.transaction_id  # type: ignore[attr-defined]


def test_candidate_filtering_for_a_loopback_only_server() -> None:
    sdp = (
        "v=0\r\n"
        "a=candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host\r\n"
        "a=candidate:2 1 udp 2130706431 192.0.2.2 50001 typ host\r\n"
        "a=candidate:3 1 udp 2130706431 abcd.local 50002 typ host\r\n"
    )
    kept = ice.filter_sdp_candidates(sdp, ice.loopback_address)
    assert "127.0.0.1" in kept
    assert "192.0.2.2" not in kept
    assert ".local" not in kept
    assert ice.is_loopback_only(["127.0.0.1", "::1"])
    assert not ice.is_loopback_only(["127.0.0.1", "10.0.0.5"])
    assert not ice.is_loopback_only([])
