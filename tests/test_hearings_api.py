"""Scheduling hearings, seats, joining by EDS, and the protocol export — on SQLite and PostgreSQL.

A secretary schedules a sanction session for a judge of the court, seats a
prosecutor (by IIN), a detainee and the detainee's lawyer (an invitation
link); the judge finds it in today's list and takes a hearing token; after a
restart of the server the hearing, its seats and its state are all there.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.eds_login import api
from support.recordings import seal_test_recording
from support.running import TEST_COURT, RunningServer
from support.waiting import wait_until

from server.context import ServerContext
from server.procedure.states import HearingState, StateAct
from server.roles import ProceduralRole, grants_for
from signaling.client import HearingClient

pytestmark = pytest.mark.integration

JUDGE_IIN, SECRETARY_IIN, PROSECUTOR_IIN = "800101300111", "850505400123", "770707300555"
OTHER_COURT = "Алматы қаласының соты"


class Court:
    """The running server and sessions of the people who work with it."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.url = server.url
        self.sessions: dict[str, str] = {}
        self.ids: dict[str, str] = {}

    async def person(self, key: str, iin: str, name: str, roles: list[str], court: str) -> None:
        entry = await self.server.ctx.directory.upsert(
            iin=iin, full_name=name, roles=roles, court=court
        )
        self.ids[key] = entry.id
        self.sessions[key], _ = self.server.ctx.issuer.issue_session(
            user_id=entry.id, iin=iin, name=name, roles=roles
        )

    async def call(
        self, who: str | None, method: str, path: str, body: Any = None
    ) -> tuple[int, dict[str, Any]]:
        token = self.sessions[who] if who else None
        return await api(self.url, method, path, json=body, token=token)


@pytest.fixture
async def court(tyndau_db: RunningServer) -> Court:
    c = Court(tyndau_db)
    await c.person("judge", JUDGE_IIN, "Серікова Әлия", ["judge"], TEST_COURT)
    await c.person("secretary", SECRETARY_IIN, "Омарова Гүлнар", ["secretary"], TEST_COURT)
    await c.person("prosecutor", PROSECUTOR_IIN, "Асқаров Ерлан", ["prosecutor"], TEST_COURT)
    await c.person("other_judge", "800101300222", "Басқа судья", ["judge"], TEST_COURT)
    await c.person("far_secretary", "850505400999", "Алыс хатшы", ["secretary"], OTHER_COURT)
    return c


def sanction_session(court: Court, **overrides: Any) -> dict[str, Any]:
    in_an_hour = datetime.now(UTC) + timedelta(hours=1)
    return {
        "case_number": "7599-26-00-1/0042",
        "title": "Күзетпен ұстау санкциясы",
        "kind": "sanction_session",
        "scheduled_at": in_an_hour.isoformat(),
        "judge_id": court.ids["judge"],
        "language": "kk",
        **overrides,
    }


async def schedule_with_seats(court: Court) -> tuple[dict[str, Any], dict[str, Any]]:
    """A scheduled sanction session with a prosecutor, a detainee and the detainee's lawyer."""
    status, hearing = await court.call(
        "secretary", "POST", "/api/hearings", sanction_session(court)
    )
    assert status == 201, hearing
    base = f"/api/hearings/{hearing['id']}/participants"
    seats: dict[str, Any] = {}
    for key, body in (
        ("prosecutor", {"role": "prosecutor", "name": "Асқаров Ерлан", "iin": PROSECUTOR_IIN}),
        ("detainee", {"role": "detainee", "name": "Қайратұлы Болат"}),
    ):
        status, seats[key] = await court.call("secretary", "POST", base, body)
        assert status == 201, seats[key]
    detainee_id = seats["detainee"]["participant"]["id"]
    status, seats["lawyer"] = await court.call(
        "secretary",
        "POST",
        base,
        {"role": "lawyer", "name": "Нұрланқызы Мадина", "represents": detainee_id},
    )
    assert status == 201, seats["lawyer"]
    return hearing, seats


