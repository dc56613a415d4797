"""Reviews of a (watched company, list entry) pair.

Keys: ``reviews:{sub}`` hash review id -> Review JSON, ``reviewpair:{sub}:{watch}:{source}:{entry}`` -> review id.
"""

from __future__ import annotations

from dataclasses import asdict

import orjson

from alerts.store.base import StoreBase, material_hash, now, text
from alerts.store.records import Review
from contracts.models import Alert


class ReviewStore(StoreBase):
    # -- reviews ----------------------------------------------------------------------------------------

    def _pair(self, sub: str, watch_id: str, source: str, entry_key: str) -> str:
        return self.k("reviewpair", sub, watch_id, source, entry_key)

    async def put_review(self, sub: str, review: Review) -> None:
        async with self.redis.pipeline(transaction=True) as p:
            p.hset(self.k("reviews", sub), review.id, orjson.dumps(asdict(review)))
            p.set(self._pair(sub, review.watch_id, review.source, review.entry_key), review.id)
            await p.execute()

    async def reviews(self, sub: str) -> list[Review]:
        raw = await self.redis.hgetall(self.k("reviews", sub))
        return sorted((Review(**orjson.loads(v)) for v in raw.values()), key=lambda r: r.created_at)

    async def delete_review(self, sub: str, review_id: str) -> bool:
        raw = await self.redis.hget(self.k("reviews", sub), review_id)
        if raw is None:
            return False
        review = Review(**orjson.loads(raw))
        async with self.redis.pipeline(transaction=True) as p:
            p.hdel(self.k("reviews", sub), review_id)
            p.delete(self._pair(sub, review.watch_id, review.source, review.entry_key))
            await p.execute()
        return True

    async def suppressing_review(self, alert: Alert) -> Review | None:
        """The review that silences this alert: a suppression or false positive, not expired, with the list
        entry materially as it was when reviewed."""
        sub = alert.subscriber_id
        review_id = await self.redis.get(self._pair(sub, alert.watch_id, alert.source, alert.entry_key))
        if review_id is None:
            return None
        raw = await self.redis.hget(self.k("reviews", sub), text(review_id))
        if raw is None:
            return None
        review = Review(**orjson.loads(raw))
        if review.action not in {"suppress", "false_positive"}:
            return None
        if review.expires_at is not None and review.expires_at < now():
            return None
        current = alert.after if alert.after is not None else alert.before
        return review if material_hash(current) == review.entry_hash else None
