"""TURN in Chromium: relay-only clients reach the SFU through a real coturn the test starts.

The server hands out coturn REST-API credentials (server/turn.py) and tells
clients to relay only (``TYNDAU_ICE_TRANSPORT_POLICY=relay``), as a court on a
locked-down network would. The SFU gathers host candidates on 127.0.0.1 and
coturn, relaying on 127.0.0.1 too, carries every packet between them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_pages import accept_rules, open_link, press, wait_receiving
from playwright.async_api import Browser, Page
from support.coturn import Coturn, running_coturn
from support.devices import DESKTOP, PHONE
from support.ports import free_port
from support.server_process import DemoServer, start_demo_server

from server.turn import issue_credential, turn_password, turn_username

pytestmark = pytest.mark.browser

# The selected candidate pair of one of the page's peer connections, and every
# local candidate it gathered (a relay-only connection has only relay ones).
SELECTED_PAIR = """async (which) => {
    const pc = which === 'publish' ? window.tyndau.publishPc : window.tyndau.subscribePc;
    if (!pc) return null;
    const stats = await pc.getStats();
    let pairId = null;
    const locals = [];
    stats.forEach((s) => {
        if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
        if (s.type === 'local-candidate') locals.push(s.candidateType);
    });
    const pair = pairId ? stats.get(pairId) : null;
    if (!pair || pair.state !== 'succeeded') return {locals};
    const local = stats.get(pair.localCandidateId);
    const remote = stats.get(pair.remoteCandidateId);
    return {
        locals,
        local: local.candidateType, localAddress: local.address, relayProtocol: local.relayProtocol,
        remote: remote.candidateType, remoteAddress: remote.address,
        bytesReceived: pair.bytesReceived, bytesSent: pair.bytesSent,
    };
}"""

# Gather relay candidates with the given ICE servers, as the web client would;
# what Chromium reports back: the candidates and any icecandidateerror.
GATHER_RELAY = """async (servers) => {
    const pc = new RTCPeerConnection({iceServers: servers, iceTransportPolicy: 'relay'});
    const candidates = [];
    const errors = [];
    pc.addEventListener('icecandidateerror', (e) =>
        errors.push({code: e.errorCode, text: e.errorText, url: e.url}));
    const complete = new Promise((resolve) => {
        pc.addEventListener('icegatheringstatechange', () => {
            if (pc.iceGatheringState === 'complete') resolve(true);
        });
    });
    pc.addEventListener('icecandidate', (e) => {
        if (e.candidate && e.candidate.candidate) candidates.push({
            type: e.candidate.type, address: e.candidate.address,
        });
    });
    pc.createDataChannel('probe');
    await pc.setLocalDescription(await pc.createOffer());
    const finished = await Promise.race([
        complete, new Promise((resolve) => setTimeout(() => resolve(false), 45000))]);
    pc.close();
    return {finished, candidates, errors};
}"""


@pytest.fixture
def coturn(tmp_path: Path) -> Iterator[Coturn]:
    with running_coturn(tmp_path / "coturn") as server:
        yield server


@pytest.fixture
def relay_only_server(tmp_path: Path, coturn: Coturn) -> Iterator[DemoServer]:
    """The demo server handing out TURN credentials for ``coturn`` and a relay-only policy."""
    env = {
        "TYNDAU_TURN_SECRET": coturn.secret,
        "TYNDAU_TURN_URLS": coturn.udp_url,
        "TYNDAU_ICE_TRANSPORT_POLICY": "relay",
    }
    server = start_demo_server(tmp_path / "data", free_port(), tmp_path / "server.log", env)
    try:
        yield server
    finally:
        server.stop()


async def selected_pair(page: Page, which: str, timeout: float = 40.0) -> dict[str, Any]:
    """The connection's selected pair once ICE has succeeded (polled; the machine is shared)."""
    deadline = time.monotonic() + timeout
    while True:
        found = await page.evaluate(SELECTED_PAIR, which)
        if (found and "local" in found) or time.monotonic() > deadline:
            return found or {}
        await page.wait_for_timeout(500)


