"""Login by digital signature (EDS) and the session that follows.

1. ``POST /api/auth/challenge`` gives a one-time nonce;
2. the browser has NCALayer sign it (CMS, content attached);
3. ``POST /api/auth/eds`` checks the CMS (signature, chain, dates, key usage,
   revocation, content = an unused nonce), looks the IIN up in the court
   directory and answers a short-lived session token;
4. ``/refresh`` extends it (within the login's max age), ``/logout`` ends it.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import structlog
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from server.api.errors import bearer_token, read_json
from server.auth.tokens import SessionClaims, TokenError
from server.context import ServerContext
from server.eds import encapsulated_content
from server.errors import CodedError

log = structlog.get_logger(__name__)

MAX_CMS_CHARS = 64 * 1024


class EdsLogin(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    cms: str = Field(min_length=1, max_length=MAX_CMS_CHARS)


def _iso(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).isoformat().replace("+00:00", "Z")


def session_from(request: web.Request, ctx: ServerContext) -> SessionClaims:
    token = bearer_token(request)
    if token is None:
        raise TokenError("auth_required", "sign in first")
    return ctx.verifier.verify_session(token)


class AuthRoutes:
    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx

    def register(self, app: web.Application) -> None:
        app.router.add_post("/api/auth/challenge", self.challenge)
        app.router.add_post("/api/auth/eds", self.login)
        app.router.add_post("/api/auth/refresh", self.refresh)
        app.router.add_post("/api/auth/logout", self.logout)
        app.router.add_get("/api/me", self.me)

    async def challenge(self, request: web.Request) -> web.Response:
        challenge = await self.ctx.challenges.issue()
        return web.json_response(
            {
                "nonce": base64.b64encode(challenge.nonce).decode("ascii"),
                "expires_at": _iso(challenge.expires_at),
            },
            headers={"Cache-Control": "no-store"},
        )

    async def login(self, request: web.Request) -> web.Response:
        if self.ctx.eds is None:
            raise CodedError("eds_unavailable", "EDS login is not configured on this server")
        body: EdsLogin = await read_json(request, EdsLogin)
        # The signed content must be a nonce we issued and nobody used: that is
        # what makes a captured signature worthless for a second login.
        nonce = encapsulated_content(body.cms)
        await self.ctx.challenges.consume(nonce)
        verified = await self.ctx.eds.verify_async(body.cms, expected_content=nonce)
        person = verified.person
        if person.iin is None:
            raise TokenError("certificate_without_iin", "the certificate names no IIN")
        entry = await self.ctx.directory.find_by_iin(person.iin)
        roles = [str(r) for r in entry.roles] if entry else []
        user_id = entry.id if entry else f"iin-{person.iin}"
        name = entry.full_name if entry else person.common_name or person.iin
        token, expires = self.ctx.issuer.issue_session(
            user_id=user_id, iin=person.iin, name=name, roles=roles
        )
        log.info(
            "eds_login",
            user=user_id,
            known=entry is not None,
            roles=roles,
            holder_kind=person.holder_kind,
            algorithm=verified.algorithm,
        )
        return web.json_response(
            {
                "token": token,
                "expires_at": _iso(expires),
                "user_id": user_id,
                "roles": roles,
                "person": person_json(person),
            },
            headers={"Cache-Control": "no-store"},
        )

    async def refresh(self, request: web.Request) -> web.Response:
        claims = session_from(request, self.ctx)
        # Re-read the directory: a deactivated or demoted person loses rights at once.
        entry = await self.ctx.directory.find_by_iin(claims.iin)
        roles = [str(r) for r in entry.roles] if entry else []
        token, expires = self.ctx.issuer.issue_session(
            user_id=claims.sub,
            iin=claims.iin,
            name=claims.name,
            roles=roles,
            auth_time=claims.auth_time,
        )
        await self.ctx.revocations.revoke_token(claims.jti, claims.exp)
        return web.json_response(
            {"token": token, "expires_at": _iso(expires)}, headers={"Cache-Control": "no-store"}
        )

    async def logout(self, request: web.Request) -> web.Response:
        claims = session_from(request, self.ctx)
        await self.ctx.revocations.revoke_token(claims.jti, claims.exp)
        log.info("logout", user=claims.sub)
        return web.json_response({"ok": True})

    async def me(self, request: web.Request) -> web.Response:
        claims = session_from(request, self.ctx)
        return web.json_response(
            {"user_id": claims.sub, "iin": claims.iin, "name": claims.name, "roles": claims.roles}
        )


def person_json(person: Any) -> dict[str, Any]:
    return {
        "iin": person.iin,
        "bin": person.bin,
        "name": person.common_name,
        "surname": person.surname,
        "given_name": person.given_name,
        "patronymic": person.patronymic,
        "organization": person.organization,
        "holder_kind": person.holder_kind,
    }
