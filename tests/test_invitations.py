"""Invitation links: one hearing, one role, optionally one person; a window; revocable."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from support.eds_login import api, eds_login, signer_for, verifier_for
from support.nca_pki import GOST512, IIN_EMPLOYEE, IIN_INDIVIDUAL, pki
from support.running import TEST_COURT
from test_signaling_edge import refusal_code

from server.db.schema import InvitationRow
from server.procedure.states import StateAct
from signaling.client import HearingClient

SECRETARY_IIN = "850505400123"


@pytest.fixture
async def court(tyndau_db):
    server = tyndau_db  # the running server, on SQLite and on PostgreSQL
    server.ctx.eds = verifier_for(pki(GOST512))
    await server.ctx.directory.upsert(
        iin=SECRETARY_IIN, full_name="Хатшы Айгерім", roles=["secretary"], court=TEST_COURT
    )
    token, _ = server.ctx.issuer.issue_session(
        user_id="sec-1", iin=SECRETARY_IIN, name="Хатшы Айгерім", roles=["secretary"]
    )
    server.secretary = token
    return server


async def invite(court, hearing: str = "hearing-a", **body: object) -> tuple[int, dict]:
    payload = {"role": "witness", "name": "Куәгер Болат", **body}
    return await api(
        court.url,
        "POST",
        f"/api/hearings/{hearing}/invitations",
        json=payload,
        token=court.secretary,
    )


def code_of(link: str) -> str:
    return link.split("#invite=", 1)[1]


async def redeem(court, code: str, token: str | None = None) -> tuple[int, dict]:
    return await api(court.url, "POST", "/api/invitations/redeem", json={"code": code}, token=token)


async def test_a_witness_link_joins_the_hearing_as_a_witness(court) -> None:
    status, created = await invite(court, contact="+77011234567")
    assert status == 201, created
    assert "/join#invite=" in created["link"]
    sent = court.ctx.notifier.sent
    assert [m.contact for m in sent] == ["+77011234567"]
    assert sent[0].hearing_case_number == "7599-23-00-1/1234"
    status, redeemed = await redeem(court, code_of(created["link"]))
    assert status == 200, redeemed
    assert redeemed["role"] == "witness"
    assert redeemed["hearing"]["case_number"] == "7599-23-00-1/1234"
    client = HearingClient(court.url, redeemed["token"])
    await client.connect()
    joined = await client.join()
    assert joined["self"]["role"] == "witness"
    assert joined["self"]["name"] == "Куәгер Болат"
    await client.close()
    # The link itself is not in the database: only its hash is.
    listed = await api(
        court.url, "GET", "/api/hearings/hearing-a/invitations", token=court.secretary
    )
    assert code_of(created["link"]) not in str(listed)


async def test_revoking_cuts_off_the_link_and_whoever_came_in_with_it(court) -> None:
    _, created = await invite(court)
    _, redeemed = await redeem(court, code_of(created["link"]))
    status, body = await api(
        court.url, "DELETE", f"/api/invitations/{created['id']}", token=court.secretary
    )
    assert status == 200
    assert body["revoked"] is True
    status, body = await redeem(court, code_of(created["link"]))
    assert (status, body["error"]["code"]) == (400, "invitation_revoked")
    assert await refusal_code(court.url, {"token": redeemed["token"]}) == "token_revoked"


async def test_the_window_and_the_hearing_state_are_enforced(court) -> None:
    now = datetime.now(UTC)
    _, later = await invite(
        court,
        valid_from=(now + timedelta(hours=2)).isoformat(),
        valid_until=(now + timedelta(hours=6)).isoformat(),
    )
    status, body = await redeem(court, code_of(later["link"]))
    assert body["error"]["code"] == "invitation_not_yet_valid"
    status, body = await invite(
        court,
        valid_from=(now - timedelta(days=2)).isoformat(),
        valid_until=(now - timedelta(days=1)).isoformat(),
    )
    assert status == 201
    status, body = await redeem(court, code_of(body["link"]))
    assert body["error"]["code"] == "invitation_expired"
    status, body = await invite(court, valid_until=(now + timedelta(days=30)).isoformat())
    assert body["error"]["code"] == "invalid_window"
    _, today = await invite(court)
    await court.ctx.hearings.change_state("hearing-a", StateAct.CLOSE)
    status, body = await redeem(court, code_of(today["link"]))
    assert body["error"]["code"] == "hearing_closed"
    status, body = await invite(court)
    assert body["error"]["code"] == "hearing_closed"


async def test_a_link_bound_to_an_iin_needs_that_persons_eds_login(court) -> None:
    _, created = await invite(court, role="lawyer", name="Адвокат Тест", iin=IIN_INDIVIDUAL)
    code = code_of(created["link"])
    status, body = await redeem(court, code)
    assert (status, body["error"]["code"]) == (400, "eds_required")
    _, other = await eds_login(court.url, signer_for(pki(GOST512), "legal_employee"))
    assert other["person"]["iin"] == IIN_EMPLOYEE
    status, body = await redeem(court, code, token=other["token"])
    assert body["error"]["code"] == "wrong_person"
    _, me = await eds_login(court.url, signer_for(pki(GOST512), "individual"))
    status, body = await redeem(court, code, token=me["token"])
    assert status == 200, body
    client = HearingClient(court.url, body["token"])
    await client.connect()
    assert (await client.join())["self"]["role"] == "lawyer"
    await client.close()


async def test_who_may_invite_whom(court) -> None:
    status, body = await invite(court, role="judge")
    assert body["error"]["code"] == "role_not_invitable"
    court.ctx.hearings.get("hearing-a").is_open = False
    status, body = await invite(court, role="observer")
    assert body["error"]["code"] == "hearing_not_public"
    status, body = await invite(court, hearing="no-such-hearing")
    assert (status, body["error"]["code"]) == (404, "hearing_not_found")
    status, body = await api(
        court.url, "POST", "/api/hearings/hearing-a/invitations", json={"role": "witness"}
    )
    assert (status, body["error"]["code"]) == (401, "auth_required")
    status, body = await redeem(court, "x" * 43)
    assert body["error"]["code"] == "invitation_unknown"


async def test_only_the_hearings_own_court_invites(court) -> None:
    """A secretary of another court, or a judge who does not preside, cannot invite or revoke."""
    await court.ctx.directory.upsert(
        iin="860606400456", full_name="Басқа хатшы", roles=["secretary"], court="Алматы соты"
    )
    stranger, _ = court.ctx.issuer.issue_session(
        user_id="sec-2", iin="860606400456", name="Басқа хатшы", roles=["secretary"]
    )
    judge, _ = court.ctx.issuer.issue_session(
        user_id="judge-9", iin="800101300999", name="Судья", roles=["judge"]
    )
    _, created = await invite(court)
    for token in (stranger, judge):
        status, body = await api(
            court.url,
            "POST",
            "/api/hearings/hearing-a/invitations",
            json={"role": "witness", "name": "X"},
            token=token,
        )
        assert (status, body["error"]["code"]) == (403, "forbidden")
        status, body = await api(
            court.url, "DELETE", f"/api/invitations/{created['id']}", token=token
        )
        assert (status, body["error"]["code"]) == (403, "forbidden")
        status, body = await api(
            court.url, "GET", "/api/hearings/hearing-a/invitations", token=token
        )
        assert status == 403


async def test_observer_links_are_receive_only(court) -> None:
    _, created = await invite(court, role="observer", name="Журналист")
    _, redeemed = await redeem(court, code_of(created["link"]))
    client = HearingClient(court.url, redeemed["token"])
    await client.connect()
    await client.join()
    with pytest.raises(Exception, match="forbidden"):
        await client.call("publish_offer", {"type": "offer", "sdp": "v=0"})
    await client.close()


async def test_concurrent_redeems_are_all_counted_and_times_need_an_offset(court) -> None:
    _, created = await invite(court)
    code = code_of(created["link"])
    results = await asyncio.gather(*(redeem(court, code) for _ in range(8)))
    assert all(status == 200 for status, _ in results)
    async with court.ctx.db.session() as session:
        row = await session.get(InvitationRow, created["id"])
        assert row is not None
        assert row.redeemed_count == 8
    status, body = await invite(court, valid_from="2026-12-01T09:00:00")
    assert (status, body["error"]["code"]) == (400, "invalid_payload")
