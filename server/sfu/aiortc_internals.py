"""The few pieces of aiortc's private state the forwarding path reads or writes.

aiortc has no pass-through mode: its receivers decode and its senders encode.
The SFU forwards RTP itself and needs, per receiver, the statistics that feed
receiver reports and the RTCP SSRC, and per sender, the counters that feed
sender reports. They are name-mangled attributes, so every touch point lives
here, next to the aiortc version range pinned in ``pyproject.toml``; the
integration tests fail loudly if an upgrade moves them.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

import pylibsrtp
import structlog
from aiortc import RTCDtlsTransport, RTCRtpReceiver, RTCRtpSender
from aiortc.rate import RemoteBitrateEstimator
from aiortc.rtcdtlstransport import State
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import AnyRtcpPacket, RtcpSrPacket, RtpPacket
from pylibsrtp._binding import ffi as _ffi
from pylibsrtp._binding import lib as _lib

log = structlog.get_logger(__name__)

NTP_UNIX_OFFSET_MS = 2_208_988_800_000  # 1900-01-01 (NTP) to 1970-01-01 (Unix)
RtpHandler = Callable[[RtpPacket, int], None]
SRTP_BUFFER = 2048  # bytes: the largest packet plus libsrtp's trailer (auth tag, MKI)
SRTP_MAX_TRAILER = 16 + 128  # pylibsrtp's SRTP_MAX_TRAILER_LEN


def receiver_stream_statistics(receiver: RTCRtpReceiver) -> dict[int, StreamStatistics]:
    """Per-SSRC statistics the receiver turns into RTCP receiver reports."""
    stats: dict[int, StreamStatistics] = receiver._RTCRtpReceiver__remote_streams  # type: ignore[attr-defined]
    return stats


def receiver_rtcp_ssrc(receiver: RTCRtpReceiver) -> int | None:
    """The SSRC the receiver's feedback (NACK, PLI, REMB) is sent from."""
    ssrc: int | None = receiver._RTCRtpReceiver__rtcp_ssrc  # type: ignore[attr-defined]
    return ssrc


def receiver_bitrate_estimator(receiver: RTCRtpReceiver) -> RemoteBitrateEstimator | None:
    """The receiver's REMB estimator (video only)."""
    estimator: RemoteBitrateEstimator | None = receiver._RTCRtpReceiver__remote_bitrate_estimator  # type: ignore[attr-defined]
    return estimator


class IncomingRate:
    """aiortc's ``RateCounter`` for the REMB estimator's incoming bitrate, in O(1) per packet.

    aiortc keeps a thousand 1 ms buckets and, at every packet, walks and clears
    each bucket passed since the previous one (a Python loop of ~12 steps per
    packet of a 30 fps stream, twice per packet), and the buckets are a thousand
    objects per video track for the garbage collector. This keeps the packets of
    the last ``window_size`` ms in a deque instead; ``rate`` and ``add`` give the
    same values for arrival times that do not go back.
    """

    def __init__(self, window_size: int, scale: int = 8000) -> None:
        self._window_size = window_size
        self._scale = scale
        self.reset()

    def reset(self) -> None:
        self._samples: deque[tuple[int, int]] = deque()
        self._origin_ms: int | None = None
        self._count = 0
        self._value = 0

    def add(self, value: int, now_ms: int) -> None:
        if self._origin_ms is None:
            self._origin_ms = now_ms
        else:
            self._erase_old(now_ms)
        self._samples.append((now_ms, value))
        self._count += 1
        self._value += value

    def rate(self, now_ms: int) -> int | None:
        if self._origin_ms is not None:
            self._erase_old(now_ms)
            active_window_size = now_ms - self._origin_ms + 1
            if self._count > 0 and active_window_size > 1:
                return round(self._scale * self._value / active_window_size)
        return None

    def _erase_old(self, now_ms: int) -> None:
        new_origin_ms = now_ms - self._window_size + 1
        if self._origin_ms is not None and self._origin_ms < new_origin_ms:
            samples = self._samples
            while samples and samples[0][0] < new_origin_ms:
                _, value = samples.popleft()
                self._count -= 1
                self._value -= value
            self._origin_ms = new_origin_ms


def lighten_bitrate_estimator(estimator: RemoteBitrateEstimator) -> None:
    """Give a receiver's REMB estimator an :class:`IncomingRate` for its incoming bitrate."""
    estimator.incoming_bitrate = IncomingRate(1000, 8000)  # type: ignore[assignment]


