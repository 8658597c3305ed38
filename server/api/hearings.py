"""Scheduling hearings, giving people their seats, joining as staff, the protocol.

A secretary (or the judge) schedules a hearing of a case, adds its
participants (parties get an invitation link, people who log in by EDS a seat
bound to their IIN), and the judge lists the day's hearings and takes a
hearing token for the one they go into. The protocol is exported as JSON and
as a printable page in the hearing's language.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import structlog
from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from server.api.auth import session_from
from server.api.errors import bearer_token, read_json
from server.api.invitations import invitation_json
from server.auth.tokens import SessionClaims, TokenError
from server.context import ServerContext
from server.directory import StaffRole
from server.errors import CodedError
from server.hearing_access import COURT_STAFF, court_role_in, may_read_protocol
from server.hearings import LANGUAGES, Hearing, Seat
from server.notify import InvitationMessage
from server.roles import INVITABLE, ProceduralRole, grants_for

log = structlog.get_logger(__name__)

# Letters (Kazakh and Russian included), digits and the separators case numbers
# use; a slash is allowed here and never reaches a path (docs/hearings.md).
_CASE_CHAR = "0-9A-Za-zА-Яа-яЁёӘәҒғҚқҢңӨөҰұҮүҺһІі"
CASE_NUMBER = rf"^[{_CASE_CHAR}][{_CASE_CHAR}\-/.()№ ]{{0,63}}$"
# Roles that come in by EDS login with a seat bound to their IIN, not by a link.
SEATED_BY_IIN = frozenset(
    {ProceduralRole.PROSECUTOR, ProceduralRole.INVESTIGATOR, ProceduralRole.FACILITY_OFFICER}
)


class NewHearing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_number: str = Field(pattern=CASE_NUMBER)
    title: str = Field(min_length=1, max_length=300)
    kind: Literal["court_hearing", "sanction_session"] = "court_hearing"
    is_open: bool = True
    # With an offset: the court's local time and UTC are never guessed at.
    scheduled_at: AwareDatetime
    language: Literal["kk", "ru", "en"] = "kk"
    judge_id: str | None = Field(default=None, min_length=1, max_length=128)
    auto_admit: bool = False


class NewSeat(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: ProceduralRole
    name: str = Field(min_length=1, max_length=200)
    iin: str | None = Field(default=None, pattern=r"^\d{12}$")
    represents: str | None = Field(default=None, min_length=1, max_length=128)
    interprets_for: str | None = Field(default=None, min_length=1, max_length=128)
    contact: str | None = Field(default=None, max_length=200)
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None


def hearing_json(hearing: Hearing, *, recording: bool = False) -> dict[str, Any]:
    """A hearing as the court's staff see it: with its case's id and whether it has a recording.

    ``recording``: a sealed recording of it is in the catalogue (the player,
    ``/player#case=<case_id>&hearing=<id>``, can show it).
    """
    return {
        **hearing.public(),
        "judge_id": hearing.judge_id,
        "secretary_id": hearing.secretary_id,
        "case_id": hearing.case_id,
        "recording": recording,
    }


class HearingRoutes:
    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx

    def register(self, app: web.Application) -> None:
        app.router.add_post("/api/hearings", self.schedule)
        app.router.add_get("/api/hearings", self.listing)
        app.router.add_get("/api/hearings/{hearing_id}", self.show)
        app.router.add_post("/api/hearings/{hearing_id}/participants", self.add_participant)
        app.router.add_get("/api/hearings/{hearing_id}/participants", self.participants)
        app.router.add_post("/api/hearings/{hearing_id}/join", self.join)
        app.router.add_get("/api/hearings/{hearing_id}/protocol", self.protocol_json)
        app.router.add_get("/api/hearings/{hearing_id}/protocol.html", self.protocol_html)

    # -- common steps ---------------------------------------------------------

    async def _hearing(self, request: web.Request) -> Hearing:
        hearing = await self.ctx.hearings.fetch(request.match_info["hearing_id"])
        if hearing is None:
            raise CodedError("hearing_not_found", "no such hearing")
        return hearing

    def _staff(self, request: web.Request) -> SessionClaims:
        claims = session_from(request, self.ctx)
        if not COURT_STAFF & set(claims.roles):
            raise CodedError("forbidden", "only the court's judges and secretaries may do this")
        return claims

    # -- scheduling -----------------------------------------------------------

    async def schedule(self, request: web.Request) -> web.Response:
        """A judge or secretary puts a hearing of a case of their court on the schedule."""
        claims = self._staff(request)
        body: NewHearing = await read_json(request, NewHearing)
        me = await self.ctx.directory.find_by_iin(claims.iin)
        if me is None or not me.court:
            raise CodedError("not_in_directory", "you are not listed with a court")
        judge_id = body.judge_id
        if judge_id is None:
            if StaffRole.JUDGE not in me.roles:
                raise CodedError("judge_required", "name the presiding judge (judge_id)")
            judge_id = me.id
        judges = {e.id: e for e in await self.ctx.directory.all() if e.active}
        judge = judges.get(judge_id)
        if judge is None or StaffRole.JUDGE not in judge.roles or judge.court != me.court:
            raise CodedError("judge_unknown", "the presiding judge must be a judge of your court")
        hearing = await self.ctx.hearings.schedule(
            case_number=body.case_number.strip(),
            title=body.title,
            kind=body.kind,
            created_by=claims.sub,
            is_open=body.is_open and body.kind != "sanction_session",
            court=me.court,
            judge_id=judge_id,
            secretary_id=me.id if StaffRole.SECRETARY in me.roles else None,
            scheduled_at=body.scheduled_at,
            language=body.language,
            auto_admit=body.auto_admit,
        )
        log.info("hearing_scheduled", hearing=hearing.id, kind=hearing.kind, by=claims.sub)
        return web.json_response(hearing_json(hearing), status=201)

    async def listing(self, request: web.Request) -> web.Response:
        """The day's hearings: a judge's own; for a secretary, their court's."""
        claims = self._staff(request)
        zone = ZoneInfo(self.ctx.settings.court_timezone)
        raw_day = request.query.get("date")
        try:
            day = date.fromisoformat(raw_day) if raw_day else datetime.now(zone).date()
        except ValueError as exc:
            raise CodedError("invalid_date", "date must be YYYY-MM-DD") from exc
        since = datetime.combine(day, time.min, zone)
        until = since + timedelta(days=1)
        if StaffRole.SECRETARY in claims.roles:
            me = await self.ctx.directory.find_by_iin(claims.iin)
            if me is None or not me.court:
                raise CodedError("not_in_directory", "you are not listed with a court")
            hearings = await self.ctx.hearings.listing(since=since, until=until, court=me.court)
        else:
            hearings = await self.ctx.hearings.listing(
                since=since, until=until, judge_id=claims.sub
            )
        sealed = await self.ctx.recordings.sealed([h.id for h in hearings])
        return web.json_response(
            {
                "date": day.isoformat(),
                "hearings": [hearing_json(h, recording=h.id in sealed) for h in hearings],
            }
        )

    async def show(self, request: web.Request) -> web.Response:
        claims = self._staff(request)
        hearing = await self._hearing(request)
        await court_role_in(self.ctx.directory, claims, hearing)
        seats = await self.ctx.hearings.seats(hearing.id)
        recording = await self.ctx.recordings.get(hearing.id) is not None
        return web.json_response(
            {
                **hearing_json(hearing, recording=recording),
                "participants": [s.public() for s in seats],
            }
        )

    # -- participants ---------------------------------------------------------

    async def add_participant(self, request: web.Request) -> web.Response:
        """Give someone a seat: an invitation link for parties, an IIN-bound seat for officials."""
        claims = self._staff(request)
        hearing = await self._hearing(request)
        await court_role_in(self.ctx.directory, claims, hearing)
        body: NewSeat = await read_json(request, NewSeat)
        if body.role in (ProceduralRole.JUDGE, ProceduralRole.SECRETARY):
            raise CodedError("role_not_seatable", "the court's own seats come with the hearing")
        if body.role in SEATED_BY_IIN and body.iin is None:
            raise CodedError("iin_required", f"a {body.role} logs in by EDS: give their IIN")
        if body.represents is not None and body.role not in (
            ProceduralRole.LAWYER,
            ProceduralRole.REPRESENTATIVE,
        ):
            raise CodedError("invalid_link", "only a lawyer or representative represents a party")
        if body.interprets_for is not None and body.role is not ProceduralRole.INTERPRETER:
            raise CodedError("invalid_link", "only an interpreter interprets for someone")
        if body.role not in INVITABLE | SEATED_BY_IIN | {ProceduralRole.DETAINEE}:
            raise CodedError("role_not_seatable", f"a {body.role} is not given a seat here")
        seat = Seat(
            id=f"seat-{uuid.uuid4().hex[:16]}",
            hearing_id=hearing.id,
            role=body.role,
            name=body.name,
            iin=body.iin,
            represents=body.represents,
            interprets_for=body.interprets_for,
        )
        self.ctx.hearings.check_seat(seat)  # before a link exists that would need withdrawing
        invitation, link = None, None
        if body.role in INVITABLE:
            invitation, code = await self.ctx.invitations.create(
                hearing_id=hearing.id,
                role=body.role,
                name=body.name,
                iin=body.iin,
                contact=body.contact,
                valid_from=body.valid_from,
                valid_until=body.valid_until,
                created_by=claims.sub,
            )
            link = f"{self.ctx.settings.base_url}/join#invite={code}"
            # Whoever redeems the link comes in as this seat.
            seat = replace(seat, id=invitation.participant_id)
        try:
            seat = await self.ctx.hearings.add_seat(seat)
        except CodedError:
            if invitation is not None:  # no working link without its seat
                await self.ctx.invitations.revoke(invitation.id)
            raise
        if invitation is not None and link is not None and body.contact:
            await self.ctx.notifier.send_invitation(
                InvitationMessage(
                    contact=body.contact,
                    name=body.name,
                    hearing_case_number=hearing.case_number,
                    role=str(body.role),
                    link=link,
                    valid_from=invitation.valid_from.isoformat(),
                    valid_until=invitation.valid_until.isoformat(),
                )
            )
        log.info("seat_added", hearing=hearing.id, seat=seat.id, role=str(seat.role))
        result: dict[str, Any] = {"participant": seat.public()}
        if invitation is not None:
            result["invitation"] = {**invitation_json(invitation), "link": link}
        return web.json_response(result, status=201)

    async def participants(self, request: web.Request) -> web.Response:
        claims = self._staff(request)
        hearing = await self._hearing(request)
        await court_role_in(self.ctx.directory, claims, hearing)
        seats = await self.ctx.hearings.seats(hearing.id)
        return web.json_response({"participants": [s.public() for s in seats]})

    # -- joining by EDS login ---------------------------------------------------

    async def join(self, request: web.Request) -> web.Response:
        """A hearing token for someone logged in by EDS: the court, or a seat bound to their IIN."""
        claims = session_from(request, self.ctx)
        hearing = await self._hearing(request)
        if hearing.closed:
            raise CodedError("hearing_closed", "the hearing is closed")
        seat = await self.ctx.hearings.seat_of(hearing.id, iin=claims.iin)
        if seat is None:
            try:
                role = await court_role_in(self.ctx.directory, claims, hearing)
            except CodedError as exc:
                raise CodedError("no_seat", "the court gave you no seat in this hearing") from exc
            seat = await self.ctx.hearings.add_seat(
                Seat(
                    id=f"staff-{claims.sub}"[:128],
                    hearing_id=hearing.id,
                    role=role,
                    name=claims.name,
                    iin=claims.iin,
                    user_id=claims.sub,
                )
            )
        token = self.ctx.issuer.issue(
            hearing=hearing.id,
            participant_id=seat.id,
            name=seat.name,
            role=str(seat.role),
            grants=grants_for(seat.role),
        )
        log.info("staff_joined_by_eds", hearing=hearing.id, seat=seat.id, role=str(seat.role))
        return web.json_response(
            {
                "token": token,
                "link": f"{self.ctx.settings.base_url}/join#token={token}",
                "hearing": hearing.public(),
                "participant": seat.public(),
            },
            headers={"Cache-Control": "no-store"},
        )

    # -- the protocol -----------------------------------------------------------

    async def _protocol_hearing(self, request: web.Request) -> Hearing:
        token = bearer_token(request)
        if token is None:
            raise TokenError("auth_required", "sign in first")
        hearing = await self._hearing(request)
        await may_read_protocol(self.ctx.verifier, self.ctx.directory, token, hearing)
        return hearing

    async def protocol_json(self, request: web.Request) -> web.Response:
        hearing = await self._protocol_hearing(request)
        return web.json_response(
            await self.ctx.protocol.export_json(hearing), headers={"Cache-Control": "no-store"}
        )

    async def protocol_html(self, request: web.Request) -> web.Response:
        hearing = await self._protocol_hearing(request)
        language = request.query.get("lang", hearing.language)
        if language not in LANGUAGES:
            raise CodedError("invalid_language", "lang is one of kk, ru, en")
        page = await self.ctx.protocol.export_html(hearing, language)
        return web.Response(
            text=page,
            content_type="text/html",
            headers={
                "Cache-Control": "no-store",
                # The page prints standalone with its own inline styles, and nothing else.
                "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                "frame-ancestors 'none'; base-uri 'none'",
            },
        )
