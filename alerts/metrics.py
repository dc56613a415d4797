"""The alerts service's Prometheus metrics, on a registry the service owns."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class AlertsMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.received = Counter("listwatch_alerts_received_total", "Alerts consumed (new ones).", registry=r)
        self.confirmed = Counter(
            "listwatch_alerts_confirmed_total",
            "Provisional alerts confirmed by the consolidated list (recorded, not delivered again).", registry=r,
        )  # fmt: skip
        self.suppressed = Counter(
            "listwatch_alerts_suppressed_total", "Alerts silenced by a review (suppression, false positive).",
            registry=r,
        )  # fmt: skip
        self.deliveries = Counter(
            "listwatch_deliveries_total",
            "Delivery attempts by channel and outcome (delivered, failed, gone, misconfigured, dropped).",
            ["channel", "outcome"], registry=r,
        )  # fmt: skip
        self.retries = Counter("listwatch_delivery_retries_total", "Attempts scheduled again.", ["channel"], registry=r)
        self.dead_letters = Counter(
            "listwatch_dead_letters_total", "Deliveries given up after the last attempt.", ["channel"], registry=r
        )
        self.latency = Histogram(
            "listwatch_delivery_latency_seconds", "From the change observed by the monitor to its delivery.",
            ["channel"], buckets=(1, 5, 15, 30, 60, 120, 300, 900, 3600, 21600, 86400, 259200), registry=r,
        )  # fmt: skip
        self.digests = Counter("listwatch_digests_total", "Digest messages built.", ["channel"], registry=r)
        self.lease_lost = Counter(
            "listwatch_delivery_leases_lost_total",
            "Outcomes not recorded because another process had taken the delivery over (a lease ran out).",
            registry=r,
        )  # fmt: skip
        self.queue = Gauge("listwatch_delivery_queue_size", "Deliveries waiting or being attempted.", registry=r)
