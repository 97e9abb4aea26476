"""The service-accounts use cases without gRPC or Envoy, on the suite's real PostgreSQL: each
test runs in one rolled-back transaction (the `session` fixture)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hotgigs.context import Principal
from hotgigs.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from hotgigs.models import AuditEntry, User
from hotgigs.security import api_keys
from hotgigs.service_accounts import service
from tests.factories import make_user

PEPPER = "service-test-pepper-0123456789-0123456789"


def as_actor(user: User) -> Principal:
    return Principal(user_id=user.id, role=user.user_type, session_id="s", token_id="t")


def new(session: Session, owner: User, *scopes: str, name: str = "svc-one") -> service.Account:
    account, _ = service.create(session, actor=None, pepper=PEPPER, account_in=service.AccountIn(
        name=name, owner_id=owner.id, scopes=scopes or ("jobs.read",)))
    return account


def test_create_stores_a_hash_and_dedupes_scopes(session: Session) -> None:
    admin, owner = make_user(session, "admin"), make_user(session, "company")
    account, issued = service.create(session, actor=as_actor(admin), pepper=PEPPER,
                                     account_in=service.AccountIn(
                                         name="crm-sync", owner_id=owner.id,
                                         scopes=("jobs.read", "jobs.read", "JobService.CreateJob")))
    assert account.row.scopes == ["JobService.CreateJob", "jobs.read"]
    assert api_keys.checked(PEPPER.encode(), issued.key) == (issued.row.prefix, issued.row.key_hash)
    [entry] = session.scalars(sa.select(AuditEntry)).all()
    assert (entry.action, entry.actor_user_id, entry.details["via"]) == (
        "service_account.create", admin.id, "api")
    assert issued.key not in str(entry.details)


def test_only_admins_and_the_console_manage_accounts(session: Session) -> None:
    company = make_user(session, "company")
    with pytest.raises(PermissionDenied):
        service.list_accounts(session, actor=as_actor(company))
    assert service.list_accounts(session, actor=None) == []


def test_without_a_pepper_no_key_is_made(session: Session) -> None:
    owner = make_user(session)
    with pytest.raises(FailedPrecondition):
        service.create(session, actor=None, pepper=None, account_in=service.AccountIn(
            name="no-pepper", owner_id=owner.id, scopes=("jobs.read",)))


def test_bad_input_names_every_field(session: Session) -> None:
    inactive = make_user(session)
    inactive.is_active = False
    with pytest.raises(InvalidArgument) as error:
        service.create(session, actor=None, pepper=PEPPER, account_in=service.AccountIn(
            name="-x", owner_id=inactive.id, scopes=("nope.read",), expires_in_days=731))
    assert {v.field for v in error.value.violations} == {"name", "owner_id", "scopes",
                                                        "expires_in_days"}
    with pytest.raises(InvalidArgument) as error:
        service.create(session, actor=None, pepper=PEPPER, account_in=service.AccountIn(
            name="many", owner_id=inactive.id, scopes=tuple(f"s{i}" for i in range(20_000))))
    assert "count" in next(v.description for v in error.value.violations if v.field == "scopes")


def test_names_are_unique(session: Session) -> None:
    owner = make_user(session)
    new(session, owner, name="dup-name")
    with pytest.raises(AlreadyExists):
        new(session, owner, name="dup-name")


def test_rotate_adds_a_key_and_revoke_is_idempotent(session: Session) -> None:
    account = new(session, make_user(session))
    issued = service.rotate(session, actor=None, pepper=PEPPER,
                            key_in=service.KeyIn(account_id=account.row.id, expires_in_days=7))
    [listed] = service.list_accounts(session, actor=None)
    assert [k.id for k in listed.keys] == [issued.row.id, account.keys[0].id]
    first = service.revoke(session, actor=None, account_id=account.row.id, key_id=issued.row.id)
    again = service.revoke(session, actor=None, account_id=account.row.id, key_id=issued.row.id)
    assert first.revoked_at is not None and again.revoked_at == first.revoked_at
    actions = session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["service_account.create", "service_account.key_create",
                       "service_account.key_revoke"]


def test_unknown_accounts_and_keys_are_not_found(session: Session) -> None:
    account = new(session, make_user(session))
    with pytest.raises(NotFound):
        service.rotate(session, actor=None, pepper=PEPPER, key_in=service.KeyIn(account_id=999_999))
    with pytest.raises(NotFound):
        service.revoke(session, actor=None, account_id=account.row.id, key_id=999_999)
    other = new(session, make_user(session), name="svc-two")
    with pytest.raises(NotFound):  # a key of another account
        service.revoke(session, actor=None, account_id=account.row.id, key_id=other.keys[0].id)
