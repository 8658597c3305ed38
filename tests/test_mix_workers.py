"""Archiving jobs on the shared Redis stream, done by ``tyndau worker`` processes.

A real redis-server and PostgreSQL; workers are real ``tyndau worker``
processes. A worker killed (SIGKILL, with its mixer: a lost machine) in the
middle of a mix leaves its job to another, which finishes it; two workers
handed the same hearing twice make one archive; a job that fails three times
is set aside with its error and the capture stays.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select
from support.capture_fixture import Person, write_capture
from support.ports import free_port

from recorder.archive import case_folder
from server.context import ServerContext
from server.db.schema import RecordingRow
from server.hearings import Hearing
from server.mix_jobs import DEAD, GROUP, STREAM, MixJobs, ensure_group
from server.procedure.states import HearingState
from server.redis_client import connect
from server.settings import Settings

pytestmark = pytest.mark.integration

CASE = "7599-26-00-1/0123"
COURT = "Астана қаласының тергеу соты"
START = 1796027600.0
LEASE = 3  # seconds: a dead worker's job is taken this long after its last renewal
JOB_TIMEOUT = 420  # mixing a minute on a shared machine, twice over at worst


def people(seconds: float) -> list[Person]:
    return [
        Person("judge", "Серікова Әлия", "judge", 500, (40, 60, 120), [(0, seconds)],
               [1.0, seconds / 2], video_base=1234567, audio_base=98765, moving=True),
        Person("lawyer", "Нұрланов Нұрлан", "lawyer", 900, (120, 60, 40), [(0, seconds)],
               [1.5, seconds / 2 + 1], video_base=555, audio_base=777, moving=True),
    ]  # fmt: skip


class Cluster:
    """What the workers share: the database, Redis, the data directory (keys, recordings)."""

    def __init__(self, root: Path, database_url: str, redis_url: str) -> None:
        self.data_dir = root / "data"
        self.env = {
            **os.environ,
            "TYNDAU_DATA_DIR": str(self.data_dir),
            "TYNDAU_DATABASE_URL": database_url,
            "TYNDAU_REDIS_URL": redis_url,
            "TYNDAU_MIX_JOB_LEASE_SECONDS": str(LEASE),
            "TYNDAU_LOG_FORMAT": "json",
            "TYNDAU_LOG_LEVEL": "info",
        }
        self.settings = Settings(
            data_dir=self.data_dir,
            database_url=database_url,
            redis_url=redis_url,
            log_format="console",
            log_level="warning",
        )
        self.logs = root

    @property
    def recordings(self) -> Path:
        return self.data_dir / "recordings"

    def worker(self, name: str, *, once: bool) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "server.cli", "worker"] + (["--once"] if once else [])
        return subprocess.Popen(
            command,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=(self.logs / f"{name}.log").open("wb"),
            start_new_session=True,  # its own process group: killed with its mixer
        )

    def log(self, name: str) -> list[dict[str, object]]:
        lines = (self.logs / f"{name}.log").read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    async def closed_hearing(self, hearing_id: str, seconds: float) -> None:
        """A closed hearing in the database and its capture of ``seconds`` on disk."""
        write_capture(
            self.recordings / hearing_id,
            people(seconds),
            start=START,
            duration=seconds,
            hearing_id=hearing_id,
        )
        ctx = ServerContext.build(self.settings)
        await ctx.db.upgrade()
        try:
            await ctx.hearings.save(
                Hearing(
                    id=hearing_id,
                    case_number=CASE,
                    title="Жұмысшылар",
                    court=COURT,
                    state=HearingState.CLOSED,
                    recorded_seconds=seconds,
                )
            )
        finally:
            await ctx.db.close()

    async def catalogue_entries(self, hearing_id: str) -> int:
        ctx = ServerContext.build(self.settings)
        try:
            async with ctx.db.session() as session:
                return int(
                    await session.scalar(
                        select(func.count())
                        .select_from(RecordingRow)
                        .where(RecordingRow.hearing_id == hearing_id)
                    )
                    or 0
                )
        finally:
            await ctx.db.close()

    def archives(self, hearing_id: str) -> list[Path]:
        return list((self.data_dir / "archive").glob(f"*/{hearing_id}/manifest.json"))

    def verify(self, hearing_id: str) -> subprocess.CompletedProcess[str]:
        folder = self.data_dir / "archive" / case_folder(COURT, CASE) / hearing_id
        return subprocess.run(
            [sys.executable, "-m", "server.cli", "archive", "verify", str(folder)],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )


@pytest.fixture
def cluster(tmp_path: Path, postgres_url: str, redis_url: str) -> Cluster:
    return Cluster(tmp_path, postgres_url, redis_url)


async def _stream_state(redis_url: str) -> tuple[int, int, int]:
    """(entries in the stream, pending in the group, dead letters)."""
    redis: Redis = connect(redis_url)
    try:
        await ensure_group(redis)
        pending = await redis.xpending(STREAM, GROUP)
        return await redis.xlen(STREAM), int(pending["pending"]), await redis.xlen(DEAD)
    finally:
        await redis.aclose()


async def _submit(redis_url: str, hearing_id: str) -> None:
    redis = connect(redis_url)
    try:
        assert await MixJobs(redis).submit(hearing_id)
        assert not await MixJobs(redis).submit(hearing_id)  # queued once
    finally:
        await redis.aclose()


def _wait_for_mixing(recordings: Path, timeout: float) -> Path:
    """The partial mixed file once the mixer has written a good part of it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for partial in recordings.glob(".outbox/*/mixed.mp4.partial"):
            if partial.stat().st_size > 6_000_000:  # about a third of it
                return partial
        time.sleep(0.2)
    raise AssertionError("the first worker never got far into the mix")


