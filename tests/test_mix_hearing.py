"""End to end: a hearing of real aiortc peers is captured by the server, mixed, and measured.

Each participant's camera flashes and microphone beeps (its own tone) at the
same instants (tests/support/flash_tracks.py); one joins late. From the mixed
MP4 alone: per participant, every flash against its beep within 40 ms, and
the late joiner's first flash where the wall clock puts it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from support import lipsync
from support.flash_tracks import BeepingMicrophone, FlashingCamera, Schedule
from support.running import RunningServer
from support.waiting import wait_until

from recorder.mixer import mix
from recorder.segments import read_index
from server.hearings import Hearing
from server.roles import ProceduralRole, grants_for
from server.settings import Settings
from signaling.client import HearingClient

pytestmark = pytest.mark.integration

HEARING = "mix-1"
LIP_SYNC = 0.040
PLACEMENT = 0.040
# (id, role, colour, tone); in the grid's order (judge, lawyer, detainee).
PEOPLE = [
    ("judge", "judge", (160, 40, 40), 500.0),
    ("lawyer", "lawyer", (40, 60, 160), 900.0),
    ("detainee", "detainee", (110, 90, 20), 1300.0),
]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        ice_host_addresses=["127.0.0.1"],
        log_format="console",
        log_level="warning",
        recording_segment_seconds=3,
        # The server's own archiving would mix, seal and then free the capture
        # this test mixes: it is tested on its own (tests/test_archiving*).
        archive_on_close=False,
    )


@pytest.fixture
async def hearing(tyndau: RunningServer) -> AsyncIterator[list[HearingClient]]:
    await tyndau.ctx.hearings.save(
        Hearing(id=HEARING, case_number="7599-26-00-1/0099", title="Микс", auto_admit=True)
    )
    clients: list[HearingClient] = []
    try:
        yield clients
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)


async def join(
    server: RunningServer, clients: list[HearingClient], index: int, origin: float
) -> tuple[FlashingCamera, BeepingMicrophone]:
    pid, role, rgb, tone = PEOPLE[index]
    # Flashes every 1.5 s, each person 0.4 s after the one before: told apart in the mix.
    schedule = Schedule(origin, [origin + 0.4 * index + 1.5 * k for k in range(40)])
    camera, microphone = FlashingCamera(rgb, schedule), BeepingMicrophone(tone, schedule)
    token = server.token(pid, hearing=HEARING, role=role, grants=grants_for(ProceduralRole(role)))
    client = HearingClient(server.url, token)
    clients.append(client)
    await client.connect()
    await client.join()
    await client.publish(camera, microphone)
    return camera, microphone


def index(server: RunningServer) -> list[dict[str, Any]]:
    path = server.ctx.settings.effective_recordings_dir / HEARING / "segments.jsonl"
    return read_index(path, HEARING) if path.exists() else []


def marker_time(records: list[dict[str, Any]], name: str) -> float:
    at = next(r["at"] for r in records if r.get("marker") == name)
    return datetime.fromisoformat(at).timestamp()


async def test_a_captured_hearing_mixes_in_lip_sync_with_a_late_joiner(
    tyndau: RunningServer, hearing: list[HearingClient], tmp_path: Path
) -> None:
    origin = time.time()
    tracks = [await join(tyndau, hearing, i, origin) for i in range(2)]
    judge = hearing[0]
    await wait_until(lambda: len(judge.active_tracks()) >= 2, 30, "the judge receiving")
    await judge.call("set_state", {"act": "open"})
    await judge.call("set_state", {"act": "start"})
    await asyncio.sleep(3)
    tracks.append(await join(tyndau, hearing, 2, origin))  # the late joiner
    await asyncio.sleep(8)
    await judge.call("set_state", {"act": "close"})
    await wait_until(lambda: any(r.get("marker") == "stopped" for r in index(tyndau)), 15, "stop")

    records = index(tyndau)
    started, stopped = marker_time(records, "started"), marker_time(records, "stopped")
    capture = tyndau.ctx.settings.effective_recordings_dir / HEARING
    result = await asyncio.to_thread(mix, capture, tmp_path / "mixed.mp4")
    assert result.participants == 3

    times, levels = await asyncio.to_thread(lipsync.tile_brightness, result.output, 3)
    seen = lipsync.flashes(times, levels)
    signal, rate = await asyncio.to_thread(lipsync.mixed_audio, result.output)
    for (pid, _, _, tone), (camera, microphone), flashes in zip(PEOPLE, tracks, seen, strict=True):
        heard = lipsync.beeps(signal, rate, tone)
        # The flashes sent while capture ran, with room for the first keyframe.
        assert camera.first is not None and microphone.first is not None
        begin = max(started, camera.first, microphone.first) + 1.0
        sent = [f - started for f in camera.schedule.flashes if begin <= f <= stopped - 0.5]
        assert sent, pid
        errors = lipsync.pair(flashes, heard)
        shown = [f for f in flashes if any(abs(f - s) <= 0.2 for s in sent)]
        assert len(shown) == len(sent), (pid, sent, flashes)
        assert len(errors) >= len(sent), (pid, flashes, heard)
        assert max(abs(e) for e in errors) <= LIP_SYNC, (pid, errors)
        print(f"{pid}: beep - flash, ms:", [round(float(e) * 1000, 1) for e in errors])

    # The late joiner's first flash in the mix is where the wall clock puts it.
    late_camera = tracks[2][0]
    first_sent = min(f for f in late_camera.schedule.flashes if f >= late_camera.first + 1.0)
    first_shown = min(f for f in seen[2] if f >= first_sent - started - 0.2)
    off = first_shown - (first_sent - started)
    print(f"late joiner's first flash: {off * 1000:+.1f} ms from its wall-clock time")
    assert abs(off) <= PLACEMENT, (first_shown, first_sent - started)
