"""The archive manifest: canonical JSON, the capture hash chain, building and signing.

The capture index (``segments.jsonl``) chains every line to the one before:
``chain = sha256(prev ‖ canonical(line without chain))``, the first ``prev``
being ``sha256("tyndau-capture:" + hearing_id)``. The manifest records every
file's size and SHA-256, the chain (segments in order, markers, the head) and
is signed with Ed25519 over its canonical JSON without ``signature``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature

from recorder.archive_keys import ArchiveKey, key_id, public_b64, public_from_b64
from recorder.chain import canonical, chain_hash, genesis

FORMAT = "tyndau-archive/1"
MANIFEST = "manifest.json"
INDEX = "capture/segments.jsonl"


@dataclass
class IndexReading:
    """A capture index parsed and its chain recomputed.

    A line that is not a JSON object is *torn*: a process killed mid-write left
    it, and capture went on with a fresh line chained to the last whole one. Torn
    lines are kept as found (and sealed by their hash); the chain skips them.
    ``problems`` are ``(line number, reason)``; the chain is followed up to the
    first broken line, ``head`` is the last good chain value.
    """

    records: list[dict[str, Any]] = field(default_factory=list)
    head: str = ""
    problems: list[tuple[int, str]] = field(default_factory=list)
    torn: list[dict[str, Any]] = field(default_factory=list)  # line, bytes, sha256

    @property
    def segments(self) -> list[dict[str, Any]]:
        return [r for r in self.records if "file" in r]

    @property
    def markers(self) -> list[dict[str, Any]]:
        return [r for r in self.records if "marker" in r]


def read_index(data: bytes, hearing_id: str) -> IndexReading:
    """Parse ``segments.jsonl`` and follow its chain from the hearing's genesis."""
    reading = IndexReading(head=genesis(hearing_id))
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()  # the newline that ends the last line
    last_seq: int | None = None
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            digest = hashlib.sha256(line).hexdigest()
            reading.torn.append({"line": number, "bytes": len(line), "sha256": digest})
            continue
        if record.get("prev") != reading.head:
            reading.problems.append((number, "does not follow the line before (prev)"))
            break
        if record.get("chain") != chain_hash(reading.head, record):
            reading.problems.append((number, "does not hash to its chain value"))
            break
        seq = record.get("seq")
        if not isinstance(seq, int) or (last_seq is not None and seq <= last_seq):
            reading.problems.append((number, "has a sequence number out of order"))
            break
        last_seq = seq
        reading.records.append(record)
        reading.head = record["chain"]
    return reading


