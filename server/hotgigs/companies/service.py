"""Companies and membership. Members see a company; its admins change it and its members.
Plain Python on a SQLAlchemy session; never commits."""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import TableClause
from sqlalchemy.orm import Session

from hotgigs.audit import service as audit_service
from hotgigs.companies import queries
from hotgigs.context import Principal
from hotgigs.core import inputs, limits
from hotgigs.core.rpc import ADMIN
from hotgigs.db import Reader
from hotgigs.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from hotgigs.models import Company, CompanyMember
from hotgigs.users import service as users_service
from hotgigs.validation import Validator

if TYPE_CHECKING:  # the account entity, as the auth module hands it over
    from hotgigs.models import User

log = structlog.get_logger(__name__)

MEMBER_ADMIN = "admin"
_CLEARABLE = ("description", "industry", "company_size", "website", "location", "founded_year",
              "logo_url")


@dataclasses.dataclass(frozen=True, kw_only=True)
class CompanyFields:
    """The fields a company's admin writes; None: not given (left unset, or unchanged)."""

    name: str | None = None
    description: str | None = None
    industry: str | None = None
    company_size: str | None = None
    website: str | None = None
    location: str | None = None
    founded_year: int | None = None
    logo_url: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class CompanyIn(CompanyFields):
    """A new company: its name is required."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class CompanyUpdateIn(CompanyFields):
    """Changes to a company: the fields given, and those to reset to empty (`clear`)."""

    clear: Sequence[str] = ()


def slugify(name: str) -> str:
    """ASCII, lower-case, hyphen-separated; 'Acme GmbH & Co.' -> 'acme-gmbh-co'."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:200] or "company"


