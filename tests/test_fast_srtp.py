"""The SFU's direct libsrtp calls encrypt and decrypt exactly as pylibsrtp does."""

from __future__ import annotations

import os

import pytest
from pylibsrtp import Error, Policy, Session

from server.sfu.aiortc_internals import FastSrtp

KEY = bytes(range(30))


def session(direction: int) -> Session:
    return Session(Policy(key=KEY, ssrc_type=direction))


def rtp(seq: int, size: int) -> bytes:
    return (
        bytes([0x80, 96])
        + seq.to_bytes(2, "big")
        + b"\x00\x00\x00\x01\x00\x00\x00\x02"
        + (os.urandom(size))
    )


def test_protect_is_pylibsrtps_and_unprotect_reverses_it() -> None:
    theirs, ours = session(Policy.SSRC_ANY_OUTBOUND), FastSrtp(session(Policy.SSRC_ANY_OUTBOUND))
    receiver = FastSrtp(session(Policy.SSRC_ANY_INBOUND))
    for seq, size in enumerate([0, 1, 100, 1100, 1300]):
        packet = rtp(seq, size)
        protected = ours.protect(packet)
        assert protected == theirs.protect(packet)
        assert receiver.unprotect(protected) == packet


def test_a_replayed_or_forged_packet_is_refused() -> None:
    sender, receiver = (
        FastSrtp(session(Policy.SSRC_ANY_OUTBOUND)),
        FastSrtp(session(Policy.SSRC_ANY_INBOUND)),
    )
    protected = sender.protect(rtp(1, 100))
    receiver.unprotect(protected)
    with pytest.raises(Error):
        receiver.unprotect(protected)  # replay
    forged = bytearray(sender.protect(rtp(2, 100)))
    forged[20] ^= 1
    with pytest.raises(Error):
        receiver.unprotect(bytes(forged))


def test_too_long_a_packet_is_refused() -> None:
    with pytest.raises(ValueError, match="too long"):
        FastSrtp(session(Policy.SSRC_ANY_OUTBOUND)).protect(rtp(1, 4000))
