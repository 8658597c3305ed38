"""The hearing protocol: append-only, in order, exported as JSON and printable HTML."""

from __future__ import annotations

import asyncio

from server.hearings import Hearing
from server.procedure.protocol import Actor, EventKind, HearingProtocol
from signaling.client import HearingClient

JUDGE = Actor("judge", "Серікова Әлия", "judge")
HEARING = Hearing(id="hearing-a", case_number="7599-23-00-1/1234", title="<b>Test</b>")


async def test_events_keep_their_order_and_export(tyndau_db) -> None:
    protocol: HearingProtocol = tyndau_db.ctx.protocol
    await protocol.append("hearing-a", EventKind.HEARING_OPENED, actor=JUDGE)
    await protocol.append("hearing-a", EventKind.SESSION_STARTED, actor=JUDGE)
    await protocol.append(
        "hearing-a", EventKind.MUTED, actor=JUDGE, subject_id="w", subject_name="<script>"
    )
    await protocol.append("hearing-b", EventKind.HEARING_OPENED, actor=JUDGE)
    events = await protocol.events("hearing-a")
    assert [e.kind for e in events] == [
        EventKind.HEARING_OPENED,
        EventKind.SESSION_STARTED,
        EventKind.MUTED,
    ]
    assert [e.seq for e in events] == sorted(e.seq for e in events)
    assert all(e.at.tzinfo is not None for e in events)
    exported = await protocol.export_json(HEARING)
    assert exported["hearing"]["case_number"] == "7599-23-00-1/1234"
    assert [e["kind"] for e in exported["events"]] == ["hearing_opened", "session_started", "muted"]
    kk = await protocol.export_html(HEARING, "kk")
    assert '<html lang="kk">' in kk
    assert "Сот отырысының хаттамасы" in kk
    assert "Сот микрофонды өшірді" in kk
    assert "<script>" not in kk  # names are escaped
    assert "&lt;b&gt;Test&lt;/b&gt;" in kk
    assert "Протокол судебного заседания" in await protocol.export_html(HEARING, "ru")


async def test_recording_markers_say_which_and_why(tyndau_db) -> None:
    protocol: HearingProtocol = tyndau_db.ctx.protocol
    for details in (
        {"marker": "started"},
        {"marker": "paused"},
        {"marker": "failed", "reason": "<No space left on device>"},
        {"marker": "someday"},
    ):
        await protocol.append("hearing-a", EventKind.RECORDING_MARKER, details=details)
    kk = await protocol.export_html(HEARING, "kk")
    assert "Жазба басталды" in kk and "Жазба кідіртілді" in kk
    assert "Жазба істен шықты (себебі: &lt;No space left on device&gt;)" in kk
    assert "Жазба белгісі" in kk  # a marker it does not know keeps the generic words
    ru = await protocol.export_html(HEARING, "ru")
    assert "Запись начата" in ru and "Сбой записи" in ru
    assert "Hearing protocol" in await protocol.export_html(HEARING, "en")


async def test_joins_leaves_and_attestations_are_recorded(tyndau_db) -> None:
    ctx = tyndau_db.ctx
    client = HearingClient(tyndau_db.url, tyndau_db.token("lawyer"))
    await client.connect()
    await client.join()
    await client.leave()
    await client.close()
    await ctx.directory.upsert(
        iin="790101350111", full_name="Офицер Нұрлан", roles=["facility_officer"], court="СИЗО-1"
    )
    officer, _ = ctx.issuer.issue_session(
        user_id="officer-1", iin="790101350111", name="Офицер", roles=["facility_officer"]
    )
    endpoint, _ = await ctx.facilities.register_endpoint("СИЗО-1", "Бөлме 3")
    await ctx.facilities.start_session(
        ctx.verifier.verify_session(officer),
        endpoint_id=endpoint.id,
        hearing_id="hearing-a",
        detainee_name="Қамауда Болат",
        detainee_iin=None,
    )
    await asyncio.sleep(0)
    events = await ctx.protocol.events("hearing-a")
    assert [e.kind for e in events] == [
        EventKind.JOINED,
        EventKind.LEFT,
        EventKind.DETAINEE_ATTESTED,
    ]
    attested = events[-1]
    assert attested.actor is not None
    assert (attested.actor.id, attested.actor.name) == ("officer-1", "Офицер Нұрлан")
    assert attested.subject_name == "Қамауда Болат"
    assert attested.details["officer_iin"] == "790101350111"
