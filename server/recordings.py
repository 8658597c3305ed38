"""The catalogue of sealed recordings: which hearing's archive is where, and what it holds.

The sealing step calls :meth:`RecordingCatalog.register` once an archive has
verified on its storage (docs/recording.md, "The archive"); from then on the
server lists and serves the recording from here, without listing the storage.
The file list is the signed manifest's, so the server never serves a name the
manifest does not hold.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from recorder.storage import Storage, StorageError, join_key
from server.db.database import Database
from server.db.schema import CaseRow, HearingRow, RecordingRow, as_utc
from server.errors import CodedError

MANIFEST = "manifest.json"
MIXED = "mixed.mp4"
PROTOCOL_JSON = "protocol.json"
PROTOCOL_HTML = "protocol.html"
# What people who are not the court's archivist may open: the capture is evidence
# for the archivist (and the verifier), not for viewing.
PUBLISHED_FILES = frozenset({MANIFEST, MIXED, PROTOCOL_JSON, PROTOCOL_HTML})
_FILE_NAME = re.compile(r"^(?:capture/)?[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class CaseInfo:
    """A case as access decisions need it: its id, number and court."""

    id: str
    case_number: str
    court: str

    def public(self) -> dict[str, str]:
        return {"id": self.id, "case_number": self.case_number, "court": self.court}


@dataclass(frozen=True)
class Recording:
    """One sealed hearing archive."""

    hearing_id: str
    case_id: str
    folder: str
    sealed_at: datetime
    duration_seconds: float | None
    manifest_sha256: str
    files: dict[str, dict[str, Any]]
    # Of the hearing, for listings (filled from the hearings table).
    title: str = ""
    kind: str = ""
    scheduled_at: datetime | None = None
    language: str = "kk"

    def key(self, name: str) -> str:
        """The storage key of one of its files (the name is checked against the manifest)."""
        if name not in self.files:
            raise CodedError("file_not_found", "the recording has no such file")
        return f"{self.folder}/{name}" if self.folder else name

    def size(self, name: str) -> int:
        return int(self.files[name]["size"])

    def public(self, *, capture: bool) -> dict[str, Any]:
        """What a listing shows; capture files only to whom may open them."""
        return {
            "hearing_id": self.hearing_id,
            "case_id": self.case_id,
            "title": self.title,
            "kind": self.kind,
            "scheduled_at": self.scheduled_at.isoformat() if self.scheduled_at else None,
            "language": self.language,
            "sealed_at": self.sealed_at.isoformat(),
            "duration_seconds": self.duration_seconds,
            "manifest_sha256": self.manifest_sha256,
            "files": [
                {"name": name, "size": int(entry["size"]), "sha256": entry.get("sha256")}
                for name, entry in sorted(self.files.items())
                if capture or name in PUBLISHED_FILES
            ],
        }


class RecordingCatalog:
    """Registers sealed archives and answers what a case has."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def register(
        self,
        *,
        hearing_id: str,
        folder: str,
        manifest_bytes: bytes,
        manifest: dict[str, Any],
        duration_seconds: float | None = None,
    ) -> Recording:
        """Put a verified archive into the catalogue (idempotent for the same manifest).

        ``manifest`` is the parsed ``manifest_bytes`` (the sealing step holds both).
        Its file list becomes the list of files the server will serve, plus the
        manifest itself. A second, different manifest for the same hearing is
        refused: a sealed archive is never replaced.
        """
        files = _files_of(manifest, manifest_bytes)
        if any(not _FILE_NAME.match(name) for name in files):
            raise CodedError("manifest_invalid", "the manifest names a file the server won't serve")
        identity = manifest.get("hearing") or {}
        if identity.get("id") != hearing_id:
            raise CodedError("manifest_invalid", "the manifest is of another hearing")
        try:
            sealed_at = datetime.fromisoformat(str(manifest["sealed_at"]))
        except (KeyError, ValueError) as exc:
            raise CodedError("manifest_invalid", "the manifest has no sealing time") from exc
        if sealed_at.tzinfo is None:
            raise CodedError("manifest_invalid", "the sealing time has no offset")
        digest = hashlib.sha256(manifest_bytes).hexdigest()
        async with self.db.session() as session:
            found = (
                await session.execute(
                    select(HearingRow, CaseRow)
                    .join(CaseRow, CaseRow.id == HearingRow.case_id)
                    .where(HearingRow.id == hearing_id)
                )
            ).first()
            if found is None:
                raise CodedError("hearing_not_found", "no such hearing")
            hearing, case = found
            # The archive's identity must be the hearing's own: a mislabelled archive
            # would be shown to the people of another case.
            if identity.get("case_number") != case.case_number or identity.get("court") != (
                case.court
            ):
                raise CodedError("manifest_invalid", "the manifest is of another case")
            existing = await session.get(RecordingRow, hearing_id)
            if existing is not None:
                if existing.manifest_sha256 != digest:
                    raise CodedError("recording_exists", "this hearing's recording is registered")
                row = existing
            else:
                row = RecordingRow(
                    hearing_id=hearing_id,
                    case_id=case.id,
                    folder=folder.strip("/"),
                    sealed_at=sealed_at,
                    duration_seconds=duration_seconds,
                    manifest_sha256=digest,
                    files=files,
                )
                session.add(row)
                await session.flush()
            return _recording(row, hearing)

    async def register_archived(
        self, storage: Storage, folder: str, *, duration_seconds: float | None = None
    ) -> Recording:
        """Register the archive at ``folder`` from its stored manifest (after it verified).

        What the sealing step calls: the manifest's hash is that of the stored bytes.
        """
        key = join_key(folder, MANIFEST)
        try:
            data = await storage.read(key)
            manifest = json.loads(data)
        except (StorageError, ValueError) as exc:
            raise CodedError("manifest_invalid", f"cannot read {key}: {exc}") from exc
        if not isinstance(manifest, dict):
            raise CodedError("manifest_invalid", "the manifest is not an object")
        hearing_id = str((manifest.get("hearing") or {}).get("id", ""))
        return await self.register(
            hearing_id=hearing_id,
            folder=folder,
            manifest_bytes=data,
            manifest=manifest,
            duration_seconds=duration_seconds,
        )

    async def get(self, hearing_id: str) -> Recording | None:
        async with self.db.session() as session:
            found = (
                await session.execute(
                    select(RecordingRow, HearingRow)
                    .join(HearingRow, HearingRow.id == RecordingRow.hearing_id)
                    .where(RecordingRow.hearing_id == hearing_id)
                )
            ).first()
        return None if found is None else _recording(*found)

    async def sealed(self, hearing_ids: Collection[str]) -> set[str]:
        """Which of ``hearing_ids`` have a recording in the catalogue (one query for a list)."""
        if not hearing_ids:
            return set()
        async with self.db.session() as session:
            found = await session.scalars(
                select(RecordingRow.hearing_id).where(RecordingRow.hearing_id.in_(set(hearing_ids)))
            )
            return set(found)

    async def of_case(self, case_id: str) -> list[Recording]:
        """A case's recordings, oldest hearing first."""
        async with self.db.session() as session:
            rows = await session.execute(
                select(RecordingRow, HearingRow)
                .join(HearingRow, HearingRow.id == RecordingRow.hearing_id)
                .where(RecordingRow.case_id == case_id)
                .order_by(HearingRow.scheduled_at, RecordingRow.sealed_at)
            )
            return [_recording(r, h) for r, h in rows]

    async def case(self, case_id: str) -> CaseInfo | None:
        async with self.db.session() as session:
            row = await session.get(CaseRow, case_id)
        return None if row is None else CaseInfo(row.id, row.case_number, row.court)

    async def find_case(self, court: str, case_number: str) -> CaseInfo | None:
        async with self.db.session() as session:
            row = await session.scalar(
                select(CaseRow).where(CaseRow.court == court, CaseRow.case_number == case_number)
            )
        return None if row is None else CaseInfo(row.id, row.case_number, row.court)


