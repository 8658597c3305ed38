"""The one shape of a refusal: a stable code for programs, a message for people."""

from __future__ import annotations

from pydantic import ValidationError


class CodedError(Exception):
    """Something was refused. ``code`` is stable and safe to show to the client."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def invalid_payload(exc: ValidationError, where: str = "payload") -> CodedError:
    """``invalid_payload`` naming the first few problems (never echoing the input)."""
    problems = "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or where}: {err['msg']}"
        for err in exc.errors(include_url=False, include_input=False)[:5]
    )
    return CodedError("invalid_payload", problems)
