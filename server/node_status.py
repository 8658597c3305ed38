"""What the nodes of a deployment are doing, for operators (``tyndau nodes``).

Read from Redis as the nodes themselves see it: the registry (live nodes with
their load, dead ones not yet swept) and the placements (which hearings each
serves). Read-only: it never changes the registry.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from server.nodes import Load, NodeRegistry, now_ms
from server.placement import hearings_placed_on

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from server.settings import Settings


@dataclass(frozen=True)
class NodeStatus:
    id: str
    alive: bool
    url: str | None  # None: dead (its hash, with its URL, expired)
    capacity: int | None
    load: Load | None
    heartbeat_at: int  # ms since the epoch
    hearings: list[str]

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["load"] = None if self.load is None else asdict(self.load)
        return data


async def node_statuses(redis: Redis, settings: Settings) -> list[NodeStatus]:
    """Every node the registry lists, live ones first, each with its hearings."""
    registry = NodeRegistry(redis, settings, Load)  # reads only: never heartbeats
    alive, dead = await registry.members()
    placed = await hearings_placed_on(redis, [n.id for n in alive] + list(dead))
    statuses = [
        NodeStatus(n.id, True, n.url, n.capacity, n.load, n.heartbeat_at, placed[n.id])
        for n in sorted(alive, key=lambda n: n.id)
    ]
    statuses += [
        NodeStatus(node_id, False, None, None, None, seen, placed[node_id])
        for node_id, seen in sorted(dead.items())
    ]
    return statuses


def render_table(statuses: list[NodeStatus], at_ms: int | None = None) -> str:
    """A fixed-width table for a terminal; hearings last (the widest)."""
    at_ms = now_ms() if at_ms is None else at_ms
    rows = [("NODE", "STATE", "PARTICIPANTS", "CPU", "KBIT/S", "HEARD", "URL", "HEARINGS")]
    for s in statuses:
        load = ("-", "-", "-")
        if s.load is not None and s.capacity is not None:
            load = (
                f"{s.load.participants}/{s.capacity}",
                f"{s.load.cpu * 100:.0f}%",
                f"{s.load.bitrate_kbps:.0f}",
            )
        heard = f"{max(at_ms - s.heartbeat_at, 0) / 1000:.1f}s ago"
        hearings = f"{len(s.hearings)}" + (f": {', '.join(s.hearings)}" if s.hearings else "")
        state = "alive" if s.alive else "DEAD"
        rows.append((s.id, state, *load, heard, s.url or "-", hearings))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )
