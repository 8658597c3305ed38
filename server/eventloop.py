"""The event loop the server runs on: uvloop by default, asyncio's own on request.

Every media packet the SFU forwards costs the event loop a poll, a read and a
write; uvloop (libuv, in C) does those for less CPU than asyncio's selector loop
(``bench/README.md``, "The forwarding hot path"). ``TYNDAU_EVENT_LOOP=asyncio`` turns it off,
for instance to rule it out when chasing a bug. aiortc and aioice use only the
public asyncio API (datagram endpoints, futures, timers), which uvloop provides.
"""

from __future__ import annotations

import asyncio
from typing import Literal

import structlog

log = structlog.get_logger(__name__)

EventLoopKind = Literal["uvloop", "asyncio"]


def new_event_loop(kind: EventLoopKind) -> asyncio.AbstractEventLoop:
    """A new loop of ``kind``; asyncio's, with a warning, if uvloop is not installed."""
    if kind == "uvloop":
        try:
            import uvloop
        except ImportError:
            log.warning("uvloop_unavailable", fallback="asyncio")
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()
