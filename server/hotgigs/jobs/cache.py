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


class JobSearchCache:
    def __init__(self, cache: Cache) -> None:
        self.client = cache.client

    def generation(self) -> int | None:
        """Read BEFORE querying the database, so an answer is never stored under a generation
        newer than the data it saw. None: Redis is unavailable, do not cache."""
        try:
            value = self.client.get(GENERATION_KEY)
        except redis.RedisError:
            return None
        return int(value) if value else 0

    @staticmethod
    def key(generation: int, request_bytes: bytes) -> str:
        return f"hg:jobsearch:{generation}:{hashlib.sha256(request_bytes).hexdigest()}"

    def get(self, key: str) -> bytes | None:
        try:
            value = self.client.get(key)
        except redis.RedisError:
            return None
        return value if isinstance(value, bytes) else None

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
