"""Janus (Debian's ``janus`` package, VideoRoom plugin) as a load target, for ``sfu_load.py``.

:class:`JanusProcess` starts ``janus`` with a temporary configuration directory:
only the HTTP transport, on 127.0.0.1 and a free port; only the VideoRoom plugin;
ICE on the loopback interface only (``ice_enforce_list = "lo"``), no STUN/TURN,
no mDNS, no event handlers or loggers. :class:`JanusSession` and
:class:`JanusHandle` speak the Janus HTTP API (create, attach, message, keepalive,
long-poll for events). :class:`JanusParticipant` is one bench participant: a
publisher handle (join + publish with the aiortc offer, Janus answers) and one
subscriber handle for the P-1 others (join with ``streams``, the multistream
form of Janus 1.x; Janus offers, aiortc answers, ``start``).

Janus is a bench-only dependency: ``apt-get install janus``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCRtpTransceiver, RTCSessionDescription

HOST = "127.0.0.1"
# Janus (janus_ice_setup_local) never gathers on a loopback *interface*. The bench
# therefore runs in a private network namespace (see :func:`netns_command`) where a
# veth interface holds 127.0.0.2: loopback addresses only, unreachable from outside.
ICE_INTERFACE = "tyndaubench0"
ICE_ADDRESS = "127.0.0.2"
NETNS_ENV = "TYNDAU_BENCH_NETNS"
LIB_DIRS = ("/usr/lib/x86_64-linux-gnu/janus", "/usr/lib/aarch64-linux-gnu/janus", "/usr/lib/janus")
REQUEST_TIMEOUT = 30.0  # s, for one Janus request and its asynchronous event


def janus_binary() -> str:
    """The ``janus`` executable, or a clear error saying how to install it."""
    path = shutil.which("janus") or ("/usr/bin/janus" if Path("/usr/bin/janus").exists() else None)
    if path is None:
        raise RuntimeError("Janus is not installed (bench-only dependency): apt-get install janus")
    return path


def janus_lib_dir() -> Path:
    for candidate in LIB_DIRS:
        if (Path(candidate) / "plugins" / "libjanus_videoroom.so").exists():
            return Path(candidate)
    raise RuntimeError("Janus's VideoRoom plugin was not found: apt-get install janus")


def free_udp_range(size: int = 2000) -> tuple[int, int]:
    """A port range for Janus's RTP sockets, starting at a port free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, 0))
        port = int(s.getsockname()[1])
    start = min(port, 65535 - size)
    return start, start + size - 1


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def in_bench_netns() -> bool:
    """Whether this process runs in the namespace :func:`netns_command` made."""
    if os.environ.get(NETNS_ENV) != "1":
        return False
    # not /sys/class/net: sysfs shows the namespace it was mounted in
    return any(name == ICE_INTERFACE for _, name in socket.if_nameindex())


def netns_command(argv: list[str]) -> list[str]:
    """``argv`` run in a new network namespace: lo up, and a veth pair whose one end
    holds 127.0.0.2 (for Janus's ICE). Root, or unprivileged user namespaces, needed."""
    setup = (
        "ip link set lo up"
        f" && ip link add {ICE_INTERFACE} type veth peer name {ICE_INTERFACE}p"
        f" && ip addr add {ICE_ADDRESS}/32 dev {ICE_INTERFACE}"
        f" && ip link set {ICE_INTERFACE} up && ip link set {ICE_INTERFACE}p up"
        f' && exec env {NETNS_ENV}=1 "$@"'
    )
    unshare = ["unshare", "--net"] if os.geteuid() == 0 else ["unshare", "-r", "--net"]
    return [*unshare, "--", "sh", "-c", setup, "sh", *argv]


