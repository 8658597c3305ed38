"""Capture of a hearing with real aiortc peers: segments, index, markers, spaces, failures.

The recorder follows the judge's acts (start, recess, resume, close), takes
only what is in the hearing space (never a consultation), and writes Matroska
segments that PyAV opens and decodes, indexed by a verifying hash chain.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from aiortc.mediastreams import VideoStreamTrack
from av import VideoFrame
from support.media import SolidColorTrack, ToneTrack, color_close, mean_color
from support.peers import seen_color
from support.running import RunningServer, running_server
from support.waiting import wait_until

from recorder.segments import file_sha256, read_index
from server.hearings import Hearing
from server.roles import ProceduralRole, grants_for
from server.settings import Settings
from server.sfu import ice
from signaling.client import HearingClient

pytestmark = pytest.mark.integration

HEARING = "rec-1"
JUDGE, LAWYER, DETAINEE = (220, 40, 40), (50, 70, 220), (240, 200, 30)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Short segments, so a test of seconds sees them rotate."""
    return Settings(
        data_dir=tmp_path / "data",
        ice_host_addresses=["127.0.0.1"],
        log_format="console",
        log_level="warning",
        recording_segment_seconds=2,
        archive_on_close=False,  # these tests read the capture the archiving would release
    )


def capture_dir(server: RunningServer) -> Path:
    return server.ctx.settings.effective_recordings_dir / HEARING


def index(server: RunningServer) -> list[dict[str, Any]]:
    path = capture_dir(server) / "segments.jsonl"
    return read_index(path, HEARING) if path.exists() else []


def markers(records: list[dict[str, Any]]) -> list[str]:
    return [r["marker"] for r in records if "marker" in r]


def segments(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if "file" in r]


