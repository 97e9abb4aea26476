"""What encryption at rest costs a document upload and download
(`python -m hotgigs.dev.bench.encryption`).

Two parts, CPU time (process time, so other load on the machine matters less):
  crypto      the encryption work alone, per document size: `seal` = a new data key, the file
              and its text encrypted, the key wrapped (what an upload adds); `open` = unwrap
              and decrypt (what a download adds); microseconds per document and MB/s
  grpc call   a whole UploadDocument and DownloadDocument of a text file over a loopback
              channel against real embedded PostgreSQL and Redis (client and server in this
              process), CPU microseconds per call, and the share of it the crypto takes
Medians of `--rounds` rounds. Column sealing (a phone number) is timed too.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc

from hotgigs.cache import Cache
from hotgigs.db import Database
from hotgigs.dev.embedded import EmbeddedPostgres, EmbeddedRedis
from hotgigs.grpc_server.server import create_server
from hotgigs.migrate import upgrade
from hotgigs.security import encryption
from hotgigs.security.encryption import Envelope, KeyRing
from hotgigs.settings import Address, Kek, Settings
from hotgigs.v1 import auth_pb2, auth_pb2_grpc, documents_pb2, documents_pb2_grpc

SIZES = (10 * 1024, 100 * 1024, 1024 * 1024, 16 * 1024 * 1024)
KEKS = (Kek("bench", os.urandom(32)),)


def _cpu(run: Callable[[], object], calls: int, rounds: int) -> float:
    """Median CPU microseconds per call over `rounds` rounds of `calls` calls."""
    figures = []
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(calls):
            run()
        figures.append((time.process_time() - start) / calls * 1e6)
    return statistics.median(figures)


def _seal(keyring: KeyRing, content: bytes, text: bytes) -> tuple[Envelope, bytes, bytes]:
    data_key = keyring.new_data_key()
    nonce, ciphertext = encryption.encrypt(data_key, content,
                                           context=encryption.document_context("content", 1))
    encryption.encrypt(data_key, text, context=encryption.document_context("text", 1))
    return keyring.wrap(data_key, document_id=1), nonce, ciphertext


def crypto(rounds: int) -> dict[str, float]:
    keyring = KeyRing(KEKS)
    results: dict[str, float] = {}
    for size in SIZES:
        content, text = os.urandom(size), b"x" * min(size, 200_000)
        envelope, nonce, ciphertext = _seal(keyring, content, text)
        calls = max(3, 20_000_000 // size // 10)

        def open_(envelope: Envelope = envelope, nonce: bytes = nonce,
                  ciphertext: bytes = ciphertext) -> None:
            key = keyring.unwrap(envelope, document_id=1)
            encryption.decrypt(key, nonce, ciphertext,
                               context=encryption.document_context("content", 1))

        label = f"{size // 1024}KB"
        seal_us = _cpu(lambda: _seal(keyring, content, text), calls, rounds)  # noqa: B023 - used at once
        open_us = _cpu(open_, calls, rounds)
        results[f"seal_{label}_us"] = seal_us
        results[f"open_{label}_us"] = open_us
        results[f"open_{label}_MB_per_s"] = size / open_us  # bytes per microsecond = MB/s
    phone = b"+44 20 7946 0000"
    blob = keyring.seal(phone, context="users.phone")
    results["column_seal_us"] = _cpu(lambda: keyring.seal(phone, context="users.phone"), 20_000,
                                     rounds)
    results["column_open_us"] = _cpu(lambda: keyring.open(blob, context="users.phone"), 20_000,
                                     rounds)
    return results


@contextlib.contextmanager
def _stack(workdir: Path) -> Iterator[tuple[Settings, Database, Cache]]:
    postgres, redis = EmbeddedPostgres(workdir / "pg"), EmbeddedRedis(workdir / "redis")
    postgres.start()
    redis.start()
    try:
        upgrade(postgres.url, "head")
        settings = Settings(environment="test", data_dir=workdir,
                            grpc_address=Address("127.0.0.1", 0),
                            jwt_secret_key=secrets.token_urlsafe(32),
                            proxy_secret=secrets.token_urlsafe(16), metrics_address=None,
                            rpc_telemetry=False, rate_limit_per_minute=10**6,
                            rate_limit_per_hour=10**7, auth_rate_limit_per_minute=10**6,
                            auth_rate_limit_per_hour=10**7, encryption_keks=KEKS)
        database, cache = Database(postgres.url, keyring=KeyRing(KEKS)), Cache(redis.url)
        try:
            yield settings, database, cache
        finally:
            cache.close()
            database.dispose()
    finally:
        redis.stop()
        postgres.stop()


def calls(sizes: tuple[int, ...], rounds: int) -> dict[str, float]:
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="hotgigs-bench-encryption-") as tmp, \
            _stack(Path(tmp)) as (settings, database, cache):
        server = create_server(settings, database, cache)
        server.start()
        try:
            with grpc.insecure_channel(f"127.0.0.1:{server.port}", options=[
                    ("grpc.max_receive_message_length", 32 * 1024 * 1024),
                    ("grpc.max_send_message_length", 32 * 1024 * 1024)]) as channel:
                account = auth_pb2_grpc.AuthServiceStub(channel).Register(  # type: ignore[no-untyped-call]
                    auth_pb2.RegisterRequest(email="bench@example.com",
                                             password=f"Bx7!{secrets.token_urlsafe(12)}",
                                             first_name="Bench", last_name="User",
                                             user_type="candidate"))
                metadata = (("authorization", f"Bearer {account.access_token}"),)
                documents = documents_pb2_grpc.DocumentServiceStub(channel)  # type: ignore[no-untyped-call]
                for size in sizes:
                    content = (b"Python PostgreSQL engineer. " * (size // 28 + 1))[:size]
                    request = documents_pb2.UploadDocumentRequest(
                        document_type="resume", title="Bench CV", filename="cv.txt",
                        content_type="text/plain", content=content)
                    ids: list[int] = []

                    def upload(request: documents_pb2.UploadDocumentRequest = request,
                               ids: list[int] = ids) -> None:
                        ids.append(documents.UploadDocument(request, metadata=metadata,
                                                            timeout=30).document.id)

                    def download(ids: list[int] = ids) -> None:
                        documents.DownloadDocument(documents_pb2.DownloadDocumentRequest(
                            id=ids[0]), metadata=metadata, timeout=30)

                    upload()
                    n = max(3, 2_000_000 // size)
                    label = f"{size // 1024}KB"
                    results[f"upload_{label}_call_us"] = _cpu(upload, n, rounds)
                    results[f"download_{label}_call_us"] = _cpu(download, n, rounds)
        finally:
            server.stop(0)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="rounds (default 5)")
    args = parser.parse_args(argv)
    figures = crypto(args.rounds)
    for name, value in figures.items():
        print(f"{name:28s} {value:10.1f}")
    for name, value in calls((10 * 1024, 1024 * 1024), args.rounds).items():
        kind, label = name.split("_")[:2]
        work = figures[f"{'seal' if kind == 'upload' else 'open'}_{label}_us"]
        print(f"{name:28s} {value:10.1f}   crypto {100 * work / value:4.1f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
