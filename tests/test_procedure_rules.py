"""The hearing state machine and the permission matrix, role by role, act by act."""

from __future__ import annotations

import pytest

from server.errors import CodedError
from server.procedure.permissions import (
    ADMITTED_ON_JOIN,
    CALLED_IN_ONLY,
    Action,
    allowed,
    require_state_act,
)
from server.procedure.states import HearingState as S
from server.procedure.states import StateAct as A
from server.procedure.states import TransitionError, next_state
from server.roles import ProceduralRole as R

# The whole state machine, written out: (from, act) -> to; anything else is refused.
LEGAL = {
    (S.SCHEDULED, A.OPEN): S.OPEN,
    (S.SCHEDULED, A.CLOSE): S.CLOSED,
    (S.OPEN, A.START): S.IN_SESSION,
    (S.OPEN, A.CLOSE): S.CLOSED,
    (S.IN_SESSION, A.RECESS): S.RECESS,
    (S.IN_SESSION, A.CLOSE): S.CLOSED,
    (S.RECESS, A.RESUME): S.IN_SESSION,
    (S.RECESS, A.CLOSE): S.CLOSED,
}


@pytest.mark.parametrize("state", list(S))
@pytest.mark.parametrize("act", list(A))
def test_every_transition(state: S, act: A) -> None:
    if (state, act) in LEGAL:
        assert next_state(state, act) is LEGAL[(state, act)]
        return
    with pytest.raises(TransitionError) as info:
        next_state(state, act)
    assert info.value.code == ("hearing_closed" if state is S.CLOSED else "illegal_transition")


@pytest.mark.parametrize("role", list(R))
@pytest.mark.parametrize("act", list(A))
def test_who_may_change_the_state(role: R, act: A) -> None:
    may = role is R.JUDGE or (role is R.SECRETARY and act is A.OPEN)
    if may:
        require_state_act(role, act)
    else:
        with pytest.raises(CodedError) as info:
            require_state_act(role, act)
        assert info.value.code == "forbidden"


# The matrix as a court clerk would read it: Y = allowed. Columns follow ACTIONS.
ACTIONS = [
    Action.PUBLISH,
    Action.SUBSCRIBE,
    Action.RAISE_HAND,
    Action.SEE_WAITING_ROOM,
    Action.ADMIT,
    Action.DISMISS,
    Action.CALL_WITNESS,
    Action.MUTE_OTHERS,
    Action.REMOVE,
    Action.CHANGE_STATE,
    Action.JOIN_CONSULTATION,
    Action.RECALL_CONSULTATION,
    Action.SEE_QUALITY,
    Action.SEE_PROTOCOL,
    Action.INVITE,
]
# fmt: off
GRID = {
    #                    pub sub hand wait adm dis wit mute rem state cons recall qual prot inv
    R.JUDGE:            "Y   Y   .    Y    Y   Y   Y   Y    Y   Y     .    Y      Y    Y    Y",
    R.SECRETARY:        "Y   Y   .    Y    Y   Y   Y   Y    .   Y     .    Y      Y    Y    Y",
    R.PROSECUTOR:       "Y   Y   Y    .    .   .   .   .    .   .     .    .      .    .    .",
    R.INVESTIGATOR:     "Y   Y   Y    .    .   .   .   .    .   .     .    .      .    .    .",
    R.LAWYER:           "Y   Y   Y    .    .   .   .   .    .   .     Y    .      .    .    .",
    R.REPRESENTATIVE:   "Y   Y   Y    .    .   .   .   .    .   .     Y    .      .    .    .",
    R.DEFENDANT:        "Y   Y   Y    .    .   .   .   .    .   .     Y    .      .    .    .",
    R.DETAINEE:         "Y   Y   Y    .    .   .   .   .    .   .     Y    .      .    .    .",
    R.VICTIM:           "Y   Y   Y    .    .   .   .   .    .   .     Y    .      .    .    .",
    R.PLAINTIFF:        "Y   Y   Y    .    .   .   .   .    .   .     Y    .      .    .    .",
    R.RESPONDENT:       "Y   Y   Y    .    .   .   .   .    .   .     Y    .      .    .    .",
    R.WITNESS:          "Y   Y   Y    .    .   .   .   .    .   .     .    .      .    .    .",
    R.EXPERT:           "Y   Y   Y    .    .   .   .   .    .   .     .    .      .    .    .",
    R.INTERPRETER:      "Y   Y   Y    .    .   .   .   .    .   .     Y    .      .    .    .",
    R.FACILITY_OFFICER: "Y   Y   Y    .    .   .   .   .    .   .     .    .      .    .    .",
    R.OBSERVER:         ".   Y   .    .    .   .   .   .    .   .     .    .      .    .    .",
}
# fmt: on


# The court's channel and calls for help, in a grid of their own (the one above is full).
ASSIST_ACTIONS = [Action.COURT_CHAT, Action.ASK_HELP, Action.HANDLE_HELP]
# fmt: off
ASSIST_GRID = {
    #                    chat help hdl
    R.JUDGE:            "Y    .    Y",
    R.SECRETARY:        "Y    .    Y",
}
# fmt: on


def test_the_grid_covers_every_role_and_action() -> None:
    assert set(GRID) == set(R)
    assert set(ACTIONS) | set(ASSIST_ACTIONS) == set(Action)


@pytest.mark.parametrize("role", list(R))
@pytest.mark.parametrize("column", range(len(ASSIST_ACTIONS)))
def test_each_role_against_the_court_channel_and_help(role: R, column: int) -> None:
    # Everyone who is not the court may only ask for help.
    expected = ASSIST_GRID.get(role, ".    Y    .").split()[column] == "Y"
    action = ASSIST_ACTIONS[column]
    assert allowed(role, action) is expected, f"{role} / {action}"


@pytest.mark.parametrize("role", list(R))
@pytest.mark.parametrize("column", range(len(ACTIONS)))
def test_each_role_against_each_action(role: R, column: int) -> None:
    expected = GRID[role].split()[column] == "Y"
    action = ACTIONS[column]
    assert allowed(role, action) is expected, f"{role} / {action}"


def test_waiting_room_policy() -> None:
    assert {R.JUDGE, R.SECRETARY} == ADMITTED_ON_JOIN
    assert {R.WITNESS, R.EXPERT} == CALLED_IN_ONLY