def _events(entries: list[dict[str, object]]) -> list[object]:
    return [e.get("event") for e in entries]


def test_a_worker_killed_mid_mix_leaves_its_job_to_another(cluster: Cluster) -> None:
    hearing = "mix-kill"
    asyncio.run(cluster.closed_hearing(hearing, 75.0))
    asyncio.run(_submit(cluster.env["TYNDAU_REDIS_URL"], hearing))

    first = cluster.worker("first", once=False)
    try:
        partial = _wait_for_mixing(cluster.recordings, JOB_TIMEOUT)
        os.killpg(first.pid, signal.SIGKILL)  # the worker and its mixer: a lost machine
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    assert first.returncode == -signal.SIGKILL
    assert not cluster.archives(hearing)
    assert partial.exists()  # its scratch file, never sealed
    partial_size = partial.stat().st_size

    second = cluster.worker("second", once=True)
    assert second.wait(timeout=JOB_TIMEOUT) == 0, cluster.log("second")[-5:]
    events = _events(cluster.log("second"))
    assert "mix_job_reclaimed" in events and "mix_job_done" in events

    assert len(cluster.archives(hearing)) == 1
    assert asyncio.run(cluster.catalogue_entries(hearing)) == 1
    assert not (cluster.recordings / hearing).exists()  # released after it verified
    assert not partial.parent.exists()  # the dead worker's scratch files are cleared
    assert asyncio.run(_stream_state(cluster.env["TYNDAU_REDIS_URL"])) == (0, 0, 0)
    checked = cluster.verify(hearing)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    [manifest] = cluster.archives(hearing)
    assert json.loads(manifest.read_text())["files"]["mixed.mp4"]["size"] > partial_size


def test_two_workers_handed_the_same_hearing_make_one_archive(cluster: Cluster) -> None:
    hearing = "mix-race"
    asyncio.run(cluster.closed_hearing(hearing, 12.0))

    async def twice() -> None:
        # Two entries for one hearing (two nodes queuing it before either knew): both taken.
        redis = connect(cluster.env["TYNDAU_REDIS_URL"])
        try:
            await ensure_group(redis)
            for _ in range(2):
                await redis.xadd(STREAM, {"hearing": hearing, "attempt": "1"})
        finally:
            await redis.aclose()

    asyncio.run(twice())
    workers = [cluster.worker(f"racer-{n}", once=True) for n in (1, 2)]
    for worker in workers:
        assert worker.wait(timeout=JOB_TIMEOUT) == 0
    mixed = [n for n in (1, 2) if "archiving_started" in _events(cluster.log(f"racer-{n}"))]
    assert len(mixed) == 1  # the other waited on the lock and found it done
    assert len(cluster.archives(hearing)) == 1
    assert asyncio.run(cluster.catalogue_entries(hearing)) == 1
    assert asyncio.run(_stream_state(cluster.env["TYNDAU_REDIS_URL"])) == (0, 0, 0)
    checked = cluster.verify(hearing)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_job_that_fails_three_times_is_set_aside_and_its_capture_stays(
    cluster: Cluster,
) -> None:
    hearing = "mix-poison"
    asyncio.run(cluster.closed_hearing(hearing, 4.0))
    index = cluster.recordings / hearing / "segments.jsonl"
    index.write_bytes(index.read_bytes().replace(b'"seq":2', b'"seq":9', 1))  # chain broken
    asyncio.run(_submit(cluster.env["TYNDAU_REDIS_URL"], hearing))

    for attempt in (1, 2, 3):
        worker = cluster.worker(f"poison-{attempt}", once=True)
        assert worker.wait(timeout=JOB_TIMEOUT) == 1
    entries = cluster.log("poison-3")
    dead = [e for e in entries if e.get("event") == "mix_job_dead"]
    assert dead and dead[0]["alert"] is True and dead[0]["level"] == "error"
    assert asyncio.run(_stream_state(cluster.env["TYNDAU_REDIS_URL"])) == (0, 0, 1)

    async def dead_letter() -> dict[str, str]:
        redis = connect(cluster.env["TYNDAU_REDIS_URL"])
        try:
            [(_, fields)] = await redis.xrange(DEAD)
            return {k.decode(): v.decode() for k, v in fields.items()}
        finally:
            await redis.aclose()

    letter = asyncio.run(dead_letter())
    assert letter["hearing"] == hearing and letter["attempts"] == "3"
    assert "capture_invalid" in letter["error"] or "mixing" in letter["error"]
    assert index.exists() and not cluster.archives(hearing)

    async def submitted_again() -> bool:
        redis = connect(cluster.env["TYNDAU_REDIS_URL"])
        try:
            return await MixJobs(redis).submit(hearing)
        finally:
            await redis.aclose()

    # Set aside means set aside: a node's re-scan does not queue it again at once.
    assert asyncio.run(submitted_again()) is False


