"""Two people join the demo hearing from the real web client and see each other."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page
from support.devices import PHONE
from support.eds_login import api
from support.server_process import DemoServer

pytestmark = pytest.mark.browser

REMOTE_FRAMES = """() => [...document.querySelectorAll('video[data-remote]')]
    .map(v => v.getVideoPlaybackQuality().totalVideoFrames)"""


async def open_link(browser: Browser, link: str, **context_options: object) -> Page:
    context = await browser.new_context(**context_options)  # type: ignore[arg-type]
    await context.grant_permissions(["camera", "microphone"])
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # type: ignore[attr-defined]
    await page.goto(link)
    return page


async def decoded_frames(page: Page) -> list[int]:
    return await page.evaluate(REMOTE_FRAMES)


async def test_judge_and_lawyer_on_a_phone_see_each_other(
    demo_server: DemoServer, browser: Browser, artifacts: Path
) -> None:
    judge = await open_link(
        browser, demo_server.links["judge"], viewport={"width": 1280, "height": 800}
    )
    lawyer = await open_link(browser, demo_server.links["lawyer"], **PHONE)
    for page in (judge, lawyer):
        await page.wait_for_selector("body[data-state=joined]", timeout=20_000)
        await page.wait_for_selector("video[data-remote]", timeout=20_000)

    # Each shows the other's live video: the decoded frame count keeps growing.
    before = {name: await decoded_frames(p) for name, p in (("judge", judge), ("lawyer", lawyer))}
    await asyncio.sleep(3)
    after = {name: await decoded_frames(p) for name, p in (("judge", judge), ("lawyer", lawyer))}
    for name in ("judge", "lawyer"):
        assert len(after[name]) == 1, f"{name} sees {len(after[name])} remote videos"
        assert after[name][0] - before[name][0] >= 15, f"{name}'s remote video is not playing"

    # The tiles name the other person and their role, in Kazakh by default.
    judge_tile = judge.locator('.tile[data-participant-id="lawyer"]')
    assert "Мадина" in (await judge_tile.locator(".tile-name").inner_text())
    assert "адвокат" in (await judge_tile.locator(".tile-role").inner_text()).lower()
    lawyer_tile = lawyer.locator('.tile[data-participant-id="judge"]')
    assert "судья" in (await lawyer_tile.locator(".tile-role").inner_text()).lower()
    assert await judge.evaluate("document.documentElement.lang") == "kk"
    assert "7599-26-00-1/0001" in await judge.locator("#hearing-id").inner_text()

    await judge.screenshot(path=str(artifacts / "two-browsers-judge-desktop.png"))
    await lawyer.screenshot(path=str(artifacts / "two-browsers-lawyer-phone.png"))

    # The lawyer leaves: the judge's tile for them goes away.
    await lawyer.close()
    await judge.wait_for_selector(
        '.tile[data-participant-id="lawyer"]', state="detached", timeout=15_000
    )
    assert judge.errors == []  # type: ignore[attr-defined]


async def test_an_invitation_link_opens_the_hearing(tyndau, browser: Browser) -> None:
    """A witness opens the link from the SMS on a phone and is in the hearing."""
    secretary, _ = tyndau.ctx.issuer.issue_session(
        user_id="sec", iin="850505400123", name="Хатшы", roles=["secretary"]
    )
    status, created = await api(
        tyndau.url,
        "POST",
        "/api/hearings/hearing-a/invitations",
        json={"role": "witness", "name": "Куәгер Сәуле"},
        token=secretary,
    )
    assert status == 201, created
    link = f"{tyndau.url}/join#invite=" + created["link"].split("#invite=", 1)[1]
    page = await open_link(browser, link, **PHONE)
    await page.wait_for_selector("body[data-state=joined]", timeout=20_000)
    assert "#token=" in page.url  # the code was traded for a hearing token
    assert "Куәгер Сәуле" in await page.locator("#whoami-name").inner_text()
    assert "7599-23-00-1/1234" in await page.locator("#hearing-id").inner_text()
    present = tyndau.ctx.presence.hearing("hearing-a").participants
    assert [p.role for p in present.values()] == ["witness"]
    # The same link, withdrawn, no longer opens anything.
    await api(tyndau.url, "DELETE", f"/api/invitations/{created['id']}", token=secretary)
    again = await open_link(browser, link, **PHONE)
    await again.wait_for_selector("body[data-error=invitation_revoked]", timeout=20_000)
    assert page.errors == []  # type: ignore[attr-defined]