def _unique_slug(session: Session, name: str) -> str:
    base = slugify(name)
    taken = queries.slugs_like(session, base)
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def _validated(check: Validator, values: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if creating or "name" in values:
        out["name"] = check.text("name", values.get("name"), max_length=limits.TITLE, min_length=2,
                                 required=True)
    lengths = {"description": limits.LONG_TEXT, "industry": limits.INDUSTRY,
               "company_size": limits.COMPANY_SIZE, "location": limits.LOCATION}
    for field, limit in lengths.items():
        if field in values:
            out[field] = check.text(field, values[field], max_length=limit,
                                    multiline=field == "description") or None
    for field in ("website", "logo_url"):
        if field in values:
            out[field] = check.url(field, values[field]) or None
    if "founded_year" in values:
        out["founded_year"] = check.number("founded_year", values["founded_year"],
                                           minimum=1800, maximum=2100)
    return out


def membership(session: Session, *, company_id: int, user_id: int) -> CompanyMember | None:
    """The user's membership of the company (with its role), or None."""
    return queries.membership(session, company_id=company_id, user_id=user_id)


def is_member(reader: Reader, *, company_id: int, user_id: int) -> bool:
    """Whether the user is a member of the company (one row-free query, for hot reads)."""
    return queries.is_member(reader, company_id=company_id, user_id=user_id)


def member_ids(reader: Reader, *, company_id: int) -> list[int]:
    """The users who are members of the company."""
    return queries.member_ids(reader, company_id)


def companies_of(session: Session, *, user_id: int) -> list[Company]:
    """The companies `user_id` is a member of, oldest first."""
    return queries.companies_of(session, user_id)


def company_ids_of(reader: Reader, *, user_id: int) -> list[int]:
    """The companies `user_id` is a member of (a session or a hot read's connection)."""
    return queries.company_ids_of(reader, user_id)


def companies_by_id(session: Session, *, company_ids: Iterable[int]) -> dict[int, Company]:
    """The companies of `company_ids` that exist, by id (one query)."""
    return queries.companies_by_id(session, sorted(set(company_ids)))


def public_summary() -> TableClause:
    """Companies' public summary as a selectable to join (built once, in queries.py): `id`,
    `name`, `logo_url`, `industry`, `location`, `company_size`. For hot reads that must stay
    one statement (jobs' search and detail); other reads use `companies_by_id`."""
    return queries.PUBLIC_SUMMARY


def get_company_or_raise(session: Session, *, company_id: int) -> Company:
    company = session.get(Company, company_id)
    if company is None:
        raise NotFound(f"Company {company_id} not found", reason="COMPANY_NOT_FOUND")
    return company


def require_member(session: Session, *, actor: Principal, company_id: int,
                   admin: bool = False) -> CompanyMember | None:
    """The caller's membership (None for platform admins who are not members); raises
    PERMISSION_DENIED for non-members, or non-admin members when `admin`."""
    get_company_or_raise(session, company_id=company_id)
    member = membership(session, company_id=company_id, user_id=actor.user_id)
    if actor.role == ADMIN:
        return member
    if member is None:
        raise PermissionDenied("Only members of this company may do that", reason="NOT_A_MEMBER")
    if admin and member.role != MEMBER_ADMIN:
        raise PermissionDenied("Only admins of this company may do that",
                               reason="NOT_A_COMPANY_ADMIN")
    return member


def create(session: Session, *, actor: Principal, company_in: CompanyIn) -> Company:
    """A new company; the caller becomes its first admin."""
    check = Validator()
    values = _validated(check, inputs.given(company_in), creating=True)
    check.check("Company data is invalid")
    company = Company(slug=_unique_slug(session, values["name"]), created_by=actor.user_id, **values)
    session.add(company)
    session.flush()
    session.add(CompanyMember(company_id=company.id, user_id=actor.user_id, role=MEMBER_ADMIN))
    session.flush()
    audit_service.record(session, actor_user_id=actor.user_id, action="company.member_add",
                         target=f"company:{company.id}",
                         details={"user_id": actor.user_id, "role": MEMBER_ADMIN, "via": "create"})
    session.refresh(company)  # server defaults (timestamps) for the answer
    log.info("company_created", company_id=company.id)
    return company


def list_companies(reader: Reader, *, actor: Principal) -> Sequence[Any]:
    """The caller's companies, by name (a hot read: rows of the company's columns, on a read
    connection)."""
    return queries.company_rows_of(reader, actor.user_id)


def get(session: Session, *, actor: Principal, company_id: int) -> Company:
    """A company of the caller's (any company for platform admins)."""
    require_member(session, actor=actor, company_id=company_id)
    return get_company_or_raise(session, company_id=company_id)


def list_members(session: Session, *, actor: Principal, company_id: int
                 ) -> list[tuple[CompanyMember, User]]:
    require_member(session, actor=actor, company_id=company_id)
    members = queries.members_of(session, company_id)
    users = users_service.users_by_id(session, user_ids=[member.user_id for member in members])
    return [(member, users[member.user_id]) for member in members]


def update(session: Session, *, actor: Principal, company_id: int,
           update_in: CompanyUpdateIn) -> Company:
    """Change the fields given and clear those named (company admins only)."""
    changes, clear = inputs.given(update_in), update_in.clear
    require_member(session, actor=actor, company_id=company_id, admin=True)
    company = get_company_or_raise(session, company_id=company_id)
    unknown = sorted(set(clear) - set(_CLEARABLE))
    if unknown:
        raise InvalidArgument("Unknown field in clear_fields", [
            FieldViolation("clear_fields", f"cannot clear {name}") for name in unknown])
    check = Validator()
    values = _validated(check, changes, creating=False)
    check.check("Company data is invalid")
    for field, value in values.items():
        setattr(company, field, value)
    for field in clear:
        setattr(company, field, None)
    session.flush()
    session.refresh(company)  # onupdate timestamps for the answer
    return company


def remove_member(session: Session, *, actor: Principal, company_id: int, user_id: int) -> None:
    """An admin removes a member, or a member leaves; the last admin stays."""
    leaving_self = user_id == actor.user_id
    require_member(session, actor=actor, company_id=company_id, admin=not leaving_self)
    member = membership(session, company_id=company_id, user_id=user_id)
    if member is None:
        raise NotFound("This user is not a member", reason="NOT_A_MEMBER")
    if member.role == MEMBER_ADMIN and queries.admin_count(session, company_id, MEMBER_ADMIN) <= 1:
        raise FailedPrecondition("The last admin of a company cannot be removed",
                                 reason="LAST_ADMIN")
    session.delete(member)
    audit_service.record(session, actor_user_id=actor.user_id, action="company.member_remove",
                         target=f"company:{company_id}",
                         details={"user_id": user_id, "role": member.role})


def forget_invitations(session: Session, *, email: str) -> None:
    """Pending invitations to `email` (an erased person's address)."""
    queries.delete_invitations_to(session, email=email)