def write_config(folder: Path, lib: Path, http_port: int, rtp: tuple[int, int]) -> Path:
    """janus.jcfg, the HTTP transport and the VideoRoom plugin: loopback only."""
    plugins = lib / "plugins"
    disabled_plugins = ",".join(
        p.name for p in plugins.glob("libjanus_*.so") if p.name != "libjanus_videoroom.so"
    )
    disabled_transports = ",".join(
        p.name for p in (lib / "transports").glob("libjanus_*.so") if p.name != "libjanus_http.so"
    )
    (folder / "janus.jcfg").write_text(
        f"""general: {{
    configs_folder = "{folder}"
    plugins_folder = "{plugins}"
    transports_folder = "{lib / "transports"}"
    events_folder = "{lib / "events"}"
    loggers_folder = "{lib / "loggers"}"
    debug_level = 3
    admin_secret = "{secrets.token_hex(16)}"
    session_timeout = 60
    server_name = "tyndau-bench"
}}
certificates: {{
}}
media: {{
    rtp_port_range = "{rtp[0]}-{rtp[1]}"
}}
nat: {{
    ice_enforce_list = "{ICE_INTERFACE}"
    ignore_mdns = true
    full_trickle = false
}}
plugins: {{
    disable = "{disabled_plugins}"
}}
transports: {{
    disable = "{disabled_transports}"
}}
loggers: {{
    disable = "libjanus_jsonlog.so"
}}
events: {{
    broadcast = false
}}
"""
    )
    (folder / "janus.transport.http.jcfg").write_text(
        f"""general: {{
    json = "compact"
    base_path = "/janus"
    http = true
    port = {http_port}
    ip = "{HOST}"
    https = false
}}
admin: {{
    admin_http = false
    admin_https = false
}}
cors: {{
}}
"""
    )
    (folder / "janus.plugin.videoroom.jcfg").write_text("general: {\n}\n")
    return folder / "janus.jcfg"


class JanusProcess:
    """``janus`` in a temporary configuration directory, optionally pinned to CPU 0."""

    def __init__(self, process: subprocess.Popen[bytes], url: str, folder: Path) -> None:
        self.process = process
        self.url = url  # http://127.0.0.1:PORT/janus
        self.pid = process.pid
        self.folder = folder

    @classmethod
    async def start(cls, pin: bool, log_path: Path | None) -> JanusProcess:
        if not in_bench_netns():
            raise RuntimeError("Janus must run in the bench's network namespace (netns_command)")
        binary = janus_binary()
        lib = janus_lib_dir()
        folder = Path(tempfile.mkdtemp(prefix="tyndau-bench-janus-"))
        port = free_tcp_port()
        config = write_config(folder, lib, port, free_udp_range())
        command = [binary, f"--config={config}", f"--configs-folder={folder}"]
        command += ["--disable-colors", "--debug-level=3"]
        command += os.environ.get("JANUS_BENCH_ARGS", "").split()
        if pin:
            command = ["taskset", "-c", "0", *command]
        log = (log_path or folder / "janus.log").open("ab")
        process = subprocess.Popen(  # noqa: ASYNC220 - started once, waited for below
            command, stdout=log, stderr=subprocess.STDOUT, cwd=folder, start_new_session=True
        )
        log.close()
        janus = cls(process, f"http://{HOST}:{port}/janus", folder)
        try:
            await janus._wait_ready(20)
        except BaseException:
            janus.stop()
            raise
        return janus

    async def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"janus exited with {self.process.returncode}: {self.log()}")
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    timeout_1s = aiohttp.ClientTimeout(total=1)
                    async with session.get(f"{self.url}/info", timeout=timeout_1s) as resp:
                        info = await resp.json(content_type=None)
                        if "janus.plugin.videoroom" in info.get("plugins", {}):
                            return
                        raise RuntimeError("janus runs without the VideoRoom plugin")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"janus did not answer in {timeout:.0f} s: {self.log()}")
                await asyncio.sleep(0.2)

    def log(self, tail: int = 2000) -> str:
        with contextlib.suppress(OSError):
            return (self.folder / "janus.log").read_text(errors="replace")[-tail:]
        return ""

    def stop(self, grace: float = 10.0) -> int:
        """SIGTERM, then SIGKILL after ``grace`` s; removes the configuration directory."""
        try:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(grace)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(5)
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
        return self.process.returncode if self.process.returncode is not None else -1


class JanusError(RuntimeError):
    pass


