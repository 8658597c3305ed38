"""The grace period after a participant's connection drops.

For a while after a drop the court sees the participant *reconnecting*, not
gone: a phone switching from Wi-Fi to mobile data, or a kiosk whose cable was
pulled for a second, is back before anyone needs to act. When the period ends
without them, the court sees them disconnected. The protocol is not delayed by
this: the drop and the return are written when they happen.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger(__name__)

Expiry = Callable[[str, str], Awaitable[None]]


class ReconnectGrace:
    """One timer per dropped participant; ``on_expiry(hearing, participant)`` when it runs out."""

    def __init__(self, seconds: float, on_expiry: Expiry) -> None:
        self.seconds = seconds
        self._on_expiry = on_expiry
        self._timers: dict[tuple[str, str], asyncio.Task[None]] = {}

    def start(self, hearing_id: str, participant_id: str) -> None:
        """The participant's connection dropped: the grace period starts (again)."""
        self.cancel(hearing_id, participant_id)
        key = (hearing_id, participant_id)
        self._timers[key] = asyncio.create_task(self._run(key))

    def cancel(self, hearing_id: str, participant_id: str) -> bool:
        """The participant is back (or gone for good); True if they were within the period."""
        task = self._timers.pop((hearing_id, participant_id), None)
        if task is None:
            return False
        task.cancel()
        return True

    async def _run(self, key: tuple[str, str]) -> None:
        await asyncio.sleep(self.seconds)
        if self._timers.get(key) is not asyncio.current_task():
            return
        del self._timers[key]
        try:
            await self._on_expiry(*key)
        except Exception:  # a failed update must not leave the timer task's error unread
            log.exception("reconnect_grace_expiry_failed", hearing=key[0], participant=key[1])

    async def close(self) -> None:
        """Stop every timer (shutdown)."""
        tasks = list(self._timers.values())
        self._timers.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