def gaps(markers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stretches not recorded, from the markers: paused → resumed, failed → restarted,
    and a node's failure (a ``gap`` marker: ``from``, ``to``, ``node``)."""
    found: list[dict[str, Any]] = []
    open_gap: dict[str, Any] | None = None
    for marker in markers:
        kind = marker.get("marker")
        if kind == "gap":
            # It says its own times; a ``paused`` its node wrote when stopping is within it.
            open_gap = None
            gap = {
                "reason": marker.get("reason", "node_failed"),
                "from": marker.get("from"),
                "to": marker.get("to", marker.get("at")),
                "after_seq": marker.get("seq"),
            }
            if marker.get("node"):
                gap["node"] = marker["node"]
            found.append(gap)
        elif kind in ("paused", "failed") and open_gap is None:
            open_gap = {"reason": kind, "from": marker.get("at"), "after_seq": marker.get("seq")}
        elif kind in ("resumed", "started") and open_gap is not None:
            found.append({**open_gap, "to": marker.get("at")})
            open_gap = None
    if open_gap is not None:
        found.append({**open_gap, "to": None})  # capture failed and never came back
    return found


def file_entry(size: int, sha256: str, **flags: Any) -> dict[str, Any]:
    return {"size": size, "sha256": sha256, **flags}


def build(
    *,
    hearing: dict[str, Any],
    case_folder: str,
    files: dict[str, dict[str, Any]],
    index: IndexReading,
    recovered: list[str],
    sealed_at: datetime,
) -> dict[str, Any]:
    """The manifest (unsigned) of an archive holding ``files`` (path → size, sha256)."""
    segments = [
        {
            "seq": r["seq"],
            "file": r["file"],
            "sha256": r.get("sha256"),
            "size": r.get("size"),
            "chain": r["chain"],
            "track": r.get("track"),
            "kind": r.get("kind"),
            "participant": r.get("participant"),
            "started_at": r.get("started_at"),
            "ended_at": r.get("ended_at"),
        }
        for r in index.segments
    ]
    markers = [
        {
            "seq": m["seq"],
            "marker": m["marker"],
            "at": m.get("at"),
            "chain": m["chain"],
            # Why (shutdown, restart, failover, a node's failure) and a gap's times.
            **{k: m[k] for k in ("reason", "from", "to", "node") if k in m},
        }
        for m in index.markers
    ]
    starts = [m["at"] for m in markers if m["marker"] == "started" and m["at"]]
    stops = [m["at"] for m in markers if m["marker"] == "stopped" and m["at"]]
    seg_starts = [s["started_at"] for s in segments if s["started_at"]]
    seg_ends = [s["ended_at"] for s in segments if s["ended_at"]]
    capture: dict[str, Any] = {
        "genesis": genesis(hearing["id"]),
        "records": len(index.records),
        "segments": segments,
        "recovered": [{"file": name, **files[f"capture/{name}"]} for name in recovered],
        "torn_lines": index.torn,
        "head": index.head,
    }
    return {
        "format": FORMAT,
        "hearing": hearing,
        "case_folder": case_folder,
        "sealed_at": sealed_at.isoformat(timespec="milliseconds"),
        "recording": {
            "started_at": (starts or sorted(seg_starts) or [None])[0],
            "ended_at": (stops or sorted(seg_ends) or [None])[-1],
            "markers": markers,
        },
        "files": dict(sorted(files.items())),
        "capture": capture,
        "gaps": gaps(index.markers),
    }


def sign(manifest: dict[str, Any], key: ArchiveKey) -> dict[str, Any]:
    """The manifest with its ``signature`` (over the canonical JSON of the rest)."""
    body = {k: v for k, v in manifest.items() if k != "signature"}
    signature = {
        "alg": "Ed25519",
        "key_id": key.key_id,
        "public_key": public_b64(key.public_key),
        "value": base64.b64encode(key.sign(canonical(body))).decode("ascii"),
    }
    return {**body, "signature": signature}


@dataclass(frozen=True)
class SignatureCheck:
    valid: bool
    key_id: str | None
    public_key: str | None  # base64 raw Ed25519
    reason: str = ""


def check_signature(manifest: dict[str, Any]) -> SignatureCheck:
    """Whether the manifest's signature is valid for the key it names (trust is separate)."""
    signature = manifest.get("signature")
    if not isinstance(signature, dict):
        return SignatureCheck(False, None, None, "the manifest is not signed")
    kid, public = signature.get("key_id"), signature.get("public_key")
    try:
        key = public_from_b64(str(public))
        value = base64.b64decode(str(signature.get("value")), validate=True)
    except ValueError:
        return SignatureCheck(False, kid, public, "the signature or its key is malformed")
    if signature.get("alg") != "Ed25519":
        return SignatureCheck(False, kid, public, "the signature is not Ed25519")
    if kid != key_id(key):
        return SignatureCheck(False, kid, public, "the key id does not match the public key")
    body = {k: v for k, v in manifest.items() if k != "signature"}
    try:
        key.verify(value, canonical(body))
    except InvalidSignature:
        return SignatureCheck(False, kid, public, "the signature does not match the manifest")
    return SignatureCheck(True, kid, public)


def dumps(manifest: dict[str, Any]) -> bytes:
    """The manifest as stored: indented for people (the signature is over canonical JSON)."""
    return (json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode()
