"""Several nodes (issue 7): hearings spread over nodes, and recovery from a killed node.

    python bench/cluster.py capacity --nodes 1 --hearings 4 [--participants 4] [--seconds 15]
    python bench/cluster.py capacity --nodes 2 --hearings 4
    python bench/cluster.py failover --trials 5 [--participants 4]

Starts a throwaway ``redis-server`` and PostgreSQL (``tests/support``), schedules the
bench hearings in the database and mints their tokens with one key ring that every
node gets a copy of, then runs ``tyndau serve`` N times as processes (node ids
``n0``, ``n1``...; each its own port and ``TYNDAU_NODE_URL``), pinned with taskset
to ``--node-cpus`` (default CPU 1). The participants run in this process, pinned
to ``--generator-cpus`` (default CPU 0), with ``sfu_load.py``'s load generator
(pre-encoded VP8 + Opus clips, subscribers count RTP instead of decoding). Every
participant enters through an entry node, the way every browser enters through the
public origin, and follows the ``wrong_node`` redirect to the hearing's node.
In ``capacity`` the entries take turns over the nodes (nginx's round-robin for
"any node"); in ``failover`` the entry is the node that survives.

``capacity``
    Joins H hearings of P, waits until every stream flows and ``--warmup`` s more,
    then measures ``--seconds`` s: where placement put each hearing (Redis), CPU
    of each node process (``/proc/<pid>/stat``), packets received and lost
    (sequence-number gaps). On this 2-CPU machine the generator needs about as
    much CPU as the SFU (bench/README.md), so two nodes share one CPU here: the
    run shows the balance and the CPU per hearing on each node, not a doubled
    ceiling.

``failover``
    Two nodes, one hearing of P participants that come back on their own after a
    lost connection (``HearingClient(rejoin=True)``). Each trial SIGKILLs the
    hearing's node, and measures from the kill to the first RTP packet each
    participant receives again (polled every 5 ms); the trial's time is the
    slowest participant's. The clients' entry is the surviving node (in a
    deployment: the public origin, routed to any live node). The killed node is
    started again before the next trial. p50/p95 over the trials.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the throwaway Redis and PostgreSQL of the tests

from redis.asyncio import Redis  # noqa: E402
from sfu_load import Generator, bounded, process_cpu_seconds  # noqa: E402
from support.ports import free_port  # noqa: E402
from support.postgres import PostgresServer, start_postgres  # noqa: E402
from support.redis import RedisServer, start_redis  # noqa: E402

from server.auth.keys import KeyRing  # noqa: E402
from server.auth.tokens import Grants, TokenIssuer  # noqa: E402
from server.db.database import Database  # noqa: E402
from server.hearings import Hearing, HearingRegistry  # noqa: E402
from server.procedure.states import HearingState  # noqa: E402
from server.settings import Settings  # noqa: E402
from server.sfu.ice import restrict_host_addresses  # noqa: E402

SPEAKER = Grants(publish_audio=True, publish_video=True, subscribe=True)
READY_TIMEOUT = 60.0
FLOW_TIMEOUT = 120.0
RECOVERY_TIMEOUT = 60.0
POLL = 0.005


@dataclass
class Node:
    """One ``tyndau serve`` process."""

    node_id: str
    port: int
    data_dir: Path
    env: dict[str, str]
    cpus: str
    log_path: Path
    process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self) -> None:
        command = ["taskset", "-c", self.cpus, sys.executable, "-m", "server.cli", "serve"]
        command += ["--port", str(self.port)]
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                *command, stdout=log, stderr=log, env={**os.environ, **self.env}, cwd=ROOT
            )
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.returncode is not None:
                raise RuntimeError(f"node {self.node_id} exited; see {self.log_path}")
            if await asyncio.to_thread(_ready, self.url):
                return
            await asyncio.sleep(0.2)
        raise RuntimeError(f"node {self.node_id} not ready; see {self.log_path}")

    async def kill(self) -> None:
        """SIGKILL: no graceful leave, no closed sockets (taskset execs, so the pid is the node)."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), 20)
        except TimeoutError:
            await self.kill()


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=1) as response:  # noqa: S310
            return bool(response.status == 200)
    except OSError:
        return False


