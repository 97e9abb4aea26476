"""`hotgigs service-account`: create, list, rotate and revoke service accounts from the server's
console (bootstrap: the first account needs no admin token). Same rules and audit entries as
the admin RPCs; the actor is recorded as the console (`via: cli`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

DESCRIPTION = """\
Service accounts let internal services call the API with an API key instead of a person's
token. A key acts as the account's OWNER (a user: their role and visibility apply), narrowed to
the account's SCOPES. Send it as gRPC metadata or an HTTP header:
    x-api-key: hg_...            or     authorization: ApiKey hg_...
A key is printed ONCE, when it is made, as the last line of stdout; the server keeps only its
hash (HMAC-SHA-256 with HOTGIGS_API_KEY_PEPPER). Rotation: `rotate` adds a key, deploy it,
then `revoke` the old one.
Reads DATABASE_URL and HOTGIGS_API_KEY_PEPPER like `hotgigs serve`.
"""

EPILOG = """\
scopes: <module>.read (its Get/List/Search/Download/Match methods), <module>.write (its other
methods) or one method as Service.Method; `hotgigs service-account scopes` lists them all.

examples:
  hotgigs service-account create payroll-sync --owner ops@example.com \\
      --scope jobs.read --scope applications.read --expires-in-days 180
  hotgigs service-account list
  hotgigs service-account rotate payroll-sync
  hotgigs service-account revoke payroll-sync abcdefghijkl     (the key's prefix, from list)
  hotgigs service-account scopes
"""


def add_parser(commands: Any) -> None:
    """Register `service-account` on the `hotgigs` command's subparsers."""
    parser = commands.add_parser(
        "service-account", help="create, list, rotate and revoke service accounts and API keys",
        description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="a new account and its first key (printed once)",
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    create.add_argument("name", help="3-64 of a-z, 0-9 and dashes, e.g. payroll-sync")
    create.add_argument("--owner", required=True, metavar="EMAIL_OR_ID",
                        help="the user the account acts as (their role applies)")
    create.add_argument("--scope", action="append", required=True, dest="scopes", metavar="SCOPE",
                        help="what its keys may call (repeat): jobs.read, JobService.GetJob, ...")
    create.add_argument("--expires-in-days", type=int, default=0, metavar="DAYS",
                        help="the key's lifetime, 1-730 (default 90)")
    actions.add_parser("list", help="accounts, owners, scopes and keys (prefix, expiry, last use)")
    rotate = actions.add_parser("rotate", help="add a key to an account (printed once)")
    rotate.add_argument("name")
    rotate.add_argument("--expires-in-days", type=int, default=0, metavar="DAYS",
                        help="the key's lifetime, 1-730 (default 90)")
    revoke = actions.add_parser("revoke", help="revoke one key of an account at once")
    revoke.add_argument("name")
    revoke.add_argument("prefix", help="the key's prefix (as `list` shows it)")
    actions.add_parser("scopes", help="every scope a service account may be given")
    parser.set_defaults(handler=command)


def command(args: argparse.Namespace) -> int:
    from hotgigs import manifest

    if args.action == "scopes":
        print("\n".join(sorted(manifest.SCOPE_NAMES)))
        return 0
    from hotgigs.cli import _dependencies, _settings
    from hotgigs.db import Database
    from hotgigs.errors import DomainError, InvalidArgument

    settings = _settings()
    with _dependencies(settings) as deps:
        database = Database(deps.database_url, pool_size=1, max_overflow=0)
        try:
            with database.session_scope() as session:
                return _run(args, session, settings.api_key_pepper)
        except DomainError as error:
            print(f"hotgigs service-account: {error.message}", file=sys.stderr)
            for violation in getattr(error, "violations", ()) if isinstance(error, InvalidArgument) else ():
                print(f"  {violation.field}: {violation.description}", file=sys.stderr)
            return 1
        finally:
            database.dispose()


def _run(args: argparse.Namespace, session: Any, pepper: str | None) -> int:
    from hotgigs.errors import NotFound
    from hotgigs.service_accounts import service
    from hotgigs.users import service as users_service

    if args.action == "create":
        owner = args.owner.strip()
        user = users_service.find_user(session, user_id=int(owner)) if owner.isdigit() else \
            users_service.find_user(session, email=owner.lower())
        if user is None:
            raise NotFound(f"no user {owner!r}")
        account, issued = service.create(session, actor=None, pepper=pepper, account_in=service.AccountIn(
            name=args.name, owner_id=user.id, scopes=tuple(args.scopes),
            expires_in_days=args.expires_in_days))
        _print_key(account.row.name, issued)
        return 0
    if args.action == "list":
        for account in service.list_accounts(session, actor=None):
            row = account.row
            print(f"{row.name}  id={row.id}  owner={row.owner_id}  scopes={','.join(row.scopes)}")
            for key in account.keys:
                state = "revoked" if key.revoked_at else "active"
                used = key.last_used_at.isoformat(timespec="seconds") if key.last_used_at else "never"
                print(f"  key {key.prefix}  {state}  expires {key.expires_at.date()}  last used {used}")
        return 0
    found = service.find_account(session, name=args.name)
    if found is None:
        raise NotFound(f"no service account {args.name!r}")
    if args.action == "rotate":
        issued = service.rotate(session, actor=None, pepper=pepper, key_in=service.KeyIn(
            account_id=found.row.id, expires_in_days=args.expires_in_days))
        _print_key(found.row.name, issued)
        return 0
    matching = [key for key in found.keys if key.prefix == args.prefix]
    if not matching:
        raise NotFound(f"{args.name} has no key with prefix {args.prefix!r}")
    service.revoke(session, actor=None, account_id=found.row.id, key_id=matching[0].id)
    print(f"revoked key {args.prefix} of {args.name} (every worker refuses it within 5 s)")
    return 0


def _print_key(name: str, issued: Any) -> None:
    print(f"API key of {name} (prefix {issued.row.prefix}, expires "
          f"{issued.row.expires_at.date()}); shown once, store it now:", file=sys.stderr)
    print(issued.key)
