"""From a closed hearing's capture to its sealed archive, without anyone acting.

When a hearing closes and its capture has written its last byte, the capture
is mixed (in a separate, lower-priority process: the SFU keeps its core),
sealed with the protocol into the archive, registered in the catalogue, and
only then — once the stored archive verifies and holds every captured byte —
is the local capture deleted. A job that fails leaves the capture where it is
and is tried again at the next start (docs/recording.md). With several nodes
(Redis) jobs go on a shared stream instead, for any worker to take
(:mod:`server.mix_jobs`); this pipeline is then what a worker runs per job.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from redis.exceptions import RedisError

from recorder import archive_keys
from recorder.archive import HearingIdentity, SealError, archive_folder, release_capture, seal
from recorder.controller import capture_directory
from recorder.manifest import MANIFEST
from recorder.storage import Storage, join_key
from server.errors import CodedError
from server.hearings import Hearing, HearingRegistry
from server.procedure.protocol import HearingProtocol
from server.recordings import RecordingCatalog

if TYPE_CHECKING:
    from server.mix_jobs import MixJobs

log = structlog.get_logger(__name__)

# Where a job keeps its mixed file and protocol until they are sealed.
OUTBOX = ".outbox"
# With several nodes: how often closed hearings' captures left on the shared disk
# are queued again (jobs lost with a Redis that restarted empty).
RESCAN_SECONDS = 600.0


class ArchivingFailed(Exception):
    """A step of a job failed; the capture stays for the next try."""


@dataclass
class ArchivingPipeline:
    """Runs one archiving job at a time (mixing is heavy; hearings are not)."""

    recordings_dir: Path
    keys_dir: Path
    court_timezone: str
    hearings: HearingRegistry
    protocol: HearingProtocol
    storage: Storage
    catalog: RecordingCatalog
    enabled: bool = True
    # Several nodes: jobs go on the shared stream (server/mix_jobs.py), not the queue here.
    jobs: MixJobs | None = None
    # Names this process's scratch files: two workers never share them.
    worker_id: str = "local"
    # The mixer's progress bar on this process's terminal (``tyndau worker``).
    mix_progress: bool = False

    def __post_init__(self) -> None:
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._pending: set[str] = set()
        self._worker: asyncio.Task[None] | None = None
        self._rescan: asyncio.Task[None] | None = None
        self._mixer: asyncio.subprocess.Process | None = None
        self._submitting: set[asyncio.Task[None]] = set()
        self.done: dict[str, str] = {}  # hearing id -> archive folder, or "failed: …"

    # -- lifecycle ------------------------------------------------------------

    async def start(self) -> None:
        """Start the worker and queue every closed hearing whose capture is still here."""
        if not self.enabled:
            return
        self._worker = asyncio.create_task(self._work())
        await self.resubmit_left_captures(settled_for=None)
        if self.jobs is not None:
            self._rescan = asyncio.create_task(self._rescan_forever())

    async def resubmit_left_captures(self, settled_for: timedelta | None) -> None:
        """Submit every closed hearing whose capture is still here.

        ``settled_for``: only hearings closed at least that long ago (a capture
        closed moments ago is still being finished and submitted by the recorder).
        """
        if not self.recordings_dir.is_dir():
            return
        now = datetime.now(UTC)
        for hearing_id in sorted(p.name for p in self.recordings_dir.iterdir() if p.is_dir()):
            if hearing_id.startswith("."):
                continue
            hearing = await self.hearings.fetch(hearing_id)
            if hearing is None or not hearing.closed:
                continue
            changed = hearing.state_changed_at
            if settled_for is not None and changed is not None and now - changed < settled_for:
                continue
            self.submit(hearing_id)

    async def _rescan_forever(self) -> None:
        # A Redis that restarted empty lost the queued jobs; the captures are still on
        # the shared disk, so every node looks again now and then (submitting twice
        # is harmless: the stream keeps one entry per hearing, the seal is exclusive).
        while True:
            await asyncio.sleep(RESCAN_SECONDS)
            try:
                await self.resubmit_left_captures(settled_for=timedelta(seconds=RESCAN_SECONDS))
            except Exception:  # the next round tries again
                log.exception("archiving_rescan_failed")

    def terminate_mixer(self) -> None:
        """Stop a running mixer child (the job is run again from the capture later)."""
        if self._mixer is not None and self._mixer.returncode is None:
            self._mixer.terminate()

    async def stop(self) -> None:
        self.terminate_mixer()  # mixed again from the capture at the next start
        if self._rescan is not None:
            self._rescan.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._rescan
            self._rescan = None
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None

    def submit(self, hearing_id: str) -> None:
        if not self.enabled:
            return
        if self.jobs is not None:
            task = asyncio.ensure_future(self._submit_shared(hearing_id, self.jobs))
            self._submitting.add(task)
            task.add_done_callback(self._submitting.discard)
            return
        self._queue_here(hearing_id)

    def _queue_here(self, hearing_id: str) -> None:
        if hearing_id not in self._pending:
            self._pending.add(hearing_id)
            self._queue.put_nowait(hearing_id)

    async def _submit_shared(self, hearing_id: str, jobs: MixJobs) -> None:
        try:
            await jobs.submit(hearing_id)
        except RedisError as exc:
            # Redis is away: this node does the job itself (the seal is exclusive either way).
            log.warning("mix_job_not_queued", hearing=hearing_id, error=str(exc))
            self._queue_here(hearing_id)

    async def capture_finished(self, hearing_id: str, directory: Path) -> None:
        """The recorder's word that a closed hearing's capture is complete."""
        self.submit(hearing_id)

    async def _work(self) -> None:
        while True:
            hearing_id = await self._queue.get()
            try:
                self.done[hearing_id] = await self.archive(hearing_id)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # one hearing's failure must not stop the others
                self.done[hearing_id] = f"failed: {exc}"
                log.exception("archiving_failed", hearing=hearing_id)
            finally:
                self._pending.discard(hearing_id)

    # -- one job ---------------------------------------------------------------

    async def archive(self, hearing_id: str) -> str:
        """Mix, seal, register and release one closed hearing's capture; the archive folder."""
        hearing = await self.hearings.fetch(hearing_id)
        if hearing is None or not hearing.closed:
            raise ArchivingFailed(f"hearing {hearing_id} is not closed")
        capture = capture_directory(self.recordings_dir, hearing_id)
        identity = self._identity(hearing)
        folder = archive_folder(identity)
        key = archive_keys.signing_key(self.keys_dir)
        trusted = archive_keys.trusted_keys(self.keys_dir)
        sealed = await self.storage.exists(join_key(folder, MANIFEST))
        if sealed and not capture.exists():
            # Done by another worker (or an earlier try): registering again is harmless.
            with contextlib.suppress(CodedError):
                await self.catalog.register_archived(self.storage, folder)
            log.info("archiving_done_already", hearing=hearing_id, folder=folder)
            return folder
        outbox = self.recordings_dir / OUTBOX / f"{capture.name}.{self.worker_id}"
        outbox.mkdir(parents=True, exist_ok=True)
        log.info("archiving_started", hearing=hearing_id, folder=folder)
        try:
            if not sealed:
                mixed = await self._mix(capture, outbox / "mixed.mp4", hearing.language)
                exported = await self._export_protocol(hearing, outbox)
                await seal(capture, mixed, *exported, identity, self.storage, key)
            # Sealed now, or by an earlier try that stopped before registering.
            with contextlib.suppress(CodedError):  # registered already: the same manifest
                await self.catalog.register_archived(self.storage, folder)
            await release_capture(capture, self.storage, folder, trusted)
        except SealError as exc:
            raise ArchivingFailed(f"{exc.code}: {exc}") from exc
        finally:
            await asyncio.to_thread(shutil.rmtree, outbox, True)
        # A dead worker's scratch files for this hearing (one hearing, one worker at a time).
        for stale in (self.recordings_dir / OUTBOX).glob(f"{capture.name}.*"):
            await asyncio.to_thread(shutil.rmtree, stale, True)
        log.info("archiving_done", hearing=hearing_id, folder=folder)
        return folder

    def _identity(self, hearing: Hearing) -> HearingIdentity:
        return HearingIdentity(
            id=hearing.id,
            case_number=hearing.case_number,
            court=hearing.court,
            title=hearing.title,
            kind=hearing.kind,
            judge=hearing.judge_id,
            scheduled_at=hearing.scheduled_at.isoformat() if hearing.scheduled_at else None,
            language=hearing.language,
        )

    async def _mix(self, capture: Path, output: Path, language: str) -> Path:
        """``tyndau archive mix`` in a child process at a lower priority than the server."""
        command = [
            # Lower priority than the SFU. Not preexec_fn: the server has threads
            # (capture writers, executors), and forking with them can deadlock.
            "nice",
            "-n",
            "10",
            sys.executable,
            "-m",
            "server.cli",
            "archive",
            "mix",
            str(capture),
            "-o",
            str(output),
            "--language",
            language,
            "--timezone",
            self.court_timezone,
        ]
        self._mixer = await asyncio.create_subprocess_exec(
            *command,
            stdout=asyncio.subprocess.DEVNULL,
            # On a terminal the mixer's own progress bar shows there (``tyndau worker``).
            stderr=None if self.mix_progress else asyncio.subprocess.PIPE,
        )
        _, errors = await self._mixer.communicate()
        status = self._mixer.returncode
        self._mixer = None
        if status != 0:
            tail = (errors or b"(see above)").decode("utf-8", "replace").strip().splitlines()[-3:]
            raise ArchivingFailed(f"mixing exited {status}: {' / '.join(tail)}")
        return output

    async def _export_protocol(self, hearing: Hearing, outbox: Path) -> tuple[Path, Path]:
        protocol_json = outbox / "protocol.json"
        protocol_html = outbox / "protocol.html"
        exported = await self.protocol.export_json(hearing)
        page = await self.protocol.export_html(hearing, hearing.language)
        protocol_json.write_text(json.dumps(exported, ensure_ascii=False, indent=1), "utf-8")
        protocol_html.write_text(page, "utf-8")
        return protocol_json, protocol_html
