"""``tyndau serve`` as a real process: the demo with the join links it prints, or a plain node."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

LINK = re.compile(r"^\s+(\S+)\s+(.+):\s*$")


@dataclass
class DemoServer:
    process: subprocess.Popen[str]
    url: str
    links: dict[str, str]
    log_path: Path

    def stop(self) -> int:
        self.process.terminate()
        try:
            return self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def start_demo_server(
    data_dir: Path, port: int, log_path: Path, extra_env: Mapping[str, str] | None = None
) -> DemoServer:
    """Start the demo server on loopback and read its printed join links.

    ``extra_env``: more settings for this server (``TYNDAU_*``), over the ones here.
    """
    env = {
        **os.environ,
        "TYNDAU_DATA_DIR": str(data_dir),
        "TYNDAU_ICE_HOST_ADDRESSES": "127.0.0.1",
        "TYNDAU_LOG_FORMAT": "console",
        **(extra_env or {}),
    }
    log = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--demo", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    links: dict[str, str] = {}
    role = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"the server exited; see {log_path}")
        if links and not line.strip():  # a blank line ends the list of links
            break
        match = LINK.match(line)
        if match:
            role = match.group(1)
        elif role and "/join#token=" in line:
            links[role] = line.strip()
            role = None
    url = f"http://127.0.0.1:{port}"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=1) as response:  # noqa: S310
                if response.status == 200:
                    return DemoServer(process, url, links, log_path)
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the server did not become ready; see {log_path}")


@dataclass
class NodeProcess:
    """``tyndau serve`` (no demo) as a process: a node of several, to be stopped or killed."""

    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def kill(self) -> None:
        """SIGKILL: the node dies without a word (no graceful leave, no closed sockets)."""
        self.process.kill()
        self.process.wait()

    def stop(self) -> int:
        if self.process.poll() is not None:
            return self.process.returncode
        self.process.terminate()
        try:
            return self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def start_node(data_dir: Path, port: int, log_path: Path, env: Mapping[str, str]) -> NodeProcess:
    """Start ``tyndau serve`` on loopback with ``env`` (``TYNDAU_*``) and wait until it is ready."""
    full_env = {
        **os.environ,
        "TYNDAU_DATA_DIR": str(data_dir),
        "TYNDAU_ICE_HOST_ADDRESSES": "127.0.0.1",
        "TYNDAU_LOG_FORMAT": "console",
        **env,
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=full_env,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the node exited; see {log_path}")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=1) as response:  # noqa: S310
                if response.status == 200:
                    return NodeProcess(process, url, log_path)
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the node did not become ready; see {log_path}")
