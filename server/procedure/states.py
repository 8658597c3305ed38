"""The hearing's states and the acts that move it between them.

``scheduled -> open -> in_session <-> recess -> closed``. Every change is a
judge's act (the secretary may open the waiting room and close an unfinished
hearing's admin side only where the matrix says so), is timestamped by the
caller, and goes into the protocol. Closed is final.
"""

from __future__ import annotations

from enum import StrEnum

from server.errors import CodedError


class HearingState(StrEnum):
    SCHEDULED = "scheduled"
    OPEN = "open"  # the waiting room is open; nobody is in session yet
    IN_SESSION = "in_session"
    RECESS = "recess"  # the judge retired to the deliberation room
    CLOSED = "closed"


class StateAct(StrEnum):
    OPEN = "open"
    START = "start"
    RECESS = "recess"
    RESUME = "resume"
    CLOSE = "close"


TRANSITIONS: dict[tuple[HearingState, StateAct], HearingState] = {
    (HearingState.SCHEDULED, StateAct.OPEN): HearingState.OPEN,
    (HearingState.OPEN, StateAct.START): HearingState.IN_SESSION,
    (HearingState.IN_SESSION, StateAct.RECESS): HearingState.RECESS,
    (HearingState.RECESS, StateAct.RESUME): HearingState.IN_SESSION,
    (HearingState.OPEN, StateAct.CLOSE): HearingState.CLOSED,
    (HearingState.IN_SESSION, StateAct.CLOSE): HearingState.CLOSED,
    (HearingState.RECESS, StateAct.CLOSE): HearingState.CLOSED,
    (HearingState.SCHEDULED, StateAct.CLOSE): HearingState.CLOSED,  # called off
}


class TransitionError(CodedError):
    """An act that the hearing's state does not allow."""


def next_state(state: HearingState, act: StateAct) -> HearingState:
    """The state after ``act``, or ``illegal_transition`` (``hearing_closed`` once closed)."""
    if state is HearingState.CLOSED:
        raise TransitionError("hearing_closed", "the hearing is closed; nothing changes it")
    target = TRANSITIONS.get((state, act))
    if target is None:
        raise TransitionError("illegal_transition", f"cannot {act} a hearing that is {state}")
    return target
