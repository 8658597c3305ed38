"""Browser end-to-end fixtures: the demo server process and Debian's Chromium via Playwright."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright
from support.ports import free_port
from support.server_process import DemoServer, start_demo_server

CHROMIUM = os.environ.get("TYNDAU_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

CHROMIUM_ARGS = [
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--autoplay-policy=no-user-gesture-required",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[DemoServer]:
    server = start_demo_server(tmp_path / "data", free_port(), tmp_path / "server.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def chromium_args() -> list[str]:
    """Command-line switches for Chromium; a test module may override this fixture."""
    return CHROMIUM_ARGS


@pytest.fixture
async def browser(chromium_args: list[str]) -> AsyncIterator[Browser]:
    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240 - one stat before the browser starts
        pytest.fail(f"{CHROMIUM} is missing: ./scripts/test.sh installs Debian's chromium")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=chromium_args
        )
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
