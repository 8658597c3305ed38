"""The one shape of a refusal: a stable code for programs, a message for people."""

from __future__ import annotations


class CodedError(Exception):
    """Something was refused. ``code`` is stable and safe to show to the client."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
