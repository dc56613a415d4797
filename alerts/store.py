"""Everything the alerts service keeps, in Redis (AOF): subscribers and their API keys, delivery
endpoints, alert history, reviews, and the delivery queue with every attempt.

Layout under the namespace (``{ns}:…``):
- ``subscriber:{sub}`` hash (name, created_at; the matcher's ``threshold`` lives here too), ``subscribers`` set;
- ``apikey:{sha256 of key}`` -> ``{sub}<US>{key id}``; ``keys:{sub}`` hash key id -> ApiKey JSON (hash only);
- ``endpoints:{sub}`` hash endpoint id -> Endpoint JSON;
- ``alerts:{sub}`` sorted set (alert id by created time), ``alert:{sub}:{alert id}`` the Alert JSON,
  ``acks:{sub}`` set;
- ``reviews:{sub}`` hash review id -> Review JSON, ``reviewpair:{sub}:{watch}:{source}:{entry}`` -> review id;
- ``delivery:{id}`` hash (one alert to one endpoint; its ``claim`` field names the process working on it),
  ``deliveries:due`` sorted set (id by next attempt), ``attempts:{id}`` list of Attempt JSON, ``dead:{sub}``
  sorted set of dead deliveries, ``order:{sub}:{endpoint}`` the endpoint's pending deliveries by creation;
- ``digest:{sub}:{endpoint}`` list of alert ids waiting for a digest, ``digests:due`` sorted set;
- ``standing:{sub}:{watch}`` hash ``{source}<US>{entry key}`` -> Standing JSON: where a watched company stands,
  kept current from the alerts themselves (added / modified / already listed set it, removed clears it), so
  /v1/status reads one page of it instead of re-screening the whole watchlist per request.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
from redis.asyncio import Redis

from contracts.models import Alert, Entry
from contracts.settings import CommonSettings

_SEP = "\x1f"
log = logging.getLogger(__name__)
KEY_PREFIX = "lw_"


def now() -> float:
    return time.time()


def _s(value: Any) -> str:
    """Redis replies are bytes here (no decode_responses); typed loosely by redis-py."""
    return value.decode() if isinstance(value, bytes) else str(value)


def _b(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def material_hash(entry: Entry | None) -> str:
    """What makes a change of a list entry material for a suppression: names, identifiers, programs,
    countries and dates; not remarks wording or addresses."""
    if entry is None:
        return "-"
    data = {
        "names": sorted({entry.name, *entry.aliases}),
        "ids": sorted(f"{i.scheme}:{i.value}" for i in entry.identifiers),
        "programs": sorted(entry.programs),
        "countries": sorted(entry.countries),
        "dates": [entry.listed_on, entry.end_date],
    }
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


@dataclass
class ApiKey:
    id: str
    created_at: float
    last4: str
    revoked_at: float | None = None


@dataclass
class Endpoint:
    id: str
    type: str  # "webhook" or "email"
    target: str  # URL or e-mail address
    created_at: float
    secret: str | None = None  # whsec_… for webhooks
    digest: bool = False  # e-mail: always send digests
    enabled: bool = True
    disabled_reason: str | None = None
    description: str = ""

    def public(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("secret")
        return data


@dataclass
class Review:
    id: str
    watch_id: str
    source: str
    entry_key: str
    action: str  # "acknowledge", "false_positive" or "suppress"
    reason: str
    created_at: float
    expires_at: float | None
    entry_hash: str


@dataclass
class Delivery:
    id: str
    subscriber_id: str
    alert_id: str
    endpoint_id: str
    status: str = "pending"  # pending, delivered, dead, dropped
    attempts: int = 0
    next_at: float = 0.0
    created_at: float = field(default_factory=now)
    delivered_at: float | None = None
    last_error: str | None = None
    # The alert ids of a digest delivery; empty for a single alert.
    digest_of: list[str] = field(default_factory=list)


@dataclass
class Attempt:
    at: float
    outcome: str  # "delivered", "failed", "gone", "misconfigured"
    status: int | None
    error: str | None
    duration_s: float


class AlertStore:
    def __init__(self, redis: Redis, settings: CommonSettings) -> None:
        self.redis = redis
        self._s = settings
        self._unreplicated_until = 0.0

    async def replicated(self) -> None:
        """With replicas configured, return once they have the last write. Without enough replicas (a failover
        left the new primary alone), waiting is skipped for a while rather than slowing every write."""
        wanted = self._s.redis_wait_replicas
        if not wanted or time.monotonic() < self._unreplicated_until:
            return
        if int(await self.redis.wait(wanted, 500)) < wanted:
            log.warning("Redis: fewer than %d replicas acknowledged a write; not waiting for 10 s", wanted)
            self._unreplicated_until = time.monotonic() + 10.0

    def k(self, *parts: str) -> str:
        return self._s.redis_key(*parts)

    # -- subscribers and keys -------------------------------------------------------------------------

    async def create_subscriber(self, name: str) -> tuple[str, str]:
        sub = "sub_" + uuid.uuid4().hex[:16]
        async with self.redis.pipeline(transaction=True) as p:
            p.hset(self.k("subscriber", sub), mapping={"name": name, "created_at": repr(now())})
            p.sadd(self.k("subscribers"), sub)
            await p.execute()
        key, _ = await self.create_key(sub)
        return sub, key

    async def subscriber(self, sub: str) -> dict[str, Any] | None:
        raw = await self.redis.hgetall(self.k("subscriber", sub))
        if not raw or b"name" not in raw:
            return None
        data = {_s(k): _s(v) for k, v in raw.items()}
        out: dict[str, Any] = {"id": sub, "name": data["name"], "created_at": float(data["created_at"])}
        if "threshold" in data:
            out["threshold"] = float(data["threshold"])
        return out

    async def subscribers(self) -> list[str]:
        return sorted(_s(m) for m in await self.redis.smembers(self.k("subscribers")))

    async def create_key(self, sub: str) -> tuple[str, ApiKey]:
        key_id = "key_" + uuid.uuid4().hex[:12]
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        record = ApiKey(id=key_id, created_at=now(), last4=secret[-4:])
        async with self.redis.pipeline(transaction=True) as p:
            p.set(self.k("apikey", hash_key(secret)), sub + _SEP + key_id)
            p.hset(self.k("keys", sub), key_id, orjson.dumps(asdict(record)))
            await p.execute()
        return secret, record

    async def keys(self, sub: str) -> list[ApiKey]:
        raw = await self.redis.hgetall(self.k("keys", sub))
        return sorted((ApiKey(**orjson.loads(v)) for v in raw.values()), key=lambda k: k.created_at)

    async def revoke_key(self, sub: str, key_id: str) -> bool:
        raw = await self.redis.hget(self.k("keys", sub), key_id)
        if raw is None:
            return False
        record = ApiKey(**orjson.loads(raw))
        if record.revoked_at is None:
            record.revoked_at = now()
            await self.redis.hset(self.k("keys", sub), key_id, orjson.dumps(asdict(record)))
        return True

    async def authenticate(self, api_key: str) -> str | None:
        """The subscriber of a valid, unrevoked key."""
        raw = await self.redis.get(self.k("apikey", hash_key(api_key)))
        if raw is None:
            return None
        sub, key_id = _s(raw).split(_SEP, 1)
        record = await self.redis.hget(self.k("keys", sub), key_id)
        if record is None or orjson.loads(record).get("revoked_at") is not None:
            return None
        return sub

    # -- endpoints ----------------------------------------------------------------------------------

    async def put_endpoint(self, sub: str, endpoint: Endpoint) -> None:
        await self.redis.hset(self.k("endpoints", sub), endpoint.id, orjson.dumps(asdict(endpoint)))

    async def endpoint(self, sub: str, endpoint_id: str) -> Endpoint | None:
        raw = await self.redis.hget(self.k("endpoints", sub), endpoint_id)
        return None if raw is None else Endpoint(**orjson.loads(raw))

    async def endpoints(self, sub: str) -> list[Endpoint]:
        raw = await self.redis.hgetall(self.k("endpoints", sub))
        return sorted((Endpoint(**orjson.loads(v)) for v in raw.values()), key=lambda e: e.created_at)

    async def delete_endpoint(self, sub: str, endpoint_id: str) -> bool:
        return bool(await self.redis.hdel(self.k("endpoints", sub), endpoint_id))

    # -- alerts ---------------------------------------------------------------------------------------

    async def record_alert(self, alert: Alert) -> bool:
        """Keep an alert in the subscriber's history; False when it was there already (a redelivery)."""
        sub = alert.subscriber_id
        stored = await self.redis.set(self.k("alert", sub, alert.alert_id), alert.dumps(), nx=True)
        if stored:
            await self.redis.zadd(self.k("alerts", sub), {alert.alert_id: alert.created_at.timestamp()})
        return bool(stored)

    async def alert(self, sub: str, alert_id: str) -> Alert | None:
        raw = await self.redis.get(self.k("alert", sub, alert_id))
        return None if raw is None else Alert.loads(_b(raw))

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
            alert_id = _s(member)
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

    # -- standings (what /v1/status shows) ---------------------------------------------------------------

    async def apply_standing(self, alert: Alert) -> None:
        key = self.k("standing", alert.subscriber_id, alert.watch_id)
        field_name = alert.source + _SEP + alert.entry_key
        if alert.kind == "removed":
            await self.redis.hdel(key, field_name)
            return
        data = {
            "source": alert.source, "entry_key": alert.entry_key, "entry_name": alert.entry_name,
            "score": alert.score, "reasons": list(alert.reasons), "list_kind": alert.list_kind,
            "list_colour": alert.list_colour, "since": alert.created_at.timestamp(),
        }  # fmt: skip
        await self.redis.hset(key, field_name, orjson.dumps(data))

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
        raw = await self.redis.hget(self.k("reviews", sub), _s(review_id))
        if raw is None:
            return None
        review = Review(**orjson.loads(raw))
        if review.action not in {"suppress", "false_positive"}:
            return None
        if review.expires_at is not None and review.expires_at < now():
            return None
        current = alert.after if alert.after is not None else alert.before
        return review if material_hash(current) == review.entry_hash else None

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
            orjson.dumps(asdict(delivery)), repr(delivery.next_at), repr(delivery.created_at), delivery.id, mode,
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
        return [_s(i) for i in ids]

    async def renew(self, delivery_ids: Sequence[str], lease_s: float, token: str) -> int:
        """Extend the leases that ``token`` still holds on unfinished deliveries; returns how many."""
        if not delivery_ids:
            return 0
        n = await self.redis.eval(
            self._RENEW, 1, self.k("deliveries", "due"), token, self.k("delivery", ""), repr(now() + lease_s),
            *delivery_ids,
        )  # fmt: skip
        return int(n)

    async def holds(self, delivery_id: str, token: str) -> bool:
        return _s(await self.redis.hget(self.k("delivery", delivery_id), "claim") or b"") == token

    async def finish(
        self, delivery: Delivery, token: str, mode: str, *, at: float = 0.0, attempt: Attempt | None = None
    ) -> bool:
        """Record a claimed delivery's outcome in one step, if ``token`` still holds it: ``mode`` is
        ``schedule`` (due again at ``at``), ``done`` (delivered or dropped) or ``dead``. False when the lease
        was lost to another process (nothing written)."""
        ok = await self.redis.eval(
            self._FINISH, 5, self.k("delivery", delivery.id), self.k("deliveries", "due"),
            self.k("attempts", delivery.id), self.k("dead", delivery.subscriber_id), self._order_key(delivery),
            token, orjson.dumps(asdict(delivery)), orjson.dumps(asdict(attempt)) if attempt else b"", mode,
            repr(at), repr(now()), delivery.id, repr(delivery.created_at), self.k("delivery", ""),
        )  # fmt: skip
        await self.replicated()
        return bool(ok)

    async def attempts(self, delivery_id: str) -> list[Attempt]:
        return [Attempt(**orjson.loads(r)) for r in await self.redis.lrange(self.k("attempts", delivery_id), 0, -1)]

    async def dead(self, sub: str) -> list[str]:
        return [_s(m) for m in await self.redis.zrange(self.k("dead", sub), 0, -1)]

    async def dead_page(self, sub: str, after: tuple[float, str] | None, limit: int) -> list[tuple[str, float]]:
        """Dead deliveries oldest first, strictly after ``after`` (score, id)."""
        low: float | str = after[0] if after else "-inf"
        rows = await self.redis.zrangebyscore(self.k("dead", sub), low, "+inf", start=0, num=limit + 64,
                                              withscores=True)  # fmt: skip
        out = []
        for row in rows:
            item = (_s(row[0]), float(row[1]))
            if after is not None and (item[1], item[0]) <= after:
                continue
            out.append(item)
            if len(out) >= limit:
                break
        return out

    async def queue_length(self) -> int:
        return int(await self.redis.zcard(self.k("deliveries", "due")))

    # -- digests and rate limits -------------------------------------------------------------------------

    async def count_in_window(self, name: str, window_s: float) -> int:
        """Events in the current fixed window for ``name`` (an INCR with expiry)."""
        bucket = int(now() // window_s)
        key = self.k("rate", name, str(bucket))
        async with self.redis.pipeline(transaction=True) as p:
            p.incr(key)
            p.expire(key, int(window_s) + 5)
            count, _ = await p.execute()
        return int(count)

    async def peek_window(self, name: str, window_s: float) -> int:
        """Events so far in the current window for ``name``, without counting one."""
        raw = await self.redis.get(self.k("rate", name, str(int(now() // window_s))))
        return int(raw) if raw is not None else 0

    async def add_to_digest(self, sub: str, endpoint_id: str, alert_id: str, flush_at: float) -> None:
        async with self.redis.pipeline(transaction=True) as p:
            p.rpush(self.k("digest", sub, endpoint_id), alert_id)
            p.zadd(self.k("digests", "due"), {sub + _SEP + endpoint_id: flush_at}, nx=True)
            await p.execute()

    async def take_due_digests(self) -> list[tuple[str, str, list[str]]]:
        due = await self.redis.zrangebyscore(self.k("digests", "due"), "-inf", now())
        out = []
        for member in map(_s, due):
            if not await self.redis.zrem(self.k("digests", "due"), member):
                continue  # another instance took it
            sub, endpoint_id = member.split(_SEP, 1)
            key = self.k("digest", sub, endpoint_id)
            async with self.redis.pipeline(transaction=True) as p:
                p.lrange(key, 0, -1)
                p.delete(key)
                ids, _ = await p.execute()
            if ids:
                out.append((sub, endpoint_id, list(dict.fromkeys(_s(i) for i in ids))))
        return out
