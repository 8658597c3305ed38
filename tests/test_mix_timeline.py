"""Placing frames in time: RTP clocks onto the wall clock, and the wall clock onto the mix."""

from __future__ import annotations

import numpy as np
import pytest

from recorder.audiomix import SAMPLE_RATE, AudioMix
from recorder.spans import Marker, build_timeline
from recorder.timeline import SyncPoint, align_participant, fit_clock, unwrap

RATE = 90000
T0 = 1_796_027_600.0


def test_unwrap_takes_the_nearest_value_either_way() -> None:
    assert unwrap(5, (1 << 32) - 10) == (1 << 32) + 5
    assert unwrap((1 << 32) - 10, 5) == -10
    assert unwrap((1 << 32) + 7, (1 << 32) + 1) == (1 << 32) + 7  # already unwrapped


def test_a_drifting_sender_clock_is_fitted_over_a_long_span() -> None:
    drift = 50e-6  # the sender's RTP clock runs 50 ppm slow against its NTP clock
    points = [
        SyncPoint(1000 + round(t * RATE), T0 + t * (1 + drift) + (0.004 if k % 3 else -0.004), "sr")
        for k, t in enumerate(range(0, 600, 5))
    ]
    clock = fit_clock(RATE, points)
    assert clock is not None
    assert clock.scale == pytest.approx(1 + drift, abs=5e-6)
    # An hour in: counting samples would be off by 180 ms; the fit is not.
    rtp = 1000 + 3600 * RATE
    assert clock.wall(rtp) == pytest.approx(T0 + 3600 * (1 + drift), abs=0.01)


def test_a_short_span_keeps_the_nominal_rate_and_drops_nothing_to_jitter() -> None:
    points = [
        SyncPoint(round(t * RATE), T0 + t + j, "sr") for t, j in ((0, 0.0), (1, 0.008), (2, -0.002))
    ]
    clock = fit_clock(RATE, points)
    assert clock is not None and clock.scale == 1.0
    assert clock.wall(0) == pytest.approx(T0, abs=0.003)


def test_an_outlier_report_is_dropped() -> None:
    points = [SyncPoint(round(t * RATE), T0 + t, "sr") for t in range(0, 300, 3)]
    points[40] = SyncPoint(points[40].rtp, points[40].unix + 2.0, "sr")
    clock = fit_clock(RATE, points)
    assert clock is not None
    assert clock.wall(150 * RATE) == pytest.approx(T0 + 150, abs=0.001)


def test_arrivals_only_take_the_least_delayed() -> None:
    points = [SyncPoint(0, T0 + 0.030, "arrival"), SyncPoint(RATE, T0 + 1.012, "arrival")]
    clock = fit_clock(RATE, points)
    assert clock is not None and not clock.from_sender
    assert clock.wall(0) == pytest.approx(T0 + 0.012)


def test_a_sender_clock_far_off_is_moved_onto_the_servers_keeping_lip_sync() -> None:
    video = fit_clock(RATE, [SyncPoint(0, T0 + 30.0, "sr")])  # the sender is 30 s fast
    audio = fit_clock(48000, [SyncPoint(0, T0 + 30.0, "sr")])
    assert video and audio
    arrivals = {"v": [SyncPoint(0, T0 + 0.02, "arrival")], "a": []}
    aligned = align_participant({"v": video, "a": audio}, arrivals)
    assert aligned["v"].wall(0) == pytest.approx(T0 + 0.02)
    assert aligned["a"].wall(0) == pytest.approx(T0 + 0.02)  # moved together
    # A small offset is network delay: sender reports are trusted as they are.
    near = {"v": [SyncPoint(0, T0 + 30.2, "arrival")], "a": []}
    assert align_participant({"v": video, "a": audio}, near)["a"].wall(0) == pytest.approx(T0 + 30)


def test_recesses_are_cut_out_and_the_last_span_runs_to_the_last_frame() -> None:
    markers = [
        Marker(1, "started", T0),
        Marker(5, "paused", T0 + 10),
        Marker(6, "resumed", T0 + 100),
        Marker(9, "stopped", T0 + 110),
    ]
    extents = [(T0 + 0.1, T0 + 9.98), (T0 + 100.05, T0 + 110.3)]
    timeline = build_timeline(markers, extents)
    assert timeline.mix_time(T0 + 5) == pytest.approx(5)
    assert timeline.mix_time(T0 + 50) is None  # in the recess
    assert timeline.mix_time(T0 + 101) == pytest.approx(11)
    assert timeline.duration == pytest.approx(20.3)  # frames after "stopped" are kept
    assert timeline.wall_time(11) == pytest.approx(T0 + 101)


def test_without_markers_the_capture_is_one_span() -> None:
    timeline = build_timeline([], [(T0 + 3, T0 + 8), (T0 + 1, T0 + 5)])
    assert timeline.mix_time(T0 + 1) == 0
    assert timeline.duration == pytest.approx(7.04)


def test_audio_follows_its_timestamps_not_its_sample_count() -> None:
    mix = AudioMix()
    frame = np.ones((2, 960), np.float32)
    mix.add("t", 0.0, frame)
    mix.add("t", 0.0201, frame)  # 0.1 ms late: carries on without a seam
    mix.add("t", 0.5, frame)  # after a gap: where its timestamp says
    out = mix.take(SAMPLE_RATE)
    assert out[0, :1920].min() == 1.0
    assert out[0, 1920:24000].max() == 0.0  # the gap is silence
    assert out[0, 24000:24960].min() == 1.0
