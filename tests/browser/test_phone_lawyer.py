"""The lawyer's invitation-link flow on a phone, in Chromium with mobile emulation.

Link → device self-test (Chromium's fake camera and microphone; the network
check against the real server) → the court's rules → waiting room (the judge
sees the self-test's verdict) → admitted → in the hearing. Then what phones
do to a call: the camera is switched front/back (the judge keeps decoding
the lawyer's video, and never sees them leave), the phone is turned to
landscape, and the tab is switched away while the system stops the camera
(the call recovers by itself). Each step leaves a screenshot.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from browser_pages import open_link, press, receiving
from playwright.async_api import Page
from support.devices import DESKTOP, PHONE
from support.server_process import DemoServer

pytestmark = pytest.mark.browser

LANDSCAPE = {"width": PHONE["viewport"]["height"], "height": PHONE["viewport"]["width"]}

LOCAL_VIDEO_TRACK = """() => {
    const stream = document.querySelector('#local-tile video').srcObject;
    const track = stream && stream.getVideoTracks()[0];
    return track ? {id: track.id, state: track.readyState,
                    device: track.getSettings().deviceId} : null;
}"""

# What a phone does to a page in the background: the system stops the camera,
# and the page is told it is hidden; later, that it is visible again.
TAB_AWAY = """() => {
    const stream = document.querySelector('#local-tile video').srcObject;
    stream.getVideoTracks()[0].stop();
    Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});
    Object.defineProperty(document, 'hidden', {value: true, configurable: true});
    document.dispatchEvent(new Event('visibilitychange'));
}"""
TAB_BACK = """() => {
    Object.defineProperty(document, 'visibilityState', {value: 'visible', configurable: true});
    Object.defineProperty(document, 'hidden', {value: false, configurable: true});
    document.dispatchEvent(new Event('visibilitychange'));
}"""


@pytest.fixture
def chromium_args(chromium_args: list[str]) -> list[str]:
    """Two fake cameras, so the phone has a front and a back one to switch between."""
    fake = "--use-fake-device-for-media-stream"
    return [f"{fake}=device-count=3" if arg == fake else arg for arg in chromium_args]


# Chromium's second fake camera is a depth camera (16-bit grey) that WebRTC
# cannot encode; a phone's front and back cameras are the first and third.
HIDE_DEPTH_CAMERA = """(() => {
    const enumerate = navigator.mediaDevices.enumerateDevices.bind(navigator.mediaDevices);
    navigator.mediaDevices.enumerateDevices = async () =>
        (await enumerate()).filter((d) => !d.label.includes('fake_device_1'));
})();"""


async def judge_decodes(judge: Page, who: str, timeout: float = 40.0) -> None:
    """Wait until the judge's page decodes ``who``'s video (its frame count grows)."""
    deadline = time.monotonic() + timeout
    while True:
        seen = await receiving(judge, seconds=2.0)
        if who in seen["tiles"]:  # type: ignore[operator]
            return
        assert time.monotonic() < deadline, f"the judge does not decode {who}'s video: {seen}"


async def fits_the_screen(page: Page) -> bool:
    """Nothing wider than the screen: a phone would zoom out and scroll sideways."""
    return await page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


async def wait_for(page: Page, script: str, timeout: float = 30.0) -> object:
    """Poll ``script`` in the page until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = await page.evaluate(script)
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {script}"
        await asyncio.sleep(0.2)


