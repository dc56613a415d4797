"""Offline screening: a watchlist against one list snapshot, in memory (``listwatch screen``).

The same keys, scoring and thresholds as the stream workers, over an in-memory index of the snapshot.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from contracts.models import Enrichment, Entry
from streams.enrich.change import enrich_entries
from streams.index import rank
from streams.match.logic import enrichment_keys, screened
from streams.match.score import Score
from streams.watchlists import WatchEntry, watch_keys


@dataclass(frozen=True, slots=True)
class ScreenHit:
    watch: WatchEntry
    source: str
    entry: Entry
    score: Score


class SnapshotIndex:
    def __init__(
        self, source: str, list_kind: str | None = None, publisher: str | None = None, jurisdiction: str | None = None
    ) -> None:
        self._source = source
        self._kind = list_kind
        self._publisher = publisher
        self._jurisdiction = jurisdiction
        self._entries: list[tuple[Entry, Enrichment]] = []
        self._keys: dict[str, list[int]] = defaultdict(list)

    def add(self, entry: Entry) -> None:
        enrichment = enrich_entries([entry], self._kind, self._publisher, self._jurisdiction)
        position = len(self._entries)
        self._entries.append((entry, enrichment))
        for key in enrichment_keys(enrichment):
            self._keys[key].append(position)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def source(self) -> str:
        return self._source

    def entries(self) -> list[tuple[Entry, Enrichment]]:
        return list(self._entries)

    def candidates(self, keys: Iterable[str]) -> list[tuple[Entry, Enrichment]]:
        """The same choice as the Redis index makes (streams/index.py ``rank``)."""
        return [self._entries[i] for i in rank(self._keys.get(key, ()) for key in set(keys))]

    def screen(self, watches: Iterable[WatchEntry], threshold: float) -> Iterator[ScreenHit]:
        for watch in watches:
            for entry, s in screened(watch, self.candidates(watch_keys(watch)), threshold):
                yield ScreenHit(watch, self._source, entry, s)
