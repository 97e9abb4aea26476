"""Input hygiene: length limits, control characters, XSS sanitising, vocabularies.

A `Validator` collects every problem of one request and raises them together as one
`InvalidArgument` with a field violation each, so a client can fix all fields at once.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sized

import nh3

from hotgigs.errors import FieldViolation, InvalidArgument

_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
_URL = re.compile(r"^https?://[^\s<>\"']+$", re.IGNORECASE)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Raw text may be this many times its limit (markup that sanitising removes); longer input is
# refused before it is sanitised, so the work per field is bounded by its limit.
RAW_LENGTH_FACTOR = 4


def strip_markup(value: str) -> str:
    """Plain text without any HTML: tags and script content removed, entities decoded, until
    nothing changes (so `&lt;script&gt;` cannot come back as `<script>`)."""
    for _ in range(5):
        cleaned = html.unescape(nh3.clean(value, tags=set()))
        if cleaned == value:
            return cleaned
        value = cleaned
    return html.escape(value)  # still changing: give up on decoding, never emit markup


def is_email(value: str) -> bool:
    """True when `value` (already trimmed and lower-cased) could be a stored e-mail address."""
    return len(value) <= 254 and _EMAIL.match(value) is not None


# Refused in every text: bidi overrides and isolates (they make text display in another order
# than it is stored: "Trojan Source"), line and paragraph separators in one-line fields, and C0/C1
# control characters. Other format characters (Unicode Cf) are ordinary text: zero-width joiners
# and non-joiners in emoji sequences and Persian or Indic words, soft hyphens.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_SEPARATORS = frozenset("\u2028\u2029")


def has_control_characters(value: str, *, multiline: bool) -> bool:
    """True when `value` has a character no name or text field may hold (see above)."""
    allowed = {"\n", "\t", "\r"} if multiline else set()
    for ch in value:
        if ch in _BIDI_CONTROLS or (ch in _SEPARATORS and not multiline):
            return True
        if unicodedata.category(ch) == "Cc" and ch not in allowed:
            return True
    return False


class Validator:
    """Collects field violations; `check()` raises them all at once."""

    def __init__(self) -> None:
        self.violations: list[FieldViolation] = []

    def fail(self, field: str, description: str) -> None:
        self.violations.append(FieldViolation(field, description))

    def text(self, field: str, value: str | None, *, max_length: int, min_length: int = 0,
             required: bool = False, multiline: bool = False) -> str | None:
        """A free-text field: trimmed, sanitised, length-checked. None stays None."""
        if value is None:
            if required:
                self.fail(field, "is required")
            return None
        value = value.strip()
        if not value:
            if required:
                self.fail(field, "is required")
            return "" if not required else None
        if len(value) > max_length * RAW_LENGTH_FACTOR:  # refused before any per-character work
            self.fail(field, f"must be at most {max_length} characters")
            return None
        if has_control_characters(value, multiline=multiline):
            self.fail(field, "must not contain control characters")
            return None
        value = unicodedata.normalize("NFC", strip_markup(value)).strip()
        if len(value) > max_length:
            self.fail(field, f"must be at most {max_length} characters")
        elif len(value) < max(min_length, 1 if required else 0):
            self.fail(field, f"must be at least {max(min_length, 1)} characters"
                             + (" after removing markup" if value != "" else ""))
        return value

    def email(self, field: str, value: str | None, *, required: bool = True) -> str | None:
        """An e-mail address, lower-cased."""
        if value is None or not value.strip():
            if required:
                self.fail(field, "is required")
            return None
        value = value.strip().lower()
        if len(value) > 254 or not _EMAIL.match(value):
            self.fail(field, "must be a valid e-mail address")
            return None
        return value

    def choice(self, field: str, value: str | None, choices: Iterable[str], *,
               aliases: Mapping[str, str] | None = None, required: bool = False) -> str | None:
        """One value of a vocabulary (aliases map old spellings to current ones)."""
        if value is None or value == "":
            if required:
                self.fail(field, "is required")
            return None
        value = (aliases or {}).get(value, value)
        options = tuple(choices)
        if value not in options:
            self.fail(field, f"must be one of: {', '.join(options)}")
            return None
        return value

    def url(self, field: str, value: str | None, *, max_length: int = 500) -> str | None:
        if value is None or value.strip() == "":
            return value if value is None else ""
        value = value.strip()
        if len(value) > max_length or not _URL.match(value):
            self.fail(field, f"must be an http(s) URL of at most {max_length} characters")
            return None
        return value

    def number(self, field: str, value: int | None, *, minimum: int | None = None,
               maximum: int | None = None) -> int | None:
        if value is None:
            return None
        if minimum is not None and value < minimum:
            self.fail(field, f"must be at least {minimum}")
        if maximum is not None and value > maximum:
            self.fail(field, f"must be at most {maximum}")
        return value

    def date(self, field: str, value: str | None, *, required: bool = False) -> str | None:
        """A calendar date as YYYY-MM-DD (validated, returned unchanged)."""
        import datetime as dt

        if value is None or value == "":
            if required:
                self.fail(field, "is required")
            return None
        if not _DATE.match(value):
            self.fail(field, "must be a date like 2024-01-31")
            return None
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            self.fail(field, "is not a real calendar date")
            return None
        return value

    def text_list(self, field: str, values: Iterable[str], *, max_items: int,
                  max_length: int) -> list[str]:
        """A list of short plain-text items: trimmed, sanitised, de-duplicated, order kept.

        Linear in the input: the item count is checked before any per-item work (a list over
        `max_items` is refused as a whole), each raw item's length before it is sanitised, and
        duplicates are found with a set."""
        raw_items = values if isinstance(values, Sized) else list(values)
        if len(raw_items) > max_items:
            self.fail(field, f"must have at most {max_items} items")
            return []
        items: list[str] = []
        seen: set[str] = set()
        for index, raw in enumerate(raw_items):
            item = self.text(f"{field}[{index}]", raw, max_length=max_length)
            if item and item not in seen:
                seen.add(item)
                items.append(item)
        return items

    def check(self, message: str = "Invalid request") -> None:
        """Raise one InvalidArgument with every violation found, if any."""
        if self.violations:
            raise InvalidArgument(message, self.violations)
