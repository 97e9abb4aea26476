"""Public search totals kept in Redis per filter set, so paging through a search counts its
matches once, not on every page.

A total is stored under the jobs generation (`policy.SEARCH_CACHE.generation`, bumped after
every job change commits) and a SHA-256 of the search's filters and their values (not its sort,
page or cursor), for as long as the answer cache keeps answers. The generation is read before
the database is counted, so a total stored under an old generation is never read again. A
look-up is one round trip (a Lua script reads the generation and the total). With Redis down
the search counts every time: still bounded (`search.EXACT_TOTAL_UP_TO`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Final

import redis
import structlog

from hotgigs.cache import Cache
from hotgigs.jobs import policy

log = structlog.get_logger(__name__)

PREFIX: Final = "hg:jobtotal:"
_LOOKUP = """
local key = ARGV[1] .. (redis.call('GET', KEYS[1]) or '0') .. ':' .. ARGV[2]
return {key, redis.call('GET', key)}
"""


def digest(filters: tuple[str, ...], values: Mapping[str, Any], up_to: int) -> str:
    """What a total depends on: the filters, their bound values (not `now`) and the cap."""
    bound = {name: value for name, value in values.items() if name != "now"}
    return hashlib.sha256(json.dumps([filters, bound, up_to], sort_keys=True,
                                     default=str).encode()).hexdigest()


class Totals:
    """Get and put the capped match counts of public searches."""

    def __init__(self, cache: Cache, *, generation: str = policy.SEARCH_CACHE.generation,
                 ttl_seconds: int = policy.SEARCH_CACHE.ttl_seconds) -> None:
        self.client = cache.client
        self.generation = generation
        self.ttl_seconds = ttl_seconds
        self._lookup = self.client.register_script(_LOOKUP)

    def get(self, key_digest: str) -> tuple[str | None, int | None]:
        """(key to store the total under, the stored total or None); (None, None) when Redis
        is unavailable (then nothing is stored)."""
        try:
            key, value = self._lookup(keys=[self.generation], args=[PREFIX, key_digest])
        except redis.RedisError:
            return None, None
        return key.decode() if isinstance(key, bytes) else str(key), \
            None if value is None else int(value)

    def put(self, key: str, total: int) -> None:
        try:
            self.client.set(key, total, ex=self.ttl_seconds)
        except redis.RedisError:
            log.warning("search_total_not_cached")
