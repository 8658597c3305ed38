"""Which node serves which hearing: one hearing on one node, moved when that node dies.

With Redis (docs/several-nodes.md, "Placement"): ``tyndau:placement:{hearing}``
holds the id of the node serving it, ``tyndau:placements:{node}`` the set of its
hearings. A hearing already placed on a live node stays there; otherwise the
least loaded live node with room is chosen and written with a compare-and-set
(a Lua script), so nodes racing for one hearing agree on one owner. Every
heartbeat every node sweeps the registry for dead nodes (listed in
``tyndau:nodes`` without a hash) and, under a per-dead-node lock, re-places their
hearings; the chosen node hears it on the channel ``tyndau:placement`` (or at the
first connect for the hearing, or at its next heartbeat) and its
``acquired_listeners`` load the hearing and continue its recording. A node that
finds a hearing it serves placed elsewhere (after a Redis outage or a partition)
lets it go: ``moved_listeners`` close its connections and its capture.

Without Redis, :class:`LocalPlacement`: every hearing is this node's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError, ResponseError

from server.errors import CodedError
from server.nodes import (
    NODE_PREFIX,
    NODES,
    LoadSampler,
    NodeInfo,
    NodeRegistry,
    node_key,
    now_ms,
    valid_node_id,
)
from server.redis_client import close_client, connect
from server.redis_feed import STOP_MARGIN_SECONDS, stop_loop

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from server.settings import Settings
    from server.sfu.room import Sfu

log = structlog.get_logger(__name__)

PLACEMENT_PREFIX = "tyndau:placement:"
PLACEMENTS_PREFIX = "tyndau:placements:"
FAILOVER_PREFIX = "tyndau:failover:"
PREVIOUS_PREFIX = "tyndau:placement-previous:"
PREVIOUS_KEEP_MS = 3_600_000
CHANNEL = "tyndau:placement"
PLACE_TIMEOUT_SECONDS = 5.0
CAS_ATTEMPTS = 5
LISTEN_POLL_SECONDS = 1.0
RETRY_MAX_SECONDS = 5.0
STOP_WAIT_SECONDS = 3.0

# (hearing id, the node that held it or None, when it was last heard of or None)
AcquiredListener = Callable[[str, str | None, datetime | None], Awaitable[None]]
# (hearing id, the node now holding it)
MovedListener = Callable[[str, str], Awaitable[None]]

# Keys of the wrong type (not written by Tyndau) read as absent: redis.pcall, never an error.
# One round trip at connect: the holder, and its URL if it is alive.
_LOCATE = """
local holder = redis.pcall('GET', KEYS[1])
if type(holder) ~= 'string' then return {} end
local url = redis.pcall('HGET', ARGV[1] .. holder, 'url')
if type(url) ~= 'string' then return {holder} end
return {holder, url}
"""

# Set the holder only if it is still the one read (ARGV[1], '' = none); ARGV[2] '' = remove.
# A move from a holder leaves who it was and when it was last seen (ARGV[4]) in KEYS[4],
# for the new holder to read if the message saying so does not reach it.
_SWAP = """
local current = redis.pcall('GET', KEYS[1])
if type(current) ~= 'string' then current = '' end
if current ~= ARGV[1] then return {0, current} end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[2])
  redis.pcall('SADD', KEYS[2], ARGV[3])
end
if ARGV[1] ~= '' then
  redis.pcall('SREM', KEYS[3], ARGV[3])
  redis.call('SET', KEYS[4], ARGV[1] .. ' ' .. ARGV[4], 'PX', ARGV[5])
else
  redis.call('DEL', KEYS[4])
end
return {1, ARGV[2]}
"""

# A dead node whose hearings have all moved leaves the list, unless it came back meanwhile.
_FORGET = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local left = redis.pcall('SCARD', KEYS[2])
if type(left) == 'number' and left > 0 then return 0 end
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
"""


def placement_key(hearing_id: str) -> str:
    return PLACEMENT_PREFIX + hearing_id


def placements_key(node_id: str) -> str:
    return PLACEMENTS_PREFIX + node_id


def previous_key(hearing_id: str) -> str:
    """Who held the hearing before its current node, and when that one was last seen."""
    return PREVIOUS_PREFIX + hearing_id


