"""Case folders (fuzzed), archive signing keys, storage keys, the capture chain's definition."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from recorder import archive_keys
from recorder import manifest as mf
from recorder.archive import case_folder
from recorder.storage import (
    AlreadyExists,
    LocalStorage,
    NotFound,
    S3Storage,
    check_key,
    open_storage,
)
from server.auth.keys import KeyRing

courts = st.text(min_size=1, max_size=60).filter(lambda c: "\n" not in c)
numbers = st.text(max_size=200)


@given(court=courts, number=numbers)
def test_a_case_folder_is_one_safe_path_component(court: str, number: str) -> None:
    folder = case_folder(court, number)
    for bad in ("/", "\\", "..", "\x00", os.sep, ":", "\n"):
        assert bad not in folder
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}-[0-9a-f]{10}", folder)
    assert folder not in (".", "..")
    assert not folder.startswith(".")
    assert len(folder.encode()) <= 255
    assert case_folder(court, number) == folder  # stable


@given(a=st.tuples(courts, numbers), b=st.tuples(courts, numbers))
def test_distinct_cases_get_distinct_folders(a: tuple[str, str], b: tuple[str, str]) -> None:
    if a != b:
        assert case_folder(*a) != case_folder(*b)


@given(number=numbers)
def test_the_same_number_in_two_courts_is_two_folders(number: str) -> None:
    assert case_folder("Астана", number) != case_folder("Алматы", number)


def test_a_court_with_a_newline_is_refused() -> None:
    # court + "\n" + number must not be ambiguous.
    with pytest.raises(ValueError, match="newline"):
        case_folder("a\nb", "c")


def test_case_folder_is_the_documented_formula() -> None:
    digest = hashlib.sha256("Сот\n2-15/2026 (а)".encode()).hexdigest()[:10]
    assert case_folder("Сот", "2-15/2026 (а)") == f"2-15_2026____-{digest}"
    assert case_folder("Сот", "").startswith("_-")


def test_archive_key_is_private_made_once_and_not_a_token_key(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    ring = KeyRing.load_or_create(keys)  # the server's token key, made first
    key = archive_keys.signing_key(keys)
    path = keys / f"archive-{key.key_id}.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert archive_keys.signing_key(keys).key_id == key.key_id
    assert list(archive_keys.trusted_keys(keys)) == [key.key_id]
    # The token key ring never picks up the archive key (it would sign tokens with it).
    again = KeyRing.load_or_create(keys)
    assert again.kids() == ring.kids()
    assert again.current.kid == ring.current.kid


def test_rotation_signs_with_the_new_key_and_trusts_both(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    old = archive_keys.signing_key(keys)
    new = archive_keys.rotate(keys)
    assert archive_keys.signing_key(keys).key_id == new.key_id
    assert set(archive_keys.trusted_keys(keys)) == {old.key_id, new.key_id}
    # A verifier holding only a public key trusts it too.
    public_only = tmp_path / "verifier"
    public_only.mkdir()
    (public_only / f"archive-{old.key_id}.pem").write_bytes(old.public_pem())
    assert list(archive_keys.trusted_keys(public_only)) == [old.key_id]


def test_signature_is_over_canonical_json_without_the_signature() -> None:
    key = archive_keys.ArchiveKey(Ed25519PrivateKey.generate())
    signed = mf.sign({"format": mf.FORMAT, "b": [1, "ә"], "a": {"z": 1, "y": None}}, key)
    body = {k: v for k, v in signed.items() if k != "signature"}
    key.public_key.verify(
        base64.b64decode(signed["signature"]["value"]),
        json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(),
    )
    assert mf.check_signature(json.loads(mf.dumps(signed))).valid


def test_the_chain_is_the_documented_one() -> None:
    prev = hashlib.sha256(b"tyndau-capture:h1").hexdigest()
    record = {"seq": 1, "marker": "started", "at": "2026-11-30T09:00:00.000+00:00", "prev": prev}
    expected = hashlib.sha256(
        prev.encode()
        + b'{"at":"2026-11-30T09:00:00.000+00:00","marker":"started","prev":"'
        + prev.encode()
        + b'","seq":1}'
    ).hexdigest()
    assert mf.genesis("h1") == prev
    assert mf.chain_hash(prev, {**record, "chain": "ignored"}) == expected
    line = mf.canonical({**record, "chain": expected}) + b"\n"
    reading = mf.read_index(line, "h1")
    assert (reading.problems, reading.head) == ([], expected)
    assert mf.read_index(line, "h2").problems == [(1, "does not follow the line before (prev)")]


def test_the_capture_writer_and_the_archive_agree_on_the_chain(tmp_path: Path) -> None:
    """The capture's own index writer, where present, produces what the archive verifies."""
    segments = pytest.importorskip("recorder.segments")
    writer_class = getattr(segments, "CaptureIndex", None)
    if writer_class is None:
        pytest.skip("the capture's index writer is not there yet")
    from datetime import UTC, datetime

    index = writer_class(tmp_path, "h-agree")
    index.marker("started", datetime(2026, 11, 30, 9, tzinfo=UTC))
    index.append({"file": "000001.mkv", "participant": {"name": "Әлия"}, "size": 1})
    index.marker("stopped", datetime(2026, 11, 30, 9, 1, tzinfo=UTC))
    reading = mf.read_index((tmp_path / "segments.jsonl").read_bytes(), "h-agree")
    assert reading.problems == []
    assert len(reading.records) == 3


