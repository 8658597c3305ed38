"""Settings: safe defaults, a TOML file, the environment over the file."""

from __future__ import annotations

import os

import pytest
from pydantic import ValidationError

from server.settings import Settings


def test_defaults_are_safe(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("TYNDAU_"):
            monkeypatch.delenv(key)
    monkeypatch.delenv("REDIS_URL", raising=False)
    settings = Settings.load()
    assert settings.redis_url is None  # one node, state in-process
    assert settings.host == "127.0.0.1"  # not exposed to the network unless asked
    assert settings.demo is False
    assert settings.base_url == "http://127.0.0.1:8080"


def test_file_then_environment_then_overrides(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "tyndau.toml"
    config.write_text(
        'port = 9000\npublic_url = "https://sot.example.kz"\n'
        'ice_host_addresses = ["10.1.2.3"]\n'
        '[[ice_servers]]\nurls = ["stun:stun.example.kz:3478"]\n'
    )
    monkeypatch.setenv("TYNDAU_PORT", "9100")
    monkeypatch.setenv("TYNDAU_ICE_HOST_ADDRESSES", "127.0.0.1, ::1")
    settings = Settings.load(config, data_dir=tmp_path)
    assert settings.port == 9100  # the environment wins over the file
    assert settings.public_url == "https://sot.example.kz"
    assert settings.ice_host_addresses == ["127.0.0.1", "::1"]
    assert settings.ice_servers[0].urls == ["stun:stun.example.kz:3478"]
    assert settings.data_dir == tmp_path
    assert settings.base_url == "https://sot.example.kz"


def test_bad_values_are_refused_with_the_field_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TYNDAU_PORT", "99999")
    with pytest.raises(ValidationError, match="port"):
        Settings.load()


def test_redis_url_from_either_variable(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TYNDAU_REDIS_URL", raising=False)
    monkeypatch.setenv("REDIS_URL", "redis://plain:6379/0")  # the name the issue uses
    assert Settings.load().redis_url == "redis://plain:6379/0"
    monkeypatch.setenv("TYNDAU_REDIS_URL", "redis://tyndau:6379/1")
    assert Settings.load().redis_url == "redis://tyndau:6379/1"  # ours wins
    config = tmp_path / "tyndau.toml"
    config.write_text('redis_url = "redis://file:6379/2"\n')
    monkeypatch.delenv("TYNDAU_REDIS_URL")
    monkeypatch.delenv("REDIS_URL")
    assert Settings.load(config).redis_url == "redis://file:6379/2"