def unix(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


async def join_and_publish(
    url: str, token: str, rgb: tuple[int, int, int], tone: float
) -> HearingClient:
    client = HearingClient(url, token)
    await client.connect()
    await client.join()
    await client.publish(SolidColorTrack(rgb), ToneTrack(tone))
    return client


class Clients:
    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.opened: list[HearingClient] = []

    async def join(
        self,
        participant_id: str,
        role: str,
        rgb: tuple[int, int, int],
        tone: float,
    ) -> HearingClient:
        token = self.server.token(
            participant_id,
            hearing=HEARING,
            role=role,
            grants=grants_for(ProceduralRole(role)),
        )
        client = await join_and_publish(self.server.url, token, rgb, tone)
        self.opened.append(client)
        return client


@pytest.fixture
async def clients(tyndau: RunningServer) -> AsyncIterator[Clients]:
    await tyndau.ctx.hearings.save(
        Hearing(id=HEARING, case_number="7599-26-00-1/0077", title="Жазба", auto_admit=True)
    )
    opened = Clients(tyndau)
    try:
        yield opened
    finally:
        await asyncio.gather(*(c.close() for c in opened.opened), return_exceptions=True)


def decode_all(path: Path) -> list[Any]:
    with av.open(str(path)) as container:
        return list(container.decode(container.streams[0]))


async def test_a_hearing_is_captured_in_session_only_and_never_a_consultation(
    tyndau: RunningServer, clients: Clients
) -> None:
    judge = await clients.join("judge", "judge", JUDGE, 440)
    lawyer = await clients.join("lawyer", "lawyer", LAWYER, 660)
    await clients.join("detainee", "detainee", DETAINEE, 880)
    await wait_until(lambda: len(judge.active_tracks()) == 4, 30, "the judge receiving all")
    await asyncio.sleep(2)
    assert index(tyndau) == []  # not in session yet: nothing captured

    await judge.call("set_state", {"act": "open"})
    await judge.call("set_state", {"act": "start"})
    await wait_until(lambda: len(segments(index(tyndau))) >= 6, 30, "segments of every track")

    # A consultation: the lawyer and the detainee step out; the judge stays in.
    out_from = time.time()
    await lawyer.call("start_consultation", {"participant_id": "detainee"})
    out_done = time.time()
    await asyncio.sleep(3)
    back_from = time.time()
    await lawyer.call("end_consultation")
    await wait_until(lambda: len(lawyer.active_tracks()) >= 4, 30, "the lawyer back in")
    await asyncio.sleep(3)

    # A recess pauses capture; resume goes on.
    await judge.call("set_state", {"act": "recess"})
    recess_done = time.time()
    await wait_until(lambda: "paused" in markers(index(tyndau)), 10, "the paused marker")
    await asyncio.sleep(2)
    resume_from = time.time()
    await judge.call("set_state", {"act": "resume"})
    await asyncio.sleep(4)
    await judge.call("set_state", {"act": "close"})
    await wait_until(lambda: "stopped" in markers(index(tyndau)), 15, "the stopped marker")

    records = index(tyndau)  # read_index verified the chain
    assert markers(records) == ["started", "paused", "resumed", "stopped"]
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    captured = segments(records)
    directory = capture_dir(tyndau)
    assert {r["file"] for r in captured} == {p.name for p in directory.glob("*.mkv")}
    by_owner: dict[str, list[dict[str, Any]]] = {}
    for record in captured:
        by_owner.setdefault(record["participant"]["id"], []).append(record)
    assert set(by_owner) == {"judge", "lawyer", "detainee"}
    assert captured[0]["participant"]["role"] in {"judge", "lawyer", "detainee"}
    assert {(r["kind"], r["codec"]) for r in captured} == {("video", "VP8"), ("audio", "opus")}

    for record in captured:
        path = directory / record["file"]
        assert file_sha256(path) == (record["size"], record["sha256"])
        assert record["sync"], record  # every segment can be placed on the wall clock
        frames = decode_all(path)
        # Opus's pre-skip may swallow the first frame's output; nothing else is lost.
        assert len(frames) >= record["frames"] - 1 >= 0
        if record["kind"] == "video":
            assert record["keyframes"] >= 1
        started, ended = unix(record["started_at"]), unix(record["ended_at"])
        # Nothing of the recess is captured.
        assert ended <= recess_done or started >= resume_from, record
        if record["participant"]["id"] != "judge":
            # Nothing of the consultation either.
            assert ended <= out_done or started >= back_from, record
    # Sender reports placed the tracks (aiortc sends one about every second).
    assert any(point[2] == "sr" for r in captured for point in r["sync"])
    # The judge was captured right through the consultation.
    judge_video = [r for r in by_owner["judge"] if r["kind"] == "video"]
    assert any(
        unix(r["started_at"]) <= out_from and unix(r["ended_at"]) >= out_done for r in judge_video
    ) or any(out_done <= unix(r["started_at"]) <= back_from for r in judge_video)
    # The picture in the judge's segments is the judge's.
    frame = decode_all(directory / judge_video[-1]["file"])[-1]
    assert isinstance(frame, VideoFrame)
    assert color_close(mean_color(frame), JUDGE)

    # The protocol has each marker, with the recording offsets of the acts.
    recorded: list[Any] = []
    for _ in range(100):  # the protocol entry follows the index line
        events = await tyndau.ctx.protocol.events(HEARING)
        recorded = [e for e in events if str(e.kind) == "recording_marker"]
        if len(recorded) == 4:
            break
        await asyncio.sleep(0.05)
    assert [e.details["marker"] for e in recorded] == ["started", "paused", "resumed", "stopped"]
    assert recorded[0].recording_offset == 0


class NoiseTrack(VideoStreamTrack):
    """A camera that films snow: incompressible, so the disk fills fast."""

    def __init__(self) -> None:
        super().__init__()
        self._rng = np.random.default_rng(1)

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        image = self._rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
        frame = VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = pts
        frame.time_base = time_base
        return frame


@pytest.fixture
def small_disk(tmp_path: Path) -> Any:
    """A 2 MiB tmpfs, filled to its last ~1 MiB, as the recordings directory."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill needs root (CI runs as root)")
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], check=True)
    try:
        (mount / "filler").write_bytes(b"\0" * (1024 * 1024))
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


async def test_a_full_disk_stops_capture_alerts_the_court_and_the_hearing_goes_on(
    tmp_path: Path, small_disk: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        ice_host_addresses=["127.0.0.1"],
        log_format="console",
        log_level="warning",
        recording_segment_seconds=1,
        recordings_dir=small_disk,
    )
    async with running_server(settings) as server:
        await server.ctx.hearings.save(
            Hearing(id=HEARING, case_number="7599-26-00-1/0078", title="Диск", auto_admit=True)
        )
        clients = Clients(server)
        try:
            judge = await clients.join("judge", "judge", JUDGE, 440)
            lawyer_client = HearingClient(
                server.url,
                server.token("lawyer", hearing=HEARING, role="lawyer"),
            )
            clients.opened.append(lawyer_client)
            await lawyer_client.connect()
            await lawyer_client.join()
            await lawyer_client.publish(NoiseTrack())
            await wait_until(lambda: len(judge.active_tracks()) == 1, 30, "the lawyer's video")
            await judge.call("set_state", {"act": "open"})
            await judge.call("set_state", {"act": "start"})
            await wait_until(lambda: judge.recording_alerts != [], 60, "the recording alert")
            alert = judge.recording_alerts[0]
            assert alert["code"] == "recording_failed" and alert["reason"]

            await wait_until(
                lambda: any(
                    e["kind"] == "recording_marker" and e["details"]["marker"] == "failed"
                    for e in judge.protocol
                ),
                10,
                "the failed marker in the live protocol",
            )
            # The hearing goes on: media still flows both ways.
            video = next(r for r in lawyer_client.active_tracks() if r.kind == "video")
            assert color_close(await seen_color(video, JUDGE), JUDGE)
            noise = next(r for r in judge.active_tracks() if r.kind == "video")
            assert noise.track is not None
            for _ in range(10):
                await asyncio.wait_for(noise.track.recv(), 5)
            assert server.ctx.hearings.get(HEARING).state == "in_session"  # type: ignore[union-attr]
            assert server.ctx.recorder.captures[HEARING].failed

            # Whatever was closed before the disk filled is whole.
            directory = small_disk / HEARING
            records = read_index(directory / "segments.jsonl", HEARING)
            assert segments(records), "segments were closed before the disk filled"
            for record in segments(records):
                path = directory / record["file"]
                assert file_sha256(path) == (record["size"], record["sha256"])
                assert len(decode_all(path)) >= record["frames"] - 1
        finally:
            await asyncio.gather(*(c.close() for c in clients.opened), return_exceptions=True)


def test_index_lines_are_canonical_json(tmp_path: Path) -> None:
    from recorder.segments import CaptureIndex, canonical, genesis

    first = CaptureIndex(tmp_path, "h")
    first.marker("started", datetime.fromisoformat("2026-11-30T09:00:00+00:00"))
    with (tmp_path / "segments.jsonl").open("ab") as fh:
        fh.write(b'{"seq": 2, "torn')  # a process killed mid-line
    again = CaptureIndex(tmp_path, "h")
    assert again.damaged_tail
    again.marker("resumed", datetime.fromisoformat("2026-11-30T09:01:00+00:00"), reason="restart")
    records = read_index(tmp_path / "segments.jsonl", "h")
    assert [r["marker"] for r in records] == ["started", "resumed"]
    assert records[0]["prev"] == genesis("h") and records[1]["prev"] == records[0]["chain"]
    lines = (tmp_path / "segments.jsonl").read_bytes().splitlines()
    assert lines[0] == canonical(json.loads(lines[0]))


def test_a_killed_server_leaves_whole_segments_and_a_readable_open_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from support.ports import free_port
    from support.server_process import start_demo_server

    monkeypatch.setenv("TYNDAU_RECORDING_SEGMENT_SECONDS", "2")
    data = tmp_path / "data"
    server = start_demo_server(data, free_port(), tmp_path / "server.log")
    try:
        killed_at = asyncio.run(_session_until_kill(server))
    finally:
        if server.process.poll() is None:
            server.process.kill()
        server.process.wait()
    assert server.process.returncode == -9

    directory = data / "recordings" / "demo"
    records = read_index(directory / "segments.jsonl", "demo")  # the lines that exist verify
    assert markers(records) == ["started"]  # no time to write anything else
    indexed = {r["file"]: r for r in segments(records)}
    assert indexed, "segments were closed before the kill"
    for name, record in indexed.items():
        path = directory / name
        assert file_sha256(path) == (record["size"], record["sha256"])
        assert len(decode_all(path)) >= record["frames"] - 1
    # The latest media time of each track, from closed segments and from the open ones.
    latest: dict[tuple[str, str], float] = {}
    for record in indexed.values():
        key = (record["participant"]["id"], record["kind"])
        latest[key] = max(latest.get(key, 0.0), unix(record["ended_at"]))
    for path in directory.glob("*.mkv"):
        if path.name in indexed:
            continue
        try:
            tags = _tags(path)
            with av.open(str(path)) as container:
                kind = container.streams[0].type
                decoded = list(container.decode(container.streams[0]))
        except (av.error.EOFError, av.error.InvalidDataError):
            # Opened less than a cluster before the kill: only its header reached the disk.
            assert path.stat().st_size < 4096, path.name
            continue
        assert decoded or kind == "audio", f"{path.name} does not decode"
        if decoded:
            first_pts = decoded[0].pts
            last = unix(tags["TYNDAU_STARTED_AT"]) + (decoded[-1].pts - first_pts) / 1000
            key = (tags["TYNDAU_PARTICIPANT"], kind)
            latest[key] = max(latest.get(key, 0.0), last)
    assert set(latest) == {(p, k) for p in ("judge", "lawyer") for k in ("audio", "video")}
    for key, last in latest.items():
        # Clusters are flushed every second: a kill loses about that much, no more.
        assert killed_at - last < 2.0, (key, killed_at - last)


def _tags(path: Path) -> dict[str, str]:
    with av.open(str(path)) as container:
        return {k.upper(): v for k, v in container.metadata.items()}


async def _session_until_kill(server: Any) -> float:
    """The judge admits the lawyer and starts the session; both send; then kill -9."""
    # The peers in this process gather on loopback too, like the server's.
    ice.restrict_host_addresses(["127.0.0.1"])
    base = server.url
    tokens = {role: link.split("#token=", 1)[1] for role, link in server.links.items()}
    judge = await join_and_publish(base, tokens["judge"], JUDGE, 440)
    lawyer = await join_and_publish(base, tokens["lawyer"], LAWYER, 660)
    try:
        await judge.call("admit", {"participant_id": "lawyer"})
        await judge.call("set_state", {"act": "start"})
        await wait_until(lambda: len(judge.active_tracks()) == 2, 30, "the lawyer's media")
        await asyncio.sleep(6)
        killed_at = time.time()
        server.process.kill()
        return killed_at
    finally:
        for client in (judge, lawyer):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.close(), 5)


async def test_a_restart_mid_session_pauses_and_resumes_the_same_chain(tmp_path: Path) -> None:
    from server.procedure.states import StateAct

    settings = Settings(
        data_dir=tmp_path / "data",
        ice_host_addresses=["127.0.0.1"],
        log_format="console",
        log_level="warning",
    )
    async with running_server(settings) as server:
        await server.ctx.hearings.save(
            Hearing(id=HEARING, case_number="7599-26-00-1/0079", title="Қайта")
        )
        await server.ctx.hearings.change_state(HEARING, StateAct.OPEN)
        await server.ctx.hearings.change_state(HEARING, StateAct.START)
        await wait_until(lambda: markers(index(server)) == ["started"], 10, "started")
    # Stopped mid-session: the capture paused; started again: it goes on.
    async with running_server(settings) as server:
        await wait_until(lambda: len(markers(index(server))) == 3, 10, "resumed")
        records = index(server)
        assert markers(records) == ["started", "paused", "resumed"]
        assert records[1]["reason"] == "shutdown" and records[2]["reason"] == "restart"
        for _ in range(100):  # the protocol entry follows the index line
            events = await server.ctx.protocol.events(HEARING)
            logged = [e.details for e in events if str(e.kind) == "recording_marker"]
            if len(logged) == 3:
                break
            await asyncio.sleep(0.05)
        assert logged == [
            {"marker": "started"},
            {"marker": "paused", "reason": "shutdown"},
            {"marker": "resumed", "reason": "restart"},
        ]
