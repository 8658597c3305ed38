"""Who may list and play a case's recordings (docs/recording.md, "Serving and the audit log").

Only people with a reason:

- **participants** of the case: a session whose IIN is bound to a seat in any
  of its hearings, and the **court** of any of its hearings (its presiding
  judge, a secretary of its court: ``server/hearing_access.py``);
- **judges of a higher instance**: directory role judge, whose directory court
  is above the case's court in the court hierarchy (``server/courts.py``);
- the court's **archivist**: directory role archivist of the case's court; the
  only one who may open the raw capture (segments and their index).

Staff roles count only while the court directory still lists them (the
session's roles are what the directory said at login), and only with the
directory's court: a role in a token never names a court by itself.
Everyone else is refused with ``forbidden``.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.auth.tokens import SessionClaims
from server.courts import CourtHierarchy
from server.directory import CourtDirectory, DirectoryEntry, StaffRole
from server.errors import CodedError
from server.hearing_access import court_role_in
from server.hearings import HearingRegistry
from server.recordings import PUBLISHED_FILES, CaseInfo


@dataclass(frozen=True)
class Grant:
    """Why someone may see a case's recordings, and whether the capture too."""

    reason: str  # archivist, higher_instance, court, participant
    capture: bool = False

    def may_open(self, name: str) -> bool:
        return self.capture or name in PUBLISHED_FILES


class RecordingAccess:
    def __init__(
        self, directory: CourtDirectory, hearings: HearingRegistry, courts: CourtHierarchy
    ) -> None:
        self.directory = directory
        self.hearings = hearings
        self.courts = courts

    async def check(self, claims: SessionClaims, case: CaseInfo) -> Grant:
        """The grant for this session on this case, or ``forbidden``."""
        entry = await self.directory.find_by_iin(claims.iin)
        roles = _current_roles(claims, entry)
        court = entry.court if entry is not None else None
        if StaffRole.ARCHIVIST in roles and court and court == case.court:
            return Grant("archivist", capture=True)
        if StaffRole.JUDGE in roles and court and await self.courts.is_higher(court, case.court):
            return Grant("higher_instance")
        if await self.hearings.seated_in_case(case.id, iin=claims.iin):
            return Grant("participant")
        if roles & {StaffRole.JUDGE, StaffRole.SECRETARY}:
            for hearing in await self.hearings.of_case(case.id):
                try:
                    await court_role_in(self.directory, claims, hearing)
                except CodedError:
                    continue
                return Grant("court")
        raise CodedError("forbidden", "only the case's participants, its court, a higher "
                         "instance and the court's archivist may see its recordings")  # fmt: skip

    async def oversees(self, claims: SessionClaims, court: str) -> bool:
        """Whether the session may see every case of ``court`` (its archivist, a higher
        judge): those may be told that a case number does not exist; others may not."""
        entry = await self.directory.find_by_iin(claims.iin)
        roles = _current_roles(claims, entry)
        mine = entry.court if entry is not None else None
        if not mine:
            return False
        if StaffRole.ARCHIVIST in roles and mine == court:
            return True
        return StaffRole.JUDGE in roles and await self.courts.is_higher(mine, court)


def _current_roles(claims: SessionClaims, entry: DirectoryEntry | None) -> set[StaffRole]:
    if entry is None or entry.id != claims.sub:
        return set()
    return {role for role in entry.roles if str(role) in claims.roles}