async def hearings_placed_on(redis: Redis, node_ids: list[str]) -> dict[str, list[str]]:
    """The hearings Redis places on each of ``node_ids``, sorted: each node's set, checked
    against each hearing's own key (the set may still list one that has just moved)."""
    async with redis.pipeline(transaction=False) as pipe:
        for node_id in node_ids:
            pipe.smembers(placements_key(node_id))
        sets = await pipe.execute(raise_on_error=False)
    listed = {
        node_id: sorted(_text(h) for h in members) if isinstance(members, set) else []
        for node_id, members in zip(node_ids, sets, strict=True)
    }
    hearings = sorted({h for members in listed.values() for h in members})
    if not hearings:
        return listed
    values = await redis.mget([placement_key(h) for h in hearings])
    holders = dict(zip(hearings, values, strict=True))
    return {
        node_id: [h for h in members if holders[h] is not None and _text(holders[h]) == node_id]
        for node_id, members in listed.items()
    }


class PlacementUnavailable(CodedError):
    """Redis cannot say where the hearing is, and it is not served here: retry shortly."""

    def __init__(self) -> None:
        super().__init__(
            "placement_unavailable", "the hearing cannot be placed right now; try again shortly"
        )


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _moment(ms: int | None) -> datetime | None:
    """The time ``ms`` (epoch milliseconds, as Redis holds it); None when it is no time at all."""
    if ms is None:
        return None
    try:
        return datetime.fromtimestamp(ms / 1000, UTC)
    except (ValueError, OverflowError, OSError):  # a junk score in tyndau:nodes
        return None


class LocalPlacement:
    """One node, no Redis: every hearing is served here."""

    def __init__(self, settings: Settings) -> None:
        self.node_id = settings.node_id
        self.me = NodeInfo(
            settings.node_id, settings.node_url or settings.base_url, settings.node_max_participants
        )
        # Never called: nothing moves between nodes. Kept so callers need no branch.
        self.acquired_listeners: list[AcquiredListener] = []
        self.moved_listeners: list[MovedListener] = []

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def place(self, hearing_id: str) -> NodeInfo:
        return self.me

    async def owns(self, hearing_id: str) -> bool:
        return True

    async def release(self, hearing_id: str) -> None:
        return None


