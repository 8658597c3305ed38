"""The hash chain of a capture index, defined once (docs/recording.md, "The index").

Capture writes it, the archive seals it and verify recomputes it: all three
must hash the same bytes, so the definition lives here only.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical(value: Any) -> bytes:
    """Canonical JSON: sorted keys, no spaces, UTF-8, no NaN (what is hashed and signed)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def genesis(hearing_id: str) -> str:
    """The ``prev`` of a hearing's first index line."""
    return hashlib.sha256(f"tyndau-capture:{hearing_id}".encode()).hexdigest()


def chain_hash(prev: str, record: dict[str, Any]) -> str:
    """``sha256(prev ‖ canonical(record without chain))``, ``prev`` as its hex ASCII."""
    body = {key: value for key, value in record.items() if key != "chain"}
    return hashlib.sha256(prev.encode("ascii") + canonical(body)).hexdigest()
