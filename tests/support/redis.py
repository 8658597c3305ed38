"""A throwaway ``redis-server`` on loopback for the test session (several nodes share it).

Debian's ``redis-server`` binary (``./scripts/test.sh`` installs the package) runs
with its own command line, not Debian's service: a free port, 127.0.0.1 only, no
persistence (nothing here must survive), stopped at the end. ``restart()`` stops
it and starts it again on the same port, empty: what a node sees when Redis dies.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import redis
from redis.asyncio.client import PubSub

from support.ports import free_port

REDIS_SERVER = "redis-server"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
MISSING = (
    "redis-server is not installed: run ./scripts/test.sh, which installs the Debian "
    "package `redis-server`"
)


class RedisUnavailable(RuntimeError):
    """The binary is missing."""


class RedisServer:
    """One ``redis-server`` process; ``url()`` names a database on it."""

    def __init__(self, *options: str, config: Path | None = None, port: int = 0) -> None:
        """``options``: more of redis-server's command line; ``config``: a file read first
        (a sentinel's: it rewrites it)."""
        self.port = port
        self.options = options
        self.config = config
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        atexit.register(self.stop)  # a safety net; the fixture stops it first
        for _ in range(3):  # the free port may be taken in between: try another
            self.port = self.port or free_port()
            if self._launch():
                return
            self.port = 0
        raise RuntimeError("redis-server found no free port in 3 tries")

    def stop(self) -> None:
        """Stop the process (bounded); safe to call twice."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def restart(self) -> None:
        """Stop, then start again on the same port with nothing in it."""
        self.stop()
        self.start()

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def flush(self) -> None:
        """Empty every database: each test starts from nothing."""
        assert self._command(b"FLUSHALL") == b"+OK"

    def _launch(self) -> bool:
        """Start and wait for PONG; False if the port was taken."""
        command = [REDIS_SERVER, *([str(self.config)] if self.config else [])]
        command += ["--port", str(self.port), "--bind", "127.0.0.1", "--daemonize", "no"]
        if "--sentinel" not in self.options:  # a sentinel keeps no data
            command += ["--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(
            [*command, *self.options],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches pytest, which stops the server itself
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = (
                    self.process.stdout.read().decode(errors="replace")
                    if self.process.stdout
                    else ""
                )
                self.process = None
                if "Address already in use" in output:
                    return False
                raise RuntimeError(f"redis-server exited at start-up:\n{output}")
            with contextlib.suppress(OSError):
                if self._command(b"PING") == b"+PONG":
                    return True
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer within {START_TIMEOUT:.0f}s")

    def kill(self) -> None:
        """SIGKILL: the machine it ran on is gone."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def client(self) -> redis.Redis:
        """A blocking client (the test's own look, not a node's)."""
        return redis.Redis(port=self.port, socket_timeout=2, socket_connect_timeout=2)

    def _command(self, command: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            sock.sendall(command + b"\r\n")
            return sock.recv(64).strip()


def start_redis() -> RedisServer:
    """Start a throwaway server, or raise ``RedisUnavailable`` saying what to install."""
    if shutil.which(REDIS_SERVER) is None:
        raise RedisUnavailable(MISSING)
    server = RedisServer()
    server.start()  # a failed start leaves no process behind (see _launch)
    return server


class SentinelGroup:
    """A master, its replica and three sentinels watching them, named ``service``.

    The sentinels call the master down after ``down_after_ms`` of silence and
    promote the replica (two of three must agree). ``url`` is what nodes are
    given: ``redis+sentinel://`` with the three sentinels.
    """

    def __init__(self, directory: Path, service: str = "tyndau", down_after_ms: int = 1000):
        self.directory = directory
        self.service = service
        self.down_after_ms = down_after_ms
        self.master = RedisServer(port=free_port())
        self.replica = RedisServer(port=free_port())
        self.sentinels: list[RedisServer] = []

    def start(self) -> None:
        self.master.start()
        self.replica.options = ("--replicaof", "127.0.0.1", str(self.master.port))
        self.replica.start()
        for index in range(3):
            port = free_port()
            config = self.directory / f"sentinel-{index}.conf"
            config.write_text(
                f"sentinel monitor {self.service} 127.0.0.1 {self.master.port} 2\n"
                f"sentinel down-after-milliseconds {self.service} {self.down_after_ms}\n"
                f"sentinel failover-timeout {self.service} 10000\n"
                f"sentinel parallel-syncs {self.service} 1\n"
            )
            sentinel = RedisServer("--sentinel", config=config, port=port)
            sentinel.start()
            self.sentinels.append(sentinel)
        self._wait(self._ready, "the sentinels to know the replica and each other")

    def stop(self) -> None:
        for server in [*self.sentinels, self.replica, self.master]:
            server.stop()

    def url(self, db: int = 0) -> str:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{db}/{self.service}"

    def wait_for_failover(self, timeout: float = 60.0) -> None:
        """Until every sentinel names the replica as a master in good standing (what a
        client asks them: right after the switch some still report the old one down)."""
        self._wait(self._promoted, "the replica promoted", timeout)

    def _promoted(self) -> bool:
        for sentinel in self.sentinels:
            with contextlib.suppress(redis.RedisError), sentinel.client() as client:
                state = client.sentinel_master(self.service)
                good = state["is_master"] and not (state["is_sdown"] or state["is_odown"])
                if good and int(state["port"]) == self.replica.port:
                    continue
            return False
        return True

    def _ready(self) -> bool:
        for sentinel in self.sentinels:
            with sentinel.client() as client:
                replicas = client.sentinel_slaves(self.service)
                others = client.sentinel_sentinels(self.service)
            if len(replicas) != 1 or len(others) != 2:
                return False
        with self.replica.client() as client:
            return client.info("replication").get("master_link_status") == "up"

    @staticmethod
    def _wait(ready: Callable[[], bool], what: str, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what}")
            time.sleep(0.1)


async def read_until_lost(pubsub: PubSub, timeout: float = 10.0) -> None:
    """Read until the subscription's connection is found lost (it raises ``RedisError``);
    ``TimeoutError`` if it never is: the loss went unseen."""
    async with asyncio.timeout(timeout):
        while True:
            await pubsub.get_message(timeout=0.1)
