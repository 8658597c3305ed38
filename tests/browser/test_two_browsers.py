"""Two people join the demo hearing from the real web client and see each other."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from browser_pages import accept_rules, decoded_frames, open_link, press
from playwright.async_api import Browser
from support.devices import DESKTOP, PHONE
from support.eds_login import api
from support.running import TEST_COURT
from support.server_process import DemoServer

pytestmark = pytest.mark.browser


async def test_judge_and_lawyer_on_a_phone_see_each_other(
    demo_server: DemoServer, browser: Browser, artifacts: Path
) -> None:
    judge = await open_link(browser, demo_server.links["judge"], **DESKTOP)
    lawyer = await open_link(browser, demo_server.links["lawyer"], **PHONE)
    # The demo has a waiting room: the lawyer reads the rules, waits, the judge admits them.
    await accept_rules(lawyer)
    await lawyer.wait_for_selector("body[data-state=joined][data-place=waiting]", timeout=20_000)
    await judge.wait_for_selector("body[data-state=joined]", timeout=20_000)
    await press(judge, '[data-waiting-id="lawyer"] button[data-action="admit"]')
    await lawyer.wait_for_selector("body[data-place=hearing]", timeout=15_000)
    for page in (judge, lawyer):
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
    await tyndau.ctx.directory.upsert(
        iin="850505400123", full_name="Хатшы", roles=["secretary"], court=TEST_COURT
    )
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
    await accept_rules(page)
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
