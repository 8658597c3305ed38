"""The real Tyndau server, loopback only, with hearings and tokens for a load run.

Run by ``bench/sfu_load.py`` as its own process (so the SFU's CPU and memory can
be read from ``/proc/<pid>``)::

    python bench/sfu_server.py --port 8443 --rooms 4 --participants 4

It registers ``bench-0`` ... ``bench-{R-1}``, mints one speaker token per
participant, prints one JSON line on stdout and serves until SIGTERM/SIGINT::

    {"url": "http://127.0.0.1:8443", "pid": 1234, "tokens": {"bench-0": ["eyJ...", ...]},
     "probe_tokens": []}

With ``--probe`` it also registers ``bench-probe`` for ``bench/delay_probe.py``: its
two tokens (an audio publisher, a subscriber) are ``probe_tokens``.

The only addition to the app is a diagnostic route, ``GET /bench/gc``, with the
garbage collector's pauses in this process (a stopped event loop forwards nothing).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from aiohttp import web

from server.app import create_app
from server.auth.tokens import Grants
from server.context import ServerContext
from server.eventloop import new_event_loop
from server.hearings import Hearing
from server.logging_config import configure_logging
from server.procedure.states import HearingState
from server.settings import Settings

HOST = "127.0.0.1"
SPEAKER = Grants(publish_audio=True, publish_video=True, subscribe=True)
PROBE_HEARING = "bench-probe"  # bench/delay_probe.py: one audio publisher, one subscriber
PROBE_GRANTS = (
    Grants(publish_audio=True, subscribe=False),
    Grants(publish_audio=False, subscribe=True),
)
LONG_PAUSE_MS = 5.0


class GcPauses:
    """Collections per generation, their total time, and every pause over ``LONG_PAUSE_MS``
    as (generation, ms, ``time.monotonic()`` at its end: the same clock in every process)."""

    def __init__(self) -> None:
        self.count = [0, 0, 0]
        self.total_ms = [0.0, 0.0, 0.0]
        self.long: list[tuple[int, float, float]] = []
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        ms = (time.perf_counter() - self._started) * 1000
        generation = info["generation"]
        self.count[generation] += 1
        self.total_ms[generation] += ms
        if ms > LONG_PAUSE_MS:
            self.long.append((generation, ms, time.monotonic()))

    def as_json(self) -> dict[str, object]:
        return {"count": self.count, "total_ms": self.total_ms, "long": self.long}


async def save_hearing(ctx: ServerContext, hearing_id: str, number: int) -> None:
    await ctx.hearings.save(
        Hearing(
            id=hearing_id,
            case_number=f"BENCH-{number:04d}",
            title=f"Load test room {number}",
            state=HearingState.IN_SESSION,
            auto_admit=True,
        )
    )


async def mint_probe_tokens(ctx: ServerContext) -> list[str]:
    """The delay probe's hearing (apart from the load's): a publisher and a subscriber token."""
    await save_hearing(ctx, PROBE_HEARING, 9999)
    return [
        ctx.issuer.issue(
            hearing=PROBE_HEARING,
            participant_id=f"probe-{j}",
            name=f"Delay probe {j}",
            role="lawyer",
            grants=grants,
        )
        for j, grants in enumerate(PROBE_GRANTS)
    ]


async def mint_tokens(ctx: ServerContext, rooms: int, participants: int) -> dict[str, list[str]]:
    """Schedule the bench hearings and return their speaker tokens, by hearing id."""
    tokens: dict[str, list[str]] = {}
    for i in range(rooms):
        hearing_id = f"bench-{i}"
        await save_hearing(ctx, hearing_id, i)
        tokens[hearing_id] = [
            ctx.issuer.issue(
                hearing=hearing_id,
                participant_id=f"p{j}",
                name=f"Participant {j}",
                role="lawyer",
                grants=SPEAKER,
            )
            for j in range(participants)
        ]
    return tokens


async def serve(port: int, rooms: int, participants: int, data_dir: Path, probe: bool) -> None:
    settings = Settings(
        host=HOST,
        port=port,
        ice_host_addresses=[HOST],
        data_dir=data_dir,
        log_level="warning",
        log_format="console",
    )
    configure_logging(settings.log_level, settings.log_format)  # stderr; stdout stays clean
    ctx = ServerContext.build(settings)
    app = create_app(ctx=ctx)
    pauses = GcPauses()
    gc.callbacks.append(pauses)

    async def gc_report(request: web.Request) -> web.Response:
        return web.json_response(pauses.as_json())

    app.router.add_get("/bench/gc", gc_report)
    runner = web.AppRunner(app, shutdown_timeout=settings.shutdown_timeout_seconds, access_log=None)
    await runner.setup()  # the context starts: database ready
    tokens = await mint_tokens(ctx, rooms, participants)
    probe_tokens = await mint_probe_tokens(ctx) if probe else []
    site = web.TCPSite(runner, HOST, port)
    await site.start()
    bound_port = port or int(runner.addresses[0][1])

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    line = {
        "url": f"http://{HOST}:{bound_port}",
        "pid": os.getpid(),
        "tokens": tokens,
        "probe_tokens": probe_tokens,
    }
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        await runner.cleanup()  # on_shutdown: disconnect signaling, close every peer connection


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0 = any free port")
    parser.add_argument("--rooms", type=int, required=True)
    parser.add_argument("--participants", type=int, required=True)
    parser.add_argument(
        "--probe", action="store_true", help="also the delay probe's hearing and its 2 tokens"
    )
    args = parser.parse_args(argv)
    # The server's own choice (TYNDAU_EVENT_LOOP, default uvloop), as `tyndau serve` makes it.
    kind = Settings().event_loop
    with (
        tempfile.TemporaryDirectory(prefix="tyndau-bench-") as tmp,
        asyncio.Runner(loop_factory=lambda: new_event_loop(kind)) as runner,
    ):
        runner.run(serve(args.port, args.rooms, args.participants, Path(tmp) / "data", args.probe))
    return 0


if __name__ == "__main__":
    sys.exit(main())
