"""Opening the web client in Chromium, and what the browser tests read from its pages."""

from __future__ import annotations

import asyncio
import time

from playwright.async_api import Browser, Page

# Decoded frames per remote tile, keyed by participant id.
TILE_FRAMES = """() => Object.fromEntries(
    [...document.querySelectorAll('.tile[data-participant-id]')].map((t) => [
        t.dataset.participantId,
        t.querySelector('video[data-remote]').getVideoPlaybackQuality().totalVideoFrames,
    ]))"""

# Frames decoded per inbound video stream of the subscribe connection, keyed by mid.
INBOUND_VIDEO_FRAMES = """async () => {
    const pc = window.tyndau.subscribePc;
    if (!pc) return {};
    const frames = {};
    (await pc.getStats()).forEach((s) => {
        if (s.type !== 'inbound-rtp' || s.kind !== 'video') return;
        frames[s.mid ?? s.id] = s.framesDecoded || 0;
    });
    return frames;
}"""


async def open_link(browser: Browser, link: str, **context_options: object) -> Page:
    """A new browser context (camera and microphone allowed) on ``link``; page errors are kept."""
    context = await browser.new_context(**context_options)  # type: ignore[arg-type]
    await context.grant_permissions(["camera", "microphone"])
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # type: ignore[attr-defined]
    await page.goto(link)
    return page


async def press(page: Page, selector: str) -> None:
    """Tap on a touch screen, click elsewhere: the way the person would."""
    if await page.evaluate("navigator.maxTouchPoints > 0"):
        await page.tap(selector)
    else:
        await page.click(selector)


async def pass_self_test(page: Page, timeout: float = 30.0) -> None:
    """A party first sees the device self-test; "Continue" never waits for it to finish.

    An invitation link is traded for a token and the page goes on from there,
    so the self-test may show more than once on its way to the rules: press
    Continue whenever it is up, until the rules are.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = await page.get_attribute("body", "data-state")
        if state == "rules":
            return
        if state == "selftest" and await page.is_visible("#btn-selftest-continue"):
            await press(page, "#btn-selftest-continue")
        await asyncio.sleep(0.2)
    raise AssertionError(f"the rules never came (state {state!r})")


async def accept_rules(page: Page) -> None:
    """A party reads the court's rules before joining; the join happens on the button."""
    await pass_self_test(page)
    await page.wait_for_selector("body[data-state=rules]", timeout=20_000)
    await press(page, "#btn-rules-accept")


async def tile_frames(page: Page) -> dict[str, int]:
    return await page.evaluate(TILE_FRAMES)


async def decoded_frames(page: Page) -> list[int]:
    return list((await tile_frames(page)).values())


async def receiving(page: Page, seconds: float = 3.0, min_frames: int = 3) -> dict[str, object]:
    """Whose video this page decodes now (frame counts growing over ``seconds``).

    ``tiles``: the participants whose tile's frame count grew; ``streams``: how
    many inbound video streams of the subscribe connection decoded frames,
    whatever the page shows (from the media itself, not the UI).
    """
    tiles_before = await tile_frames(page)
    streams_before = await page.evaluate(INBOUND_VIDEO_FRAMES)
    await asyncio.sleep(seconds)
    tiles_after = await tile_frames(page)
    streams_after = await page.evaluate(INBOUND_VIDEO_FRAMES)
    return {
        "tiles": {
            pid
            for pid, frames in tiles_after.items()
            if frames - tiles_before.get(pid, 0) >= min_frames
        },
        "shown": set(tiles_after),
        "streams": sum(
            1
            for mid, frames in streams_after.items()
            if frames - streams_before.get(mid, 0) >= min_frames
        ),
    }


async def wait_receiving(
    pages: dict[str, Page], expected: dict[str, set[str]], timeout: float = 40.0
) -> dict[str, dict[str, object]]:
    """Wait until each page decodes exactly the expected people's video, and shows only them."""
    deadline = time.monotonic() + timeout
    while True:
        seen = dict(
            zip(
                pages,
                await asyncio.gather(*(receiving(page) for page in pages.values())),
                strict=True,
            )
        )
        done = all(
            seen[name]["tiles"] == expected[name]
            and seen[name]["shown"] == expected[name]
            and seen[name]["streams"] == len(expected[name])
            for name in pages
        )
        if done or time.monotonic() > deadline:
            return seen
