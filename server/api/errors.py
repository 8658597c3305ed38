"""JSON errors for the REST API: a stable code, a message, the right status, never a 500 page."""

from __future__ import annotations

from typing import Any

import structlog
from aiohttp import web
from pydantic import BaseModel, ValidationError

from server.errors import CodedError, invalid_payload

log = structlog.get_logger(__name__)

# Status per code; codes not listed are 400 (the client's request was refused).
STATUS: dict[str, int] = {
    "unauthorized": 401,
    "auth_required": 401,
    "token_malformed": 401,
    "token_invalid": 401,
    "token_expired": 401,
    "token_not_yet_valid": 401,
    "token_wrong_audience": 401,
    "token_revoked": 401,
    "session_too_old": 401,
    "forbidden": 403,
    "no_seat": 403,
    "not_in_directory": 403,
    "not_found": 404,
    "no_session": 404,
    "endpoint_unknown": 401,
    "endpoint_busy": 409,
    "hearing_not_found": 404,
    "case_not_found": 404,
    "recording_not_found": 404,
    "file_not_found": 404,
    "archive_unavailable": 503,
    "hearing_closed": 409,
    "seat_exists": 409,
    "hearing_exists": 409,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "too_many_challenges": 429,
    "revocation_unknown": 503,
    "eds_unavailable": 503,
    "internal_error": 500,
}


def error_response(code: str, message: str, status: int | None = None) -> web.Response:
    return web.json_response(
        {"error": {"code": code, "message": message}}, status=status or STATUS.get(code, 400)
    )


@web.middleware
async def json_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    if not request.path.startswith("/api/"):
        return await handler(request)
    try:
        return await handler(request)
    except CodedError as exc:
        log.info("api_refused", path=request.path, code=exc.code)
        return error_response(exc.code, exc.message)
    except web.HTTPRequestEntityTooLarge:
        return error_response("payload_too_large", "the request body is too large")
    except web.HTTPNotFound:
        return error_response("not_found", "no such endpoint")
    except web.HTTPMethodNotAllowed:
        return error_response("method_not_allowed", "method not allowed", 405)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("api_failed", path=request.path)
        return error_response("internal_error", "the server failed on this request")


async def read_json(request: web.Request, model: type[BaseModel]) -> Any:
    """The request body as ``model``, or a coded refusal."""
    if request.content_type != "application/json":
        raise CodedError("unsupported_media_type", "send application/json")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise CodedError("payload_too_large", "the request body is too large") from exc
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise invalid_payload(exc, "body") from exc


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None
