"""A hearing's recording through a real failover of node processes, to its sealed archive.

Two ``tyndau serve`` nodes share PostgreSQL, Redis, the recordings directory
and the archive storage. A judge and a lawyer (real aiortc peers, entering
through the node that does not hold the hearing) are in session; the holding
node is killed with SIGKILL; the other takes the hearing over (its failover
sweep), the peers come back to it, and the judge closes the hearing there.
The surviving node's own mixing consumer archives it: one gap in the chain
with the dead node's name, segments from both nodes, a mixed file as long as
the recording time (the gap included), and an archive that verifies.
"""

from __future__ import annotations

import asyncio
import glob
import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import av
import pytest
from redis.asyncio import Redis
from support.cluster import node_env, seed_hearing, share_keys
from support.media import SolidColorTrack, ToneTrack
from support.ports import free_port
from support.running import HEARING_A, TEST_COURT
from support.server_process import NodeProcess, start_node
from support.waiting import wait_until

from server.hearings import Hearing
from server.placement import placement_key
from server.procedure.states import HearingState
from signaling.client import HearingClient

pytestmark = pytest.mark.integration

HEARTBEAT_SECONDS = 0.25
DEAD_SECONDS = 1.0
FAILOVER_TIMEOUT = 30.0  # a loaded machine: no speed is measured here
ARCHIVE_TIMEOUT = 300.0
BEFORE, AFTER = 4.0, 4.0  # seconds in session before the kill and after the take-over


def _unix(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


async def test_a_killed_nodes_hearing_is_recorded_on_the_next_and_archived(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    hearing = Hearing(
        id=HEARING_A,
        case_number="7599-26-00-1/0701",
        title="Failover recording",
        state=HearingState.OPEN,
        auto_admit=True,
        court=TEST_COURT,
    )
    tokens = await seed_hearing(tmp_path / "seed", postgres_url, hearing, ["judge", "lawyer"])
    shared = tmp_path / "shared"
    nodes: list[NodeProcess] = []
    for name in ("n1", "n2"):
        share_keys(tmp_path / "seed", tmp_path / name)
        env = node_env(
            name,
            postgres_url,
            redis_url,
            node_heartbeat_seconds=HEARTBEAT_SECONDS,
            node_dead_seconds=DEAD_SECONDS,
            recording_segment_seconds=2,
            recordings_dir=str(shared / "recordings"),
            archive_url=(shared / "archive").as_uri(),
            log_level="info",
        )
        nodes.append(
            await asyncio.to_thread(
                start_node, tmp_path / name, free_port(), tmp_path / f"{name}.log", env
            )
        )
    clients: list[HearingClient] = []
    redis = Redis.from_url(redis_url)
    try:
        probe = HearingClient(nodes[0].url, tokens["judge"])
        await probe.connect()
        owner = next(n for n in nodes if n.url == probe.url)
        await probe.close()
        entry = next(n for n in nodes if n is not owner)
        judge = HearingClient(entry.url, tokens["judge"], rejoin=True)
        lawyer = HearingClient(entry.url, tokens["lawyer"], rejoin=True)
        clients += [judge, lawyer]
        for client, rgb, tone in ((judge, (220, 40, 40), 440), (lawyer, (50, 70, 220), 660)):
            await client.connect()
            await client.join()
            await client.publish(SolidColorTrack(rgb), ToneTrack(tone))
        assert judge.url == lawyer.url == owner.url
        await wait_until(lambda: len(judge.active_tracks()) == 2, 30, "the lawyer's media")
        await judge.call("set_state", {"act": "start"})
        await wait_until(lambda: lawyer.hearing.get("state") == "in_session", 10, "in session")
        owner_id = (await redis.get(placement_key(HEARING_A))).decode()
        await asyncio.sleep(BEFORE)

        killed_at = time.time()
        owner.kill()
        await wait_until(
            lambda: judge.rejoins == 1 and lawyer.rejoins == 1,
            FAILOVER_TIMEOUT + 30,
            "both back in the hearing",
        )
        assert judge.url == lawyer.url == entry.url
        await asyncio.sleep(AFTER)
        await judge.call("set_state", {"act": "close"})

        def sealed() -> list[str]:
            return glob.glob(str(shared / "archive" / "*" / HEARING_A / "manifest.json"))

        await wait_until(lambda: bool(sealed()), ARCHIVE_TIMEOUT, "the archive")
        await wait_until(
            lambda: not (shared / "recordings" / HEARING_A).exists(), 60, "the capture released"
        )
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
        await redis.aclose()
        for node in nodes:
            node.stop()

    [manifest_path] = sealed()
    _check_archive(
        Path(manifest_path), owner_id, entry_id(entry, nodes), killed_at, tmp_path / "seed"
    )


def _check_archive(
    manifest_path: Path, owner_id: str, survivor_id: str, killed_at: float, keys_from: Path
) -> None:
    folder = manifest_path.parent
    manifest = json.loads(manifest_path.read_text())
    markers = manifest["recording"]["markers"]
    kinds = [m["marker"] for m in markers]
    assert kinds == ["started", "gap", "resumed", "stopped"], kinds
    gap = markers[1]
    assert gap["node"] == owner_id and gap["reason"] == "node_failed"
    assert markers[2]["reason"] == "failover"
    # From the dead node's last heartbeat (or its last index line) to the take-over.
    assert killed_at - 2 * DEAD_SECONDS <= _unix(gap["from"]) <= killed_at + 0.01
    assert _unix(gap["to"]) - killed_at <= FAILOVER_TIMEOUT
    assert len(manifest["gaps"]) == 1 and manifest["gaps"][0]["node"] == owner_id
    names = [s["file"] for s in manifest["capture"]["segments"]]
    names += [r["file"] for r in manifest["capture"]["recovered"]]
    assert any(n.endswith(f"-{owner_id}.mkv") for n in names)
    assert any(n.endswith(f"-{survivor_id}.mkv") for n in names)

    with av.open(str(folder / "mixed.mp4")) as container:
        duration = float(container.duration or 0) / av.time_base
    started, stopped = _unix(markers[0]["at"]), _unix(markers[-1]["at"])
    assert duration == pytest.approx(stopped - started, abs=0.5)

    checked = subprocess.run(
        [sys.executable, "-m", "server.cli", "archive", "verify", str(folder)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "TYNDAU_DATA_DIR": str(keys_from)},
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    print(
        f"\nrecording failover: gap {_unix(gap['to']) - _unix(gap['from']):.2f}s "
        f"(kill to take-over {_unix(gap['to']) - killed_at:.2f}s), mixed {duration:.2f}s "
        f"for {stopped - started:.2f}s in session"
    )


def entry_id(entry: NodeProcess, nodes: list[NodeProcess]) -> str:
    return ("n1", "n2")[nodes.index(entry)]
