"""Archiving jobs shared by several nodes: a Redis stream, a consumer group, leases.

With ``TYNDAU_REDIS_URL`` a closed hearing's archiving job (mix, seal,
register, release: :class:`server.archiving.ArchivingPipeline`) goes on the
stream ``tyndau:mix-jobs`` instead of the node's own queue, and any worker
takes it: a node's own consumer (``mix_worker_in_node``) or a ``tyndau
worker`` process (docs/several-nodes.md, "Mixing workers").

- A hearing is queued once (``tyndau:mix-queued:{hearing}``, set with the entry
  in one script), however many nodes find its capture at their start.
- A worker holds a lease on its entry: it re-claims it every few seconds, so
  its idle time stays low while it works. An entry idle longer than
  ``mix_job_lease_seconds`` (its worker died) is taken by another (XAUTOCLAIM).
- Nothing is mixed twice: the worker holds ``tyndau:mix-lock:{hearing}``
  (renewed with the lease) while it works, and the archive's seal is
  exclusive anyway; a job whose hearing is already sealed and registered is
  acknowledged as done.
- An entry is acknowledged only once the archive is sealed and registered. A
  job that fails is queued again with its attempt counted; at the third
  failure (or the third worker that died holding it) it goes to
  ``tyndau:mix-jobs:dead`` with the error, is logged as an alert
  (``mix_job_dead``), and the capture stays where it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from server.archiving import ArchivingPipeline

log = structlog.get_logger(__name__)

STREAM = "tyndau:mix-jobs"
GROUP = "mixers"
DEAD = "tyndau:mix-jobs:dead"
LOCK = "tyndau:mix-lock:{}"
QUEUED = "tyndau:mix-queued:{}"
MAX_ATTEMPTS = 3
# XREADGROUP's wait: below the client's 2 s socket timeout (server/redis_client.py).
BLOCK_MS = 1000
STREAM_MAXLEN = 10_000
# A hearing stays "queued" at most this long without being done (a lost entry).
QUEUED_SECONDS = 24 * 3600
RETRY_SECONDS = 2.0  # after Redis failed us

# Queue a hearing only if it is not queued already: the key and the entry together.
_SUBMIT = """
if redis.call('SET', KEYS[1], ARGV[2], 'NX', 'EX', ARGV[3]) then
  return redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*',
                    'hearing', ARGV[1], 'attempt', '1')
end
return false
"""
# Renew or drop the lock only while it is ours.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def worker_name() -> str:
    """A consumer name unique to this process: host and pid."""
    return f"{socket.gethostname()}-{os.getpid()}"


async def ensure_group(redis: Redis) -> None:
    """The consumer group (and the stream), made once; made already is fine."""
    try:
        await redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


class MixJobs:
    """The producing side: a node puts a closed hearing's job on the stream."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def submit(self, hearing_id: str) -> bool:
        """Queue ``hearing_id``; False when it is queued already. Raises ``RedisError``.

        The group is the workers' to make: made at ``0``, it delivers what was
        added before it.
        """
        entry = await self.redis.eval(
            _SUBMIT,
            2,
            QUEUED.format(hearing_id),
            STREAM,
            hearing_id,
            datetime.now(UTC).isoformat(),
            QUEUED_SECONDS,
            STREAM_MAXLEN,
        )
        if entry is None:
            log.info("mix_job_already_queued", hearing=hearing_id)
            return False
        log.info("mix_job_queued", hearing=hearing_id, entry=_text(entry))
        return True


@dataclass
class _Job:
    entry: str
    hearing: str
    attempt: int
    deliveries: int = 1


