"""Ingest self-metrics: Prometheus (``--metrics-port``) and the ``ingest_stats`` measurement.

Each worker process owns a :class:`Metrics`. Counters live in a private Prometheus registry (so two
workers in one test process do not collide) and in plain integers that feed ``ingest_stats``. With
``--workers N`` worker ``i`` serves Prometheus on ``metrics_port + i``.
"""

from __future__ import annotations

import threading
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily

from blueranch.contracts.influx import MEASUREMENTS, Point

STATS = MEASUREMENTS["ingest_stats"]


class Metrics:
    def __init__(self, worker: str):
        self.worker = worker
        self.registry = CollectorRegistry()
        r = self.registry
        r.register(_ReceivedCollector(self))
        self.points = Counter("blueranch_ingest_points", "Points written to InfluxDB", registry=r)
        self.batches = Counter("blueranch_ingest_batches", "Batches written to InfluxDB", registry=r)
        self.errors = Counter(
            "blueranch_ingest_errors", "Messages rejected or points refused, by reason", ["reason"], registry=r
        )
        self.flagged = Counter(
            "blueranch_ingest_flagged", "Messages written with flagged samples, by reason", ["reason"], registry=r
        )
        self.deadletters = Counter(
            "blueranch_ingest_deadletters",
            "Dead letters by result: published, or failed (none fits the broker's packet size, or refused)",
            ["result"],
            registry=r,
        )
        self.retries = Counter(
            "blueranch_ingest_write_retries", "InfluxDB write attempts that failed and were retried", registry=r
        )
        self.batch_latency = Histogram(
            "blueranch_ingest_batch_latency_seconds",
            "Time to write one batch",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=r,
        )
        self.lag = Gauge("blueranch_ingest_lag_seconds", "Server time minus the newest sample time written", registry=r)
        self.pending_points = Gauge("blueranch_ingest_pending_points", "Points received, not yet written", registry=r)
        self.unacked = Gauge("blueranch_ingest_unacked_messages", "Messages received, not yet acknowledged", registry=r)
        self._lock = threading.Lock()
        self.totals = {
            "messages_total": 0,
            "points_total": 0,
            "batches_total": 0,
            "errors_total": 0,
            "backfill_messages_total": 0,
        }
        self.last_batch_latency_s = 0.0
        self.newest_ms = 0

    def serve(self, port: int, addr: str = "127.0.0.1") -> None:
        try:
            start_http_server(port, addr=addr, registry=self.registry)
        except OSError as exc:
            raise OSError(exc.errno, f"cannot serve metrics on {addr}:{port}: {exc.strerror}") from exc

    def received(self, backfill: bool) -> None:
        """Per message, on the hot path: plain integers (only the network thread writes these two keys)."""
        totals = self.totals
        totals["messages_total"] += 1
        if backfill:
            totals["backfill_messages_total"] += 1

    def error(self, reason: str) -> None:
        self.errors.labels(reason).inc()
        with self._lock:
            self.totals["errors_total"] += 1

    def batch_written(self, points: int, latency_s: float, newest_ms: int) -> None:
        self.points.inc(points)
        self.batches.inc()
        self.batch_latency.observe(latency_s)
        with self._lock:
            self.totals["points_total"] += points
            self.totals["batches_total"] += 1
            self.last_batch_latency_s = latency_s
            self.newest_ms = max(self.newest_ms, newest_ms)
        if self.newest_ms:
            self.lag.set(time.time() - self.newest_ms / 1000)

    def stats_point(self, time_ms: int) -> Point:
        """The current totals as one ``ingest_stats`` point (fields are exactly the contract's)."""
        with self._lock:
            fields: dict[str, float | int] = dict(self.totals)
            fields["batch_latency_s"] = float(self.last_batch_latency_s)
            fields["lag_s"] = float(time.time() - self.newest_ms / 1000) if self.newest_ms else 0.0
        return Point(STATS.name, {"worker": self.worker}, fields, time_ms)


class _ReceivedCollector:
    """Exports the per-message counters at scrape time, so receiving a message costs no Prometheus lock."""

    def __init__(self, metrics: Metrics):
        self.metrics = metrics

    def collect(self):
        totals = self.metrics.totals
        yield CounterMetricFamily("blueranch_ingest_messages", "MQTT messages received", value=totals["messages_total"])
        yield CounterMetricFamily(
            "blueranch_ingest_backfill_messages",
            "Replayed (backfill) messages received",
            value=totals["backfill_messages_total"],
        )