class Cluster:
    """Redis, PostgreSQL, the seeded hearings and N nodes."""

    def __init__(self, root: Path, nodes: int, node_cpus: str, logs: Path | None) -> None:
        self.root = root
        self.logs = logs
        if logs is not None:
            logs.mkdir(parents=True, exist_ok=True)
        self.count = nodes
        self.node_cpus = node_cpus
        self.redis: RedisServer | None = None
        self.postgres: PostgresServer | None = None
        self.database = ""
        self.nodes: list[Node] = []

    async def start(self, hearings: int, participants: int) -> dict[str, list[str]]:
        self.redis = await asyncio.to_thread(start_redis)
        self.postgres = await asyncio.to_thread(start_postgres)
        self.database = await asyncio.to_thread(self.postgres.create_database)
        database_url = self.postgres.url(self.database)
        tokens = await self._seed(database_url, hearings, participants)
        for index in range(self.count):
            node_id = f"n{index}"
            port = free_port()
            data_dir = self.root / node_id
            shutil.copytree(self.root / "seed" / "keys", data_dir / "keys")
            env = {
                "TYNDAU_NODE_ID": node_id,
                "TYNDAU_NODE_URL": f"http://127.0.0.1:{port}",
                "TYNDAU_DATA_DIR": str(data_dir),
                "TYNDAU_DATABASE_URL": database_url,
                "TYNDAU_REDIS_URL": self.redis.url(),
                "TYNDAU_ICE_HOST_ADDRESSES": "127.0.0.1",
                "TYNDAU_LOG_LEVEL": os.environ.get("TYNDAU_LOG_LEVEL", "warning"),
                "TYNDAU_LOG_FORMAT": "console",
                "TYNDAU_RECORDING_ENABLED": "false",
            }
            log_path = (self.logs or self.root) / f"{node_id}.log"
            node = Node(node_id, port, data_dir, env, self.node_cpus, log_path)
            self.nodes.append(node)
        await asyncio.gather(*(node.start() for node in self.nodes))
        return tokens

    async def _seed(
        self, database_url: str, hearings: int, participants: int
    ) -> dict[str, list[str]]:
        """The hearings in the database, and their tokens signed with the nodes' keys."""
        # Only the database and the key ring: a whole ServerContext would build an SFU in
        # this process, whose ICE settings are process-wide and would apply to the clients.
        settings = Settings(data_dir=self.root / "seed", database_url=database_url)
        db = Database(database_url)
        await db.upgrade()
        registry = HearingRegistry(db)
        issuer = TokenIssuer.for_settings(
            KeyRing.load_or_create(self.root / "seed" / "keys"), settings
        )
        tokens: dict[str, list[str]] = {}
        try:
            for i in range(hearings):
                hearing_id = f"bench-{i}"
                await registry.save(
                    Hearing(
                        id=hearing_id,
                        case_number=f"BENCH-{i:04d}",
                        title=f"Cluster bench {i}",
                        state=HearingState.IN_SESSION,
                        auto_admit=True,
                    )
                )
                tokens[hearing_id] = [
                    issuer.issue(
                        hearing=hearing_id,
                        participant_id=f"p{j}",
                        name=f"Participant {j}",
                        role="lawyer",
                        grants=SPEAKER,
                        ttl_seconds=3600,
                    )
                    for j in range(participants)
                ]
        finally:
            await db.close()
        return tokens

    def redis_client(self) -> Redis:
        assert self.redis is not None
        return Redis.from_url(self.redis.url())

    async def stop(self) -> None:
        await asyncio.gather(*(node.stop() for node in self.nodes), return_exceptions=True)
        if self.postgres is not None:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.postgres.drop_database, self.database)
            await asyncio.to_thread(self.postgres.stop)
        if self.redis is not None:
            await asyncio.to_thread(self.redis.stop)


async def placements(redis: Redis, hearing_ids: list[str]) -> dict[str, str | None]:
    found = {}
    for hearing_id in hearing_ids:
        value = await redis.get(f"tyndau:placement:{hearing_id}")
        found[hearing_id] = value.decode() if value is not None else None
    return found


async def wait_flowing(gen: Generator) -> None:
    deadline = time.monotonic() + FLOW_TIMEOUT
    while not gen.all_flowing():
        if time.monotonic() > deadline:
            raise RuntimeError(f"not every stream flows: {gen.flow_summary()}")
        await asyncio.sleep(0.2)


def loss(gen: Generator) -> tuple[int, int]:
    """(expected, lost) packets over every subscribed stream, from sequence numbers."""
    streams = gen.streams()
    expected = sum(s.highest + 1 for s in streams if s.highest >= 0)
    received = sum(s.packets - s.out_of_order for s in streams)
    return expected, max(0, expected - received)