class Placement:
    """This node's part in the registry and in placement (several nodes)."""

    def __init__(self, settings: Settings, sfu: Sfu) -> None:
        assert settings.redis_url is not None
        self._redis = connect(settings.redis_url)
        self._subscriber = connect(settings.redis_url, subscriber=True)
        self.held: set[str] = set()  # hearings this node serves, as Redis last said
        self.registry = NodeRegistry(
            self._redis, settings, LoadSampler(sfu, lambda: len(self.held))
        )
        self.node_id = settings.node_id
        self._heartbeat_seconds = settings.node_heartbeat_seconds
        self._dead_seconds = settings.node_dead_seconds
        self._lock_ms = int(max(settings.node_dead_seconds * 2, 5.0) * 1000)
        self.acquired_listeners: list[AcquiredListener] = []
        self.moved_listeners: list[MovedListener] = []
        self._acquiring: dict[str, asyncio.Task[None]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._listener: asyncio.Task[None] | None = None
        self._pubsub: PubSub | None = None  # the live subscription, cut at stop
        self._spawned: set[asyncio.Task[None]] = set()
        self._sweeping: asyncio.Task[None] | None = None
        self._locate = self._redis.register_script(_LOCATE)
        self._swap_script = self._redis.register_script(_SWAP)
        self._forget = self._redis.register_script(_FORGET)
        self._stopping = False
        self._healthy = True  # logs a failing heartbeat once, not every second
        # Since when every heartbeat has reached Redis (monotonic; None: the last failed),
        # and the same moment by the wall clock, as other nodes' heartbeats are stamped.
        self.in_touch_since: float | None = None
        self._in_touch_since_ms = 0
        self.heartbeats = 0  # tests wait on these
        self.subscribed = asyncio.Event()

    @property
    def me(self) -> NodeInfo:
        return self.registry.me()

    # -- lifecycle --------------------------------------------------------------

    async def start(self) -> None:
        """Register, take back what Redis says is placed here (a restart), start the loops."""
        try:
            await self.registry.heartbeat()
            self._back_in_touch()
            self.held = await self._mine()
            log.info("node_registered", node=self.node_id, hearings=len(self.held))
        except (RedisError, OSError) as exc:
            log.warning("node_register_failed", node=self.node_id, error=str(exc))
        self._listener = asyncio.create_task(self._listen(), name="placement-feed")
        self._tasks = [asyncio.create_task(self._beat(), name="node-heartbeat"), self._listener]

    async def stop(self) -> None:
        """Graceful stop: leave the registry at once, so the others re-place our hearings now."""
        if self._stopping:
            return
        # The feed is asked, not cancelled (see RedisFeed.stop); the rest are cancelled.
        self._stopping = True
        tasks = [t for t in (*self._tasks, *self._spawned) if t is not self._listener]
        if self._sweeping is not None:
            tasks.append(self._sweeping)
        for task in tasks:
            task.cancel()
        waits = []
        if self._listener is not None:
            patience = LISTEN_POLL_SECONDS + STOP_MARGIN_SECONDS
            waits.append(stop_loop(self._listener, self._pubsub, patience))
        if tasks:
            waits.append(asyncio.wait(tasks, timeout=STOP_WAIT_SECONDS))
        await asyncio.gather(*waits)
        self._tasks = []
        try:
            await self.registry.leave()
            log.info("node_left", node=self.node_id, hearings=len(self.held))
        except (RedisError, OSError) as exc:  # then they move once the hash expires
            log.warning("node_leave_failed", node=self.node_id, error=str(exc))
        self.held.clear()
        await close_client(self._redis)
        await close_client(self._subscriber)

    # -- placement --------------------------------------------------------------

    async def place(self, hearing_id: str) -> NodeInfo:
        """The node that serves ``hearing_id``, placing it first if it has no live one.

        Redis unreachable: this node, if it serves the hearing already; otherwise
        :class:`PlacementUnavailable`.
        """
        try:
            async with asyncio.timeout(PLACE_TIMEOUT_SECONDS):
                return await self._place(hearing_id)
        except (RedisError, OSError, TimeoutError) as exc:
            if hearing_id in self.held:
                log.warning("placement_unavailable_served_here", hearing=hearing_id, error=str(exc))
                return self.me
            log.warning("placement_unavailable", hearing=hearing_id, error=str(exc))
            raise PlacementUnavailable() from exc

    async def _place(self, hearing_id: str) -> NodeInfo:
        for _ in range(CAS_ATTEMPTS):
            located = await self._locate(keys=[placement_key(hearing_id)], args=[NODE_PREFIX])
            raw_holder = located[0] if located else None  # compared as stored, byte for byte
            holder = None if raw_holder is None else _text(raw_holder)
            url = _text(located[1]) if len(located) > 1 else None
            if holder == self.node_id:  # we are alive whatever our hash says: we answer
                await self._acquire(hearing_id, None, None)
                return self.me
            if holder is not None and url is not None:
                info = NodeInfo.parse(holder, {"url": url, "capacity": "1"})
                if info is not None:
                    await self._let_go(hearing_id, holder)
                    return info
            # Not placed, or its node is dead (or not a node we understand): choose.
            alive, dead = await self.registry.members()
            if holder in dead and not self.may_judge(dead[holder]):
                log.warning("placement_deferred", hearing=hearing_id, holder=holder)
                raise PlacementUnavailable()
            chosen = self._choose(alive, await self._placed_since_heartbeat(alive))
            if chosen.id == self.node_id and all(n.id != self.node_id for n in alive):
                await self._heartbeat_first()
            seen = dead.get(holder) if holder is not None else None
            if await self._swap(hearing_id, raw_holder, chosen.id, seen):
                await self._placed(hearing_id, chosen, holder, seen)
                return chosen
        raise TimeoutError(f"placement of {hearing_id} kept changing under us")

    async def _placed_since_heartbeat(self, alive: list[NodeInfo]) -> dict[str, int]:
        """Hearings placed on each node that its last heartbeat did not count yet.

        A node's load is as fresh as its heartbeat; hearings starting together
        within one would otherwise all go to the node that looked least loaded.
        The placement sets are up to date: what they hold beyond the heartbeat's
        count is on its way.
        """
        if not alive:
            return {}
        async with self._redis.pipeline(transaction=False) as pipe:
            for node in alive:
                pipe.scard(placements_key(node.id))
            counts = await pipe.execute()
        return {
            node.id: max(0, int(count) - node.load.hearings)
            for node, count in zip(alive, counts, strict=True)
        }

    def _choose(self, alive: list[NodeInfo], pending: dict[str, int]) -> NodeInfo:
        """The least loaded live node with room; this node wins ties (no redirect)."""
        candidates = [n for n in alive if n.has_room] or alive
        if not candidates:  # our own hash has lapsed (Redis was away): we are alive anyway
            return self.me
        return min(candidates, key=lambda n: (n.rank(pending.get(n.id, 0)), n.id != self.node_id))

    async def _swap(
        self,
        hearing_id: str,
        expected: str | bytes | None,
        new: str | None,
        seen_ms: int | None = None,
    ) -> bool:
        """Compare-and-set the hearing's holder; True if this call changed it."""
        keys = [
            placement_key(hearing_id),
            placements_key(new or ""),
            placements_key(_text(expected) if expected else ""),
            previous_key(hearing_id),
        ]
        args = [expected or "", new or "", hearing_id, seen_ms or "", PREVIOUS_KEEP_MS]
        won, _ = await self._swap_script(keys=keys, args=args)
        return bool(int(won))

    async def _previous(self, hearing_id: str) -> tuple[str | None, datetime | None]:
        """Who held ``hearing_id`` before us, as the move recorded it (None, None: nobody)."""
        try:
            raw = await self._redis.get(previous_key(hearing_id))
            node, _, seen = _text(raw).partition(" ") if raw is not None else ("", "", "")
            if node in ("", self.node_id) or not valid_node_id(node):
                return None, None
            return node, _moment(int(seen)) if seen else None
        except (RedisError, OSError, ValueError, OverflowError):
            return None, None

    async def _placed(
        self, hearing_id: str, chosen: NodeInfo, previous: str | None, seen_ms: int | None
    ) -> None:
        """We moved ``hearing_id`` to ``chosen``: tell it (and a partitioned previous holder)."""
        log.info("hearing_placed", hearing=hearing_id, node=chosen.id, previous=previous)
        message = {
            "hearing": hearing_id,
            "node": chosen.id,
            "previous": previous,
            "previous_seen_at": seen_ms,
        }
        try:
            await self._redis.publish(CHANNEL, json.dumps(message))
        except (RedisError, OSError) as exc:  # it learns at its next heartbeat or connect
            log.warning("placement_publish_failed", hearing=hearing_id, error=str(exc))
        if chosen.id == self.node_id:
            await self._acquire(hearing_id, previous, _moment(seen_ms))

    async def owns(self, hearing_id: str) -> bool:
        """Whether Redis has ``hearing_id`` on this node (what it last said, if it is away)."""
        try:
            holder = await self._redis.get(placement_key(hearing_id))
        except (RedisError, OSError):
            return hearing_id in self.held
        return holder is not None and _text(holder) == self.node_id

    async def release(self, hearing_id: str) -> None:
        """The hearing is over here (closed): no node holds it any more."""
        self.held.discard(hearing_id)
        try:
            await self._swap(hearing_id, self.node_id, None)
        except (RedisError, OSError) as exc:
            log.warning("placement_release_failed", hearing=hearing_id, error=str(exc))

    # -- becoming owner, letting go ---------------------------------------------

    async def _acquire(
        self, hearing_id: str, previous: str | None, previous_seen_at: datetime | None
    ) -> None:
        """This node serves ``hearing_id`` from now on; listeners run once, and every
        caller waits for them (a connect must see the hearing loaded)."""
        task = self._acquiring.get(hearing_id)
        if task is None:
            if hearing_id in self.held:
                return
            self.held.add(hearing_id)
            log.info("hearing_acquired", hearing=hearing_id, previous=previous)
            told = self._tell_acquired(hearing_id, previous, previous_seen_at)
            task = asyncio.ensure_future(told)
            self._acquiring[hearing_id] = task
            task.add_done_callback(lambda _: self._acquiring.pop(hearing_id, None))
        await asyncio.shield(task)

    async def _tell_acquired(
        self, hearing_id: str, previous: str | None, previous_seen_at: datetime | None
    ) -> None:
        if previous is None:  # learnt without the message (a connect, a heartbeat): ask Redis
            previous, previous_seen_at = await self._previous(hearing_id)
        for listener in list(self.acquired_listeners):
            try:
                await listener(hearing_id, previous, previous_seen_at)
            except Exception:
                log.exception("placement_acquired_listener_failed", hearing=hearing_id)

    async def _let_go(self, hearing_id: str, holder: str) -> None:
        """``hearing_id`` is placed on ``holder`` now: if we still serve it, stop."""
        if hearing_id not in self.held:
            return
        self.held.discard(hearing_id)
        log.warning("hearing_moved_away", hearing=hearing_id, node=holder)
        for listener in list(self.moved_listeners):
            try:
                await listener(hearing_id, holder)
            except Exception:
                log.exception("placement_moved_listener_failed", hearing=hearing_id)

    # -- every heartbeat ----------------------------------------------------------

    async def _beat(self) -> None:
        while not self._stopping:
            try:
                await self.registry.heartbeat()
                if self.in_touch_since is None:
                    self._back_in_touch()
                await self._check_held()
                if self._sweeping is None or self._sweeping.done():
                    # Apart from the heartbeat: a long sweep must not make this node look dead.
                    self._sweeping = asyncio.create_task(self._sweep(), name="failover-sweep")
                if not self._healthy:
                    log.info("node_heartbeat_back", node=self.node_id)
                self._healthy = True
                self.heartbeats += 1
            except (RedisError, OSError, TimeoutError) as exc:
                if self._healthy:
                    log.warning("node_heartbeat_failed", node=self.node_id, error=str(exc))
                self._healthy = False
                self.in_touch_since = None
            except Exception:
                log.exception("node_heartbeat_crashed", node=self.node_id)
            await asyncio.sleep(self._heartbeat_seconds)

    async def _heartbeat_first(self) -> None:
        """Heartbeat before writing a placement on this node while it may not be listed.

        A placement whose node has no heartbeat reads as a dead node's: a connect at
        another node in between would take a hearing this node is serving.
        """
        with contextlib.suppress(ResponseError):  # a registry key not ours: the hash is written
            await self.registry.heartbeat()

    async def _mine(self) -> set[str]:
        """The hearings Redis places on this node."""
        return set((await hearings_placed_on(self._redis, [self.node_id]))[self.node_id])

    async def _check_held(self) -> None:
        """Hold on to what is ours, let go of what moved, pick up what we missed hearing of.

        The listeners run beside the heartbeat: a slow database must not make us look dead.
        """
        held = sorted(self.held)
        if held:
            holders = await self._redis.mget([placement_key(h) for h in held])
            lost = [h for h, raw in zip(held, holders, strict=True) if raw is None]
            if lost:  # Redis restarted empty
                await self._heartbeat_first()
            for hearing_id in lost:
                if await self._swap(hearing_id, None, self.node_id):
                    log.info("placement_reasserted", hearing=hearing_id)
            for hearing_id, raw in zip(held, holders, strict=True):
                if raw is not None and _text(raw) != self.node_id:
                    self._spawn(self._let_go(hearing_id, _text(raw)))
        for hearing_id in await self._mine() - self.held:
            self._spawn(self._acquire(hearing_id, None, None))  # its message was lost

    def _back_in_touch(self) -> None:
        self.in_touch_since = time.monotonic()
        self._in_touch_since_ms = now_ms()

    def may_judge(self, last_seen_ms: int) -> bool:
        """Whether this node may call dead a node whose hash lapsed, last heard of then.

        When Redis was away (restarted with its data, a Sentinel failover, a network
        cut) every node's heartbeat lapsed, not only a dead one's: whoever is back
        first would take the hearings of nodes still finding their way back. So a
        node last heard of before this one was back in touch is judged only after
        ``node_dead_seconds`` in touch; one that went silent while Redis answered us
        (a crash, a graceful leave) at once. (Heartbeats carry each node's own clock:
        skew between nodes shifts this by as much.)
        """
        since = self.in_touch_since
        if since is None:
            return False
        if time.monotonic() - since >= self._dead_seconds:
            return True
        return last_seen_ms >= self._in_touch_since_ms

    async def _sweep(self) -> None:
        """Re-place the hearings of dead nodes (one sweeper per dead node, by lock)."""
        try:
            alive, dead = await self.registry.members()
            for node_id, seen_ms in dead.items():
                if node_id == self.node_id:  # our own hash lapsed: the heartbeat restores it
                    continue
                if not self.may_judge(seen_ms):
                    continue
                locked = await self._redis.set(
                    FAILOVER_PREFIX + node_id, self.node_id, nx=True, px=self._lock_ms
                )
                if locked:
                    await self._fail_over(node_id, seen_ms, alive)
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("failover_sweep_failed", node=self.node_id, error=str(exc))
        except Exception:
            log.exception("failover_sweep_crashed", node=self.node_id)

    async def _fail_over(self, dead: str, seen_ms: int, alive: list[NodeInfo]) -> None:
        hearings = [_text(h) for h in await self._redis.smembers(placements_key(dead))]
        log.warning("node_dead", node=dead, last_seen_ms=seen_ms, hearings=len(hearings))
        pending = await self._placed_since_heartbeat(alive)
        for hearing_id in hearings:
            chosen = self._choose(alive, pending)
            if await self._swap(hearing_id, dead, chosen.id, seen_ms):
                pending[chosen.id] = pending.get(chosen.id, 0) + 1
                await self._placed(hearing_id, chosen, dead, seen_ms)
            else:  # placed elsewhere already (a connect was quicker): only the stale entry
                await self._redis.srem(placements_key(dead), hearing_id)
        await self._forget(keys=[node_key(dead), placements_key(dead), NODES], args=[dead])

    # -- the channel ----------------------------------------------------------------

    async def _listen(self) -> None:
        delay = 0.1
        while not self._stopping:
            pubsub = self._pubsub = self._subscriber.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(CHANNEL)
                self.subscribed.set()
                delay = 0.1
                await self._check_held()  # what was said while we were not listening
                while not self._stopping:
                    message = await pubsub.get_message(timeout=LISTEN_POLL_SECONDS)
                    if message is not None:
                        self._spawn(self._heard(message.get("data")))
            except (RedisError, OSError) as exc:
                if not self._stopping:  # stop() cuts the connection on purpose
                    log.warning("placement_feed_lost", error=str(exc), retry_in=delay)
            except Exception:
                log.exception("placement_feed_failed", retry_in=delay)
            finally:
                self.subscribed.clear()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_SECONDS)

    async def _heard(self, data: object) -> None:
        try:
            message = json.loads(data)  # type: ignore[arg-type]
            hearing_id, node = message["hearing"], message["node"]
            previous, seen = message.get("previous"), message.get("previous_seen_at")
            if not (isinstance(hearing_id, str) and isinstance(node, str) and valid_node_id(node)):
                raise ValueError("hearing and node must be strings")
            if previous is not None and not isinstance(previous, str):
                raise ValueError("previous must be a string")
            seen_at = _moment(int(seen)) if seen is not None else None
        except (TypeError, ValueError, KeyError, OverflowError, OSError) as exc:
            log.warning("placement_message_malformed", error=str(exc))
            return
        if node != self.node_id and hearing_id not in self.held:
            return
        try:  # messages may cross: what Redis holds now decides
            raw = await self._redis.get(placement_key(hearing_id))
        except (RedisError, OSError) as exc:
            log.warning("placement_check_failed", hearing=hearing_id, error=str(exc))
            return
        holder = None if raw is None else _text(raw)
        if holder == self.node_id:
            await self._acquire(hearing_id, previous, seen_at)
        elif holder is not None:
            await self._let_go(hearing_id, holder)

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._spawned.add(task)
        task.add_done_callback(self._spawned.discard)
