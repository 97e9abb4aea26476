"""Cached public job-search answers in Redis, keyed by EVERY parameter of the request.

The key is a hash of the request's deterministic serialisation plus a generation number;
any change to a job bumps the generation (after its transaction commits), so the next search
misses and sees the change at once. Entries also expire after `TTL_SECONDS`. With Redis down
the cache is simply skipped.
"""

from __future__ import annotations

import hashlib

import redis
import structlog

from hotgigs.cache import Cache

log = structlog.get_logger(__name__)

GENERATION_KEY = "hg:jobsearch:generation"
TTL_SECONDS = 60


# One round trip for a lookup: read the generation, build the key from it, GET the answer.
_LOOKUP = """
local key = ARGV[1] .. (redis.call('GET', KEYS[1]) or '0') .. ':' .. ARGV[2]
return {key, redis.call('GET', key)}
"""


class JobSearchCache:
    def __init__(self, cache: Cache) -> None:
        self.client = cache.client
        self._lookup = self.client.register_script(_LOOKUP)

    def lookup(self, request_bytes: bytes) -> tuple[str | None, bytes | None]:
        """(key to store the answer under, the cached answer or None) in one round trip; the
        key's generation is read before the database is queried, as `generation()` says.
        (None, None): Redis is unavailable, do not cache."""
        try:
            key, value = self._lookup(keys=[GENERATION_KEY], args=[
                "hg:jobsearch:", hashlib.sha256(request_bytes).hexdigest()])
        except redis.RedisError:
            return None, None
        return key.decode() if isinstance(key, bytes) else str(key), \
            value if isinstance(value, bytes) else None

    def put(self, key: str, payload: bytes) -> None:
        try:
            self.client.set(key, payload, ex=TTL_SECONDS)
        except redis.RedisError:
            log.warning("job_search_cache_write_failed")

    def invalidate(self) -> None:
        """Call after a job change has committed."""
        try:
            self.client.incr(GENERATION_KEY)
        except redis.RedisError:
            log.warning("job_search_cache_not_invalidated")
