"""Serving sealed recordings: a case's list, one recording, its files as HTTP ranges.

Who may see what is ``server/recording_access.py``; every listing, viewing,
playback and download — and every refusal of a signed-in person — is written
to the audit log (``server/audit.py``) in the same request, before any byte
of a recording leaves. A ``<video>`` element cannot send a header, so the
player asks for a playback link (``server/playback.py``) and plays that.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import structlog
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from recorder.storage import NotFound, StorageError
from server.api.auth import session_from
from server.api.byte_ranges import RangeNotSatisfiable, parse_range
from server.api.client_address import client_address
from server.api.errors import error_response, read_json
from server.api.hearings import CASE_NUMBER
from server.audit import AuditAction
from server.auth.tokens import SessionClaims
from server.context import ServerContext
from server.errors import CodedError
from server.playback import PlaybackMismatch
from server.recording_access import Grant
from server.recordings import PROTOCOL_JSON, CaseInfo, Recording

log = structlog.get_logger(__name__)

CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".mkv": "video/x-matroska",
    ".json": "application/json",
    ".jsonl": "application/x-ndjson",
    ".html": "text/html; charset=utf-8",
}
MEDIA = (".mp4", ".mkv")
# The archived protocol page is shown as a document of its own: it runs nothing.
DOCUMENT_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; sandbox"
# Any other file opened on its own: the browser's media viewer, nothing else.
FILE_CSP = "default-src 'none'; media-src 'self'; frame-ancestors 'none'; sandbox"
MAX_PROTOCOL_BYTES = 8 * 1024 * 1024
NO_STORE = {"Cache-Control": "no-store"}
CASE_NUMBER_RE = re.compile(CASE_NUMBER)


class PlaybackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file: str = Field(min_length=1, max_length=300)


@dataclass(frozen=True)
class Who:
    """The person behind a request, as the audit log names them."""

    user_id: str
    iin: str


class RecordingRoutes:
    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx

    def register(self, app: web.Application) -> None:
        app.router.add_get("/api/cases", self.find_case)
        app.router.add_get("/api/cases/{case_id}/recordings", self.case_recordings)
        app.router.add_get("/api/recordings/{hearing_id}", self.details)
        app.router.add_post("/api/recordings/{hearing_id}/playback", self.playback)
        app.router.add_get("/api/recordings/{hearing_id}/files/{name:.+}", self.file)

    # -- common steps -----------------------------------------------------------

    async def _audit(
        self,
        request: web.Request,
        action: AuditAction,
        who: Who | None,
        *,
        reason: str | None = None,
        case: CaseInfo | None = None,
        hearing_id: str | None = None,
        file: str | None = None,
    ) -> None:
        await self.ctx.audit.append(
            action,
            user_id=who.user_id if who else None,
            iin=who.iin if who else None,
            reason=reason,
            case_id=case.id if case else None,
            hearing_id=hearing_id,
            file=file,
            remote=client_address(request, self.ctx.settings.trusted_proxies),
        )

    async def _grant(
        self,
        request: web.Request,
        claims: SessionClaims,
        case: CaseInfo,
        *,
        hearing_id: str | None = None,
        file: str | None = None,
    ) -> Grant:
        """The session's grant on the case; a refusal is audited before it is answered."""
        who = Who(claims.sub, claims.iin)
        try:
            grant = await self.ctx.recording_access.check(claims, case)
            if file is not None and not grant.may_open(file):
                raise CodedError("forbidden", "only the court's archivist opens the capture")
        except CodedError as exc:
            await self._audit(
                request, AuditAction.REFUSED, who, reason=exc.code, case=case,
                hearing_id=hearing_id, file=file,
            )  # fmt: skip
            raise
        return grant

    async def _recording(self, request: web.Request) -> tuple[Recording, CaseInfo]:
        recording = await self.ctx.recordings.get(request.match_info["hearing_id"])
        case = await self.ctx.recordings.case(recording.case_id) if recording else None
        if recording is None or case is None:
            raise CodedError("recording_not_found", "no sealed recording of this hearing")
        return recording, case

    def _listing(self, case: CaseInfo, grant: Grant, recordings: list[Recording]) -> Any:
        return {
            "case": case.public(),
            "access": grant.reason,
            "recordings": [r.public(capture=grant.capture) for r in recordings],
        }

    # -- listing ----------------------------------------------------------------

    async def find_case(self, request: web.Request) -> web.Response:
        """A case by its number within a court, with its recordings."""
        claims = session_from(request, self.ctx)
        court = request.query.get("court", "").strip()
        number = request.query.get("number", "").strip()
        if not court or len(court) > 200 or not CASE_NUMBER_RE.match(number):
            raise CodedError("invalid_query", "give court and number (a case number)")
        case = await self.ctx.recordings.find_case(court, number)
        if case is None:
            # Only who may see every case of that court learns that a number does not
            # exist; to anyone else an unknown case looks like a refused one.
            if await self.ctx.recording_access.oversees(claims, court):
                raise CodedError("case_not_found", "the court has no case with this number")
            await self._audit(
                request, AuditAction.REFUSED, Who(claims.sub, claims.iin), reason="forbidden"
            )
            raise CodedError("forbidden", "you may not see this case's recordings")
        grant = await self._grant(request, claims, case)
        recordings = await self.ctx.recordings.of_case(case.id)
        await self._audit(
            request, AuditAction.LIST, Who(claims.sub, claims.iin), reason=grant.reason, case=case
        )
        return web.json_response(self._listing(case, grant, recordings), headers=NO_STORE)

    async def case_recordings(self, request: web.Request) -> web.Response:
        claims = session_from(request, self.ctx)
        case = await self.ctx.recordings.case(request.match_info["case_id"])
        if case is None:
            raise CodedError("case_not_found", "no such case")
        grant = await self._grant(request, claims, case)
        recordings = await self.ctx.recordings.of_case(case.id)
        await self._audit(
            request, AuditAction.LIST, Who(claims.sub, claims.iin), reason=grant.reason, case=case
        )
        return web.json_response(self._listing(case, grant, recordings), headers=NO_STORE)

    # -- one recording ----------------------------------------------------------

    async def details(self, request: web.Request) -> web.Response:
        """The recording's files and its archived protocol (events with recording offsets)."""
        claims = session_from(request, self.ctx)
        recording, case = await self._recording(request)
        grant = await self._grant(request, claims, case, hearing_id=recording.hearing_id)
        await self._audit(
            request, AuditAction.VIEW, Who(claims.sub, claims.iin), reason=grant.reason,
            case=case, hearing_id=recording.hearing_id,
        )  # fmt: skip
        return web.json_response(
            {
                "case": case.public(),
                "access": grant.reason,
                "recording": recording.public(capture=grant.capture),
                "protocol": await self._protocol(recording),
            },
            headers=NO_STORE,
        )

    async def _protocol(self, recording: Recording) -> Any:
        """The sealed protocol.json, as archived (not the live database's)."""
        if PROTOCOL_JSON not in recording.files:
            return None
        if recording.size(PROTOCOL_JSON) > MAX_PROTOCOL_BYTES:
            raise CodedError("protocol_too_large", "the archived protocol is too large to show")
        try:
            data = await self.ctx.archive.read(recording.key(PROTOCOL_JSON))
            return json.loads(data)
        except (StorageError, ValueError) as exc:
            log.warning(
                "archived_protocol_unreadable", hearing=recording.hearing_id, error=str(exc)
            )
            raise CodedError("archive_unavailable", "the archived protocol cannot be read") from exc

    async def playback(self, request: web.Request) -> web.Response:
        """A link that plays one file for ten minutes (for a ``<video>`` element)."""
        claims = session_from(request, self.ctx)
        recording, case = await self._recording(request)
        body: PlaybackRequest = await read_json(request, PlaybackRequest)
        if body.file not in recording.files:
            raise CodedError("file_not_found", "the recording has no such file")
        grant = await self._grant(
            request, claims, case, hearing_id=recording.hearing_id, file=body.file
        )
        token, expires = self.ctx.playback.issue(
            claims, hearing=recording.hearing_id, file=body.file, reason=grant.reason
        )
        await self._audit(
            request, AuditAction.VIEW, Who(claims.sub, claims.iin), reason=grant.reason,
            case=case, hearing_id=recording.hearing_id, file=body.file,
        )  # fmt: skip
        path = "/".join(quote(part, safe="") for part in body.file.split("/"))
        url = f"/api/recordings/{quote(recording.hearing_id, safe='')}/files/{path}"
        return web.json_response(
            {
                "url": f"{url}?playback={token}",
                "expires_at": datetime.fromtimestamp(expires, UTC).isoformat(),
            },
            headers=NO_STORE,
        )

    # -- files ------------------------------------------------------------------

    async def file(self, request: web.Request) -> web.StreamResponse:
        """One file, whole or one byte range: by playback link or with a session."""
        recording, case = await self._recording(request)
        name = request.match_info["name"]
        if name not in recording.files:
            raise CodedError("file_not_found", "the recording has no such file")
        link = request.query.get("playback")
        if link is not None:
            try:
                playback = self.ctx.playback.verify(link, hearing=recording.hearing_id, file=name)
            except PlaybackMismatch as exc:
                await self._audit(
                    request, AuditAction.REFUSED, Who(exc.claims.sub, exc.claims.iin),
                    reason=exc.code, case=case, hearing_id=recording.hearing_id, file=name,
                )  # fmt: skip
                raise
            who, reason = Who(playback.sub, playback.iin), playback.reason
        else:
            claims = session_from(request, self.ctx)
            grant = await self._grant(
                request, claims, case, hearing_id=recording.hearing_id, file=name
            )
            who, reason = Who(claims.sub, claims.iin), grant.reason
        download = request.query.get("download") == "1"
        action = (
            AuditAction.DOWNLOAD
            if download
            else AuditAction.PLAY
            if name.endswith(MEDIA)
            else AuditAction.VIEW
        )
        await self._audit(
            request, action, who, reason=reason, case=case,
            hearing_id=recording.hearing_id, file=name,
        )  # fmt: skip
        return await self._send(request, recording, name, download=download)

    async def _send(
        self, request: web.Request, recording: Recording, name: str, *, download: bool
    ) -> web.StreamResponse:
        size = recording.size(name)
        sha = str(recording.files[name].get("sha256", ""))
        etag = f'"{sha}"'
        headers = {
            "Content-Type": _content_type(name),
            "Accept-Ranges": "bytes",
            "Cache-Control": "no-store",
            "ETag": etag,
            "Content-Disposition": (
                f'attachment; filename="{name.rsplit("/", 1)[-1]}"' if download else "inline"
            ),
        }
        # A streamed response's headers leave at prepare(), before the app's security
        # middleware sees the response: they are all set here.
        headers.update(
            {
                "Content-Security-Policy": DOCUMENT_CSP if name.endswith(".html") else FILE_CSP,
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
                "X-Frame-Options": "DENY",
            }
        )
        header = request.headers.get("Range")
        if_range = request.headers.get("If-Range")
        if header is not None and if_range is not None and if_range.strip() != etag:
            header = None  # the client holds another version: send the whole file
        try:
            wanted = parse_range(header, size)
        except RangeNotSatisfiable:
            response = error_response(
                "range_not_satisfiable", "the range is malformed or outside the file", 416
            )
            response.headers.update({**headers, "Content-Range": f"bytes */{size}"})
            response.headers["Content-Type"] = "application/json; charset=utf-8"
            return response
        start, length = (wanted.start, wanted.length) if wanted else (0, size)
        chunks = self.ctx.archive.stream(recording.key(name), start, length)
        try:
            # The first read tells a missing object apart before any header is sent.
            first = await anext(chunks, b"") if length else b""
        except NotFound as exc:
            log.error("archived_file_missing", hearing=recording.hearing_id, file=name)
            raise CodedError("archive_unavailable", "the archived file cannot be read") from exc
        except StorageError as exc:
            log.error("archive_read_failed", hearing=recording.hearing_id, error=str(exc))
            raise CodedError("archive_unavailable", "the archived file cannot be read") from exc
        response = web.StreamResponse(status=206 if wanted else 200, headers=headers)
        if wanted:
            response.headers["Content-Range"] = wanted.content_range(size)
        response.content_length = length
        await response.prepare(request)
        if request.method == "HEAD":
            await chunks.aclose()
            return response
        try:
            if first:
                await response.write(first)
            async for chunk in chunks:
                await response.write(chunk)
        except (ConnectionResetError, StorageError) as exc:
            # A player that seeks drops its request; a storage failure mid-way cannot
            # become an error page any more. Either way the connection just ends.
            log.info("recording_stream_ended", hearing=recording.hearing_id, reason=str(exc))
            await chunks.aclose()
            return response
        await response.write_eof()
        return response


def _content_type(name: str) -> str:
    for suffix, kind in CONTENT_TYPES.items():
        if name.endswith(suffix):
            return kind
    return "application/octet-stream"
