"""The node registry: every node says, each heartbeat, that it is alive, where, and how loaded.

Redis holds one hash per node, ``tyndau:node:{id}``, that expires after
``node_dead_seconds`` unless the next heartbeat renews it: a node is alive
exactly while its hash exists. The sorted set ``tyndau:nodes`` (id -> last
heartbeat in ms) remembers nodes that died, so that their hearings can be
placed elsewhere (server/placement.py). Placement reads the load written
here: participants against the node's capacity first, then CPU.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from redis.asyncio import Redis
from redis.exceptions import ResponseError

if TYPE_CHECKING:
    from server.settings import Settings
    from server.sfu.room import Sfu

NODE_PREFIX = "tyndau:node:"
NODES = "tyndau:nodes"
_NODE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_URL = re.compile(r"^https?://[^\s]{1,2000}$")


def node_key(node_id: str) -> str:
    return NODE_PREFIX + node_id


def valid_node_id(value: str) -> bool:
    return bool(_NODE_ID.match(value))


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class Load:
    """What a node is carrying right now."""

    cpu: float = 0.0  # share of one core this process used since the last sample
    participants: int = 0
    bitrate_kbps: float = 0.0  # forwarded to subscribers
    hearings: int = 0


@dataclass(frozen=True)
class NodeInfo:
    """One node as the registry shows it."""

    id: str
    url: str
    capacity: int
    load: Load = Load()
    started_at: int = 0  # ms since the epoch
    heartbeat_at: int = 0

    @property
    def has_room(self) -> bool:
        return self.load.participants < self.capacity

    def rank(self, pending: int = 0) -> tuple[float, int, float]:
        """Least loaded first: participants against capacity, hearings (with ones just
        placed here but not yet in a heartbeat), then CPU."""
        return (
            self.load.participants / self.capacity,
            self.load.hearings + pending,
            self.load.cpu,
        )

    def fields(self) -> dict[str, str]:
        return {
            "url": self.url,
            "capacity": str(self.capacity),
            "started_at": str(self.started_at),
            "heartbeat_at": str(self.heartbeat_at),
            "cpu": f"{self.load.cpu:.4f}",
            "participants": str(self.load.participants),
            "bitrate_kbps": f"{self.load.bitrate_kbps:.1f}",
            "hearings": str(self.load.hearings),
        }

    @classmethod
    def parse(cls, node_id: str, fields: Mapping[bytes | str, bytes | str]) -> NodeInfo | None:
        """A node from its hash; None when the hash is not one a node wrote (never raises)."""
        try:
            text = {_text(k): _text(v) for k, v in fields.items()}
            url = text["url"]
            capacity = int(text["capacity"])
            load = Load(
                cpu=float(text.get("cpu", "0")),
                participants=int(text.get("participants", "0")),
                bitrate_kbps=float(text.get("bitrate_kbps", "0")),
                hearings=int(text.get("hearings", "0")),
            )
            started_at = int(text.get("started_at", "0"))
            heartbeat_at = int(text.get("heartbeat_at", "0"))
        except (KeyError, ValueError, UnicodeDecodeError):
            return None
        numbers = (load.cpu, load.bitrate_kbps)
        if (
            not valid_node_id(node_id)
            or not _URL.match(url)
            or capacity < 1
            or load.participants < 0
            or load.hearings < 0
            or any(n != n or n < 0 or n == float("inf") for n in numbers)  # NaN, negative, inf
        ):
            return None
        return cls(node_id, url, capacity, load, started_at, heartbeat_at)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class LoadSampler:
    """This node's load from the SFU's own counters and ``/proc/self/stat``."""

    def __init__(self, sfu: Sfu, hearings: Callable[[], int]) -> None:
        self._sfu = sfu
        self._hearings = hearings
        self._clock_ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self._at = time.monotonic()
        self._cpu = self._cpu_seconds()
        self._bytes = sfu.counters.bytes_forwarded

    def __call__(self) -> Load:
        at, cpu, sent = time.monotonic(), self._cpu_seconds(), self._sfu.counters.bytes_forwarded
        elapsed = max(at - self._at, 1e-6)
        load = Load(
            cpu=max(cpu - self._cpu, 0.0) / elapsed,
            participants=sum(len(room.sessions) for room in self._sfu.rooms.values()),
            bitrate_kbps=max(sent - self._bytes, 0) * 8 / 1000 / elapsed,
            hearings=self._hearings(),
        )
        self._at, self._cpu, self._bytes = at, cpu, sent
        return load

    def _cpu_seconds(self) -> float:
        """User + system time of this process (all threads), in seconds."""
        try:
            with open("/proc/self/stat", "rb") as stat:
                # The command name may hold spaces: the fields that follow it come after ")".
                fields = stat.read().rsplit(b")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / self._clock_ticks  # utime, stime
        except (OSError, IndexError, ValueError):
            return time.process_time()  # no procfs: the same figure from the C library


class NodeRegistry:
    """Writes this node's heartbeat and reads the others'."""

    def __init__(self, redis: Redis, settings: Settings, load: Callable[[], Load]) -> None:
        self._redis = redis
        self._load = load
        self.id = settings.node_id
        self.url = settings.node_url or settings.base_url
        self.capacity = settings.node_max_participants
        self._dead_ms = int(settings.node_dead_seconds * 1000)
        self.started_at = now_ms()

    def me(self, load: Load | None = None) -> NodeInfo:
        return NodeInfo(self.id, self.url, self.capacity, load or Load(), self.started_at, now_ms())

    async def heartbeat(self) -> NodeInfo:
        """Say that this node is alive, with its load (one round trip; raises RedisError)."""
        me = self.me(self._load())
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(node_key(self.id), mapping=me.fields())  # type: ignore[arg-type]
            pipe.pexpire(node_key(self.id), self._dead_ms)
            pipe.zadd(NODES, {self.id: me.heartbeat_at})
            await pipe.execute()
        return me

    async def leave(self) -> None:
        """Graceful stop: dead at once. Its hash goes; its place in the set stays, so
        that the next sweep moves its hearings (and then removes it), stamped now: last
        heard of while Redis answered, the others judge it at once (``Placement.may_judge``)."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(NODES, {self.id: now_ms()})
            pipe.delete(node_key(self.id))
            await pipe.execute()

    async def members(self) -> tuple[list[NodeInfo], dict[str, int]]:
        """The live nodes, and the dead ones still listed (id -> last heartbeat in ms).

        A member whose hash exists but is not one a node wrote is neither: it is
        skipped, and left alone.
        """
        try:
            listed = await self._redis.zrange(NODES, 0, -1, withscores=True)
        except ResponseError:  # not a sorted set: not ours to read (or to repair)
            return [], {}
        ids = []
        for raw, score in listed:
            try:
                node_id = _text(raw)
            except UnicodeDecodeError:
                continue
            if valid_node_id(node_id):
                ids.append((node_id, int(score)))
        if not ids:
            return [], {}
        async with self._redis.pipeline(transaction=False) as pipe:
            for node_id, _ in ids:
                pipe.hgetall(node_key(node_id))
            hashes = await pipe.execute(raise_on_error=False)
        alive: list[NodeInfo] = []
        dead: dict[str, int] = {}
        for (node_id, seen), fields in zip(ids, hashes, strict=True):
            if isinstance(fields, Exception):  # a key of another type: not a node's hash
                continue
            if not fields:
                dead[node_id] = seen
                continue
            info = NodeInfo.parse(node_id, fields)
            if info is not None:
                alive.append(info)
        return alive, dead

    async def alive(self) -> list[NodeInfo]:
        return (await self.members())[0]
