"""Placement (docs/several-nodes.md): one hearing on one node, and it moves when that node dies.

Real ``redis-server`` and PostgreSQL; nodes in this process where their state
is looked into, as processes where one must be SIGKILLed. Participants are
real aiortc peers (signaling.client.HearingClient) that follow ``wrong_node``
redirects from whatever entry node they were given.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis
from redis.exceptions import ResponseError
from support.cluster import in_process_nodes, node_env, seed_hearing, share_keys
from support.media import SolidColorTrack, color_close
from support.peers import join_and_publish, seen_color
from support.ports import free_port
from support.redis import RedisServer
from support.running import HEARING_A, TEST_COURT, RunningServer
from support.server_process import NodeProcess, start_node
from support.waiting import wait_until
from test_signaling_edge import refusal_code

from server.hearings import Hearing
from server.nodes import NODES, node_key, now_ms, valid_node_id
from server.placement import (
    LocalPlacement,
    Placement,
    placement_key,
    placements_key,
)
from server.procedure.states import HearingState
from server.settings import Settings
from server.sfu.room import Sfu
from signaling.client import HearingClient

pytestmark = pytest.mark.integration

HEARTBEAT_SECONDS = 0.25
DEAD_SECONDS = 1.0
# What "within node_dead_seconds" may take on a loaded test machine: a sweep
# every heartbeat, a lock, a compare-and-set (no speed is measured here).
FAILOVER_MARGIN_SECONDS = 10.0
RED, BLUE, GREEN = (220, 40, 40), (50, 70, 220), (40, 180, 60)


async def _registered(nodes: list[RunningServer]) -> None:
    """Every node has heartbeated and sees all the others alive."""

    async def all_seen() -> bool:
        for node in nodes:
            placement = node.ctx.placement
            assert isinstance(placement, Placement)
            if len(await placement.registry.alive()) < len(nodes):
                return False
        return True

    deadline = time.monotonic() + 30
    while not await all_seen():
        assert time.monotonic() < deadline, "the nodes did not all register"
        await asyncio.sleep(0.05)


@asynccontextmanager
async def _cluster(
    root: Path,
    postgres_url: str,
    redis_url: str,
    count: int,
    dead_seconds: float = DEAD_SECONDS,
    heartbeat_seconds: float = HEARTBEAT_SECONDS,
) -> AsyncIterator[list[RunningServer]]:
    async with in_process_nodes(
        root,
        postgres_url,
        redis_url,
        count,
        node_heartbeat_seconds=heartbeat_seconds,
        node_dead_seconds=dead_seconds,
        recording_enabled=False,
    ) as nodes:
        await _registered(nodes)
        yield nodes


@pytest.fixture
async def three_nodes(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> AsyncIterator[list[RunningServer]]:
    async with _cluster(tmp_path, postgres_url, redis_url, 3) as nodes:
        yield nodes


@pytest.fixture
async def two_nodes(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> AsyncIterator[list[RunningServer]]:
    async with _cluster(tmp_path, postgres_url, redis_url, 2) as nodes:
        yield nodes


def _placement(node: RunningServer) -> Placement:
    placement = node.ctx.placement
    assert isinstance(placement, Placement)
    return placement


async def _owner_and_other(nodes: list[RunningServer]) -> tuple[RunningServer, RunningServer]:
    """Place HEARING_A from the first node; (its node, the other one)."""
    placed = await _placement(nodes[0]).place(HEARING_A)
    owner = next(n for n in nodes if n.ctx.settings.node_id == placed.id)
    return owner, next(n for n in nodes if n is not owner)


async def _sees(viewer: HearingClient, participant_id: str, rgb: tuple[int, int, int]) -> None:
    """``viewer`` decodes ``participant_id``'s camera showing ``rgb``."""
    await wait_until(
        lambda: any(
            r.participant_id == participant_id and r.kind == "video" for r in viewer.active_tracks()
        ),
        20,
        f"a video track of {participant_id}",
    )
    remote = next(
        r
        for r in viewer.active_tracks()
        if r.participant_id == participant_id and r.kind == "video"
    )
    assert color_close(await seen_color(remote, rgb), rgb)


