"""The mail outbox against a real SMTP server (aiosmtpd): nothing lost, nothing sent twice."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from hotgigs import migrate
from hotgigs.db import Database
from hotgigs.embedded import EmbeddedPostgres, free_port
from hotgigs.mail import outbox
from hotgigs.mail.sender import MAX_ATTEMPTS, MailSender, backoff_seconds
from hotgigs.models import OutboxEmail
from tests.conftest import MailBox, make_settings, new_database

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def mail_db(embedded_postgres: EmbeddedPostgres) -> Iterator[Database]:
    url = new_database(embedded_postgres)
    migrate.upgrade(url)
    database = Database(url)
    yield database
    database.dispose()


@pytest.fixture(autouse=True)
def empty_outbox(mail_db: Database) -> None:
    with mail_db.session_scope() as session:
        session.execute(sa.delete(OutboxEmail))


def sender_for(database: Database, tmp_path: Path, port: int | None, **overrides: object) -> MailSender:
    settings = make_settings(tmp_path, smtp_server="127.0.0.1" if port else None,
                             smtp_port=port or 25, smtp_timeout_seconds=2.0, **overrides)
    return MailSender(settings, database)


def queue(database: Database, to: str, subject: str = "Hello", count: int = 1) -> None:
    with database.session_scope() as session:
        for number in range(count):
            outbox.enqueue(session, to=to, subject=f"{subject} {number}", body="Body text\n",
                           kind="test")


def statuses(database: Database) -> list[tuple[str, int]]:
    with database.session_scope() as session:
        return [(row.status, row.attempts) for row in session.scalars(
            sa.select(OutboxEmail).order_by(OutboxEmail.id))]


def test_rolled_back_mail_is_never_sent(mail_db: Database, tmp_path: Path,
                                        smtp_server: tuple[int, MailBox]) -> None:
    port, mailbox = smtp_server
    def change_that_fails() -> None:
        with mail_db.session_scope() as session:
            outbox.enqueue(session, to="rollback@example.com", subject="No", body="x", kind="test")
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        change_that_fails()
    report = sender_for(mail_db, tmp_path, port).run_once(NOW)
    assert report.sent == 0
    assert mailbox.to("rollback@example.com") == []


def test_committed_mail_arrives_exactly_once(mail_db: Database, tmp_path: Path,
                                             smtp_server: tuple[int, MailBox]) -> None:
    port, mailbox = smtp_server
    queue(mail_db, "once@example.com", "Welcome")
    sender = sender_for(mail_db, tmp_path, port)
    assert sender.run_once(NOW).sent == 1
    assert sender.run_once(NOW).sent == 0
    received = mailbox.to("once@example.com")
    assert len(received) == 1
    assert received[0]["Subject"] == "Welcome 0"
    assert received[0]["Message-ID"]
    assert received[0].get_payload(decode=True).decode().strip() == "Body text"
    assert statuses(mail_db) == [("sent", 1)]


def test_smtp_down_keeps_mail_and_delivers_it_later(mail_db: Database, tmp_path: Path,
                                                    smtp_server: tuple[int, MailBox]) -> None:
    port, mailbox = smtp_server
    queue(mail_db, "later@example.com")
    down = sender_for(mail_db, tmp_path, free_port())  # nothing listens there
    assert down.run_once(NOW).retried == 1
    assert statuses(mail_db) == [("pending", 1)]
    up = sender_for(mail_db, tmp_path, port)
    assert up.run_once(NOW).sent == 0, "not due before its backoff"
    assert up.run_once(NOW + dt.timedelta(seconds=backoff_seconds(1))).sent == 1
    assert len(mailbox.to("later@example.com")) == 1


def test_gives_up_after_the_last_attempt(mail_db: Database, tmp_path: Path) -> None:
    queue(mail_db, "never@example.com")
    down = sender_for(mail_db, tmp_path, free_port())
    moment = NOW
    for _ in range(MAX_ATTEMPTS):
        down.run_once(moment)
        moment += dt.timedelta(hours=2)
    assert statuses(mail_db) == [("failed", MAX_ATTEMPTS)]


def test_backoff_grows_and_is_capped() -> None:
    assert [backoff_seconds(n) for n in (1, 2, 3, 4)] == [5, 10, 20, 40]
    assert backoff_seconds(30) == 3600


def test_two_senders_never_send_a_mail_twice(mail_db: Database, tmp_path: Path,
                                             smtp_server: tuple[int, MailBox]) -> None:
    port, mailbox = smtp_server
    queue(mail_db, "race@example.com", count=20)
    senders = [sender_for(mail_db, tmp_path, port) for _ in range(2)]
    threads = [threading.Thread(target=sender.run_once, args=(NOW,)) for sender in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    subjects = sorted(message["Subject"] for message in mailbox.to("race@example.com"))
    assert subjects == sorted(f"Hello {n}" for n in range(20))
    assert all(status == "sent" for status, _ in statuses(mail_db))


def test_without_smtp_mail_is_skipped_not_an_error(mail_db: Database, tmp_path: Path) -> None:
    queue(mail_db, "skip@example.com")
    report = sender_for(mail_db, tmp_path, None).run_once(NOW)
    assert report.skipped == 1
    assert statuses(mail_db) == [("skipped", 0)]


@pytest.mark.parametrize("field", ["to", "subject"])
def test_header_injection_is_refused(mail_db: Database, field: str) -> None:
    values = {"to": "a@example.com", "subject": "Hi"}
    values[field] += "\r\nBcc: victim@example.com"
    with pytest.raises(ValueError, match="single line"), mail_db.session_scope() as session:
        outbox.enqueue(session, body="x", kind="test", **values)


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with Debian's openssl."""
    import subprocess

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def test_starttls_and_auth_are_used_and_the_password_never_logged(
        mail_db: Database, tmp_path: Path, tls_files: tuple[Path, Path],
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    cert, key = tls_files
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(server: object, session: object, envelope: object, mechanism: str,
                      auth_data: object) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret-smtp-pass")

    mailbox = MailBox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, tls_context=server_tls,
                            require_starttls=True, auth_required=True, authenticator=authenticator)
    controller.start()
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust the test certificate
    try:
        queue(mail_db, "tls@example.com")
        sender = sender_for(mail_db, tmp_path, port, smtp_username="mailer",
                            smtp_password="s3cret-smtp-pass")
        assert sender.run_once(NOW).sent == 1
        assert logins == [(b"mailer", b"s3cret-smtp-pass")]
        assert len(mailbox.to("tls@example.com")) == 1
        queue(mail_db, "wrongpass@example.com")
        wrong = sender_for(mail_db, tmp_path, port, smtp_username="mailer",
                           smtp_password="wrong-pass-123")
        assert wrong.run_once(NOW).retried == 1
    finally:
        controller.stop()
    output = capsys.readouterr().out
    assert "s3cret-smtp-pass" not in output
    assert "wrong-pass-123" not in output
