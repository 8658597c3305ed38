"""Several Tyndau nodes on loopback sharing one PostgreSQL database and one Redis.

In this test process (``in_process_nodes``: their contexts can be looked into)
or as processes (``node_env`` for ``server_process.start_node``: they can be
killed). Every node has its own id, port and URL, and the same token keys, as
a deployment distributes them.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from recorder import archive_keys
from server.context import ServerContext
from server.hearings import Hearing
from server.settings import Settings
from support.ports import free_port
from support.running import SPEAKER, RunningServer, running_server


def node_settings(
    directory: Path, database_url: str, redis_url: str, port: int, **overrides: Any
) -> Settings:
    """A node of the cluster: named after its directory, reached at its own port
    (``overrides`` may say otherwise: ``node_id``, ``node_url``...)."""
    values: dict[str, Any] = {
        "data_dir": directory,
        "port": port,
        "node_id": directory.name,
        "ice_host_addresses": ["127.0.0.1"],
        "log_format": "console",
        "log_level": "warning",
        "database_url": database_url,
        "redis_url": redis_url,
    }
    return Settings(**{**values, **overrides})


def share_keys(source: Path, data_dir: Path) -> None:
    """The signing keys of ``source`` (a data directory) in ``data_dir`` too."""
    shutil.copytree(source / "keys", data_dir / "keys")


async def seed_hearing(
    data_dir: Path, database_url: str, hearing: Hearing, participants: Iterable[str]
) -> dict[str, str]:
    """Write ``hearing`` as the API would, with the keys every node shares (``share_keys``
    from ``data_dir``); a token for each of ``participants``, in the role of its name.

    Building the context restricts ICE to loopback in this process, as its peers need.
    """
    configured = Settings(
        data_dir=data_dir, database_url=database_url, ice_host_addresses=["127.0.0.1"]
    )
    ctx = ServerContext.build(configured)
    await ctx.db.upgrade()
    archive_keys.signing_key(data_dir / "keys")
    try:
        await ctx.hearings.save(hearing)
        return {
            who: ctx.issuer.issue(
                hearing=hearing.id, participant_id=who, name=who.title(), role=who, grants=SPEAKER
            )
            for who in participants
        }
    finally:
        await ctx.db.close()


def node_env(
    node_id: str, database_url: str, redis_url: str, **settings: str | float
) -> dict[str, str]:
    """The environment of a node process (``TYNDAU_*``)."""
    env = {
        "TYNDAU_NODE_ID": node_id,
        "TYNDAU_DATABASE_URL": database_url,
        "TYNDAU_REDIS_URL": redis_url,
    }
    env.update({f"TYNDAU_{key.upper()}": str(value) for key, value in settings.items()})
    return env


@asynccontextmanager
async def in_process_nodes(
    root: Path, database_url: str, redis_url: str, count: int, **overrides: Any
) -> AsyncIterator[list[RunningServer]]:
    """``count`` nodes named ``a``, ``b``, ``c``... in this event loop."""
    async with AsyncExitStack() as stack:
        nodes: list[RunningServer] = []
        for index in range(count):
            directory = root / "abcdefgh"[index]
            if nodes:
                share_keys(root / "a", directory)
            port = free_port()
            settings = node_settings(directory, database_url, redis_url, port, **overrides)
            nodes.append(await stack.enter_async_context(running_server(settings, port)))
        yield nodes
