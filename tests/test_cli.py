"""The tyndau command, run as a person would run it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from server.auth.tokens import TokenError
from server.context import ServerContext
from server.settings import Settings


def tyndau(
    *args: str, data_dir, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``tyndau ARGS`` in a process, with ``env`` added to this one's environment."""
    return subprocess.run(
        [sys.executable, "-m", "server.cli", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **(env or {})},
    )


def test_directory_and_units_from_the_command_line(tmp_path) -> None:
    added = tyndau(
        "users",
        "add",
        "--iin",
        "800101300111",
        "--name",
        "Серікова Әлия",
        "--role",
        "judge",
        data_dir=tmp_path,
    )
    assert added.returncode == 0, added.stderr
    assert "Серікова Әлия (800101300111): judge" in added.stdout
    bad = tyndau("users", "add", "--iin", "12", "--name", "X", data_dir=tmp_path)
    assert bad.returncode != 0
    assert "12 digits" in bad.stderr
    unit = tyndau("facility", "add-unit", "--facility", "СИЗО-1", "--unit", "3", data_dir=tmp_path)
    assert unit.returncode == 0, unit.stderr
    assert "credential" in unit.stdout


def test_token_command_mints_a_verifiable_token(tmp_path) -> None:
    minted = tyndau(
        "token",
        "--hearing",
        "demo",
        "--participant",
        "p1",
        "--name",
        "Айгүл",
        "--role",
        "lawyer",
        data_dir=tmp_path,
    )
    assert minted.returncode == 0, minted.stderr
    assert minted.stdout.count(".") == 2


def test_key_rotation_keeps_old_tokens_valid_until_the_old_key_retires(tmp_path) -> None:
    def context() -> ServerContext:
        return ServerContext.build(Settings(data_dir=tmp_path))

    old = tyndau(
        "token",
        "--hearing",
        "h",
        "--participant",
        "p",
        "--name",
        "N",
        "--role",
        "lawyer",
        data_dir=tmp_path,
    ).stdout.strip()
    old_kid = context().keys.current.kid
    rotated = tyndau("keys", "rotate", data_dir=tmp_path)
    assert rotated.returncode == 0, rotated.stderr
    restarted = context()
    assert restarted.keys.current.kid != old_kid
    assert restarted.verifier.verify(old).sub == "p"  # nobody is logged out by a rotation
    retired = tyndau("keys", "retire", old_kid, data_dir=tmp_path)
    assert retired.returncode == 0, retired.stderr
    with pytest.raises(TokenError):
        context().verifier.verify(old)
    refused = tyndau("keys", "retire", context().keys.current.kid, data_dir=tmp_path)
    assert refused.returncode == 2
    assert "currently signs" in refused.stderr