async def capacity(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    cluster = Cluster(root, args.nodes, args.node_cpus, args.logs)
    gen: Generator | None = None
    try:
        tokens = await cluster.start(args.hearings, args.participants)
        gen = Generator(cluster.nodes[0].url, args.participants)
        entries = itertools.cycle(cluster.nodes)

        async def join(hearing: str, index: int, token: str, entry: Node) -> None:
            gen.url = entry.url  # read by join() before its first await: this join's entry
            await gen.join(hearing, index, token)

        # Each hearing's first participant places it; --stagger apart, as hearings start at
        # their own times (0: all at once, within one heartbeat's stale load figures).
        for hearing, hearing_tokens in tokens.items():
            await join(hearing, 0, hearing_tokens[0], next(entries))
            await asyncio.sleep(args.stagger)
        joins = [  # the others, entering round-robin over the nodes (as nginx's "any node")
            join(hearing, index, hearing_tokens[index], next(entries))
            for index in range(1, args.participants)
            for hearing, hearing_tokens in tokens.items()
        ]
        await bounded(joins, args.join_concurrency)
        await wait_flowing(gen)
        await asyncio.sleep(args.warmup)
        cpu_start = {n.node_id: process_cpu_seconds(n.pid) for n in cluster.nodes}
        expected_start, lost_start = loss(gen)
        started = time.monotonic()
        await asyncio.sleep(args.seconds)
        seconds = time.monotonic() - started
        cpu = {
            n.node_id: (process_cpu_seconds(n.pid) - cpu_start[n.node_id]) / seconds * 100
            for n in cluster.nodes
        }
        expected_end, lost_end = loss(gen)
        redis = cluster.redis_client()
        try:
            placed = await placements(redis, list(tokens))
        finally:
            await redis.aclose()
        per_node = {
            n.node_id: sorted(h for h, p in placed.items() if p == n.node_id) for n in cluster.nodes
        }
        expected = expected_end - expected_start
        return {
            "mode": "capacity",
            "nodes": args.nodes,
            "hearings": args.hearings,
            "participants": args.participants,
            "seconds": round(seconds, 1),
            "stagger_seconds": args.stagger,
            "placement": per_node,
            "unplaced": sorted(h for h, p in placed.items() if p is None),
            "node_cpu_percent": {k: round(v, 1) for k, v in cpu.items()},
            "cpu_percent_per_hearing": {
                k: round(cpu[k] / len(v), 1) if v else None for k, v in per_node.items()
            },
            "received_packets_per_second": round(expected / seconds),
            "loss_percent": round(100 * (lost_end - lost_start) / expected, 3)
            if expected
            else None,
        }
    finally:
        if gen is not None:
            await gen.close()
        await cluster.stop()


async def failover(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    cluster = Cluster(root, 2, args.node_cpus, args.logs)
    gen: Generator | None = None
    trials: list[dict[str, Any]] = []
    try:
        tokens = await cluster.start(1, args.participants)
        hearing_id, hearing_tokens = next(iter(tokens.items()))
        gen = Generator(cluster.nodes[0].url, args.participants, client_options={"rejoin": True})
        await bounded(
            [gen.join(hearing_id, i, hearing_tokens[i]) for i in range(args.participants)],
            args.join_concurrency,
        )
        await wait_flowing(gen)
        redis = cluster.redis_client()
        try:
            for trial in range(args.trials):
                owner_id = (await placements(redis, [hearing_id]))[hearing_id]
                owner = next(n for n in cluster.nodes if n.node_id == owner_id)
                survivor = next(n for n in cluster.nodes if n is not owner)
                for participant in gen.participants:
                    participant.client.base_url = survivor.url  # type: ignore[union-attr]
                await asyncio.sleep(args.settle)
                killed_at = time.perf_counter()
                await owner.kill()
                moved = asyncio.create_task(replaced(redis, hearing_id, owner.node_id, killed_at))
                back = await recovered(gen, killed_at)
                replaced_after = await moved
                placed = (await placements(redis, [hearing_id]))[hearing_id]
                trials.append(
                    {
                        "trial": trial,
                        "killed": owner.node_id,
                        "placed_after": placed,
                        "replaced_seconds": replaced_after,
                        "all_back_seconds": max(back) if back else None,
                        "per_participant_seconds": back,
                    }
                )
                print(json.dumps(trials[-1]), flush=True)
                await owner.start()  # back for the next trial, with the same id and port
                await wait_flowing(gen)
        finally:
            await redis.aclose()
    finally:
        if gen is not None:
            await gen.close()
        await cluster.stop()
    times = sorted(t["all_back_seconds"] for t in trials if t["all_back_seconds"] is not None)
    moves = sorted(t["replaced_seconds"] for t in trials if t["replaced_seconds"] is not None)
    return {
        "mode": "failover",
        "participants": args.participants,
        "trials": trials,
        "recovered": len(times),
        "p50_seconds": round(statistics.median(times), 3) if times else None,
        "p95_seconds": round(_percentile(times, 95), 3) if times else None,
        "max_seconds": round(times[-1], 3) if times else None,
        "replaced_p50_seconds": round(statistics.median(moves), 3) if moves else None,
    }


async def replaced(redis: Redis, hearing_id: str, owner: str, killed_at: float) -> float | None:
    """Seconds from the kill until the hearing is placed on another node (polled every 20 ms)."""
    deadline = time.monotonic() + RECOVERY_TIMEOUT
    while time.monotonic() < deadline:
        placed = (await placements(redis, [hearing_id]))[hearing_id]
        if placed is not None and placed != owner:
            return round(time.perf_counter() - killed_at, 3)
        await asyncio.sleep(0.02)
    return None


async def recovered(gen: Generator, killed_at: float) -> list[float]:
    """Seconds from the kill to each participant's first RTP packet after it, on a stream
    of the connection made again (a packet of the old one still queued must not count)."""
    old = [list(p.streams.values()) for p in gen.participants]  # held: ids stay unique
    before = [{id(s) for s in streams} for streams in old]
    back: dict[int, float] = {}
    deadline = time.monotonic() + RECOVERY_TIMEOUT
    while len(back) < len(gen.participants) and time.monotonic() < deadline:
        for number, participant in enumerate(gen.participants):
            if number in back:
                continue
            arrivals = [
                s.last_arrival for s in participant.streams.values() if id(s) not in before[number]
            ]
            if any(at > killed_at for at in arrivals):
                back[number] = time.perf_counter() - killed_at
        await asyncio.sleep(POLL)
    if len(back) < len(gen.participants):
        raise RuntimeError(f"not every participant recovered: {gen.flow_summary()}")
    return [round(back[n], 3) for n in sorted(back)]


def _percentile(values: list[float], percent: float) -> float:
    """Nearest-rank percentile of sorted ``values``."""
    rank = max(1, -(-len(values) * percent // 100))
    return values[int(rank) - 1]


def machine() -> dict[str, Any]:
    with open("/proc/loadavg") as fh:
        load = fh.read().split()[:3]
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "loadavg_before": load,
        "at": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    cap = sub.add_parser("capacity", help="H hearings of P over N nodes: placement and CPU")
    cap.add_argument("--nodes", type=int, default=2)
    cap.add_argument("--hearings", type=int, default=4)
    cap.add_argument("--seconds", type=float, default=15.0)
    cap.add_argument("--warmup", type=float, default=10.0)
    cap.add_argument("--stagger", type=float, default=1.5, help="s between hearings' first joins")
    fail = sub.add_parser("failover", help="SIGKILL the hearing's node; time until media is back")
    fail.add_argument("--trials", type=int, default=5)
    fail.add_argument("--settle", type=float, default=5.0, help="s of flowing media before a kill")
    for mode in (cap, fail):
        mode.add_argument("--participants", type=int, default=4)
        mode.add_argument("--node-cpus", default="1", help="taskset CPU list of the nodes")
        mode.add_argument("--generator-cpus", default="0", help="CPUs of this process")
        mode.add_argument("--join-concurrency", type=int, default=4)
        mode.add_argument("--json", type=Path, help="write the result here too")
        mode.add_argument("--logs", type=Path, help="keep the nodes' logs in this directory")
    args = parser.parse_args(argv)
    os.sched_setaffinity(0, {int(c) for c in args.generator_cpus.split(",")})
    restrict_host_addresses(["127.0.0.1"])  # the participants, like the nodes, on loopback
    given = {key: str(value) for key, value in vars(args).items()}
    result: dict[str, Any] = {"machine": machine(), "args": given}
    with tempfile.TemporaryDirectory(prefix="tyndau-cluster-") as tmp:
        run = capacity if args.mode == "capacity" else failover
        result |= asyncio.run(run(args, Path(tmp)))
    text = json.dumps(result, indent=2, default=str)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
