"""Procedural roles in a hearing and what each may do with media.

One table decides the grants a role's hearing token carries; the hearing
procedure work extends it with procedural actions (admit, mute others, ...).
"""

from __future__ import annotations

from enum import StrEnum

from server.auth.tokens import Grants


class ProceduralRole(StrEnum):
    JUDGE = "judge"
    SECRETARY = "secretary"
    PROSECUTOR = "prosecutor"
    INVESTIGATOR = "investigator"
    LAWYER = "lawyer"
    REPRESENTATIVE = "representative"
    DEFENDANT = "defendant"
    DETAINEE = "detainee"
    VICTIM = "victim"
    PLAINTIFF = "plaintiff"
    RESPONDENT = "respondent"
    WITNESS = "witness"
    EXPERT = "expert"
    INTERPRETER = "interpreter"
    FACILITY_OFFICER = "facility_officer"
    OBSERVER = "observer"


_SPEAKER = Grants(publish_audio=True, publish_video=True, subscribe=True)
_LISTENER = Grants(subscribe=True)

GRANTS: dict[ProceduralRole, Grants] = {
    role: _SPEAKER for role in ProceduralRole if role is not ProceduralRole.OBSERVER
}
GRANTS[ProceduralRole.JUDGE] = _SPEAKER.model_copy(update={"admin": True})
GRANTS[ProceduralRole.SECRETARY] = _SPEAKER.model_copy(update={"admin": True})
GRANTS[ProceduralRole.OBSERVER] = _LISTENER

# Roles a court may invite by link (staff join through their EDS login instead).
INVITABLE = frozenset(
    {
        ProceduralRole.LAWYER,
        ProceduralRole.REPRESENTATIVE,
        ProceduralRole.DEFENDANT,
        ProceduralRole.VICTIM,
        ProceduralRole.PLAINTIFF,
        ProceduralRole.RESPONDENT,
        ProceduralRole.WITNESS,
        ProceduralRole.EXPERT,
        ProceduralRole.INTERPRETER,
        ProceduralRole.OBSERVER,
    }
)


def grants_for(role: ProceduralRole) -> Grants:
    return GRANTS[role]
