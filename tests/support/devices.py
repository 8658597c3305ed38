"""Screens the browser tests emulate."""

from __future__ import annotations

from typing import Any

DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}}
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36"
    ),
}
# A detention facility's kiosk: a fixed desktop-sized screen (a real kiosk
# mode, full screen and locked down, is later work).
KIOSK: dict[str, Any] = {"viewport": {"width": 1366, "height": 768}}
