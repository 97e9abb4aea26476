"""Every SQL statement of the auth module: e-mail uniqueness, one-time tokens, refresh tokens,
linked identities (accounts are looked up through the users module)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hotgigs.models import OneTimeToken, RefreshToken, User, UserIdentity


def email_taken(session: Session, email: str) -> bool:
    return session.scalar(sa.select(User.id).where(User.email == email)) is not None


def one_time_token_for_update(session: Session, *, token_hash: str, purpose: str
                              ) -> OneTimeToken | None:
    return session.scalar(sa.select(OneTimeToken)
                          .where(OneTimeToken.token_hash == token_hash,
                                 OneTimeToken.purpose == purpose)
                          .with_for_update())


def spend_one_time_tokens(session: Session, *, user_id: int, purpose: str, at: dt.datetime) -> None:
    session.execute(sa.update(OneTimeToken)
                    .where(OneTimeToken.user_id == user_id, OneTimeToken.purpose == purpose,
                           OneTimeToken.used_at.is_(None))
                    .values(used_at=at))


def refresh_token_for_update(session: Session, token_id: str) -> RefreshToken | None:
    return session.scalar(sa.select(RefreshToken).where(RefreshToken.jti == token_id)
                          .with_for_update())


def identity_for_update(session: Session, *, provider: str, subject: str) -> UserIdentity | None:
    return session.scalar(sa.select(UserIdentity)
                          .where(UserIdentity.provider == provider,
                                 UserIdentity.subject == subject)
                          .with_for_update())


def identities_of(session: Session, *, user_id: int) -> list[UserIdentity]:
    return list(session.scalars(sa.select(UserIdentity).where(UserIdentity.user_id == user_id)
                                .order_by(UserIdentity.id)))


def add_identity(session: Session, identity: UserIdentity) -> None:
    session.add(identity)
    session.flush()


def delete_identity(session: Session, identity: UserIdentity) -> None:
    session.delete(identity)
    session.flush()


def delete_user(session: Session, user_id: int) -> None:
    """The account row; ON DELETE CASCADE / SET NULL take every row that refers to it."""
    session.execute(sa.delete(User).where(User.id == user_id))
