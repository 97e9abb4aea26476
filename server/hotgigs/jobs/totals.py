"""Public search totals kept in Redis per filter set, so paging through a search counts its
matches once, not on every page.

A total is stored under the jobs generation (`policy.SEARCH_CACHE.generation`, bumped after
every job change commits), whose key name and value are both in the total's key
(`hg:jobtotal:<generation key>:<value>:<digest>`, so stores with different generation keys
never read each other's totals), and a SHA-256 of the search's filters and their values (not
its sort, page or cursor), for as long as the answer cache keeps answers. The generation is read
before the database is counted, so a total stored under an old generation is never read again.
A look-up is one Lua script (`generations.LOOKUP` reads the generation and the total); in the
SearchJobs RPC it rides in the answer cache's look-up (`Cached.companion`, so no round trip of
its own) and a new total is stored with the answer in one round trip (`RequestContext.
cache_writes`). With Redis down the search counts every time: still bounded
(`search.EXACT_TOTAL_UP_TO`).

With a read replica (`track_lsn`), a total counted on the replica is stored only when the
replica had replayed the changes the generation stands for (`hotgigs.replica.generations`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Final

import redis
import structlog

from hotgigs import context as request_context
from hotgigs.cache import Cache
from hotgigs.jobs import policy
from hotgigs.replica import generations, router

log = structlog.get_logger(__name__)

PREFIX: Final = "hg:jobtotal:"

def digest(filters: tuple[str, ...], values: Mapping[str, Any], up_to: int) -> str:
    """What a total depends on: the filters, their bound values (not `now`) and the cap."""
    bound = {name: value for name, value in values.items() if name != "now"}
    return hashlib.sha256(json.dumps([filters, bound, up_to], sort_keys=True,
                                     default=str).encode()).hexdigest()


def key_prefix(generation: str) -> str:
    """Where the totals counted under `generation` (a Redis key holding a counter) are kept;
    the counter's value and the filters' digest follow."""
    return f"{PREFIX}{generation}:"


class Totals:
    """Get and put the capped match counts of public searches."""

    def __init__(self, cache: Cache, *, generation: str = policy.SEARCH_CACHE.generation,
                 ttl_seconds: int = policy.SEARCH_CACHE.ttl_seconds, track_lsn: bool = False
                 ) -> None:
        """`track_lsn`: a read replica is configured (the counts may come from it)."""
        self.client = cache.client
        self.generation = generation
        self.prefix = key_prefix(generation)
        self.ttl_seconds = ttl_seconds
        self.track_lsn = track_lsn
        self._lookup = self.client.register_script(generations.LOOKUP)
        self._keys = [generation, generations.lsn_key(generation)] if track_lsn else [generation]

    def get(self, key_digest: str) -> tuple[str | None, int | None]:
        """(key to store the total under, the stored total or None); the key is None when
        Redis is unavailable, or when the count would run on a replica that may not have
        replayed the generation's changes (then nothing is stored). Read by the answer
        cache's look-up when it was this total's `Cached.companion` (no round trip here)."""
        state = request_context.current()
        found = None if state is None else state.prefetched.pop((self.prefix, key_digest), None)
        if found is None:
            try:
                found, _ = generations.found(
                    self._lookup(keys=self._keys, args=[self.prefix, key_digest]))
            except redis.RedisError:
                return None, None
        total = None if found.value is None else int(found.value)
        if self.track_lsn and not generations.storable(found.lsn, router.replayed()):
            return None, total
        return found.key, total

    def put(self, key: str, total: int) -> None:
        """Keep a total; inside a cached RPC it goes with the answer (`cache_writes`)."""
        state = request_context.current()
        if state is not None and state.cache_writes is not None:
            state.cache_writes.append((key, total, self.ttl_seconds))
            return
        try:
            self.client.set(key, total, ex=self.ttl_seconds)
        except redis.RedisError:
            log.warning("search_total_not_cached")