async def test_a_node_queues_on_the_stream_and_its_own_consumer_archives(
    tmp_path: Path, redis_url: str
) -> None:
    from support.running import running_server
    from support.waiting import wait_until

    hearing = "mix-node"
    cluster = Cluster(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'tyndau.db'}", redis_url)
    await cluster.closed_hearing(hearing, 4.0)
    settings = cluster.settings.model_copy(
        update={"node_id": "node-1", "ice_host_addresses": ["127.0.0.1"]}
    )
    # At its start the node finds the closed hearing's capture and queues it on the stream.
    async with running_server(settings) as server:
        await wait_until(lambda: hearing in server.ctx.archiving.done, JOB_TIMEOUT, "the job")
        assert not server.ctx.archiving.done[hearing].startswith("failed")
        redis = connect(redis_url)
        try:
            consumers = await redis.xinfo_consumers(STREAM, GROUP)
        finally:
            await redis.aclose()
    assert [c["name"] for c in consumers] in (["node-1"], [b"node-1"])
    assert len(cluster.archives(hearing)) == 1
    assert await _stream_state(redis_url) == (0, 0, 0)


def test_a_worker_stops_on_sigterm(cluster: Cluster) -> None:
    worker = cluster.worker("idle", once=False)
    try:
        deadline = time.monotonic() + 60
        while "mix_worker_started" not in _events(cluster.log("idle")):
            assert time.monotonic() < deadline and worker.poll() is None, cluster.log("idle")
            time.sleep(0.2)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
    assert _events(cluster.log("idle"))[-2:] == ["mix_worker_stopping", "mix_worker_stopped"]


async def test_with_redis_away_a_node_archives_the_hearing_itself(tmp_path: Path) -> None:
    from support.waiting import wait_until

    hearing = "mix-away"
    away = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    cluster = Cluster(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'tyndau.db'}", away)
    await cluster.closed_hearing(hearing, 4.0)
    ctx = ServerContext.build(cluster.settings)
    await ctx.db.upgrade()
    try:
        assert ctx.archiving.jobs is not None
        await ctx.archiving.start()  # finds the capture, cannot queue it: does it here
        await wait_until(lambda: hearing in ctx.archiving.done, JOB_TIMEOUT, "the job")
        assert not ctx.archiving.done[hearing].startswith("failed"), ctx.archiving.done
    finally:
        await ctx.archiving.stop()
        await ctx.archiving.jobs.redis.aclose()
        await ctx.db.close()
    assert len(cluster.archives(hearing)) == 1


async def test_jobs_lost_with_an_emptied_redis_are_queued_again_by_the_rescan(
    tmp_path: Path, redis_url: str
) -> None:
    hearing = "mix-rescan"
    cluster = Cluster(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'tyndau.db'}", redis_url)
    await cluster.closed_hearing(hearing, 4.0)
    ctx = ServerContext.build(cluster.settings)
    await ctx.db.upgrade()
    assert ctx.archiving.jobs is not None
    redis = ctx.archiving.jobs.redis
    try:
        await ctx.archiving.start()  # queues the capture it finds (nobody consumes here)
        await _until_queued(redis)
        await redis.flushall()  # Redis came back empty: the job is gone
        await ctx.archiving.resubmit_left_captures(settled_for=timedelta(0))
        await _until_queued(redis)
        entries = await redis.xrange(STREAM)
        assert [fields[b"hearing"] for _, fields in entries] == [hearing.encode()]
        # Once more changes nothing: one entry per hearing.
        await ctx.archiving.resubmit_left_captures(settled_for=timedelta(0))
        await asyncio.sleep(0.5)
        assert len(await redis.xrange(STREAM)) == 1
        # A hearing closed moments ago is left to the recorder, which submits it itself.
        await redis.flushall()
        closed = await ctx.hearings.fetch(hearing)
        assert closed is not None
        closed.state_changed_at = datetime.now(UTC)
        await ctx.hearings.save(closed)
        await ctx.archiving.resubmit_left_captures(settled_for=timedelta(hours=1))
        await asyncio.sleep(0.5)
        assert await redis.xlen(STREAM) == 0
    finally:
        await ctx.archiving.stop()
        await redis.aclose()
        await ctx.db.close()


async def _until_queued(redis: Redis) -> None:
    deadline = time.monotonic() + 30
    while not (await redis.exists(STREAM) and await redis.xlen(STREAM) > 0):
        assert time.monotonic() < deadline, "the capture was not queued on the stream"
        await asyncio.sleep(0.05)
