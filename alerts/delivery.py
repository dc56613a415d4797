"""Delivery that loses nothing: alerts are persisted, fanned out to the subscriber's endpoints as queued
deliveries in Redis, attempted on a schedule, and dead-lettered after the last attempt.

- An alert is recorded (idempotently, by alert id) before its Kafka offset is committed: a crash of the
  service re-reads it and finds it recorded; a delivery id is ``{alert id}.{endpoint id}``, queued once.
- Due deliveries are *claimed* atomically (one Redis script) by one process, leased for
  ``LISTWATCH_DELIVERY_LEASE_S`` and renewed while it works on them: two replicas never attempt the same one,
  and a crashed process's claims return to the queue within the lease. Outcomes are written fenced by the
  claim: a process whose lease was taken over cannot record a second outcome.
- Deliveries to one endpoint arrive in the order their alerts were accepted: while one waits for a retry
  (or its turn under the rate limit), the younger ones to the same endpoint wait behind it. Several
  replicas keep this order too, except that two deliveries claimed at the same moment by two processes may
  race each other once.
- A Redis error in the middle of a batch keeps the rest of the batch claimed *in this process*, and an
  outcome that could not be written is kept in memory and written first when Redis answers again: an
  outage delays delivery by the outage, not by the lease, and never sends a delivery twice.
- Retries follow ``LISTWATCH_RETRY_SCHEDULE_S`` (about three days), or the receiver's ``Retry-After`` when
  longer; after the last one the delivery is dead: kept for replay and published to the dead-letter topic.
- E-mail endpoints in digest mode, and any e-mail endpoint over ``LISTWATCH_EMAIL_BURST`` alerts in a
  window, gather alerts into one digest message per ``LISTWATCH_DIGEST_WINDOW_S``; webhooks over
  ``LISTWATCH_WEBHOOK_RATE`` per second wait their turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from alerts.metrics import AlertsMetrics
from alerts.settings import AlertsSettings
from alerts.sinks.base import Channel, DeliveryError, EndpointGone, Message, Sink, SinkMisconfigured
from alerts.store import AlertStore, Attempt, Delivery, Endpoint, now
from contracts.models import Alert, AlertKind, stable_hash

log = logging.getLogger(__name__)

DeadLetter = Callable[[Alert], Awaitable[None]]


def _endpoint_of(delivery: Delivery) -> tuple[str, str]:
    return delivery.subscriber_id, delivery.endpoint_id


@dataclass(slots=True)
class _Outcome:
    """An outcome to write for a claimed delivery (kept until Redis has taken it)."""

    delivery: Delivery
    mode: str  # "done", "schedule" or "dead"
    at: float = 0.0
    attempt: Attempt | None = None
    # For "dead": the channel and the alerts to publish on the dead-letter topic once recorded.
    channel: str = ""
    dead_letters: tuple[Alert, ...] = ()


class Deliverer:
    def __init__(
        self,
        settings: AlertsSettings,
        store: AlertStore,
        channels: Mapping[str, Channel],
        operator_sinks: Sequence[Sink],
        dead_letter: DeadLetter,
        metrics: AlertsMetrics,
        lease_s: float | None = None,
    ) -> None:
        self._lease_s = settings.delivery_lease_s if lease_s is None else lease_s
        # Identifies this deliverer's claims in Redis (one per process and start).
        self.token = uuid.uuid4().hex
        # Claimed and not finished, in claim order (a dict: finished ones leave from anywhere).
        self._held: dict[str, None] = {}
        self._unwritten: dict[str, _Outcome] = {}
        # Endpoints (subscriber, endpoint id) whose delivery failed in this batch -> its retry time: their
        # younger deliveries wait.
        self._stalled: dict[tuple[str, str], float] = {}
        # The running batch's endpoints and alerts, read together (empty between batches).
        self._endpoints: dict[tuple[str, str], Endpoint | None] = {}
        self._alerts: dict[tuple[str, str], Alert | None] = {}
        self._settings = settings
        self._store = store
        self._channels = channels
        self._operators = list(operator_sinks)
        self._dead_letter = dead_letter
        self.metrics = metrics

    async def accept(self, alert: Alert) -> None:
        """Record an alert and queue its deliveries; safe to call again for the same alert."""
        new = await self._store.record_alert(alert)
        if new:
            self.metrics.received.inc()
            for sink in self._operators:
                await sink.send(Message(alert.alert_id, [alert]))
        if alert.kind == AlertKind.CONFIRMED.value:
            # The subscriber heard of it from the provisional alert: the standing moves to the consolidated
            # entry, the confirmation is kept in the history, nothing is sent again.
            for provisional_id in alert.confirms:
                provisional = await self._store.alert(alert.subscriber_id, provisional_id)
                if provisional is not None:
                    await self._store.drop_standing(provisional)
            await self._store.apply_standing(alert)
            if new:
                self.metrics.confirmed.inc()
            return
        await self._store.apply_standing(alert)  # also for a redelivery: idempotent, and keeps order
        if await self._store.suppressing_review(alert) is not None:
            self.metrics.suppressed.inc()
            return
        for endpoint in await self._store.endpoints(alert.subscriber_id):
            if endpoint.enabled:
                await self._route(alert, endpoint)

    async def _route(self, alert: Alert, endpoint: Endpoint) -> None:
        s = self._settings
        channel = self._channels.get(endpoint.type)
        if channel is not None and channel.policy.digests:
            burst = await self._store.count_recent(
                f"mail:{alert.subscriber_id}:{endpoint.id}", alert.alert_id, s.digest_window_s, s.email_burst + 1
            )  # fmt: skip
            if endpoint.digest or burst > s.email_burst:
                await self._store.add_to_digest(
                    alert.subscriber_id, endpoint.id, alert.alert_id, now() + s.digest_window_s
                )
                return
        await self._store.enqueue(
            Delivery(
                id=f"{alert.alert_id}.{endpoint.id}",
                subscriber_id=alert.subscriber_id,
                alert_id=alert.alert_id,
                endpoint_id=endpoint.id,
                next_at=now(),
            )
        )

    async def replay(self, sub: str, alert_ids: Sequence[str]) -> int:
        """Queue the alerts again to every enabled endpoint: same delivery ids, attempts from zero."""
        count = 0
        for endpoint in await self._store.endpoints(sub):
            if not endpoint.enabled:
                continue
            for alert_id in alert_ids:
                delivery = Delivery(
                    id=f"{alert_id}.{endpoint.id}", subscriber_id=sub, alert_id=alert_id, endpoint_id=endpoint.id
                )
                delivery.next_at = now()
                await self._store.requeue(delivery)
                count += 1
        return count

    async def replay_dead(self, sub: str) -> int:
        count = 0
        for delivery_id in await self._store.dead(sub):
            count += await self._requeue_dead(sub, delivery_id)
        return count

    async def replay_dead_one(self, sub: str, delivery_id: str) -> bool:
        """One of the subscriber's dead letters, queued again with its attempts from zero."""
        return await self._store.is_dead(sub, delivery_id) and await self._requeue_dead(sub, delivery_id)

    async def _requeue_dead(self, sub: str, delivery_id: str) -> bool:
        delivery = await self._store.delivery(delivery_id)
        if delivery is None or delivery.subscriber_id != sub:
            return False
        delivery.status, delivery.attempts, delivery.next_at, delivery.last_error = "pending", 0, now(), None
        await self._store.requeue(delivery)
        return True

    async def flush_digests(self) -> int:
        built = 0
        for sub, endpoint_id, alert_ids in await self._store.take_due_digests():
            digest_id = "digest." + stable_hash(sub, endpoint_id, *alert_ids, size=24)
            delivery = Delivery(id=digest_id, subscriber_id=sub, alert_id=alert_ids[0], endpoint_id=endpoint_id)
            delivery.next_at, delivery.digest_of = now(), alert_ids
            await self._store.enqueue(delivery)
            self.metrics.digests.labels("email").inc()
            built += 1
        return built

    @property
    def store(self) -> AlertStore:
        return self._store

    async def run_due(self, limit: int | None = None) -> int:
        """Attempt the deliveries due now (first those this process still holds); returns how many.

        Different endpoints are attempted at once (``LISTWATCH_DELIVERY_CONCURRENCY``), one endpoint's
        deliveries one after another in their order. A Redis error propagates once every endpoint's lane
        has stopped (none is cut off mid-send), leaving the unfinished ones held here for the next call."""
        await self._write_unwritten()
        if not self._held:
            claimed = await self._store.claim_due(limit or self._settings.delivery_batch, self._lease_s, self.token)
            self._held.update(dict.fromkeys(claimed))
        held = list(self._held)
        deliveries = await self._store.claimed_many(held, self.token) if held else []
        found = [d for d in deliveries if d is not None]
        # What the batch's deliveries need, read in two round trips for the whole batch (an endpoint's
        # lane shares one Endpoint object: disabling it stops the lane's younger deliveries too).
        self._endpoints = await self._store.endpoints_many((d.subscriber_id, d.endpoint_id) for d in found)
        self._alerts = await self._store.alerts_many(
            (d.subscriber_id, i) for d in found for i in (d.digest_of or [d.alert_id])
        )
        # One lane per endpoint; endpoint ids are the subscriber's own, so two subscribers' "ep_1" are two lanes.
        lanes: dict[tuple[str, str], list[tuple[str, Delivery | None]]] = {}
        for delivery_id, delivery in zip(held, deliveries, strict=True):
            lane = _endpoint_of(delivery) if delivery is not None else ("", delivery_id)
            lanes.setdefault(lane, []).append((delivery_id, delivery))
        self._stalled.clear()
        attempted = 0
        gate = asyncio.Semaphore(self._settings.delivery_concurrency)

        async def work(lane: list[tuple[str, Delivery | None]]) -> None:
            nonlocal attempted
            async with gate:
                for delivery_id, delivery in lane:
                    await self._attempt(delivery_id, delivery)
                    self._held.pop(delivery_id, None)
                    attempted += 1

        renewer = asyncio.create_task(self._renew_held())
        try:
            results = await asyncio.gather(*(work(lane) for lane in lanes.values()), return_exceptions=True)
        finally:
            self._endpoints, self._alerts = {}, {}
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
        for result in results:
            if isinstance(result, BaseException):
                raise result
        self.metrics.queue.set(await self._store.queue_length())
        return attempted

    async def _renew_held(self) -> None:
        """Keep this process's claims while it works through them (a slow receiver, a short outage)."""
        while True:
            await asyncio.sleep(self._lease_s / 3)
            try:
                await self._store.renew(list(self._held), self._lease_s, self.token)
            except Exception:  # the batch loop meets the same outage and reports it
                log.debug("could not renew delivery leases", exc_info=True)

    async def _write_unwritten(self) -> None:
        for delivery_id, outcome in list(self._unwritten.items()):
            await self._write(outcome)
            self._held.pop(delivery_id, None)

    async def _write(self, outcome: _Outcome) -> None:
        """Write an outcome fenced by this process's claim; kept in memory until Redis takes it."""
        delivery = outcome.delivery
        self._unwritten[delivery.id] = outcome
        ok = await self._store.finish(delivery, self.token, outcome.mode, at=outcome.at, attempt=outcome.attempt)
        del self._unwritten[delivery.id]
        if not ok:
            self.metrics.lease_lost.inc()
            log.warning("delivery %s: lease lost to another process; its outcome %s was not recorded",
                        delivery.id, outcome.mode)  # fmt: skip
            return
        if outcome.mode == "dead":
            self.metrics.dead_letters.labels(outcome.channel).inc()
            for alert in outcome.dead_letters:
                await self._dead_letter(alert)
            log.warning("delivery %s is dead after %d attempts: %s", delivery.id, delivery.attempts,
                        delivery.last_error)  # fmt: skip

    async def _attempt(self, delivery_id: str, delivery: Delivery | None) -> None:
        """Attempt a claimed delivery as read (None: the claim is another process's now)."""
        store = self._store
        if delivery_id in self._unwritten:  # sent before an outage: record it, never send again
            await self._write(self._unwritten[delivery_id])
            return
        if delivery is None:
            return  # the lease ran out during an outage and another process has it now
        if delivery.status != "pending":
            await self._write(_Outcome(delivery, "done"))
            return
        stalled = self._stalled.get(_endpoint_of(delivery))
        if stalled is not None:  # an older delivery to this endpoint just failed: keep the order
            await self._write(_Outcome(delivery, "schedule", at=stalled))
            return
        sub = delivery.subscriber_id
        key = (sub, delivery.endpoint_id)
        endpoint = self._endpoints[key] if key in self._endpoints else await store.endpoint(*key)
        alerts = [
            a for i in (delivery.digest_of or [delivery.alert_id])
            if (a := self._alerts[(sub, i)] if (sub, i) in self._alerts else await store.alert(sub, i)) is not None
        ]  # fmt: skip
        if endpoint is None or not endpoint.enabled or not alerts:
            delivery.status = "dropped"
            delivery.last_error = "endpoint removed or disabled" if alerts else "alert not found"
            self.metrics.deliveries.labels(endpoint.type if endpoint else "unknown", "dropped").inc()
            await self._write(_Outcome(delivery, "done"))
            return
        channel = self._channels.get(endpoint.type)
        if channel is not None and channel.policy.rate_limited:
            sent = await store.count_in_window(f"{endpoint.type}:{delivery.subscriber_id}", 1.0)
            if sent > self._settings.webhook_rate:
                later = now() + 1.0 + random.random()  # noqa: S311 - jitter
                self._stalled[_endpoint_of(delivery)] = later
                await self._write(_Outcome(delivery, "schedule", at=later))
                return
        message_id = delivery.id if delivery.digest_of else delivery.alert_id
        started = time.monotonic()
        outcome, status, error = "delivered", None, None
        retry_after: float | None = None
        try:
            await self._channel(endpoint.type).send(Message(message_id, alerts, endpoint))
        except DeliveryError as exc:
            outcome, status, error = "failed", exc.status, str(exc)
            retry_after = exc.retry_after
        except EndpointGone as exc:
            outcome, error = "gone", str(exc)
        except SinkMisconfigured as exc:
            outcome, error = "misconfigured", str(exc)
        record = Attempt(at=now(), outcome=outcome, status=status, error=error, duration_s=time.monotonic() - started)
        self.metrics.deliveries.labels(endpoint.type, outcome).inc()
        delivery.attempts += 1
        delivery.last_error = error
        if outcome == "delivered":
            delivery.status, delivery.delivered_at = "delivered", now()
            observed = min(a.observed_at for a in alerts)
            self.metrics.latency.labels(endpoint.type).observe(max(0.0, (datetime.now(UTC) - observed).total_seconds()))
            await self._write(_Outcome(delivery, "done", attempt=record))
            return
        if outcome in {"gone", "misconfigured"}:
            endpoint.enabled, endpoint.disabled_reason = False, error
            await store.put_endpoint(delivery.subscriber_id, endpoint)
            log.error("endpoint %s of %s disabled: %s", endpoint.id, delivery.subscriber_id, error)
            await self._die(delivery, endpoint, alerts, record)
            return
        schedule = self._settings.retry_schedule
        if delivery.attempts >= len(schedule):
            await self._die(delivery, endpoint, alerts, record)
            return
        delay = max(schedule[delivery.attempts], retry_after or 0.0)
        delivery.next_at = now() + delay
        self._stalled[_endpoint_of(delivery)] = delivery.next_at
        await self._write(_Outcome(delivery, "schedule", at=delivery.next_at, attempt=record))
        self.metrics.retries.labels(endpoint.type).inc()

    def _channel(self, kind: str) -> Channel:
        channel = self._channels.get(kind)
        if channel is None:
            raise SinkMisconfigured(f"no {kind} channel configured")
        return channel

    async def _die(self, delivery: Delivery, endpoint: Endpoint, alerts: list[Alert], record: Attempt) -> None:
        delivery.status = "dead"
        await self._write(_Outcome(delivery, "dead", attempt=record, channel=endpoint.type, dead_letters=tuple(alerts)))
