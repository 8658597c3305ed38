"""The Socket.IO server attached to the aiohttp application."""

from __future__ import annotations

import socketio
from aiohttp import web

from server.context import ServerContext
from signaling.namespace import HearingNamespace
from signaling.redis_manager import NodeRedisManager

# Engine.IO closes a connection whose single message exceeds this; below it,
# oversized events get a ``payload_too_large`` error from the namespace instead.
ENGINEIO_MAX_MESSAGE_BYTES = 1_000_000


def attach_signaling(app: web.Application, ctx: ServerContext) -> HearingNamespace:
    # Several nodes: room events cross them through Redis (signaling/redis_manager.py).
    manager = NodeRedisManager(ctx.settings.redis_url) if ctx.settings.redis_url else None
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        client_manager=manager,
        cors_allowed_origins=None,  # same origin only
        max_http_buffer_size=ENGINEIO_MAX_MESSAGE_BYTES,
        ping_interval=10,
        ping_timeout=10,
        logger=False,
        engineio_logger=False,
    )
    namespace = HearingNamespace(ctx)
    sio.register_namespace(namespace)
    sio.attach(app, socketio_path="socket.io")

    async def start(_: web.Application) -> None:
        if manager is not None:
            manager.start()
        await namespace.start()

    async def stop(_: web.Application) -> None:
        await namespace.stop()
        if manager is not None:
            await manager.close()

    app.on_startup.append(start)
    # On shutdown, not cleanup: registered before the application's own shutdown
    # handler, it stops the watch before the database its alerts go to is closed.
    app.on_shutdown.append(stop)
    return namespace
