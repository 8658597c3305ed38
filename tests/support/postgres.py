"""A throwaway PostgreSQL server for the test session, and a fresh database per test.

The server runs Debian's binaries (``apt-get install postgresql``, done by
``./scripts/test.sh``) straight from ``/usr/lib/postgresql/<version>/bin``: a
cluster is made with ``initdb`` in a temporary directory, ``postgres`` listens
on a free loopback port with durability switched off (nothing here needs to
survive a crash), and everything is stopped and deleted at the end. PostgreSQL
refuses to run as root, so under root the binaries run as the ``postgres``
user the Debian package creates, owning the temporary directory.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import itertools
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from support.ports import free_port

SEARCH = "/usr/lib/postgresql/*/bin"
SUPERUSER = "tyndau"
RUN_AS = "postgres"  # created by Debian's postgresql-common
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
MEMORY_DIR_MIN_FREE = 1 << 30  # /dev/shm holds the cluster only when it has 1 GiB free
MISSING = (
    "PostgreSQL is not installed (no initdb/postgres in /usr/lib/postgresql/*/bin): "
    "run ./scripts/test.sh, which installs the Debian package `postgresql`"
)


class PostgresUnavailable(RuntimeError):
    """The binaries or the user to run them as are missing."""


def find_bindir() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` that has initdb and postgres."""
    found = []
    for bindir in Path("/").glob(SEARCH.lstrip("/")):
        if (bindir / "initdb").is_file() and (bindir / "postgres").is_file():
            version = tuple(int(part) for part in re.findall(r"\d+", bindir.parent.name))
            found.append((version, bindir))
    return max(found)[1] if found else None


@dataclass(frozen=True)
class _Account:
    uid: int
    gid: int


