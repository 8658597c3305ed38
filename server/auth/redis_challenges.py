"""Login challenges in Redis: issued on one node, consumed on any, exactly once.

A nonce's key holds its expiry while open and ``used`` once consumed. Consuming is
one atomic ``SET key used XX KEEPTTL GET``: of two nodes racing with the same
signature exactly one reads the expiry, the other reads ``used``. Keys live for
twice the challenge's life, like the in-process store remembers used nonces, so a
late replay is still told apart from a made-up nonce. The outstanding bound is
a counter per challenge lifetime window, so Redis cannot be flooded either.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog
from redis.exceptions import RedisError

from server.auth.challenges import USED, Challenge, ChallengeError, judge, new_nonce, too_many
from server.redis_client import close_client, connect

log = structlog.get_logger(__name__)

PREFIX = "tyndau:challenge:"
WINDOW_PREFIX = "tyndau:challenges-issued:"


class RedisChallengeStore:
    """Challenges every node shares (``TYNDAU_REDIS_URL``)."""

    def __init__(
        self,
        redis_url: str,
        ttl_seconds: float = 120.0,
        max_outstanding: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_outstanding = max_outstanding
        self.clock = clock
        self._redis = connect(redis_url)
        self._keep_ms = int(2 * ttl_seconds * 1000)

    async def issue(self) -> Challenge:
        now = self.clock()
        window = f"{WINDOW_PREFIX}{int(now // self.ttl_seconds)}"
        nonce = new_nonce()
        expires_at = now + self.ttl_seconds
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(window)
                pipe.pexpire(window, self._keep_ms)
                issued, _ = await pipe.execute()
            if int(issued) > self.max_outstanding:
                raise too_many()
            await self._redis.set(PREFIX + nonce.hex(), repr(expires_at), px=self._keep_ms, nx=True)
        except RedisError as exc:
            raise _unavailable() from exc
        return Challenge(nonce=nonce, expires_at=expires_at)

    async def consume(self, nonce: bytes) -> None:
        """Use ``nonce`` up, or raise ``nonce_used`` / ``nonce_expired`` / ``nonce_unknown``."""
        try:
            old = await self._redis.set(PREFIX + nonce.hex(), USED, xx=True, keepttl=True, get=True)
        except RedisError as exc:
            raise _unavailable() from exc
        state: float | str | None = None
        if old is not None:
            text = old.decode() if isinstance(old, bytes) else str(old)
            state = USED if text == USED else float(text)
        judge(state, self.clock())

    async def close(self) -> None:
        await close_client(self._redis)


def _unavailable() -> ChallengeError:
    # A login cannot be checked for replay without the shared store: refuse, never guess.
    # The client already knows this code (retry shortly); the log says why.
    log.warning("challenge_store_unavailable")
    return too_many()
