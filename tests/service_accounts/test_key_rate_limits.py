"""Rate limits per service account: every key of an account counts against one budget
(SERVICE_ACCOUNT_RATE_LIMIT_PER_MINUTE), separate from other accounts and from users."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from hotgigs.cache import Cache
from hotgigs.db import Database
from hotgigs.grpc_server.server import create_server
from hotgigs.service_accounts import service
from hotgigs.settings import Settings
from hotgigs.v1 import jobs_pb2, jobs_pb2_grpc
from tests import factories
from tests.support.servers import make_settings


@pytest.fixture(scope="module")
def limited(database: Database, cache: Cache, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[tuple[jobs_pb2_grpc.JobServiceStub, Settings]]:
    settings = make_settings(tmp_path_factory.mktemp("key-limits"),
                             service_account_rate_limit_per_minute=3,
                             rate_limit_per_minute=100_000, rate_limit_per_hour=100_000)
    server = create_server(settings, database, cache)
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            yield jobs_pb2_grpc.JobServiceStub(channel), settings  # type: ignore[no-untyped-call]
    finally:
        server.stop(0)


def _account(database: Database, settings: Settings, name: str) -> tuple[str, str]:
    """Two keys of one new account."""
    with database.session_scope() as session:
        owner = factories.make_user(session, "candidate")
        account, first = service.create(session, actor=None, pepper=settings.api_key_pepper,
                                        account_in=service.AccountIn(name=f"{name}-{owner.id}",
                                                                     owner_id=owner.id,
                                                                     scopes=("jobs.read",)))
        second = service.rotate(session, actor=None, pepper=settings.api_key_pepper,
                                key_in=service.KeyIn(account_id=account.row.id))
        return first.key, second.key


def _code(jobs: jobs_pb2_grpc.JobServiceStub, key: str) -> grpc.StatusCode:
    try:
        jobs.SearchJobs(jobs_pb2.SearchJobsRequest(), metadata=(("x-api-key", key),), timeout=10)
    except grpc.RpcError as error:
        return error.code()  # type: ignore[attr-defined, no-any-return]
    return grpc.StatusCode.OK


def test_all_keys_of_an_account_share_one_budget(
        limited: tuple[jobs_pb2_grpc.JobServiceStub, Settings], database: Database) -> None:
    jobs, settings = limited
    first, second = _account(database, settings, "limited")
    assert [_code(jobs, first), _code(jobs, second), _code(jobs, first)] == [grpc.StatusCode.OK] * 3
    assert _code(jobs, second) == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert _code(jobs, first) == grpc.StatusCode.RESOURCE_EXHAUSTED
    other, _ = _account(database, settings, "neighbour")
    assert _code(jobs, other) == grpc.StatusCode.OK
