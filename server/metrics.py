"""Prometheus metrics, collected from live state at scrape time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from server.context import ServerContext
    from signaling.namespace import HearingNamespace

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class TyndauCollector(Collector):
    def __init__(self, ctx: ServerContext, namespace: HearingNamespace) -> None:
        self.ctx = ctx
        self.namespace = namespace

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        sfu = self.ctx.sfu
        yield GaugeMetricFamily("tyndau_rooms", "Hearings with media on this node", len(sfu.rooms))
        yield GaugeMetricFamily(
            "tyndau_participants",
            "Participants joined on this node",
            sum(len(room.sessions) for room in sfu.rooms.values()),
        )
        yield GaugeMetricFamily("tyndau_tracks", "Published tracks", sfu.track_count())
        yield GaugeMetricFamily(
            "tyndau_connections",
            "Authenticated signaling connections",
            len(self.namespace.connections),
        )
        c = sfu.counters
        for name, doc, value in (
            ("packets_received", "RTP packets received from publishers", c.packets_received),
            ("bytes_received", "RTP payload bytes received from publishers", c.bytes_received),
            ("packets_forwarded", "RTP packets forwarded to subscribers", c.packets_forwarded),
            ("bytes_forwarded", "RTP bytes forwarded to subscribers", c.bytes_forwarded),
            (
                "packets_dropped_waiting_keyframe",
                "Video packets not forwarded while a new subscriber waits for a keyframe",
                c.packets_dropped_waiting_keyframe,
            ),
            ("plis_sent", "Keyframe requests (PLI) sent to publishers", c.plis_sent),
            (
                "plis_received",
                "Keyframe requests (PLI/FIR) received from subscribers",
                c.plis_received,
            ),
            ("nacks_sent", "NACKs sent to publishers", c.nacks_sent),
            ("rembs_sent", "REMBs sent to publishers (capped by subscribers')", c.rembs_sent),
            (
                "nacks_received",
                "NACKed sequence numbers received from subscribers",
                c.nacks_received,
            ),
            ("retransmissions", "Packets retransmitted to subscribers", c.retransmissions),
        ):
            yield CounterMetricFamily(f"tyndau_{name}", doc, value)
        probes = self.namespace.self_test.probes
        yield GaugeMetricFamily(
            "tyndau_probes_active", "Self-test network checks running", len(probes.active)
        )
        for name, doc, value in (
            ("probes_started", "Self-test network checks started", probes.stats.started),
            ("probes_timed_out", "Network checks ended by their limit", probes.stats.timed_out),
            ("probe_echoes", "Probe messages echoed by network checks", probes.stats.echoed),
        ):
            yield CounterMetricFamily(f"tyndau_{name}", doc, value)
        refused = CounterMetricFamily(
            "tyndau_connections_refused", "Signaling connections refused", labels=["code"]
        )
        for code, count in self.namespace.stats.refused_connections.items():
            refused.add_metric([code], count)
        yield refused
        errors = CounterMetricFamily(
            "tyndau_signaling_errors", "Signaling events refused", labels=["code"]
        )
        for code, count in self.namespace.stats.event_errors.items():
            errors.add_metric([code], count)
        yield errors


def build_registry(ctx: ServerContext, namespace: HearingNamespace) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=True)
    registry.register(TyndauCollector(ctx, namespace))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
