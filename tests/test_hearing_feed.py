"""Hearings across nodes: what one node writes, the other holds in memory within a second.

Two real nodes in this process share PostgreSQL and a real ``redis-server`` (the
``nodes`` fixture of test_several_nodes.py). A seat given and a state act taken
through node A reach node B's memory through the hearing feed, without B's
state listeners being told (the act was not taken there); a change made while
Redis was away is read back when B subscribes again; without Redis nothing of
this exists.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy import delete
from support.redis import RedisServer
from support.running import HEARING_A, HEARING_B, TEST_COURT
from support.waiting import wait_until
from test_several_nodes import Nodes, nodes  # noqa: F401 (the two-node fixture)

from server.context import ServerContext
from server.db.schema import HearingRow, SeatRow
from server.hearing_feed import HearingFeed
from server.hearings import Hearing, Seat
from server.procedure.states import HearingState, StateAct
from server.roles import ProceduralRole
from server.settings import Settings

FEED_DEADLINE_SECONDS = 1.0  # the same bound as revocations: "within a second"


def _feed(ctx: ServerContext) -> HearingFeed:
    feed = ctx.hearing_feed
    assert feed is not None, "TYNDAU_REDIS_URL is set: the node must follow hearings"
    return feed


async def _heard(feed: HearingFeed, before: int, what: str) -> None:
    await wait_until(lambda: feed.refreshed > before, FEED_DEADLINE_SECONDS, what)


async def test_a_seat_and_a_state_act_on_node_a_are_held_by_node_b_within_a_second(
    nodes: Nodes,  # noqa: F811
) -> None:
    a, b = nodes.a.ctx, nodes.b.ctx
    await asyncio.wait_for(_feed(b).subscribed.wait(), timeout=30)
    told_on_b: list[tuple[str, StateAct]] = []

    async def listener(hearing: Hearing, act: StateAct, at: datetime) -> None:
        told_on_b.append((hearing.id, act))

    b.hearings.state_listeners.append(listener)
    held_on_b = b.hearings.get(HEARING_A)
    assert held_on_b is not None and held_on_b.state is HearingState.IN_SESSION

    count = _feed(b).refreshed
    seat = Seat(id="witness-1", hearing_id=HEARING_A, role=ProceduralRole.WITNESS, name="W")
    await a.hearings.add_seat(seat)
    await _heard(_feed(b), count, "node B to read back the seat given on node A")
    assert await b.hearings.seat(HEARING_A, "witness-1") == seat

    count = _feed(b).refreshed
    await a.hearings.change_state(HEARING_A, StateAct.RECESS)
    await _heard(_feed(b), count, "node B to read back node A's recess")
    # The object B's connections and recorder hold changed in place.
    assert held_on_b.state is HearingState.RECESS
    assert held_on_b.state_changed_at == a.hearings.get(HEARING_A).state_changed_at  # type: ignore[union-attr]
    assert told_on_b == []  # the act was taken on A: B's listeners are not told

    count = _feed(b).refreshed
    new = await a.hearings.schedule(case_number="7599-23-00-1/9999", title="New", court=TEST_COURT)
    await _heard(_feed(b), count, "node B to hold the hearing scheduled on node A")
    assert b.hearings.get(new.id) is not None
    assert b.hearings.get(new.id).title == "New"  # type: ignore[union-attr]


async def test_a_hearing_gone_from_the_database_is_forgotten_on_refresh(
    nodes: Nodes,  # noqa: F811
) -> None:
    b = nodes.b.ctx
    async with b.db.session() as session:
        await session.execute(delete(SeatRow).where(SeatRow.hearing_id == HEARING_B))
        await session.execute(delete(HearingRow).where(HearingRow.id == HEARING_B))
    assert b.hearings.get(HEARING_B) is not None
    assert await b.hearings.refresh(HEARING_B) is None
    assert b.hearings.get(HEARING_B) is None
    assert await b.hearings.seats(HEARING_B) == []


async def test_a_change_made_while_redis_was_away_is_held_after_the_resync(
    nodes: Nodes,  # noqa: F811
    redis_server: RedisServer,
) -> None:
    a, b = nodes.a.ctx, nodes.b.ctx
    await asyncio.wait_for(_feed(b).subscribed.wait(), timeout=30)
    before = _feed(b).subscriptions
    redis_server.stop()
    try:
        # Written to the database; the announcement cannot go out, and the write
        # does not fail for it.
        await a.hearings.change_state(HEARING_A, StateAct.RECESS)
        seat = Seat(id="expert-1", hearing_id=HEARING_A, role=ProceduralRole.EXPERT, name="E")
        await a.hearings.add_seat(seat)
        await wait_until(lambda: not _feed(b).subscribed.is_set(), 30, "node B to lose Redis")
        assert b.hearings.get(HEARING_A).state is HearingState.IN_SESSION  # type: ignore[union-attr]
    finally:
        redis_server.start()  # the same port, empty; the session's later tests need it
    # B subscribes again and only then counts the subscription, after re-reading.
    await wait_until(lambda: _feed(b).subscriptions > before, 30, "node B to subscribe again")
    assert b.hearings.get(HEARING_A).state is HearingState.RECESS  # type: ignore[union-attr]
    assert await b.hearings.seat(HEARING_A, "expert-1") == seat
    # And the feed works again: the next act crosses at once.
    await asyncio.wait_for(_feed(a).subscribed.wait(), timeout=30)
    count = _feed(b).refreshed
    await a.hearings.change_state(HEARING_A, StateAct.RESUME)
    await _heard(_feed(b), count, "node B to hear of A's act after the restart")
    assert b.hearings.get(HEARING_A).state is HearingState.IN_SESSION  # type: ignore[union-attr]


def test_without_redis_hearings_are_not_announced(settings: Settings) -> None:
    ctx = ServerContext.build(settings)
    assert ctx.hearing_feed is None
    assert ctx.hearings.change_listeners == []
