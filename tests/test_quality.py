"""Connection quality: the grading thresholds, interval deltas, and what a downstream counts."""

from __future__ import annotations

import math

import pytest
from aiortc import RTCPeerConnection
from aiortc.rtp import RtcpReceiverInfo, RtcpRrPacket
from hypothesis import given
from hypothesis import strategies as st

from server.sfu.counters import MediaCounters
from server.sfu.downstream import Downstream, ForwardedTrack, ReceiverReport
from server.sfu.quality import (
    BAD_FROM,
    GOOD_BELOW,
    Loss,
    QualityGrade,
    QualitySample,
    grade,
    interval_loss,
    loss_percent,
    own_jitter,
    reported_loss,
    worst,
)

G, P, B, U = QualityGrade.GOOD, QualityGrade.POOR, QualityGrade.BAD, QualityGrade.UNKNOWN


@pytest.mark.parametrize(
    ("loss", "jitter", "rtt", "expected"),
    [
        (None, None, None, U),
        (0.0, 0.0, 0.0, G),
        (1.99, 29.9, 299.0, G),
        (2.0, 0.0, 0.0, P),  # the good limits are exclusive
        (0.0, 30.0, 0.0, P),
        (0.0, 0.0, 300.0, P),
        (9.99, 99.9, 799.0, P),
        (10.0, 0.0, 0.0, B),  # the bad limits are inclusive
        (0.0, 100.0, 0.0, B),
        (0.0, 0.0, 800.0, B),
        (None, 12.0, None, G),  # graded on what is known
        (None, None, 850.0, B),
        (float("nan"), None, None, U),
    ],
)
def test_thresholds(
    loss: float | None, jitter: float | None, rtt: float | None, expected: QualityGrade
) -> None:
    assert grade(loss, jitter, rtt) is expected


def test_the_documented_thresholds() -> None:
    assert (GOOD_BELOW.loss_percent, GOOD_BELOW.jitter_ms, GOOD_BELOW.rtt_ms) == (2, 30, 300)
    assert (BAD_FROM.loss_percent, BAD_FROM.jitter_ms, BAD_FROM.rtt_ms) == (10, 100, 800)


measure = st.floats(min_value=0, max_value=10_000, allow_nan=False)
more = st.floats(min_value=0, max_value=10_000, allow_nan=False)


@given(
    st.tuples(st.none() | measure, st.none() | measure, st.none() | measure),
    st.tuples(more, more, more),
)
def test_grade_is_monotone(base: tuple[float | None, ...], extra: tuple[float, ...]) -> None:
    """More loss, jitter or round-trip time never gives a better grade."""
    worse = tuple(None if b is None else b + e for b, e in zip(base, extra, strict=True))
    before, after = grade(*base), grade(*worse)
    if before is U:
        assert after is U
        return
    assert after.severity is not None and before.severity is not None
    assert after.severity >= before.severity


@given(st.tuples(st.none() | measure, st.none() | measure, st.none() | measure))
def test_unknown_only_without_data(values: tuple[float | None, ...]) -> None:
    assert (grade(*values) is U) == all(v is None for v in values)


def test_loss_is_counted_over_the_interval_not_the_lifetime() -> None:
    # Half of everything was lost before; nothing in the last interval.
    assert interval_loss((1000, 500), (1100, 600)) == Loss(lost=0, expected=100)
    assert interval_loss((1000, 500), (1100, 580)) == Loss(lost=20, expected=100)
    assert interval_loss((1000, 500), (1000, 500)) is None  # nothing arrived: no figure


@given(st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**4), st.integers(0, 10**4))
def test_interval_loss_stays_within_what_was_expected(
    expected: int, received: int, more_expected: int, more_received: int
) -> None:
    loss = interval_loss((expected, received), (expected + more_expected, received + more_received))
    if more_expected == 0:
        assert loss is None
    else:
        assert loss is not None and 0 <= loss.lost <= loss.expected == more_expected
        percent = loss_percent([loss])
        assert percent is not None and 0 <= percent <= 100


def report(number: int, highest: int, lost: int, gaps: int, jitter: int = 0) -> ReceiverReport:
    return ReceiverReport(
        number=number,
        highest_sequence=highest,
        packets_lost=lost,
        jitter=jitter,
        gaps=gaps,
        at=0.0,
    )


