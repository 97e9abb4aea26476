"""Every SQL statement of the service-accounts module."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hotgigs.models import ServiceAccount, ServiceAccountKey


def name_taken(session: Session, name: str) -> bool:
    return session.scalar(sa.select(sa.exists().where(ServiceAccount.name == name))) or False


def get_account(session: Session, account_id: int) -> ServiceAccount | None:
    return session.get(ServiceAccount, account_id)


def accounts(session: Session) -> list[ServiceAccount]:
    return list(session.scalars(sa.select(ServiceAccount).order_by(ServiceAccount.name)))


def keys_of(session: Session, account_ids: list[int]) -> list[ServiceAccountKey]:
    """The keys of these accounts, newest first."""
    if not account_ids:
        return []
    return list(session.scalars(
        sa.select(ServiceAccountKey).where(ServiceAccountKey.account_id.in_(account_ids))
        .order_by(ServiceAccountKey.id.desc())))


def get_key(session: Session, account_id: int, key_id: int) -> ServiceAccountKey | None:
    """The key, locked for the revocation."""
    return session.scalar(sa.select(ServiceAccountKey).where(
        ServiceAccountKey.id == key_id, ServiceAccountKey.account_id == account_id)
        .with_for_update())


def add(session: Session, row: ServiceAccount | ServiceAccountKey) -> None:
    session.add(row)
    session.flush()
