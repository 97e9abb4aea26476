"""The job-search answer cache against the real Redis: one-round-trip lookups keyed by the
generation, invalidation, and a dead Redis meaning 'do not cache' rather than an error."""

from __future__ import annotations

from hotgigs.cache import Cache
from hotgigs.dev.embedded import free_port
from hotgigs.jobs.cache import JobSearchCache


def test_lookup_put_and_invalidate(cache: Cache) -> None:
    search_cache = JobSearchCache(cache)
    request = b"search=lookup-test-" + str(free_port()).encode()
    key, cached = search_cache.lookup(request)
    assert key is not None
    assert cached is None
    generation = int(cache.client.get("hg:jobsearch:generation") or 0)
    assert key.startswith(f"hg:jobsearch:{generation}:")
    search_cache.put(key, b"answer")
    assert search_cache.lookup(request) == (key, b"answer")
    assert search_cache.lookup(request + b"&page=2")[1] is None, "another request, another key"
    search_cache.invalidate()
    new_key, cached = search_cache.lookup(request)
    assert (new_key != key, cached) == (True, None)


def test_a_dead_redis_means_no_caching_not_an_error() -> None:
    dead = Cache(f"redis://127.0.0.1:{free_port()}/0", timeout_seconds=0.2)
    try:
        search_cache = JobSearchCache(dead)
        assert search_cache.lookup(b"anything") == (None, None)
        search_cache.put("hg:jobsearch:0:x", b"answer")  # logged, not raised
        search_cache.invalidate()
    finally:
        dead.close()
