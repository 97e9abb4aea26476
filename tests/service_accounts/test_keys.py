"""API keys: format, hash, refusal of hostile keys without a look-up, and the per-worker cache
that bounds staleness and writes of last_used_at (no write per request)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from hotgigs.db import Database
from hotgigs.errors import Unauthenticated
from hotgigs.models import ServiceAccountKey
from hotgigs.security import api_keys
from hotgigs.security.api_keys import ApiKeys
from hotgigs.service_accounts import service
from tests import factories

PEPPER = "unit-test-pepper-0123456789-0123456789-abc"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def statements(database: Database) -> Iterator[list[str]]:
    """The SQL statements sent to PostgreSQL while the test runs."""
    seen: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    sa.event.listen(database.engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(database.engine, "before_cursor_execute", record)


def _account_key(database: Database, *, scopes: tuple[str, ...] = ("jobs.read",),
                 role: str = "candidate") -> tuple[int, str]:
    with database.session_scope() as session:
        owner = factories.make_user(session, role)
        account, issued = service.create(session, actor=None, pepper=PEPPER, account_in=service.AccountIn(
            name=f"svc-{owner.id}", owner_id=owner.id, scopes=scopes))
        return account.row.id, issued.key


def test_a_minted_key_checks_and_its_hash_is_not_the_key() -> None:
    minted = api_keys.mint(PEPPER)
    assert len(minted.key) == api_keys.KEY_LENGTH and minted.key.startswith("hg_")
    assert api_keys.checked(PEPPER.encode(), minted.key) == (minted.prefix, minted.key_hash)
    assert minted.key.encode() not in minted.key_hash and len(minted.key_hash) == 32
    assert api_keys.checked(b"another-pepper-0123456789-0123456789", minted.key) is None


@pytest.mark.parametrize("change", [
    lambda key: key[:-1] + ("A" if key[-1] != "A" else "B"),  # tag
    lambda key: key[:20] + ("x" if key[20] != "x" else "y") + key[21:],  # secret
    lambda key: key.replace("hg_", "hx_", 1),
    lambda key: key + "a",
    lambda key: key[:-1],
    lambda key: "",
    lambda key: "x" * 60_000,
    lambda key: key[:30] + "é" + key[31:],
])
def test_tampered_or_garbage_keys_fail_the_check(change: object) -> None:
    minted = api_keys.mint(PEPPER)
    assert callable(change)
    assert api_keys.checked(PEPPER.encode(), change(minted.key)) is None


def test_garbage_is_refused_without_a_database_look_up(database: Database,
                                                       statements: list[str]) -> None:
    keys = ApiKeys(database, PEPPER, ttl_seconds=5)
    forged = api_keys.mint("a-pepper-the-attacker-made-up-0123456789")  # well formed, wrong tag
    for key in ("garbage", "hg_" + "a" * 200, forged.key, "x" * 60_000):
        with pytest.raises(Unauthenticated) as refused:
            keys.authenticate(key)
        assert refused.value.reason == api_keys.INVALID
    assert statements == []


def test_keys_are_refused_when_the_server_has_no_pepper(database: Database) -> None:
    with pytest.raises(Unauthenticated) as refused:
        ApiKeys(database, None, ttl_seconds=5).authenticate(api_keys.mint(PEPPER).key)
    assert refused.value.reason == api_keys.DISABLED


def test_a_valid_key_acts_as_its_owner_with_the_account_scopes(database: Database) -> None:
    account_id, key = _account_key(database, scopes=("jobs.read", "JobService.CreateJob"),
                                   role="company")
    principal, scopes = ApiKeys(database, PEPPER, ttl_seconds=5).authenticate(key)
    assert principal.service_account_id == account_id and principal.role == "company"
    assert principal.session_id == "" and principal.token_id.startswith("key:")
    assert scopes == {"jobs.read", "JobService.CreateJob"}


def test_last_used_is_written_at_most_once_a_minute_not_per_call(
        database: Database, statements: list[str]) -> None:
    _, key = _account_key(database)
    clock, wall = Clock(), Clock()
    keys = ApiKeys(database, PEPPER, ttl_seconds=5, clock=clock, wall_clock=wall)
    statements.clear()

    def calls(count: int) -> tuple[int, int]:
        before = len(statements)
        for _ in range(count):
            keys.authenticate(key)
        new = statements[before:]
        return (sum("FROM service_account_keys" in s and s.lstrip().startswith("SELECT") for s in new),
                sum(s.lstrip().startswith("UPDATE service_account_keys") for s in new))

    assert calls(500) == (1, 1)  # first use: one read, last_used_at set once
    clock.now += 6  # the row is read again after the TTL ...
    wall.now += 6
    assert calls(500) == (1, 0)  # ... but last_used_at is fresh: no write
    with database.session_scope() as session:  # as the previous write left it, a minute ago
        session.execute(sa.update(ServiceAccountKey).values(
            last_used_at=sa.func.now() - dt.timedelta(seconds=61)))
    clock.now += 6
    wall.now = float(dt.datetime.now(dt.UTC).timestamp())
    assert calls(500) == (1, 1)


def test_revocation_and_expiry_hold_within_the_ttl(database: Database) -> None:
    account_id, key = _account_key(database)
    clock = Clock()
    keys = ApiKeys(database, PEPPER, ttl_seconds=5, clock=clock)
    keys.authenticate(key)
    with database.session_scope() as session:
        key_id = session.scalar(sa.select(ServiceAccountKey.id)
                                .where(ServiceAccountKey.account_id == account_id))
        assert key_id is not None
        service.revoke(session, actor=None, account_id=account_id, key_id=key_id)
    clock.now += 5  # the TTL is the bound
    with pytest.raises(Unauthenticated) as refused:
        keys.authenticate(key)
    assert refused.value.reason == api_keys.REVOKED

    account_id, key = _account_key(database)
    with database.session_scope() as session:
        session.execute(sa.update(ServiceAccountKey).where(ServiceAccountKey.account_id == account_id)
                        .values(expires_at=sa.func.now() - dt.timedelta(seconds=1)))
    with pytest.raises(Unauthenticated) as refused:
        keys.authenticate(key)
    assert refused.value.reason == api_keys.EXPIRED
