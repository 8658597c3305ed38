"""The recording's state on the judge's console, and the alert when capture fails.

The indicator in the header follows the protocol's ``recording_marker``
entries (a marker is written once the capture has it in its index, so the
indicator waits for the server, not for the button): started → recording,
recess → paused, resume → recording. The protocol names each marker in the
interface language. A capture that cannot write (here: the recordings
directory is a file, so the hearing's capture directory cannot be made) alerts
the judge while the hearing goes on; the next resume tries again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_pages import accept_rules, open_link, press, receiving
from playwright.async_api import Browser, Page
from support.devices import DESKTOP, PHONE
from support.ports import free_port
from support.server_process import DemoServer, start_demo_server

pytestmark = pytest.mark.browser

WEB = Path(__file__).resolve().parents[2] / "web_client"
STRINGS = {
    lang: json.loads((WEB / "i18n" / f"{lang}.json").read_text(encoding="utf-8"))
    for lang in ("kk", "ru", "en")
}


@pytest.fixture
def unwritable_server(tmp_path: Path) -> Iterator[DemoServer]:
    """The demo server whose recordings directory is a file: no capture can be written."""
    blocker = tmp_path / "recordings-is-a-file"
    blocker.write_text("not a directory\n")
    server = start_demo_server(
        tmp_path / "data",
        free_port(),
        tmp_path / "server.log",
        extra_env={"TYNDAU_RECORDINGS_DIR": str(blocker)},
    )
    try:
        yield server
    finally:
        server.stop()


async def indicator(page: Page) -> tuple[str | None, str]:
    state = await page.get_attribute("#rec-state", "data-recording")
    return state, (await page.inner_text("#rec-state")).strip()


async def marker_text(page: Page, marker: str) -> str:
    row = page.locator(
        f'#protocol-list [data-protocol-kind="recording_marker"][data-marker="{marker}"]'
    ).last
    return " ".join((await row.inner_text()).split())


def index_markers(data_dir: Path, hearing_id: str) -> list[str]:
    index = data_dir / "recordings" / hearing_id / "segments.jsonl"
    lines = [json.loads(line) for line in index.read_text().splitlines() if line.strip()]
    return [line["marker"] for line in lines if "marker" in line]


async def test_the_indicator_follows_the_recording(
    demo_server: DemoServer, browser: Browser, artifacts: Path
) -> None:
    kk, en = STRINGS["kk"], STRINGS["en"]
    judge = await open_link(browser, demo_server.links["judge"], **DESKTOP)
    await judge.wait_for_selector("body[data-state=joined]", timeout=20_000)
    # Before the session nothing is recorded, and the indicator says so.
    await judge.wait_for_selector('#rec-state[data-recording="off"]', state="visible")
    assert await indicator(judge) == ("off", kk["recording.off"])
    assert await judge.is_hidden("#recording-alert")

    await press(judge, 'button[data-act="start"]')
    # The `started` marker comes once the capture has it: wait for it, not for the button.
    await judge.wait_for_selector('#rec-state[data-recording="recording"]', timeout=20_000)
    assert await indicator(judge) == ("recording", kk["recording.on"])
    assert kk["protocol.recording_started"] in await marker_text(judge, "started")
    hearing_id = await judge.evaluate("window.tyndau.hearing.id")

    await press(judge, 'button[data-act="recess"]')
    await judge.wait_for_selector('#rec-state[data-recording="paused"]', timeout=20_000)
    assert await indicator(judge) == ("paused", kk["recording.paused"])
    assert kk["protocol.recording_paused"] in await marker_text(judge, "paused")
    await judge.screenshot(path=str(artifacts / "recording-judge-recess.png"))

    await press(judge, 'button[data-act="resume"]')
    await judge.wait_for_selector('#rec-state[data-recording="recording"]', timeout=20_000)
    assert kk["protocol.recording_resumed"] in await marker_text(judge, "resumed")
    # What the judge was shown is what the capture's index says.
    data_dir = Path(demo_server.log_path).parent / "data"
    assert index_markers(data_dir, hearing_id) == ["started", "paused", "resumed"]
    # No row of the protocol is left as the bare kind.
    whats = await judge.locator("#protocol-list .proto-what").all_inner_texts()
    assert kk["protocol.recording_marker"] not in whats
    assert "recording_marker" not in whats
    await judge.screenshot(path=str(artifacts / "recording-judge-recording.png"))

    # The indicator and the protocol follow the interface language.
    await judge.select_option("#lang-select", "en")
    await judge.wait_for_selector('html[lang="en"]')
    assert await indicator(judge) == ("recording", en["recording.on"])
    assert en["protocol.recording_paused"] in await marker_text(judge, "paused")
    assert en["protocol.recording_resumed"] in await marker_text(judge, "resumed")
    await judge.screenshot(path=str(artifacts / "recording-judge-recording-en.png"))
    assert judge.errors == []  # type: ignore[attr-defined]


async def test_a_failed_capture_alerts_the_judge_and_the_hearing_goes_on(
    unwritable_server: DemoServer, browser: Browser, artifacts: Path
) -> None:
    kk, ru = STRINGS["kk"], STRINGS["ru"]
    links = unwritable_server.links
    judge = await open_link(browser, links["judge"], **DESKTOP)
    lawyer = await open_link(browser, links["lawyer"], **PHONE)
    await accept_rules(lawyer)
    await lawyer.wait_for_selector("body[data-place=waiting]", timeout=20_000)
    await judge.wait_for_selector('[data-waiting-id="lawyer"]', timeout=20_000)
    assert await judge.is_hidden("#recording-alert")

    await press(judge, 'button[data-act="start"]')
    # The capture directory cannot be made (its parent is a file): NotADirectoryError.
    # The server writes a `failed` marker into the protocol and alerts the court.
    await judge.wait_for_selector("#recording-alert", state="visible", timeout=20_000)
    alert = " ".join((await judge.inner_text("#recording-alert")).split())
    assert kk["recording.alert_title"] in alert
    assert kk["recording.alert_text"] in alert
    assert kk["recording.alert_reason"].format(reason="Not a directory") in alert
    assert await indicator(judge) == ("failed", kk["recording.failed"])
    failed = await marker_text(judge, "failed")
    assert kk["protocol.recording_failed"] in failed
    assert "Not a directory" in failed
    # No capture ever started: no `started` marker.
    assert await judge.locator('#protocol-list [data-marker="started"]').count() == 0

    # The hearing goes on: in session, the lawyer is admitted and seen and heard.
    await judge.wait_for_selector("body[data-hearing-state=in_session]")
    await press(judge, '[data-waiting-id="lawyer"] [data-action="admit"]')
    await lawyer.wait_for_selector("body[data-place=hearing]", timeout=15_000)
    seen = await receiving(judge, seconds=4.0)
    assert "lawyer" in seen["tiles"], seen
    await judge.screenshot(path=str(artifacts / "recording-judge-failed-alert.png"))

    # Dismissed, the alert goes; the indicator still says the recording failed.
    await press(judge, "#recording-alert-dismiss")
    await judge.wait_for_selector("#recording-alert", state="hidden")
    assert (await indicator(judge))[0] == "failed"

    # A recess and resume try a new capture: it fails the same way, and says so again.
    await press(judge, 'button[data-act="recess"]')
    await judge.wait_for_selector("body[data-hearing-state=recess]")
    await press(judge, 'button[data-act="resume"]')
    await judge.wait_for_selector("#recording-alert", state="visible", timeout=20_000)
    assert await judge.locator('#protocol-list [data-marker="failed"]').count() == 2
    await judge.locator("#protocol-section").screenshot(
        path=str(artifacts / "recording-judge-failed-protocol.png")
    )

    # Joining again (a reload) the protocol tells the new page: the alert is there, in Russian.
    await judge.select_option("#lang-select", "ru")
    await judge.reload()
    await judge.wait_for_selector("body[data-state=joined]", timeout=20_000)
    await judge.wait_for_selector("#recording-alert", state="visible", timeout=10_000)
    alert = " ".join((await judge.inner_text("#recording-alert")).split())
    assert ru["recording.alert_title"] in alert
    assert ru["recording.alert_reason"].format(reason="Not a directory") in alert
    assert await indicator(judge) == ("failed", ru["recording.failed"])
    await judge.screenshot(path=str(artifacts / "recording-judge-failed-alert-ru.png"))
    for name, page in (("judge", judge), ("lawyer", lawyer)):
        assert page.errors == [], (name, page.errors)  # type: ignore[attr-defined]
