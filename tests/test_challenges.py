"""Login challenges: single use, short-lived, bounded; in-process and in Redis alike."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from server.auth.challenges import ChallengeError, Challenges, ChallengeStore
from server.auth.redis_challenges import RedisChallengeStore

StoreFactory = Callable[..., Challenges]


@pytest.fixture(params=["memory", "redis"])
async def make_store(request: pytest.FixtureRequest) -> AsyncIterator[StoreFactory]:
    """Builds stores of one kind; Redis ones share the session's (emptied) redis-server."""
    made: list[Challenges] = []

    def make(**kwargs: Any) -> Challenges:
        if request.param == "memory":
            store: Challenges = ChallengeStore(**kwargs)
        else:
            store = RedisChallengeStore(request.getfixturevalue("redis_url"), **kwargs)
        made.append(store)
        return store

    yield make
    for store in made:
        await store.close()


async def code_of(store: Challenges, nonce: bytes) -> str:
    with pytest.raises(ChallengeError) as info:
        await store.consume(nonce)
    return info.value.code


async def test_a_nonce_works_once(make_store: StoreFactory) -> None:
    store = make_store()
    challenge = await store.issue()
    assert len(challenge.nonce) == 32
    await store.consume(challenge.nonce)
    assert await code_of(store, challenge.nonce) == "nonce_used"


async def test_unknown_and_expired(make_store: StoreFactory) -> None:
    now = [time.time()]
    store = make_store(ttl_seconds=10, clock=lambda: now[0])
    assert await code_of(store, b"x" * 32) == "nonce_unknown"
    challenge = await store.issue()
    now[0] += 11
    assert await code_of(store, challenge.nonce) == "nonce_expired"
    assert await code_of(store, challenge.nonce) == "nonce_used"  # a replay stays a replay


async def test_flooding_is_bounded(make_store: StoreFactory) -> None:
    store = make_store(max_outstanding=3)
    for _ in range(3):
        await store.issue()
    with pytest.raises(ChallengeError) as info:
        await store.issue()
    assert info.value.code == "too_many_challenges"