def _files_of(manifest: dict[str, Any], manifest_bytes: bytes) -> dict[str, dict[str, Any]]:
    listed = manifest.get("files")
    if not isinstance(listed, dict) or not listed:
        raise CodedError("manifest_invalid", "the manifest lists no files")
    files: dict[str, dict[str, Any]] = {}
    for name, entry in listed.items():
        size, sha = (entry or {}).get("size"), (entry or {}).get("sha256")
        if not isinstance(size, int) or size < 0 or not _SHA256.match(str(sha)):
            raise CodedError("manifest_invalid", f"the manifest's entry for {name!r} is malformed")
        files[str(name)] = {"size": size, "sha256": sha}
    files[MANIFEST] = {
        "size": len(manifest_bytes),
        "sha256": hashlib.sha256(manifest_bytes).hexdigest(),
    }
    return files


def _recording(row: RecordingRow, hearing: HearingRow) -> Recording:
    return Recording(
        hearing_id=row.hearing_id,
        case_id=row.case_id,
        folder=row.folder,
        sealed_at=as_utc(row.sealed_at),
        duration_seconds=row.duration_seconds,
        manifest_sha256=row.manifest_sha256,
        files=dict(row.files),
        title=hearing.title,
        kind=hearing.kind,
        scheduled_at=as_utc(hearing.scheduled_at) if hearing.scheduled_at else None,
        language=hearing.language,
    )
