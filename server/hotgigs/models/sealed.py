"""Columns encrypted at rest (`SealedText`, `SealedInteger`): personal data nothing searches.

The value is sealed on the way in and opened on the way out by the type itself, so ORM entities
and Core rows alike carry plain values and no query code changes. The keys are the engine's:
`hotgigs.db.Database` attaches its key ring to the engine's dialect (`attach`); an engine
without one refuses to read or write such a column. A sealed value cannot be compared in SQL
(every seal has a fresh nonce): a column that is filtered, sorted, searched or unique stays
plain (README, "Personal data"). Format and keys: `hotgigs.security.encryption`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import Dialect, Engine, LargeBinary
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from hotgigs.security.encryption import KeyRing

_ATTRIBUTE: Final = "hotgigs_keyring"
#: Every sealed column as (table, primary key column, column): what `hotgigs keys rotate` walks.
SEALED_COLUMNS: list[tuple[str, str, str]] = []


class MissingKeys(RuntimeError):
    """A sealed column was used on an engine that has no key ring attached."""


def attach(engine: Engine, keyring: KeyRing) -> None:
    """Seal and open this engine's sealed columns with `keyring`."""
    setattr(engine.dialect, _ATTRIBUTE, keyring)


def _keyring(dialect: Dialect, context: str) -> KeyRing:
    keyring: KeyRing | None = getattr(dialect, _ATTRIBUTE, None)
    if keyring is None:
        raise MissingKeys(f"{context} is encrypted, but this database handle has no keys "
                          "(build it with Database(..., keyring=...))")
    return keyring


class SealedText(TypeDecorator[str]):
    """Text stored sealed (bytea); `context` ("table.column") is bound to every value."""

    impl = LargeBinary
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: str | None, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        return _keyring(dialect, self.context).seal(value.encode(), context=self.context)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return _keyring(dialect, self.context).open(bytes(value), context=self.context).decode()


class SealedInteger(TypeDecorator[int]):
    """A whole number stored sealed (its decimal text)."""

    impl = LargeBinary
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: int | None, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        return _keyring(dialect, self.context).seal(str(int(value)).encode(), context=self.context)

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        return int(_keyring(dialect, self.context).open(bytes(value), context=self.context))


def sealed_text(table: str, column: str, primary_key: str = "id") -> SealedText:
    """The type of `table.column`, registered for rotation."""
    SEALED_COLUMNS.append((table, primary_key, column))
    return SealedText(f"{table}.{column}")


def sealed_integer(table: str, column: str, primary_key: str = "id") -> SealedInteger:
    SEALED_COLUMNS.append((table, primary_key, column))
    return SealedInteger(f"{table}.{column}")