@pytest.mark.parametrize(
    "key", ["", "/etc/passwd", "a/../b", "..", "a//b", "a/./b", "a\\b", "a\x00b", "a/"]
)
def test_unsafe_storage_keys_are_refused(key: str) -> None:
    with pytest.raises(ValueError, match="unsafe"):
        check_key(key)


def test_storage_urls(tmp_path: Path) -> None:
    default = open_storage(None, data_dir=tmp_path)
    assert isinstance(default, LocalStorage)
    assert default.root == tmp_path / "archive"
    local = open_storage(f"file://{tmp_path}/arch", data_dir=tmp_path)
    assert isinstance(local, LocalStorage)
    assert local.root == tmp_path / "arch"
    s3 = open_storage("s3://court-archive/tyndau", data_dir=tmp_path, s3_endpoint="http://s3:9000")
    assert isinstance(s3, S3Storage)
    assert (s3.bucket, s3.prefix, s3.endpoint) == ("court-archive", "tyndau", "http://s3:9000")
    with pytest.raises(ValueError, match="unsupported"):
        open_storage("ftp://x/y", data_dir=tmp_path)


async def test_local_storage_range_reads_and_exclusive_writes(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "archive")
    data = bytes(range(256)) * 20
    await storage.put_bytes("c/h/blob", data)
    assert await storage.size("c/h/blob") == len(data)
    assert await storage.read("c/h/blob", 100, 50) == data[100:150]
    assert await storage.read("c/h/blob", 5000) == data[5000:]
    chunks = [c async for c in storage.stream("c/h/blob", 10, 3000, chunk_size=1000)]
    assert [len(c) for c in chunks] == [1000, 1000, 1000]
    assert b"".join(chunks) == data[10:3010]
    await storage.put_bytes("c/h/once", b"1", exclusive=True)
    with pytest.raises(AlreadyExists):
        await storage.put_bytes("c/h/once", b"2", exclusive=True)
    assert await storage.read("c/h/once") == b"1"
    assert await storage.list("c") == ["c/h/blob", "c/h/once"]
    await storage.delete("c/h/blob")
    with pytest.raises(NotFound):
        await storage.size("c/h/blob")
    assert not list((tmp_path / "archive").rglob(".*"))


def test_the_archive_does_not_import_the_web_layer() -> None:
    code = (
        "import sys, recorder.archive_cli, recorder.archive, recorder.verify; "
        "print([m for m in sys.modules if m.startswith(('server.app', 'server.api', 'signaling'))])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
