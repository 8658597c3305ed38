"""Keyframe requests to a publisher: throttled, but never lost.

Every subscriber that joins or loses its picture wants a keyframe; sending a
PLI for each would make the publisher spend its bitrate on keyframes. Requests
within the interval are folded into one PLI sent when the interval ends.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger(__name__)


class KeyframeRequester:
    """Sends at most one keyframe request per ``interval`` seconds."""

    def __init__(self, send: Callable[[], Awaitable[None]], interval: float = 1.0) -> None:
        self._send = send
        self._interval = interval
        self._last = float("-inf")
        self._pending: asyncio.TimerHandle | None = None
        self.sent = 0
        self.folded = 0

    def request(self) -> None:
        now = time.monotonic()
        if self._pending is not None:
            self.folded += 1
            return
        wait = self._last + self._interval - now
        loop = asyncio.get_running_loop()
        if wait <= 0:
            self._fire()
        else:
            self.folded += 1
            self._pending = loop.call_later(wait, self._fire)

    def _fire(self) -> None:
        self._pending = None
        self._last = time.monotonic()
        self.sent += 1
        task = asyncio.ensure_future(self._send())
        task.add_done_callback(ignore_connection_errors)

    def close(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None


def ignore_connection_errors(task: asyncio.Future[None]) -> None:
    """Done-callback of feedback sent to a publisher (PLI, REMB) in the background."""
    # A publisher that went away cannot get feedback; anything else is a bug worth a log line.
    if not task.cancelled():
        exc = task.exception()
        if exc is not None and not isinstance(exc, ConnectionError):
            log.error("publisher_feedback_failed", error=repr(exc))
