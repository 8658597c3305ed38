"""Checking a sealed archive on storage: hashes, the capture chain, the signature, trust.

Every problem has a stable code: ``changed``, ``missing``, ``extra``,
``reordered``, ``chain_broken``, ``bad_signature``, ``untrusted_key``,
``manifest_unreadable``. An archive that cannot be reached at all is not a
problem found but a check not made (``VerifyReport.checked`` is False).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from tqdm import tqdm

from recorder import manifest as mf
from recorder.archive_keys import public_from_b64, raw_public
from recorder.storage import NotFound, Storage, StorageError, join_key


@dataclass(frozen=True)
class Problem:
    code: str
    subject: str
    message: str

    def line(self) -> str:
        return f"{self.code} {self.subject}: {self.message}"


@dataclass
class VerifyReport:
    checked: bool = True
    error: str = ""  # why it could not be checked
    problems: list[Problem] = field(default_factory=list)
    manifest: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.checked and not self.problems

    @property
    def exit_status(self) -> int:
        """0 all is well, 1 something is wrong, 2 it could not be checked."""
        if not self.checked:
            return 2
        return 1 if self.problems else 0

    def add(self, code: str, subject: str, message: str) -> None:
        problem = Problem(code, subject, message)
        if problem not in self.problems:
            self.problems.append(problem)

    def has(self, subject: str) -> bool:
        return any(p.subject == subject for p in self.problems)


async def _hash(storage: Storage, key: str, bar: tqdm) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    async for block in storage.stream(key):
        # Hashing a large file must not stall the server's event loop.
        await asyncio.to_thread(digest.update, block)
        size += len(block)
        bar.update(len(block))
    return size, digest.hexdigest()


def _manifest_shape_ok(manifest: Any) -> bool:
    if not isinstance(manifest, dict) or manifest.get("format") != mf.FORMAT:
        return False
    files, capture, hearing = (manifest.get(k) for k in ("files", "capture", "hearing"))
    return (
        isinstance(files, dict)
        and all(isinstance(v, dict) for v in files.values())
        and isinstance(capture, dict)
        and isinstance(capture.get("segments"), list)
        and isinstance(hearing, dict)
        and isinstance(hearing.get("id"), str)
    )


async def verify_archive(
    storage: Storage,
    folder: str,
    trusted: Mapping[str, Ed25519PublicKey],
    *,
    progress: bool | None = False,
) -> VerifyReport:
    """Check the archive at ``folder`` (a key prefix, "" for the storage root).

    ``progress``: False no bar, None a bar when stderr is a terminal (tqdm's rule).
    """
    report = VerifyReport()
    try:
        keys = await storage.list(folder)
    except (StorageError, ValueError) as exc:
        return VerifyReport(checked=False, error=f"could not list {folder or storage.url}: {exc}")
    if not keys:
        return VerifyReport(checked=False, error=f"no archive at {join_key(storage.url, folder)}")
    strip = len(folder.strip("/")) + 1 if folder.strip("/") else 0
    present = {key[strip:] for key in keys}

    try:
        raw = await storage.read(join_key(folder, mf.MANIFEST))
        manifest = json.loads(raw)
    except NotFound:
        report.add("manifest_unreadable", mf.MANIFEST, "there is no manifest: not sealed")
        return report
    except StorageError as exc:
        return VerifyReport(checked=False, error=f"could not read the manifest: {exc}")
    except ValueError:
        report.add("manifest_unreadable", mf.MANIFEST, "the manifest is not valid JSON")
        return report
    if not _manifest_shape_ok(manifest):
        report.add("manifest_unreadable", mf.MANIFEST, f"not a {mf.FORMAT} manifest")
        return report
    report.manifest = manifest

    _check_signature(report, manifest, trusted)
    try:
        actual = await _check_files(report, storage, folder, manifest, present, progress)
        await _check_chain(report, storage, folder, manifest, actual, present)
    except StorageError as exc:
        # Storage failing part-way (a file vanishing included) is no verdict either way.
        return VerifyReport(checked=False, error=f"could not read the archive: {exc}")
    return report


def _check_signature(
    report: VerifyReport, manifest: dict[str, Any], trusted: Mapping[str, Ed25519PublicKey]
) -> None:
    check = mf.check_signature(manifest)
    if not check.valid:
        report.add("bad_signature", mf.MANIFEST, check.reason)
        return
    known = trusted.get(check.key_id or "")
    signer = public_from_b64(str(check.public_key))
    # Compare the keys themselves: a key id is only a name.
    if known is None or raw_public(known) != raw_public(signer):
        report.add(
            "untrusted_key", mf.MANIFEST, f"signed by key {check.key_id}, which is not trusted"
        )


async def _check_files(
    report: VerifyReport,
    storage: Storage,
    folder: str,
    manifest: dict[str, Any],
    present: set[str],
    progress: bool | None,
) -> dict[str, str]:
    """Hash every listed file; returns name → actual SHA-256 of those present."""
    files: dict[str, dict[str, Any]] = manifest["files"]
    for name in sorted(present - set(files) - {mf.MANIFEST}):
        report.add("extra", name, "is in the archive but not in the manifest")
    for name in sorted(set(files) - present):
        report.add("missing", name, "is in the manifest but not in the archive")
    to_hash = sorted(set(files) & present)
    sizes = {name: await storage.size(join_key(folder, name)) for name in to_hash}
    actual: dict[str, str] = {}
    with tqdm(
        total=sum(sizes.values()),
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc="hashing",
        disable=None if progress is None else not progress,
        leave=False,
    ) as bar:
        for name in to_hash:
            _, actual[name] = await _hash(storage, join_key(folder, name), bar)
    owner = {entry.get("sha256"): name for name, entry in files.items()}
    for name, sha in actual.items():
        if sha == files[name].get("sha256") and sizes[name] == files[name].get("size"):
            continue
        other = owner.get(sha)
        if other is not None and other != name:
            report.add("reordered", name, f"holds what the manifest seals as {other}")
        else:
            report.add("changed", name, "its content is not what the manifest seals")
    return actual


async def _check_chain(
    report: VerifyReport,
    storage: Storage,
    folder: str,
    manifest: dict[str, Any],
    actual: dict[str, str],
    present: set[str],
) -> None:
    """Recompute the capture chain from the archived index and segment files."""
    capture: dict[str, Any] = manifest["capture"]
    hearing_id: str = manifest["hearing"]["id"]
    subject = mf.INDEX
    if mf.INDEX not in present:
        if capture.get("records"):
            report.add("chain_broken", subject, "the capture index is gone")
        return
    data = await storage.read(join_key(folder, mf.INDEX))
    reading = mf.read_index(data, hearing_id)
    sealed_segments: list[dict[str, Any]] = capture["segments"]
    sealed = [s.get("chain") for s in sealed_segments]
    sealed += [m.get("chain") for m in manifest.get("recording", {}).get("markers", [])]

    sealed_torn = capture.get("torn_lines") or []
    if reading.problems or reading.torn != sealed_torn:
        torn_hashes = {t.get("sha256") for t in sealed_torn}
        if _lines_reordered(data, set(sealed), torn_hashes):
            report.add("reordered", subject, "the index's lines are out of order")
        elif reading.problems:
            line, reason = reading.problems[0]
            report.add("chain_broken", f"{subject} line {line}", reason)
        else:
            unsealed = [t for t in reading.torn if t not in sealed_torn]
            where = f"{subject} line {unsealed[0]['line']}" if unsealed else subject
            report.add("chain_broken", where, "is cut short or garbled")
    if capture.get("genesis") != mf.genesis(hearing_id):
        report.add("chain_broken", subject, "the chain does not start at this hearing")
    chain_named = any(
        p.code in ("chain_broken", "reordered") and p.subject.startswith(subject)
        for p in report.problems
    )
    if not chain_named:
        if reading.head != capture.get("head") or len(reading.records) != capture.get("records"):
            report.add("chain_broken", subject, "the chain's head is not the sealed one")
        elif [s["chain"] for s in reading.segments] != [s.get("chain") for s in sealed_segments]:
            report.add("chain_broken", subject, "the manifest's segments are not the index's")

    files: dict[str, dict[str, Any]] = manifest["files"]
    for record in reading.segments:
        name = f"capture/{record.get('file')}"
        if report.has(name):
            continue  # already named: changed, missing or reordered
        sealed_sha = files.get(name, {}).get("sha256")
        if sealed_sha is None or sealed_sha != record.get("sha256"):
            report.add("chain_broken", name, "the index and the manifest disagree on this segment")
        elif name in actual and actual[name] != record.get("sha256"):
            report.add("chain_broken", name, "the segment is not the one its index line hashes")


def _lines_reordered(data: bytes, sealed: set[Any], torn: set[Any]) -> bool:
    """Whether the index holds exactly the sealed lines, each intact, in another order."""
    records: list[dict[str, Any]] = []
    for line in data.split(b"\n"):
        if not line or hashlib.sha256(line).hexdigest() in torn:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            return False
        if not isinstance(record, dict) or "prev" not in record:
            return False
        if record.get("chain") != mf.chain_hash(str(record["prev"]), record):
            return False
        records.append(record)
    return len(records) == len(sealed) and {r.get("chain") for r in records} == sealed
