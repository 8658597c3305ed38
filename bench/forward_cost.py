"""CPU per forwarded packet of the SFU's own code, without a network or other processes.

One publisher's SRTP packets are handed to the server side of a real aiortc
publish transport (as aioice would hand them over) and forwarded to S real
subscriber transports, which encrypt and ``sendto`` them to a UDP socket on
loopback that nobody reads. Everything between the datagram arriving and the
copies leaving is the SFU's real code (``PublishedTrack``, ``Downstream``,
aiortc's DTLS/SRTP transport, aioice); only the ICE/DTLS handshakes are skipped
(the SRTP keys are set directly).

    python bench/forward_cost.py --packets 3000 --subscribers 3

prints CPU µs per received and per forwarded packet (``time.process_time``).
For a count that does not depend on the machine's load, run it under callgrind
twice and take the difference (start-up cancels out)::

    valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.%p \
        python bench/forward_cost.py --packets 500
    valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.%p \
        python bench/forward_cost.py --packets 2500
    # (Ir of the second - Ir of the first) / 2000 / subscribers = instructions per forwarded packet

The mix is like the load benchmark's: 80 video packets (~1100 bytes, mid and
abs-send-time) to 50 audio packets (~100 bytes, mid and audio level).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import socket
import sys
import time
from types import SimpleNamespace

from aioice.ice import StunProtocol
from aiortc import RTCPeerConnection
from aiortc.rtcdtlstransport import State
from aiortc.rtcrtpparameters import (
    RTCRtpCodecParameters,
    RTCRtpEncodingParameters,
    RTCRtpHeaderExtensionParameters,
    RTCRtpReceiveParameters,
    RTCRtpSendParameters,
)
from aiortc.rtcrtpreceiver import RemoteStreamTrack
from aiortc.rtp import HeaderExtensionsMap, RtpPacket
from pylibsrtp import Policy, Session

from server.sfu import ice
from server.sfu.counters import MediaCounters
from server.sfu.downstream import Downstream, ForwardedTrack
from server.sfu.published import PublishedTrack

KEY = bytes(range(30))
MID = "urn:ietf:params:rtp-hdrext:sdes:mid"
ABS = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
OPUS = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=111)


def session(direction: int) -> Session:
    return Session(
        Policy(key=KEY, ssrc_type=direction, srtp_profile=Policy.SRTP_PROFILE_AES128_CM_SHA1_80)
    )


async def connect(dtls, sink: tuple[str, int]) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    """Make ``dtls`` (an RTCDtlsTransport) look connected, over a real UDP socket (its address)."""
    connection = dtls.transport._connection
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_datagram_endpoint(
        lambda: StunProtocol(connection), local_addr=("127.0.0.1", 0)
    )
    protocol.local_candidate = SimpleNamespace(component=1)
    connection._nominated[1] = SimpleNamespace(protocol=protocol, remote_addr=sink)
    dtls._rx_srtp = session(Policy.SSRC_ANY_INBOUND)
    dtls._tx_srtp = session(Policy.SSRC_ANY_OUTBOUND)
    dtls._RTCDtlsTransport__handshake_done = True
    dtls._set_state(State.CONNECTED)
    return protocol.transport.get_extra_info("sockname")


def extensions(*uris: str) -> list[RTCRtpHeaderExtensionParameters]:
    return [RTCRtpHeaderExtensionParameters(id=i + 1, uri=u) for i, u in enumerate(uris)]


async def track(kind: str, subscribers: int, sink: tuple[str, int], counters: MediaCounters):  # type: ignore[no-untyped-def]
    codec = VP8 if kind == "video" else OPUS
    exts = extensions(MID, ABS) if kind == "video" else extensions(MID, LEVEL)
    publish = RTCPeerConnection()
    receiver = publish.addTransceiver(kind, direction="recvonly").receiver
    published = PublishedTrack(
        owner_id="p", receiver=receiver, codec=codec, counters=counters, keyframe_interval=1.0
    )
    ssrc = 1111 if kind == "video" else 2222
    receiver._track = RemoteStreamTrack(kind=kind)  # setRemoteDescription would make it
    address = await connect(receiver.transport, sink)
    # what RTCDtlsTransport.start() runs after the handshake: its receive loop
    receive_loop = asyncio.ensure_future(receiver.transport._RTCDtlsTransport__run())
    await receiver.receive(
        RTCRtpReceiveParameters(
            codecs=[codec],
            headerExtensions=exts,
            muxId="0",
            encodings=[RTCRtpEncodingParameters(ssrc=ssrc, payloadType=codec.payloadType)],
        )
    )
    pcs = [publish]
    for i in range(subscribers):
        pc = RTCPeerConnection()
        transceiver = pc.addTransceiver(ForwardedTrack(kind), direction="sendonly")
        downstream = Downstream(
            transceiver=transceiver,
            mime_type=codec.mimeType,
            counters=counters,
            request_keyframe=published.request_keyframe,
        )
        await connect(transceiver.sender.transport, sink)
        downstream._started(
            RTCRtpSendParameters(codecs=[codec], headerExtensions=exts, muxId=str(i + 3))
        )
        published.downstreams[f"s{i}"] = downstream
        pcs.append(pc)
    ext_map = HeaderExtensionsMap()
    ext_map.configure(RTCRtpReceiveParameters(headerExtensions=exts))
    return publish, receiver.transport, ssrc, codec, ext_map, pcs, receive_loop, address


def packets(count: int, ssrc_video: int, ssrc_audio: int, maps) -> list[tuple[str, bytes]]:  # type: ignore[no-untyped-def]
    """Publisher packets, in send order: 8 video to 5 audio, a keyframe first."""
    out: list[tuple[str, bytes]] = []
    seq = {"video": 1000, "audio": 5000}
    payload_key = bytes([0x10, 0x00, 0x9D, 0x01, 0x2A]) + os.urandom(1095)  # VP8 keyframe start
    payload_delta = bytes([0x10, 0x01]) + os.urandom(1098)
    for i in range(count):
        kind = "video" if i % 13 < 8 else "audio"
        seq[kind] += 1
        if kind == "video":
            packet = RtpPacket(
                payload_type=96,
                sequence_number=seq[kind],
                timestamp=i * 1000,
                ssrc=ssrc_video,
                payload=payload_key if i == 0 else payload_delta,
            )
            packet.extensions.mid = "0"
            packet.extensions.abs_send_time = i & 0xFFFFFF
        else:
            packet = RtpPacket(
                payload_type=111,
                sequence_number=seq[kind],
                timestamp=i * 960,
                ssrc=ssrc_audio,
                payload=os.urandom(100),
            )
            packet.extensions.mid = "0"
            packet.extensions.audio_level = (True, 30)
        out.append((kind, packet.serialize(maps[kind])))
    return out


async def run(count: int, subscribers: int, through_socket: bool) -> None:
    ice.harden_stun_parsing()  # as the server does
    sink_socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink_socket.bind(("127.0.0.1", 0))
    sink = sink_socket.getsockname()
    counters = MediaCounters()
    video = await track("video", subscribers, sink, counters)
    audio = await track("audio", subscribers, sink, counters)
    sender = session(Policy.SSRC_ANY_OUTBOUND)
    stream = packets(count, video[2], audio[2], {"video": video[4], "audio": audio[4]})
    protected = [
        (video if kind == "video" else audio, sender.protect(data)) for kind, data in stream
    ]
    connections = {id(t): t[1].transport._connection for t in (video, audio)}
    publisher = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    gc.collect()
    gc.freeze()
    await asyncio.sleep(0.1)
    started_cpu, started = time.process_time(), time.perf_counter()
    for t, data in protected:
        before = counters.packets_received
        if through_socket:  # the event loop's poll and recvfrom included
            publisher.sendto(data, t[7])
        else:
            connections[id(t)].data_received(data, 1)
        for _ in range(1000):  # until handled (the queue path takes a turn of the loop)
            if counters.packets_received != before:
                break
            await asyncio.sleep(0)
        else:
            raise RuntimeError("a packet was not handled")
    cpu = time.process_time() - started_cpu
    wall = time.perf_counter() - started
    forwarded = counters.packets_forwarded
    print(
        f"received {counters.packets_received}, forwarded {forwarded} "
        f"({subscribers} subscribers): {cpu * 1e6 / counters.packets_received:.1f} µs CPU "
        f"per received packet, {cpu * 1e6 / max(forwarded, 1):.1f} µs per forwarded packet "
        f"(wall {wall * 1e6 / max(forwarded, 1):.1f})"
    )
    for t in (video, audio):
        t[6].cancel()
        for pc in t[5]:
            await pc.close()
    sink_socket.close()
    publisher.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=3000, help="publisher packets (video+audio)")
    parser.add_argument("--subscribers", type=int, default=3)
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop")
    parser.add_argument(
        "--socket",
        action="store_true",
        help="send the publisher's packets over UDP (the event loop's poll and read included) "
        "instead of calling aioice's data_received",
    )
    args = parser.parse_args(argv)
    if args.uvloop:
        import uvloop

        uvloop.install()
    asyncio.run(run(args.packets, args.subscribers, args.socket))
    return 0


if __name__ == "__main__":
    sys.exit(main())
