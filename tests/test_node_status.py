"""``tyndau nodes``: what an operator sees of a deployment (server/node_status.py).

A real ``redis-server`` holding what nodes write: a live node's heartbeat (by
the registry itself), a dead node not yet swept, and placements, one of them
stale (the hearing moved on).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from redis.asyncio import Redis
from test_cli import tyndau

from server.node_status import node_statuses, render_table
from server.nodes import NODES, Load, NodeRegistry, now_ms
from server.placement import placement_key, placements_key
from server.settings import Settings

pytestmark = pytest.mark.integration


async def _deployment(redis_url: str, data_dir: Path) -> Settings:
    """Node ``a`` alive with two hearings; node ``gone`` dead with one, and one that moved."""
    settings = Settings(
        data_dir=data_dir,
        redis_url=redis_url,
        node_id="a",
        node_url="https://court.example/node/a",
        node_max_participants=20,
        node_dead_seconds=300,  # nothing sweeps here; alive for the whole test
    )
    redis = Redis.from_url(redis_url)
    try:
        load = Load(cpu=0.42, participants=7, bitrate_kbps=5600.0, hearings=2)
        await NodeRegistry(redis, settings, lambda: load).heartbeat()
        await redis.zadd(NODES, {"gone": now_ms() - 12_000})
        for hearing, node in (("h-1", "a"), ("h-2", "a"), ("h-3", "gone"), ("h-4", "a")):
            await redis.set(placement_key(hearing), node)
            await redis.sadd(placements_key(node), hearing)
        await redis.sadd(placements_key("gone"), "h-4")  # stale: h-4 moved to a
    finally:
        await redis.aclose()
    return settings


async def test_operators_see_live_and_dead_nodes_with_their_hearings(
    redis_url: str, tmp_path: Path
) -> None:
    settings = await _deployment(redis_url, tmp_path)
    redis = Redis.from_url(redis_url)
    try:
        statuses = await node_statuses(redis, settings)
    finally:
        await redis.aclose()
    assert [(s.id, s.alive, s.hearings) for s in statuses] == [
        ("a", True, ["h-1", "h-2", "h-4"]),
        ("gone", False, ["h-3"]),
    ]
    table = render_table(statuses, at_ms=statuses[1].heartbeat_at + 12_000).splitlines()
    assert table[0].split() == [
        "NODE", "STATE", "PARTICIPANTS", "CPU", "KBIT/S", "HEARD", "URL", "HEARINGS"
    ]  # fmt: skip
    assert table[1].split()[:4] == ["a", "alive", "7/20", "42%"]
    assert table[1].endswith("https://court.example/node/a  3: h-1, h-2, h-4")
    assert table[2].split() == ["gone", "DEAD", "-", "-", "-", "12.0s", "ago", "-", "1:", "h-3"]


async def test_the_command_prints_the_table_or_json(redis_url: str, tmp_path: Path) -> None:
    await _deployment(redis_url, tmp_path)
    env = {"TYNDAU_REDIS_URL": redis_url}
    table = tyndau("nodes", data_dir=tmp_path, env=env)
    assert table.returncode == 0, table.stderr
    assert "gone" in table.stdout and "DEAD" in table.stdout
    listed = tyndau("nodes", "--json", data_dir=tmp_path, env=env)
    assert listed.returncode == 0, listed.stderr
    nodes = {n["id"]: n for n in json.loads(listed.stdout)}
    assert nodes["a"]["alive"] and nodes["a"]["load"]["participants"] == 7
    assert nodes["a"]["url"] == "https://court.example/node/a"
    assert nodes["gone"] == {
        "id": "gone",
        "alive": False,
        "url": None,
        "capacity": None,
        "load": None,
        "heartbeat_at": nodes["gone"]["heartbeat_at"],
        "hearings": ["h-3"],
    }


def test_without_redis_or_with_redis_away_the_command_says_so(tmp_path: Path) -> None:
    single = tyndau("nodes", data_dir=tmp_path, env={"TYNDAU_REDIS_URL": ""})
    assert single.returncode == 2 and "single node" in single.stderr
    away = tyndau("nodes", data_dir=tmp_path, env={"TYNDAU_REDIS_URL": "redis://127.0.0.1:1"})
    assert away.returncode == 1 and "cannot be reached" in away.stderr
