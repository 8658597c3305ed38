"""Join time in Chromium: from the join request to the first decoded remote video frame.

    python bench/join_time_browser.py --trials 10 [--pin]

Like ``bench/join_time.py``, but each joiner is Debian's Chromium
(``/usr/bin/chromium``, or ``TYNDAU_CHROMIUM``) driven by Playwright, with the
fake camera and microphone switches the browser tests use. The bench server
(``bench/sfu_server.py``) has one hearing; an aiortc host publishes live-encoded
VP8 (answers keyframe requests, like a browser) and Opus. Then, one after the
other, each trial opens a fresh browser context and runs the web client's own
signaling and subscriber modules (``/static/signaling.js``,
``/static/subscriber.js``) in the page: connect, ``join``, answer the subscribe
offers; the host's video goes into a ``<video>`` element and
``requestVideoFrameCallback`` marks its first decoded (presented) frame. All
times are ``performance.now()`` in the page:

- join ack: the ``join`` request's acknowledgement
- subscribe offer: the first ``subscribe_offer`` arrived
- track: the host's video track came out of the subscribe connection
- first frame: the first decoded frame of it was presented

and reports p50/p95/max of each, from the join request (and the first frame
from the Socket.IO connect). Never runs ``playwright install``: only the system
Chromium.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from typing import Any

import numpy as np
from join_time import PatternTrack
from playwright.async_api import Browser, async_playwright
from sfu_load import (
    HOST,
    ClipTrack,
    PacingStats,
    ServerProcess,
    codec_preferences,
    encode_audio_clip,
)

from server.sfu.ice import restrict_host_addresses
from signaling.client import HearingClient

CHROMIUM = os.environ.get("TYNDAU_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [  # tests/browser/conftest.py's
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--autoplay-policy=no-user-gesture-required",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Runs in the page: the web client's modules, no UI. Resolves to the marks (ms).
JOIN_SCRIPT = """
async ({token, hostId, limitMs}) => {
  const { Signaling } = await import("/static/signaling.js");
  const { Subscriber } = await import("/static/subscriber.js");
  const { rtcConfiguration } = await import("/static/ice-config.js");
  const marks = {};
  const t0 = performance.now();
  const signaling = new Signaling(token);
  await new Promise((resolve) => signaling.on("connect", resolve));
  marks.connected = performance.now() - t0;
  let ackResolve, frameResolve;
  const ack = new Promise((r) => (ackResolve = r));
  const frame = new Promise((r) => (frameResolve = r));
  const subscriber = new Subscriber({
    signaling,
    rtcConfig: ack.then(rtcConfiguration),
    onTrack: (participantId, track) => {
      if (participantId !== hostId || track.kind !== "video" || marks.track) return;
      marks.track = performance.now() - t0;
      const video = document.createElement("video");
      video.muted = true;
      video.autoplay = true;
      video.playsInline = true;
      video.srcObject = new MediaStream([track]);
      document.body.appendChild(video);
      video.requestVideoFrameCallback(() => {
        marks.frame = performance.now() - t0;
        frameResolve();
      });
      video.play().catch(() => {});
    },
    onTrackGone: () => {},
    onError: (err) => console.error("subscribe failed", err),
  });
  signaling.on("subscribe_offer", (offer) => {
    if (marks.offer === undefined) marks.offer = performance.now() - t0;
    subscriber.enqueue(offer);
  });
  marks.join = performance.now() - t0;
  ackResolve(await signaling.request("join", {}));
  marks.ack = performance.now() - t0;
  const timeout = new Promise((_, reject) =>
    setTimeout(() => reject(new Error("no decoded frame in time")), limitMs));
  await Promise.race([frame, timeout]);
  subscriber.close();
  signaling.close();
  return marks;
}
"""


async def one_trial(
    browser: Browser, url: str, token: str, host_id: str, limit: float
) -> dict[str, float]:
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.goto(f"{url}/healthz")  # any page of the server's origin
        marks = await asyncio.wait_for(
            page.evaluate(
                JOIN_SCRIPT, {"token": token, "hostId": host_id, "limitMs": limit * 1000}
            ),
            limit + 5,
        )
    finally:
        await context.close()
    join = marks["join"]
    return {
        "join_ack": (marks["ack"] - join) / 1000,
        "subscribe_offer": (marks["offer"] - join) / 1000,
        "track": (marks["track"] - join) / 1000,
        "first_frame_from_join": (marks["frame"] - join) / 1000,
        "first_frame_from_connect": marks["frame"] / 1000,
    }


def summary(values: list[float]) -> dict[str, float]:
    p50, p95 = np.percentile(values, [50, 95]) * 1000
    return {
        "p50_ms": round(p50, 1),
        "p95_ms": round(p95, 1),
        "max_ms": round(max(values) * 1000, 1),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240 - one stat before anything starts
        raise RuntimeError(f"{CHROMIUM} is missing (Debian's chromium package)")
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
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            try:
                for i in range(args.trials):
                    trial = await one_trial(browser, server.url, tokens[i + 1], host_id, args.limit)
                    trials.append(trial)
                    shown = {k: round(v * 1000) for k, v in trial.items()}
                    print(f"trial {i + 1} (ms): {shown}", file=sys.stderr)
                    await asyncio.sleep(args.pause)
            finally:
                await browser.close()
        return {
            "trials": len(trials),
            "pinned": args.pin,
            "browser": "chromium " + browser.version,
            **{key: summary([t[key] for t in trials]) for key in trials[0]},
        }
    finally:
        if host is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(host.close(), 10)
        await server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--limit", type=float, default=20, help="s per trial")
    parser.add_argument("--pause", type=float, default=0.5, help="s between trials")
    parser.add_argument("--pin", action="store_true", help="server on CPU 0, the rest on CPU 1")
    args = parser.parse_args(argv)
    if args.pin:
        os.sched_setaffinity(0, {1})  # Chromium, started from here, inherits it
    budget = 90 + args.trials * (args.limit + args.pause + 15)
    try:
        result = asyncio.run(asyncio.wait_for(run(args), budget))
    except (TimeoutError, RuntimeError) as exc:
        print(f"error: {exc or 'over the time budget'}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
