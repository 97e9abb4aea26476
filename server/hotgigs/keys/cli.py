"""`hotgigs keys`: the server's keys. `rotate` and `status`: the encryption keys at rest (issue 18
item 4). `jwt-*`: the JWT signing key set file (issue 18 item 5), read when a worker starts, so a
change applies after a (rolling) restart."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hotgigs.security import jwt_keys
from hotgigs.settings import ConfigError, jwt_keys_path

DESCRIPTION = """\
Keys of the server: the encryption keys at rest (rotate, status) and the JWT signing keys
(jwt-list, jwt-add, jwt-activate, jwt-retire).

Encryption at rest: documents and personal columns are encrypted under key-encryption keys
(KEKs) listed in HOTGIGS_ENCRYPTION_KEKS as id:base64-key,... The FIRST wraps new data; the
others only unwrap. To rotate: put a new key first (a new id), restart the workers, then run
`hotgigs keys rotate`: it re-wraps every document's data key (and seals legacy plain rows, and
re-seals personal columns) under the first key, in batches, and marks the old keys retired when
nothing uses them; remove a retired key from the list afterwards. Reads DATABASE_URL like
`hotgigs serve`.

JWT signing keys live in a JSON key set file (JWT_KEYS_FILE; --file overrides it). Tokens are
signed by the set's signing key and carry its id in the `kid` header; every key not retired
verifies, so a rotation logs no one out. Tokens without a kid (signed by JWT_SECRET_KEY, as
before key sets existed, or while no key of the set signs) verify against JWT_SECRET_KEY.
Workers read the file when they start: restart them (one at a time) after each step.
Rotation, several hosts (each step deployed to every host before the next):
  1. hotgigs keys jwt-add               a new key: verifies everywhere, signs nowhere yet
  2. hotgigs keys jwt-activate KID      it signs new tokens; the old key still verifies
  3. after the refresh token lifetime (JWT_REFRESH_TOKEN_EXPIRES, 30 days):
     hotgigs keys jwt-retire OLD_KID    its tokens are refused from then on
One host: `jwt-add --activate` does steps 1 and 2 at once. Retire at once (step 3 without
waiting) when a key leaked: its users sign in again.
Secrets are never printed; the file is written atomically with mode 0600 (or its old mode).
"""

EPILOG = """\
examples:
  hotgigs keys status
  HOTGIGS_ENCRYPTION_KEKS="k2:$(openssl rand -base64 32),k1:<the old key>" hotgigs keys rotate
  hotgigs keys rotate --batch-size 200
  hotgigs keys jwt-list --file /etc/hotgigs/jwt-keys.json
  hotgigs keys jwt-add --activate
  hotgigs keys jwt-retire 2026-06-01-a0b1
