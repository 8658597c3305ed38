"""The aiohttp application factory."""

from __future__ import annotations

import gc
from pathlib import Path

import structlog
from aiohttp import web

from server import metrics
from server.api import register_api
from server.api.errors import json_errors
from server.context import ServerContext
from server.settings import Settings
from signaling.namespace import HearingNamespace
from signaling.server import attach_signaling

log = structlog.get_logger(__name__)

CONTEXT: web.AppKey[ServerContext] = web.AppKey("context", ServerContext)
SIGNALING: web.AppKey[HearingNamespace] = web.AppKey("signaling", HearingNamespace)
REGISTRY: web.AppKey[object] = web.AppKey("metrics_registry", object)
LIFECYCLE: web.AppKey[dict[str, bool]] = web.AppKey("lifecycle", dict)

REPO_ROOT = Path(__file__).resolve().parent.parent
WEB_CLIENT_DIR = REPO_ROOT / "web_client"
OPENAPI_SPEC = REPO_ROOT / "docs" / "openapi.yaml"
SOCKETIO_CLIENT = WEB_CLIENT_DIR / "node_modules/socket.io-client/dist/socket.io.esm.min.js"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; connect-src 'self' ws: wss:; media-src 'self' blob:; "
    "img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


@web.middleware
async def security_headers(request: web.Request, handler: web.RequestHandler) -> web.StreamResponse:
    response = await handler(request)
    if not request.path.startswith("/socket.io/"):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault(
            "Permissions-Policy", "camera=(self), microphone=(self), geolocation=()"
        )
    return response


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process answers."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: the process is not shutting down and its services are up."""
    if request.app[LIFECYCLE]["shutting_down"]:
        return web.json_response({"status": "shutting_down"}, status=503)
    return web.json_response({"status": "ready"})


async def metrics_endpoint(request: web.Request) -> web.Response:
    body = metrics.render(request.app[REGISTRY])  # type: ignore[arg-type]
    return web.Response(body=body, headers={"Content-Type": metrics.CONTENT_TYPE})


async def jwks(request: web.Request) -> web.Response:
    return web.json_response(request.app[CONTEXT].keys.jwks())


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(WEB_CLIENT_DIR / "index.html", headers={"Cache-Control": "no-store"})


async def openapi_spec(request: web.Request) -> web.FileResponse:
    return web.FileResponse(OPENAPI_SPEC, headers={"Content-Type": "application/yaml"})


async def login_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(WEB_CLIENT_DIR / "login.html", headers={"Cache-Control": "no-store"})


async def player_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(WEB_CLIENT_DIR / "player.html", headers={"Cache-Control": "no-store"})


async def socketio_client(request: web.Request) -> web.StreamResponse:
    if not SOCKETIO_CLIENT.exists():
        raise web.HTTPServiceUnavailable(
            text="web client dependencies are not installed: run npm ci in web_client/"
        )
    return web.FileResponse(SOCKETIO_CLIENT, headers={"Content-Type": "text/javascript"})


async def _on_startup(app: web.Application) -> None:
    await app[CONTEXT].start()
    # Everything loaded so far lives as long as the process: keep it out of the
    # full collections, whose pauses stall the media of every hearing.
    gc.freeze()


async def _on_shutdown(app: web.Application) -> None:
    app[LIFECYCLE]["shutting_down"] = True
    log.info("shutting_down")
    await app[SIGNALING].close()
    await app[CONTEXT].stop()


def create_app(
    settings: Settings | None = None, ctx: ServerContext | None = None
) -> web.Application:
    """Build the application: API, signaling, media plane and the web client."""
    settings = settings or (ctx.settings if ctx else Settings.load())
    ctx = ctx or ServerContext.build(settings)
    app = web.Application(middlewares=[security_headers, json_errors], client_max_size=256 * 1024)
    app[CONTEXT] = ctx
    app[LIFECYCLE] = {"shutting_down": False}
    app[SIGNALING] = attach_signaling(app, ctx)
    app[REGISTRY] = metrics.build_registry(ctx, app[SIGNALING])
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_endpoint)
    app.router.add_get("/.well-known/jwks.json", jwks)
    app.router.add_get("/", index)
    app.router.add_get("/join", index)
    app.router.add_get("/kiosk", index)  # a facility's video unit: the join page in kiosk mode
    app.router.add_get("/login", login_page)
    app.router.add_get("/player", player_page)
    app.router.add_get("/api/openapi.yaml", openapi_spec)
    register_api(app, ctx)
    app.router.add_get("/vendor/socket.io.esm.min.js", socketio_client)
    if WEB_CLIENT_DIR.exists():
        app.router.add_static("/static/", WEB_CLIENT_DIR, follow_symlinks=False)
    app.on_startup.append(_on_startup)
    app.on_shutdown.append(_on_shutdown)
    return app