async def test_participants_entering_at_different_nodes_meet_on_one(
    three_nodes: list[RunningServer],
) -> None:
    a, b, c = three_nodes
    clients = []
    try:
        for entry, participant, role, rgb in (
            (a, "judge", "judge", RED),
            (b, "lawyer", "lawyer", BLUE),
            (c, "prosecutor", "prosecutor", GREEN),
        ):
            clients.append(
                await join_and_publish(entry.url, entry.token(participant, role=role), rgb)
            )
        judge, lawyer, prosecutor = clients
        owner_url = judge.url
        assert lawyer.url == owner_url and prosecutor.url == owner_url
        assert sum(client.redirects for client in clients) == 2  # one entry was the owner
        owner = next(node for node in three_nodes if node.url == owner_url)
        holders = [n for n in three_nodes if HEARING_A in n.ctx.placement.held]  # type: ignore[union-attr]
        assert holders == [owner]
        for viewer, other, rgb in (
            (judge, "lawyer", BLUE),
            (lawyer, "prosecutor", GREEN),
            (prosecutor, "judge", RED),
        ):
            await _sees(viewer, other, rgb)
    finally:
        await asyncio.gather(*(client.close() for client in clients), return_exceptions=True)


async def test_nodes_racing_to_place_one_hearing_agree_on_one_owner(
    three_nodes: list[RunningServer], redis_url: str
) -> None:
    placements = [node.ctx.placement for node in three_nodes]
    chosen = await asyncio.gather(
        *(p.place("raced") for _ in range(20) for p in placements)  # 60 calls at once
    )
    assert len({node.id for node in chosen}) == 1
    owner = chosen[0].id
    assert [p.node_id for p in placements if "raced" in p.held] == [owner]  # type: ignore[union-attr]

    # Racing over a dead holder: listed, no hash (heard of a moment ago, while the others
    # were in touch with Redis: dead, not cut off). Connects and sweeps race each other.
    redis = Redis.from_url(redis_url)
    try:
        await redis.zadd(NODES, {"ghost": now_ms()})
        await redis.set(placement_key("haunted"), "ghost")
        await redis.sadd(placements_key("ghost"), "haunted")
        chosen = await asyncio.gather(*(p.place("haunted") for _ in range(20) for p in placements))
        assert len({node.id for node in chosen}) == 1
        assert chosen[0].id != "ghost"
        assert (await redis.get(placement_key("haunted"))).decode() == chosen[0].id
    finally:
        await redis.aclose()


async def test_hearings_starting_together_are_spread_over_the_nodes(
    two_nodes: list[RunningServer],
) -> None:
    # Eight hearings placed within one heartbeat (the load in the registry is not
    # fresh yet): each node takes half, not the one that looked least loaded.
    a, b = two_nodes
    chosen = []
    for number in range(8):
        entry = a if number % 2 else b
        chosen.append((await _placement(entry).place(f"burst-{number}")).id)
    counts = {
        node.ctx.settings.node_id: chosen.count(node.ctx.settings.node_id) for node in two_nodes
    }
    assert sorted(counts.values()) == [4, 4], counts


async def test_without_redis_every_hearing_is_served_here(tyndau: RunningServer) -> None:
    placement = tyndau.ctx.placement
    assert isinstance(placement, LocalPlacement)
    assert (await placement.place(HEARING_A)).url == tyndau.ctx.settings.base_url
    assert await placement.owns(HEARING_A)
    client = await join_and_publish(tyndau.url, tyndau.token("lawyer"), BLUE)
    try:
        assert client.redirects == 0 and client.url == tyndau.url
    finally:
        await client.close()


