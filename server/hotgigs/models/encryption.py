"""The key-encryption keys a database has seen (`hotgigs.security.encryption`, keys module).

One row per KEK id: its check value (16 bytes derived from the key, not the key), so a process
configured with other material under a known id refuses to start, and `retired_at`, set by
`hotgigs keys rotate` once nothing is wrapped or sealed under the id any more (a process may
then start without it).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from hotgigs.models.base import Base, created_at_column


class EncryptionKey(Base):
    """A KEK id this database knows, with the check value of its material."""

    __tablename__ = "encryption_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    check_value: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = created_at_column()
    retired_at: Mapped[dt.datetime | None]


__all__ = ["EncryptionKey"]
