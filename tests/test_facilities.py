"""Detention-facility units: an officer attests a detainee on a unit; the unit joins the hearing."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from support.eds_login import api
from support.waiting import wait_until
from test_signaling_edge import refusal_code

from signaling.client import HearingClient

OFFICER_IIN = "790101350111"
FACILITY = "СИЗО-1 Астана"


@pytest.fixture
async def facility(tyndau_db):
    server = tyndau_db  # the running server, on SQLite and on PostgreSQL
    ctx = server.ctx
    await ctx.directory.upsert(
        iin=OFFICER_IIN, full_name="Офицер Нұрлан", roles=["facility_officer"], court=FACILITY
    )
    await ctx.directory.upsert(
        iin="790101350222", full_name="Басқа Офицер", roles=["facility_officer"], court="СИЗО-2"
    )
    server.officer, _ = ctx.issuer.issue_session(
        user_id="officer-1", iin=OFFICER_IIN, name="Офицер Нұрлан", roles=["facility_officer"]
    )
    server.stranger, _ = ctx.issuer.issue_session(
        user_id="officer-2", iin="790101350222", name="Басқа", roles=["facility_officer"]
    )
    server.endpoint, server.credential = await ctx.facilities.register_endpoint(FACILITY, "Unit 3")
    return server


async def unit_token(facility, credential: str | None = None) -> tuple[int, dict]:
    headers_token = credential or facility.credential
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{facility.url}/api/facility/endpoint/session",
            headers={"Authorization": f"Endpoint {headers_token}"},
        ) as response,
    ):
        return response.status, await response.json()


def start_body(facility, **extra: object) -> dict:
    return {
        "endpoint_id": facility.endpoint.id,
        "hearing_id": "hearing-a",
        "detainee_name": "Қамауда Болат",
        **extra,
    }


async def start(facility, token: str, **extra: object) -> tuple[int, dict]:
    body = start_body(facility, **extra)
    return await api(facility.url, "POST", "/api/facility/sessions", json=body, token=token)


async def test_officer_starts_a_session_and_the_unit_joins_as_the_detainee(facility) -> None:
    status, body = await unit_token(facility)
    assert (status, body["error"]["code"]) == (404, "no_session")
    status, started = await api(
        facility.url,
        "POST",
        "/api/facility/sessions",
        json=start_body(facility),
        token=facility.officer,
    )
    assert status == 201, started
    assert started["attested_by"] == {"user_id": "officer-1", "name": "Офицер Нұрлан"}
    status, body = await unit_token(facility)
    assert status == 200, body
    unit = HearingClient(facility.url, body["token"])
    await unit.connect()
    joined = await unit.join()
    assert joined["self"]["role"] == "detainee"
    assert joined["self"]["name"] == "Қамауда Болат"
    # One detainee per unit at a time.
    status, busy = await api(
        facility.url,
        "POST",
        "/api/facility/sessions",
        json=start_body(facility),
        token=facility.officer,
    )
    assert (status, busy["error"]["code"]) == (409, "endpoint_busy")
    # The officer ends it: the unit's token stops working at the next connect.
    status, ended = await api(
        facility.url, "DELETE", f"/api/facility/sessions/{started['id']}", token=facility.officer
    )
    assert status == 200
    assert ended["ended_at"] is not None
    # ... and takes the unit out of the hearing at once (not at its next reconnect).
    await wait_until(lambda: not unit.sio.connected, 20, "the unit disconnected")
    await unit.close()
    assert await refusal_code(facility.url, {"token": body["token"]}) == "token_revoked"
    status, body = await unit_token(facility)
    assert body["error"]["code"] == "no_session"
    records = await facility.ctx.facilities.sessions_for("hearing-a")
    assert [r.attested_by_iin for r in records] == [OFFICER_IIN]


async def test_least_privilege(facility) -> None:
    # An officer of another facility cannot use this unit.
    status, body = await api(
        facility.url,
        "POST",
        "/api/facility/sessions",
        json=start_body(facility),
        token=facility.stranger,
    )
    assert (status, body["error"]["code"]) == (403, "forbidden")
    # A judge is not a facility officer.
    judge, _ = facility.ctx.issuer.issue_session(
        user_id="j", iin="800101300111", name="Судья", roles=["judge"]
    )
    status, body = await api(
        facility.url, "POST", "/api/facility/sessions", json=start_body(facility), token=judge
    )
    assert (status, body["error"]["code"]) == (403, "forbidden")
    # A wrong or forged unit credential.
    status, body = await unit_token(facility, facility.endpoint.id + ".forged")
    assert (status, body["error"]["code"]) == (401, "endpoint_unknown")
    status, body = await unit_token(facility, "nothing")
    assert (status, body["error"]["code"]) == (401, "endpoint_unknown")
    status, body = await api(
        facility.url,
        "POST",
        "/api/facility/sessions",
        json=start_body(facility, hearing_id="nowhere"),
        token=facility.officer,
    )
    assert (status, body["error"]["code"]) == (404, "hearing_not_found")


async def test_two_officers_at_once_start_one_session(facility) -> None:
    """The database, not a check-then-insert, keeps one detainee per unit."""
    results = await asyncio.gather(*(start(facility, facility.officer) for _ in range(6)))
    statuses = sorted(status for status, _ in results)
    assert statuses.count(201) == 1, results
    assert all(body["error"]["code"] == "endpoint_busy" for s, body in results if s != 201)
    started = next(body for s, body in results if s == 201)
    assert started["started_at"].endswith("+00:00")  # aware UTC on every database
