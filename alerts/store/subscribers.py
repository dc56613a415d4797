"""Subscribers and their API keys.

Keys: ``subscriber:{sub}`` hash (name, created_at), ``subscribers`` set, ``apikey:{sha256 of key}`` ->
``{sub}<US>{key id}``, ``keys:{sub}`` hash key id -> ApiKey JSON (the key's hash only, never the key).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import asdict
from typing import Any

import orjson

from alerts.store.base import KEY_PREFIX, SEP, StoreBase, hash_key, now, text
from alerts.store.records import ApiKey


class SubscriberStore(StoreBase):
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
        data = {text(k): text(v) for k, v in raw.items()}
        out: dict[str, Any] = {"id": sub, "name": data["name"], "created_at": float(data["created_at"])}
        return out

    async def subscribers(self) -> list[str]:
        return sorted(text(m) for m in await self.redis.smembers(self.k("subscribers")))

    async def create_key(self, sub: str) -> tuple[str, ApiKey]:
        key_id = "key_" + uuid.uuid4().hex[:12]
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        record = ApiKey(id=key_id, created_at=now(), last4=secret[-4:])
        async with self.redis.pipeline(transaction=True) as p:
            p.set(self.k("apikey", hash_key(secret)), sub + SEP + key_id)
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
        sub, key_id = text(raw).split(SEP, 1)
        record = await self.redis.hget(self.k("keys", sub), key_id)
        if record is None or orjson.loads(record).get("revoked_at") is not None:
            return None
        return sub
