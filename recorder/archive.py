"""Sealing a hearing into the per-case archive, and releasing the capture afterwards.

``seal`` puts the capture (index and segments), the mixed recording and the
protocol under ``<case>/<hearing_id>/`` on a storage back end, then writes the
signed ``manifest.json`` last and exclusively: an archive is sealed exactly
when its manifest exists, and a sealed archive is never written again.
``release_capture`` deletes the local capture only once the archive on storage
verifies and holds exactly what the capture holds.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from recorder import manifest as mf
from recorder.archive_keys import ArchiveKey
from recorder.storage import AlreadyExists, Storage, StorageError, join_key
from recorder.verify import VerifyReport, verify_archive

log = structlog.get_logger("tyndau.archive")

MIXED = "mixed.mp4"
PROTOCOL_JSON = "protocol.json"
PROTOCOL_HTML = "protocol.html"
INDEX_NAME = "segments.jsonl"

_SAFE = re.compile(r"[^A-Za-z0-9-]")
_HEARING_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
# ``000001.mkv`` or ``000001-<node id>.mkv`` (a node id may hold dots; never a slash).
_SEGMENT_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\.mkv$")
_MAX_SAFE = 64  # the readable part; the hash keeps long numbers apart


class SealError(Exception):
    """Sealing (or releasing a capture) failed; ``code`` is stable.

    Codes: ``already_sealed``, ``storage_full``, ``storage_failed``,
    ``capture_invalid``, ``bad_identity``, ``input_missing``, ``not_verified``,
    ``capture_differs``.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def case_folder(court: str, case_number: str) -> str:
    """The case's folder name: the number made safe, ``-``, 10 hex digits of
    ``sha256(court + "\\n" + case_number)``.

    Only ASCII letters, digits, ``-`` and ``_`` remain, so no case number becomes
    a path; the hash keeps two courts' identical numbers (and numbers that look
    alike once made safe) apart. A court name never holds a newline, which keeps
    ``court + "\\n" + case_number`` unambiguous.
    """
    if "\n" in court:
        raise ValueError("a court name cannot contain a newline")
    safe = _SAFE.sub("_", case_number)[:_MAX_SAFE] or "_"
    digest = hashlib.sha256(f"{court}\n{case_number}".encode()).hexdigest()[:10]
    return f"{safe}-{digest}"


@dataclass(frozen=True)
class HearingIdentity:
    """Who and what the archive is of (written into the manifest)."""

    id: str
    case_number: str
    court: str
    title: str = ""
    kind: str = "court_hearing"
    judge: str | None = None
    scheduled_at: str | None = None
    language: str = "kk"

    @classmethod
    def from_protocol(cls, protocol: Mapping[str, Any], **overrides: Any) -> HearingIdentity:
        """From the protocol export's ``hearing`` object; ``overrides`` win when not None."""
        hearing = protocol.get("hearing") or {}
        fields = {
            name: hearing.get(name)
            for name in ("id", "case_number", "court", "title", "kind", "scheduled_at", "language")
            if hearing.get(name) is not None
        }
        fields.update({k: v for k, v in overrides.items() if v is not None})
        for required in ("id", "case_number", "court"):
            if not fields.get(required):
                raise ValueError(f"the hearing's {required.replace('_', ' ')} is not known")
        return cls(**fields)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SealResult:
    folder: str
    manifest: dict[str, Any]
    storage_url: str


def archive_folder(hearing: HearingIdentity) -> str:
    return join_key(case_folder(hearing.court, hearing.case_number), hearing.id)