class MixWorker:
    """One consumer of the stream: takes a job, holds its lease, archives, acknowledges."""

    def __init__(
        self,
        redis: Redis,
        pipeline: ArchivingPipeline,
        *,
        consumer: str,
        lease_seconds: float,
    ) -> None:
        self.redis = redis
        self.pipeline = pipeline
        self.consumer = consumer
        self.lease_ms = round(lease_seconds * 1000)
        self.renew_seconds = max(0.2, lease_seconds / 6)
        self.done = 0
        self._task: asyncio.Task[None] | None = None
        self._group_ready = False
        # XAUTOCLAIM looks at a few pending entries per call: go on from where it stopped.
        self._claim_from = "0-0"

    # -- in a node: one consumer beside the server -------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self.run())

    async def stop(self) -> None:
        self.pipeline.terminate_mixer()  # before the cancel: the child would live on
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        # Its entry is taken again after the lease (or by this node's next start).

    # -- the loop ------------------------------------------------------------------

    async def run(self, *, once: bool = False) -> str | None:
        """Take and do jobs; with ``once``, the first one's outcome (done, failed, dead)."""
        log.info("mix_worker_started", consumer=self.consumer, lease_ms=self.lease_ms)
        while True:
            try:
                job = await self._next()
            except RedisError as exc:
                if "NOGROUP" in str(exc):
                    self._group_ready = False  # Redis came back empty: make it again
                log.warning("mix_worker_redis_failed", consumer=self.consumer, error=str(exc))
                await asyncio.sleep(RETRY_SECONDS)
                continue
            except Exception:  # a node's consumer must outlive anything one reply holds
                log.exception("mix_worker_failed", consumer=self.consumer)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            if job is None:
                continue
            try:
                outcome = await self.handle(job)
            except RedisError as exc:
                # Done or not, the entry stays pending: taken again after the lease, and a
                # job done already is then acknowledged as done.
                log.warning("mix_worker_redis_failed", consumer=self.consumer, error=str(exc))
                await asyncio.sleep(RETRY_SECONDS)
                continue
            if once:
                return outcome

    async def _next(self) -> _Job | None:
        """An entry whose worker died (idle past the lease), else a new one (waits a second)."""
        if not self._group_ready:
            await ensure_group(self.redis)
            self._group_ready = True
        claimed = await self.redis.xautoclaim(
            STREAM, GROUP, self.consumer, self.lease_ms, start_id=self._claim_from, count=1
        )
        self._claim_from = _text(claimed[0]) if claimed else "0-0"
        messages = claimed[1] if claimed else []
        if messages:
            entry, fields = messages[0]
            job = _job(entry, fields)
            pending = await self.redis.xpending_range(
                STREAM, GROUP, min=job.entry, max=job.entry, count=1
            )
            job.deliveries = int(pending[0]["times_delivered"]) if pending else 1
            log.warning(
                "mix_job_reclaimed",
                hearing=job.hearing,
                entry=job.entry,
                consumer=self.consumer,
                deliveries=job.deliveries,
            )
            return job
        read = await self.redis.xreadgroup(
            GROUP, self.consumer, {STREAM: ">"}, count=1, block=BLOCK_MS
        )
        for _stream, entries in read or []:
            for entry, fields in entries:
                return _job(entry, fields)
        return None

    # -- one job -------------------------------------------------------------------

    async def handle(self, job: _Job) -> str:
        """Archive one job's hearing under its lease and lock; ``done``, ``failed`` or ``dead``."""
        log.info("mix_job_started", hearing=job.hearing, entry=job.entry, consumer=self.consumer)
        if job.deliveries > MAX_ATTEMPTS:
            # Every worker that took it died (killed while mixing it: out of memory?).
            return await self._dead(job, f"{job.deliveries - 1} workers stopped while holding it")
        try:
            async with self._lease(job):
                folder = await self.pipeline.archive(job.hearing)
        except (asyncio.CancelledError, RedisError):
            raise  # a stopping worker, or Redis away: the entry is taken again after the lease
        except Exception as exc:
            log.warning(
                "mix_job_failed",
                hearing=job.hearing,
                entry=job.entry,
                attempt=job.attempt,
                error=str(exc),
            )
            self.pipeline.done[job.hearing] = f"failed: {exc}"
            if job.attempt >= MAX_ATTEMPTS:
                return await self._dead(job, str(exc))
            await self._retry(job)
            return "failed"
        await self._finish(job)
        self.pipeline.done[job.hearing] = folder
        self.done += 1
        log.info("mix_job_done", hearing=job.hearing, folder=folder, consumer=self.consumer)
        return "done"

    @contextlib.asynccontextmanager
    async def _lease(self, job: _Job) -> AsyncIterator[None]:
        """Keep the entry ours and take the hearing's lock (waiting while another holds it)."""
        lock = LOCK.format(job.hearing)
        renewing = asyncio.create_task(self._renew(job, lock))
        try:
            waited = False
            while not await self.redis.set(lock, self.consumer, nx=True, px=self.lease_ms):
                if not waited:
                    # A second entry for the same hearing: it ends as done once the other is.
                    log.info("mix_job_waiting_for_lock", hearing=job.hearing, entry=job.entry)
                    waited = True
                await asyncio.sleep(self.renew_seconds)
            yield
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            with contextlib.suppress(RedisError):
                await self.redis.eval(_UNLOCK, 1, lock, self.consumer)

    async def _renew(self, job: _Job, lock: str) -> None:
        while True:
            await asyncio.sleep(self.renew_seconds)
            try:
                # JUSTID: resets the idle time without counting a delivery.
                await self.redis.xclaim(STREAM, GROUP, self.consumer, 0, [job.entry], justid=True)
                await self.redis.eval(_RENEW, 1, lock, self.consumer, self.lease_ms)
            except RedisError as exc:
                log.warning("mix_job_lease_not_renewed", hearing=job.hearing, error=str(exc))

    async def _finish(self, job: _Job) -> None:
        async with self.redis.pipeline(transaction=True) as tx:
            tx.xack(STREAM, GROUP, job.entry)
            tx.xdel(STREAM, job.entry)
            tx.delete(QUEUED.format(job.hearing))
            await tx.execute()

    async def _retry(self, job: _Job) -> None:
        """Queue the hearing again with the attempt counted, in place of this entry."""
        async with self.redis.pipeline(transaction=True) as tx:
            tx.xadd(
                STREAM,
                {"hearing": job.hearing, "attempt": str(job.attempt + 1)},
                maxlen=STREAM_MAXLEN,
                approximate=True,
            )
            tx.xack(STREAM, GROUP, job.entry)
            tx.xdel(STREAM, job.entry)
            await tx.execute()

    async def _dead(self, job: _Job, error: str) -> str:
        """Set the job aside for people: the capture stays, nothing is tried again."""
        async with self.redis.pipeline(transaction=True) as tx:
            tx.xadd(
                DEAD,
                {
                    "hearing": job.hearing,
                    "entry": job.entry,
                    "attempts": str(max(job.attempt, job.deliveries - 1)),
                    "error": error[:2000],
                    "consumer": self.consumer,
                    "failed_at": datetime.now(UTC).isoformat(),
                },
            )
            tx.xack(STREAM, GROUP, job.entry)
            tx.xdel(STREAM, job.entry)
            # Kept marked (not deleted) so the nodes' periodic re-scan does not queue
            # it again at once: it is tried again only after QUEUED_SECONDS, or when
            # an operator deletes the key (docs/operations.md).
            tx.set(QUEUED.format(job.hearing), "dead", ex=QUEUED_SECONDS)
            await tx.execute()
        log.error(
            "mix_job_dead",
            alert=True,
            hearing=job.hearing,
            entry=job.entry,
            error=error,
            dead_letters=DEAD,
        )
        return "dead"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _job(entry: Any, fields: dict[Any, Any]) -> _Job:
    values = {_text(k): _text(v) for k, v in (fields or {}).items()}
    attempt = values.get("attempt", "1")
    return _Job(
        entry=_text(entry),
        hearing=values.get("hearing", ""),
        attempt=int(attempt) if attempt.isdigit() else 1,
    )
