"""A closed hearing's recording reaches the archive by itself: mixed, sealed, registered, freed.

Real aiortc peers in a real server; the judge closes the hearing; the capture
is mixed in a child process, sealed with the protocol, registered in the
catalogue, verified by the CLI as an outsider would, and only then removed.
A job that could not run (the server stopped first) is done at the next start.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import av
import pytest
from support.peers import join_and_publish
from support.running import RunningServer, running_server
from support.waiting import wait_until

from recorder.archive import case_folder
from recorder.controller import capture_directory
from server.hearings import Hearing
from server.roles import ProceduralRole, grants_for
from server.settings import Settings

pytestmark = pytest.mark.integration

HEARING = "arch-1"
CASE = "7599-26-00-1/0090"
COURT = "Астана қаласының тергеу соты"
# Mixing runs in a child process next to the server and the peers on a shared machine.
ARCHIVE_TIMEOUT = 180


def settings_for(data_dir: Path, *, archive_on_close: bool) -> Settings:
    return Settings(
        data_dir=data_dir,
        ice_host_addresses=["127.0.0.1"],
        log_format="console",
        log_level="warning",
        recording_segment_seconds=2,
        archive_on_close=archive_on_close,
    )


async def hold_a_short_hearing(server: RunningServer, seconds: float = 3.0) -> None:
    """Judge and lawyer in session for ``seconds``, then the judge closes the hearing."""
    await server.ctx.hearings.save(
        Hearing(
            id=HEARING,
            case_number=CASE,
            title="Мұрағат",
            court=COURT,
            kind="sanction_session",
            is_open=False,
            auto_admit=True,
        )
    )

    def token(participant: str, role: str) -> str:
        return server.token(
            participant, hearing=HEARING, role=role, grants=grants_for(ProceduralRole(role))
        )

    judge = await join_and_publish(server.url, token("judge", "judge"), (200, 40, 40), 440)
    lawyer = await join_and_publish(server.url, token("lawyer", "lawyer"), (40, 40, 200), 660)
    try:
        await wait_until(lambda: len(judge.active_tracks()) == 2, 30, "the lawyer's media")
        await judge.call("set_state", {"act": "open"})
        await judge.call("set_state", {"act": "start"})
        await asyncio.sleep(seconds)
        await judge.call("set_state", {"act": "close"})
    finally:
        await asyncio.gather(judge.close(), lawyer.close(), return_exceptions=True)


def verify_with_cli(data_dir: Path, folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "server.cli",
            "--data-dir",
            str(data_dir),
            "archive",
            "verify",
            str(folder),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def mixed_duration(path: Path) -> float:
    with av.open(str(path)) as container:
        assert container.streams.video and container.streams.audio
        return float(container.duration or 0) / av.time_base


async def test_a_closed_hearing_is_archived_and_its_capture_freed(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    async with running_server(settings_for(data_dir, archive_on_close=True)) as server:
        await hold_a_short_hearing(server)
        await wait_until(
            lambda: HEARING in server.ctx.archiving.done, ARCHIVE_TIMEOUT, "the archiving job"
        )
        outcome = server.ctx.archiving.done[HEARING]
        assert not outcome.startswith("failed"), outcome
        recording = await server.ctx.recordings.get(HEARING)
        assert recording is not None
        capture = capture_directory(server.ctx.settings.effective_recordings_dir, HEARING)
        assert not capture.exists()  # freed only after the stored archive verified

    folder = data_dir / "archive" / case_folder(COURT, CASE) / HEARING
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["hearing"]["case_number"] == CASE
    assert {"mixed.mp4", "protocol.json", "protocol.html"} <= set(manifest["files"])
    protocol = json.loads((folder / "protocol.json").read_text())
    kinds = [e["kind"] for e in protocol["events"]]
    assert "session_started" in kinds and "hearing_closed" in kinds
    # About the time in session: nothing before the start, nothing clipped at the end.
    assert 2.0 <= mixed_duration(folder / "mixed.mp4") <= 8.0
    checked = verify_with_cli(data_dir, folder)
    assert checked.returncode == 0, checked.stdout + checked.stderr


async def test_an_archiving_job_not_run_is_done_at_the_next_start(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    async with running_server(settings_for(data_dir, archive_on_close=False)) as server:
        await hold_a_short_hearing(server, seconds=2.0)
        capture = capture_directory(server.ctx.settings.effective_recordings_dir, HEARING)
        await wait_until(
            lambda: (
                (capture / "segments.jsonl").exists()
                and '"stopped"' in (capture / "segments.jsonl").read_text()
            ),
            30,
            "the capture's stop",
        )
        assert await server.ctx.recordings.get(HEARING) is None

    async with running_server(settings_for(data_dir, archive_on_close=True)) as server:
        await wait_until(
            lambda: HEARING in server.ctx.archiving.done, ARCHIVE_TIMEOUT, "the archiving job"
        )
        assert not server.ctx.archiving.done[HEARING].startswith("failed")
        assert await server.ctx.recordings.get(HEARING) is not None
        assert not capture.exists()
