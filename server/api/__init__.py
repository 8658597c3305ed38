"""The REST API under ``/api/``: JSON in, JSON out, errors as ``{"error": {"code", "message"}}``."""

from aiohttp import web

from server.api.auth import AuthRoutes
from server.api.facilities import FacilityRoutes
from server.api.hearings import HearingRoutes
from server.api.invitations import InvitationRoutes
from server.api.recordings import RecordingRoutes
from server.context import ServerContext


def register_api(app: web.Application, ctx: ServerContext) -> None:
    AuthRoutes(ctx).register(app)
    HearingRoutes(ctx).register(app)
    InvitationRoutes(ctx).register(app)
    FacilityRoutes(ctx).register(app)
    RecordingRoutes(ctx).register(app)