def test_the_publishers_losses_are_not_the_subscribers() -> None:
    # 20 of 100 sequence numbers never came from the publisher; the subscriber
    # reports exactly those 20 as lost: its own leg lost nothing.
    assert reported_loss(report(1, 100, 0, 0), report(2, 200, 20, 20)) == Loss(0, 80)
    # It lost 8 more on its own leg.
    assert reported_loss(report(1, 100, 0, 0), report(2, 200, 28, 20)) == Loss(8, 80)
    # 10 new gaps, and 3 earlier ones filled late (the SFU's NACK repaired them):
    # 90 new packets and 3 old ones sent, all of them arrived.
    assert reported_loss(report(1, 100, 30, 30), report(2, 200, 37, 37)) == Loss(0, 93)


def test_reported_loss_across_the_sequence_wrap_and_out_of_order() -> None:
    assert reported_loss(report(1, 65530, 5, 0), report(2, 30, 10, 0)) == Loss(5, 36)
    assert reported_loss(report(1, 200, 5, 0), report(2, 100, 10, 0)) is None  # reordered
    assert reported_loss(report(1, 200, 5, 0), report(2, 200, 5, 0)) is None


@given(
    st.integers(0, 0xFFFF),
    st.integers(1, 5000),
    st.integers(-1000, 1000),
    st.integers(-100, 1000),
    st.integers(0, 1000),
)
def test_reported_loss_is_a_share_of_what_was_sent(
    highest: int, span: int, lost_before: int, more_lost: int, more_gaps: int
) -> None:
    previous = report(1, highest, lost_before, 0)
    now = report(2, (highest + span) & 0xFFFF, lost_before + more_lost, more_gaps)
    loss = reported_loss(previous, now)
    if span - more_gaps <= 0:
        assert loss is None
    else:
        assert loss is not None and 0 <= loss.lost <= loss.expected == span - more_gaps


def test_loss_percent_weights_streams_by_packets() -> None:
    assert loss_percent([]) is None
    assert loss_percent([Loss(0, 900), Loss(10, 100)]) == pytest.approx(1.0)


def test_subscriber_jitter_without_the_publishers() -> None:
    assert own_jitter(50.0, None) == 50.0
    assert own_jitter(50.0, 30.0) == pytest.approx(40.0)
    assert own_jitter(20.0, 30.0) == 0.0
    assert worst(None, 3.0, 7.0) == 7.0 and worst(None, None) is None


def test_sample_as_json() -> None:
    sample = QualitySample.measured(12.345, 4.06, None)
    assert sample.as_json() == {
        "grade": "bad",
        "loss_percent": 12.3,
        "jitter_ms": 4.1,
        "rtt_ms": None,
    }
    assert not math.isnan(sample.loss_percent or 0)


async def test_a_downstream_counts_forwarded_gaps_and_keeps_receiver_reports() -> None:
    pc = RTCPeerConnection()
    transceiver = pc.addTransceiver(ForwardedTrack("audio"), direction="sendonly")
    downstream = Downstream(
        transceiver=transceiver,
        mime_type="audio/opus",
        counters=MediaCounters(),
        request_keyframe=lambda: None,
    )
    try:
        for seq in (65533, 65534, 2, 5, 3, 6):  # 65535, 0, 1 skipped; 3, 4 skipped; 3 late
            downstream._count_gaps(seq)
        assert downstream.forward_gaps == 3 + 2 - 1
        block = RtcpReceiverInfo(
            ssrc=downstream.sender._ssrc,
            fraction_lost=0,
            packets_lost=4,
            highest_sequence=(1 << 16) + 6,  # a browser's extended sequence number
            jitter=480,
            lsr=0,
            dlsr=0,
        )
        other = RtcpReceiverInfo(
            ssrc=downstream.sender._ssrc ^ 1,
            fraction_lost=0,
            packets_lost=99,
            highest_sequence=1,
            jitter=0,
            lsr=0,
            dlsr=0,
        )
        await downstream.sender._handle_rtcp_packet(RtcpRrPacket(ssrc=1, reports=[other, block]))
        first = downstream.report
        assert first is not None
        assert (first.number, first.highest_sequence, first.packets_lost) == (1, 6, 4)
        assert (first.jitter, first.gaps) == (480, 4)
        await downstream.sender._handle_rtcp_packet(RtcpRrPacket(ssrc=1, reports=[block]))
        assert downstream.report is not None and downstream.report.number == 2
    finally:
        await pc.close()