async def test_a_secretary_schedules_and_the_judge_finds_it_in_todays_list(court: Court) -> None:
    hearing, seats = await schedule_with_seats(court)
    assert hearing["state"] == "scheduled"
    assert hearing["court"] == TEST_COURT
    assert hearing["is_open"] is False  # a sanction session is never public
    assert hearing["judge_id"] == court.ids["judge"]
    assert hearing["case_number"] == "7599-26-00-1/0042"
    assert "/" not in hearing["id"]
    assert hearing["case_id"] == court.server.ctx.hearings.get(hearing["id"]).case_id
    assert hearing["recording"] is False

    day = hearing["scheduled_at"][:10]
    status, listing = await court.call("judge", "GET", f"/api/hearings?date={day}")
    assert status == 200
    assert [h["id"] for h in listing["hearings"]] == [hearing["id"]]
    # Another judge of the same court does not preside: not in their list.
    status, listing = await court.call("other_judge", "GET", f"/api/hearings?date={day}")
    assert listing["hearings"] == []
    # The court's secretary sees the court's day; a secretary elsewhere sees none of it.
    status, listing = await court.call("secretary", "GET", f"/api/hearings?date={day}")
    assert [h["id"] for h in listing["hearings"]] == [hearing["id"]]
    status, listing = await court.call("far_secretary", "GET", f"/api/hearings?date={day}")
    assert listing["hearings"] == []

    status, shown = await court.call("judge", "GET", f"/api/hearings/{hearing['id']}")
    assert status == 200
    roles = {p["role"]: p for p in shown["participants"]}
    assert set(roles) == {"prosecutor", "detainee", "lawyer"}
    assert roles["lawyer"]["represents"] == roles["detainee"]["id"]
    assert roles["prosecutor"]["iin_bound"] is True
    assert seats["lawyer"]["invitation"]["link"].split("#invite=")[1]
    assert "invitation" not in seats["prosecutor"]  # comes in by EDS login


async def test_the_list_gives_each_hearings_case_and_whether_it_has_a_recording(
    court: Court,
) -> None:
    ctx = court.server.ctx
    recorded, _ = await schedule_with_seats(court)
    # Another hearing of the same case, and one of another case, the same day.
    status, same_case = await court.call(
        "secretary", "POST", "/api/hearings", sanction_session(court, title="Екінші")
    )
    assert status == 201, same_case
    status, other_case = await court.call(
        "secretary",
        "POST",
        "/api/hearings",
        sanction_session(court, case_number="7599-26-00-1/0043"),
    )
    assert status == 201, other_case
    case = await ctx.recordings.find_case(TEST_COURT, "7599-26-00-1/0042")
    assert case is not None
    assert recorded["case_id"] == same_case["case_id"] == case.id
    assert other_case["case_id"] not in (None, case.id)

    await ctx.hearings.change_state(recorded["id"], StateAct.CLOSE)
    await seal_test_recording(ctx, ctx.hearings.get(recorded["id"]), mixed=b"mp4")
    day = recorded["scheduled_at"][:10]
    for who in ("judge", "secretary"):
        status, listing = await court.call(who, "GET", f"/api/hearings?date={day}")
        assert status == 200
        found = {h["id"]: h for h in listing["hearings"]}
        assert {i: (h["case_id"], h["recording"]) for i, h in found.items()} == {
            recorded["id"]: (case.id, True),
            same_case["id"]: (case.id, False),
            other_case["id"]: (other_case["case_id"], False),
        }
    status, shown = await court.call("judge", "GET", f"/api/hearings/{recorded['id']}")
    assert (status, shown["case_id"], shown["recording"]) == (200, case.id, True)
    status, shown = await court.call("judge", "GET", f"/api/hearings/{same_case['id']}")
    assert (status, shown["case_id"], shown["recording"]) == (200, case.id, False)

    # Hearings read back from the database (another start) know their case too.
    again = ServerContext.build(ctx.settings, keys=ctx.keys)
    await again.start()
    try:
        for hearing in (recorded, same_case, other_case):
            restored = again.hearings.get(hearing["id"])
            assert restored is not None and restored.case_id == hearing["case_id"]
    finally:
        await again.stop()


async def test_only_the_hearings_court_sees_and_changes_it(court: Court) -> None:
    hearing, _ = await schedule_with_seats(court)
    path = f"/api/hearings/{hearing['id']}"
    for who in ("other_judge", "far_secretary", "prosecutor"):
        status, body = await court.call(who, "GET", path)
        assert (status, body["error"]["code"]) == (403, "forbidden"), who
        status, body = await court.call(
            who, "POST", f"{path}/participants", {"role": "witness", "name": "К"}
        )
        assert status == 403, who
    status, body = await court.call(None, "GET", path)
    assert (status, body["error"]["code"]) == (401, "auth_required")
    status, body = await court.call("judge", "GET", "/api/hearings/no-such-hearing")
    assert (status, body["error"]["code"]) == (404, "hearing_not_found")


