"""The archive on S3-compatible object storage: a real S3 server (moto) on loopback.

Seal into a bucket, verify from it by its s3:// URL, range reads, multipart
uploads, exclusive writes, and tampering in the bucket caught.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from support.archive_capture import build_capture
from support.ports import free_port

from recorder import archive_keys
from recorder import storage as storage_module
from recorder.archive import HearingIdentity, SealError, release_capture, seal
from recorder.storage import AlreadyExists, NotFound, S3Storage
from server.cli import main

BUCKET = "court-archive"


async def tyndau(*args: str) -> int:
    """The command line, off the test's event loop (it runs its own)."""
    return await asyncio.to_thread(main, list(args))


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A moto S3 server on a free loopback port, with dummy credentials in the environment."""
    from moto.server import ThreadedMotoServer

    for name, value in {
        "AWS_ACCESS_KEY_ID": "tyndau-test",
        "AWS_SECRET_ACCESS_KEY": "tyndau-test-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
        monkeypatch.setenv("TYNDAU_ARCHIVE_S3_ENDPOINT", endpoint)
        yield endpoint
    finally:
        server.stop()


async def test_seal_into_s3_verify_from_it_and_release_the_capture(
    s3_endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = build_capture(tmp_path / "hearing", recovered=True, torn_line=True)
    hearing = HearingIdentity.from_protocol(json.loads(files.protocol_json.read_bytes()))
    keys = tmp_path / "data" / "keys"
    async with S3Storage(BUCKET, "tyndau", endpoint=s3_endpoint) as storage:
        result = await seal(
            files.capture,
            files.mixed,
            files.protocol_json,
            files.protocol_html,
            hearing,
            storage,
            archive_keys.signing_key(keys),
        )
        listed = await storage.list(result.folder)
        assert f"{result.folder}/manifest.json" in listed
        assert f"{result.folder}/capture/000005.mkv" in listed
        assert len(listed) == 10
        # Range reads, as the player's HTTP range requests make them.
        mixed = files.mixed.read_bytes()
        key = f"{result.folder}/mixed.mp4"
        assert await storage.size(key) == len(mixed)
        assert await storage.read(key, 1000, 333) == mixed[1000:1333]
        assert await storage.read(key, len(mixed) - 10) == mixed[-10:]
        assert await storage.read(key, 0, 0) == b""
        chunks = [c async for c in storage.stream(key, 100, 2500, chunk_size=1024)]
        assert b"".join(chunks) == mixed[100:2600]

        with pytest.raises(SealError) as caught:
            await seal(
                files.capture,
                files.mixed,
                files.protocol_json,
                files.protocol_html,
                hearing,
                storage,
                archive_keys.signing_key(keys),
            )
        assert caught.value.code == "already_sealed"

    url = f"s3://{BUCKET}/tyndau/{result.folder}"
    capsys.readouterr()
    assert await tyndau("--data-dir", str(tmp_path / "data"), "archive", "verify", url) == 0
    assert capsys.readouterr().out.startswith("ok:")

    async with S3Storage(BUCKET, "tyndau", endpoint=s3_endpoint) as storage:
        trusted = archive_keys.trusted_keys(keys)
        await release_capture(files.capture, storage, result.folder, trusted)
    assert not files.capture.exists()

    # Tampering in the bucket is caught the same way as on disk.
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    s3.put_object(Bucket=BUCKET, Key=f"tyndau/{result.folder}/mixed.mp4", Body=b"replaced")
    s3.delete_object(Bucket=BUCKET, Key=f"tyndau/{result.folder}/capture/000002.mkv")
    capsys.readouterr()
    assert await tyndau("--data-dir", str(tmp_path / "data"), "archive", "verify", url) == 1
    lines = sorted(capsys.readouterr().out.splitlines())
    assert [line.split(":")[0] for line in lines] == [
        "changed mixed.mp4",
        "missing capture/000002.mkv",
    ]
    missing = f"s3://{BUCKET}/tyndau/nothing-here"
    assert await tyndau("--data-dir", str(tmp_path / "data"), "archive", "verify", missing) == 2


def test_seal_from_the_command_line_into_s3(
    s3_endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = build_capture(tmp_path / "hearing")
    data = tmp_path / "data"
    status = main(
        [
            "--data-dir",
            str(data),
            "archive",
            "seal",
            str(files.capture),
            "--mixed",
            str(files.mixed),
            "--protocol-json",
            str(files.protocol_json),
            "--protocol-html",
            str(files.protocol_html),
            "--archive-url",
            f"s3://{BUCKET}/courts",
            "--remove-capture",
        ]
    )
    out = capsys.readouterr().out
    assert status == 0, out
    assert out.startswith(f"sealed s3://{BUCKET}/courts/")
    assert not files.capture.exists()
    folder = out.split()[1]
    assert main(["--data-dir", str(data), "archive", "verify", folder]) == 0


async def test_s3_objects_exclusive_writes_and_multipart(
    s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with S3Storage(BUCKET, "", endpoint=s3_endpoint) as storage:
        await storage.put_bytes("a/b/manifest.json", b"first", exclusive=True)
        with pytest.raises(AlreadyExists):
            await storage.put_bytes("a/b/manifest.json", b"second", exclusive=True)
        assert await storage.read("a/b/manifest.json") == b"first"
        with pytest.raises(NotFound):
            await storage.size("a/b/absent")
        with pytest.raises(NotFound):
            await storage.read("a/b/absent")

        # Large files go up in parts (S3's smallest part is 5 MiB).
        monkeypatch.setattr(storage_module, "PART", 5 * 1024 * 1024)
        big = tmp_path / "big.bin"
        pattern = bytes(range(251)) * 1024
        big.write_bytes(pattern * 45)  # about 11 MiB: three parts
        await storage.put_file("a/b/big.bin", big)
        assert await storage.size("a/b/big.bin") == big.stat().st_size
        middle = 5 * 1024 * 1024 - 7
        assert (
            await storage.read("a/b/big.bin", middle, 20) == big.read_bytes()[middle : middle + 20]
        )
        assert await storage.list("a") == ["a/b/big.bin", "a/b/manifest.json"]
        await storage.delete("a/b/big.bin")
        assert await storage.list("a/b") == ["a/b/manifest.json"]
