"""Plain integer counters of the media plane, read by the metrics collector.

Prometheus client counters take a lock per increment; the forwarding path
runs per packet, so it bumps plain ints and the collector reads them on scrape.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class MediaCounters:
    packets_received: int = 0
    bytes_received: int = 0
    packets_forwarded: int = 0
    bytes_forwarded: int = 0
    packets_dropped_waiting_keyframe: int = 0
    plis_sent: int = 0
    plis_received: int = 0
    nacks_sent: int = 0
    nacks_received: int = 0
    retransmissions: int = 0
    rembs_sent: int = 0  # to publishers: the SFU's estimate, capped by subscribers'
