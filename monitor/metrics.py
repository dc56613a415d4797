"""The monitor's Prometheus metrics, on a registry the service owns (no module-level collectors)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from contracts.models import ListChange, Removal


class MonitorMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.fetch_duration = Histogram(
            "listwatch_fetch_duration_seconds", "Time to download all files of one snapshot.", ["source"],
            buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600), registry=r,
        )  # fmt: skip
        self.fetch_bytes = Counter(
            "listwatch_fetch_bytes_total", "Bytes downloaded (after decompression).", ["source"], registry=r
        )
        self.fetches = Counter(
            "listwatch_fetches_total",
            "Snapshot checks by outcome: changed, unchanged, not_modified, rejected, failed.",
            ["source", "outcome"], registry=r,
        )  # fmt: skip
        self.last_success = Gauge(
            "listwatch_source_last_success_timestamp_seconds",
            "When the source was last checked successfully (changed or not).", ["source"], registry=r,
        )  # fmt: skip
        self.fetch_failures = Counter(
            "listwatch_fetch_failures_total",
            "Failed checks by reason (forbidden, not_found, server_error, rate_limited, timeout, network, "
            "too_large, http_other); the previous snapshot is kept.",
            ["source", "reason"], registry=r,
        )  # fmt: skip
        self.last_change = Gauge(
            "listwatch_source_last_change_timestamp_seconds",
            "When a change of the list was last seen (the publisher's last change, to within one poll).",
            ["source"], registry=r,
        )  # fmt: skip
        self.publisher_modified = Gauge(
            "listwatch_source_publisher_modified_timestamp_seconds",
            "The publisher's own Last-Modified of the list's main file, where it sends one.", ["source"], registry=r,
        )  # fmt: skip
        self.entries = Gauge(
            "listwatch_source_entries", "Entries in the source's current good snapshot.", ["source"], registry=r
        )
        self.records = Counter(
            "listwatch_source_records_total",
            "Records of accepted snapshots: parsed, or reused unread because their fingerprint did not move.",
            ["source", "how"], registry=r,
        )  # fmt: skip
        self.changes = Counter(
            "listwatch_changes_published_total",
            "Changes published, by kind (baseline, cosmetic and expired counted apart).",
            ["source", "change"], registry=r,
        )  # fmt: skip
        self.rejections = Counter(
            "listwatch_snapshot_rejections_total", "Snapshots refused by a guard, by reason.",
            ["source", "reason"], registry=r,
        )  # fmt: skip
        self.schedule = Gauge(
            "listwatch_source_schedule_seconds", "Configured poll interval of the source.", ["source"], registry=r
        )
        self.leases = Gauge(
            "listwatch_source_lease_held", "1 when this replica polls the source.", ["source"], registry=r
        )
        self.outages = Counter(
            "listwatch_monitor_state_outages_total",
            "Ticks on which Redis (leases, snapshot state) could not be reached; the monitor retries.",
            registry=r,
        )


def change_label(change: ListChange) -> str:
    """The bounded ``change`` label: added, removed, expired, modified, cosmetic or baseline."""
    if change.baseline:
        return "baseline"
    if change.cosmetic:
        return "cosmetic"
    if change.removal == Removal.EXPIRED.value:
        return "expired"
    return change.change
