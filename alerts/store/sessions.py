"""Web sessions (signed in with an API key) and what reviewers did to each alert.

Keys: ``session:{hash}`` (the session id's SHA-256: a leaked Redis dump gives no usable cookie) -> JSON
``{sub, key_id, csrf}`` with the session's TTL; ``alertlog:{sub}:{alert id}`` list of JSON actions, oldest
first.
"""

from __future__ import annotations

import secrets
from typing import Any

import orjson

from alerts.store.base import SEP, hash_key, now, text
from alerts.store.subscribers import SubscriberStore


class SessionStore(SubscriberStore):
    # -- sessions ---------------------------------------------------------------------------------------

    async def sign_in(self, api_key: str, ttl_s: int) -> tuple[str, dict[str, Any]] | None:
        """A new session for a valid key: (session id for the cookie, session data); None for a bad key."""
        sub = await self.authenticate(api_key)
        if sub is None:
            return None
        stored = await self.redis.get(self.k("apikey", hash_key(api_key)))
        key_id = text(stored).split(SEP, 1)[1] if stored is not None else "?"
        session_id = secrets.token_urlsafe(32)
        data = {"sub": sub, "key_id": key_id, "csrf": secrets.token_urlsafe(24), "at": now()}
        await self.redis.set(self.k("session", hash_key(session_id)), orjson.dumps(data), ex=ttl_s)
        return session_id, data

    async def session(self, session_id: str) -> dict[str, Any] | None:
        stored = await self.redis.get(self.k("session", hash_key(session_id)))
        if stored is None:
            return None
        data: dict[str, Any] = orjson.loads(stored)
        # A key revoked since sign-in ends its sessions too.
        keys = await self.redis.hget(self.k("keys", data["sub"]), data["key_id"])
        if keys is None or orjson.loads(keys).get("revoked_at") is not None:
            await self.sign_out(session_id)
            return None
        return data

    async def sign_out(self, session_id: str) -> None:
        await self.redis.delete(self.k("session", hash_key(session_id)))

    # -- what reviewers did -----------------------------------------------------------------------------

    async def log_action(self, sub: str, alert_id: str, action: str, by: str, comment: str,
                         until: float | None = None) -> None:  # fmt: skip
        entry = {"action": action, "by": by, "at": now(), "comment": comment, "until": until}
        await self.redis.rpush(self.k("alertlog", sub, alert_id), orjson.dumps(entry))

    async def actions(self, sub: str, alert_id: str) -> list[dict[str, Any]]:
        return [orjson.loads(v) for v in await self.redis.lrange(self.k("alertlog", sub, alert_id), 0, -1)]
