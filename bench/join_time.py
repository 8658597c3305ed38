"""Join time: from a client's join request to its first decoded remote video frame.

    python bench/join_time.py --trials 20 [--pin]

Starts ``bench/sfu_server.py`` (the real app, loopback only) with one hearing. A
host joins and publishes live-encoded video (aiortc's VP8 encoder, so it answers
the SFU's keyframe request, as a browser does) and Opus. Then, one after the
other, ``--trials`` aiortc clients (:class:`signaling.client.HearingClient`)
connect, join and wait for the host's video to decode. Per trial it records:

- connect: Socket.IO connection (``connect``) started
- join: the ``join`` request sent (after the connection is up)
- first frame: ``track.recv()`` of the host's video returned a decoded frame

and reports p50/p95/max of (first frame - join) and (first frame - connect).
Every trial has a time limit; the run stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fractions
import json
import os
import sys
import time
from typing import Any

import av
import numpy as np
from aiortc import MediaStreamTrack
from sfu_load import (
    HOST,
    ClipTrack,
    PacingStats,
    ServerProcess,
    codec_preferences,
    encode_audio_clip,
)

from server.sfu.ice import restrict_host_addresses
from signaling.client import HearingClient, RemoteTrack

SIZE = (320, 240)
FPS = 30


class PatternTrack(MediaStreamTrack):
    """Raw frames (a moving bar) that aiortc encodes live, so keyframe requests work."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self._start: float | None = None
        self._index = 0
        width, height = SIZE
        self._base = np.zeros((height, width, 3), np.uint8)

    async def recv(self) -> av.VideoFrame:  # type: ignore[override]
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        wait = self._start + self._index / FPS - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        image = self._base.copy()
        x = (self._index * 4) % SIZE[0]
        image[:, x : x + 16] = 255
        frame = av.VideoFrame.from_ndarray(image, "rgb24")
        frame.pts = self._index * (90_000 // FPS)
        frame.time_base = fractions.Fraction(1, 90_000)
        self._index += 1
        return frame


async def one_trial(url: str, token: str, host_id: str, limit: float) -> dict[str, float]:
    """Connect, join, wait for the host's first decoded video frame (seconds)."""
    video: asyncio.Future[MediaStreamTrack] = asyncio.get_running_loop().create_future()
    first_rtp: list[float] = []

    def on_remote(remote: RemoteTrack) -> None:
        if remote.kind == "video" and remote.participant_id == host_id and not video.done():
            assert remote.track is not None
            assert client.subscribe_pc is not None
            receiver = next(
                t.receiver for t in client.subscribe_pc.getTransceivers() if t.mid == remote.mid
            )
            handle = receiver._handle_rtp_packet

            async def timed(packet: Any, arrival_time_ms: int) -> None:
                if not first_rtp:
                    first_rtp.append(time.perf_counter())
                await handle(packet, arrival_time_ms)

            receiver._handle_rtp_packet = timed  # type: ignore[method-assign]
            video.set_result(remote.track)

    client = HearingClient(url, token, codec_preferences=codec_preferences())
    client.on_remote_track = on_remote
    try:
        t_connect = time.perf_counter()
        await asyncio.wait_for(client.connect(), limit)
        t_join = time.perf_counter()
        await asyncio.wait_for(client.join(), limit)
        t_ack = time.perf_counter()
        track = await asyncio.wait_for(video, limit)
        t_track = time.perf_counter()
        await asyncio.wait_for(track.recv(), limit)
        t_frame = time.perf_counter()
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.close(), 10)
    return {
        "join_ack": t_ack - t_join,
        "track": t_track - t_join,
        "first_rtp_from_join": (first_rtp[0] if first_rtp else t_frame) - t_join,
        "first_frame_from_join": t_frame - t_join,
        "first_frame_from_connect": t_frame - t_connect,
    }


def summary(values: list[float]) -> dict[str, float]:
    p50, p95 = np.percentile(values, [50, 95]) * 1000
    return {"p50_ms": float(p50), "p95_ms": float(p95), "max_ms": max(values) * 1000}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    restrict_host_addresses([HOST])
    server = await ServerProcess.start(1, args.trials + 1, args.pin, None)
    host: HearingClient | None = None
    try:
        tokens = server.tokens["bench-0"]
        host = HearingClient(server.url, tokens[0], codec_preferences=codec_preferences())
        await host.connect()
        host_id = (await host.join())["self"]["id"]
        await host.publish(PatternTrack(), ClipTrack(encode_audio_clip(), PacingStats()))
        await asyncio.sleep(2)
        trials = []
        for i in range(args.trials):
            trials.append(await one_trial(server.url, tokens[i + 1], host_id, args.limit))
            print(f"trial {i + 1}: {trials[-1]}", file=sys.stderr)
            await asyncio.sleep(args.pause)
        return {
            "trials": len(trials),
            "pinned": args.pin,
            **{key: summary([t[key] for t in trials]) for key in trials[0]},
        }
    finally:
        if host is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(host.close(), 10)
        await server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--limit", type=float, default=15, help="s per step of a trial")
    parser.add_argument("--pause", type=float, default=0.5, help="s between trials")
    parser.add_argument("--pin", action="store_true", help="server on CPU 0, clients on CPU 1")
    args = parser.parse_args(argv)
    if args.pin:
        os.sched_setaffinity(0, {1})
    budget = 60 + args.trials * (4 * args.limit + args.pause + 10)
    try:
        result = asyncio.run(asyncio.wait_for(run(args), budget))
    except (TimeoutError, RuntimeError) as exc:
        print(f"error: {exc or 'over the time budget'}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
