"""The device self-test's verdict: what a participant's check found, in plain words.

The client measures (camera, microphone, and round trip and loss over a probe
connection, ``server/sfu/probe.py``); the verdict is decided here, once, with
the same thresholds the court's live connection quality uses, so "good"
before the hearing means what "good" means during it. The result is kept on
the participant's presence for the judge and secretary; it is not procedural
and never goes into the protocol.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from server.sfu.quality import BAD_FROM, GOOD_BELOW, QualityGrade, grade


class Verdict(StrEnum):
    GOOD = "good"
    POOR = "poor"  # may have problems
    BAD = "bad"  # will not work well


class Advice(StrEnum):
    """What the person can do about it (the client words each one)."""

    MOVE_CLOSER = "move_closer"  # loss: a weak Wi-Fi or mobile signal
    CLOSE_APPS = "close_apps"  # delay: other apps and downloads share the line
    OTHER_NETWORK = "other_network"  # nothing got through at all
    RETRY = "retry"  # the check could not be run
    CHECK_MICROPHONE = "check_microphone"
    CHECK_CAMERA = "check_camera"


_BY_GRADE = {
    QualityGrade.GOOD: Verdict.GOOD,
    QualityGrade.POOR: Verdict.POOR,
    QualityGrade.BAD: Verdict.BAD,
    QualityGrade.UNKNOWN: Verdict.POOR,  # untested is not known to be fine
}


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def judge_self_test(
    *,
    rtt_ms: float | None,
    loss_percent: float | None,
    camera: bool | None,
    microphone: bool | None,
) -> dict[str, Any]:
    """The participant's ``self_test`` field (docs/signaling.md) from what was measured.

    ``None`` for a device means it was not tested (the role sends no such media).
    """
    network = grade(loss_percent, None, rtt_ms)
    verdict = _BY_GRADE[network]
    advice: list[Advice] = []
    if rtt_ms is None and loss_percent is not None and loss_percent >= BAD_FROM.loss_percent:
        advice.append(Advice.OTHER_NETWORK)  # no echo came back: no round trip either
    else:
        if loss_percent is not None and loss_percent >= GOOD_BELOW.loss_percent:
            advice.append(Advice.MOVE_CLOSER)
        if rtt_ms is not None and rtt_ms >= GOOD_BELOW.rtt_ms:
            advice.append(Advice.CLOSE_APPS)
    if network is QualityGrade.UNKNOWN:
        advice.append(Advice.RETRY)
    if microphone is False:  # a hearing nobody can hear does not work
        verdict = Verdict.BAD
        advice.append(Advice.CHECK_MICROPHONE)
    if camera is False:
        verdict = max(verdict, Verdict.POOR, key=_severity)
        advice.append(Advice.CHECK_CAMERA)
    return {
        "verdict": str(verdict),
        "advice": [str(a) for a in advice],
        "rtt_ms": _rounded(rtt_ms),
        "loss_percent": _rounded(loss_percent),
        "camera": camera,
        "microphone": microphone,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _severity(verdict: Verdict) -> int:
    return list(Verdict).index(verdict)