"""


def add_parser(commands: Any) -> None:
    """Register `keys` on the `hotgigs` command's subparsers."""
    parser = commands.add_parser(
        "keys", help="keys: encryption at rest (rotate, status), JWT signing (jwt-*)",
        description=DESCRIPTION,
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    rotate = actions.add_parser(
        "rotate", help="move every document and sealed value to the first KEK (resumable)",
        description="Re-wrap documents' data keys under the first KEK of HOTGIGS_ENCRYPTION_KEKS, "
                    "encrypt documents stored before encryption, re-seal personal columns; one "
                    "committed batch at a time with a progress line each. Interrupt it any time "
                    "and run it again: it carries on. Serving workers keep answering meanwhile.")
    rotate.add_argument("--batch-size", type=_batch, default=100, metavar="N",
                        help="rows per transaction, 1-10000 (default 100)")
    actions.add_parser("status", help="each KEK: configured, current, check value, what it wraps")
    listing = actions.add_parser("jwt-list", help="the JWT keys: id, state, dates (no secrets)")
    add = actions.add_parser("jwt-add", help="add a new random JWT key (creates the file)")
    add.add_argument("--activate", action="store_true",
                     help="also sign with it at once (one host, or every host knows it already)")
    activate = actions.add_parser("jwt-activate", help="sign new tokens with a key of the set")
    activate.add_argument("kid")
    retire = actions.add_parser("jwt-retire", help="stop verifying a key (its tokens are refused)")
    retire.add_argument("kid")
    for action in (listing, add, activate, retire):
        action.add_argument("--file", type=Path, metavar="PATH",
                            help="the key set file (default: JWT_KEYS_FILE)")
    parser.set_defaults(handler=command)


def _batch(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 10_000:
        raise argparse.ArgumentTypeError("must be from 1 to 10000")
    return value


def command(args: argparse.Namespace) -> int:
    """Run one `hotgigs keys` action."""
    if args.action in _JWT_ACTIONS:
        return _jwt_command(args)
    return _encryption_command(args)


def _encryption_command(args: argparse.Namespace) -> int:
    from hotgigs.cli import _dependencies, _settings
    from hotgigs.db import Database
    from hotgigs.keys import service
    from hotgigs.security.encryption import KeyRing

    settings = _settings()
    keyring = KeyRing(settings.encryption_keks)
    with _dependencies(settings) as deps:
        database = Database(deps.database_url, pool_size=1, max_overflow=0, keyring=keyring)
        try:
            if args.action == "status":
                with database.session_scope() as session:
                    rows, found = service.status(session, keyring=keyring)
                    left = found.remaining(keyring.current_id)
                for row in rows:
                    flags = [word for word, on in (("current", row.current),
                                                   ("configured", row.configured),
                                                   ("retired", row.retired)) if on]
                    check = {None: "-", True: "ok", False: "MISMATCH"}[row.matches]
                    print(f"{row.kek_id:<12} {','.join(flags) or 'not configured':<28} "
                          f"check {check:<8} documents {row.documents:>8}  values {row.values:>8}")
                plain = found.documents.get(None, 0) + sum(c.get(None, 0)
                                                           for c in found.columns.values())
                print(f"plain (before encryption): {plain}; not under the current key: "
                      f"{sum(left.values())}")
                return 0
            started = time.monotonic()

            def report(step: service.Progress) -> None:
                print(f"{step.what}: {step.done}/{step.total} moved to {keyring.current_id} "
                      f"({time.monotonic() - started:.1f} s)", flush=True)

            moved = service.rotate(database, keyring=keyring, batch_size=args.batch_size,
                                   report=report)
            print(f"done: {sum(moved.values())} rows under {keyring.current_id} "
                  f"in {time.monotonic() - started:.1f} s", flush=True)
            return 0
        finally:
            database.dispose()


def _jwt_command(args: argparse.Namespace) -> int:
    path = args.file or jwt_keys_path()
    if path is None:
        raise ConfigError("no key set file: set JWT_KEYS_FILE or pass --file PATH")
    try:
        return _JWT_ACTIONS[args.action](args, path)
    except jwt_keys.KeySetError as error:
        print(f"hotgigs keys: {error}", file=sys.stderr)
        return 1


def _list(args: argparse.Namespace, path: Path) -> int:
    key_set = jwt_keys.load(path)
    if key_set.signing is None:
        print("signing: JWT_SECRET_KEY (tokens without kid); no key of the set signs")
    for key in key_set.keys:
        state = "signing" if key.kid == key_set.signing_kid else \
            f"retired {key.retired_at}" if key.retired else "verifying"
        print(f"{key.kid}  {state}  created {key.created_at}")
    return 0


def _add(args: argparse.Namespace, path: Path) -> int:
    key_set = jwt_keys.load(path) if path.exists() else jwt_keys.KeySet()
    updated, key = key_set.add(activate=args.activate)
    jwt_keys.save(path, updated)
    step = "it signs new tokens" if args.activate else \
        f"it verifies; once every host has it, `hotgigs keys jwt-activate {key.kid}`"
    print(f"added JWT key {key.kid} to {path}: {step} (restart the workers)")
    return 0


def _activate(args: argparse.Namespace, path: Path) -> int:
    key_set = jwt_keys.load(path)
    previous = key_set.signing_kid
    jwt_keys.save(path, key_set.activate(args.kid))
    after = f"; {previous} still verifies until you retire it" if previous and previous != args.kid else ""
    print(f"JWT key {args.kid} signs new tokens{after} (restart the workers)")
    return 0


def _retire(args: argparse.Namespace, path: Path) -> int:
    jwt_keys.save(path, jwt_keys.load(path).retire(args.kid))
    print(f"JWT key {args.kid} retired: its tokens are refused once the workers restart")
    return 0


_JWT_ACTIONS: dict[str, Callable[[argparse.Namespace, Path], int]] = {
    "jwt-list": _list, "jwt-add": _add, "jwt-activate": _activate, "jwt-retire": _retire,
}
