"""The sealed per-case archive on local storage: seal, verify, and tampering caught.

Capture directories are built from docs/recording.md (tests/support/archive_capture.py);
the commands run as ``tyndau archive …`` with the exit status checked.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from support.archive_capture import CASE_NUMBER, COURT, HEARING_ID, HearingFiles, build_capture

from recorder import archive_keys
from recorder import manifest as mf
from recorder.archive import (
    HearingIdentity,
    SealError,
    archive_folder,
    case_folder,
    release_capture,
    seal,
)
from recorder.storage import LocalStorage
from recorder.verify import verify_archive
from server.cli import main


@dataclass
class Sealed:
    data_dir: Path
    files: HearingFiles
    path: Path  # the archive folder on disk

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    def manifest(self) -> dict:
        return json.loads((self.path / "manifest.json").read_text("utf-8"))


def tyndau(data_dir: Path, *args: str | Path) -> int:
    return main(["--data-dir", str(data_dir), *[str(a) for a in args]])


def seal_cli(data_dir: Path, files: HearingFiles, *extra: str) -> int:
    return tyndau(
        data_dir,
        "archive",
        "seal",
        files.capture,
        "--mixed",
        files.mixed,
        "--protocol-json",
        files.protocol_json,
        "--protocol-html",
        files.protocol_html,
        "--judge",
        "Серікова Әлия",
        *extra,
    )


def verify(sealed: Sealed, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, set]:
    """Run ``tyndau archive verify``; (exit status, {(code, subject)})."""
    capsys.readouterr()
    status = tyndau(sealed.data_dir, "archive", "verify", sealed.path, *extra)
    out = capsys.readouterr().out
    problems = set()
    for line in out.splitlines():
        if line.startswith("ok:"):
            continue
        code, rest = line.split(" ", 1)
        problems.add((code, rest.split(": ", 1)[0]))
    return status, problems


def codes(problems: set) -> set[str]:
    return {code for code, _ in problems}


@pytest.fixture
def sealed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Sealed:
    files = build_capture(tmp_path / "hearing", recovered=True, torn_line=True)
    data_dir = tmp_path / "data"
    assert seal_cli(data_dir, files) == 0
    folder = archive_folder(HearingIdentity(id=HEARING_ID, case_number=CASE_NUMBER, court=COURT))
    assert f"sealed {(data_dir / 'archive').resolve().as_uri()}/{folder}" in capsys.readouterr().out
    return Sealed(data_dir, files, data_dir / "archive" / folder)


def test_a_sealed_archive_verifies(sealed: Sealed, capsys: pytest.CaptureFixture[str]) -> None:
    status, problems = verify(sealed, capsys)
    assert (status, problems) == (0, set())

    listed = sorted(
        p.relative_to(sealed.path).as_posix() for p in sealed.path.rglob("*") if p.is_file()
    )
    assert listed == [
        "capture/000001.mkv",
        "capture/000002.mkv",
        "capture/000003.mkv",
        "capture/000004.mkv",
        "capture/000005.mkv",
        "capture/segments.jsonl",
        "manifest.json",
        "mixed.mp4",
        "protocol.html",
        "protocol.json",
    ]
    # The archive holds the capture byte for byte, torn index line included.
    for name in ["segments.jsonl", "000001.mkv", "000005.mkv"]:
        assert (sealed.path / "capture" / name).read_bytes() == (
            sealed.files.capture / name
        ).read_bytes()
    assert sealed.files.capture.is_dir()  # sealing alone never removes the capture


def test_the_manifest_describes_the_hearing(sealed: Sealed) -> None:
    manifest = sealed.manifest()
    assert manifest["format"] == "tyndau-archive/1"
    assert manifest["hearing"] == {
        "id": HEARING_ID,
        "case_number": CASE_NUMBER,
        "court": COURT,
        "title": "Талап арыз",
        "kind": "court_hearing",
        "judge": "Серікова Әлия",
        "scheduled_at": "2026-11-30T09:00:00+00:00",
        "language": "kk",
    }
    mixed = (sealed.path / "mixed.mp4").read_bytes()
    assert manifest["files"]["mixed.mp4"] == {
        "size": len(mixed),
        "sha256": hashlib.sha256(mixed).hexdigest(),
    }
    capture = manifest["capture"]
    assert [s["file"] for s in capture["segments"]] == [
        "000001.mkv",
        "000002.mkv",
        "000003.mkv",
        "000004.mkv",
    ]
    assert [s["seq"] for s in capture["segments"]] == [2, 3, 6, 7]
    lines = [
        json.loads(line)
        for line in (sealed.path / "capture/segments.jsonl").read_bytes().splitlines()
        if line.startswith(b'{"') and line.endswith(b"}")
    ]
    assert capture["head"] == lines[-1]["chain"]
    assert capture["records"] == len(lines) == 8
    assert [s["chain"] for s in capture["segments"]] == [r["chain"] for r in lines if "file" in r]
    # The segment a killed process left open: archived, hashed and flagged.
    assert [r["file"] for r in capture["recovered"]] == ["000005.mkv"]
    assert manifest["files"]["capture/000005.mkv"]["recovered"] is True
    assert [t["line"] for t in capture["torn_lines"]] == [5]
    assert manifest["gaps"] == [
        {
            "reason": "paused",
            "from": "2026-11-30T09:00:10.000+00:00",
            "to": "2026-11-30T09:20:00.000+00:00",
            "after_seq": 4,
        }
    ]
    assert manifest["recording"]["started_at"] == "2026-11-30T09:00:00.000+00:00"
    assert manifest["recording"]["ended_at"] == "2026-11-30T09:20:10.000+00:00"
    assert [m["marker"] for m in manifest["recording"]["markers"]] == [
        "started",
        "paused",
        "resumed",
        "stopped",
    ]
    signature = manifest["signature"]
    key = archive_keys.signing_key(sealed.keys_dir)
    assert signature["alg"] == "Ed25519"
    assert signature["key_id"] == key.key_id
    assert signature["public_key"] == archive_keys.public_b64(key.public_key)
    assert mf.check_signature(manifest).valid


def test_one_byte_changed_in_the_mixed_file(
    sealed: Sealed, capsys: pytest.CaptureFixture[str]
) -> None:
    path = sealed.path / "mixed.mp4"
    data = bytearray(path.read_bytes())
    data[5000] ^= 0x01
    path.write_bytes(bytes(data))
    assert verify(sealed, capsys) == (1, {("changed", "mixed.mp4")})


def test_a_segment_removed(sealed: Sealed, capsys: pytest.CaptureFixture[str]) -> None:
    (sealed.path / "capture/000003.mkv").unlink()
    assert verify(sealed, capsys) == (1, {("missing", "capture/000003.mkv")})


def test_a_segment_and_its_index_line_removed(
    sealed: Sealed, capsys: pytest.CaptureFixture[str]
) -> None:
    (sealed.path / "capture/000003.mkv").unlink()
    index = sealed.path / "capture/segments.jsonl"
    lines = index.read_bytes().splitlines(keepends=True)
    index.write_bytes(b"".join(line for line in lines if b'"000003.mkv"' not in line))
    status, problems = verify(sealed, capsys)
    assert status == 1
    assert ("missing", "capture/000003.mkv") in problems
    assert "chain_broken" in codes(problems)


def test_two_segments_swapped_are_reordered_not_merely_changed(
    sealed: Sealed, capsys: pytest.CaptureFixture[str]
) -> None:
    first, third = sealed.path / "capture/000001.mkv", sealed.path / "capture/000003.mkv"
    a, b = first.read_bytes(), third.read_bytes()
    first.write_bytes(b)
    third.write_bytes(a)
    assert verify(sealed, capsys) == (
        1,
        {("reordered", "capture/000001.mkv"), ("reordered", "capture/000003.mkv")},
    )


def test_index_lines_swapped_are_reordered(
    sealed: Sealed, capsys: pytest.CaptureFixture[str]
) -> None:
    index = sealed.path / "capture/segments.jsonl"
    lines = index.read_bytes().splitlines(keepends=True)
    lines[1], lines[2] = lines[2], lines[1]
    index.write_bytes(b"".join(lines))
    status, problems = verify(sealed, capsys)
    assert status == 1
    assert ("reordered", "capture/segments.jsonl") in problems
    assert "chain_broken" not in codes(problems)


@pytest.mark.parametrize("edit", ["hash", "time"])
def test_an_edited_manifest_has_a_bad_signature(
    sealed: Sealed, capsys: pytest.CaptureFixture[str], edit: str
) -> None:
    manifest = sealed.manifest()
    if edit == "hash":
        # Someone swaps the mixed file and puts its hash into the manifest.
        forged = (sealed.path / "mixed.mp4").read_bytes() + b"\x00"
        (sealed.path / "mixed.mp4").write_bytes(forged)
        manifest["files"]["mixed.mp4"] = {
            "size": len(forged),
            "sha256": hashlib.sha256(forged).hexdigest(),
        }
    else:
        manifest["recording"]["started_at"] = "2026-11-30T09:05:00.000+00:00"
    (sealed.path / "manifest.json").write_bytes(mf.dumps(manifest))
    assert verify(sealed, capsys) == (1, {("bad_signature", "manifest.json")})


def test_resigned_by_another_key_is_untrusted(
    sealed: Sealed, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = sealed.manifest()
    manifest["recording"]["ended_at"] = "2026-11-30T09:10:00.000+00:00"
    other = archive_keys.ArchiveKey(Ed25519PrivateKey.generate())
    (sealed.path / "manifest.json").write_bytes(mf.dumps(mf.sign(manifest, other)))
    assert verify(sealed, capsys) == (1, {("untrusted_key", "manifest.json")})


def test_a_key_id_of_a_trusted_key_with_another_public_key_is_caught(
    sealed: Sealed, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = sealed.manifest()
    other = archive_keys.ArchiveKey(Ed25519PrivateKey.generate())
    signed = mf.sign(manifest, other)
    signed["signature"]["key_id"] = manifest["signature"]["key_id"]
    (sealed.path / "manifest.json").write_bytes(mf.dumps(signed))
    status, problems = verify(sealed, capsys)
    assert status == 1
    assert codes(problems) == {"bad_signature"}


def test_an_extra_file(sealed: Sealed, capsys: pytest.CaptureFixture[str]) -> None:
    (sealed.path / "capture/000006.mkv").write_bytes(b"\x1aE\xdf\xa3 not sealed")
    assert verify(sealed, capsys) == (1, {("extra", "capture/000006.mkv")})


def test_a_truncated_index_line(sealed: Sealed, capsys: pytest.CaptureFixture[str]) -> None:
    index = sealed.path / "capture/segments.jsonl"
    data = index.read_bytes()
    index.write_bytes(data[:-40])  # the last line (the stop marker) cut short
    status, problems = verify(sealed, capsys)
    assert status == 1
    assert ("chain_broken", "capture/segments.jsonl line 9") in problems
    assert ("changed", "capture/segments.jsonl") in problems
    assert codes(problems) == {"chain_broken", "changed"}


def test_a_rewritten_index_with_a_new_chain_is_caught(
    sealed: Sealed, capsys: pytest.CaptureFixture[str]
) -> None:
    # The forger swaps segment 3's content, fixes its index line and re-chains the rest.
    (sealed.path / "capture/000003.mkv").write_bytes(b"forged video")
    index = sealed.path / "capture/segments.jsonl"
    prev = mf.genesis(HEARING_ID)
    out = []
    for line in index.read_bytes().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("file") == "000003.mkv":
            record["sha256"] = hashlib.sha256(b"forged video").hexdigest()
            record["size"] = len(b"forged video")
        record["prev"] = prev
        record["chain"] = mf.chain_hash(prev, record)
        prev = record["chain"]
        out.append(mf.canonical(record) + b"\n")
    index.write_bytes(b"".join(out))
    status, problems = verify(sealed, capsys)
    assert status == 1
    assert ("changed", "capture/000003.mkv") in problems
    assert ("chain_broken", "capture/segments.jsonl") in problems


def test_manifest_unreadable(sealed: Sealed, capsys: pytest.CaptureFixture[str]) -> None:
    (sealed.path / "manifest.json").write_text('{"format": "tyndau-archive/1", ')
    assert verify(sealed, capsys) == (1, {("manifest_unreadable", "manifest.json")})
    (sealed.path / "manifest.json").unlink()
    assert verify(sealed, capsys) == (1, {("manifest_unreadable", "manifest.json")})


def test_no_such_archive_could_not_be_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert tyndau(tmp_path / "data", "archive", "verify", tmp_path / "nowhere") == 2
    assert "could not check" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert tyndau(tmp_path / "data", "archive", "verify", tmp_path / "empty") == 2


def test_trusted_keys_from_the_command_line(
    sealed: Sealed, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    public = tmp_path / "archive-public.pem"
    public.write_bytes(archive_keys.signing_key(sealed.keys_dir).public_pem())
    assert verify(sealed, capsys, "--trusted-key", str(public)) == (0, set())
    stranger = tmp_path / "stranger.pem"
    stranger.write_bytes(archive_keys.ArchiveKey(Ed25519PrivateKey.generate()).public_pem())
    assert verify(sealed, capsys, "--trusted-key", str(stranger)) == (
        1,
        {("untrusted_key", "manifest.json")},
    )
    # An unreadable key file is bad input: nothing was checked.
    assert verify(sealed, capsys, "--trusted-key", str(tmp_path / "none.pem"))[0] == 2


def test_a_rotated_key_still_verifies_what_it_sealed(
    sealed: Sealed, capsys: pytest.CaptureFixture[str]
) -> None:
    old = archive_keys.signing_key(sealed.keys_dir)
    new = archive_keys.rotate(sealed.keys_dir)
    assert archive_keys.signing_key(sealed.keys_dir).key_id == new.key_id != old.key_id
    assert verify(sealed, capsys) == (0, set())


def test_a_second_seal_is_refused(sealed: Sealed, capsys: pytest.CaptureFixture[str]) -> None:
    before = (sealed.path / "manifest.json").read_bytes()
    assert seal_cli(sealed.data_dir, sealed.files) == 1
    assert "error already_sealed" in capsys.readouterr().err
    assert (sealed.path / "manifest.json").read_bytes() == before


async def test_a_second_seal_raises_already_sealed_even_with_other_files(
    sealed: Sealed,
) -> None:
    hearing = HearingIdentity.from_protocol(json.loads(sealed.files.protocol_json.read_bytes()))
    other_mixed = sealed.files.mixed.with_name("other.mp4")
    other_mixed.write_bytes(b"another mix")
    with pytest.raises(SealError) as caught:
        await seal(
            sealed.files.capture,
            other_mixed,
            sealed.files.protocol_json,
            sealed.files.protocol_html,
            hearing,
            LocalStorage(sealed.data_dir / "archive"),
            archive_keys.signing_key(sealed.keys_dir),
        )
    assert caught.value.code == "already_sealed"
    assert (sealed.path / "mixed.mp4").read_bytes() == sealed.files.mixed.read_bytes()


def test_seal_and_remove_the_capture(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = build_capture(tmp_path / "hearing")
    assert seal_cli(tmp_path / "data", files, "--remove-capture") == 0
    assert "the archive verifies" in capsys.readouterr().out
    assert not files.capture.exists()


async def test_the_capture_is_kept_when_the_archive_does_not_verify(sealed: Sealed) -> None:
    before = {p.name: p.read_bytes() for p in sealed.files.capture.iterdir()}
    (sealed.path / "capture/000002.mkv").write_bytes(b"damaged in storage")
    storage = LocalStorage(sealed.data_dir / "archive")
    folder = sealed.path.relative_to(sealed.data_dir / "archive").as_posix()
    trusted = archive_keys.trusted_keys(sealed.keys_dir)
    with pytest.raises(SealError) as caught:
        await release_capture(sealed.files.capture, storage, folder, trusted)
    assert caught.value.code == "not_verified"
    assert {p.name: p.read_bytes() for p in sealed.files.capture.iterdir()} == before


async def test_the_capture_is_kept_when_it_is_not_what_was_archived(sealed: Sealed) -> None:
    # The archive verifies, but the local capture got a segment the archive lacks.
    shutil.copy(sealed.files.capture / "000001.mkv", sealed.files.capture / "000009.mkv")
    storage = LocalStorage(sealed.data_dir / "archive")
    folder = sealed.path.relative_to(sealed.data_dir / "archive").as_posix()
    trusted = archive_keys.trusted_keys(sealed.keys_dir)
    with pytest.raises(SealError) as caught:
        await release_capture(sealed.files.capture, storage, folder, trusted)
    assert caught.value.code == "capture_differs"
    assert (sealed.files.capture / "000001.mkv").exists()
    assert (sealed.files.capture / "segments.jsonl").exists()
    # And with the archive's trust, not the server's: an untrusted signer keeps it too.
    with pytest.raises(SealError) as caught:
        await release_capture(sealed.files.capture, storage, folder, {})
    assert caught.value.code == "not_verified"


async def test_a_broken_capture_is_not_sealed(tmp_path: Path) -> None:
    files = build_capture(tmp_path / "hearing")
    index = files.capture / "segments.jsonl"
    lines = index.read_bytes().splitlines(keepends=True)
    record = json.loads(lines[1])
    record["frames"] = 999  # changed after the fact: its chain no longer holds
    lines[1] = mf.canonical(record) + b"\n"
    index.write_bytes(b"".join(lines))
    hearing = HearingIdentity.from_protocol(json.loads(files.protocol_json.read_bytes()))
    storage = LocalStorage(tmp_path / "archive")
    key = archive_keys.signing_key(tmp_path / "keys")
    with pytest.raises(SealError) as caught:
        await seal(
            files.capture,
            files.mixed,
            files.protocol_json,
            files.protocol_html,
            hearing,
            storage,
            key,
        )
    assert caught.value.code == "capture_invalid"
    assert await storage.list("") == []


async def test_verify_reports_progress_on_stderr(
    sealed: Sealed, capsys: pytest.CaptureFixture[str]
) -> None:
    storage = LocalStorage(sealed.path)
    report = await verify_archive(
        storage, "", archive_keys.trusted_keys(sealed.keys_dir), progress=True
    )
    assert report.ok
    assert "hashing" in capsys.readouterr().err


def test_case_folder_of_the_docs_example() -> None:
    folder = case_folder(COURT, CASE_NUMBER)
    digest = hashlib.sha256(f"{COURT}\n{CASE_NUMBER}".encode()).hexdigest()[:10]
    assert folder == f"7199-26-00-1_345-{digest}"
    assert case_folder("Алматы", CASE_NUMBER) != folder


def test_atomic_writes_leave_no_temporary_files(sealed: Sealed) -> None:
    assert not list(sealed.path.rglob(".*"))
    assert os.stat(sealed.path / "manifest.json").st_size > 0
