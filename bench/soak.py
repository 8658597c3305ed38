"""Memory soak: one hearing on the bench server for N minutes, its RSS every 10 s, a linear fit.

Uses the load benchmark's server and generator (``bench/sfu_load.py``): P
participants who all publish pre-encoded VP8 + Opus and receive the others.
Every ``--interval`` seconds it samples the server's VmRSS and RssAnon
(``/proc/<pid>/status``), its CPU time and the packets it forwarded. After a
warm-up (``--warmup``, default 60 s, excluded from the fit) it fits a line
through RssAnon over time and reports the slope (KiB/min) and where the line
would be after one hour.

    python bench/soak.py --minutes 12 --participants 4 --pin --json soak.json

Exit code 1 if the joins or the flow check time out, or if the streams stop
flowing during the soak.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import sfu_load as load

from server.sfu.ice import restrict_host_addresses


def fit(samples: list[dict[str, float]], key: str, after_s: float) -> dict[str, float] | None:
    """Least-squares line through ``key`` (bytes) over time (s), samples after ``after_s``."""
    points = [(s["t"], s[key]) for s in samples if s["t"] >= after_s]
    if len(points) < 3:
        return None
    t = np.array([p[0] for p in points]) / 60.0  # minutes
    y = np.array([p[1] for p in points]) / 1024.0  # KiB
    slope, intercept = np.polyfit(t, y, 1)
    residual = y - (slope * t + intercept)
    return {
        "slope_kib_per_min": float(slope),
        "first_mib": float(y[0] / 1024),
        "last_mib": float(y[-1] / 1024),
        "fit_at_60_min_mib": float((slope * 60 + intercept) / 1024),
        "growth_to_60_min_mib": float(slope * (60 - t[0]) / 1024),
        "residual_sd_kib": float(residual.std()),
        "samples": len(points),
    }


async def soak(args: argparse.Namespace) -> dict[str, Any]:
    load.install_send_hook()
    restrict_host_addresses([load.HOST])
    server = await load.ServerProcess.start(1, args.participants, args.pin, args.server_log)
    gen: load.Generator | None = None
    session = aiohttp.ClientSession()
    samples: list[dict[str, float]] = []
    try:
        await asyncio.sleep(1)
        idle = load.process_memory(server.pid)
        gen = load.Generator(server.url, args.participants)
        tokens = server.tokens["bench-0"]
        await asyncio.wait_for(
            asyncio.gather(*(gen.join("bench-0", i, tokens[i]) for i in range(args.participants))),
            args.join_timeout,
        )
        await load.wait_for(gen.all_flowing, args.join_timeout, "every subscribed stream to flow")
        gc.collect()
        gc.freeze()
        began = time.monotonic()
        cpu0 = load.process_cpu_seconds(server.pid)
        print(
            f"soak: {args.participants} flowing; sampling every {args.interval:.0f} s "
            f"for {args.minutes} min",
            file=sys.stderr,
        )
        while (elapsed := time.monotonic() - began) <= args.minutes * 60:
            memory = load.process_memory(server.pid)
            metrics = await load.server_metrics(session, server.url)
            samples.append(
                {
                    "t": elapsed,
                    "rss": memory["VmRSS"],
                    "anon": memory["RssAnon"],
                    "cpu_s": load.process_cpu_seconds(server.pid) - cpu0,
                    "forwarded": metrics.get("tyndau_packets_forwarded_total", 0.0),
                }
            )
            if len(samples) % 6 == 1:
                print(
                    f"soak: {elapsed / 60:5.1f} min  VmRSS {memory['VmRSS'] / 2**20:6.1f} MiB  "
                    f"RssAnon {memory['RssAnon'] / 2**20:6.1f} MiB",
                    file=sys.stderr,
                )
            if not gen.all_flowing():
                raise RuntimeError(f"streams stopped flowing: {gen.flow_summary()}")
            await asyncio.sleep(args.interval - (time.monotonic() - began) % args.interval)
        first, last = samples[0], samples[-1]
        span = last["t"] - first["t"]
        return {
            "participants": args.participants,
            "minutes": args.minutes,
            "interval_s": args.interval,
            "warmup_s": args.warmup,
            "machine": load.machine(),
            "idle_mib": {k: v / 2**20 for k, v in idle.items()},
            "forwarded_packets_per_s": (last["forwarded"] - first["forwarded"]) / span,
            "cpu_percent": 100 * (last["cpu_s"] - first["cpu_s"]) / span,
            "anon_fit": fit(samples, "anon", args.warmup),
            "rss_fit": fit(samples, "rss", args.warmup),
            "samples": samples,
        }
    finally:
        await session.close()
        if gen is not None:
            await gen.close()
        await server.stop()


def render(result: dict[str, Any]) -> str:
    lines = [
        f"soak: 1 hearing x {result['participants']}, {result['minutes']} min, "
        f"{result['forwarded_packets_per_s']:.0f} fwd pkt/s, SFU CPU {result['cpu_percent']:.1f} %"
    ]
    for name, key in (("RssAnon", "anon_fit"), ("VmRSS", "rss_fit")):
        f = result[key]
        if f is None:
            lines.append(f"  {name}: too few samples after the warm-up")
            continue
        lines.append(
            f"  {name}: {f['first_mib']:.1f} -> {f['last_mib']:.1f} MiB; slope "
            f"{f['slope_kib_per_min']:+.1f} KiB/min (residual sd {f['residual_sd_kib']:.0f} KiB,"
            f" {f['samples']} samples); line at 60 min {f['fit_at_60_min_mib']:.1f} MiB "
            f"({f['growth_to_60_min_mib']:+.1f} MiB from the first fitted sample)"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=12)
    parser.add_argument("--participants", type=int, default=4)
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds left out of the fit")
    parser.add_argument("--pin", action="store_true", help="server on CPU 0, generator on CPU 1")
    parser.add_argument("--join-timeout", type=float, default=60.0)
    parser.add_argument("--server-log", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.pin:
        if (os.cpu_count() or 1) < 2:
            parser.error("--pin needs two CPUs")
        os.sched_setaffinity(0, {1})
    try:
        result = asyncio.run(soak(args))
    except (TimeoutError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(render(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
