"""One permission matrix: which procedural role may take which action.

Everything that checks a right asks :func:`allowed`; nothing else decides.
Rights come from the role the court gave a person in this hearing, never from
joining first or from a grant in a token alone.
"""

from __future__ import annotations

from enum import StrEnum

from server.errors import CodedError
from server.procedure.states import StateAct
from server.roles import ProceduralRole as R


class Action(StrEnum):
    PUBLISH = "publish"  # send own audio/video into the hearing
    SUBSCRIBE = "subscribe"  # see and hear the hearing
    RAISE_HAND = "raise_hand"
    SEE_WAITING_ROOM = "see_waiting_room"
    ADMIT = "admit"  # let someone in from the waiting room (not witnesses/experts)
    DISMISS = "dismiss"  # send someone back to the waiting room
    CALL_WITNESS = "call_witness"  # bring a witness/expert in, one at a time
    MUTE_OTHERS = "mute_others"  # mute someone, and lock the mute
    REMOVE = "remove"  # remove from the hearing (their token is revoked)
    CHANGE_STATE = "change_state"  # open / start / recess / resume / close
    JOIN_CONSULTATION = "join_consultation"  # a private lawyer-client room
    RECALL_CONSULTATION = "recall_consultation"  # call a consultation back
    SEE_QUALITY = "see_quality"  # everyone's connection quality
    SEE_PROTOCOL = "see_protocol"  # the live protocol
    INVITE = "invite"
    COURT_CHAT = "court_chat"  # the judge's and secretary's own text channel
    ASK_HELP = "ask_help"  # call the secretary for help (a technical problem, a question)
    HANDLE_HELP = "handle_help"  # see help requests and answer them


_EVERYONE = frozenset(R)
_PRESIDING = frozenset({R.JUDGE})
_COURT = frozenset({R.JUDGE, R.SECRETARY})
_SPEAKERS = _EVERYONE - {R.OBSERVER}
# A lawyer and the person they defend or represent; the interpreter moves with them.
_CONSULTING = frozenset(
    {
        R.LAWYER,
        R.REPRESENTATIVE,
        R.DEFENDANT,
        R.DETAINEE,
        R.VICTIM,
        R.PLAINTIFF,
        R.RESPONDENT,
        R.INTERPRETER,
    }
)

MATRIX: dict[Action, frozenset[R]] = {
    Action.PUBLISH: _SPEAKERS,
    Action.SUBSCRIBE: _EVERYONE,
    Action.RAISE_HAND: _SPEAKERS - _COURT,
    Action.SEE_WAITING_ROOM: _COURT,
    Action.ADMIT: _COURT,
    Action.DISMISS: _COURT,
    Action.CALL_WITNESS: _COURT,
    Action.MUTE_OTHERS: _COURT,
    Action.REMOVE: _PRESIDING,
    Action.CHANGE_STATE: _COURT,  # which acts exactly: STATE_ACTS
    Action.JOIN_CONSULTATION: _CONSULTING,
    Action.RECALL_CONSULTATION: _COURT,
    Action.SEE_QUALITY: _COURT,
    Action.SEE_PROTOCOL: _COURT,
    Action.INVITE: _COURT,
    Action.COURT_CHAT: _COURT,
    Action.ASK_HELP: _EVERYONE - _COURT,
    Action.HANDLE_HELP: _COURT,
}

# Waiting-room policy: who comes straight in, and who is only ever called in.
ADMITTED_ON_JOIN = _COURT
CALLED_IN_ONLY = frozenset({R.WITNESS, R.EXPERT})


def allowed(role: R, action: Action) -> bool:
    return role in MATRIX[action]


def require(role: R, action: Action) -> None:
    if not allowed(role, action):
        raise CodedError("forbidden", f"a {role} may not {action.replace('_', ' ')}")


# Who may take each state act: the judge all of them; the secretary may open the
# waiting room so people can gather before the judge comes in.
STATE_ACTS: dict[StateAct, frozenset[R]] = {
    StateAct.OPEN: _COURT,
    StateAct.START: _PRESIDING,
    StateAct.RECESS: _PRESIDING,
    StateAct.RESUME: _PRESIDING,
    StateAct.CLOSE: _PRESIDING,
}


def require_state_act(role: R, act: StateAct) -> None:
    if role not in STATE_ACTS[act]:
        raise CodedError("forbidden", f"a {role} may not {act} the hearing")