def _run_as() -> _Account | None:
    """None when not root; otherwise the unprivileged account to run PostgreSQL as."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(RUN_AS)
    except KeyError:
        raise PostgresUnavailable(
            f"PostgreSQL refuses to run as root and there is no `{RUN_AS}` user to run it as: "
            "run ./scripts/test.sh, which installs the Debian package `postgresql` (it adds one)"
        ) from None
    return _Account(entry.pw_uid, entry.pw_gid)


def _traversable_by_others(path: Path) -> bool:
    return all(p.stat().st_mode & 0o001 for p in [path, *path.parents])


class PostgresServer:
    """One ``postgres`` process on 127.0.0.1; ``create_database()`` gives each test its own."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.account = _run_as()
        self.password = secrets.token_hex(16)
        self.host = "127.0.0.1"
        self.port = 0
        self.root: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._names = itertools.count(1)

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        atexit.register(self.stop)  # a safety net; the fixture stops it first
        self.root = Path(tempfile.mkdtemp(prefix="tyndau-pg-", dir=self._parent_dir()))
        (self.root / "socket").mkdir()
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self.account is not None:
            for path in (self.root, self.root / "socket", pwfile):
                os.chown(path, self.account.uid, self.account.gid)
        try:
            self._initdb(pwfile)
        finally:
            pwfile.unlink()
        for _ in range(3):  # the free port may be taken in between: try another
            self.port = free_port()
            if self._launch():
                break
        else:
            log_text = self.log_path.read_text(errors="replace")
            raise RuntimeError(f"postgres found no free port in 3 tries; its log:\n{log_text}")
        self._check_connection()

    def stop(self) -> None:
        """Fast shutdown (bounded), then delete the cluster; safe to call twice."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)  # "fast" shutdown: end sessions, stop
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        root, self.root = self.root, None
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)

    def _parent_dir(self) -> Path:
        """Where the cluster goes: memory if there is room (CREATE DATABASE is ~20x faster)."""
        shm = Path("/dev/shm")  # noqa: S108 - a private mkdtemp directory inside it
        with contextlib.suppress(OSError):
            if shutil.disk_usage(shm).free >= MEMORY_DIR_MIN_FREE and os.access(shm, os.W_OK):
                return shm
        parent = Path(tempfile.gettempdir())
        if self.account is not None and not _traversable_by_others(parent):
            parent = Path("/tmp")  # noqa: S108 - the postgres user must reach the directory
        return parent

    @property
    def log_path(self) -> Path:
        assert self.root is not None
        return self.root / "postgres.log"

    def _command(self, *args: str | Path, timeout: float) -> None:
        result = subprocess.run(
            [str(a) for a in args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            **self._popen_user(),
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{Path(str(args[0])).name} failed ({result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}"
            )

    def _popen_user(self) -> dict[str, object]:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "TZ": "UTC"}
        if self.account is None:
            return {"env": env}
        return {
            "env": env,
            "user": self.account.uid,
            "group": self.account.gid,
            "extra_groups": [],
            "cwd": self.root,
        }

    def _initdb(self, pwfile: Path) -> None:
        assert self.root is not None
        self._command(
            self.bindir / "initdb",
            "--pgdata",
            self.root / "data",
            "--username",
            SUPERUSER,
            "--pwfile",
            pwfile,
            "--auth",
            "scram-sha-256",
            "--encoding",
            "UTF8",
            "--locale",
            "C",
            "--no-sync",
            timeout=120,
        )

    def _launch(self) -> bool:
        """Start ``postgres`` and wait until it accepts connections; False if the port was taken."""
        assert self.root is not None
        settings = {
            "listen_addresses": self.host,
            "port": str(self.port),
            "unix_socket_directories": str(self.root / "socket"),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
            # Not UTC, like a court's server in Kazakhstan: stored moments must not depend on it.
            "timezone": "Asia/Almaty",
        }
        args = [str(self.bindir / "postgres"), "-D", str(self.root / "data")]
        for key, value in settings.items():
            args += ["-c", f"{key}={value}"]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches pytest, which stops the server itself
                **self._popen_user(),  # type: ignore[arg-type]
            )
        pid_file = self.root / "data" / "postmaster.pid"
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log_text = self.log_path.read_text(errors="replace")
                self.process = None
                if "Address already in use" in log_text:
                    return False
                raise RuntimeError(f"postgres exited at start-up; its log:\n{log_text}")
            # The 8th line of postmaster.pid turns "ready" once connections are accepted
            # (what `pg_ctl start -w` waits for).
            with contextlib.suppress(OSError, IndexError):
                if pid_file.read_text().splitlines()[7].strip() == "ready":
                    return True
            time.sleep(0.05)
        log_text = self.log_path.read_text(errors="replace")
        self.stop()
        raise RuntimeError(
            f"postgres did not accept connections within {START_TIMEOUT:.0f}s; its log:\n{log_text}"
        )

    # -- databases ----------------------------------------------------------------------------

    def url(self, database: str) -> str:
        return (
            f"postgresql+asyncpg://{SUPERUSER}:{self.password}@{self.host}:{self.port}/{database}"
        )

    def create_database(self) -> str:
        """A new empty database; returns its name."""
        name = f"test_{next(self._names)}_{secrets.token_hex(3)}"
        self._admin(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        # FORCE: a test that failed half-way may have left connections open.
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _check_connection(self) -> None:
        try:
            self._admin("SELECT 1")
        except Exception as error:
            log_text = self.log_path.read_text(errors="replace")
            self.stop()
            raise RuntimeError(
                f"cannot connect to the test postgres: {error}\n{log_text}"
            ) from error

    def _admin(self, sql: str) -> None:
        """Run one statement in the maintenance database (from sync code, any thread)."""

        async def run() -> None:
            connection = await asyncpg.connect(
                host=self.host,
                port=self.port,
                user=SUPERUSER,
                password=self.password,
                database="postgres",
                timeout=10,
            )
            try:
                await connection.execute(sql, timeout=30)
            finally:
                await connection.close()

        # A thread of its own: the caller may be inside a running event loop.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(asyncio.run, run()).result()


def start_postgres() -> PostgresServer:
    """Start a throwaway server, or raise ``PostgresUnavailable`` saying what to install."""
    bindir = find_bindir()
    if bindir is None:
        raise PostgresUnavailable(MISSING)
    server = PostgresServer(bindir)
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    return server
