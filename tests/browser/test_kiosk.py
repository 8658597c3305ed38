"""A detention facility's video unit in kiosk mode (`/kiosk`), in real browsers.

The unit is registered and its credential entered once; it waits with "no
session" until the facility officer starts a session for the demo hearing
over the REST API, then joins by itself as the detainee. The judge admits it
and sees its video, the lawyer consults with it, its connection is cut and it
comes back by itself into the same place with its media, and when the officer
ends the session it goes back to waiting. Screenshots of each step are saved
in test-artifacts/ for a person to review.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from browser_pages import accept_rules, open_link, press, receiving
from playwright.async_api import Browser, Page
from support.devices import DESKTOP, KIOSK
from support.eds_login import api
from support.ports import free_port
from support.server_process import DemoServer, start_demo_server

from server.context import ServerContext
from server.settings import Settings

pytestmark = pytest.mark.browser

FACILITY = "СИЗО-1 Астана"
OFFICER_IIN = "790101350111"
DEMO_HEARING = "demo"


class Unit:
    """The demo server, an officer's session token and a registered unit."""

    def __init__(self, server: DemoServer, officer: str, endpoint_id: str, credential: str) -> None:
        self.server = server
        self.officer = officer
        self.endpoint_id = endpoint_id
        self.credential = credential

    async def start_session(self) -> dict:
        status, body = await api(
            self.server.url,
            "POST",
            "/api/facility/sessions",
            json={
                "endpoint_id": self.endpoint_id,
                "hearing_id": DEMO_HEARING,
                "detainee_name": "Болат Қайратұлы",
                "seat_id": "detainee",
            },
            token=self.officer,
        )
        assert status == 201, body
        return body

    async def end_session(self, session_id: str) -> None:
        status, body = await api(
            self.server.url, "DELETE", f"/api/facility/sessions/{session_id}", token=self.officer
        )
        assert status == 200, body


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def demo_server(tmp_path: Path, data_dir: Path) -> Iterator[DemoServer]:
    server = start_demo_server(data_dir, free_port(), tmp_path / "server.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def unit(demo_server: DemoServer, data_dir: Path) -> AsyncIterator[Unit]:
    """What `tyndau users add` and `tyndau facility add-unit` do, on the server's data."""
    ctx = ServerContext.build(Settings.load(data_dir=data_dir))
    try:
        await ctx.directory.upsert(
            iin=OFFICER_IIN, full_name="Офицер Нұрлан", roles=["facility_officer"], court=FACILITY
        )
        endpoint, credential = await ctx.facilities.register_endpoint(FACILITY, "Бөлме 3")
        officer, _ = ctx.issuer.issue_session(
            user_id="officer-1", iin=OFFICER_IIN, name="Офицер Нұрлан", roles=["facility_officer"]
        )
        yield Unit(demo_server, officer, endpoint.id, credential)
    finally:
        await ctx.db.close()


async def shot(page: Page, artifacts: Path, name: str) -> None:
    await page.screenshot(path=str(artifacts / f"kiosk-{name}.png"))


async def kiosk_status(page: Page, status: str, timeout: float = 40_000) -> None:
    await page.wait_for_selector(f"#kiosk-status[data-status={status}]", timeout=timeout)


async def wait_video_of(page: Page, participant_id: str, timeout: float = 60.0) -> None:
    """Until ``page`` decodes ``participant_id``'s video (frame counts growing)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while participant_id not in (await receiving(page))["tiles"]:
        assert asyncio.get_running_loop().time() < deadline, f"no video of {participant_id}"


async def test_the_kiosk_waits_joins_rejoins_and_returns_to_waiting(
    unit: Unit, browser: Browser, artifacts: Path
) -> None:
    judge = await open_link(browser, unit.server.links["judge"], **DESKTOP)
    lawyer = await open_link(browser, unit.server.links["lawyer"], **DESKTOP)
    await accept_rules(lawyer)

    kiosk = await open_link(browser, f"{unit.server.url}/kiosk", **KIOSK)
    await kiosk.wait_for_selector("body[data-state=kiosk-setup]", timeout=20_000)
    await shot(kiosk, artifacts, "01-setup")
    await kiosk.fill("#kiosk-credential", unit.credential)
    await press(kiosk, "#btn-kiosk-save")
    await kiosk.wait_for_selector("body[data-state=kiosk-idle]", timeout=20_000)
    await kiosk_status(kiosk, "idle")
    # Nothing the detainee should not have: no leave, no own mic or camera, no English.
    for control in ("#btn-leave", "#btn-mic", "#btn-camera", "#btn-selftest"):
        assert not await kiosk.is_visible(control), control
    languages = await kiosk.eval_on_selector_all("#lang-select option", "o => o.map(x => x.value)")
    assert languages == ["kk", "ru"]
    await shot(kiosk, artifacts, "02-no-session")

    # The officer starts the session: the kiosk joins by itself, into the waiting room.
    session = await unit.start_session()
    await kiosk.wait_for_selector("body[data-state=joined][data-place=waiting]", timeout=40_000)
    await kiosk_status(kiosk, "waiting")
    assert await kiosk.is_visible("#kiosk-rules")
    await shot(kiosk, artifacts, "03-waiting-for-the-judge")

    await judge.wait_for_selector("body[data-state=joined]", timeout=20_000)
    await press(judge, '[data-action=set_state][data-act="start"]')
    await judge.wait_for_selector("body[data-hearing-state=in_session]", timeout=20_000)
    await judge.wait_for_selector("#waiting-list .row >> nth=1", timeout=40_000)
    await press(judge, "[data-action=admit_all]")
    detainee_id = await judge.evaluate(
        "() => [...window.tyndau.participants.values()].find(p => p.role === 'detainee').id"
    )
    await kiosk_status(kiosk, "in_hearing")
    await wait_video_of(judge, detainee_id)
    await wait_video_of(kiosk, "judge")
    await shot(kiosk, artifacts, "04-in-the-hearing")
    await shot(judge, artifacts, "05-judge-sees-the-kiosk")

    # The lawyer steps out with the detainee.
    tile_consult = f'.tile[data-participant-id="{detainee_id}"] [data-action=consult]'
    await lawyer.wait_for_selector(tile_consult, timeout=40_000)
    await press(lawyer, tile_consult)
    await kiosk_status(kiosk, "consultation")
    await wait_video_of(kiosk, "lawyer")
    await shot(kiosk, artifacts, "06-consultation")
    await press(lawyer, "#btn-end-consultation")
    await kiosk_status(kiosk, "in_hearing")

    # The unit's network drops: the court sees it reconnecting, then back in the hearing.
    row = f'#roster-list .row[data-participant-id="{detainee_id}"]'
    await kiosk.context.set_offline(True)
    await kiosk.evaluate("() => window.tyndau.socket.io.engine.close()")
    await judge.wait_for_selector(f"{row}[data-connection=reconnecting]", timeout=60_000)
    await kiosk_status(kiosk, "connecting")
    await shot(kiosk, artifacts, "07-reconnecting")
    await shot(judge, artifacts, "08-judge-sees-reconnecting")
    await kiosk.context.set_offline(False)
    await judge.wait_for_selector(f"{row}[data-connection=back]", timeout=60_000)
    await kiosk_status(kiosk, "in_hearing")
    assert await kiosk.get_attribute("body", "data-place") == "hearing"
    await wait_video_of(judge, detainee_id)
    await wait_video_of(kiosk, "judge")
    await shot(judge, artifacts, "09-judge-sees-it-back")
    await shot(kiosk, artifacts, "10-back-in-the-hearing")

    # The officer ends the session: the kiosk leaves the hearing and waits again.
    await unit.end_session(session["id"])
    await kiosk.wait_for_selector("body[data-state=kiosk-idle]", timeout=40_000)
    await kiosk_status(kiosk, "idle")
    await judge.wait_for_selector(row, state="detached", timeout=40_000)
    await shot(kiosk, artifacts, "11-waiting-again")
    assert kiosk.errors == []  # type: ignore[attr-defined]
