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

from server.errors import CodedError

NONCE_BYTES = 32


@dataclass(frozen=True)
class Challenge:
    nonce: bytes
    expires_at: float  # unix time


class ChallengeError(CodedError):
    """A login challenge was refused."""


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

    def issue(self) -> Challenge:
        self._prune()
        if len(self._open) >= self.max_outstanding:
            raise ChallengeError("too_many_challenges", "too many logins at once; retry shortly")
        nonce = secrets.token_bytes(NONCE_BYTES)
        expires_at = self.clock() + self.ttl_seconds
        self._open[nonce] = expires_at
        return Challenge(nonce=nonce, expires_at=expires_at)

    def consume(self, nonce: bytes) -> None:
        """Use ``nonce`` up, or raise ``nonce_used`` / ``nonce_expired`` / ``nonce_unknown``."""
        now = self.clock()
        if nonce in self._used:
            raise ChallengeError("nonce_used", "this challenge was already used; ask for a new one")
        expires_at = self._open.pop(nonce, None)
        if expires_at is None:
            raise ChallengeError("nonce_unknown", "the signed data is not a challenge we issued")
        self._used[nonce] = expires_at
        if expires_at < now:
            raise ChallengeError("nonce_expired", "the challenge expired; ask for a new one")

    def _prune(self) -> None:
        now = self.clock()
        for store in (self._open, self._used):
            for nonce in [n for n, exp in store.items() if exp < now - self.ttl_seconds]:
                del store[nonce]
