"""Service accounts and their API keys.

A key is `hg_<prefix>_<secret>`; the table keeps the prefix (the look-up key, shown in lists)
and `key_hash`, HMAC-SHA-256 of the key under the server's pepper (`HOTGIGS_API_KEY_PEPPER`),
never the key (`hotgigs.security.api_keys`). `last_used_at` is written at most once a minute
per key per worker, not per request.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from hotgigs.models.base import Base, created_at_column, id_column


class ServiceAccount(Base):
    """A non-human caller: acts as its owner, narrowed to its scopes."""

    __tablename__ = "service_accounts"

    id: Mapped[int] = id_column()
    name: Mapped[str] = mapped_column(String(64), unique=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    scopes: Mapped[list[str]]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                   index=True)
    created_at: Mapped[dt.datetime] = created_at_column()


class ServiceAccountKey(Base):
    """One API key of a service account (several at once while rotating)."""

    __tablename__ = "service_account_keys"
    __table_args__ = (Index(None, "account_id"),)

    id: Mapped[int] = id_column()
    account_id: Mapped[int] = mapped_column(ForeignKey("service_accounts.id", ondelete="CASCADE"))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = created_at_column()
    expires_at: Mapped[dt.datetime]
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


__all__ = ["ServiceAccount", "ServiceAccountKey"]
