"""The web client follows a ``wrong_node`` redirect through nginx, as deployed.

Two nodes share PostgreSQL and Redis behind the cluster nginx configuration
(deploy/nginx/tyndau-cluster.conf): ``/node/<id>/`` reaches that node, the rest
the entry — here node tyndau-1 only, so that the page's first connect is
certainly refused. The hearing is placed on tyndau-2; Chromium opens the join
link on the public origin and must end up joined on tyndau-2, through
``/node/tyndau-2/socket.io/``. Then tyndau-2 stops: the page's reconnects to
it fail (nginx answers 502), it goes back to the entry, which has taken the
hearing over, and is joined there.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from browser_pages import open_link
from playwright.async_api import Browser
from redis.asyncio import Redis
from support.cluster import node_settings, share_keys
from support.devices import DESKTOP
from support.ports import free_port
from support.running import HEARING_A, RunningServer, running_server
from support.waiting import wait_until
from test_deploy import cluster_site, nginx_prefix, require_nginx, running_nginx

from server.app import SIGNALING
from server.placement import placement_key, placements_key

pytestmark = pytest.mark.browser


def served_by(nodes: dict[str, RunningServer]) -> dict[str, list[str]]:
    """Who each node has a signaling connection from."""
    return {
        node_id: [c.participant_id for c in node.app[SIGNALING].connections.values()]
        for node_id, node in nodes.items()
    }


async def test_a_browser_is_redirected_to_the_hearings_node(
    tmp_path: Path, postgres_url: str, redis_url: str, browser: Browser, artifacts: Path
) -> None:
    require_nginx()
    https = free_port()
    origin = f"https://127.0.0.1:{https}"
    ports = {"tyndau-1": free_port(), "tyndau-2": free_port()}
    async with AsyncExitStack() as stack, AsyncExitStack() as second:
        nodes: dict[str, RunningServer] = {}
        for node_id, port in ports.items():
            if nodes:
                share_keys(tmp_path / "tyndau-1", tmp_path / node_id)
            settings = node_settings(
                tmp_path / node_id,
                postgres_url,
                redis_url,
                port,
                node_url=f"{origin}/node/{node_id}",
                recording_enabled=False,
            )
            owner = second if node_id == "tyndau-2" else stack  # tyndau-2 stops on its own
            nodes[node_id] = await owner.enter_async_context(running_server(settings, port))
        site = cluster_site(tmp_path, https, ports)
        entry_b = f"server 127.0.0.1:{ports['tyndau-2']} max_fails=1 fail_timeout=5s;"
        assert entry_b in site
        site = site.replace(entry_b, "")  # the entry is tyndau-1 alone
        stack.enter_context(running_nginx(nginx_prefix(tmp_path, site), https))
        redis = Redis.from_url(redis_url)
        try:  # placed on tyndau-2, as if its first participant had come there
            await redis.set(placement_key(HEARING_A), "tyndau-2")
            await redis.sadd(placements_key("tyndau-2"), HEARING_A)
        finally:
            await redis.aclose()

        token = nodes["tyndau-1"].token("judge", role="judge")
        page = await open_link(
            browser, f"{origin}/join#token={token}", ignore_https_errors=True, **DESKTOP
        )
        await page.wait_for_selector("body[data-state=joined]", timeout=30_000)
        path = await page.evaluate("window.tyndau.socket.io.opts.path")
        assert path == "/node/tyndau-2/socket.io/"
        assert served_by(nodes) == {"tyndau-1": [], "tyndau-2": ["judge"]}
        assert nodes["tyndau-1"].app[SIGNALING].stats.refused_connections["wrong_node"] >= 1
        await page.screenshot(path=str(artifacts / "node-redirect-judge.png"))

        await second.aclose()  # tyndau-2 stops: its hash goes, tyndau-1 takes the hearing
        del nodes["tyndau-2"]
        await wait_until(lambda: served_by(nodes) == {"tyndau-1": ["judge"]}, 30, "back on 1")
        await page.wait_for_selector("body[data-state=joined]", timeout=30_000)
        assert await page.evaluate("window.tyndau.socket.io.opts.path") == "/socket.io/"
        assert page.errors == []  # type: ignore[attr-defined]
        await page.context.close()
