"""The forwarded copy's header, packed from a template, is byte for byte aiortc's."""

from __future__ import annotations

from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpSendParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket
from hypothesis import given
from hypothesis import strategies as st

from server.sfu.rtpheader import (
    ABS_SEND_TIME_URI,
    AUDIO_LEVEL_URI,
    MID_URI,
    HeaderTemplate,
)

ids = st.one_of(st.none(), st.integers(1, 14), st.integers(15, 255))
mids = st.one_of(st.none(), st.text("0123456789abc", min_size=1, max_size=20))
levels = st.one_of(st.none(), st.tuples(st.booleans(), st.integers(0, 127)))


def aiortc_header(
    parameters: RTCRtpSendParameters,
    payload_type: int,
    ssrc: int,
    seq: int,
    ts: int,
    marker: int,
    abs_send_time: int,
    level: tuple[bool, int] | None,
) -> bytes:
    """What ``Downstream.forward`` sent before the template: an ``RtpPacket``, serialized."""
    extensions = HeaderExtensionsMap()
    extensions.configure(parameters)
    packet = RtpPacket(
        payload_type=payload_type, marker=marker, sequence_number=seq, timestamp=ts, ssrc=ssrc
    )
    packet.extensions.mid = parameters.muxId
    packet.extensions.abs_send_time = abs_send_time
    if level is not None:
        packet.extensions.audio_level = level
    return packet.serialize(extensions)


@given(
    mid_id=ids,
    abs_id=ids,
    level_id=ids,
    mid=mids,
    payload_type=st.integers(0, 127),
    ssrc=st.integers(0, 2**32 - 1),
    seq=st.integers(0, 0xFFFF),
    ts=st.integers(0, 2**32 - 1),
    marker=st.integers(0, 1),
    abs_send_time=st.integers(0, 0xFFFFFF),
    level=levels,
)
def test_template_packs_what_aiortc_serializes(
    mid_id: int | None,
    abs_id: int | None,
    level_id: int | None,
    mid: str | None,
    payload_type: int,
    ssrc: int,
    seq: int,
    ts: int,
    marker: int,
    abs_send_time: int,
    level: tuple[bool, int] | None,
) -> None:
    chosen = {MID_URI: mid_id, ABS_SEND_TIME_URI: abs_id, AUDIO_LEVEL_URI: level_id}
    taken = [i for i in chosen.values() if i is not None]
    if len(set(taken)) != len(taken):
        return  # one id per extension
    parameters = RTCRtpSendParameters(
        headerExtensions=[
            RTCRtpHeaderExtensionParameters(id=i, uri=uri)
            for uri, i in chosen.items()
            if i is not None
        ],
        muxId=mid or "",
    )
    template = HeaderTemplate(payload_type=payload_type, ssrc=ssrc, parameters=parameters)
    packed = template.pack(seq, ts, marker, abs_send_time, level)
    expected = aiortc_header(parameters, payload_type, ssrc, seq, ts, marker, abs_send_time, level)
    assert packed == expected
    # and aiortc reads it back as the packet it is
    read = HeaderExtensionsMap()
    read.configure(parameters)
    parsed = RtpPacket.parse(packed + b"payload", read)
    assert (parsed.sequence_number, parsed.timestamp, parsed.ssrc) == (seq, ts, ssrc)
    assert (parsed.marker, parsed.payload_type) == (marker, payload_type)
    assert parsed.payload == b"payload"
    if abs_id is not None:
        assert parsed.extensions.abs_send_time == abs_send_time
    if level_id is not None:
        assert parsed.extensions.audio_level == level
    if mid_id is not None and mid:
        assert parsed.extensions.mid == mid


def test_the_usual_subscriber_header() -> None:
    """A Tyndau subscriber's video: MID 3, abs-send-time; one-byte extensions, 24 bytes."""
    parameters = RTCRtpSendParameters(
        headerExtensions=[
            RTCRtpHeaderExtensionParameters(id=1, uri=MID_URI),
            RTCRtpHeaderExtensionParameters(id=2, uri=ABS_SEND_TIME_URI),
        ],
        muxId="3",
    )
    template = HeaderTemplate(payload_type=96, ssrc=0x01020304, parameters=parameters)
    header = template.pack(7, 9, 1, 0xABCDEF, None)
    assert header == bytes.fromhex("90e00007 00000009 01020304 bede0002 1033 22abcdef 0000")
