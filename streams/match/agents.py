"""The match agent: a thin loop over the changes topic; the work is in logic.py."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import faust

from streams.match.logic import build_alerts, entry_identifiers, entry_names
from streams.models import ListChange
from streams.topics import alert_key
from streams.watchlists import WatchlistStore

log = logging.getLogger(__name__)


def register_match_agent(app: faust.App, changes: faust.TopicT, alerts: faust.TopicT, store: WatchlistStore) -> None:
    async def match_changes(stream: faust.StreamT[ListChange]) -> AsyncIterator[None]:
        async for change in stream:
            candidates = await store.candidates(entry_names(change), entry_identifiers(change))
            for alert in build_alerts(change, candidates, datetime.now(UTC)):
                await alerts.send(key=alert_key(alert.subscriber_id), value=alert)
                log.info(
                    "alert %s for %s/%s on %s",
                    alert.alert_id,
                    alert.subscriber_id,
                    alert.watch_id,
                    alert.source,
                )
            yield None

    app.agent(changes, name="listwatch.match")(match_changes)
