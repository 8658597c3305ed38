"""Who of the court's staff may manage a hearing, and who may read its protocol.

A staff role in a session token says what someone is in the court; it does
not make them the court of every hearing. The presiding judge and the assigned
secretary manage their hearing; any secretary of the same court may stand in
(secretaries are pooled in a court house); nobody else does.
"""

from __future__ import annotations

from server.auth.tokens import HearingClaims, SessionClaims, TokenError, TokenVerifier
from server.directory import CourtDirectory, StaffRole
from server.errors import CodedError
from server.hearings import Hearing
from server.procedure.permissions import Action, allowed
from server.roles import ProceduralRole

COURT_STAFF = frozenset({str(StaffRole.JUDGE), str(StaffRole.SECRETARY)})


async def court_role_in(
    directory: CourtDirectory, claims: SessionClaims, hearing: Hearing
) -> ProceduralRole:
    """The court role (judge or secretary) this session has in ``hearing``, or ``forbidden``."""
    roles = COURT_STAFF & set(claims.roles)
    if StaffRole.JUDGE in roles and claims.sub == hearing.judge_id:
        return ProceduralRole.JUDGE
    if StaffRole.SECRETARY in roles:
        if claims.sub == hearing.secretary_id:
            return ProceduralRole.SECRETARY
        entry = await directory.find_by_iin(claims.iin)
        if entry is not None and entry.court and entry.court == hearing.court:
            return ProceduralRole.SECRETARY
    raise CodedError("forbidden", "only this hearing's judge or its court's secretary may do this")


async def may_read_protocol(
    verifier: TokenVerifier, directory: CourtDirectory, token: str, hearing: Hearing
) -> None:
    """Refuse unless ``token`` is the court's: a session of its staff, or a court hearing token.

    The court's hearing token is what the judge's console already holds; a
    session token is what a secretary has after the hearing is over.
    """
    try:
        claims: HearingClaims | SessionClaims = verifier.verify(token)
    except TokenError as exc:
        if exc.code != "token_wrong_audience":
            raise
        claims = verifier.verify_session(token)
    if isinstance(claims, SessionClaims):
        await court_role_in(directory, claims, hearing)
        return
    if claims.hearing != hearing.id:
        raise CodedError("forbidden", "the token is for another hearing")
    role = ProceduralRole._value2member_map_.get(claims.role)
    if not isinstance(role, ProceduralRole) or not allowed(role, Action.SEE_PROTOCOL):
        raise CodedError("forbidden", "the protocol is the court's")
