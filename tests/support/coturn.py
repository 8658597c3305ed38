"""A real coturn (``turnserver``) on loopback for the tests, with a throwaway configuration.

It takes credentials exactly as a court's does (``use-auth-secret``, see
deploy/coturn/turnserver.conf), but listens and relays on 127.0.0.1 and lets
peers on loopback be reached, because the SFU under test is on loopback.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from support.ports import free_port

TURNSERVER = os.environ.get("TYNDAU_TURNSERVER", "/usr/bin/turnserver")
REALM = "tyndau.test"
# A hard bound on the process, should the test runner die without stopping it.
MAX_LIFETIME_SECONDS = 1800


@dataclass
class Coturn:
    process: subprocess.Popen[bytes]
    port: int
    secret: str
    log_path: Path

    @property
    def udp_url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=udp"

    @property
    def tcp_url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=tcp"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)


def _config(directory: Path, port: int, secret: str) -> str:
    return "\n".join(
        [
            "listening-ip=127.0.0.1",
            f"listening-port={port}",
            "relay-ip=127.0.0.1",
            "use-auth-secret",
            f"static-auth-secret={secret}",
            f"realm={REALM}",
            "fingerprint",
            # The SFU under test listens on 127.0.0.1; a court's coturn never allows this.
            "allow-loopback-peers",
            "no-multicast-peers",
            "no-tls",
            "no-dtls",
            "no-cli",
            f"userdb={directory / 'turndb'}",
            f"pidfile={directory / 'turnserver.pid'}",
            f"log-file={directory / 'turnserver.log'}",
            "simple-log",
            "verbose",
            "",
        ]
    )


def _answers_stun(port: int) -> bool:
    """A STUN binding request over UDP gets a success response (RFC 8489)."""
    transaction = secrets.token_bytes(12)
    request = struct.pack("!HHI", 0x0001, 0, 0x2112A442) + transaction
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.5)
        try:
            sock.sendto(request, ("127.0.0.1", port))
            data, _ = sock.recvfrom(2048)
        except OSError:
            return False
    return len(data) >= 20 and data[:2] == b"\x01\x01" and data[8:20] == transaction


@contextmanager
def running_coturn(directory: Path, secret: str | None = None) -> Iterator[Coturn]:
    """Start ``turnserver``, wait until it answers STUN, and always stop it afterwards."""
    if shutil.which(TURNSERVER) is None:
        raise RuntimeError(f"{TURNSERVER} is missing: ./scripts/test.sh installs Debian's coturn")
    directory.mkdir(parents=True, exist_ok=True)
    secret = secret or secrets.token_urlsafe(24)
    port = free_port()
    config = directory / "turnserver.conf"
    config.write_text(_config(directory, port, secret))
    command = ["timeout", "--kill-after=10", str(MAX_LIFETIME_SECONDS), TURNSERVER]
    process = subprocess.Popen(
        [*command, "-c", str(config)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=(directory / "turnserver.stderr").open("wb"),
    )
    coturn = Coturn(process, port, secret, directory / "turnserver.log")
    try:
        deadline = time.monotonic() + 60  # generous: the machine is shared with browser tests
        while not _answers_stun(port):
            if process.poll() is not None:
                raise RuntimeError(f"turnserver exited ({process.returncode}); see {directory}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"turnserver did not answer on port {port}; see {directory}")
            time.sleep(0.2)
        yield coturn
    finally:
        coturn.stop()
