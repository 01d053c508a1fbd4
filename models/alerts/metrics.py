"""Alert worker self-metrics for Prometheus (``alerts run --metrics-port``), in a private registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from blueranch.models.alerts.store import Store


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.evaluations = Counter(
            "blueranch_alerts_evaluations", "Evaluations, by result (ok, failed)", ["result"], registry=r
        )
        self.evaluation_s = Histogram(
            "blueranch_alerts_evaluation_seconds",
            "Time to fetch and evaluate once",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=r,
        )
        self.events = Counter("blueranch_alerts_events", "Lifecycle events queued, by event", ["event"], registry=r)
        self.deliveries = Counter(
            "blueranch_alerts_deliveries", "Delivery attempts, by result (sent, failed)", ["result"], registry=r
        )
        self.active = Gauge("blueranch_alerts_active", "Alerts by state", ["state"], registry=r)
        self.outbox = Gauge(
            "blueranch_alerts_outbox", "Outbox deliveries by status (waiting, failed)", ["status"], registry=r
        )

    def serve(self, port: int, addr: str = "127.0.0.1") -> None:
        start_http_server(port, addr=addr, registry=self.registry)

    def observe_store(self, store: Store) -> None:
        counts = {s: 0 for s in ("pending", "open", "acknowledged", "escalated")}
        for a in store.active().values():
            counts[a.state] += 1
        for s, n in counts.items():
            self.active.labels(s).set(n)
        box = store.outbox_counts()
        self.outbox.labels("waiting").set(box["waiting"])
        self.outbox.labels("failed").set(box["failed"])
