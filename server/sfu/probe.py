"""The self-test's network check: a short-lived peer connection that echoes probes.

Before joining (and again from the hearing) a client measures the round trip
and the loss between it and this server over a real WebRTC path: it offers
one data channel, unordered with ``maxRetransmits: 0`` so that a lost probe
stays lost, sends numbered probes and times their echoes. The server sends
every message straight back on the same channel; nothing else flows.

Bounded: one probe per owner (a signaling connection) at a time, at most
``limit`` on the node, each closed after ``seconds`` whatever happens, and
only small messages, a limited number of them, are echoed.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

import structlog
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCDataChannel,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.sdp import SessionDescription

from server.errors import CodedError
from server.sfu.room import Sfu

log = structlog.get_logger(__name__)

PROBE_SECONDS = 10.0
MAX_PROBES = 32
# A probe is a sequence number and a send time; anything longer is not echoed.
MAX_MESSAGE_BYTES = 64
# A client sends a few dozen; the cap keeps a probe from becoming a reflector.
MAX_ECHOES = 500


class ProbeError(CodedError):
    """A probe was refused (``probe_busy``, ``probe_limit``, ``sdp_rejected``)."""


@dataclass
class ProbeStats:
    """What the probes of this node did, for metrics."""

    started: int = 0
    echoed: int = 0
    timed_out: int = 0


@dataclass
class Probe:
    """One client's test connection."""

    owner: str
    pc: RTCPeerConnection
    echoed: int = 0
    timer: asyncio.TimerHandle | None = None
    closing: asyncio.Task[None] | None = field(default=None, repr=False)


def _only_data_channel(sdp: str) -> bool:
    """Whether ``sdp`` parses and offers exactly one m-line, a data channel."""
    try:
        media = SessionDescription.parse(sdp).media
    except Exception:  # aiortc's parser raises whatever its input provokes
        return False
    return len(media) == 1 and media[0].kind == "application"


class Probes:
    """The probes running on this node."""

    def __init__(
        self, sfu: Sfu, *, seconds: float = PROBE_SECONDS, limit: int = MAX_PROBES
    ) -> None:
        self.sfu = sfu  # its ICE policy applies to probes as to media
        self.seconds = seconds
        self.limit = limit
        self.active: dict[str, Probe] = {}
        self.stats = ProbeStats()

    async def answer(self, owner: str, offer_sdp: str) -> RTCSessionDescription:
        """Start ``owner``'s probe from its offer; the answer carries all our candidates."""
        if owner in self.active:
            raise ProbeError("probe_busy", "a network check is already running on this connection")
        if len(self.active) >= self.limit:
            raise ProbeError("probe_limit", "too many network checks at once; try again shortly")
        if not _only_data_channel(offer_sdp):
            raise ProbeError("sdp_rejected", "a network check offers one data channel only")
        pc = RTCPeerConnection(
            RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        )
        probe = Probe(owner=owner, pc=pc)
        self.active[owner] = probe  # before any await: a second offer is refused meanwhile
        self.stats.started += 1
        pc.on("datachannel", lambda channel: self._echo(probe, channel))

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                self._close_soon(probe)

        probe.timer = asyncio.get_running_loop().call_later(self.seconds, self._expire, probe)
        try:
            await pc.setRemoteDescription(
                RTCSessionDescription(sdp=self.sfu.filter_remote_sdp(offer_sdp), type="offer")
            )
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as exc:  # aiortc raises ValueError, AssertionError, OperationError...
            await self.close(owner)
            raise ProbeError(
                "sdp_rejected", "the network check's offer could not be applied"
            ) from exc
        log.info("probe_started", owner=owner)
        return pc.localDescription

    def _echo(self, probe: Probe, channel: RTCDataChannel) -> None:
        @channel.on("message")
        def on_message(message: str | bytes) -> None:
            if len(message) > MAX_MESSAGE_BYTES or probe.echoed >= MAX_ECHOES:
                return
            if channel.readyState != "open":
                return
            probe.echoed += 1
            self.stats.echoed += 1
            channel.send(message)

        # The client closes its channel when it has its figures: the probe is done.
        channel.on("close", lambda: self._close_soon(probe))

    def _expire(self, probe: Probe) -> None:
        if self.active.get(probe.owner) is probe:
            self.stats.timed_out += 1
            log.info("probe_timed_out", owner=probe.owner, echoed=probe.echoed)
        self._close_soon(probe)

    def _close_soon(self, probe: Probe) -> None:
        if self.active.get(probe.owner) is probe and probe.closing is None:
            probe.closing = asyncio.ensure_future(self.close(probe.owner))

    async def close(self, owner: str) -> None:
        """End ``owner``'s probe, if one runs (its connection went, or it is done)."""
        probe = self.active.pop(owner, None)
        if probe is None:
            return
        if probe.timer is not None:
            probe.timer.cancel()
        with contextlib.suppress(Exception):  # closing a half-negotiated connection may fail
            await probe.pc.close()
        log.info("probe_closed", owner=owner, echoed=probe.echoed)

    async def close_all(self) -> None:
        """Shutdown: end every probe."""
        for owner in list(self.active):
            await self.close(owner)
