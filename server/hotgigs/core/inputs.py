"""Typed use-case inputs (`...In` dataclasses): which of their fields a caller gave."""

from __future__ import annotations

import dataclasses
from typing import Any

#: The field an update input names the fields to reset with; never a value of its own.
CLEAR = "clear"


def given(fields: Any) -> dict[str, Any]:
    """The fields of an `...In` dataclass instance the caller gave (None: not given), by name;
    `clear` left out."""
    return {field.name: getattr(fields, field.name) for field in dataclasses.fields(fields)
            if field.name != CLEAR and getattr(fields, field.name) is not None}
