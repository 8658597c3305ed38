"""One-time login challenges: a random nonce the browser has NCALayer sign.

Each nonce is good once and for a short time. A used nonce is remembered until
it would have expired anyway, so a replayed signature is told apart from a
made-up one. The number outstanding is bounded so the store cannot be flooded.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from server.errors import CodedError

NONCE_BYTES = 32


@dataclass(frozen=True)
class Challenge:
    nonce: bytes
    expires_at: float  # unix time


class ChallengeError(CodedError):
    """A login challenge was refused."""


class Challenges(Protocol):
    """Where challenges live: this process, or Redis (server/auth/redis_challenges.py)."""

    ttl_seconds: float

    async def issue(self) -> Challenge: ...

    async def consume(self, nonce: bytes) -> None: ...

    async def close(self) -> None: ...


def too_many() -> ChallengeError:
    return ChallengeError("too_many_challenges", "too many logins at once; retry shortly")


def new_nonce() -> bytes:
    return secrets.token_bytes(NONCE_BYTES)


USED = "used"


def judge(state: float | str | None, now: float) -> None:
    """Pass a nonce whose state was its expiry (now used up), or refuse it: USED, None, expired."""
    if state == USED:
        raise ChallengeError("nonce_used", "this challenge was already used; ask for a new one")
    if state is None:
        raise ChallengeError("nonce_unknown", "the signed data is not a challenge we issued")
    if float(state) < now:
        raise ChallengeError("nonce_expired", "the challenge expired; ask for a new one")


class ChallengeStore:
    """In-process challenges (the embedded default; Redis holds them with several nodes)."""

    def __init__(
        self,
        ttl_seconds: float = 120.0,
        max_outstanding: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self.max_outstanding = max_outstanding
        self._open: dict[bytes, float] = {}
        self._used: dict[bytes, float] = {}

    async def issue(self) -> Challenge:
        self._prune()
        if len(self._open) >= self.max_outstanding:
            raise too_many()
        nonce = new_nonce()
        expires_at = self.clock() + self.ttl_seconds
        self._open[nonce] = expires_at
        return Challenge(nonce=nonce, expires_at=expires_at)

    async def consume(self, nonce: bytes) -> None:
        """Use ``nonce`` up, or raise ``nonce_used`` / ``nonce_expired`` / ``nonce_unknown``."""
        state = USED if nonce in self._used else self._open.pop(nonce, None)
        if isinstance(state, int | float):
            self._used[nonce] = state  # remembered, so a replay is told apart from a forgery
        judge(state, self.clock())

    async def close(self) -> None:
        """Nothing to release in-process."""

    def _prune(self) -> None:
        now = self.clock()
        for store in (self._open, self._used):
            for nonce in [n for n, exp in store.items() if exp < now - self.ttl_seconds]:
                del store[nonce]
