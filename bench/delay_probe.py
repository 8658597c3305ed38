"""Forwarding-delay probe: one light process measuring the SFU's own delay under load.

Started by ``sfu_load.py --probe`` (or by hand) next to the load generator::

    chrt -f 50 taskset -c 1 python bench/delay_probe.py --target tyndau --url URL \\
        --tokens PUB,SUB

It joins a hearing of its own on the SFU under load (Tyndau: ``bench-probe``, whose two
tokens ``sfu_server.py --probe`` mints; Janus: VideoRoom ``PROBE_ROOM``) as one audio
publisher and as the one subscriber of that stream. The publisher sends the load's Opus
clip (20 ms frames, ~80 B, 50 packets/s, every payload unique in the 4 s loop) through
aiortc; the subscriber receives it back through the SFU. Nothing else is sent to the probe.

Send time: ``RTCDtlsTransport._send_rtp`` is wrapped (``sfu_load.install_send_hook``),
``perf_counter()`` just before SRTP protection. Arrival time: aioice's
``StunProtocol.datagram_received`` is wrapped, ``perf_counter()`` taken as soon as the
datagram reaches Python, before the STUN check and SRTP unprotect, stored by (SSRC, RTP
sequence number) from the clear-text header. After decryption the packet is matched to
its send by payload hash and sequence offset (``sfu_load.SubscribedStream``). So the
delay = the publisher's SRTP protect + sendto, loopback to the SFU, the SFU's receive,
queueing and forwarding (its decrypt, route, encrypt, sendto), loopback back, and the
kernel's wake-up of this process: two loopback hops, two SRTP operations here, the SFU.

Protocol with ``sfu_load.py``: one JSON line ``{"flowing": true}`` on stdout once 25
packets made the round trip; then, on ``stop`` (or EOF) on stdin, one JSON line with every
sample: ``arrivals`` (CLOCK_MONOTONIC s, as ``perf_counter`` in the parent) and
``delays`` (s), and exit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from typing import Any

import aiohttp
from aioice.ice import StunProtocol
from aiortc.rtp import RtpPacket
from janus_client import ICE_ADDRESS, JanusParticipant, JanusSession, create_room
from sfu_load import (
    HOST,
    SEND_LOGS,
    ClipTrack,
    Measurement,
    PacingStats,
    SendLog,
    SubscribedStream,
    codec_preferences,
    encode_audio_clip,
    install_send_hook,
    wait_for,
)

from server.sfu.ice import restrict_host_addresses
from signaling.client import HearingClient, RemoteTrack

PROBE_ROOM = 999  # Janus VideoRoom of the probe (the load's rooms are 1000...)
PROBE_FEED = 99_901
FLOWING_AFTER = 25  # matched packets
ARRIVALS_KEPT = 4096

ARRIVALS: dict[tuple[int, int], float] = {}  # (ssrc, seq) -> perf_counter() at the datagram


def install_arrival_hook() -> None:
    """Stamp every RTP datagram as it reaches Python, before STUN parsing and SRTP."""
    original = StunProtocol.datagram_received

    def datagram_received(self: StunProtocol, data: bytes | str, addr: tuple[Any, ...]) -> None:
        now = time.perf_counter()
        # RTP (version 2, not an RTCP packet type): its header is in clear text under SRTP
        if (
            isinstance(data, bytes)
            and len(data) >= 12
            and 0x80 <= data[0] < 0xC0
            and not 192 <= data[1] <= 223
        ):
            if len(ARRIVALS) >= ARRIVALS_KEPT:
                ARRIVALS.clear()  # only the newest matter; matched ones are popped
            ARRIVALS[(int.from_bytes(data[8:12], "big"), (data[2] << 8) | data[3])] = now
        original(self, data, addr)

    StunProtocol.datagram_received = datagram_received  # type: ignore[method-assign]


class ProbeStream(SubscribedStream):
    """The load's subscribed stream, timed at the datagram instead of after decryption."""

    def __init__(self, log: SendLog, measurement: Measurement) -> None:
        super().__init__(log, "audio", measurement)
        self.not_stamped = 0  # packets without a datagram stamp: timed here, later
        self.first = -1  # the first sequence number received

    async def on_rtp(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        now = ARRIVALS.pop((packet.ssrc, packet.sequence_number), None)
        if now is None:
            now = time.perf_counter()
            self.not_stamped += 1
        if self.first < 0:
            self.first = packet.sequence_number
        self.record(packet, now)


class Probe:
    def __init__(self, target: str, url: str, tokens: list[str]) -> None:
        self.target = target
        self.url = url
        self.tokens = tokens
        self.clip = encode_audio_clip()
        self.measurement = Measurement(collecting=True, sfu_stamps=False)
        self.log = SendLog()
        self.stream = ProbeStream(self.log, self.measurement)
        self.closers: list[Any] = []

    def _track_sent(self, pc: Any) -> None:
        for transceiver in pc.getTransceivers():
            SEND_LOGS[transceiver.sender._ssrc] = self.log

    async def start_tyndau(self) -> None:
        restrict_host_addresses([HOST])
        prefs = codec_preferences()
        publisher = HearingClient(self.url, self.tokens[0], codec_preferences=prefs)
        subscriber = HearingClient(self.url, self.tokens[1], codec_preferences=prefs)
        self.closers += [subscriber.close, publisher.close]

        def hook(remote: RemoteTrack) -> None:
            assert subscriber.subscribe_pc is not None
            for transceiver in subscriber.subscribe_pc.getTransceivers():
                if transceiver.mid == remote.mid:
                    transceiver.receiver._handle_rtp_packet = self.stream.on_rtp  # type: ignore[method-assign]

        subscriber.on_remote_track = hook
        await subscriber.connect()
        await subscriber.join()
        await publisher.connect()
        await publisher.join()
        await publisher.publish(ClipTrack(self.clip, PacingStats()))
        assert publisher.publish_pc is not None
        self._track_sent(publisher.publish_pc)

    async def start_janus(self) -> None:
        restrict_host_addresses([ICE_ADDRESS])
        http = aiohttp.ClientSession()
        session = JanusSession(http, self.url)
        await session.create()
        self.closers += [http.close, session.destroy]
        await create_room(session, PROBE_ROOM, 1)
        publisher = JanusParticipant(session, PROBE_ROOM, PROBE_FEED)
        self.closers.insert(0, publisher.close)
        pc = await publisher.publish([ClipTrack(self.clip, PacingStats())], codec_preferences())
        self._track_sent(pc)
        await wait_for(lambda: pc.connectionState == "connected", 30, "the probe's publisher")

        def hook(transceiver: Any, feed: int, kind: str) -> None:
            transceiver.receiver._handle_rtp_packet = self.stream.on_rtp

        await publisher.subscribe([PROBE_FEED], hook)

    async def close(self) -> None:
        for close in self.closers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(close(), 10)

    def result(self) -> dict[str, Any]:
        return {
            "arrivals": list(self.measurement.arrivals),
            "delays": list(self.measurement.arrival_delays),
            "sent": self.log.sent,
            "received": self.stream.packets,
            "matched": self.stream.matched,
            "unmatched": self.stream.unmatched,
            "not_stamped_at_datagram": self.stream.not_stamped,
            # over the probe's life: sequence numbers advanced minus packets received
            "loss_seq": self.stream.highest - self.stream.first + 1 - self.stream.packets,
        }


async def main_async(args: argparse.Namespace) -> int:
    install_send_hook()
    install_arrival_hook()
    probe = Probe(args.target, args.url, args.tokens.split(","))
    try:
        start = probe.start_tyndau() if args.target == "tyndau" else probe.start_janus()
        await asyncio.wait_for(start, args.timeout)
        await wait_for(lambda: probe.stream.matched >= FLOWING_AFTER, args.timeout, "the probe")
        print(json.dumps({"flowing": True}), flush=True)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(reader.readline(), args.max_seconds)  # "stop" or EOF
        print(json.dumps(probe.result()), flush=True)
        return 0
    finally:
        await probe.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=("tyndau", "janus"), required=True)
    parser.add_argument("--url", required=True, help="Tyndau's base URL or Janus's /janus URL")
    parser.add_argument("--tokens", default="", help="Tyndau: publisher,subscriber token")
    parser.add_argument("--timeout", type=float, default=60, help="for joining and first packets")
    parser.add_argument("--max-seconds", type=float, default=900, help="stop by itself after")
    args = parser.parse_args(argv)
    try:
        return asyncio.run(main_async(args))
    except (TimeoutError, RuntimeError) as exc:
        print(f"delay probe: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
