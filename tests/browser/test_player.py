"""The recording player (/player#case=…&hearing=…) in Debian's Chromium, against the real server.

A sealed test recording (a short H.264 + AAC MP4 made with PyAV, with its
protocol) is put on the server's archive storage and into the catalogue; a
judge of a higher instance and a participant on a phone open the player with
the session /login keeps in sessionStorage. The video plays (its clock
advances), choosing a protocol entry seeks to that entry's recording offset,
and every access is in the audit log.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.async_api import Browser, Page
from support.devices import DESKTOP, PHONE
from support.recordings import make_mp4, protocol_for, seal_test_recording
from support.running import TEST_COURT, RunningServer

from server.hearings import Hearing, Seat
from server.roles import ProceduralRole

pytestmark = pytest.mark.browser

HIGHER_COURT = "Астана қалалық соты"
STORAGE_KEY = "tyndau.session"
OFFSETS = [
    ("hearing_opened", None),  # before the session: not in the recording
    ("session_started", 0.0),
    ("admitted", 1.5),
    ("muted", 4.0),
    ("unmuted", 5.0),
]


async def session_for(
    server: RunningServer, iin: str, name: str, roles: list[str], court: str | None
) -> dict[str, Any]:
    """A session as /login keeps it in sessionStorage (web_client/session.js)."""
    if roles:
        entry = await server.ctx.directory.upsert(iin=iin, full_name=name, roles=roles, court=court)
        user_id = entry.id
    else:
        user_id = f"iin-{iin}"
    token, expires = server.ctx.issuer.issue_session(
        user_id=user_id, iin=iin, name=name, roles=roles
    )
    return {
        "token": token,
        "expiresAt": datetime.fromtimestamp(expires, UTC).isoformat(),
        "userId": user_id,
        "person": {"iin": iin, "name": name},
        "roles": roles,
    }


async def wait_js(page: Page, expression: str, timeout: float = 20.0) -> None:
    """Poll a JS expression until it is true (the page's CSP forbids wait_for_function's eval)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await page.evaluate(expression):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still false after {timeout}s: {expression}")
        await asyncio.sleep(0.1)


async def open_player(
    browser: Browser, url: str, session: dict[str, Any], device: dict[str, Any], lang: str = "kk"
) -> Page:
    context = await browser.new_context(**device)
    # The session is in sessionStorage before the page's modules run, as after /login.
    await context.add_init_script(
        f"sessionStorage.setItem({json.dumps(STORAGE_KEY)}, {json.dumps(json.dumps(session))});"
        f"localStorage.setItem('tyndau.lang', {json.dumps(lang)});"
        # Media events do not bubble; a capturing listener still sees every seek.
        "window.__seeks = [];"
        "document.addEventListener('seeked',"
        " (e) => window.__seeks.push(e.target.currentTime), true);"
    )
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    page.errors = errors  # type: ignore[attr-defined]
    await page.goto(url)
    return page


@pytest.fixture
async def sealed(tyndau: RunningServer) -> dict[str, Any]:
    ctx = tyndau.ctx
    await ctx.courts.add(HIGHER_COURT)
    await ctx.courts.add(TEST_COURT, HIGHER_COURT)
    hearing: Hearing = await ctx.hearings.schedule(
        case_number="7599-26-00-1/0303",
        title="Күзетпен ұстау санкциясы",
        kind="sanction_session",
        court=TEST_COURT,
        scheduled_at=datetime(2026, 12, 1, 4, 0, tzinfo=UTC),
    )
    await ctx.hearings.add_seat(
        Seat(
            id="seat-lawyer",
            hearing_id=hearing.id,
            role=ProceduralRole.LAWYER,
            name="Нұрланқызы Мадина",
            iin="900101400123",
        )
    )
    mixed = await asyncio.to_thread(make_mp4, 6.0)
    recording = await seal_test_recording(
        ctx, hearing, mixed=mixed, protocol=protocol_for(hearing, OFFSETS), duration=6.0
    )
    return {"hearing": hearing, "recording": recording, "case_id": recording.case_id}


