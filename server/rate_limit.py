"""A token bucket: a burst of ``capacity`` events, then ``per_second`` sustained."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    """Allows an event while a token is left; tokens come back at a steady rate."""

    capacity: float
    per_second: float
    tokens: float = -1.0  # full on creation (see __post_init__)
    refilled_at: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = self.capacity

    def take(self) -> bool:
        """Spend one token if there is one; False means: refuse this event."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.refilled_at) * self.per_second)
        self.refilled_at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class BucketsByKey:
    """One bucket per key (a participant), all with the same limits."""

    def __init__(self, capacity: float, per_second: float) -> None:
        self.capacity = capacity
        self.per_second = per_second
        self._buckets: dict[str, TokenBucket] = {}

    def take(self, key: str) -> bool:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.capacity, self.per_second)
        return bucket.take()
