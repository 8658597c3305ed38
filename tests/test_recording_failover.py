"""A hearing's recording across a node's failure: node A is killed mid-session, node B goes on.

Node A is a real server process with real aiortc peers, killed with SIGKILL
(no clean stop). Node B shares its database and recordings directory, takes
the hearing over (``Recorder.take_over``, as the placement's failover calls
it), and the judge later closes the hearing there. The chain shows one gap
with its times, the mixed file runs for the whole recording time (the gap
included, so protocol offsets stay true), and the archive seals and verifies.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import av
import pytest
from support.ports import free_port
from support.server_process import start_demo_server
from support.waiting import wait_until
from test_recording_capture import _session_until_kill

from server.context import ServerContext
from server.procedure.states import StateAct
from server.settings import Settings

pytestmark = pytest.mark.integration

HEARING = "demo"  # the demo server's hearing
DETECTED_AFTER = 1.5  # seconds from the kill to node B's take-over (a heartbeat's death)
ON_NODE_B = 3.0  # seconds in session on node B before the judge closes


def _unix(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def _tyndau(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )


def test_a_killed_node_leaves_a_gap_that_the_next_node_records_and_archives(
    tmp_path: Path,
) -> None:
    data_a = tmp_path / "node-a"
    server = start_demo_server(
        data_a,
        free_port(),
        tmp_path / "node-a.log",
        {"TYNDAU_RECORDING_SEGMENT_SECONDS": "2", "TYNDAU_NODE_ID": "node-a"},
    )
    try:
        killed_at = asyncio.run(_session_until_kill(server))
    finally:
        if server.process.poll() is None:
            server.process.kill()
        server.process.wait()
    assert server.process.returncode == -9
    recordings = data_a / "recordings"

    node_b = Settings(
        data_dir=tmp_path / "node-b",
        database_url=f"sqlite+aiosqlite:///{data_a / 'tyndau.db'}",
        recordings_dir=recordings,
        node_id="node-b",
        log_format="console",
        log_level="warning",
        archive_on_close=True,
    )
    folder, taken_at, duration, offsets = asyncio.run(_node_b_takes_over(node_b, killed_at))

    archive = tmp_path / "node-b" / "archive" / folder
    manifest = json.loads((archive / "manifest.json").read_text())
    markers = manifest["recording"]["markers"]
    assert [m["marker"] for m in markers] == ["started", "gap", "resumed", "stopped"]
    gap, resumed = markers[1], markers[2]
    assert gap["reason"] == "node_failed" and gap["node"] == "node-a"
    assert resumed["reason"] == "failover"
    # From node A's last sign of life (the kill, here) to node B's take-over.
    assert gap["from"] == datetime.fromtimestamp(killed_at, UTC).isoformat(timespec="milliseconds")
    assert gap["to"] == gap["at"] == taken_at.isoformat(timespec="milliseconds")
    assert manifest["gaps"] == [
        {
            "reason": "node_failed",
            "from": gap["from"],
            "to": gap["to"],
            "node": "node-a",
            "after_seq": gap["seq"],
        }
    ]
    segments = [s["file"] for s in manifest["capture"]["segments"]]
    recovered = [r["file"] for r in manifest["capture"]["recovered"]]
    assert segments and all(name.endswith("-node-a.mkv") for name in segments + recovered)

    # The file's time is the protocol's recording time: the gap is in it (placeholders, silence).
    started, stopped = _unix(markers[0]["at"]), _unix(markers[-1]["at"])
    assert duration == pytest.approx(stopped - started, abs=0.3)
    assert offsets["stopped"] == pytest.approx(duration, abs=0.3)
    assert offsets["resumed"] == pytest.approx(_unix(gap["to"]) - started, abs=0.05)

    # The printable protocol says what the gap was (the demo hearing is in Kazakh).
    assert "Жазба үзілді (сервер істен шықты" in (archive / "protocol.html").read_text()

    keys = ("--data-dir", str(tmp_path / "node-b"))
    checked = _tyndau(*keys, "archive", "verify", str(archive))
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # Tampering with the gap (moving its end) is caught.
    forged = tmp_path / "forged"
    shutil.copytree(archive, forged)
    index = forged / "capture" / "segments.jsonl"
    index.write_bytes(index.read_bytes().replace(gap["to"].encode(), gap["from"].encode(), 1))
    checked = _tyndau(*keys, "archive", "verify", str(forged))
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "chain_broken" in checked.stdout or "changed" in checked.stdout


async def _node_b_takes_over(
    settings: Settings, killed_at: float
) -> tuple[str, datetime, float, dict[str, float]]:
    """Node B: the hearing in session is taken over, then closed there and archived."""
    ctx = ServerContext.build(settings)
    await ctx.db.upgrade()
    await ctx.hearings.load()
    try:
        await asyncio.sleep(max(0.0, killed_at + DETECTED_AFTER - datetime.now(UTC).timestamp()))
        taken_at = datetime.now(UTC)
        await ctx.recorder.take_over(
            HEARING, taken_at, "node-a", datetime.fromtimestamp(killed_at, UTC)
        )
        await asyncio.sleep(ON_NODE_B)
        await ctx.hearings.change_state(HEARING, StateAct.CLOSE)
        index = settings.effective_recordings_dir / HEARING / "segments.jsonl"
        await wait_until(lambda: b'"stopped"' in index.read_bytes(), 30, "the stop")
        await asyncio.sleep(0.5)  # the recorder hands the closed capture on
        folder = await ctx.archiving.archive(HEARING)
        assert await ctx.recordings.get(HEARING) is not None
        assert not (settings.effective_recordings_dir / HEARING).exists()  # released
        with av.open(str(settings.data_dir / "archive" / folder / "mixed.mp4")) as container:
            assert container.streams.video and container.streams.audio
            duration = float(container.duration or 0) / av.time_base
        offsets = {}
        for event in await ctx.protocol.events(HEARING):
            if str(event.kind) == "recording_marker" and event.recording_offset is not None:
                offsets[event.details["marker"]] = event.recording_offset
        return folder, taken_at, duration, offsets
    finally:
        await ctx.stop()


def test_a_gap_keeps_the_span_going_and_is_listed_once() -> None:
    """A failover after the failed node wrote ``paused`` (it stopped): still one span."""
    from recorder.manifest import gaps
    from recorder.spans import Marker, build_timeline

    markers = [
        Marker(1, "started", 100.0),
        Marker(2, "paused", 105.0),
        Marker(3, "gap", 108.0, since=105.0),
        Marker(4, "resumed", 108.0),
        Marker(5, "stopped", 112.0),
    ]
    timeline = build_timeline(markers, [(100.0, 104.9), (108.2, 111.9)])
    assert timeline.duration == pytest.approx(12.0)
    assert timeline.mix_time(106.5) == pytest.approx(6.5)  # in the gap: a placeholder
    assert timeline.mix_time(110.0) == pytest.approx(10.0)
    # A server stopped and started again mid-session: its recording clock ran on too.
    restarted = [
        Marker(1, "started", 100.0),
        Marker(2, "paused", 105.0, reason="shutdown"),
        Marker(3, "resumed", 109.0, reason="restart"),
        Marker(4, "paused", 111.0),  # a recess: cut
        Marker(5, "resumed", 115.0),
        Marker(6, "stopped", 116.0),
    ]
    timeline = build_timeline(restarted, [(100.0, 104.9), (109.2, 115.9)])
    assert timeline.duration == pytest.approx(12.0)
    assert timeline.mix_time(107.0) == pytest.approx(7.0)
    assert timeline.mix_time(113.0) is None
    assert timeline.mix_time(115.5) == pytest.approx(11.5)
    lines = [
        {"seq": 1, "marker": "started", "at": "t0"},
        {"seq": 2, "marker": "paused", "at": "t5", "reason": "moved"},
        {"seq": 3, "marker": "gap", "at": "t8", "from": "t5", "to": "t8",
         "reason": "node_failed", "node": "a"},
        {"seq": 4, "marker": "resumed", "at": "t8", "reason": "failover"},
        {"seq": 5, "marker": "paused", "at": "t9"},
        {"seq": 6, "marker": "resumed", "at": "t10"},
    ]  # fmt: skip
    assert gaps(lines) == [
        {"reason": "node_failed", "from": "t5", "to": "t8", "after_seq": 3, "node": "a"},
        {"reason": "paused", "from": "t9", "after_seq": 5, "to": "t10"},
    ]


async def test_a_released_hearing_pauses_and_a_take_over_continues_its_chain(
    tmp_path: Path,
) -> None:
    from support.running import HEARING_A, running_server

    settings = Settings(
        data_dir=tmp_path / "data",
        ice_host_addresses=["127.0.0.1"],
        log_format="console",
        log_level="warning",
        archive_on_close=False,
    )
    async with running_server(settings) as server:
        recorder = server.ctx.recorder
        await recorder.take_over(HEARING_A, datetime.now(UTC), None, None)  # in session already
        index = settings.effective_recordings_dir / HEARING_A / "segments.jsonl"
        await recorder.release(HEARING_A)  # another node serves it now
        released_at = datetime.now(UTC)
        await recorder.take_over(HEARING_A, released_at, "node-x", None)
        await wait_until(lambda: b'"failover"' in index.read_bytes(), 10, "the take-over")
    records = [json.loads(line) for line in index.read_bytes().splitlines()]
    kinds = [(r["marker"], r.get("reason")) for r in records]
    assert kinds == [
        ("gap", "node_failed"),
        ("resumed", "failover"),
        ("paused", "moved"),
        ("gap", "node_failed"),
        ("resumed", "failover"),
        ("paused", "shutdown"),  # the server stopped
    ]
    gap = records[3]
    assert gap["from"] == records[2]["at"]  # no heartbeat known: the last line's time
    assert gap["to"] == released_at.isoformat(timespec="milliseconds") and gap["node"] == "node-x"


async def test_a_hearing_closed_where_it_was_not_captured_is_still_archived(
    tmp_path: Path,
) -> None:
    """Closed by a process that holds no capture of it (in a recess after a restart, or on
    another node than the one that recorded it): the capture on disk is handed on."""
    from support.running import running_server

    from server.hearings import Hearing

    hearing = "closed-elsewhere"
    settings = Settings(
        data_dir=tmp_path / "data",
        ice_host_addresses=["127.0.0.1"],
        log_format="console",
        log_level="warning",
        archive_on_close=False,
    )
    async with running_server(settings) as server:
        await server.ctx.hearings.save(
            Hearing(id=hearing, case_number="7599-26-00-1/0111", title="Үзіліс")
        )
        for act in (StateAct.OPEN, StateAct.START, StateAct.RECESS):
            await server.ctx.hearings.change_state(hearing, act)
        index = settings.effective_recordings_dir / hearing / "segments.jsonl"
        await wait_until(lambda: index.exists() and b'"paused"' in index.read_bytes(), 10, "recess")
    told: list[str] = []
    async with running_server(settings) as server:
        assert hearing not in server.ctx.recorder.captures

        async def finished(hearing_id: str, directory: Path) -> None:
            told.append(hearing_id)

        server.ctx.recorder.finished_listeners.append(finished)
        await server.ctx.hearings.change_state(hearing, StateAct.CLOSE)
        await wait_until(lambda: told == [hearing], 10, "the capture handed on")
