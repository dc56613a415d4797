"""The agents: short loops over their topics; the work is in streams/stages.py.

An event is retried through a Redis or Kafka outage rather than dropped: faust commits its offset once the
agent moves on, so moving on before the work is done would lose it. Repeats are harmless (dedupe, ids)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import faust

from contracts import codec
from contracts.clients import ride_out
from contracts.models import Alert, EnrichedChange, WatchEvent
from contracts.topics import alert_key
from streams.stages import SendAlerts, Stages, decode_changes


def register_agents(
    app: faust.App, changes: faust.TopicT, enriched: faust.TopicT, watches: faust.TopicT, alerts: faust.TopicT,
    stages: Stages, batch: int = 500, within_s: float = 0.01,
) -> SendAlerts:  # fmt: skip
    """Register the agents; returns the alerts sender (the baseline lane sends with it too)."""

    async def send_alert(alert: Alert) -> None:
        await send_alerts([alert])

    async def send_alerts(items: Sequence[Alert]) -> None:
        # The whole batch awaited to the broker's acks before the stage marks its events done. Written by
        # contracts.codec (faust's JSON without its type tags, which every reader of the topic reads) and handed
        # to faust's producer itself: faust's Topic.send and Record.dumps were about a tenth of the worker's time
        # for changes that alert.
        if not items:
            return
        producer = await app.maybe_start_producer()
        topic = alerts.get_topic_name()
        sent = [
            await producer.send(topic, alert_key(a.subscriber_id), codec.dumps(a), None, None, None) for a in items
        ]
        await asyncio.gather(*sent)

    # Batches: faust acknowledges (and so commits) a batch's offsets only when the agent asks for the next
    # batch, that is after the work and its output's acknowledgements: a crash repeats a batch, never loses it.
    # The changes topic is read as bytes and decoded here (decode_changes), not by faust's Record.loads.
    async def changes_agent(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
        async for values in stream.take(batch, within=within_s):
            changes = decode_changes(values)
            if changes:
                await ride_out(lambda: stages.dedupe_enrich_match(changes, send_alerts), "changes")  # noqa: B023
            yield None

    # Nothing is sent to the enriched topic any more (a change is enriched and matched in one step, twice the
    # rate of the two-stage path with a topic between); this agent drains what a worker of an earlier version
    # enriched there before an upgrade, so that no change is left unmatched.
    async def match(stream: faust.StreamT[EnrichedChange]) -> AsyncIterator[None]:
        async for items in stream.take(batch, within=within_s):
            await ride_out(lambda: stages.match_batch(items, send_alerts), "match")  # noqa: B023
            yield None

    async def screen(stream: faust.StreamT[WatchEvent]) -> AsyncIterator[None]:
        async for event in stream:
            await ride_out(lambda: stages.screen(event, send_alert), "screen")  # noqa: B023
            yield None

    app.agent(changes, name="listwatch.changes")(changes_agent)
    app.agent(enriched, name="listwatch.match")(match)
    app.agent(watches, name="listwatch.screen")(screen)
    return send_alerts
