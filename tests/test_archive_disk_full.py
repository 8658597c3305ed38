"""Disk full on local archive storage during a seal: a small tmpfs (needs root to mount).

The seal fails with ``storage_full``, nothing is left that looks sealed (no
manifest, nothing half-written), and the capture directory is untouched.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.archive_capture import build_capture

from recorder import archive_keys
from recorder.archive import HearingIdentity, SealError, seal
from recorder.storage import LocalStorage

pytestmark = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="mounting a tmpfs needs root"
)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 112 KiB tmpfs: room for the mixed file, not for the whole hearing."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=112k,mode=0700", "tmpfs", str(mount_point)],
        check=True,
    )
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)


class CountingStorage(LocalStorage):
    """Counts whole files written, to show the failure came part-way through."""

    written = 0

    async def put_file(self, key: str, path: Path) -> None:
        await super().put_file(key, path)
        self.written += 1


def snapshot(directory: Path) -> dict[str, tuple[str, int]]:
    return {
        p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(directory.iterdir())
    }


async def test_disk_full_during_a_seal(small_disk: Path, tmp_path: Path) -> None:
    files = build_capture(tmp_path / "hearing", recovered=True)
    # 96 KiB of mixed file fits; the capture after it does not.
    files.mixed.write_bytes(os.urandom(96 * 1024))
    before = snapshot(files.capture)
    hearing = HearingIdentity.from_protocol(json.loads(files.protocol_json.read_bytes()))
    storage = CountingStorage(small_disk / "archive")
    with pytest.raises(SealError) as caught:
        await seal(
            files.capture,
            files.mixed,
            files.protocol_json,
            files.protocol_html,
            hearing,
            storage,
            archive_keys.signing_key(tmp_path / "keys"),
        )
    assert caught.value.code == "storage_full"
    assert "no space" in str(caught.value)
    assert storage.written >= 3  # mixed file and protocol were in before the disk filled
    # Nothing that looks sealed, nothing half-written: the upload was taken back.
    left = [p for p in (small_disk / "archive").rglob("*") if p.is_file()]
    assert left == []
    assert snapshot(files.capture) == before

    # With room again, the same capture seals.
    bigger = LocalStorage(tmp_path / "archive")
    result = await seal(
        files.capture,
        files.mixed,
        files.protocol_json,
        files.protocol_html,
        hearing,
        bigger,
        archive_keys.signing_key(tmp_path / "keys"),
    )
    assert await bigger.exists(f"{result.folder}/manifest.json")
