"""One-time tickets that open the live feed from a browser's EventSource, which cannot send an
Authorization header: `POST /api/notifications/stream-ticket` (with the bearer token) answers
a random ticket; `GET /api/notifications/stream?ticket=...` redeems it once.

Only the ticket's SHA-256 is stored (Redis, expiring); redeeming reads and deletes it in one
transaction, so a ticket opens at most one feed. The holder's session is checked again when
the feed opens (a signed-out session's ticket is refused).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from typing import Any

import redis

from hotgigs.context import Principal

TTL_SECONDS = 30
MAX_TICKET_CHARS = 64  # longer input is not a ticket: refused without a Redis round trip


def _key(ticket: str) -> str:
    return "hg:stream-ticket:" + hashlib.sha256(ticket.encode()).hexdigest()


def issue(client: Any, principal: Principal, *, now: float | None = None) -> str:
    """A new ticket for `principal`, valid for TTL_SECONDS from `now`."""
    ticket = secrets.token_urlsafe(32)
    expires_at = (time.time() if now is None else now) + TTL_SECONDS
    value = json.dumps({"user_id": principal.user_id, "role": principal.role,
                        "session_id": principal.session_id, "token_id": principal.token_id,
                        "expires_at": expires_at})
    client.set(_key(ticket), value, ex=TTL_SECONDS)
    return ticket


def redeem(client: Any, ticket: str) -> Principal | None:
    """The ticket's principal, once; None for an unknown, used or expired ticket."""
    if not ticket or len(ticket) > MAX_TICKET_CHARS or not ticket.isascii():
        return None
    try:
        pipeline = client.pipeline(transaction=True)
        pipeline.get(_key(ticket))
        pipeline.delete(_key(ticket))
        stored, _ = pipeline.execute()
    except redis.RedisError:
        return None
    if stored is None:
        return None
    data = json.loads(stored)
    if float(data["expires_at"]) <= time.time():
        return None
    return Principal(user_id=int(data["user_id"]), role=str(data["role"]),
                     session_id=str(data["session_id"]), token_id=str(data["token_id"]))
