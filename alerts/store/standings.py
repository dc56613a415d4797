"""Where each watched company stands (what /v1/status shows), kept from the alerts as they arrive.

Keys: ``standing:{sub}:{watch}`` hash ``{source}<US>{entry key}`` -> Standing JSON. Added, modified and
already-listed alerts set a standing; a removal clears it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from alerts.store.base import SEP, StoreBase
from contracts.models import Alert


class StandingStore(StoreBase):
    # -- standings (what /v1/status shows) ---------------------------------------------------------------

    async def apply_standing(self, alert: Alert) -> None:
        key = self.k("standing", alert.subscriber_id, alert.watch_id)
        field_name = alert.source + SEP + alert.entry_key
        if alert.kind == "removed":
            await self.redis.hdel(key, field_name)
            return
        data = {
            "source": alert.source, "entry_key": alert.entry_key, "entry_name": alert.entry_name,
            "score": alert.score, "reasons": list(alert.reasons), "list_kind": alert.list_kind,
            "list_colour": alert.list_colour, "since": alert.created_at.timestamp(),
        }  # fmt: skip
        await self.redis.hset(key, field_name, orjson.dumps(data))

    async def drop_standing(self, alert: Alert) -> None:
        """Forget the standing an alert set (a provisional entry its confirmation replaces)."""
        await self.redis.hdel(
            self.k("standing", alert.subscriber_id, alert.watch_id), alert.source + SEP + alert.entry_key
        )

    async def standings(self, sub: str, watch_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        ids = list(watch_ids)
        async with self.redis.pipeline(transaction=False) as p:
            for watch_id in ids:
                p.hvals(self.k("standing", sub, watch_id))
            rows = await p.execute()
        return {w: sorted((orjson.loads(v) for v in vals), key=lambda d: (d["source"], d["entry_key"]))
                for w, vals in zip(ids, rows, strict=True)}  # fmt: skip

    async def forget_standing(self, sub: str, watch_id: str) -> None:
        await self.redis.delete(self.k("standing", sub, watch_id))
