"""Issue 6 in real browsers: the court's channel, the help button, the speaking caption,
sound only, keyboard navigation and contrast.

The judge and secretary write to each other and the lawyer's page holds nothing of
it; the lawyer's help reaches the secretary, who answers; Chromium's fake
microphone beeps loud enough to be the speaker; a subscriber who picks sound
only stops decoding video; every control is reached with Tab, named, visibly
focused, and text meets WCAG AA contrast.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from a11y import contrast_failures, tab_through
from browser_pages import accept_rules, open_link, press, receiving
from playwright.async_api import Browser, Page
from support.devices import DESKTOP, PHONE
from support.server_process import DemoServer

pytestmark = pytest.mark.browser


async def start_with(judge: Page, others: list[Page]) -> None:
    await judge.wait_for_selector("body[data-state=joined]", timeout=30_000)
    await press(judge, 'button[data-act="start"]')
    for page in others:
        await accept_rules(page)
        await page.wait_for_selector("body[data-place=waiting]", timeout=30_000)
    await judge.wait_for_selector('[data-waiting-id="lawyer"]', timeout=20_000)
    await press(judge, 'button[data-action="admit_all"]')
    for page in others:
        await page.wait_for_selector("body[data-place=hearing]", timeout=20_000)


async def test_chat_help_caption_and_sound_only(
    demo_server: DemoServer, browser: Browser, artifacts: Path
) -> None:
    links = demo_server.links
    judge = await open_link(browser, links["judge"], **DESKTOP)
    secretary = await open_link(browser, links["secretary"], **DESKTOP)
    lawyer = await open_link(browser, links["lawyer"], **PHONE)
    await secretary.wait_for_selector("body[data-state=joined]", timeout=30_000)
    await start_with(judge, [lawyer])

    # The court's channel: the judge writes, the secretary sees it unread, then reads it.
    await judge.wait_for_selector("#chat-section:not([hidden])")
    await press(judge, "#chat-toggle")
    await judge.fill("#chat-input", "Бөлме 3 қосылды ма?")
    await judge.keyboard.press("Enter")
    await judge.wait_for_selector('.chat-message[data-mine="true"]')
    await secretary.wait_for_selector('#chat-section[data-unread="1"]', timeout=15_000)
    assert "1" in await secretary.inner_text("#chat-unread")
    await press(secretary, "#chat-toggle")
    await secretary.wait_for_selector('#chat-section[data-unread="0"]')
    assert "Бөлме 3 қосылды ма?" in await secretary.inner_text("#chat-list")
    await secretary.fill("#chat-input", "Иә, қосылды.")
    await press(secretary, "#chat-send")
    await judge.wait_for_selector('.chat-message[data-mine="false"]', timeout=15_000)

    # The lawyer's page has nothing of it.
    assert await lawyer.locator("#chat-section").is_hidden()
    assert await lawyer.locator(".chat-message").count() == 0
    assert "Бөлме 3" not in await lawyer.content()

    # Help: the lawyer asks; the secretary sees who and when, is on it, then handles it.
    await press(lawyer, "#btn-help")
    await lawyer.wait_for_selector('#help-status[data-help="asked"]')
    row = '#help-list [data-participant-id="lawyer"]'
    await secretary.wait_for_selector(row, timeout=15_000)
    await judge.wait_for_selector(row, timeout=15_000)
    assert "Мадина" in await secretary.inner_text(row)
    await secretary.screenshot(path=str(artifacts / "assist-secretary-help-and-chat.png"))
    await press(secretary, f'{row} [data-help-act="handling"]')
    await lawyer.wait_for_selector('#help-status[data-help="handling"]', timeout=15_000)
    assert "Гүлнар" in await lawyer.inner_text("#help-status")
    await lawyer.screenshot(path=str(artifacts / "assist-lawyer-help-handling.png"))
    await press(secretary, f'{row} [data-help-act="handled"]')
    await lawyer.wait_for_selector('#help-status[data-help="handled"]', timeout=15_000)
    await judge.wait_for_selector(row, state="detached", timeout=15_000)

    # Who speaks: only the lawyer's fake microphone (a beep) is on.
    for page in (judge, secretary):
        await page.wait_for_selector("#btn-mic:not([disabled])", timeout=20_000)
        await press(page, "#btn-mic")
        await page.wait_for_selector("#local-tile.mic-off")
    await judge.wait_for_selector('#speaker-caption[data-speaker="lawyer"]', timeout=30_000)
    caption = await judge.inner_text("#speaker-caption")
    assert "Мадина" in caption and "Адвокат" in caption
    assert await judge.get_attribute("#speaker-caption", "aria-live") == "polite"
    await judge.wait_for_selector('.tile.is-speaking[data-participant-id="lawyer"]')
    await judge.screenshot(path=str(artifacts / "assist-judge-speaking-caption.png"))

    # Sound only: the lawyer's page stops decoding video, and gets it back.
    seen = await receiving(lawyer)
    assert seen["streams"] >= 1, seen
    await press(lawyer, "#btn-sound-only")
    await lawyer.wait_for_selector("body.sound-only")
    await lawyer.wait_for_timeout(1000)  # frames already on their way
    assert (await receiving(lawyer))["streams"] == 0
    await lawyer.screenshot(path=str(artifacts / "assist-lawyer-sound-only.png"))
    await press(lawyer, "#btn-sound-only")
    await lawyer.wait_for_selector("body:not(.sound-only)")
    for _ in range(10):
        if (await receiving(lawyer))["streams"] >= 1:
            break
    assert (await receiving(lawyer))["streams"] >= 1

    for name, page in (("judge", judge), ("secretary", secretary), ("lawyer", lawyer)):
        assert page.errors == [], (name, page.errors)  # type: ignore[attr-defined]


def named_and_visible(stops: list[dict | None]) -> list[dict]:
    reached = [s for s in stops if s is not None]
    for stop in reached:
        assert stop["name"], f"no accessible name: {stop}"
        assert stop["indicator"], f"no visible focus: {stop}"
    return reached


async def test_keyboard_reaches_every_control_and_text_is_readable(
    demo_server: DemoServer, browser: Browser, artifacts: Path
) -> None:
    links = demo_server.links
    lawyer = await open_link(browser, links["lawyer"], **DESKTOP)
    # The join page: a device self-test (when there is one), then the court's rules.
    await lawyer.wait_for_selector(
        "body[data-state=selftest], body[data-state=rules]", timeout=30_000
    )
    if await lawyer.get_attribute("body", "data-state") == "selftest":
        named_and_visible(await tab_through(lawyer, 8))
        assert await contrast_failures(lawyer) == []
        await lawyer.screenshot(path=str(artifacts / "a11y-lawyer-selftest.png"))
        await press(lawyer, "#btn-selftest-continue")
    await lawyer.wait_for_selector("body[data-state=rules]", timeout=30_000)
    await lawyer.evaluate("document.activeElement && document.activeElement.blur()")
    # The language, then the rules' button; Enter on it joins.
    ids = [s["id"] for s in named_and_visible(await tab_through(lawyer, 4))]
    assert "lang-select" in ids and "btn-rules-accept" in ids
    assert ids.index("lang-select") < ids.index("btn-rules-accept")  # top to bottom
    assert await contrast_failures(lawyer) == []
    await lawyer.focus("#btn-rules-accept")
    await lawyer.keyboard.press("Enter")
    await lawyer.wait_for_selector("body[data-place=waiting]", timeout=30_000)

    judge = await open_link(browser, links["judge"], **DESKTOP)
    await judge.wait_for_selector("body[data-state=joined]", timeout=30_000)
    await judge.wait_for_selector('[data-waiting-id="lawyer"]', timeout=20_000)
    await judge.wait_for_selector("#btn-mic:not([disabled])", timeout=20_000)
    stops = named_and_visible(await tab_through(judge, 40))
    ids = [s["id"] for s in stops]
    actions = [s["action"] for s in stops]
    for control in ("lang-select", "chat-toggle", "btn-mic", "btn-camera", "btn-leave"):
        assert control in ids, (control, ids)
    for action in ("set_state", "admit_all", "admit"):
        assert action in actions, (action, actions)
    # Logical order: the header, then the console, then the control bar.
    assert ids.index("lang-select") < ids.index("chat-toggle") < ids.index("btn-mic")
    await judge.screenshot(path=str(artifacts / "a11y-judge-focus.png"))

    # Escape closes the chat and the confirm dialog, and focus returns sensibly.
    await judge.focus("#chat-toggle")
    await judge.keyboard.press("Enter")
    await judge.wait_for_selector("#chat-body:not([hidden])")
    assert await judge.evaluate("document.activeElement.id") == "chat-input"
    await judge.keyboard.press("Escape")
    await judge.wait_for_selector("#chat-body[hidden]", state="attached")
    assert await judge.evaluate("document.activeElement.id") == "chat-toggle"
    await judge.focus('[data-waiting-id="lawyer"] [data-action="remove"]')
    await judge.keyboard.press("Enter")
    await judge.wait_for_selector("#confirm-dialog[open]")
    await judge.keyboard.press("Escape")
    await judge.wait_for_selector("#confirm-dialog:not([open])", state="attached")
    await judge.wait_for_selector('[data-waiting-id="lawyer"]')  # nothing happened

    failures = await contrast_failures(judge)
    assert failures == [], failures
    assert judge.errors == [] and lawyer.errors == []  # type: ignore[attr-defined]
