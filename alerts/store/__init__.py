"""Everything the alerts service keeps, in Redis (AOF): one module per concern, each owning its keys.

| module | keys under ``{namespace}:`` (what) |
|---|---|
| ``subscribers`` | ``subscriber:{sub}``, ``subscribers``, ``apikey:{hash}``, ``keys:{sub}`` (subscribers, key hashes) |
| ``endpoints`` | ``endpoints:{sub}`` (delivery endpoints and webhook secrets) |
| ``history`` | ``alerts:{sub}``, ``alert:{sub}:{id}``, ``acks:{sub}`` (alert history, acknowledgements) |
| ``standings`` | ``standing:{sub}:{watch}`` (where each watched company stands: /v1/status) |
| ``reviews`` | ``reviews:{sub}``, ``reviewpair:{sub}:{watch}:{source}:{entry}`` (reviews, suppressions) |
| ``queue`` | ``delivery:{id}``, ``deliveries:due``, ``attempts:{id}``, ``dead:{sub}``, ``order:{sub}:{endpoint}`` |
| ``sessions`` | ``session:{hash}``, ``alertlog:{sub}:{alert}`` (web sessions, what reviewers did to each alert) |
| ``digests`` | ``digest:{sub}:{endpoint}``, ``digests:due``, ``recent:{name}``, ``rate:{name}:{w}`` (limits) |

Watchlists and thresholds are the stream workers' (streams/watchlists.py), list state too (streams/list_state.py).
"""

from __future__ import annotations

from alerts.store.base import StoreBase, hash_key, material_hash, now
from alerts.store.digests import DigestStore
from alerts.store.endpoints import EndpointStore
from alerts.store.history import HistoryStore
from alerts.store.queue import QueueStore
from alerts.store.records import ApiKey, Attempt, Delivery, Endpoint, Review
from alerts.store.reviews import ReviewStore
from alerts.store.sessions import SessionStore
from alerts.store.standings import StandingStore
from alerts.store.subscribers import SubscriberStore

__all__ = [
    "AlertStore", "ApiKey", "Attempt", "Delivery", "Endpoint", "Review", "StoreBase", "hash_key", "material_hash",
    "now",
]  # fmt: skip


class AlertStore(
    SessionStore, SubscriberStore, EndpointStore, HistoryStore, StandingStore, ReviewStore, QueueStore, DigestStore
):
    """The alerts service's whole store, one object for the service to hold."""
