"""Alert history and acknowledgements.

Keys: ``alerts:{sub}`` sorted set (alert id by created time), ``alert:{sub}:{alert id}`` the Alert JSON,
``acks:{sub}`` set of acknowledged alert ids.
"""

from __future__ import annotations

from collections.abc import Iterable

from alerts.store.base import StoreBase, raw, text
from contracts import codec
from contracts.models import Alert


class HistoryStore(StoreBase):
    # -- alerts ---------------------------------------------------------------------------------------

    async def record_alert(self, alert: Alert) -> bool:
        """Keep an alert in the subscriber's history; False when it was there already (a redelivery)."""
        sub = alert.subscriber_id
        stored = await self.redis.set(self.k("alert", sub, alert.alert_id), codec.dumps(alert), nx=True)
        if stored:
            await self.redis.zadd(self.k("alerts", sub), {alert.alert_id: alert.created_at.timestamp()})
        return bool(stored)

    async def alert(self, sub: str, alert_id: str) -> Alert | None:
        stored = await self.redis.get(self.k("alert", sub, alert_id))
        return None if stored is None else codec.loads(Alert, raw(stored))

    async def alerts_many(self, wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Alert | None]:
        """``alert`` for many (subscriber, alert id) pairs, in one command."""
        pairs = sorted(set(wanted))
        if not pairs:
            return {}
        rows = await self.redis.mget([self.k("alert", sub, alert_id) for sub, alert_id in pairs])
        return {
            pair: None if row is None else codec.loads(Alert, raw(row)) for pair, row in zip(pairs, rows, strict=True)
        }

    async def alerts_page(
        self, sub: str, since: float | None, until: float | None, cursor: tuple[float, str] | None, batch: int
    ) -> list[tuple[float, Alert]]:
        """Alerts newest first, strictly before ``cursor`` (score, id), within [since, until]."""
        high: float | str = cursor[0] if cursor else (until if until is not None else "+inf")
        low: float | str = since if since is not None else "-inf"
        # A page, plus room for members sharing the cursor's score (skipped below).
        rows = await self.redis.zrevrangebyscore(
            self.k("alerts", sub), high, low, start=0, num=batch + 64, withscores=True
        )
        out: list[tuple[float, Alert]] = []
        for row in rows:
            member, score = row[0], float(row[1])
            alert_id = text(member)
            if cursor and (score, alert_id) >= cursor:
                continue
            alert = await self.alert(sub, alert_id)
            if alert is not None:
                out.append((score, alert))
            if len(out) >= batch:
                break
        return out

    async def acknowledge(self, sub: str, alert_id: str) -> bool:
        if await self.alert(sub, alert_id) is None:
            return False
        await self.redis.sadd(self.k("acks", sub), alert_id)
        return True

    async def acknowledged(self, sub: str, alert_ids: Iterable[str]) -> set[str]:
        ids = list(alert_ids)
        if not ids:
            return set()
        flags = await self.redis.smismember(self.k("acks", sub), ids)
        return {i for i, f in zip(ids, flags, strict=True) if f}
