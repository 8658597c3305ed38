"""The HTTP surface: health, readiness, metrics, JWKS, headers, graceful shutdown."""

from __future__ import annotations

import asyncio

import aiohttp
import jwt
from aiohttp import web
from support.peers import join_and_publish
from support.ports import free_port
from support.waiting import wait_until

from server.app import create_app
from server.auth.tokens import Grants
from server.context import ServerContext
from server.hearings import Hearing
from signaling.client import HearingClient


async def get(url: str) -> tuple[int, dict[str, str], str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, dict(response.headers), await response.text()


async def test_health_and_readiness(tyndau) -> None:
    assert (await get(f"{tyndau.url}/healthz"))[0] == 200
    status, _, body = await get(f"{tyndau.url}/readyz")
    assert status == 200
    assert "ready" in body


async def test_jwks_publishes_the_signing_key(tyndau) -> None:
    status, _, body = await get(f"{tyndau.url}/.well-known/jwks.json")
    assert status == 200
    keys = jwt.PyJWKSet.from_json(body)
    token = tyndau.token("judge", role="judge")
    kid = jwt.get_unverified_header(token)["kid"]
    key = keys[kid]
    claims = jwt.decode(token, key.key, algorithms=["EdDSA"], audience="tyndau-hearing")
    assert claims["hearing"] == "hearing-a"
    assert '"d"' not in body


async def test_pages_carry_security_headers(tyndau) -> None:
    status, headers, body = await get(f"{tyndau.url}/join")
    assert status == 200
    assert "<html" in body.lower()
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"


async def test_metrics_count_rooms_participants_and_forwarding(tyndau) -> None:
    judge = await join_and_publish(tyndau.url, tyndau.token("judge", role="judge"), (1, 2, 3), 300)
    lawyer = await join_and_publish(tyndau.url, tyndau.token("lawyer"), (3, 2, 1), 500)
    try:
        await wait_until(lambda: tyndau.ctx.sfu.counters.packets_forwarded > 100, 15, "forwarding")
        _, headers, body = await get(f"{tyndau.url}/metrics")
        assert headers["Content-Type"].startswith("text/plain")
        values = {
            line.split()[0]: float(line.split()[1])
            for line in body.splitlines()
            if line and not line.startswith("#")
        }
        assert values["tyndau_rooms"] == 1
        assert values["tyndau_participants"] == 2
        assert values["tyndau_tracks"] == 4
        assert values["tyndau_packets_forwarded_total"] > 100
        assert values["tyndau_bytes_forwarded_total"] > values["tyndau_packets_forwarded_total"]
        assert "tyndau_plis_sent_total" in values
        assert "tyndau_nacks_received_total" in values
    finally:
        await asyncio.gather(judge.close(), lawyer.close())


async def test_graceful_shutdown_closes_peer_connections(settings) -> None:
    ctx = ServerContext.build(settings)
    app = create_app(ctx=ctx)
    runner = web.AppRunner(app, shutdown_timeout=5)
    await runner.setup()
    await ctx.hearings.save(Hearing(id="hearing-a", case_number="1/1", title="A"))
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    url = f"http://127.0.0.1:{port}"
    speaker = Grants(publish_audio=True, publish_video=True)
    token = ctx.issuer.issue(
        hearing="hearing-a", participant_id="judge", name="J", role="judge", grants=speaker
    )
    judge = await join_and_publish(url, token, (9, 9, 9), 400)
    other = HearingClient(
        url,
        ctx.issuer.issue(
            hearing="hearing-a", participant_id="lawyer", name="L", role="lawyer", grants=speaker
        ),
    )
    await other.connect()
    await other.join()
    session = ctx.sfu.room("hearing-a").sessions["judge"]
    server_pc = session.publish_pc
    assert server_pc is not None
    await wait_until(lambda: server_pc.connectionState == "connected", 10, "publish connection")
    await runner.cleanup()
    assert server_pc.connectionState == "closed"
    assert ctx.sfu.rooms == {}
    await wait_until(lambda: not judge.sio.connected, 5, "clients to be disconnected")
    await asyncio.gather(judge.close(), other.close())
