"""Redis round trips of a public search through the real gRPC server and a real Redis, counted
on the wire (a connection that records what it sends, around redis-py's own): the rate limit's
count, the answer look-up and the search's total share one round trip, and a new answer and a
new total are stored in one more. With Redis down the search still answers from PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import redis

from hotgigs.cache import Cache
from hotgigs.db import Database
from hotgigs.dev.embedded import EmbeddedRedis, free_port
from hotgigs.grpc_server.server import create_server
from hotgigs.jobs import totals
from hotgigs.jobs.policy import SEARCH_CACHE
from hotgigs.v1 import jobs_pb2, jobs_pb2_grpc
from tests.support.jobs import add_courier_jobs
from tests.support.servers import make_settings

#: The keys a public search touches: its caller's rate-limit windows, its answer, the jobs
#: generation, its total. Anything else on the connection (health PINGs, the live feed) is not
#: the search's.
SEARCH_KEYS = (b"hg:rl:", SEARCH_CACHE.prefix.encode(), totals.PREFIX.encode())


class Wire:
    """What the search's connections sent: one entry per write, i.e. per round trip."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.lock = threading.Lock()

    def trips(self) -> list[bytes]:
        with self.lock:
            return [sent for sent in self.sent if any(key in sent for key in SEARCH_KEYS)]

    def clear(self) -> None:
        with self.lock:
            self.sent.clear()


def counting_cache(url: str, wire: Wire) -> Cache:
    """A Cache whose client's connections record every packed write before sending it."""

    class Counting(redis.Connection):
        def send_packed_command(self, command: Any, check_health: bool = True) -> None:
            packed = b"".join(command) if isinstance(command, list) else bytes(command)
            with wire.lock:
                wire.sent.append(packed)
            super().send_packed_command(command, check_health)

    cache = Cache(url)
    cache.client.connection_pool.connection_class = Counting
    return cache


@pytest.fixture
def searching(own_database: Database, redis_server: EmbeddedRedis, tmp_path: Path
              ) -> Iterator[tuple[jobs_pb2_grpc.JobServiceStub, Wire, Cache]]:
    wire = Wire()
    cache = counting_cache(redis_server.url, wire)
    server = create_server(make_settings(tmp_path), own_database, cache)
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            yield jobs_pb2_grpc.JobServiceStub(channel), wire, cache
    finally:
        server.stop(0)
        cache.close()


def add_jobs(database: Database, word: str, count: int) -> None:
    add_courier_jobs(database, word, count, newest=dt.datetime.now(dt.UTC))


def search(stub: jobs_pb2_grpc.JobServiceStub, word: str, offset: int
           ) -> jobs_pb2.SearchJobsResponse:
    response: jobs_pb2.SearchJobsResponse = stub.SearchJobs(
        jobs_pb2.SearchJobsRequest(search=word, limit=1, offset=offset), timeout=10)
    return response


def test_an_uncached_search_costs_two_round_trips(
        searching: tuple[jobs_pb2_grpc.JobServiceStub, Wire, Cache], own_database: Database
) -> None:
    stub, wire, cache = searching
    search(stub, "warm-up", 0)  # a fresh Redis has no script yet: loaded on the first look-up
    word = f"rt{uuid.uuid4().hex[:8]}"
    add_jobs(own_database, word, 3)
    wire.clear()
    # Page 1 of 3 does not settle the total: it is counted in PostgreSQL and stored with the
    # answer. Trip 1: rate limit + answer look-up + total look-up; trip 2: answer + total.
    first = search(stub, word, 0)
    assert (len(first.jobs), first.pagination.total) == (1, 3)
    trips = wire.trips()
    assert len(trips) == 2, trips
    assert b"INCR" in trips[0] and b"EVALSHA" in trips[0] and totals.PREFIX.encode() in trips[0]
    assert trips[1].count(b"SET") == 2 and totals.PREFIX.encode() in trips[1]
    generation = int(cache.client.get(SEARCH_CACHE.generation) or 0)
    assert cache.client.keys(f"{totals.PREFIX}{SEARCH_CACHE.generation}:{generation}:*")

    # Page 2: a new answer, the kept total read in the look-up's trip (not counted again: a
    # job added without a generation bump does not show in it), the answer stored in trip 2.
    add_jobs(own_database, word, 1)
    wire.clear()
    second = search(stub, word, 1)
    assert second.pagination.total == 3, "the kept total, read with the answer look-up"
    trips = wire.trips()
    assert len(trips) == 2, trips
    assert trips[1].count(b"SET") == 1

    # The same page again: answered from the cache in one trip.
    wire.clear()
    assert search(stub, word, 1) == second
    assert len(wire.trips()) == 1


def test_a_restarted_redis_without_the_script_still_reads_the_total(
        searching: tuple[jobs_pb2_grpc.JobServiceStub, Wire, Cache], own_database: Database
) -> None:
    """NOSCRIPT in the pipeline: the look-up (with the total) is loaded and sent again."""
    stub, wire, cache = searching
    word = f"ns{uuid.uuid4().hex[:8]}"
    add_jobs(own_database, word, 3)
    assert search(stub, word, 0).pagination.total == 3
    add_jobs(own_database, word, 1)  # no bump: the kept total stays 3
    cache.client.script_flush()
    wire.clear()
    assert search(stub, word, 1).pagination.total == 3
    assert len(wire.trips()) <= 4  # pipeline, SCRIPT LOAD + EVALSHA again, store


def test_with_redis_down_searches_answer_from_postgresql(own_database: Database,
                                                         tmp_path: Path) -> None:
    word = f"rd{uuid.uuid4().hex[:8]}"
    add_jobs(own_database, word, 3)
    dead = Cache(f"redis://127.0.0.1:{free_port()}/0", timeout_seconds=0.2)
    server = create_server(make_settings(tmp_path), own_database, dead)
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub = jobs_pb2_grpc.JobServiceStub(channel)
            for offset in (0, 1, 2):
                page = search(stub, word, offset)
                assert (len(page.jobs), page.pagination.total) == (1, 3)
            add_jobs(own_database, word, 1)
            assert search(stub, word, 1).pagination.total == 4, "counted every time"
    finally:
        server.stop(0)
        dead.close()


def test_invalid_searches_are_refused_before_any_companion_read(
        searching: tuple[jobs_pb2_grpc.JobServiceStub, Wire, Cache]) -> None:
    """A request the servicer refuses gives no total key (the companion answers None) and
    is still refused with INVALID_ARGUMENT, counted by the rate limit."""
    stub, wire, _ = searching
    wire.clear()
    with pytest.raises(grpc.RpcError) as refused:
        stub.SearchJobs(jobs_pb2.SearchJobsRequest(search="x", sort_by="nonsense"), timeout=10)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    trips = wire.trips()
    assert len(trips) == 1 and b"INCR" in trips[0]
    assert totals.PREFIX.encode() not in trips[0]