def receiver_stream_counters(receiver: RTCRtpReceiver, ssrc: int) -> tuple[int, int, int] | None:
    """(packets expected, packets received, jitter in clock units) of one incoming SSRC.

    Lifetime counters, for the quality tracker to take differences of. Never
    reads ``StreamStatistics.fraction_lost``: that property resets the interval
    the receiver's own next RTCP report is computed over.
    """
    stats = receiver_stream_statistics(receiver).get(ssrc)
    if stats is None or stats.max_seq is None or stats.base_seq is None:
        return None
    return stats.packets_expected, stats.packets_received, stats.jitter


def sender_round_trip_time(sender: RTCRtpSender) -> float | None:
    """Round-trip time in seconds, smoothed by aiortc from the subscriber's LSR/DLSR."""
    rtt: float | None = sender._RTCRtpSender__rtt  # type: ignore[attr-defined]
    return rtt


def observe_sender_reports(
    receiver: RTCRtpReceiver, observer: Callable[[int, int, int], None]
) -> None:
    """Call ``observer(ssrc, rtp_timestamp, ntp_timestamp)`` for each sender report received.

    aiortc's transport hands a publisher's RTCP sender reports to the receiver's
    ``_handle_rtcp_packet``; wrapping it is the only way to see them. The
    observer runs first and must not raise (it only takes note).
    """
    original = receiver._handle_rtcp_packet

    async def handle(packet: AnyRtcpPacket) -> None:
        if isinstance(packet, RtcpSrPacket):
            info = packet.sender_info
            observer(packet.ssrc, info.rtp_timestamp, info.ntp_timestamp)
        await original(packet)

    receiver._handle_rtcp_packet = handle  # type: ignore[method-assign]


def release_receive_state(receiver: RTCRtpReceiver) -> None:
    """Free the receive-side state of a send-only transceiver's receiver.

    aiortc gives every transceiver a receiver, with a bitrate estimator of a
    thousand small objects, even when it only sends; a forwarding sender never
    receives, and those objects only lengthen garbage collections.
    """
    receiver._RTCRtpReceiver__remote_bitrate_estimator = None  # type: ignore[attr-defined]


def record_sent_packet(sender: RTCRtpSender, ntp_time: int, rtp_timestamp: int, size: int) -> None:
    """Update the counters the sender puts into its RTCP sender reports."""
    sender._RTCRtpSender__ntp_timestamp = ntp_time  # type: ignore[attr-defined]
    sender._RTCRtpSender__rtp_timestamp = rtp_timestamp  # type: ignore[attr-defined]
    sender._RTCRtpSender__octet_count += size  # type: ignore[attr-defined]
    sender._RTCRtpSender__packet_count += 1  # type: ignore[attr-defined]


def now_ntp_ms() -> int:
    """aiortc's arrival clock (``clock.current_ms``: ms since 1900) without its ``datetime``s."""
    return int(time.time() * 1000) + NTP_UNIX_OFFSET_MS


class FastSrtp:
    """``protect``/``unprotect`` of one pylibsrtp ``Session``, without its per-call overhead.

    pylibsrtp's methods check the type, allocate an ``int *`` and go through two
    Python calls per packet, about a third of what a 1 kB packet's encryption
    costs. This calls libsrtp through pylibsrtp's own cffi binding with a buffer
    and length allocated once. Same ``srtp_t`` (keys, replay window, rollover
    counter) as the session's, so aiortc's own calls on it stay consistent.
    """

    __slots__ = ("_buffer", "_cdata", "_length", "_srtp", "session")

    def __init__(self, session: pylibsrtp.Session) -> None:
        self.session = session  # keeps the srtp_t alive
        self._srtp = session._srtp[0]  # type: ignore[attr-defined]
        self._cdata = _ffi.new("char[]", SRTP_BUFFER)
        self._buffer = _ffi.buffer(self._cdata)
        self._length = _ffi.new("int *")

    def protect(self, data: bytes) -> bytes:
        return self._process(data, _lib.srtp_protect, SRTP_MAX_TRAILER)

    def unprotect(self, data: bytes) -> bytes:
        return self._process(data, _lib.srtp_unprotect, 0)

    def _process(self, data: bytes, function: Any, trailer: int) -> bytes:
        size = len(data)
        if size > SRTP_BUFFER - trailer:
            raise ValueError("packet is too long")
        buffer, length = self._buffer, self._length
        buffer[0:size] = data
        length[0] = size
        status = function(self._srtp, self._cdata, length)
        if status:
            raise pylibsrtp.Error(f"libsrtp error {status}")
        return buffer[0 : length[0]]  # type: ignore[no-any-return]


def fast_srtp(holder: Any, name: str, session: pylibsrtp.Session) -> FastSrtp:
    """The :class:`FastSrtp` of ``session``, kept on ``holder`` under ``name``."""
    fast: FastSrtp | None = getattr(holder, name, None)
    if fast is None or fast.session is not session:
        fast = FastSrtp(session)
        setattr(holder, name, fast)
    return fast


