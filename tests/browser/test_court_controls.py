"""The court's controls on the judge's console, seen from both sides, in real browsers.

A raised hand reaches the judge; the judge's locked mute turns the lawyer's
microphone off and keeps it off until the floor is given; a consultation is
recalled; the protocol follows the interface language; a removal needs a
confirm step and ends the removed person's page.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_pages import accept_rules, open_link, press
from playwright.async_api import Browser
from support.devices import DESKTOP, KIOSK, PHONE
from support.server_process import DemoServer

pytestmark = pytest.mark.browser


async def test_hand_mute_recall_and_removal(
    demo_server: DemoServer, browser: Browser, artifacts: Path
) -> None:
    links = demo_server.links
    judge = await open_link(browser, links["judge"], **DESKTOP)
    lawyer = await open_link(browser, links["lawyer"], **PHONE)
    detainee = await open_link(browser, links["detainee"], **KIOSK)
    for page in (lawyer, detainee):
        await accept_rules(page)
        await page.wait_for_selector("body[data-place=waiting]", timeout=20_000)
    await judge.wait_for_selector('[data-waiting-id="detainee"]', timeout=20_000)
    await judge.wait_for_selector('[data-waiting-id="lawyer"]')
    await press(judge, 'button[data-act="start"]')
    await press(judge, 'button[data-action="admit_all"]')
    for page in (lawyer, detainee):
        await page.wait_for_selector("body[data-place=hearing]", timeout=15_000)
    await lawyer.wait_for_selector("#btn-mic:not([disabled])", timeout=20_000)
    row = '#roster-list [data-participant-id="lawyer"]'
    lawyer_row = judge.locator(row)

    # The lawyer asks for the floor; the judge sees the raised hand.
    await press(lawyer, "#btn-hand")
    await lawyer.wait_for_selector('#btn-hand[aria-pressed="true"]')
    await judge.wait_for_selector(
        '#roster-list [data-participant-id="lawyer"][data-hand-raised="true"]'
    )
    assert await lawyer_row.locator(".row-hand").is_visible()

    # The judge mutes the lawyer and locks it: the microphone goes off and stays off.
    await press(
        judge, '#roster-list [data-participant-id="lawyer"] [data-action="mute"][data-kind="audio"]'
    )
    await lawyer.wait_for_selector("#notice[data-notice=muted_by_court]")
    await lawyer.wait_for_selector("#btn-mic.is-locked[disabled]")
    assert await lawyer.locator("#local-tile.mic-off").count() == 1
    await judge.wait_for_selector(
        '#roster-list [data-participant-id="lawyer"][data-audio-locked="true"]'
    )
    assert await lawyer_row.locator('[data-action="release_mute"][data-kind="audio"]').is_visible()
    await lawyer.screenshot(path=str(artifacts / "controls-lawyer-phone-muted.png"))

    # Giving the floor lifts the lock and lowers the hand; the lawyer may unmute.
    await press(judge, f'{row} [data-action="release_mute"][data-kind="audio"]')
    await lawyer.wait_for_selector("#notice[data-notice=mute_released]")
    await lawyer.wait_for_selector("#btn-mic:not([disabled]):not(.is-locked)")
    await lawyer.wait_for_selector('#btn-hand[aria-pressed="false"]')
    await judge.wait_for_selector(
        '#roster-list [data-participant-id="lawyer"][data-hand-raised="false"]'
    )
    await press(lawyer, "#btn-mic")
    await lawyer.wait_for_selector("#local-tile:not(.mic-off)")

    # A consultation the court recalls: both are back, and told why.
    consult = '.tile[data-participant-id="detainee"] button[data-action="consult"]'
    await lawyer.wait_for_selector(consult, state="visible", timeout=20_000)
    await press(lawyer, consult)
    await detainee.wait_for_selector("body[data-place=consultation]")
    await press(judge, '#consultation-list [data-action="recall"]')
    for page in (lawyer, detainee):
        await page.wait_for_selector("body[data-place=hearing]")
        await page.wait_for_selector("#notice[data-notice=consultation_recalled]")

    # The protocol follows the interface language.
    await judge.select_option("#lang-select", "ru")
    await judge.wait_for_selector('html[lang="ru"]')
    recalled = judge.locator('#protocol-list [data-protocol-kind="consultation_ended"]').last
    assert "Консультация окончена" in await recalled.inner_text()
    assert "отозвана судом" in await recalled.inner_text()
    admitted = judge.locator('#protocol-list [data-protocol-kind="admitted"]').first
    assert "Допущен в заседание" in await admitted.inner_text()
    await judge.screenshot(path=str(artifacts / "controls-judge-console-ru.png"))

    # Removal asks first; cancelled, nothing happens; confirmed, the detainee's page ends.
    remove = '#roster-list [data-participant-id="detainee"] [data-action="remove"]'
    await press(judge, remove)
    await judge.wait_for_selector("#confirm-dialog[open]")
    assert "Болат" in await judge.locator("#confirm-text").inner_text()
    await press(judge, '#confirm-dialog button[data-action="cancel"]')
    await judge.wait_for_selector("#confirm-dialog:not([open])", state="attached")
    assert await detainee.get_attribute("body", "data-state") == "joined"
    await press(judge, remove)
    await press(judge, '#confirm-dialog button[data-action="confirm"]')
    await detainee.wait_for_selector("body[data-error=removed]", timeout=15_000)
    await judge.wait_for_selector('[data-participant-id="detainee"]', state="detached")
    await judge.wait_for_selector('#protocol-list [data-protocol-kind="removed"]')

    for name, page in (("judge", judge), ("lawyer", lawyer), ("detainee", detainee)):
        assert page.errors == [], (name, page.errors)  # type: ignore[attr-defined]
