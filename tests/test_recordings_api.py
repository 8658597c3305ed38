"""Serving sealed recordings — on SQLite and PostgreSQL.

Who may list and play a case's recordings (participants of the case, its
court, judges of a higher instance, the court's archivist; nobody else), HTTP
range requests from the archive storage, playback links bound to one file
that expire, and the audit log: every access and refusal in it, hash-chained,
edits and removals detected, concurrent appends still one chain.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import time
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text
from support.recordings import protocol_for, seal_test_recording
from support.running import TEST_COURT, RunningServer

from server.audit import AuditAction, AuditLog
from server.auth.tokens import SessionClaims
from server.cli import main as tyndau_main
from server.db.database import Database
from server.hearings import Hearing, Seat
from server.roles import ProceduralRole

pytestmark = pytest.mark.integration

SUPREME = "Жоғарғы Сот"
REGIONAL = "Астана қалалық соты"
OTHER_REGIONAL = "Алматы қалалық соты"
OTHER_COURT = "Алматы аудандық соты"
CASE_A, CASE_B = "7599-26-00-1/0101", "7599-26-00-1/0202"
# 40 distinct 256-byte blocks: any range's bytes are easy to check.
MIXED = bytes(range(256)) * 40


class Archive:
    """The running server with a court hierarchy, two cases, one sealed recording, and people."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.ctx = server.ctx
        self.url = server.url
        self.sessions: dict[str, str] = {}
        self.ids: dict[str, str] = {}

    async def person(self, key: str, iin: str, roles: list[str], court: str | None = None) -> None:
        name = f"Тест {key}"
        if roles:
            entry = await self.ctx.directory.upsert(
                iin=iin, full_name=name, roles=roles, court=court
            )
            user_id = entry.id
        else:
            user_id = f"iin-{iin}"  # what a session of someone the directory does not list has
        self.ids[key] = user_id
        self.sessions[key], _ = self.ctx.issuer.issue_session(
            user_id=user_id, iin=iin, name=name, roles=roles
        )

    async def call(
        self,
        who: str | None,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        sent = dict(headers or {})
        if who is not None:
            sent["Authorization"] = f"Bearer {self.sessions[who]}"
        async with (
            aiohttp.ClientSession() as session,
            session.request(method, f"{self.url}{path}", json=json, headers=sent) as response,
        ):
            body = await response.read()
            is_json = response.content_type == "application/json"
            return (
                response.status,
                jsonlib.loads(body) if is_json and body else body,
                dict(response.headers),
            )


@pytest.fixture
async def archive(tyndau_db: RunningServer) -> Archive:
    a = Archive(tyndau_db)
    ctx = a.ctx
    await ctx.courts.add(SUPREME)
    await ctx.courts.add(REGIONAL, SUPREME)
    await ctx.courts.add(TEST_COURT, REGIONAL)
    await ctx.courts.add(OTHER_REGIONAL, SUPREME)
    await ctx.courts.add(OTHER_COURT, OTHER_REGIONAL)
    await a.person("presiding", "800101300111", ["judge"], TEST_COURT)
    await a.person("same_court_judge", "800101300222", ["judge"], TEST_COURT)
    await a.person("regional_judge", "700101300333", ["judge"], REGIONAL)
    await a.person("supreme_judge", "600101300444", ["judge"], SUPREME)
    await a.person("other_court_judge", "800101300555", ["judge"], OTHER_COURT)
    await a.person("other_regional_judge", "700101300666", ["judge"], OTHER_REGIONAL)
    await a.person("archivist", "850505400777", ["archivist"], TEST_COURT)
    await a.person("other_archivist", "850505400888", ["archivist"], OTHER_COURT)
    await a.person("secretary", "850505400999", ["secretary"], TEST_COURT)
    await a.person("party", "900101400123", [])
    await a.person("other_party", "900101400456", [])
    await a.person("prosecutor", "770707300555", ["prosecutor"], TEST_COURT)

    hearing_a = await ctx.hearings.schedule(
        case_number=CASE_A, title="Іс A", court=TEST_COURT, judge_id=a.ids["presiding"]
    )
    later_a = await ctx.hearings.schedule(
        case_number=CASE_A, title="Іс A, екінші отырыс", court=TEST_COURT,
        judge_id=a.ids["presiding"],
    )  # fmt: skip
    hearing_b = await ctx.hearings.schedule(
        case_number=CASE_B, title="Іс B", court=TEST_COURT, judge_id=a.ids["same_court_judge"]
    )
    # The party sat only in the case's second hearing: still a participant of the case.
    await seat(ctx, later_a, "party", "900101400123", ProceduralRole.DEFENDANT)
    await seat(ctx, hearing_a, "prosecutor", "770707300555", ProceduralRole.PROSECUTOR)
    await seat(ctx, hearing_b, "other_party", "900101400456", ProceduralRole.DEFENDANT)
    a.hearing = hearing_a  # type: ignore[attr-defined]
    a.recording = await seal_test_recording(  # type: ignore[attr-defined]
        ctx,
        hearing_a,
        mixed=MIXED,
        protocol=protocol_for(hearing_a, [("session_started", 0.0), ("admitted", 2.5)]),
        duration=4.0,
    )
    return a


async def seat(ctx: Any, hearing: Hearing, key: str, iin: str, role: ProceduralRole) -> None:
    await ctx.hearings.add_seat(
        Seat(id=f"seat-{key}", hearing_id=hearing.id, role=role, name=key, iin=iin)
    )


def case_id(a: Archive) -> str:
    return a.recording.case_id  # type: ignore[attr-defined]


def hearing_id(a: Archive) -> str:
    return a.hearing.id  # type: ignore[attr-defined]


async def audit_entries(a: Archive) -> list[Any]:
    return await a.ctx.audit.entries()


# ---------------------------------------------------------------- who may see


ALLOWED = {
    "party": "participant",
    "prosecutor": "participant",
    "presiding": "court",
    "secretary": "court",
    "regional_judge": "higher_instance",
    "supreme_judge": "higher_instance",
    "archivist": "archivist",
}
REFUSED = [
    "other_party",  # a participant of another case
    "same_court_judge",  # a judge of the same court, not of this case
    "other_court_judge",  # the same level, another court
    "other_regional_judge",  # a higher court, but not above this one
    "other_archivist",  # the archivist of another court
]


async def test_the_authorization_matrix(archive: Archive) -> None:
    path = f"/api/cases/{case_id(archive)}/recordings"
    for who, reason in ALLOWED.items():
        status, body, headers = await archive.call(who, "GET", path)
        assert status == 200, (who, body)
        assert body["access"] == reason, who
        assert body["case"]["case_number"] == CASE_A
        assert [r["hearing_id"] for r in body["recordings"]] == [hearing_id(archive)]
        assert headers["Cache-Control"] == "no-store"
        names = {f["name"] for f in body["recordings"][0]["files"]}
        # Only the archivist sees (and may open) the raw capture.
        assert ("capture/000001.mkv" in names) == (who == "archivist"), who
        assert {"mixed.mp4", "protocol.json", "protocol.html", "manifest.json"} <= names
    for who in REFUSED:
        status, body, _ = await archive.call(who, "GET", path)
        assert status == 403, (who, body)
        assert body["error"]["code"] == "forbidden"
        status, body, _ = await archive.call(who, "GET", f"/api/recordings/{hearing_id(archive)}")
        assert status == 403, who
    status, body, _ = await archive.call(None, "GET", path)
    assert status == 401
    assert body["error"]["code"] == "auth_required"

    # Every listing and every refusal of a signed-in person is in the audit log.
    entries = await audit_entries(archive)
    listed = [(e.user_id, e.reason) for e in entries if e.action == "list"]
    assert listed == [(archive.ids[w], r) for w, r in ALLOWED.items()]
    refused = [e for e in entries if e.action == "refused"]
    assert [e.user_id for e in refused] == [archive.ids[w] for w in REFUSED for _ in (0, 1)]
    assert all(e.case_id == case_id(archive) and e.reason == "forbidden" for e in refused)
    assert all(e.remote == "127.0.0.1" for e in entries)
    assert (await archive.ctx.audit.verify()).ok


async def test_a_demoted_archivist_loses_access_at_once(archive: Archive) -> None:
    """The session still says archivist; the directory no longer does."""
    await archive.ctx.directory.upsert(
        iin="850505400777", full_name="Тест archivist", roles=[], court=TEST_COURT
    )
    status, _, _ = await archive.call(
        "archivist", "GET", f"/api/cases/{case_id(archive)}/recordings"
    )
    assert status == 403


async def test_finding_a_case_by_number_within_a_court(archive: Archive) -> None:
    query = f"/api/cases?court={TEST_COURT}&number={CASE_A}"
    status, body, _ = await archive.call("regional_judge", "GET", query)
    assert status == 200, body
    assert body["case"]["id"] == case_id(archive)
    # Who oversees the court learns that a number does not exist; others cannot tell.
    missing = f"/api/cases?court={TEST_COURT}&number=7599-26-00-1/9999"
    status, body, _ = await archive.call("archivist", "GET", missing)
    assert (status, body["error"]["code"]) == (404, "case_not_found")
    status, body, _ = await archive.call("other_party", "GET", missing)
    assert (status, body["error"]["code"]) == (403, "forbidden")
    status, body, _ = await archive.call("other_party", "GET", query)
    assert (status, body["error"]["code"]) == (403, "forbidden")
    status, body, _ = await archive.call("party", "GET", "/api/cases?court=x&number=../../etc")
    assert status == 400


async def test_details_carry_the_archived_protocol(archive: Archive) -> None:
    status, body, _ = await archive.call("party", "GET", f"/api/recordings/{hearing_id(archive)}")
    assert status == 200, body
    assert body["recording"]["duration_seconds"] == 4.0
    assert [e["recording_offset"] for e in body["protocol"]["events"]] == [0.0, 2.5]
    sizes = {f["name"]: f["size"] for f in body["recording"]["files"]}
    assert sizes["mixed.mp4"] == len(MIXED)
    entries = await audit_entries(archive)
    assert [(e.action, e.hearing_id) for e in entries] == [("view", hearing_id(archive))]


# ---------------------------------------------------------------- ranges


async def test_range_requests(archive: Archive) -> None:
    path = f"/api/recordings/{hearing_id(archive)}/files/mixed.mp4"
    size = len(MIXED)

    status, body, headers = await archive.call("party", "GET", path)
    assert status == 200
    assert body == MIXED
    assert headers["Content-Type"] == "video/mp4"
    assert headers["Accept-Ranges"] == "bytes"
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert "sandbox" in headers["Content-Security-Policy"]

    for asked, start, end in (
        ("bytes=0-99", 0, 99),  # the first bytes
        ("bytes=1000-2999", 1000, 2999),  # the middle
        ("bytes=-500", size - 500, size - 1),  # a suffix
        ("bytes=10000-", 10000, size - 1),  # to the end
        ("bytes=10000-999999", 10000, size - 1),  # past the end: clipped
    ):
        status, body, headers = await archive.call("party", "GET", path, headers={"Range": asked})
        assert status == 206, asked
        assert body == MIXED[start : end + 1], asked
        assert headers["Content-Range"] == f"bytes {start}-{end}/{size}", asked
        assert headers["Content-Length"] == str(end - start + 1)
        assert headers["Content-Type"] == "video/mp4"

    for bad in ("bytes=20000-", "bytes=500-100", "bytes=abc", "items=0-1", "bytes=-0", "bytes=-"):
        status, body, headers = await archive.call("party", "GET", path, headers={"Range": bad})
        assert status == 416, bad
        assert headers["Content-Range"] == f"bytes */{size}", bad

    # Another version in If-Range: the whole file, not a piece of the wrong one.
    status, body, _ = await archive.call(
        "party", "GET", path, headers={"Range": "bytes=0-9", "If-Range": '"other"'}
    )
    assert (status, len(body)) == (200, size)

    status, body, headers = await archive.call("party", "GET", path + "?download=1")
    assert status == 200
    assert headers["Content-Disposition"] == 'attachment; filename="mixed.mp4"'
    kinds = [e.action for e in await audit_entries(archive)]
    assert kinds.count("play") == 1 + 5 + 6 + 1  # every request, refused ranges included
    assert kinds[-1] == "download"


async def test_files_the_viewer_may_not_open(archive: Archive) -> None:
    base = f"/api/recordings/{hearing_id(archive)}/files"
    status, body, _ = await archive.call("party", "GET", f"{base}/capture/000001.mkv")
    assert status == 403
    status, body, headers = await archive.call("archivist", "GET", f"{base}/capture/000001.mkv")
    assert status == 200
    assert headers["Content-Type"] == "video/x-matroska"
    status, body, headers = await archive.call("party", "GET", f"{base}/protocol.html")
    assert status == 200
    assert "Хаттама" in body.decode()
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert "sandbox" in headers["Content-Security-Policy"]
    status, _, headers = await archive.call("party", "GET", f"{base}/protocol.json")
    assert (status, headers["Content-Type"]) == (200, "application/json")
    for name in ("../../../etc/passwd", "..%2F..%2Fmanifest.json", "nothing.mp4"):
        status, _, _ = await archive.call("archivist", "GET", f"{base}/{name}")
        assert status == 404, name
    refused = [e for e in await audit_entries(archive) if e.action == "refused"]
    assert [(e.user_id, e.file) for e in refused] == [(archive.ids["party"], "capture/000001.mkv")]


# ---------------------------------------------------------------- playback links


async def playback_link(a: Archive, who: str, file: str) -> tuple[int, Any]:
    status, body, _ = await a.call(
        who, "POST", f"/api/recordings/{hearing_id(a)}/playback", json={"file": file}
    )
    return status, body


async def test_a_playback_link_plays_its_file_only(archive: Archive) -> None:
    status, link = await playback_link(archive, "party", "mixed.mp4")
    assert status == 200, link
    assert link["url"].startswith(f"/api/recordings/{hearing_id(archive)}/files/mixed.mp4?")
    status, body, _ = await archive.call(None, "GET", link["url"], headers={"Range": "bytes=0-9"})
    assert (status, body) == (206, MIXED[:10])

    # The same token for another file of the recording: refused, and audited as the party.
    other = link["url"].replace("/mixed.mp4?", "/protocol.json?")
    status, body, _ = await archive.call(None, "GET", other)
    assert (status, body["error"]["code"]) == (403, "forbidden")
    last = (await audit_entries(archive))[-1]
    assert (last.action, last.user_id, last.file) == (
        "refused",
        archive.ids["party"],
        "protocol.json",
    )
    # ... or of another hearing: no such recording there.
    status, _, _ = await archive.call(None, "GET", link["url"].replace(hearing_id(archive), "x"))
    assert status == 404

    # A session token is not a playback token, and a tampered one is not either.
    session_link = link["url"].split("?")[0] + f"?playback={archive.sessions['party']}"
    status, body, _ = await archive.call(None, "GET", session_link)
    assert (status, body["error"]["code"]) == (401, "token_wrong_audience")
    status, body, _ = await archive.call(None, "GET", link["url"][:-4] + "AAAA")
    assert status == 401

    # Nobody gets a link for what they may not open.
    status, body = await playback_link(archive, "party", "capture/000001.mkv")
    assert status == 403
    status, body = await playback_link(archive, "other_party", "mixed.mp4")
    assert status == 403


async def test_a_playback_link_expires_and_dies_with_its_session(archive: Archive) -> None:
    claims = archive.ctx.verifier.verify_session(archive.sessions["party"])
    token, _ = archive.ctx.playback.issue(
        claims,
        hearing=hearing_id(archive),
        file="mixed.mp4",
        reason="participant",
        now=int(time.time()) - 11 * 60,
    )
    url = f"/api/recordings/{hearing_id(archive)}/files/mixed.mp4?playback={token}"
    status, body, _ = await archive.call(None, "GET", url)
    assert (status, body["error"]["code"]) == (401, "token_expired")

    status, link = await playback_link(archive, "party", "mixed.mp4")
    assert status == 200
    assert link["expires_at"] <= _iso_in(10 * 60 + 5)
    await archive.call("party", "POST", "/api/auth/logout")
    status, body, _ = await archive.call(None, "GET", link["url"])
    assert (status, body["error"]["code"]) == (401, "token_revoked")


def _iso_in(seconds: int) -> str:
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def test_a_playback_token_is_never_longer_than_its_session(settings) -> None:
    from server.context import ServerContext

    ctx = ServerContext.build(settings)
    now = int(time.time())
    claims = SessionClaims(
        sub="u", iin="900101400123", name="x", auth_time=now, jti="j", iat=now, nbf=now,
        exp=now + 60,
    )  # fmt: skip
    _, expires = ctx.playback.issue(claims, hearing="h", file="mixed.mp4", reason="participant")
    assert expires == now + 60


# ---------------------------------------------------------------- the audit log


async def test_editing_or_removing_an_entry_is_detected(archive: Archive) -> None:
    path = f"/api/cases/{case_id(archive)}/recordings"
    for who in ("party", "other_party", "archivist", "regional_judge", "party"):
        await archive.call(who, "GET", path)
    audit: AuditLog = archive.ctx.audit
    report = await audit.verify()
    assert report.ok
    assert report.entries == report.head_seq == 5

    async def sql(statement: str) -> None:
        async with archive.ctx.db.engine.begin() as connection:
            await connection.execute(text(statement))

    # Someone hides who looked: the entry no longer matches its hash.
    await sql("UPDATE recording_audit SET iin = '111111111111' WHERE seq = 3")
    report = await audit.verify()
    assert (report.problem.seq, report.problem.problem) == (3, "changed")  # type: ignore[union-attr]

    # ... and recomputes that entry's hash too: the next link breaks.
    row = (await audit.entries())[2]
    from server.audit import entry_hash

    forged = entry_hash(row.prev_hash, row.body())
    async with archive.ctx.db.engine.begin() as connection:
        await connection.execute(
            text("UPDATE recording_audit SET hash = :forged WHERE seq = 3"), {"forged": forged}
        )
    report = await audit.verify()
    assert (report.problem.seq, report.problem.problem) == (4, "broken_link")  # type: ignore[union-attr]

    # Removing an entry leaves a gap.
    await sql("DELETE FROM recording_audit WHERE seq = 3")
    report = await audit.verify()
    assert (report.problem.seq, report.problem.problem) == (3, "gap")  # type: ignore[union-attr]


async def test_removing_the_newest_entries_is_detected_against_a_kept_head(
    archive: Archive,
) -> None:
    for _ in range(3):
        await archive.call("party", "GET", f"/api/cases/{case_id(archive)}/recordings")
    report = await archive.ctx.audit.verify()
    head = (report.head_seq, report.head_hash)
    assert (await archive.ctx.audit.verify(expected_head=head)).ok
    async with archive.ctx.db.engine.begin() as connection:
        await connection.execute(text("DELETE FROM recording_audit WHERE seq = 3"))
    # The shorter chain holds in itself; the kept head is what shows the loss.
    assert (await archive.ctx.audit.verify()).ok
    report = await archive.ctx.audit.verify(expected_head=head)
    assert (report.problem.seq, report.problem.problem) == (3, "head_missing")  # type: ignore[union-attr]


async def test_concurrent_accesses_make_one_chain(archive: Archive) -> None:
    path = f"/api/cases/{case_id(archive)}/recordings"
    who = ["party", "archivist", "regional_judge", "other_party"] * 5
    results = await asyncio.gather(*(archive.call(w, "GET", path) for w in who))
    assert sorted(r[0] for r in results) == [200] * 15 + [403] * 5
    # A second node (its own engine and lock) appending at the same time as this one.
    url = archive.ctx.db.url
    other_db = Database(url)
    other = AuditLog(other_db)
    try:
        if other_db.engine.dialect.name == "postgresql":
            await asyncio.gather(
                *(other.append(AuditAction.VIEW, user_id=f"n2-{i}") for i in range(10)),
                *(archive.ctx.audit.append(AuditAction.VIEW, user_id=f"n1-{i}") for i in range(10)),
            )
    finally:
        await other_db.close()
    report = await archive.ctx.audit.verify()
    assert report.ok, report.problem
    expected = 20 + (20 if url.startswith("postgresql") else 0)
    assert report.entries == report.head_seq == expected


# ---------------------------------------------------------------- catalogue and CLI


async def test_a_sealed_archive_is_registered_once(archive: Archive) -> None:
    from server.errors import CodedError

    recording = archive.recording  # type: ignore[attr-defined]
    manifest_bytes = await archive.ctx.archive.read(f"{recording.folder}/manifest.json")
    manifest = jsonlib.loads(manifest_bytes)
    again = await archive.ctx.recordings.register(
        hearing_id=recording.hearing_id,
        folder=recording.folder,
        manifest_bytes=manifest_bytes,
        manifest=manifest,
    )
    assert again.manifest_sha256 == recording.manifest_sha256
    with pytest.raises(CodedError) as refused:
        await archive.ctx.recordings.register(
            hearing_id=recording.hearing_id,
            folder=recording.folder,
            manifest_bytes=manifest_bytes + b" ",
            manifest=manifest,
        )
    assert refused.value.code == "recording_exists"
    wrong_case = {**manifest, "hearing": {**manifest["hearing"], "case_number": CASE_B}}
    with pytest.raises(CodedError) as refused:
        await archive.ctx.recordings.register(
            hearing_id=recording.hearing_id,
            folder=recording.folder,
            manifest_bytes=manifest_bytes,
            manifest=wrong_case,
        )
    assert refused.value.code == "manifest_invalid"


def test_courts_and_audit_from_the_command_line(tmp_path, capsys) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    assert tyndau_main([*data, "courts", "add", "--name", SUPREME]) == 0
    assert tyndau_main([*data, "courts", "add", "--name", REGIONAL, "--higher", SUPREME]) == 0
    assert tyndau_main([*data, "courts", "add", "--name", "X", "--higher", "Жоқ сот"]) == 2
    # Nothing can be put above itself, however far round.
    assert tyndau_main([*data, "courts", "add", "--name", SUPREME, "--higher", REGIONAL]) == 2
    capsys.readouterr()
    assert tyndau_main([*data, "courts", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert sorted(listed) == sorted([f"{SUPREME}\t-", f"{REGIONAL}\t{SUPREME}"])
    assert tyndau_main([*data, "audit", "verify"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ok: 0 entries; head 0:")
    head = out.split("head ", 1)[1].strip()
    assert tyndau_main([*data, "audit", "verify", "--head", head]) == 0
    assert tyndau_main([*data, "audit", "verify", "--head", "5:" + "0" * 64]) == 1


async def test_an_archive_sealed_by_the_recorder_is_registered_and_served(
    tyndau_db: RunningServer, tmp_path
) -> None:
    """The sealing step's call: seal (recorder/archive.py), verify, register, serve."""
    from support.archive_capture import CASE_NUMBER, COURT, HEARING_ID, build_capture

    from recorder import archive_keys
    from recorder.archive import HearingIdentity, seal
    from recorder.verify import verify_archive

    ctx = tyndau_db.ctx
    await ctx.hearings.schedule(
        hearing_id=HEARING_ID, case_number=CASE_NUMBER, title="Санкция", court=COURT
    )
    files = build_capture(tmp_path / "hearing")
    keys_dir = ctx.settings.data_dir / "keys"
    identity = HearingIdentity(id=HEARING_ID, case_number=CASE_NUMBER, court=COURT)
    sealed = await seal(
        files.capture,
        files.mixed,
        files.protocol_json,
        files.protocol_html,
        identity,
        ctx.archive,
        archive_keys.signing_key(keys_dir),
    )
    report = await verify_archive(ctx.archive, sealed.folder, archive_keys.trusted_keys(keys_dir))
    assert report.ok
    recording = await ctx.recordings.register_archived(ctx.archive, sealed.folder)
    assert set(recording.files) == set(sealed.manifest["files"]) | {"manifest.json"}

    await ctx.directory.upsert(
        iin="850505400777", full_name="Мұрағатшы", roles=["archivist"], court=COURT
    )
    entry = await ctx.directory.find_by_iin("850505400777")
    assert entry is not None
    token, _ = ctx.issuer.issue_session(
        user_id=entry.id, iin=entry.iin, name=entry.full_name, roles=["archivist"]
    )
    headers = {"Authorization": f"Bearer {token}", "Range": "bytes=0-7"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{tyndau_db.url}/api/recordings/{HEARING_ID}/files/mixed.mp4", headers=headers
        ) as response,
    ):
        assert response.status == 206
        assert await response.read() == files.mixed.read_bytes()[:8]