async def test_scheduling_refuses_what_a_court_would_not_accept(court: Court) -> None:
    cases = [
        ({"case_number": "../../etc/passwd"}, "invalid_payload"),
        ({"case_number": ""}, "invalid_payload"),
        ({"scheduled_at": "2026-12-01T10:00:00"}, "invalid_payload"),  # no offset
        ({"kind": "meeting"}, "invalid_payload"),
        ({"language": "de"}, "invalid_payload"),
        ({"judge_id": court.ids["secretary"]}, "judge_unknown"),
        ({"judge_id": "nobody"}, "judge_unknown"),
        ({"surprise": 1}, "invalid_payload"),
    ]
    for change, code in cases:
        status, body = await court.call(
            "secretary", "POST", "/api/hearings", sanction_session(court, **change)
        )
        assert (status, body["error"]["code"]) == (400, code), change
    body = sanction_session(court)
    del body["judge_id"]
    status, refused = await court.call("secretary", "POST", "/api/hearings", body)
    assert refused["error"]["code"] == "judge_required"
    status, own = await court.call("judge", "POST", "/api/hearings", body)
    assert status == 201 and own["judge_id"] == court.ids["judge"]  # a judge presides over theirs
    status, refused = await court.call("prosecutor", "POST", "/api/hearings", body)
    assert (status, refused["error"]["code"]) == (403, "forbidden")


async def test_seats_refuse_bad_links_and_duplicates(court: Court) -> None:
    hearing, _ = await schedule_with_seats(court)
    base = f"/api/hearings/{hearing['id']}/participants"
    refusals = [
        ({"role": "prosecutor", "name": "P"}, "iin_required"),
        ({"role": "judge", "name": "J"}, "role_not_seatable"),
        ({"role": "lawyer", "name": "L", "represents": "no-such-seat"}, "seat_not_found"),
        ({"role": "witness", "name": "W", "represents": "x"}, "invalid_link"),
        ({"role": "observer", "name": "O"}, "hearing_not_public"),
        ({"role": "prosecutor", "name": "P2", "iin": PROSECUTOR_IIN}, "seat_exists"),
    ]
    for body, code in refusals:
        _, answer = await court.call("secretary", "POST", base, body)
        assert answer["error"]["code"] == code, body
    _, listed = await court.call("secretary", "GET", base)
    assert len(listed["participants"]) == 3  # nothing half-made by the refusals
    _, invitations = await court.call(
        "secretary", "GET", f"/api/hearings/{hearing['id']}/invitations"
    )
    assert [i["revoked"] for i in invitations["invitations"]] == [False]


async def test_people_come_in_by_their_seats(court: Court) -> None:
    """The judge and prosecutor by EDS session, the lawyer by link; links between seats hold."""
    hearing, seats = await schedule_with_seats(court)
    hearing_id = hearing["id"]
    status, judge = await court.call("judge", "POST", f"/api/hearings/{hearing_id}/join")
    assert status == 200, judge
    assert judge["participant"]["role"] == "judge"
    status, prosecutor = await court.call("prosecutor", "POST", f"/api/hearings/{hearing_id}/join")
    assert prosecutor["participant"]["id"] == seats["prosecutor"]["participant"]["id"]
    status, body = await court.call("other_judge", "POST", f"/api/hearings/{hearing_id}/join")
    assert (status, body["error"]["code"]) == (403, "no_seat")

    code = seats["lawyer"]["invitation"]["link"].split("#invite=")[1]
    _, redeemed = await api(court.url, "POST", "/api/invitations/redeem", json={"code": code})
    detainee_id = seats["detainee"]["participant"]["id"]
    detainee_token = court.server.ctx.issuer.issue(
        hearing=hearing_id,
        participant_id=detainee_id,
        name="Қайратұлы Болат",
        role="detainee",
        grants=grants_for(ProceduralRole.DETAINEE),
    )
    clients = [
        HearingClient(court.url, token)
        for token in (judge["token"], redeemed["token"], detainee_token)
    ]
    try:
        for client in clients:
            await client.connect()
        judge_client, lawyer, detainee = clients
        await judge_client.join()
        await judge_client.call("set_state", {"act": "open"})
        await lawyer.join()
        await detainee.join()
        assert lawyer.me["place"] == "waiting"
        await judge_client.call("admit_all", {})
        await judge_client.call("set_state", {"act": "start"})
        # The lawyer's seat represents the detainee: the two may consult.
        await wait_until(lambda: detainee_id in lawyer.participants, 10, "the detainee")
        assert lawyer.participants[detainee_id]["can_consult"] is True
    finally:
        for client in clients:
            await client.close()


