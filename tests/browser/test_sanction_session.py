"""A detention-sanction session from start to end, in four real browsers.

The demo hearing is a sanction session, open, with a waiting room. The judge
(desktop) starts it and admits the prosecutor (desktop), the lawyer (a phone)
and the detainee (the facility's kiosk screen). The lawyer and the detainee
step out into a private consultation: the media itself shows that the judge
and the prosecutor stop receiving them and that they receive only each other.
Then the judge recesses, resumes and closes; every page ends on the closed
screen, and the exported protocol has the procedure in order.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest
from browser_pages import accept_rules, open_link, pass_self_test, press, wait_receiving
from playwright.async_api import Browser, Page
from support.devices import DESKTOP, KIOSK, PHONE
from support.server_process import DemoServer

pytestmark = pytest.mark.browser

CASE_NUMBER = "7599-26-00-1/0001"
PARTIES = ("prosecutor", "lawyer", "detainee")
EVERYONE = ("judge", *PARTIES)

# The protocol's procedural entries the session must produce, in this order
# (server/procedure/protocol.py EventKind); joins and leaves come in between.
PROCEDURE = (
    "session_started",
    "admitted",
    "admitted",
    "admitted",
    "consultation_started",
    "consultation_ended",
    "recess",
    "resumed",
    "hearing_closed",
)

# What the exported page says for the same entries, in Kazakh.
PROCEDURE_KK = (
    "Отырыс басталды",
    "Отырысқа жіберілді",
    "Жеке кеңес басталды",
    "Жеке кеңес аяқталды",
    "Сот кеңесу бөлмесіне кетті",
    "Отырыс жалғасты",
    "Отырыс жабылды",
)


def everyone_but(name: str, among: tuple[str, ...] = EVERYONE) -> set[str]:
    return {other for other in among if other != name}


async def fetch(url: str, token: str) -> tuple[int, str, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, headers={"Authorization": f"Bearer {token}"}) as response,
    ):
        return response.status, response.content_type, await response.text()


async def all_wait(pages: dict[str, Page], selector: str, timeout: float = 20_000) -> None:
    await asyncio.gather(*(p.wait_for_selector(selector, timeout=timeout) for p in pages.values()))


async def test_sanction_session_from_waiting_room_to_closed_protocol(
    demo_server: DemoServer, browser: Browser, artifacts: Path
) -> None:
    links = demo_server.links
    judge = await open_link(browser, links["judge"], **DESKTOP)
    parties = {
        "prosecutor": await open_link(browser, links["prosecutor"], **DESKTOP),
        "lawyer": await open_link(browser, links["lawyer"], **PHONE),
        "detainee": await open_link(browser, links["detainee"], **KIOSK),
    }
    pages = {"judge": judge, **parties}
    lawyer, detainee, prosecutor = parties["lawyer"], parties["detainee"], parties["prosecutor"]

    # The judge comes straight in, to the console; the session has not started.
    await judge.wait_for_selector("body.court[data-state=joined]", timeout=20_000)
    await judge.wait_for_selector("body[data-hearing-state=open]")
    assert await judge.locator('button[data-act="start"]').is_visible()
    assert not await judge.locator('button[data-act="resume"]').is_visible()

    # The parties read the court's rules, then wait: nobody sees or hears them yet.
    await pass_self_test(lawyer)
    await lawyer.wait_for_selector("body[data-state=rules]", timeout=20_000)
    await lawyer.screenshot(path=str(artifacts / "sanction-lawyer-phone-rules.png"))
    for page in parties.values():
        assert await page.locator("#console").is_hidden()
        await accept_rules(page)
    await all_wait(parties, "body[data-state=joined][data-place=waiting]")
    for page in parties.values():
        assert CASE_NUMBER in await page.locator("#waiting-case").inner_text()
        assert await page.locator("#waiting-panel").is_visible()
        assert await page.locator("video[data-remote]").count() == 0
    for name in PARTIES:
        await judge.wait_for_selector(f'[data-waiting-id="{name}"]', timeout=15_000)
    assert "Мадина" in await judge.locator('[data-waiting-id="lawyer"] .row-name').inner_text()
    await judge.screenshot(path=str(artifacts / "sanction-judge-waiting-room.png"))
    await lawyer.screenshot(path=str(artifacts / "sanction-lawyer-phone-waiting.png"))

    # The judge starts the session; everyone sees it.
    await press(judge, 'button[data-action="set_state"][data-act="start"]')
    await all_wait(pages, "body[data-hearing-state=in_session]")

    # The prosecutor is admitted first, one by one; then the others all at once.
    await press(judge, '[data-waiting-id="prosecutor"] button[data-action="admit"]')
    await prosecutor.wait_for_selector("body[data-place=hearing]", timeout=15_000)
    await prosecutor.wait_for_selector("#notice[data-notice=admitted]")
    assert await lawyer.get_attribute("body", "data-place") == "waiting"
    await press(judge, 'button[data-action="admit_all"]')
    await all_wait(parties, "body[data-place=hearing]")
    await judge.wait_for_selector("[data-waiting-id]", state="detached")
    for name in PARTIES:
        await judge.wait_for_selector(f'#roster-list [data-participant-id="{name}"]')

    # Everyone receives everyone else's video.
    expected = {name: everyone_but(name) for name in EVERYONE}
    seen = await wait_receiving(pages, expected)
    for name in EVERYONE:
        assert seen[name]["tiles"] == expected[name], (name, seen[name])
        assert seen[name]["streams"] == len(expected[name]), (name, seen[name])

    # Only the lawyer and the detainee are offered a consultation, with each other.
    consult = '.tile[data-participant-id="{}"] button[data-action="consult"]'
    await lawyer.wait_for_selector(consult.format("detainee"), state="visible")
    await detainee.wait_for_selector(consult.format("lawyer"), state="visible")
    assert await lawyer.locator(consult.format("prosecutor")).is_hidden()
    assert await prosecutor.locator('button[data-action="consult"]:visible').count() == 0
    assert await judge.locator('button[data-action="consult"]:visible').count() == 0

    # The lawyer, on the phone, starts a private consultation with the detainee.
    await lawyer.screenshot(path=str(artifacts / "sanction-lawyer-phone-hearing.png"))
    await press(lawyer, consult.format("detainee"))
    await all_wait({"lawyer": lawyer, "detainee": detainee}, "body[data-place=consultation]")
    assert await lawyer.locator("#consultation-banner").is_visible()
    await detainee.wait_for_selector("#notice[data-notice=consultation_started]")
    # The court sees that a consultation is going on, never what is said in it.
    await judge.wait_for_selector("#consultations-section:not([hidden]) [data-consultation-id]")
    await judge.wait_for_selector(
        '#roster-list [data-participant-id="lawyer"][data-place="consultation"]'
    )

    # From the media: the judge and the prosecutor no longer receive the two,
    # who receive only each other.
    in_consultation = {
        "judge": {"prosecutor"},
        "prosecutor": {"judge"},
        "lawyer": {"detainee"},
        "detainee": {"lawyer"},
    }
    seen = await wait_receiving(pages, in_consultation)
    for name in EVERYONE:
        assert seen[name]["shown"] == in_consultation[name], (name, seen[name])
        assert seen[name]["tiles"] == in_consultation[name], (name, seen[name])
        assert seen[name]["streams"] == len(in_consultation[name]), (name, seen[name])
    await lawyer.screenshot(path=str(artifacts / "sanction-lawyer-phone-consultation.png"))
    await judge.screenshot(path=str(artifacts / "sanction-judge-consultation.png"))
    await detainee.screenshot(path=str(artifacts / "sanction-detainee-kiosk-consultation.png"))

    # The lawyer returns; both are back in the hearing and everyone receives everyone.
    await press(lawyer, "#btn-end-consultation")
    await all_wait({"lawyer": lawyer, "detainee": detainee}, "body[data-place=hearing]")
    await detainee.wait_for_selector("#notice[data-notice=consultation_ended]")
    await judge.wait_for_selector("#consultations-section[hidden]", state="attached")
    seen = await wait_receiving(pages, expected)
    for name in EVERYONE:
        assert seen[name]["tiles"] == expected[name], (name, seen[name])

    # Recess: the judge retires to deliberate; the parties are told and no longer see the judge.
    await press(judge, 'button[data-action="set_state"][data-act="recess"]')
    await all_wait(pages, "body[data-hearing-state=recess]")
    await judge.wait_for_selector("body[data-place=deliberation]")
    assert await judge.locator("#deliberation-banner").is_visible()
    for page in parties.values():
        assert "судья кеңесу бөлмесіне кетті" in await page.locator("#hearing-status").inner_text()
        await page.wait_for_selector('.tile[data-participant-id="judge"]', state="detached")
    await lawyer.screenshot(path=str(artifacts / "sanction-lawyer-phone-recess.png"))
    await prosecutor.screenshot(path=str(artifacts / "sanction-prosecutor-recess.png"))
    await judge.screenshot(path=str(artifacts / "sanction-judge-deliberation.png"))

    # The judge resumes, and closes after the confirm step.
    await press(judge, 'button[data-action="set_state"][data-act="resume"]')
    await all_wait(pages, "body[data-hearing-state=in_session]")
    await judge.wait_for_selector("body[data-place=hearing]")
    await press(judge, 'button[data-action="set_state"][data-act="close"]')
    await judge.wait_for_selector("#confirm-dialog[open]")
    await press(judge, '#confirm-dialog button[data-action="confirm"]')
    await all_wait(pages, "body[data-state=closed]")
    for page in pages.values():
        assert await page.locator("#closed-panel").is_visible()
        assert await page.locator("video[data-remote]").count() == 0
    await lawyer.screenshot(path=str(artifacts / "sanction-lawyer-phone-closed.png"))
    await detainee.screenshot(path=str(artifacts / "sanction-detainee-kiosk-closed.png"))

    # The judge's screen keeps the live protocol: the procedure, in order.
    await judge.wait_for_selector('#protocol-list [data-protocol-kind="hearing_closed"]')
    await judge.screenshot(path=str(artifacts / "sanction-judge-closed.png"), full_page=True)
    live = await judge.eval_on_selector_all(
        "#protocol-list [data-protocol-kind]", "rows => rows.map(r => r.dataset.protocolKind)"
    )
    assert tuple(k for k in live if k in PROCEDURE) == PROCEDURE, live

    # The exported protocol says the same, to the judge's token.
    token = links["judge"].split("#token=", 1)[1]
    base = f"{demo_server.url}/api/hearings/demo"
    status, content_type, body = await fetch(f"{base}/protocol", token)
    assert status == 200, body
    assert content_type == "application/json"
    exported = json.loads(body)
    assert exported["hearing"]["case_number"] == CASE_NUMBER
    assert exported["hearing"]["state"] == "closed"
    events = exported["events"]
    kinds = [e["kind"] for e in events]
    assert tuple(k for k in kinds if k in PROCEDURE) == PROCEDURE, kinds
    admitted = [e["subject"]["id"] for e in events if e["kind"] == "admitted"]
    assert admitted[0] == "prosecutor"
    assert sorted(admitted[1:]) == ["detainee", "lawyer"]
    started = next(e for e in events if e["kind"] == "consultation_started")
    assert started["actor"]["id"] == "lawyer"
    assert started["subject"]["id"] == "detainee"

    status, content_type, page_html = await fetch(f"{base}/protocol.html?lang=kk", token)
    assert status == 200, page_html
    assert content_type == "text/html"
    positions = [page_html.find(label) for label in PROCEDURE_KK]
    assert all(p >= 0 for p in positions), dict(zip(PROCEDURE_KK, positions, strict=True))
    assert positions == sorted(positions), dict(zip(PROCEDURE_KK, positions, strict=True))

    for name, page in pages.items():
        assert page.errors == [], (name, page.errors)  # type: ignore[attr-defined]