async def test_the_player_plays_and_seeks_to_protocol_entries(
    tyndau: RunningServer, sealed: dict[str, Any], browser: Browser, artifacts
) -> None:
    judge = await session_for(tyndau, "700101300333", "Жоғары Сот Судьясы", ["judge"], HIGHER_COURT)
    url = f"{tyndau.url}/player#case={sealed['case_id']}&hearing={sealed['hearing'].id}"
    page = await open_player(browser, url, judge, DESKTOP)
    await page.wait_for_selector("body[data-state=ready]", timeout=20_000)
    await wait_js(page, "document.getElementById('player-video').readyState >= 1")

    # The heading names the case; the protocol lists every entry, in Kazakh.
    assert "7599-26-00-1/0303" in await page.locator("#player-case").inner_text()
    rows = page.locator(".player-event")
    assert await rows.count() == len(OFFSETS)
    assert await page.locator(".player-event .player-offset").all_inner_texts() == [
        "—",
        "0:00",
        "0:01",
        "0:04",
        "0:05",
    ]
    assert "Отырыс басталды" in await rows.nth(1).inner_text()
    # An entry from before the recording cannot be chosen.
    assert await rows.nth(0).locator("button").is_disabled()
    duration = await page.evaluate("document.getElementById('player-video').duration")
    assert 5.5 < duration < 6.5

    # It plays: the clock advances.
    await page.evaluate("document.getElementById('player-video').muted = true")
    await page.evaluate("document.getElementById('player-video').play()")
    await wait_js(page, "document.getElementById('player-video').currentTime > 0.5")
    await page.screenshot(path=str(artifacts / "player-desktop.png"))

    # Choosing "muted" (4.0 s) seeks there, and that entry becomes the current one.
    await page.locator('.player-event[data-kind="muted"] button').click()
    await wait_js(page, "window.__seeks.some((t) => Math.abs(t - 4.0) < 0.05)")
    await wait_js(page, "document.getElementById('player-video').currentTime >= 4.0")
    await page.wait_for_selector('.player-event[data-kind="muted"][aria-current="true"]')
    # ... and back to "admitted" (1.5 s).
    await page.locator('.player-event[data-kind="admitted"] button').click()
    await wait_js(page, "window.__seeks.some((t) => Math.abs(t - 1.5) < 0.05)")
    await page.evaluate("document.getElementById('player-video').pause()")
    await page.wait_for_selector('.player-event[data-kind="admitted"][aria-current="true"]')
    await page.screenshot(path=str(artifacts / "player-desktop-seeked.png"))
    assert page.errors == []  # type: ignore[attr-defined]

    # Listing, viewing, the link, and the video's own range requests: all audited as the judge.
    entries = await tyndau.ctx.audit.entries()
    actions = {e.action for e in entries}
    assert {"list", "view", "play"} <= actions
    assert {e.user_id for e in entries} == {judge["userId"]}
    assert {e.reason for e in entries} == {"higher_instance"}
    assert (await tyndau.ctx.audit.verify()).ok


async def test_the_player_on_a_phone_for_a_participant(
    tyndau: RunningServer, sealed: dict[str, Any], browser: Browser, artifacts
) -> None:
    lawyer = await session_for(tyndau, "900101400123", "Нұрланқызы Мадина", [], None)
    url = f"{tyndau.url}/player#case={sealed['case_id']}"  # no hearing: the newest one
    page = await open_player(browser, url, lawyer, PHONE, lang="ru")
    await page.wait_for_selector("body[data-state=ready]", timeout=20_000)
    assert f"hearing={sealed['hearing'].id}" in page.url
    assert "Протокол" in await page.locator("#player-protocol-title").inner_text()
    # Phone first: the video fits the screen's width, the protocol below it.
    box = await page.locator("#player-video").bounding_box()
    protocol_box = await page.locator(".player-protocol").bounding_box()
    assert box is not None and protocol_box is not None
    assert box["width"] <= 390
    assert protocol_box["y"] >= box["y"] + box["height"]
    await page.evaluate("document.getElementById('player-video').muted = true")
    await page.locator('.player-event[data-kind="unmuted"] button').tap()
    await wait_js(page, "window.__seeks.some((t) => Math.abs(t - 5.0) < 0.05)")
    await page.screenshot(path=str(artifacts / "player-phone-ru.png"), full_page=True)
    assert page.errors == []  # type: ignore[attr-defined]


async def test_the_player_refuses_whom_the_case_does_not_concern(
    tyndau: RunningServer, sealed: dict[str, Any], browser: Browser, artifacts
) -> None:
    stranger = await session_for(tyndau, "900101400999", "Бөтен адам", [], None)
    url = f"{tyndau.url}/player#case={sealed['case_id']}&hearing={sealed['hearing'].id}"
    page = await open_player(browser, url, stranger, PHONE)
    await page.wait_for_selector("body[data-state=error][data-error=forbidden]", timeout=20_000)
    assert await page.locator("#player-video").get_attribute("src") is None
    await page.screenshot(path=str(artifacts / "player-refused-phone.png"))
    refused = [e for e in await tyndau.ctx.audit.entries() if e.action == "refused"]
    assert [e.user_id for e in refused] == [stranger["userId"]]

    # Without a session: the way to sign in, not an error.
    context = await browser.new_context(**DESKTOP)
    page = await context.new_page()
    await page.goto(url)
    await page.wait_for_selector("body[data-state=signed-out]", timeout=20_000)
    assert await page.locator("#player-signin-link").get_attribute("href") == "/login"
