"""The stream workers' Prometheus metrics, on a registry the app owns (no module-level collectors)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


class StreamsMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.changes = Counter("listwatch_stream_changes_total", "Changes consumed, by stage.", ["stage"], registry=r)
        self.duplicates = Counter(
            "listwatch_dedupe_dropped_total", "Events dropped as already processed, by stage.", ["stage"], registry=r
        )
        self.stale_baseline = Counter(
            "listwatch_stale_baseline_dropped_total",
            "Baseline events dropped because a later change of their entry was applied first.", registry=r,
        )  # fmt: skip
        self.enrich_seconds = Histogram(
            "listwatch_enrich_duration_seconds", "Time to enrich one change.", buckets=_LATENCY, registry=r
        )
        self.enrich_errors = Counter(
            "listwatch_enrich_errors_total", "Per-entry enrichment problems (entry kept).", registry=r
        )
        self.match_seconds = Histogram(
            "listwatch_match_duration_seconds", "Time to match one change or one new watch entry.", ["kind"],
            buckets=_LATENCY, registry=r,
        )  # fmt: skip
        self.candidates = Histogram(
            "listwatch_match_candidates", "Candidates scored per change or watch entry.", ["kind"],
            buckets=(0, 1, 2, 5, 10, 20, 50, 100, 200), registry=r,
        )  # fmt: skip
        self.quarantined = Counter(
            "listwatch_quarantined_total",
            "Events set aside on the quarantine topic (processing failed for a reason other than an outage; "
            "`listwatch quarantine show`), by lane.", ["lane"], registry=r,
        )  # fmt: skip
        self.alerts = Counter("listwatch_alerts_produced_total", "Alerts produced, by kind.", ["kind"], registry=r)
        # Redis-wide, read by every worker: alert on the max over workers, never the sum.
        self.orphans = Gauge(
            "listwatch_index_orphaned_members",
            "Index members whose previous postings were left behind since the last vacuum (`listwatch vacuum`), "
            "by index.", ["index"], registry=r,
        )  # fmt: skip
