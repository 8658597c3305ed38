"""Cutting a participant's network without a goodbye.

A phone that loses its Wi-Fi sends nothing more: no ``leave``, no WebSocket
close frame, no DTLS close alert or RTCP BYE. This does the same to a
:class:`HearingClient`: its WebSocket's TCP connection is aborted and the UDP
sockets under its peer connections are closed, so the server learns of it only
from the broken connection.
"""

from __future__ import annotations

from aiortc import RTCPeerConnection

from signaling.client import HearingClient


def _close_udp(pc: RTCPeerConnection | None) -> None:
    if pc is None:
        return
    for transceiver in pc.getTransceivers():
        dtls = transceiver.sender.transport or transceiver.receiver.transport
        if dtls is None:
            continue
        # aioice's private state: the only way to drop UDP without root (no iptables).
        for protocol in list(dtls.transport._connection._protocols):
            if protocol.transport is not None:
                protocol.transport.close()


def cut_network(client: HearingClient) -> None:
    """Abort the client's signaling TCP connection and silence its peer connections."""
    _close_udp(client.publish_pc)
    _close_udp(client.subscribe_pc)
    ws = client.sio.eio.ws
    connection = ws._response.connection if ws is not None else None  # aiohttp's private state
    assert connection is not None and connection.transport is not None, "no WebSocket to cut"
    connection.transport.abort()  # a reset, not a close frame
