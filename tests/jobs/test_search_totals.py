"""Search totals kept per filter set (jobs.totals): counted once, read back for the other pages
of the same filters, forgotten when the jobs generation moves, skipped with Redis down."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import pytest

from hotgigs.cache import Cache
from hotgigs.db import Database
from hotgigs.dev.embedded import free_port
from hotgigs.jobs import search, totals
from tests.support.jobs import add_courier_jobs

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def store(cache: Cache) -> Iterator[totals.Totals]:
    """Totals under a generation of this test's own."""
    generation = f"test:jobs-generation:{uuid.uuid4().hex}"
    yield totals.Totals(cache, generation=generation)
    cache.client.delete(generation)


def add_jobs(database: Database, word: str, count: int) -> None:
    add_courier_jobs(database, word, count, newest=NOW - dt.timedelta(days=1))


def total(database: Database, word: str, store: totals.Totals | None, **raw: object
          ) -> tuple[int, bool]:
    with database.read_connection() as connection:
        result = search.search(connection, search.validate({"search": word, "limit": 1, **raw}),
                               now=NOW, store=store)
    return result.total, result.total_is_lower_bound


def test_kept_per_filter_set_until_the_generation_moves(own_database: Database, cache: Cache,
                                                        store: totals.Totals) -> None:
    word = f"kt{uuid.uuid4().hex[:8]}"
    add_jobs(own_database, word, 3)
    assert total(own_database, word, store) == (3, False)
    add_jobs(own_database, word, 2)  # no generation bump: the kept total is read back
    assert total(own_database, word, store, offset=1) == (3, False)
    assert total(own_database, word, None, offset=1) == (5, False), "without a store: counted"
    other = f"kt{uuid.uuid4().hex[:8]}"
    add_jobs(own_database, other, 2)
    assert total(own_database, other, store) == (2, False), "another filter set, its own total"
    cache.client.incr(store.generation)  # what a job change does after its commit
    assert total(own_database, word, store, offset=1) == (5, False)


def test_the_threshold_is_part_of_the_kept_total(own_database: Database, store: totals.Totals,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    word = f"th{uuid.uuid4().hex[:8]}"
    add_jobs(own_database, word, 4)
    monkeypatch.setattr(search, "EXACT_TOTAL_UP_TO", 2)
    assert total(own_database, word, store) == (2, True)
    monkeypatch.setattr(search, "EXACT_TOTAL_UP_TO", 10)
    assert total(own_database, word, store) == (4, False)


def test_with_redis_down_the_search_counts(own_database: Database) -> None:
    word = f"rd{uuid.uuid4().hex[:8]}"
    add_jobs(own_database, word, 3)
    dead = Cache(f"redis://127.0.0.1:{free_port()}/0", timeout_seconds=0.2)
    try:
        assert total(own_database, word, totals.Totals(dead), offset=1) == (3, False)
    finally:
        dead.close()


def test_stores_with_other_generations_never_share_a_total(own_database: Database, cache: Cache,
                                                           store: totals.Totals) -> None:
    """Two generation counters at the same value (the public one and a test's, say) and the
    same filters: each store counts its own total (the key names the generation, not only
    its value). Found as a flaky property test reading another search's total of 49."""
    word = f"kt{uuid.uuid4().hex[:8]}"
    add_jobs(own_database, word, 3)
    other = totals.Totals(cache, generation=f"test:jobs-generation:{uuid.uuid4().hex}")
    try:
        for generation in (store.generation, other.generation):
            cache.client.set(generation, 7)
        assert total(own_database, word, store) == (3, False)
        add_jobs(own_database, word, 1)  # no bump: `store` keeps 3, `other` has counted nothing
        assert total(own_database, word, store) == (3, False)
        assert total(own_database, word, other) == (4, False)
    finally:
        cache.client.delete(other.generation)
