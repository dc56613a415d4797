"""E-mail digests, the e-mail burst's sliding window, and fixed-window counters (rate limits, failed key
attempts).

Keys: ``digest:{sub}:{endpoint}`` list of alert ids waiting for a digest, ``digests:due`` sorted set,
``recent:{name}`` sorted set of the last events (id -> time), ``rate:{name}:{window}`` counters that expire
with their window.
"""

from __future__ import annotations

from alerts.store.base import SEP, StoreBase, now, text

# INCR with an expiry in one command (one reply per delivery instead of a four-command transaction).
_COUNT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""


# The events of the last ``window`` seconds (member -> time), trimmed to the newest ``cap``: the count is exact
# up to ``cap`` at any moment (a fixed window restarts at the clock's minute and lets a second burst through
# right after the first), memory stays bounded, and an event seen again (a redelivered alert) counts once.
_RECENT = """
local at, window, cap = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', at - window)
redis.call('ZADD', KEYS[1], 'NX', at, ARGV[4])
local n = redis.call('ZCARD', KEYS[1])
if n > cap then
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, n - cap - 1)
  n = cap
end
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
return n
"""


class DigestStore(StoreBase):
    # -- digests and rate limits -------------------------------------------------------------------------

    async def count_in_window(self, name: str, window_s: float) -> int:
        """Events in the current fixed window for ``name`` (an INCR with expiry)."""
        bucket = int(now() // window_s)
        key = self.k("rate", name, str(bucket))
        return int(await self.grouped(_COUNT, [key], [int(window_s) + 5]))

    async def count_recent(self, name: str, event: str, window_s: float, cap: int, at: float | None = None) -> int:
        """Distinct events for ``name`` in the ``window_s`` seconds up to ``at`` (now), ``event`` included,
        counted up to ``cap``."""
        at = now() if at is None else at
        return int(await self.grouped(_RECENT, [self.k("recent", name)], [repr(at), repr(window_s), cap, event]))

    async def peek_window(self, name: str, window_s: float) -> int:
        """Events so far in the current window for ``name``, without counting one."""
        raw = await self.redis.get(self.k("rate", name, str(int(now() // window_s))))
        return int(raw) if raw is not None else 0

    async def add_to_digest(self, sub: str, endpoint_id: str, alert_id: str, flush_at: float) -> None:
        async with self.redis.pipeline(transaction=True) as p:
            p.rpush(self.k("digest", sub, endpoint_id), alert_id)
            p.zadd(self.k("digests", "due"), {sub + SEP + endpoint_id: flush_at}, nx=True)
            await p.execute()

    async def take_due_digests(self) -> list[tuple[str, str, list[str]]]:
        due = await self.redis.zrangebyscore(self.k("digests", "due"), "-inf", now())
        out = []
        for member in map(text, due):
            if not await self.redis.zrem(self.k("digests", "due"), member):
                continue  # another instance took it
            sub, endpoint_id = member.split(SEP, 1)
            key = self.k("digest", sub, endpoint_id)
            async with self.redis.pipeline(transaction=True) as p:
                p.lrange(key, 0, -1)
                p.delete(key)
                ids, _ = await p.execute()
            if ids:
                out.append((sub, endpoint_id, list(dict.fromkeys(text(i) for i in ids))))
        return out