def send_rtp_now(dtls: RTCDtlsTransport, data: bytes) -> bool:
    """Encrypt and send one RTP packet at once, without a coroutine; False if not connected.

    What ``RTCDtlsTransport._send_rtp`` does (SRTP-protect, hand to the ICE
    connection's nominated pair, count), minus four nested ``await``s per packet.
    """
    if dtls._state is not State.CONNECTED:
        return False
    pair = dtls.transport._connection._nominated.get(1)
    if pair is None:
        return False
    tx: FastSrtp | None = getattr(dtls, "_tyndau_tx", None)
    if tx is None or tx.session is not dtls._tx_srtp:
        tx = fast_srtp(dtls, "_tyndau_tx", dtls._tx_srtp)
    try:
        data = tx.protect(data)
    except (pylibsrtp.Error, ValueError):
        return False  # too long for SRTP: dropped, as aiortc's sender would fail it
    pair.protocol.transport.sendto(data, pair.remote_addr)
    dtls._RTCDtlsTransport__tx_bytes += len(data)  # type: ignore[attr-defined]
    dtls._RTCDtlsTransport__tx_packets += 1  # type: ignore[attr-defined]
    return True


def receive_rtp_synchronously(receiver: RTCRtpReceiver, handler: RtpHandler) -> None:
    """Hand ``receiver``'s RTP packets to ``handler(packet, arrival_ms)`` as they arrive.

    aiortc queues every datagram aioice receives, and its DTLS transport's task
    takes it from the queue: a task switch per packet. Here the ICE connection's
    ``data_received`` (called by aioice's datagram callback) decrypts, parses and
    routes SRTP packets itself, like ``RTCDtlsTransport._recv_next`` and
    ``_handle_rtp_data`` do; DTLS and RTCP still go through the queue. The
    handler must not block or raise. Call after ``receiver.receive()`` (the
    transport is final and its SRTP keys are set).
    """
    dtls = receiver.transport
    handlers: dict[RTCRtpReceiver, RtpHandler] | None = getattr(dtls, "_tyndau_rtp_handlers", None)
    if handlers is None:
        handlers = {}
        dtls._tyndau_rtp_handlers = handlers  # type: ignore[attr-defined]
        connection = dtls.transport._connection
        queue = connection.data_received
        router = dtls._rtp_router
        extensions = dtls._rtp_header_extensions_map

        rx: FastSrtp | None = None

        def data_received(data: bytes, component: int) -> None:
            nonlocal rx
            srtp = dtls._rx_srtp
            # SRTP, not SRTCP (aiortc's is_rtcp: packet types 192-208), keys ready
            if srtp is None or len(data) < 12 or not 127 < data[0] < 192 or 192 <= data[1] <= 208:
                queue(data, component)
                return
            dtls._RTCDtlsTransport__rx_bytes += len(data)  # type: ignore[attr-defined]
            dtls._RTCDtlsTransport__rx_packets += 1  # type: ignore[attr-defined]
            arrival_ms = int(time.time() * 1000) + NTP_UNIX_OFFSET_MS
            if rx is None or rx.session is not srtp:
                rx = fast_srtp(dtls, "_tyndau_rx", srtp)
            try:
                packet = RtpPacket.parse(rx.unprotect(data), extensions)
            except (pylibsrtp.Error, ValueError):
                return  # what aiortc does: a bad or replayed packet is dropped
            target = router.route_rtp(packet)
            handle = handlers.get(target) if target is not None else None
            if handle is None:
                return
            try:
                handle(packet, arrival_ms)
            except Exception:  # a bug; never let it close the transport (uvloop would)
                log.exception("rtp_handler_failed")

        connection.data_received = data_received  # type: ignore[method-assign]
    handlers[receiver] = handler


def stop_receiving_synchronously(receiver: RTCRtpReceiver) -> None:
    handlers = getattr(receiver.transport, "_tyndau_rtp_handlers", None)
    if handlers is not None:
        handlers.pop(receiver, None)


def check_compatible() -> None:
    """Fail at start-up, not mid-hearing, if aiortc's internals moved."""
    for cls, names in (
        (
            RTCRtpReceiver,
            (
                "_handle_rtp_packet",
                "_handle_rtcp_packet",
                "_send_rtcp_nack",
                "_send_rtcp_pli",
                "_send_rtcp",
            ),
        ),
        (RTCRtpSender, ("_retransmit", "_send_keyframe", "_send_rtcp", "_handle_rtcp_packet")),
    ):
        for name in names:
            if not hasattr(cls, name):
                raise RuntimeError(f"aiortc {cls.__name__}.{name} is missing: unsupported version")
    for name in ("srtp_protect", "srtp_unprotect"):
        if not hasattr(_lib, name):
            raise RuntimeError(f"pylibsrtp's binding has no {name}: unsupported version")
