"""Who may see which field of a response: the one table, and the function that enforces it.

Access to a resource (may this caller read this application at all?) is decided by each
module's service. This module decides, for a resource the caller may read, which of its
fields they see. A field not named here is shown to everyone who may read the resource.
Converters build the full message, then call `strip(message, audiences)`; `table()` renders
the same rules as the README's "Who sees what" section (`hotgigs visibility-table`).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable
from typing import TypeVar

from google.protobuf.message import Message

from hotgigs.context import Principal
from hotgigs.core import rpc as roles

M = TypeVar("M", bound=Message)


class Audience(enum.Enum):
    """Who is looking, relative to the resource."""

    SELF = "the user it is about"
    EMPLOYER = "company or recruiter account"
    MEMBER = "member of the company it belongs to"
    APPLICANT_COMPANY = "member of a company the candidate applied to (not withdrawn)"
    ADMIN = "admin"
    PUBLIC = "anyone else"


SELF, EMPLOYER, MEMBER, APPLICANT_COMPANY, ADMIN, PUBLIC = (
    Audience.SELF, Audience.EMPLOYER, Audience.MEMBER, Audience.APPLICANT_COMPANY,
    Audience.ADMIN, Audience.PUBLIC)


@dataclasses.dataclass(frozen=True)
class Rule:
    """`path` (dotted, through nested and repeated messages) of resource `message` is shown
    only to `audiences`."""

    message: str
    path: str
    audiences: frozenset[Audience]
    why: str


def _rule(message: str, path: str, audiences: Iterable[Audience], why: str) -> Rule:
    return Rule(message, path, frozenset(audiences), why)


RULES: tuple[Rule, ...] = (
    _rule("hotgigs.v1.Application", "notes", (MEMBER, ADMIN),
          "the company's internal notes"),
    _rule("hotgigs.v1.Application", "interview_notes", (MEMBER, ADMIN),
          "the company's internal notes"),
    _rule("hotgigs.v1.Application", "status_history.changed_by", (MEMBER, ADMIN),
          "ids of the company's staff"),
    _rule("hotgigs.v1.Application", "candidate.email", (SELF, APPLICANT_COMPANY, ADMIN),
          "contact only while the application is not withdrawn"),
    _rule("hotgigs.v1.Candidate", "email", (SELF, APPLICANT_COMPANY, ADMIN),
          "contact only for the company's applicants"),
    _rule("hotgigs.v1.Candidate", "candidate_profile.desired_salary_min",
          (SELF, EMPLOYER, ADMIN), "employers only, never public profiles"),
    _rule("hotgigs.v1.Candidate", "candidate_profile.desired_salary_max",
          (SELF, EMPLOYER, ADMIN), "employers only, never public profiles"),
    _rule("hotgigs.v1.CandidateSummary", "email", (SELF, APPLICANT_COMPANY, ADMIN),
          "contact only for the company's applicants (search, AI match)"),
    _rule("hotgigs.v1.UserSummary", "email", (SELF, ADMIN),
          "user search hits; search matches names, never e-mail"),
    _rule("hotgigs.v1.CompanyMember", "user.email", (SELF, MEMBER, ADMIN),
          "fellow members only"),
    _rule("hotgigs.v1.JobStats", "total_applications", (MEMBER, ADMIN),
          "platform-wide count for admins; per-company count for its members"),
)
_BY_MESSAGE: dict[str, list[Rule]] = {}
for _entry in RULES:
    _BY_MESSAGE.setdefault(_entry.message, []).append(_entry)


def _clear(message: Message, parts: list[str]) -> None:
    name, rest = parts[0], parts[1:]
    if not rest:
        message.ClearField(name)
        return
    field = message.DESCRIPTOR.fields_by_name[name]
    if field.is_repeated:
        for item in getattr(message, name):
            _clear(item, rest)
    elif message.HasField(name):
        _clear(getattr(message, name), rest)


def strip(message: M, audiences: Iterable[Audience]) -> M:
    """Clear, in place, every field of `message` that none of `audiences` may see; returns it.

    Rules are looked up by the message's own type: pass the resource (an `Application`, a
    `CandidateSummary`), not the response wrapping it."""
    seen = frozenset(audiences)
    for rule in _BY_MESSAGE.get(message.DESCRIPTOR.full_name, ()):
        if not rule.audiences & seen:
            _clear(message, rule.path.split("."))
    return message


def visible(message_name: str, path: str, audiences: Iterable[Audience]) -> bool:
    """Whether `audiences` see `path` of `message_name` (fields without a rule: yes)."""
    seen = frozenset(audiences)
    return all(rule.audiences & seen for rule in _BY_MESSAGE.get(message_name, ())
               if rule.path == path)


def table() -> str:
    """The rules as a markdown table (the README's "Who sees what")."""
    columns = (SELF, EMPLOYER, MEMBER, APPLICANT_COMPANY, ADMIN, PUBLIC)
    heads = ("self", "employer", "member", "applicant's company", "admin", "others")
    lines = ["| message | field | " + " | ".join(heads) + " | why |",
             "|---|---|" + "---|" * len(columns) + "---|"]
    for rule in RULES:
        marks = " | ".join("yes" if c in rule.audiences else "no" for c in columns)
        lines.append(f"| `{rule.message.removeprefix('hotgigs.v1.')}` | `{rule.path}` | "
                     f"{marks} | {rule.why} |")
    return "\n".join(lines) + "\n"


def audiences(actor: Principal, *, subject_id: int, applicant: bool = False,
              member: bool = False) -> set[Audience]:
    """Who `actor` is relative to a resource about user `subject_id` (`applicant`: the subject
    has an open application to one of the actor's companies; `member`: the actor is a member of
    the company the resource belongs to)."""
    found: set[Audience] = set()
    if actor.user_id == subject_id:
        found.add(SELF)
    if actor.role == roles.ADMIN:
        found.add(ADMIN)
    if actor.role in roles.HIRING:
        found.add(EMPLOYER)
    if member:
        found.add(MEMBER)
    if applicant:
        found.add(APPLICANT_COMPANY)
    return found or {PUBLIC}
