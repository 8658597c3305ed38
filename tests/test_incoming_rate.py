"""The REMB estimator's incoming bitrate counter: aiortc's values, without its bucket walk."""

from __future__ import annotations

from aiortc.rate import RateCounter, RemoteBitrateEstimator
from hypothesis import given
from hypothesis import strategies as st

from server.sfu.aiortc_internals import IncomingRate, lighten_bitrate_estimator

steps = st.lists(
    st.tuples(
        st.sampled_from(["add", "rate", "reset"]), st.integers(0, 1500), st.integers(0, 1400)
    ),
    max_size=200,
)


@given(start=st.integers(0, 2**40), steps=steps)
def test_same_rates_as_aiortcs_counter(start: int, steps: list[tuple[str, int, int]]) -> None:
    theirs, ours = RateCounter(1000, 8000), IncomingRate(1000, 8000)
    now = start
    for op, advance, size in steps:
        now += advance
        if op == "add":
            theirs.add(size, now)
            ours.add(size, now)
        elif op == "rate":
            assert ours.rate(now) == theirs.rate(now)
        else:
            theirs.reset()
            ours.reset()
    assert ours.rate(now) == theirs.rate(now)


def test_the_estimator_gives_the_same_remb_with_it() -> None:
    theirs, ours = RemoteBitrateEstimator(), RemoteBitrateEstimator()
    lighten_bitrate_estimator(ours)
    now, send = 3_900_000_000_000, 0
    for i in range(3000):  # 30 s of 100 packets/s, with some jitter and a congested stretch
        now += 10 + (i % 7 == 0) * 3 + (1000 < i < 1400) * 2
        send = (send + (10 << 18) // 1000) & 0xFFFFFF
        a = theirs.add(arrival_time_ms=now, abs_send_time=send, payload_size=1100, ssrc=1)
        b = ours.add(arrival_time_ms=now, abs_send_time=send, payload_size=1100, ssrc=1)
        assert a == b
