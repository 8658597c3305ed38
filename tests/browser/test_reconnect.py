"""A browser participant whose signaling connection drops comes back with media by itself.

The prosecutor's Socket.IO transport is closed under the page (what a network
change does to a WebSocket); nobody acts. The page reconnects, rejoins into
the hearing, builds new peer connections, and video flows both ways again;
the judge's console shows the prosecutor back.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_pages import accept_rules, open_link, press
from playwright.async_api import Browser
from support.devices import DESKTOP
from support.server_process import DemoServer
from test_kiosk import wait_video_of

pytestmark = pytest.mark.browser


async def test_a_dropped_browser_comes_back_with_media(
    demo_server: DemoServer, browser: Browser, artifacts: Path
) -> None:
    judge = await open_link(browser, demo_server.links["judge"], **DESKTOP)
    prosecutor = await open_link(browser, demo_server.links["prosecutor"], **DESKTOP)
    await accept_rules(prosecutor)
    await judge.wait_for_selector("body[data-state=joined]", timeout=20_000)
    await press(judge, '[data-action=set_state][data-act="start"]')
    await judge.wait_for_selector('#waiting-list .row[data-participant-id="prosecutor"]')
    await press(judge, '#waiting-list .row[data-participant-id="prosecutor"] [data-action=admit]')
    await prosecutor.wait_for_selector("body[data-state=joined][data-place=hearing]")
    await wait_video_of(judge, "prosecutor")
    await wait_video_of(prosecutor, "judge")

    await prosecutor.evaluate(
        "() => { window.oldPublishPc = window.tyndau.publishPc;"
        " window.tyndau.socket.io.engine.close(); }"
    )

    row = '#roster-list .row[data-participant-id="prosecutor"]'
    await judge.wait_for_selector(f"{row}[data-connection=back]", timeout=60_000)
    await prosecutor.wait_for_function(
        "() => window.tyndau.publishPc && window.tyndau.publishPc !== window.oldPublishPc"
        " && window.tyndau.publishPc.connectionState === 'connected'",
        timeout=60_000,
    )
    assert await prosecutor.get_attribute("body", "data-place") == "hearing"
    await wait_video_of(judge, "prosecutor")
    await wait_video_of(prosecutor, "judge")
    await judge.screenshot(path=str(artifacts / "reconnect-judge-sees-prosecutor-back.png"))
    await prosecutor.screenshot(path=str(artifacts / "reconnect-prosecutor-back.png"))
    entries = await judge.evaluate(
        "() => [...document.querySelectorAll('#protocol-list .protocol-entry')]"
        ".map(e => e.dataset.protocolKind)"
    )
    assert "left" in entries
    assert prosecutor.errors == []  # type: ignore[attr-defined]