async def test_relay_only_participants_connect_through_coturn(
    relay_only_server: DemoServer, coturn: Coturn, browser: Browser, artifacts: Path
) -> None:
    judge = await open_link(browser, relay_only_server.links["judge"], **DESKTOP)
    lawyer = await open_link(browser, relay_only_server.links["lawyer"], **PHONE)
    await accept_rules(lawyer)
    await lawyer.wait_for_selector("body[data-state=joined][data-place=waiting]", timeout=30_000)
    await judge.wait_for_selector("body[data-state=joined]", timeout=30_000)
    await press(judge, '[data-waiting-id="lawyer"] button[data-action="admit"]')
    await lawyer.wait_for_selector("body[data-place=hearing]", timeout=20_000)

    # Each decodes the other's live video, and nobody else's.
    seen = await wait_receiving(
        {"judge": judge, "lawyer": lawyer}, {"judge": {"lawyer"}, "lawyer": {"judge"}}, 60
    )
    assert seen["judge"]["tiles"] == {"lawyer"}, seen
    assert seen["lawyer"]["tiles"] == {"judge"}, seen

    # Every connection went through coturn: its only local candidates are relayed,
    # and the selected pair runs from coturn's relay address to the SFU's host one.
    for name, page, which in (
        ("lawyer", lawyer, "publish"),
        ("lawyer", lawyer, "subscribe"),
        ("judge", judge, "subscribe"),
    ):
        pair = await selected_pair(page, which)
        assert pair.get("local") == "relay", (name, which, pair)
        assert set(pair["locals"]) == {"relay"}, (name, which, pair)
        assert pair["localAddress"] == "127.0.0.1", (name, which, pair)
        assert pair["relayProtocol"] == "udp", (name, which, pair)
        assert pair["remoteAddress"] == "127.0.0.1", (name, which, pair)
        assert pair["bytesReceived"] > 0 and pair["bytesSent"] > 0, (name, which, pair)

    # coturn accepted the credentials the server computed, per participant.
    log = coturn.log()
    for participant in ("judge", "lawyer"):
        assert f":{participant}>: incoming packet ALLOCATE processed, success" in log

    await judge.screenshot(path=str(artifacts / "turn-relay-judge-desktop.png"))
    await lawyer.screenshot(path=str(artifacts / "turn-relay-lawyer-phone.png"))
    assert judge.errors == [] and lawyer.errors == []  # type: ignore[attr-defined]


async def gather(page: Page, servers: list[dict[str, Any]]) -> dict[str, Any]:
    result = await page.evaluate(GATHER_RELAY, servers)
    assert result["finished"], result
    return result


async def test_coturn_takes_exactly_the_credentials_the_server_computes(
    coturn: Coturn, browser: Browser
) -> None:
    """Right secret and time: a relay candidate; wrong secret or expired: Chromium reports 401."""
    page = await browser.new_page()
    now = time.time()
    # An id with a colon and non-ASCII letters: %-encoded in the username, still accepted.
    good = issue_credential(
        coturn.secret, "lawyer:1/Айгүл", now=now, ttl_seconds=3600, not_after=None
    )
    # Over UDP and over TCP (the transport a turns: URL on 443 wraps in TLS).
    for url in (coturn.udp_url, coturn.tcp_url):
        servers = [{"urls": [url], "username": good.username, "credential": good.credential}]
        result = await gather(page, servers)
        assert result["errors"] == [], (url, result)
        assert result["candidates"], (url, result)
        assert {c["type"] for c in result["candidates"]} == {"relay"}, result
        assert {c["address"] for c in result["candidates"]} == {"127.0.0.1"}, result

    wrong = turn_password("not-the-secret", good.username)
    expired_name = turn_username(int(now) - 120, "lawyer")
    for username, credential in (
        (good.username, wrong),
        (expired_name, turn_password(coturn.secret, expired_name)),
    ):
        servers = [{"urls": [coturn.udp_url], "username": username, "credential": credential}]
        result = await gather(page, servers)
        assert result["candidates"] == [], result
        assert {e["code"] for e in result["errors"]} == {401}, result
        assert all(e["url"].startswith("turn:127.0.0.1:") for e in result["errors"]), result
    await page.close()
