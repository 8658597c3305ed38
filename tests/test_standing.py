"""Replaying the protocol for one participant (server/procedure/standing.py).

What a node that saw everything keeps in memory, a node that did not (after a
failover or a restart) must get back from the protocol alone.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from server.procedure.presence import Place
from server.procedure.protocol import Actor, EventKind, ProtocolEvent
from server.procedure.standing import STANDING_EVENTS, standing_of

JUDGE = Actor("judge", "Judge", "judge")
_seq = itertools.count(1)


def done_to(what: EventKind, subject: str, **details: Any) -> ProtocolEvent:
    return ProtocolEvent(next(_seq), datetime.now(UTC), what, JUDGE, subject, subject, details)


def left(participant: str, reason: str) -> ProtocolEvent:
    actor = Actor(participant, participant, "lawyer")
    return ProtocolEvent(
        next(_seq), datetime.now(UTC), EventKind.LEFT, actor, None, None, {"reason": reason}
    )


def test_nobody_the_court_acted_on_is_a_new_arrival() -> None:
    standing = standing_of("lawyer", [])
    assert standing.place is None
    assert standing.mute_locked == {"audio": False, "video": False}


def test_an_admitted_party_is_in_the_hearing_and_a_dismissed_one_waits() -> None:
    admitted = done_to(EventKind.ADMITTED, "lawyer")
    assert standing_of("lawyer", [admitted]).place is Place.HEARING
    dismissed = done_to(EventKind.DISMISSED, "lawyer")
    assert standing_of("lawyer", [admitted, dismissed]).place is Place.WAITING
    called = done_to(EventKind.WITNESS_CALLED, "witness")
    assert standing_of("witness", [called]).place is Place.HEARING


def test_a_dropped_connection_keeps_the_place_and_leaving_does_not() -> None:
    admitted = done_to(EventKind.ADMITTED, "lawyer")
    assert standing_of("lawyer", [admitted, left("lawyer", "connection_lost")]).place is (
        Place.HEARING
    )
    for reason in ("left", "removed", "session_ended", "hearing_closed"):
        assert standing_of("lawyer", [admitted, left("lawyer", reason)]).place is None
    # Back after leaving and admitted again: in the hearing.
    again = done_to(EventKind.ADMITTED, "lawyer")
    assert standing_of("lawyer", [admitted, left("lawyer", "left"), again]).place is (Place.HEARING)


def test_only_the_courts_locked_mutes_are_kept_until_released() -> None:
    locked = done_to(EventKind.MUTED, "lawyer", kind="audio", locked=True)
    plain = done_to(EventKind.MUTED, "lawyer", kind="video", locked=False)
    standing = standing_of("lawyer", [locked, plain])
    assert standing.mute_locked == {"audio": True, "video": False}
    released = done_to(EventKind.UNMUTED, "lawyer", kind="audio")
    assert standing_of("lawyer", [locked, released]).mute_locked["audio"] is False
    removed = done_to(EventKind.REMOVED, "lawyer")
    assert standing_of("lawyer", [locked, removed]).mute_locked["audio"] is False
    # A mute of a kind the protocol does not know changes nothing.
    odd = done_to(EventKind.MUTED, "lawyer", kind="screen", locked=True)
    assert standing_of("lawyer", [odd]).mute_locked == {"audio": False, "video": False}


_people = st.sampled_from(["lawyer", "prosecutor", "detainee"])
_events = st.lists(
    st.one_of(
        st.builds(
            done_to,
            st.sampled_from([k for k in STANDING_EVENTS if k is not EventKind.LEFT]),
            _people,
            kind=st.sampled_from(["audio", "video"]),
            locked=st.booleans(),
        ),
        st.builds(left, _people, st.sampled_from(["connection_lost", "left", "removed"])),
    ),
    max_size=25,
)


@given(events=_events)
def test_what_was_done_to_others_does_not_change_ones_standing(
    events: list[ProtocolEvent],
) -> None:
    def about(participant: str, event: ProtocolEvent) -> bool:
        return participant in (event.subject_id, event.actor.id if event.actor else None)

    own = [e for e in events if about("lawyer", e)]
    assert standing_of("lawyer", events) == standing_of("lawyer", own)