class JanusSession:
    """One Janus session over HTTP: requests, a keepalive, and a long poll for events."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.http = http
        self.url = url
        self.id = 0
        self._waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    async def create(self) -> None:
        reply = await self._post(self.url, {"janus": "create"})
        self.id = int(reply["data"]["id"])
        self._tasks = [
            asyncio.ensure_future(self._poll()),
            asyncio.ensure_future(self._keepalive()),
        ]

    async def _post(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        body.setdefault("transaction", secrets.token_hex(8))
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
        async with self.http.post(url, json=body, timeout=timeout) as resp:
            reply: dict[str, Any] = await resp.json(content_type=None)
        if reply.get("janus") == "error":
            raise JanusError(f"{body.get('janus')}: {reply.get('error')}")
        return reply

    async def request(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST; if Janus acks, wait for the event with the same transaction."""
        transaction = secrets.token_hex(8)
        body["transaction"] = transaction
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiters[transaction] = future
        try:
            reply = await self._post(f"{self.url}/{self.id}{path}", body)
            if reply.get("janus") != "ack":
                return reply
            return await asyncio.wait_for(future, REQUEST_TIMEOUT)
        finally:
            self._waiters.pop(transaction, None)

    async def _poll(self) -> None:
        timeout = aiohttp.ClientTimeout(total=40)
        while True:
            try:
                url = f"{self.url}/{self.id}?maxev=10"
                async with self.http.get(url, timeout=timeout) as resp:
                    events = await resp.json(content_type=None)
            except (aiohttp.ClientError, TimeoutError):
                await asyncio.sleep(0.2)
                continue
            for event in events if isinstance(events, list) else [events]:
                waiter = self._waiters.get(event.get("transaction", ""))
                if waiter is not None and not waiter.done() and event.get("janus") != "ack":
                    waiter.set_result(event)

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(20)
            with contextlib.suppress(aiohttp.ClientError, TimeoutError, JanusError):
                await self._post(f"{self.url}/{self.id}", {"janus": "keepalive"})

    async def attach(self) -> JanusHandle:
        reply = await self.request("", {"janus": "attach", "plugin": "janus.plugin.videoroom"})
        return JanusHandle(self, int(reply["data"]["id"]))

    async def destroy(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(aiohttp.ClientError, TimeoutError, JanusError):
            await self._post(f"{self.url}/{self.id}", {"janus": "destroy"})


class JanusHandle:
    """A handle attached to janus.plugin.videoroom."""

    def __init__(self, session: JanusSession, handle_id: int) -> None:
        self.session = session
        self.id = handle_id

    async def message(
        self, body: dict[str, Any], jsep: dict[str, str] | None = None
    ) -> tuple[dict[str, Any], dict[str, str] | None]:
        """The plugin's data and JSEP, synchronous or from the event; errors raise."""
        request: dict[str, Any] = {"janus": "message", "body": body}
        if jsep is not None:
            request["jsep"] = jsep
        reply = await self.session.request(f"/{self.id}", request)
        data: dict[str, Any] = reply.get("plugindata", {}).get("data", {})
        if "error" in data:
            raise JanusError(f"{body.get('request')}: {data['error']}")
        return data, reply.get("jsep")

    async def trickle_done(self) -> None:
        """Our SDP held every candidate: tell Janus there are no more (else ICE waits)."""
        url = f"{self.session.url}/{self.session.id}/{self.id}"
        await self.session._post(url, {"janus": "trickle", "candidate": {"completed": True}})


def room_id(index: int) -> int:
    return 1000 + index


def feed_id(room: int, index: int) -> int:
    return room * 100 + index + 1


async def create_room(session: JanusSession, room: int, publishers: int) -> None:
    """A VideoRoom for ``publishers`` speakers: VP8 and Opus only, no bitrate cap."""
    handle = await session.attach()
    await handle.message(
        {
            "request": "create",
            "room": room,
            "publishers": publishers,
            "videocodec": "vp8",
            "audiocodec": "opus",
            "bitrate": 0,
            "fir_freq": 0,
            "notify_joining": False,
            "audiolevel_event": False,
        }
    )


def route_by_mid(pc: RTCPeerConnection) -> None:
    """Route Janus's packets to receivers by their mid header extension.

    aiortc 1.16 routes RTP by SSRC and payload type only; with several Opus m-lines
    from Janus (all PT 111) audio reached the wrong receivers. Janus puts the mid
    extension on every packet, so the subscriber's router looks it up first.
    """
    by_mid = {str(t.mid): t.receiver for t in pc.getTransceivers()}
    routers = {
        id(t.receiver.transport._rtp_router): t.receiver.transport._rtp_router
        for t in pc.getTransceivers()
    }
    for router in routers.values():
        fallback = router.route_rtp

        def route(packet: Any, fallback: Any = fallback) -> Any:
            receiver = by_mid.get(packet.extensions.mid) if packet.extensions.mid else None
            return receiver if receiver is not None else fallback(packet)

        router.route_rtp = route


class JanusParticipant:
    """A publisher handle and a subscriber handle, each with its aiortc peer connection."""

    def __init__(self, session: JanusSession, room: int, feed: int) -> None:
        self.session = session
        self.room = room
        self.feed = feed
        self.publish_pc: RTCPeerConnection | None = None
        self.subscribe_pc: RTCPeerConnection | None = None

    async def publish(
        self,
        tracks: list[MediaStreamTrack],
        preferences: dict[str, list[Any]],
    ) -> RTCPeerConnection:
        """Join as publisher, offer audio+video (sendonly), set Janus's answer."""
        handle = await self.session.attach()
        await handle.message(
            {"request": "join", "ptype": "publisher", "room": self.room, "id": self.feed}
        )
        pc = self.publish_pc = RTCPeerConnection()
        for track in tracks:
            transceiver = pc.addTransceiver(track, direction="sendonly")
            transceiver.setCodecPreferences(preferences[track.kind])
        await pc.setLocalDescription(await pc.createOffer())
        offer = {"type": "offer", "sdp": pc.localDescription.sdp}
        publish = {"request": "publish", "audio": True, "video": True}
        _, answer = await handle.message(publish, offer)
        await handle.trickle_done()
        if answer is None:
            raise JanusError("publish: no answer from Janus")
        await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
        return pc

    async def subscribe(
        self,
        feeds: list[int],
        on_transceiver: Callable[[RTCRtpTransceiver, int, str], None],
    ) -> RTCPeerConnection:
        """One subscriber handle for ``feeds``: Janus offers, aiortc answers, then start.

        ``on_transceiver(transceiver, feed, kind)`` is called for every offered stream
        before the answer, so the receive path can be hooked before media flows.
        """
        handle = await self.session.attach()
        data, offer = await handle.message(
            {
                "request": "join",
                "ptype": "subscriber",
                "room": self.room,
                "streams": [{"feed": feed} for feed in feeds],
            }
        )
        if offer is None:
            raise JanusError("subscriber join: no offer from Janus")
        pc = self.subscribe_pc = RTCPeerConnection()
        await pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], offer["type"]))
        by_mid = {str(s["mid"]): s for s in data.get("streams", [])}
        for transceiver in pc.getTransceivers():
            stream = by_mid.get(str(transceiver.mid))
            if stream is not None and stream.get("type") in ("audio", "video"):
                on_transceiver(transceiver, int(stream["feed_id"]), str(stream["type"]))
        await pc.setLocalDescription(await pc.createAnswer())
        route_by_mid(pc)
        answer = {"type": "answer", "sdp": pc.localDescription.sdp}
        await handle.message({"request": "start"}, answer)
        await handle.trickle_done()
        return pc

    async def close(self) -> None:
        for pc in (self.subscribe_pc, self.publish_pc):
            if pc is not None:
                with contextlib.suppress(Exception):
                    await pc.close()


def main() -> int:
    """Start Janus, print its info, stop it: ``python bench/janus_client.py``."""
    if not in_bench_netns():
        command = netns_command([sys.executable, *sys.argv])
        os.execvp(command[0], command)  # noqa: S606 - a fixed command, no shell

    async def check() -> None:
        janus = await JanusProcess.start(pin=False, log_path=None)
        try:
            async with aiohttp.ClientSession() as http, http.get(f"{janus.url}/info") as resp:
                info = await resp.json(content_type=None)
            print(json.dumps({"version": info.get("version_string"), "pid": janus.pid}))
        finally:
            print(f"janus stopped: {janus.stop()}", file=sys.stderr)

    asyncio.run(check())
    return 0


if __name__ == "__main__":
    sys.exit(main())