async def test_the_hearing_its_seats_and_state_survive_a_restart(court: Court) -> None:
    hearing, seats = await schedule_with_seats(court)
    ctx = court.server.ctx
    await ctx.hearings.change_state(hearing["id"], StateAct.OPEN)
    await ctx.hearings.change_state(hearing["id"], StateAct.START)

    again = ServerContext.build(ctx.settings, keys=ctx.keys)
    await again.start()
    try:
        restored = again.hearings.get(hearing["id"])
        assert restored is not None
        assert restored.state is HearingState.IN_SESSION
        assert restored.case_number == "7599-26-00-1/0042"
        assert restored.judge_id == court.ids["judge"]
        assert restored.in_session_since is not None
        lawyer_id = seats["lawyer"]["participant"]["id"]
        seat = await again.hearings.seat(hearing["id"], lawyer_id)
        assert seat is not None
        assert seat.represents == seats["detainee"]["participant"]["id"]
    finally:
        await again.stop()


async def test_a_closed_hearing_stays_closed_and_takes_no_seats(court: Court) -> None:
    hearing, _ = await schedule_with_seats(court)
    ctx = court.server.ctx
    await ctx.hearings.change_state(hearing["id"], StateAct.CLOSE)
    status, body = await court.call(
        "secretary",
        "POST",
        f"/api/hearings/{hearing['id']}/participants",
        {"role": "witness", "name": "Кеш"},
    )
    assert body["error"]["code"] == "hearing_closed"
    status, body = await court.call("judge", "POST", f"/api/hearings/{hearing['id']}/join")
    assert (status, body["error"]["code"]) == (409, "hearing_closed")
    again = ServerContext.build(ctx.settings, keys=ctx.keys)
    await again.start()
    try:
        restored = await again.hearings.fetch(hearing["id"])
        assert restored is not None and restored.closed
    finally:
        await again.stop()


async def protocol(url: str, hearing_id: str, token: str, suffix: str = "") -> tuple[int, str, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{url}/api/hearings/{hearing_id}/protocol{suffix}",
            headers={"Authorization": f"Bearer {token}"},
        ) as response,
    ):
        return (
            response.status,
            response.headers.get("Content-Security-Policy", ""),
            (await response.text()),
        )


async def test_the_protocol_is_exported_to_the_court_only(court: Court) -> None:
    hearing, seats = await schedule_with_seats(court)
    hearing_id = hearing["id"]
    _, judge = await court.call("judge", "POST", f"/api/hearings/{hearing_id}/join")
    client = HearingClient(court.url, judge["token"])
    await client.connect()
    try:
        await client.join()
        await client.call("set_state", {"act": "open"})
        await client.call("set_state", {"act": "start"})
    finally:
        await client.close()

    status, _, text = await protocol(court.url, hearing_id, judge["token"])
    assert status == 200
    exported = json.loads(text)
    assert exported["hearing"]["case_number"] == "7599-26-00-1/0042"
    kinds = [e["kind"] for e in exported["events"]]
    assert kinds[:3] == ["joined", "hearing_opened", "session_started"]
    # The secretary's session reads it too; the printable page is in the hearing's language.
    status, policy, page = await protocol(
        court.url, hearing_id, court.sessions["secretary"], ".html"
    )
    assert status == 200
    assert "7599-26-00-1/0042" in page and 'lang="kk"' in page
    assert "script-src" not in policy and "default-src 'none'" in policy
    status, _, page = await protocol(court.url, hearing_id, judge["token"], ".html?lang=ru")
    assert 'lang="ru"' in page

    # Not the parties, not another hearing's court, not a stranger.
    code = seats["lawyer"]["invitation"]["link"].split("#invite=")[1]
    _, lawyer = await api(court.url, "POST", "/api/invitations/redeem", json={"code": code})
    other_judge = court.server.token("judge", hearing="hearing-a", role="judge")
    for token, expected in (
        (lawyer["token"], 403),
        (other_judge, 403),
        (court.sessions["far_secretary"], 403),
        (court.sessions["prosecutor"], 403),
        ("not-a-token", 401),
    ):
        status, _, body = await protocol(court.url, hearing_id, token)
        assert status == expected, (token[:20], body)
    status, _, body = await protocol(court.url, hearing_id, judge["token"], ".html?lang=de")
    assert status == 400 and "invalid_language" in body


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    body=st.dictionaries(
        st.sampled_from(
            ["case_number", "title", "kind", "is_open", "scheduled_at", "language", "judge_id", "x"]
        ),
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(),
            st.text(max_size=80),
            st.lists(st.integers(), max_size=3),
        ),
    )
)
async def test_any_scheduling_payload_gets_a_coded_answer(court: Court, body: dict) -> None:
    status, answer = await court.call("secretary", "POST", "/api/hearings", body)
    assert status in (201, 400), answer
    if status == 400:
        assert answer["error"]["code"] in {"invalid_payload", "judge_unknown", "judge_required"}