def _sha256_file(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while block := fh.read(1024 * 1024):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


@dataclass
class _Capture:
    """A capture directory read and checked, ready to upload."""

    index: mf.IndexReading
    index_bytes: bytes  # archived exactly as captured, torn lines and all
    segments: dict[str, Path]  # archive name (capture/…) → local file
    recovered: list[str]


def _read_capture(capture_dir: Path, hearing_id: str) -> _Capture:
    """Check the local capture before sealing it: a broken chain is never sealed as good."""
    index_path = capture_dir / INDEX_NAME
    if not capture_dir.is_dir():
        raise SealError("input_missing", f"no capture directory {capture_dir}")
    data = index_path.read_bytes() if index_path.exists() else b""
    index = mf.read_index(data, hearing_id)
    if index.problems:
        line, reason = index.problems[0]
        raise SealError("capture_invalid", f"{index_path}: line {line} {reason}")
    segments: dict[str, Path] = {}
    for record in index.segments:
        name = str(record["file"])
        if not _SEGMENT_FILE.match(name):
            raise SealError("capture_invalid", f"index names an unsafe file {name!r}")
        path = capture_dir / name
        if not path.is_file():
            raise SealError("capture_invalid", f"{name} is in the index but not on disk")
        size, sha = _sha256_file(path)
        if (size, sha) != (record.get("size"), record.get("sha256")):
            raise SealError("capture_invalid", f"{name} is not what the index says it is")
        segments[f"capture/{name}"] = path
    indexed = {str(r["file"]) for r in index.segments}
    # A segment a killed process left open has no index line: archived, flagged.
    recovered = sorted(
        p.name
        for p in capture_dir.glob("*.mkv")
        if p.name not in indexed and _SEGMENT_FILE.match(p.name) and p.is_file()
    )
    for name in recovered:
        segments[f"capture/{name}"] = capture_dir / name
    return _Capture(index, data, segments, recovered)


async def seal(
    capture_dir: Path,
    mixed_file: Path,
    protocol_json: Path,
    protocol_html: Path,
    hearing: HearingIdentity,
    storage: Storage,
    key: ArchiveKey,
    *,
    now: datetime | None = None,
) -> SealResult:
    """Upload the hearing's files and its signed manifest; the capture is left as it is.

    Raises :class:`SealError`. On failure whatever this call uploaded is removed
    again (best effort); the archive never has a manifest unless it is whole.
    """
    if not _HEARING_ID.match(hearing.id):
        raise SealError("bad_identity", f"hearing id {hearing.id!r} cannot name a folder")
    try:
        folder = archive_folder(hearing)
    except ValueError as exc:
        raise SealError("bad_identity", str(exc)) from exc
    for path in (mixed_file, protocol_json, protocol_html):
        if not path.is_file():
            raise SealError("input_missing", f"no such file {path}")
    capture = await asyncio.to_thread(_read_capture, capture_dir, hearing.id)
    manifest_key = join_key(folder, mf.MANIFEST)
    try:
        if await storage.exists(manifest_key):
            raise SealError("already_sealed", f"{folder} is already sealed")
    except StorageError as exc:
        raise SealError(_code(exc), str(exc)) from exc

    uploads: dict[str, Path] = {
        MIXED: mixed_file,
        PROTOCOL_JSON: protocol_json,
        PROTOCOL_HTML: protocol_html,
        **capture.segments,
    }
    files: dict[str, dict[str, Any]] = {}
    for name, path in uploads.items():
        size, sha = await asyncio.to_thread(_sha256_file, path)
        flags = {"recovered": True} if name.removeprefix("capture/") in capture.recovered else {}
        files[name] = mf.file_entry(size, sha, **flags)
    files[mf.INDEX] = mf.file_entry(
        len(capture.index_bytes), hashlib.sha256(capture.index_bytes).hexdigest()
    )
    body = mf.build(
        hearing=hearing.as_json(),
        case_folder=folder.split("/")[0],
        files=files,
        index=capture.index,
        recovered=capture.recovered,
        sealed_at=now or datetime.now(UTC),
    )
    signed = mf.sign(body, key)

    written: list[str] = []
    try:
        for name, path in uploads.items():
            written.append(join_key(folder, name))
            await storage.put_file(join_key(folder, name), path)
        written.append(join_key(folder, mf.INDEX))
        await storage.put_bytes(join_key(folder, mf.INDEX), capture.index_bytes)
        await storage.put_bytes(manifest_key, mf.dumps(signed), exclusive=True)
    except AlreadyExists as exc:
        # Sealed by someone else meanwhile: their archive owns these names now.
        raise SealError("already_sealed", f"{folder} is already sealed") from exc
    except (StorageError, OSError) as exc:
        await _remove_partial(storage, manifest_key, written)
        code = _code(exc) if isinstance(exc, StorageError) else "storage_failed"
        raise SealError(code, f"sealing {folder} failed: {exc}") from exc
    log.info("archive_sealed", folder=folder, storage=storage.url, key_id=key.key_id)
    return SealResult(folder=folder, manifest=signed, storage_url=storage.url)


def _code(exc: StorageError) -> str:
    return "storage_full" if exc.code == "storage_full" else "storage_failed"


async def _remove_partial(storage: Storage, manifest_key: str, written: list[str]) -> None:
    """Take back an unsealed upload so nothing half-written lingers (best effort)."""
    try:
        if await storage.exists(manifest_key):
            return
        for key in written:
            await storage.delete(key)
    except StorageError as exc:
        log.warning("archive_partial_left", error=str(exc), keys=len(written))


async def release_capture(
    capture_dir: Path,
    storage: Storage,
    folder: str,
    trusted: Mapping[str, Ed25519PublicKey],
) -> VerifyReport:
    """Delete the local capture only if the archive at ``folder`` verifies and holds it.

    Raises :class:`SealError` (``not_verified``, ``capture_differs``) and deletes
    nothing when either check fails: the capture may be the only copy.
    """
    report = await verify_archive(storage, folder, trusted)
    if not report.ok:
        problems = "; ".join(p.line() for p in report.problems[:5]) or report.error
        raise SealError("not_verified", f"archive {folder} does not verify: {problems}")
    files = report.manifest["files"] if report.manifest else {}
    hearing_id = str(report.manifest["hearing"]["id"]) if report.manifest else ""
    capture = await asyncio.to_thread(_read_capture, capture_dir, hearing_id)
    for name, path in capture.segments.items():
        size, sha = await asyncio.to_thread(_sha256_file, path)
        if files.get(name, {}).get("sha256") != sha or files[name].get("size") != size:
            raise SealError("capture_differs", f"{path} is not the archived {name}")
    if files.get(mf.INDEX, {}).get("sha256") != hashlib.sha256(capture.index_bytes).hexdigest():
        raise SealError("capture_differs", f"{capture_dir / INDEX_NAME} is not the archived index")
    archived_segments = {n for n in files if n.startswith("capture/") and n != mf.INDEX}
    if archived_segments != set(capture.segments):
        raise SealError("capture_differs", f"{capture_dir} and the archive hold different segments")

    def remove() -> None:
        for path in [*capture.segments.values(), capture_dir / INDEX_NAME]:
            path.unlink(missing_ok=True)
        fd = os.open(capture_dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        if not any(capture_dir.iterdir()):
            shutil.rmtree(capture_dir)

    await asyncio.to_thread(remove)
    log.info("capture_released", capture=str(capture_dir), folder=folder)
    return report
