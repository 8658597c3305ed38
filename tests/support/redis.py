"""A throwaway ``redis-server`` on loopback for the test session (several nodes share it).

Debian's ``redis-server`` binary (``./scripts/test.sh`` installs the package) runs
with its own command line, not Debian's service: a free port, 127.0.0.1 only, no
persistence (nothing here must survive), stopped at the end. ``restart()`` stops
it and starts it again on the same port, empty: what a node sees when Redis dies.
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
import socket
import subprocess
import time

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

    def __init__(self) -> None:
        self.port = 0
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
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
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