async def test_lawyer_on_a_phone_from_link_to_hearing(
    demo_server: DemoServer, browser, artifacts: Path
) -> None:
    judge = await open_link(browser, demo_server.links["judge"], **DESKTOP)
    lawyer = await open_link(browser, "about:blank", **PHONE)
    await lawyer.context.add_init_script(HIDE_DEPTH_CAMERA)
    await lawyer.goto(demo_server.links["lawyer"])
    await judge.wait_for_selector("body.court[data-state=joined]", timeout=20_000)

    # 1. The self-test: camera, microphone level, speaker tone, network check.
    await lawyer.wait_for_selector("body[data-state=selftest]", timeout=20_000)
    await lawyer.wait_for_selector("#check-camera[data-status=ok]", timeout=20_000)
    await lawyer.wait_for_selector("#check-microphone[data-status=ok]")
    # Chromium's fake microphone beeps: the meter moves.
    await wait_for(
        lawyer, "() => Number(document.querySelector('#selftest-meter').ariaValueNow) > 0"
    )
    await wait_for(
        lawyer,
        "() => document.querySelector('#selftest-video').getVideoPlaybackQuality()"
        ".totalVideoFrames > 3",
    )
    await press(lawyer, "#btn-selftest-tone")
    await lawyer.wait_for_selector("#check-speaker[data-status=ok]", timeout=20_000)
    # The network check ran against the server: loopback is good.
    await lawyer.wait_for_selector(
        "#selftest-verdict:not([hidden])[data-verdict=good]", timeout=40_000
    )
    assert await lawyer.get_attribute("#check-network", "data-status") == "ok"
    network = await lawyer.locator("#check-network .check-result").inner_text()
    assert "0 %" in network, network  # no probe lost on loopback
    await lawyer.screenshot(path=str(artifacts / "phone-lawyer-1-selftest.png"), full_page=True)

    # 2. The court's rules, then the waiting room.
    await press(lawyer, "#btn-selftest-continue")
    await lawyer.wait_for_selector("body[data-state=rules]", timeout=20_000)
    await lawyer.screenshot(path=str(artifacts / "phone-lawyer-2-rules.png"))
    await press(lawyer, "#btn-rules-accept")
    await lawyer.wait_for_selector("body[data-state=joined][data-place=waiting]", timeout=20_000)
    await lawyer.screenshot(path=str(artifacts / "phone-lawyer-3-waiting.png"))

    # The judge sees the lawyer waiting, with the self-test's verdict.
    badge = '[data-waiting-id="lawyer"] .row-selftest[data-verdict=good]'
    await judge.wait_for_selector(badge, state="visible", timeout=20_000)
    assert "0 %" in await judge.locator(badge).inner_text()  # the loss measured
    await judge.screenshot(path=str(artifacts / "phone-lawyer-judge-waiting-room.png"))

    # 3. Admitted into the hearing; the judge decodes the lawyer's video.
    await press(judge, 'button[data-action="set_state"][data-act="start"]')
    await judge.wait_for_selector("body[data-hearing-state=in_session]")
    await press(judge, '[data-waiting-id="lawyer"] button[data-action="admit"]')
    await lawyer.wait_for_selector("body[data-place=hearing]", timeout=20_000)
    await judge.wait_for_selector(
        '#roster-list [data-participant-id="lawyer"] .row-selftest[data-verdict=good]'
    )
    await judge_decodes(judge, "lawyer")
    await wait_for(lawyer, "() => document.querySelectorAll('.tile video').length > 0")
    await lawyer.screenshot(path=str(artifacts / "phone-lawyer-4-hearing.png"))
    assert await fits_the_screen(lawyer)
    # The judge's tile of the lawyer must survive what follows: mark it.
    lawyer_tile = '.tile[data-participant-id="lawyer"]'
    await judge.eval_on_selector(lawyer_tile, "tile => { tile.dataset.mark = 'first'; }")

    # 4. Camera switch: the other camera, on the same sender, no renegotiation.
    await lawyer.wait_for_selector("#btn-camera-switch", state="visible", timeout=20_000)
    before = await lawyer.evaluate(LOCAL_VIDEO_TRACK)
    publish_sdp = await lawyer.evaluate("() => window.tyndau.publishPc.localDescription.sdp")
    await press(lawyer, "#btn-camera-switch")
    after = await wait_for(
        lawyer,
        f"""() => {{
            const now = ({LOCAL_VIDEO_TRACK})();
            return now && now.id !== {before["id"]!r} && now.state === 'live' ? now : null;
        }}""",
    )
    assert after["device"] != before["device"]  # type: ignore[index]
    sender_track = await lawyer.evaluate(
        "() => window.tyndau.publishPc.getSenders().find(s => s.track && s.track.kind === 'video')"
        ".track.id"
    )
    assert sender_track == after["id"]  # type: ignore[index]
    assert await lawyer.evaluate("() => window.tyndau.publishPc.localDescription.sdp") == (
        publish_sdp
    )
    await judge_decodes(judge, "lawyer")
    assert await judge.get_attribute(lawyer_tile, "data-mark") == "first"  # never left
    await lawyer.screenshot(path=str(artifacts / "phone-lawyer-5-camera-switched.png"))

    # 5. Landscape.
    await lawyer.set_viewport_size(LANDSCAPE)
    await asyncio.sleep(0.5)  # let the layout settle before the picture
    assert await lawyer.locator(".controls").is_visible()
    assert await lawyer.locator("#local-tile").is_visible()
    assert await fits_the_screen(lawyer)
    await lawyer.screenshot(path=str(artifacts / "phone-lawyer-6-landscape.png"))
    await lawyer.set_viewport_size(PHONE["viewport"])

    # 6. A tab switch during which the system stopped the camera: recovered on return.
    switched = await lawyer.evaluate(LOCAL_VIDEO_TRACK)
    await lawyer.evaluate(TAB_AWAY)
    assert (await lawyer.evaluate(LOCAL_VIDEO_TRACK))["state"] == "ended"
    await lawyer.evaluate(TAB_BACK)
    await wait_for(
        lawyer,
        f"""() => {{
            const now = ({LOCAL_VIDEO_TRACK})();
            return now && now.id !== {switched["id"]!r} && now.state === 'live';
        }}""",
    )
    await judge_decodes(judge, "lawyer")
    assert await judge.get_attribute(lawyer_tile, "data-mark") == "first"
    assert await lawyer.evaluate("() => window.tyndau.publishPc.connectionState") == "connected"
    await lawyer.screenshot(path=str(artifacts / "phone-lawyer-7-after-tab-switch.png"))

    # 7. The self-test again, from the hearing, over the hearing's connection.
    await press(lawyer, "#btn-selftest")
    await lawyer.wait_for_selector("body.selftest-open #selftest-panel", state="visible")
    await lawyer.wait_for_selector(
        "#selftest-verdict:not([hidden])[data-verdict=good]", timeout=40_000
    )
    await lawyer.screenshot(path=str(artifacts / "phone-lawyer-8-check-in-hearing.png"))
    await press(lawyer, "#btn-selftest-continue")
    await lawyer.wait_for_selector("#selftest-panel", state="hidden")
    await judge.screenshot(path=str(artifacts / "phone-lawyer-judge-console.png"))

    assert lawyer.errors == [] and judge.errors == []  # type: ignore[attr-defined]
