"""Errors a client can be told about. Codes are stable; messages are for people."""

from __future__ import annotations

from typing import Any

from server.errors import CodedError


class SignalingError(CodedError):
    """Refuse one event; the connection stays open."""

    def payload(self, event: str | None) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "event": event}
