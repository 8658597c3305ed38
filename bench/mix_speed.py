"""Mixing speed: a 4-person hearing of N minutes, as a multiple of real time.

Writes a capture directory like the server's (tests/support/capture_fixture.py:
VP8 640x480 at 30 fps with a moving bar and noise, Opus 20 ms, segments of
10 s, sender reports, one late joiner, one with a gap), then times
``recorder.mixer.mix`` on it. Run it on one core to compare machines:

    taskset -c 0 .venv/bin/python bench/mix_speed.py --minutes 5

Results and the machine they came from: bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support import capture_fixture  # noqa: E402
from support.capture_fixture import Person, write_capture  # noqa: E402

from recorder.mixer import mix  # noqa: E402

START = 1_796_027_600.0


def people(seconds: float) -> list[Person]:
    """Four people: two all along, a late joiner, one with a minute-long gap."""
    flashes = [10.0 * k + 1 for k in range(int(seconds // 10))]
    gap = (seconds * 0.4, seconds * 0.4 + min(60.0, seconds * 0.2))
    return [
        Person("p1", "Серікова Әлия", "judge", 500, (40, 60, 120), [(0, seconds)],
               flashes, 1234567, 98765, moving=True),
        Person("p2", "Нұрланов Нұрлан", "prosecutor", 900, (120, 60, 40), [(0, seconds)],
               [f + 2 for f in flashes], 4_000_000_000, 77, clock_offset=1.7, moving=True),
        Person("p3", "Ахметова Дина", "lawyer", 1300, (40, 120, 60), [(seconds * 0.1, seconds)],
               [f + 4 for f in flashes], 555, 777, moving=True),
        Person("p4", "Иванов Пётр", "detainee", 1700, (100, 100, 100),
               [(0, gap[0]), (gap[1], seconds)], [f + 6 for f in flashes], 99, 11, moving=True),
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=2.0, help="hearing length (default 2)")
    parser.add_argument("--capture", type=Path, help="reuse (or keep) the capture here")
    parser.add_argument("--preset", default="veryfast", help="libx264 preset (default veryfast)")
    parser.add_argument("--json", type=Path, help="write the result here too")
    args = parser.parse_args()
    seconds = args.minutes * 60
    capture_fixture.SIZE = (640, 480)
    with tempfile.TemporaryDirectory(prefix="mix-speed-") as scratch:
        capture = args.capture or Path(scratch) / "capture"
        if not (capture / "segments.jsonl").exists():
            began = time.monotonic()
            write_capture(capture, people(seconds), start=START, duration=seconds,
                          segment_seconds=10.0)  # fmt: skip
            print(f"capture written in {time.monotonic() - began:.0f} s: {capture}")
        size = sum(p.stat().st_size for p in capture.glob("*.mkv"))
        out = Path(scratch) / "mixed.mp4"
        wall, cpu = time.monotonic(), time.process_time()
        result = mix(capture, out, preset=args.preset)
        wall, cpu = time.monotonic() - wall, time.process_time() - cpu
        report = {
            "minutes": args.minutes,
            "participants": result.participants,
            "mixed_seconds": round(result.duration, 2),
            "wall_seconds": round(wall, 2),
            "cpu_seconds": round(cpu, 2),
            "x_realtime": round(result.duration / wall, 2),
            "x_realtime_cpu": round(result.duration / cpu, 2),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "capture_mib": round(size / 2**20, 1),
            "mixed_mib": round(out.stat().st_size / 2**20, 1),
            "cpus": sorted(os.sched_getaffinity(0)),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "preset": args.preset,
            "warnings": len(result.warnings),
        }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
