"""Login challenges: single use, short-lived, bounded."""

from __future__ import annotations

import time

import pytest

from server.auth.challenges import ChallengeError, ChallengeStore


def code_of(store: ChallengeStore, nonce: bytes) -> str:
    with pytest.raises(ChallengeError) as info:
        store.consume(nonce)
    return info.value.code


def test_a_nonce_works_once() -> None:
    store = ChallengeStore()
    challenge = store.issue()
    assert len(challenge.nonce) == 32
    store.consume(challenge.nonce)
    assert code_of(store, challenge.nonce) == "nonce_used"


def test_unknown_and_expired() -> None:
    now = [time.time()]
    store = ChallengeStore(ttl_seconds=10, clock=lambda: now[0])
    assert code_of(store, b"x" * 32) == "nonce_unknown"
    challenge = store.issue()
    now[0] += 11
    assert code_of(store, challenge.nonce) == "nonce_expired"


def test_flooding_is_bounded() -> None:
    store = ChallengeStore(max_outstanding=3)
    for _ in range(3):
        store.issue()
    with pytest.raises(ChallengeError) as info:
        store.issue()
    assert info.value.code == "too_many_challenges"
