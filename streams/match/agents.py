"""The faust agents: short loops over their topics; the work is in streams/stages.py. The changes topic and
the baselines topic are read by lanes of their own (streams/lane.py), not by agents.

An event is retried through a Redis or Kafka outage rather than dropped: faust commits its offset once the
agent moves on, so moving on before the work is done would lose it. An event that fails for another reason
is set aside on the quarantine topic (streams/quarantine.py). Repeats are harmless (dedupe, ids)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import faust

from contracts import codec
from contracts.models import Alert, EnrichedChange, WatchEvent
from contracts.topics import alert_key
from streams.produce import faust_sender
from streams.quarantine import Quarantine, enriched_record, watch_record
from streams.stages import SendAlerts, Stages


def register_agents(
    app: faust.App, enriched: faust.TopicT, watches: faust.TopicT, alerts: faust.TopicT, stages: Stages,
    quarantine: Quarantine, from_changes: str, batch: int = 500, within_s: float = 0.01,
) -> SendAlerts:  # fmt: skip
    """Register the agents; returns the alerts sender (the lanes send with it too). ``from_changes``: the changes
    topic, where an enriched change set aside is put back (as its change) by a replay. What fails for a
    reason other than an outage is set aside by ``quarantine`` (streams/quarantine.py), never retried forever
    nor acknowledged unprocessed."""

    from_watches, topic = watches.get_topic_name(), alerts.get_topic_name()
    send = faust_sender(app)

    async def send_alert(alert: Alert) -> None:
        await send_alerts([alert])

    async def send_alerts(items: Sequence[Alert]) -> None:
        # The whole batch awaited to the broker's acks before the stage marks its events done. Written by
        # contracts.codec: faust's JSON without its type tags, which every reader of the topic reads.
        await send(topic, [(alert_key(a.subscriber_id), codec.dumps(a), None) for a in items])

    async def match_batch(items: Sequence[EnrichedChange]) -> None:
        await stages.match_batch(items, send_alerts)

    async def screen_one(items: Sequence[WatchEvent]) -> None:
        for event in items:
            await stages.screen(event, send_alert)

    # Batches: faust acknowledges (and so commits) a batch's offsets only when the agent asks for the next
    # batch, that is after the work and its output's acknowledgements: a crash repeats a batch, never loses it.
    # Nothing is sent to the enriched topic any more (a change is enriched and matched in one step, twice the
    # rate of the two-stage path with a topic between); this agent drains what a worker of an earlier version
    # enriched there before an upgrade, so that no change is left unmatched.
    async def match(stream: faust.StreamT[EnrichedChange]) -> AsyncIterator[None]:
        async for items in stream.take(batch, within=within_s):
            # set aside as their changes, on the changes topic's account: put back there, they are enriched again
            await quarantine.guard("match", from_changes, items, match_batch, enriched_record)
            yield None

    async def screen(stream: faust.StreamT[WatchEvent]) -> AsyncIterator[None]:
        async for event in stream:
            await quarantine.guard("screen", from_watches, [event], screen_one, watch_record)
            yield None

    app.agent(enriched, name="listwatch.match")(match)
    app.agent(watches, name="listwatch.screen")(screen)
    return send_alerts
