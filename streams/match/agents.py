"""The agents: short loops over their topics; the work is in streams/stages.py.

An event is retried through a Redis or Kafka outage rather than dropped: faust commits its offset once the
agent moves on, so moving on before the work is done would lose it. Repeats are harmless (dedupe, ids)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import faust

from contracts.clients import ride_out
from contracts.models import Alert, EnrichedChange, ListChange, WatchEvent
from contracts.topics import alert_key, change_key
from streams.stages import Stages


def register_agents(
    app: faust.App, changes: faust.TopicT, enriched: faust.TopicT, watches: faust.TopicT, alerts: faust.TopicT,
    stages: Stages,
) -> None:  # fmt: skip
    async def send_enriched(item: EnrichedChange) -> None:
        fut = await enriched.send(key=change_key(item.change.source, item.change.entry_key), value=item)
        await fut

    async def send_alert(alert: Alert) -> None:
        # Awaited to the broker's ack before the stage marks its event done.
        fut = await alerts.send(key=alert_key(alert.subscriber_id), value=alert)
        await fut

    async def dedupe_enrich(stream: faust.StreamT[ListChange]) -> AsyncIterator[None]:
        async for change in stream:
            await ride_out(lambda: stages.dedupe_and_enrich(change, send_enriched), "enrich")  # noqa: B023
            yield None

    async def match(stream: faust.StreamT[EnrichedChange]) -> AsyncIterator[None]:
        async for item in stream:
            await ride_out(lambda: stages.match(item, send_alert), "match")  # noqa: B023
            yield None

    async def screen(stream: faust.StreamT[WatchEvent]) -> AsyncIterator[None]:
        async for event in stream:
            await ride_out(lambda: stages.screen(event, send_alert), "screen")  # noqa: B023
            yield None

    app.agent(changes, name="listwatch.enrich")(dedupe_enrich)
    app.agent(enriched, name="listwatch.match")(match)
    app.agent(watches, name="listwatch.screen")(screen)
