"""`hotgigs keys`: the encryption keys at rest (rotate, status)."""

from __future__ import annotations

import argparse
import time
from typing import Any

DESCRIPTION = """\
Documents and personal columns are encrypted at rest under key-encryption keys (KEKs) listed in
HOTGIGS_ENCRYPTION_KEKS as id:base64-key,... The FIRST wraps new data; the others only unwrap.
To rotate: put a new key first (a new id), restart the workers, then run `hotgigs keys rotate`:
it re-wraps every document's data key (and seals legacy plain rows, and re-seals personal
columns) under the first key, in batches, and marks the old keys retired when nothing uses them;
remove a retired key from the list afterwards. Reads DATABASE_URL like `hotgigs serve`.
"""

EPILOG = """\
examples:
  hotgigs keys status
  HOTGIGS_ENCRYPTION_KEKS="k2:$(openssl rand -base64 32),k1:<the old key>" hotgigs keys rotate
  hotgigs keys rotate --batch-size 200
"""


def add_parser(commands: Any) -> None:
    """Register `keys` on the `hotgigs` command's subparsers."""
    parser = commands.add_parser(
        "keys", help="encryption keys at rest: rotate, status", description=DESCRIPTION,
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
    parser.set_defaults(handler=command)


def _batch(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 10_000:
        raise argparse.ArgumentTypeError("must be from 1 to 10000")
    return value


def command(args: argparse.Namespace) -> int:
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

