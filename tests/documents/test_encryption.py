"""Documents encrypted at rest (issue 18, item 4): what PostgreSQL holds is not the file, the
file comes back byte for byte, tampering is refused, rotation moves every document to a new
key-encryption key while downloads go on, an interrupted rotation carries on, and a wrong or
missing KEK stops a worker at start-up."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import undefer

from hotgigs.cache import Cache
from hotgigs.context import Principal
from hotgigs.db import Database
from hotgigs.dev.embedded import EmbeddedPostgres, free_port
from hotgigs.documents import service as documents_service
from hotgigs.grpc_server.server import GrpcServer, create_server
from hotgigs.keys import service as keys_service
from hotgigs.models import Document, EncryptionKey
from hotgigs.security.encryption import KeyRing
from hotgigs.settings import Address, ConfigError, Kek, Settings
from hotgigs.v1 import auth_pb2, auth_pb2_grpc, documents_pb2, documents_pb2_grpc
from tests.support.files import make_pdf
from tests.support.rest import STRONG_PASSWORD, bearer, register, unique_email, upload
from tests.support.servers import TEST_KEKS_ENV, make_settings, new_migrated_database

K1 = Kek("k1", os.urandom(32))
K2 = Kek("k2", os.urandom(32))
CV_TEXT = "Ada Lovelace analytical engine programmer"


def _raw(database: Database, document_id: int) -> sa.Row[tuple[bytes, bytes | None, str | None]]:
    """The row as PostgreSQL holds it."""
    with database.engine.connect() as connection:
        row = connection.execute(sa.text(
            "SELECT content, extracted_text, kek_id FROM documents WHERE id = :id"),
            {"id": document_id}).one()
    return row  # type: ignore[return-value]


def test_postgres_holds_neither_the_file_nor_its_text(rest: httpx.Client, database: Database
                                                      ) -> None:
    owner = register(rest, "candidate")
    pdf = make_pdf(CV_TEXT)
    created = upload(rest, owner, pdf, "cv.pdf", "application/pdf")
    assert created.status_code == 201, created.text
    document = created.json()["document"]
    content, text, kek_id = _raw(database, document["id"])
    content, text = bytes(content), bytes(text or b"")
    assert kek_id == "test1"
    assert content != pdf and len(content) == len(pdf) + 16  # AES-GCM: same length plus the tag
    for stored in (content, text):
        assert b"%PDF" not in stored and b"Lovelace" not in stored and pdf[:64] not in stored
    assert text and b"Lovelace" not in text and len(text) > len(CV_TEXT)
    download = rest.get(document["download_url"], headers=bearer(owner))
    assert download.status_code == 200 and download.content == pdf  # byte for byte
    assert hashlib.sha256(download.content).hexdigest() == document["sha256"]


def _tamper(database: Database, document_id: int, statement: str, **values: object) -> None:
    with database.engine.begin() as connection:
        connection.execute(sa.text(statement), {"id": document_id, **values})


@pytest.mark.parametrize("statement", [
    # one bit of the ciphertext flipped
    "UPDATE documents SET content = overlay(content placing "
    "set_byte(substring(content from 10 for 1), 0, get_byte(content, 9) # 1) from 10 for 1) "
    "WHERE id = :id",
    # the wrapped data key altered
    "UPDATE documents SET wrapped_key = overlay(wrapped_key placing '\\x00'::bytea from 20 "
    "for 1) WHERE id = :id",
    # another nonce
    "UPDATE documents SET content_nonce = '\\x000000000000000000000000'::bytea WHERE id = :id",
])
def test_tampered_document_is_refused_with_a_clear_error(
        rest: httpx.Client, database: Database, statement: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    owner = register(rest, "candidate")
    created = upload(rest, owner, make_pdf("tamper"), "cv.pdf", "application/pdf").json()
    _tamper(database, created["document"]["id"], statement)
    capsys.readouterr()
    refused = rest.get(created["document"]["download_url"], headers=bearer(owner))
    assert refused.status_code == 500
    body = refused.json()
    assert "failed its integrity check" in body["message"]
    assert body["details"][0]["reason"] == "DOCUMENT_INTEGRITY"
    assert b"%PDF" not in refused.content
    assert "document_integrity_failed" in capsys.readouterr().out


def test_a_document_moved_to_another_row_does_not_decrypt(rest: httpx.Client,
                                                          database: Database) -> None:
    """Associated data binds every ciphertext and wrapped key to its document id."""
    owner = register(rest, "candidate")
    first = upload(rest, owner, make_pdf("first"), "a.pdf", "application/pdf").json()["document"]
    second = upload(rest, owner, make_pdf("second"), "b.pdf", "application/pdf").json()["document"]
    _tamper(database, second["id"], """
        UPDATE documents AS d SET content = s.content, content_nonce = s.content_nonce,
               wrapped_key = s.wrapped_key, size_bytes = s.size_bytes
        FROM documents AS s WHERE d.id = :id AND s.id = :source""", source=first["id"])
    refused = rest.get(second["download_url"], headers=bearer(owner))
    assert refused.status_code == 500 and "DOCUMENT_INTEGRITY" in refused.text
    assert rest.get(first["download_url"], headers=bearer(owner)).status_code == 200


# ---- rotation: a worker knows k2 (current) and k1; documents were stored under k1 ----------


@pytest.fixture(scope="module")
def rotation_database(embedded_postgres: EmbeddedPostgres) -> Iterator[Database]:
    database = Database(new_migrated_database(embedded_postgres), keyring=KeyRing((K2, K1)))
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def rotation_server(tmp_path_factory: pytest.TempPathFactory, rotation_database: Database,
                    cache: Cache) -> Iterator[GrpcServer]:
    settings = make_settings(tmp_path_factory.mktemp("rotation"), encryption_keks=(K2, K1),
                             rate_limit_per_minute=1_000_000, rate_limit_per_hour=1_000_000,
                             auth_rate_limit_per_minute=1000, auth_rate_limit_per_hour=1000)
    server = create_server(settings, rotation_database, cache, address=Address("127.0.0.1", 0))
    server.start()
    yield server
    server.stop(0)


@pytest.fixture(scope="module")
def channel(rotation_server: GrpcServer) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(f"127.0.0.1:{rotation_server.port}") as channel:
        yield channel


def _account(channel: grpc.Channel) -> tuple[int, str]:
    answer = auth_pb2_grpc.AuthServiceStub(channel).Register(auth_pb2.RegisterRequest(
        email=unique_email(), password=STRONG_PASSWORD, first_name="Rot", last_name="Ation",
        user_type="candidate"), timeout=10)
    return answer.user.id, answer.access_token


def _store_under(database: Database, keks: tuple[Kek, ...], owner_id: int, count: int
                 ) -> dict[int, bytes]:
    """`count` documents stored by a worker whose current KEK is keks[0]: id -> file."""
    keyring = KeyRing(keks)
    files: dict[int, bytes] = {}
    actor = Principal(user_id=owner_id, role="candidate", session_id="", token_id="")
    with database.session_scope() as session:
        for number in range(count):
            content = f"CV {number} {uuid.uuid4()}\n".encode() * (50 + number)
            document = documents_service.create(
                session, actor=actor, settings=Settings(), keyring=keyring,
                upload_in=documents_service.UploadIn(filename=f"cv{number}.txt", content=content,
                                                     content_type="text/plain"))
            files[document.id] = content
    return files


def _download(channel: grpc.Channel, token: str, document_id: int) -> bytes:
    body = documents_pb2_grpc.DocumentServiceStub(channel).DownloadDocument(
        documents_pb2.DownloadDocumentRequest(id=document_id),
        metadata=(("authorization", f"Bearer {token}"),), timeout=10)
    return body.data


def _kek_ids(database: Database, ids: list[int]) -> list[str | None]:
    with database.session_scope() as session:
        return list(session.scalars(sa.select(Document.kek_id).where(Document.id.in_(ids))
                                    .order_by(Document.id)))


def test_rotation_under_concurrent_downloads(rotation_database: Database, channel: grpc.Channel
                                             ) -> None:
    owner_id, token = _account(channel)
    files = _store_under(rotation_database, (K1,), owner_id, 24)
    assert set(_kek_ids(rotation_database, list(files))) == {"k1"}
    stop = threading.Event()
    failures: list[str] = []
    downloads = [0]

    def download_all() -> None:
        while not stop.is_set():
            for document_id, content in files.items():
                try:
                    got = _download(channel, token, document_id)
                except grpc.RpcError as error:
                    failures.append(f"{document_id}: {error.code()} {error.details()}")
                    continue
                if got != content:
                    failures.append(f"{document_id}: other bytes")
                downloads[0] += 1

    threads = [threading.Thread(target=download_all) for _ in range(4)]
    for thread in threads:
        thread.start()
    steps: list[keys_service.Progress] = []
    try:
        moved = keys_service.rotate(rotation_database, keyring=KeyRing((K2, K1)), batch_size=1,
                                    report=steps.append)
    finally:
        during = downloads[0]
        stop.set()
        for thread in threads:
            thread.join(30)
    assert failures == []
    assert during > len(files), "downloads ran while the rotation did"
    assert moved["documents"] >= len(files)
    assert [s.done for s in steps if s.what == "documents"][:3] == [1, 2, 3]  # a line per batch
    assert set(_kek_ids(rotation_database, list(files))) == {"k2"}
    for document_id, content in files.items():
        assert _download(channel, token, document_id) == content
    with rotation_database.session_scope() as session:
        retired = session.get_one(EncryptionKey, "k1").retired_at
    assert retired is not None, "nothing is under k1 any more: retired"


class Interrupted(Exception):
    pass


def test_an_interrupted_rotation_carries_on_when_run_again(rotation_database: Database,
                                                           channel: grpc.Channel) -> None:
    owner_id, token = _account(channel)
    keys_service.rotate(rotation_database, keyring=KeyRing((K2, K1)), batch_size=500,
                        report=lambda step: None)  # what earlier tests left: out of the count
    files = _store_under(rotation_database, (K1,), owner_id, 9)

    def crash_after_two(step: keys_service.Progress) -> None:
        if step.what == "documents" and step.done >= 4:
            raise Interrupted  # the process dies between two batches

    with pytest.raises(Interrupted):
        keys_service.rotate(rotation_database, keyring=KeyRing((K2, K1)), batch_size=2,
                            report=crash_after_two)
    ids = list(files)
    assert _kek_ids(rotation_database, ids).count("k2") == 4  # two committed batches of two
    assert _kek_ids(rotation_database, ids).count("k1") == 5
    for document_id, content in files.items():  # half-way: both kinds still download
        assert _download(channel, token, document_id) == content
    moved = keys_service.rotate(rotation_database, keyring=KeyRing((K2, K1)), batch_size=2,
                                report=lambda step: None)
    assert moved["documents"] == 5
    assert set(_kek_ids(rotation_database, ids)) == {"k2"}
    again = keys_service.rotate(rotation_database, keyring=KeyRing((K2, K1)), batch_size=2,
                                report=lambda step: None)
    assert again["documents"] == 0, "idempotent: nothing left to move"
    for document_id, content in files.items():
        assert _download(channel, token, document_id) == content


def test_documents_stored_before_encryption_are_served_then_encrypted(
        rotation_database: Database, channel: grpc.Channel) -> None:
    """A row without kek_id (what the migration left) is plain: served as is, encrypted by
    `rotate`, served the same afterwards."""
    owner_id, token = _account(channel)
    content = b"Legacy CV, stored plain before issue 18\n"
    with rotation_database.engine.begin() as connection:
        document_id = connection.execute(sa.text("""
            INSERT INTO documents (owner_id, document_type, title, filename, content_type,
                                   size_bytes, sha256, content, extracted_text)
            VALUES (:owner, 'resume', 'Old CV', 'old.txt', 'text/plain', :size, :sha, :content,
                    :text) RETURNING id"""), {
            "owner": owner_id, "size": len(content), "sha": hashlib.sha256(content).hexdigest(),
            "content": content, "text": content.strip()}).scalar_one()
    assert _download(channel, token, document_id) == content
    keys_service.rotate(rotation_database, keyring=KeyRing((K2, K1)), batch_size=10,
                        report=lambda step: None)
    stored, text, kek_id = _raw(rotation_database, document_id)
    assert kek_id == "k2" and bytes(stored) != content and b"Legacy" not in bytes(text or b"")
    assert _download(channel, token, document_id) == content
    with rotation_database.session_scope() as session:
        document = session.scalars(sa.select(Document).where(Document.id == document_id)
                                   .options(undefer(Document.extracted_text))).one()
        assert documents_service.plain_text(rotation_database.keyring, document) == \
            content.strip().decode()


def test_a_document_under_a_kek_no_longer_configured_is_a_clear_error(
        rotation_database: Database, channel: grpc.Channel) -> None:
    owner_id, token = _account(channel)
    [document_id] = _store_under(rotation_database, (Kek("k0", os.urandom(32)),), owner_id, 1)
    with pytest.raises(grpc.RpcError) as refused:
        _download(channel, token, document_id)
    assert refused.value.code() == grpc.StatusCode.DATA_LOSS
    assert "'k0' is not configured" in (refused.value.details() or "")
    with rotation_database.engine.begin() as connection:  # leave nothing unmovable behind
        connection.execute(sa.text("DELETE FROM documents WHERE id = :id"), {"id": document_id})


# ---- the start-up check ----------------------------------------------------------------------


def test_the_check_refuses_other_material_under_a_known_id(embedded_postgres: EmbeddedPostgres
                                                            ) -> None:
    database = Database(new_migrated_database(embedded_postgres), keyring=KeyRing((K1,)))
    try:
        with database.session_scope() as session:
            keys_service.check(session, keyring=KeyRing((K1,)))  # first start: recorded
        with database.session_scope() as session:
            keys_service.check(session, keyring=KeyRing((K1,)))  # same key: fine
        with pytest.raises(ConfigError, match="'k1' is not the key this database knows"), \
                database.session_scope() as session:
            keys_service.check(session, keyring=KeyRing((Kek("k1", os.urandom(32)),)))
        with database.session_scope() as session:
            keys_service.check(session, keyring=KeyRing((K2, K1)))  # a new current key
        with pytest.raises(ConfigError, match="lacks 'k1'"), database.session_scope() as session:
            keys_service.check(session, keyring=KeyRing((K2,)))  # k1 dropped before rotating
        keys_service.rotate(database, keyring=KeyRing((K2, K1)), batch_size=10,
                            report=lambda step: None)
        with database.session_scope() as session:
            keys_service.check(session, keyring=KeyRing((K2,)))  # retired: may go now
    finally:
        database.dispose()


def _serve(database_url: str, redis_url: str, keks: str, tmp_path: Path
           ) -> subprocess.CompletedProcess[str]:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("HOTGIGS_")},
           "HOTGIGS_ENV": "test", "JWT_SECRET_KEY": "t" * 40, "HOTGIGS_ENCRYPTION_KEKS": keks,
           "DATABASE_URL": database_url, "CACHE_REDIS_URL": redis_url,
           "HOTGIGS_GRPC_ADDRESS": f"127.0.0.1:{free_port()}", "HOTGIGS_DATA_DIR": str(tmp_path),
           "HOTGIGS_LOG_FORMAT": "json", "HOTGIGS_METRICS_ADDRESS": "off"}
    return subprocess.run([sys.executable, "-m", "hotgigs.cli", "serve"], env=env,
                          capture_output=True, text=True, timeout=60)


def test_a_worker_with_a_wrong_kek_does_not_start(migrated_database_url: str, database: Database,
                                                  redis_url: str, tmp_path: Path) -> None:
    with database.session_scope() as session:  # the suite's key, as its workers start
        keys_service.check(session, keyring=database.keyring)
    wrong = "test1:" + base64.b64encode(os.urandom(32)).decode()
    result = _serve(migrated_database_url, redis_url, wrong, tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "configuration error: HOTGIGS_ENCRYPTION_KEKS: the key 'test1' is not the key this " \
           "database knows" in result.stderr
    assert wrong.split(":")[1] not in result.stdout + result.stderr
    missing = _serve(migrated_database_url, redis_url, "", tmp_path)
    assert missing.returncode == 2 and "HOTGIGS_ENCRYPTION_KEKS is required" in missing.stderr
    short = _serve(migrated_database_url, redis_url, "k9:" + base64.b64encode(b"x" * 16).decode(),
                   tmp_path)
    assert short.returncode == 2 and "is 16 bytes, must be 32" in short.stderr
    assert TEST_KEKS_ENV.startswith("test1:")


# ---- the command -----------------------------------------------------------------------------


def _keys(*args: str, database_url: str, keks: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("HOTGIGS_")},
           "HOTGIGS_ENV": "test", "JWT_SECRET_KEY": "t" * 40, "HOTGIGS_ENCRYPTION_KEKS": keks,
           "DATABASE_URL": database_url, "CACHE_REDIS_URL": "redis://127.0.0.1:1/0",
           "HOTGIGS_DATA_DIR": str(tmp), "HOTGIGS_PROXY_SECRET": "p" * 20}
    return subprocess.run([sys.executable, "-m", "hotgigs.cli", "keys", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def _env(*keks: Kek) -> str:
    return ",".join(f"{kek.id}:{base64.b64encode(kek.material).decode()}" for kek in keks)


def test_keys_rotate_and_status_from_the_console(embedded_postgres: EmbeddedPostgres,
                                                 tmp_path: Path) -> None:
    url = new_migrated_database(embedded_postgres)
    database = Database(url, keyring=KeyRing((K1,)))
    try:
        with database.engine.begin() as connection:
            owner = connection.execute(sa.text(
                "INSERT INTO users (email, password_hash, first_name, last_name, user_type, phone) "
                "VALUES (:email, 'x', 'Con', 'Sole', 'candidate', :phone) RETURNING id"),
                {"email": unique_email(), "phone": b"\x00+44 20 7946 0000"}).scalar_one()
        files = _store_under(database, (K1,), owner, 5)
    finally:
        database.dispose()
    rotated = _keys("rotate", "--batch-size", "2", database_url=url, keks=_env(K2, K1), tmp=tmp_path)
    assert rotated.returncode == 0, rotated.stderr
    lines = rotated.stdout.splitlines()
    assert "documents: 2/5 moved to k2" in rotated.stdout and "documents: 5/5" in rotated.stdout
    assert any(line.startswith("users.phone: 1/1") for line in lines), lines
    status = _keys("status", database_url=url, keks=_env(K2, K1), tmp=tmp_path)
    assert status.returncode == 0, status.stderr
    rows = {line.split()[0]: line for line in status.stdout.splitlines()}
    assert "current" in rows["k2"] and "documents        5" in rows["k2"] and "check ok" in rows["k2"]
    assert "retired" in rows["k1"] and "documents        0" in rows["k1"]
    assert "not under the current key: 0" in status.stdout
    assert base64.b64encode(K2.material).decode() not in rotated.stdout + status.stdout
    database = Database(url, keyring=KeyRing((K2,)))  # k1 retired: not needed any more
    try:
        with database.session_scope() as session:
            keys_service.check(session, keyring=database.keyring)
            for document_id, content in files.items():
                document = session.scalars(sa.select(Document).where(Document.id == document_id)
                                           .options(undefer(Document.content))).one()
                assert documents_service.plain_content(database.keyring, document) == content
            phone = session.scalar(sa.text("SELECT phone FROM users WHERE id = :id"), {"id": owner})
            assert b"7946" not in bytes(phone) and bytes(phone)[:4] == b"\x01\x02k2"
    finally:
        database.dispose()
    bad = _keys("rotate", "--batch-size", "0", database_url=url, keks=_env(K2), tmp=tmp_path)
    assert bad.returncode == 2 and "must be from 1 to 10000" in bad.stderr


def test_keys_help_explains_rotation() -> None:
    result = subprocess.run([sys.executable, "-m", "hotgigs.cli", "keys", "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for phrase in ("HOTGIGS_ENCRYPTION_KEKS", "FIRST", "rotate", "retired", "status"):
        assert phrase in result.stdout, phrase
