"""TURN REST-API credentials (server/turn.py): the username's shape and the password coturn expects.

That coturn itself accepts them is shown in tests/browser/test_turn_relay.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from server.settings import Settings
from server.turn import (
    MAX_USERNAME_BYTES,
    ice_servers_for,
    issue_credential,
    parse_turn_username,
    turn_password,
    turn_username,
)

participant_ids = st.text(min_size=1, max_size=128)
expiries = st.integers(min_value=0, max_value=2**40)


@given(expiry=expiries, participant_id=participant_ids)
def test_any_participant_and_expiry_round_trip(expiry: int, participant_id: str) -> None:
    try:
        username = turn_username(expiry, participant_id)
    except ValueError:
        # Only ids that may %-encode past the STUN limit (3 characters a byte) are refused.
        assert len(str(expiry)) + 1 + 3 * len(participant_id.encode()) > MAX_USERNAME_BYTES
        return
    assert parse_turn_username(username) == (expiry, participant_id)
    # coturn reads the expiry from the digits before the first colon: exactly one colon,
    # ASCII only, so no client or server normalises the bytes differently.
    assert username.count(":") == 1
    assert username.isascii() and username.isprintable()
    assert username.split(":")[0] == str(expiry)
    assert len(username.encode()) <= MAX_USERNAME_BYTES


def test_colons_in_an_id_are_encoded_not_mistaken_for_the_separator() -> None:
    username = turn_username(1_700_000_000, "seat:7:lawyer")
    assert username == "1700000000:seat%3A7%3Alawyer"
    assert parse_turn_username(username) == (1_700_000_000, "seat:7:lawyer")
    assert turn_username(5, "lawyer-1.a_b~c") == "5:lawyer-1.a_b~c"  # plain ids stay readable


@pytest.mark.parametrize("bad", ["", "lawyer", ":lawyer", "12a:lawyer", "12:", "-5:x", "١٢:x"])
def test_not_a_rest_api_username(bad: str) -> None:
    with pytest.raises(ValueError, match="not a TURN REST-API username"):
        parse_turn_username(bad)


def test_refused_ids() -> None:
    with pytest.raises(ValueError, match="required"):
        turn_username(5, "")
    with pytest.raises(ValueError, match="too long"):
        turn_username(5, "ү" * 128)  # 128 characters, 768 bytes %-encoded


@given(secret=st.text(min_size=1, max_size=64), username=st.text(min_size=1, max_size=64))
def test_password_is_base64_hmac_sha1_of_the_username(secret: str, username: str) -> None:
    expected = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    assert base64.b64decode(turn_password(secret, username)) == expected


def test_a_known_vector() -> None:
    # Computed independently:
    # printf %s '1700000000:lawyer' | openssl sha1 -hmac s3cret -binary | base64
    assert turn_password("s3cret", "1700000000:lawyer") == "Qf65+zXKhWkTj8fP21MrjVvYWP8="


def test_the_credential_never_outlives_the_token() -> None:
    long = issue_credential("s", "p", now=1000.7, ttl_seconds=3600, not_after=99999)
    assert long.expires_at == 4600 and long.username == "4600:p"
    short = issue_credential("s", "p", now=1000, ttl_seconds=3600, not_after=1600)
    assert short.expires_at == 1600 and short.username.startswith("1600:")
    assert short.credential == turn_password("s", short.username)


def test_ice_servers_for_a_participant(tmp_path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        ice_servers=[{"urls": ["stun:stun.court.kz:3478"]}],
        turn_secret="s3cret",
        turn_urls="turn:turn.court.kz:3478?transport=udp, turns:turn.court.kz:443?transport=tcp",
        turn_ttl_seconds=600,
    )
    servers = ice_servers_for(settings, "lawyer", not_after=None, now=1_700_000_000)
    assert servers == [
        {"urls": ["stun:stun.court.kz:3478"]},
        {
            "urls": [
                "turn:turn.court.kz:3478?transport=udp",
                "turns:turn.court.kz:443?transport=tcp",
            ],
            "username": "1700000600:lawyer",
            "credential": turn_password("s3cret", "1700000600:lawyer"),
        },
    ]
    # Without a secret (the default) only the static servers are handed out.
    plain = Settings(data_dir=tmp_path, ice_servers=[{"urls": ["stun:stun.court.kz:3478"]}])
    assert ice_servers_for(plain, "lawyer", not_after=None) == [
        {"urls": ["stun:stun.court.kz:3478"]}
    ]


def test_settings_keep_the_secret_out_of_sight(tmp_path, monkeypatch) -> None:
    secret_file = tmp_path / "turn-secret"
    secret_file.write_text("from-a-file\n")
    monkeypatch.setenv("TYNDAU_TURN_SECRET_FILE", str(secret_file))
    monkeypatch.setenv("TYNDAU_TURN_URLS", "turns:turn.court.kz:443?transport=tcp")
    monkeypatch.setenv("TYNDAU_ICE_TRANSPORT_POLICY", "relay")
    settings = Settings.load(data_dir=tmp_path)
    assert settings.turn_secret is not None
    assert settings.turn_secret.get_secret_value() == "from-a-file"
    assert "from-a-file" not in repr(settings) and "from-a-file" not in str(settings.model_dump())
    assert settings.ice_transport_policy == "relay"


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"turn_urls": "stun:turn.court.kz:3478", "turn_secret": "s"}, "turn_urls"),
        ({"turn_urls": "turn:turn.court.kz:3478"}, "turn_secret"),
        ({"ice_transport_policy": "relay"}, "needs a TURN server"),
        ({"turn_secret_file": "/nonexistent/turn-secret"}, "turn_secret_file"),
    ],
)
def test_inconsistent_turn_settings_are_refused(tmp_path, values, field) -> None:
    with pytest.raises(ValidationError, match=field):
        Settings(data_dir=tmp_path, **values)
