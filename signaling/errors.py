"""Errors a client can be told about. Codes are stable; messages are for people."""

from __future__ import annotations

from typing import Any


class SignalingError(Exception):
    """Refuse one event; the connection stays open."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def payload(self, event: str | None) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "event": event}