async def test_a_detainee_on_a_facility_unit_fills_their_seat(court: Court) -> None:
    """The officer names the detainee's seat; the lawyer whose seat represents it may consult."""
    hearing, seats = await schedule_with_seats(court)
    hearing_id = hearing["id"]
    ctx = court.server.ctx
    facility = "СИЗО-1 Астана"
    await court.person("officer", "790101350111", "Офицер Нұрлан", ["facility_officer"], facility)
    endpoint, credential = await ctx.facilities.register_endpoint(facility, "Бөлме 3")
    detainee_seat = seats["detainee"]["participant"]["id"]
    body = {"endpoint_id": endpoint.id, "hearing_id": hearing_id, "detainee_name": "Болат"}
    status, refused = await court.call(
        "officer", "POST", "/api/facility/sessions", {**body, "seat_id": "seat-nobody"}
    )
    assert refused["error"]["code"] == "seat_not_found"
    status, started = await court.call(
        "officer", "POST", "/api/facility/sessions", {**body, "seat_id": detainee_seat}
    )
    assert status == 201, started
    assert started["seat_id"] == detainee_seat
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{court.url}/api/facility/endpoint/session",
            headers={"Authorization": f"Endpoint {credential}"},
        ) as response,
    ):
        unit = await response.json()
    _, judge = await court.call("judge", "POST", f"/api/hearings/{hearing_id}/join")
    code = seats["lawyer"]["invitation"]["link"].split("#invite=")[1]
    _, lawyer = await api(court.url, "POST", "/api/invitations/redeem", json={"code": code})
    clients = [
        HearingClient(court.url, t) for t in (judge["token"], lawyer["token"], unit["token"])
    ]
    try:
        for client in clients:
            await client.connect()
        judge_client, lawyer_client, unit_client = clients
        await judge_client.join()
        await judge_client.call("set_state", {"act": "open"})
        await lawyer_client.join()
        await unit_client.join()
        await judge_client.call("admit_all", {})
        await judge_client.call("set_state", {"act": "start"})
        detainee_id = unit_client.me["id"]
        assert detainee_id != detainee_seat  # the session's own id: ending it revokes only it
        await wait_until(lambda: detainee_id in lawyer_client.participants, 10, "the detainee")
        assert lawyer_client.participants[detainee_id]["can_consult"] is True
        answer = await lawyer_client.call("start_consultation", {"participant_id": detainee_id})
        assert set(answer["consultation"]["members"]) == {lawyer_client.me["id"], detainee_id}
    finally:
        for client in clients:
            await client.close()


async def test_times_with_an_offset_are_the_same_moment_on_every_database(court: Court) -> None:
    """02:00 in Almaty on the 7th is the 6th in UTC: it is on the 7th's list, in order."""
    early = "2026-12-07T02:00:00+05:00"  # 2026-12-06T21:00Z
    later = "2026-12-07T04:00:00Z"  # 09:00 in Almaty, after the early one
    for when, number in ((later, "7599-26-00-1/0002"), (early, "7599-26-00-1/0001")):
        status, created = await court.call(
            "secretary",
            "POST",
            "/api/hearings",
            sanction_session(court, scheduled_at=when, case_number=number),
        )
        assert status == 201, created
    _, listing = await court.call("judge", "GET", "/api/hearings?date=2026-12-07")
    assert [h["case_number"] for h in listing["hearings"]] == [
        "7599-26-00-1/0001",
        "7599-26-00-1/0002",
    ]
    first = datetime.fromisoformat(listing["hearings"][0]["scheduled_at"])
    assert first == datetime(2026, 12, 6, 21, 0, tzinfo=UTC)
    _, listing = await court.call("judge", "GET", "/api/hearings?date=2026-12-06")
    assert listing["hearings"] == []
