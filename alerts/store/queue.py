"""The delivery queue: deliveries, atomic claims fenced by a token, per-endpoint order, attempts, dead letters.

Keys: ``delivery:{id}`` hash (``data``: Delivery JSON; ``claim``: the token of the process working on it),
``deliveries:due`` sorted set (id by next attempt, or by lease end while claimed), ``attempts:{id}`` list of
Attempt JSON, ``dead:{sub}`` sorted set of dead deliveries, ``order:{sub}:{endpoint}`` the endpoint's pending
deliveries by creation.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from alerts.store.base import StoreBase, now, text
from alerts.store.records import Attempt, Delivery


class QueueStore(StoreBase):
    # -- deliveries -------------------------------------------------------------------------------------

    # Deliveries to one endpoint keep their order: ``order:{sub}:{endpoint}`` holds the pending ones by
    # creation. A delivery is never due before the youngest older one that is waiting (not in flight), and a
    # delivery put off (a retry, the rate limit) pushes the younger ones behind it, in their order.
    _AFTER_OLDER = """
    local function after_older(order, due, prefix, created, at)
      local older = redis.call('ZREVRANGEBYSCORE', order, '(' .. created, '-inf', 'LIMIT', 0, 20)
      for _, id in ipairs(older) do
        if not redis.call('HGET', prefix .. id, 'claim') then
          local d = redis.call('ZSCORE', due, id)
          if d and tonumber(d) + 0.00001 > at then at = tonumber(d) + 0.00001 end
          return at
        end
      end
      return at
    end
    """
    _ENQUEUE = _AFTER_OLDER + """
    if ARGV[5] == 'new' then
      if redis.call('HSETNX', KEYS[1], 'data', ARGV[1]) == 0 then return 0 end
    else
      redis.call('HSET', KEYS[1], 'data', ARGV[1])
    end
    local at = after_older(KEYS[3], KEYS[2], ARGV[6], ARGV[3], tonumber(ARGV[2]))
    redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
    redis.call('ZADD', KEYS[2], at, ARGV[4])
    return 1
    """

    def _order_key(self, delivery: Delivery) -> str:
        return self.k("order", delivery.subscriber_id, delivery.endpoint_id)

    async def _enqueue(self, delivery: Delivery, mode: str) -> bool:
        done = await self.redis.eval(
            self._ENQUEUE, 3, self.k("delivery", delivery.id), self.k("deliveries", "due"), self._order_key(delivery),
            orjson.dumps(delivery), repr(delivery.next_at), repr(delivery.created_at), delivery.id, mode,
            self.k("delivery", ""),
        )  # fmt: skip
        return bool(done)

    async def enqueue(self, delivery: Delivery) -> bool:
        """Queue a delivery once: the same alert for the same endpoint is never queued twice."""
        return await self._enqueue(delivery, "new")

    async def requeue(self, delivery: Delivery) -> None:
        """Queue again (replay): attempts start over, the delivery keeps its id (and webhook-id)."""
        await self._enqueue(delivery, "again")
        await self.redis.zrem(self.k("dead", delivery.subscriber_id), delivery.id)

    async def delivery(self, delivery_id: str) -> Delivery | None:
        raw = await self.redis.hget(self.k("delivery", delivery_id), "data")
        return None if raw is None else Delivery(**orjson.loads(raw))

    # A claim is atomic (one Lua script): due deliveries are pushed ``lease_s`` into the future and stamped
    # with the claimer's token in one step, so two processes never claim the same one. Every later write
    # of the claimer is fenced by that token: once its lease ran out and another process claimed the
    # delivery, the first one's outcome is refused rather than recorded twice.
    # (Keys are built inside the scripts: fine on one Redis or a Sentinel pair, not on Redis Cluster.)
    _CLAIM = """
    local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
    for _, id in ipairs(ids) do
      redis.call('ZADD', KEYS[1], ARGV[2], id)
      redis.call('HSET', ARGV[5] .. id, 'claim', ARGV[4])
    end
    return ids
    """
    _RENEW = """
    local n = 0
    for i = 4, #ARGV do
      if redis.call('HGET', ARGV[2] .. ARGV[i], 'claim') == ARGV[1] then
        n = n + redis.call('ZADD', KEYS[1], 'XX', 'CH', ARGV[3], ARGV[i])
      end
    end
    return n
    """
    _FINISH = _AFTER_OLDER + """
    if redis.call('HGET', KEYS[1], 'claim') ~= ARGV[1] then return 0 end
    if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'data', ARGV[2]) end
    if ARGV[3] ~= '' then redis.call('RPUSH', KEYS[3], ARGV[3]) end
    redis.call('HDEL', KEYS[1], 'claim')
    if ARGV[4] == 'schedule' then
      local at = after_older(KEYS[5], KEYS[2], ARGV[9], ARGV[8], tonumber(ARGV[5]))
      redis.call('ZADD', KEYS[2], at, ARGV[7])
      -- younger deliveries of the endpoint due before this one move behind it, keeping their order;
      -- they are in due order already, so the walk stops at the first one that is behind
      local prev, offset = at, 0
      while true do
        local younger = redis.call('ZRANGEBYSCORE', KEYS[5], '(' .. ARGV[8], '+inf', 'LIMIT', offset, 100)
        if #younger == 0 then break end
        local stop = false
        for _, id in ipairs(younger) do
          local d = redis.call('ZSCORE', KEYS[2], id)
          if d and not redis.call('HGET', ARGV[9] .. id, 'claim') then
            if tonumber(d) > prev then stop = true break end
            prev = prev + 0.00001
            redis.call('ZADD', KEYS[2], 'XX', prev, id)
          end
        end
        if stop then break end
        offset = offset + 100
      end
    else
      redis.call('ZREM', KEYS[2], ARGV[7])
      redis.call('ZREM', KEYS[5], ARGV[7])
      if ARGV[4] == 'dead' then redis.call('ZADD', KEYS[4], ARGV[6], ARGV[7]) end
    end
    return 1
    """

    async def claim_due(self, limit: int, lease_s: float, token: str) -> list[str]:
        """Claim up to ``limit`` due deliveries for ``token``'s holder, leased for ``lease_s``: a crash of the
        holder hands them back to the queue when the lease runs out."""
        t = now()
        ids = await self.redis.eval(
            self._CLAIM, 1, self.k("deliveries", "due"), repr(t), repr(t + lease_s), str(limit), token,
            self.k("delivery", ""),
        )  # fmt: skip
        if ids:
            await self.replicated()
        return [text(i) for i in ids]

    async def renew(self, delivery_ids: Sequence[str], lease_s: float, token: str) -> int:
        """Extend the leases that ``token`` still holds on unfinished deliveries; returns how many."""
        if not delivery_ids:
            return 0
        n = await self.redis.eval(
            self._RENEW, 1, self.k("deliveries", "due"), token, self.k("delivery", ""), repr(now() + lease_s),
            *delivery_ids,
        )  # fmt: skip
        return int(n)

    async def claimed_many(self, delivery_ids: Sequence[str], token: str) -> list[Delivery | None]:
        """The deliveries, each if ``token`` still holds its claim (None where another process has it), in one
        round trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for delivery_id in delivery_ids:
                pipe.hmget(self.k("delivery", delivery_id), ["data", "claim"])
            rows = await pipe.execute()
        return [
            Delivery(**orjson.loads(data)) if claim is not None and text(claim) == token and data is not None else None
            for data, claim in rows
        ]

    async def finish(
        self, delivery: Delivery, token: str, mode: str, *, at: float = 0.0, attempt: Attempt | None = None
    ) -> bool:
        """Record a claimed delivery's outcome in one step, if ``token`` still holds it: ``mode`` is
        ``schedule`` (due again at ``at``), ``done`` (delivered or dropped) or ``dead``. False when the lease
        was lost to another process (nothing written)."""
        ok = await self.grouped(
            self._FINISH,
            [self.k("delivery", delivery.id), self.k("deliveries", "due"), self.k("attempts", delivery.id),
             self.k("dead", delivery.subscriber_id), self._order_key(delivery)],
            [token, orjson.dumps(delivery), orjson.dumps(attempt) if attempt else b"", mode, repr(at), repr(now()),
             delivery.id, repr(delivery.created_at), self.k("delivery", "")],
        )  # fmt: skip
        return bool(ok)

    async def attempts(self, delivery_id: str) -> list[Attempt]:
        return [Attempt(**orjson.loads(r)) for r in await self.redis.lrange(self.k("attempts", delivery_id), 0, -1)]

    async def dead(self, sub: str) -> list[str]:
        return [text(m) for m in await self.redis.zrange(self.k("dead", sub), 0, -1)]

    async def is_dead(self, sub: str, delivery_id: str) -> bool:
        return await self.redis.zscore(self.k("dead", sub), delivery_id) is not None

    async def dead_page(self, sub: str, after: tuple[float, str] | None, limit: int) -> list[tuple[str, float]]:
        """Dead deliveries oldest first, strictly after ``after`` (score, id)."""
        low: float | str = after[0] if after else "-inf"
        rows = await self.redis.zrangebyscore(self.k("dead", sub), low, "+inf", start=0, num=limit + 64,
                                              withscores=True)  # fmt: skip
        out = []
        for row in rows:
            item = (text(row[0]), float(row[1]))
            if after is not None and (item[1], item[0]) <= after:
                continue
            out.append(item)
            if len(out) >= limit:
                break
        return out

    async def queue_length(self) -> int:
        return int(await self.redis.zcard(self.k("deliveries", "due")))