async def test_a_node_stopping_gracefully_hands_its_hearings_over_at_once(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    # Dead only after 60 s: a move within seconds is the graceful leave's doing.
    async with _cluster(tmp_path, postgres_url, redis_url, 2, dead_seconds=60) as nodes:
        owner, other = await _owner_and_other(nodes)
        told: list[tuple[str, str | None, object]] = []

        async def acquired(hearing: str, previous: str | None, seen: object) -> None:
            told.append((hearing, previous, seen))

        _placement(other).acquired_listeners.append(acquired)
        await _placement(owner).stop()  # what ServerContext.stop does, after the recorder
        await wait_until(
            lambda: HEARING_A in _placement(other).held, 10, "the other node to take the hearing"
        )
        assert (await _placement(other).place(HEARING_A)).id == other.ctx.settings.node_id
        owner_id = owner.ctx.settings.node_id
        assert [(h, p) for h, p, _ in told] == [(HEARING_A, owner_id)]
        assert told[0][2] is not None  # when the owner was last heard of: the recording's gap
        # The move is kept in Redis too, for a node that missed the message.
        previous, seen = await _placement(other)._previous(HEARING_A)
        assert (previous, seen) == (owner_id, told[0][2])


async def test_with_redis_away_the_serving_node_goes_on_and_others_refuse(
    two_nodes: list[RunningServer], redis_server: RedisServer
) -> None:
    owner, other = await _owner_and_other(two_nodes)
    judge = await join_and_publish(other.url, other.token("judge", role="judge"), RED)
    lawyer: HearingClient | None = None
    try:
        assert judge.url == owner.url  # redirected
        redis_server.stop()
        try:
            # The serving node accepts its hearing's connects; the other cannot say where it is.
            lawyer = await join_and_publish(owner.url, owner.token("lawyer"), BLUE)
            assert await refusal_code(other.url, {"token": other.token("expert")}) == (
                "placement_unavailable"
            )
            await _sees(judge, "lawyer", BLUE)
        finally:
            redis_server.start()  # the same port, empty
        # Back: the serving node writes its placement again; the other redirects to it.
        redis = Redis.from_url(redis_server.url())
        try:
            deadline = time.monotonic() + 30
            while await redis.get(placement_key(HEARING_A)) != owner.ctx.settings.node_id.encode():
                assert time.monotonic() < deadline, "the placement was not written back"
                await asyncio.sleep(0.05)
        finally:
            await redis.aclose()
        assert await refusal_code(other.url, {"token": other.token("expert")}) == "wrong_node"
    finally:
        await asyncio.gather(
            *(c.close() for c in (judge, lawyer) if c is not None), return_exceptions=True
        )


async def test_after_redis_comes_back_empty_no_node_takes_a_live_nodes_hearing(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    """A placement written back before its node's heartbeat reads as a dead node's:
    a connect elsewhere in between would move a hearing whose node is alive.

    The heartbeat is slow here so that the placement feed, which reconnects within
    0.1 s, writes the placement back long before the next heartbeat would.
    """
    async with _cluster(
        tmp_path, postgres_url, redis_url, 2, dead_seconds=30.0, heartbeat_seconds=10.0
    ) as nodes:
        owner, other = await _owner_and_other(nodes)
        owner_id = owner.ctx.settings.node_id
        redis = Redis.from_url(redis_url)
        try:
            # What a Redis restarted empty looks like to the nodes: nothing kept, feeds cut.
            await redis.flushall()
            await redis.client_kill_filter(_type="pubsub")
            deadline = time.monotonic() + 10
            while await redis.get(placement_key(HEARING_A)) is None:
                assert time.monotonic() < deadline, "the placement was not written back"
                await asyncio.sleep(0.01)
            assert await redis.exists(node_key(owner_id)), "placement back before its heartbeat"
        finally:
            await redis.aclose()
        assert await refusal_code(other.url, {"token": other.token("expert")}) == "wrong_node"
        assert HEARING_A in _placement(owner).held
        assert (await _placement(other).place(HEARING_A)).id == owner_id


async def test_a_node_that_finds_its_hearing_placed_elsewhere_lets_it_go(
    two_nodes: list[RunningServer], redis_url: str
) -> None:
    owner, other = await _owner_and_other(two_nodes)
    lawyer = HearingClient(other.url, other.token("lawyer"), rejoin=True)
    try:
        await lawyer.connect()
        await lawyer.join()
        assert lawyer.url == owner.url
        # What a partition leaves behind: Redis says the other node, the owner still serves.
        redis = Redis.from_url(redis_url)
        try:
            await redis.set(placement_key(HEARING_A), other.ctx.settings.node_id)
        finally:
            await redis.aclose()
        await wait_until(lambda: lawyer.rejoins == 1, 20, "the lawyer to follow the hearing")
        assert lawyer.url == other.url
        assert "moved" in [e["code"] for e in lawyer.errors]
        assert HEARING_A not in _placement(owner).held
        assert not owner.ctx.presence.hearing(HEARING_A).participants
    finally:
        await lawyer.close()


# -- malformed registry entries ----------------------------------------------------------

_bytes = st.binary(max_size=40)
_names = st.one_of(_bytes, st.from_regex(r"[A-Za-z0-9_.-]{1,12}", fullmatch=True))
_fields = st.dictionaries(
    st.sampled_from(
        [b"url", b"capacity", b"cpu", b"participants", b"bitrate_kbps", b"hearings", b"x"]
    ),
    st.one_of(
        _bytes,
        st.sampled_from([b"http://127.0.0.1:1", b"nan", b"-1", b"inf", b"0", b"1e400"]),
    ),
    max_size=7,
)
_junk = st.lists(
    st.one_of(
        st.tuples(st.just("listed"), _names, st.floats(allow_nan=False, allow_infinity=False)),
        st.tuples(st.just("hash"), _names, _fields),
        st.tuples(st.just("string"), _names, _bytes),
        st.tuples(st.just("placed"), st.just(b"fuzzed"), _names),
        st.tuples(st.just("wrong_type"), st.sampled_from(["nodes", "placement", "set"]), _names),
    ),
    max_size=8,
)


async def _write_junk(redis: Redis, junk: list[tuple[str, object, object]]) -> None:
    for entry in junk:
        with contextlib.suppress(ResponseError):  # junk written over junk of another type
            await _write_one(redis, *entry)


async def _write_one(redis: Redis, kind: str, name: object, value: object) -> None:
    key_name = name if isinstance(name, bytes) else str(name).encode()
    if kind == "listed":
        await redis.zadd(NODES, {key_name: value})  # type: ignore[dict-item]
    elif kind == "hash" and value:
        await redis.hset(b"tyndau:node:" + key_name, mapping=value)  # type: ignore[arg-type]
    elif kind == "string":
        await redis.set(b"tyndau:node:" + key_name, value)  # type: ignore[arg-type]
    elif kind == "placed":
        holder = value if isinstance(value, bytes) else str(value).encode()
        await redis.set(placement_key("fuzzed"), holder)
        await redis.sadd(b"tyndau:placements:" + holder, b"fuzzed")
    elif kind == "wrong_type":
        key = {
            "nodes": NODES,
            "placement": placement_key("fuzzed"),
            "set": placements_key("fuzz-me"),
        }[name]  # type: ignore[index]
        await redis.delete(key)
        await redis.rpush(key, value or b"x")  # type: ignore[arg-type]


async def _place_among(redis_url: str, data_dir: Path, node_id: str, junk: list) -> None:
    redis = Redis.from_url(redis_url)
    try:
        await _write_junk(redis, junk)
        configured = Settings(
            data_dir=data_dir,
            redis_url=redis_url,
            node_id=node_id,
            node_heartbeat_seconds=HEARTBEAT_SECONDS,
            node_dead_seconds=DEAD_SECONDS,
        )
        placement = Placement(configured, Sfu(configured))
        await placement.start()
        try:
            # In touch with Redis long enough to call a silent node dead, whenever it was
            # last heard of (the fuzzed scores): junk is tested here, not that judgement.
            if placement.in_touch_since is not None:  # None: junk refused the heartbeat
                placement.in_touch_since -= DEAD_SECONDS
            first = await placement.place("fuzzed")
            again = await placement.place("fuzzed")
            assert valid_node_id(first.id) and first.url.startswith(("http://", "https://"))
            assert again.id == first.id
            await placement._sweep()
            await placement._check_held()
            assert await placement.owns("fuzzed") == (first.id == node_id)
            assert await redis.exists(node_key(node_id))
        finally:
            await placement.stop()
    finally:
        await redis.aclose()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(node_id=st.from_regex(r"[A-Za-z0-9_.-]{1,64}", fullmatch=True), junk=_junk)
def test_malformed_registry_entries_do_not_crash_placement(
    redis_server: RedisServer, tmp_path: Path, node_id: str, junk: list
) -> None:
    redis_server.flush()
    asyncio.run(_place_among(redis_server.url(), tmp_path, node_id, junk))


# -- failover: a node process killed ------------------------------------------------------


async def test_a_killed_nodes_hearing_moves_and_its_participants_follow(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    hearing = Hearing(
        id=HEARING_A,
        case_number="7599-26-00-1/0700",
        title="Failover",
        state=HearingState.OPEN,
        auto_admit=False,  # a waiting room: who was admitted must survive the failover
        court=TEST_COURT,
    )
    tokens = await seed_hearing(tmp_path / "seed", postgres_url, hearing, ["judge", "lawyer"])
    starting = []
    for name in ("n1", "n2", "n3"):
        share_keys(tmp_path / "seed", tmp_path / name)
        env = node_env(
            name,
            postgres_url,
            redis_url,
            node_heartbeat_seconds=HEARTBEAT_SECONDS,
            node_dead_seconds=DEAD_SECONDS,
            recording_enabled="false",
            log_level="info",
        )
        port = free_port()
        starting.append(
            asyncio.to_thread(start_node, tmp_path / name, port, tmp_path / f"{name}.log", env)
        )
    nodes: list[NodeProcess] = list(await asyncio.gather(*starting))
    clients: list[HearingClient] = []
    redis = Redis.from_url(redis_url)
    try:
        # Where does the hearing go? Then enter through the two other nodes.
        probe = HearingClient(nodes[0].url, tokens["judge"])
        await probe.connect()
        owner = next(n for n in nodes if n.url == probe.url)
        await probe.close()
        entries = [n for n in nodes if n is not owner]
        judge = HearingClient(entries[0].url, tokens["judge"], rejoin=True)
        lawyer = HearingClient(entries[1].url, tokens["lawyer"], rejoin=True)
        clients += [judge, lawyer]
        for client, rgb in ((judge, RED), (lawyer, BLUE)):
            await client.connect()
            await client.join()
            await client.publish(SolidColorTrack(rgb))
        assert judge.url == lawyer.url == owner.url
        await judge.call("set_state", {"act": "start"})
        await wait_until(lambda: lawyer.hearing.get("state") == "in_session", 10, "in session")
        await judge.call("admit", {"participant_id": "lawyer"})
        await judge.call("mute", {"participant_id": "lawyer", "kind": "audio", "locked": True})
        await _sees(judge, "lawyer", BLUE)
        await _sees(lawyer, "judge", RED)
        owner_id = (await redis.get(placement_key(HEARING_A))).decode()

        owner.kill()
        killed_at = time.monotonic()
        moved_to = await _moved(redis, owner_id, DEAD_SECONDS + FAILOVER_MARGIN_SECONDS)
        replaced_after = time.monotonic() - killed_at
        assert moved_to in ("n1", "n2", "n3") and moved_to != owner_id
        await wait_until(
            lambda: judge.rejoins == 1 and lawyer.rejoins == 1, 60, "both back in the hearing"
        )
        rejoined_after = time.monotonic() - killed_at
        new_owner = next(n for n in entries if n.url == judge.url)
        assert lawyer.url == new_owner.url
        assert judge.hearing["state"] == lawyer.hearing["state"] == "in_session"
        # The new node did not see the admission or the lock: the protocol tells it.
        assert lawyer.me["place"] == "hearing"
        assert lawyer.me["mute_locked"] == {"audio": True, "video": False}
        await _sees(judge, "lawyer", BLUE)
        await _sees(lawyer, "judge", RED)
        media_after = time.monotonic() - killed_at
        print(
            f"\nfailover: re-placed after {replaced_after:.2f}s, both rejoined after "
            f"{rejoined_after:.2f}s, media both ways after {media_after:.2f}s "
            f"(heartbeat {HEARTBEAT_SECONDS}s, dead after {DEAD_SECONDS}s)"
        )
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
        await redis.aclose()
        for node in nodes:
            node.stop()


async def _moved(redis: Redis, owner_id: str, timeout: float) -> str:
    """The hearing's new node, once its placement no longer names ``owner_id``."""
    deadline = time.monotonic() + timeout
    while True:
        holder = await redis.get(placement_key(HEARING_A))
        if holder is not None and holder.decode() != owner_id:
            return holder.decode()
        assert time.monotonic() < deadline, f"not re-placed within {timeout}s"
        await asyncio.sleep(0.05)
