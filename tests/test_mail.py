"""The mail outbox and its sender against a real SMTP server (aiosmtpd) and a real PostgreSQL:
nothing lost, nothing sent twice, no credential, body or full address in the logs."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import email
import email.message
import email.policy
import email.utils
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import structlog
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from hotgigs.db import Database
from hotgigs.dev.embedded import free_port
from hotgigs.mail import outbox
from hotgigs.mail import sender as sender_module
from hotgigs.mail.sender import BATCH, MAX_ATTEMPTS, MailSender, SendReport
from hotgigs.models import OutboxEmail
from tests.support.servers import make_settings

NOW = dt.datetime(2030, 1, 1, 12, 0, tzinfo=dt.UTC)
KIND = "test_mail"
SMTP_PASSWORD = "s3cret-Smtp-Pa55"


# -- a real SMTP server ----------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Received:
    """One message as the SMTP server got it, with what it knew about the session."""

    message: email.message.EmailMessage
    mail_from: str
    rcpt_tos: list[str]
    tls: bool
    authenticated: bool


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._received: list[Received] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        message = email.message_from_bytes(envelope.original_content or b"", policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        with self._lock:
            self._received.append(Received(
                message=message, mail_from=envelope.mail_from or "",
                rcpt_tos=list(envelope.rcpt_tos), tls=session.ssl is not None,
                authenticated=bool(session.authenticated)))
        return "250 OK"

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def subjects(self) -> list[str]:
        return [str(item.message["Subject"]) for item in self.received]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.received)} of {count} mails within {timeout}s")
            time.sleep(0.02)
        return self.received


@contextlib.contextmanager
def running_smtp(port: int | None = None, **options: Any) -> Iterator[Inbox]:
    """An aiosmtpd server on 127.0.0.1 (`options` go to its `Controller`)."""
    inbox = Inbox(port or free_port())
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port, **options)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def smtp() -> Iterator[Inbox]:
    with running_smtp() as inbox:
        yield inbox


# -- a database of our own, emptied before each test ------------------------------------------

@pytest.fixture(autouse=True)
def empty_outbox(own_database: Database) -> None:
    with own_database.session_scope() as session:
        session.execute(sa.delete(OutboxEmail))


@pytest.fixture
def mail_logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[MutableMapping[str, Any]]]:
    """The sender's structlog events (a fresh logger proxy: a cached one would bypass capture)."""
    with structlog.testing.capture_logs() as entries:
        monkeypatch.setattr(sender_module, "log", structlog.get_logger(sender_module.__name__))
        yield entries


def sender_for(database: Database, tmp_path: Path, port: int | None, **overrides: Any) -> MailSender:
    """A sender for 127.0.0.1:`port` (None: no SMTP server configured)."""
    values: dict[str, Any] = {"smtp_server": None if port is None else "127.0.0.1",
                              "smtp_port": port or 25, "smtp_timeout_seconds": 2.0}
    values.update(overrides)
    return MailSender(make_settings(tmp_path, **values), database)


def queue(database: Database, *, to: str = "ada@example.com", subject: str = "Hello",
          body: str = "Body text\n", count: int = 1) -> None:
    """Commit `count` mails (subjects "<subject> 0", "<subject> 1", ...)."""
    with database.session_scope() as session:
        for number in range(count):
            outbox.enqueue(session, to=to, subject=f"{subject} {number}", body=body, kind=KIND)


def rows(database: Database) -> list[OutboxEmail]:
    with database.session_scope() as session:
        return list(session.scalars(sa.select(OutboxEmail).order_by(OutboxEmail.id)))


def ours(entries: list[MutableMapping[str, Any]]) -> list[MutableMapping[str, Any]]:
    """Log entries about this module's mail (a session-wide sender may log too)."""
    return [entry for entry in entries if entry.get("kind") == KIND]


# -- enqueue -------------------------------------------------------------------------------

class TestEnqueue:
    def test_rolled_back_mail_is_never_sent(self, own_database: Database, tmp_path: Path,
                                            smtp: Inbox) -> None:
        """A mail queued in a transaction that rolls back leaves no row and sends nothing."""
        def change_that_fails() -> None:
            with own_database.session_scope() as session:
                outbox.enqueue(session, to="rollback@example.com", subject="No", body="x",
                               kind=KIND)
                raise RuntimeError("the change failed")

        with pytest.raises(RuntimeError):
            change_that_fails()
        assert sender_for(own_database, tmp_path, smtp.port).run_once(NOW) == SendReport()
        assert rows(own_database) == []
        assert smtp.received == []

    def test_does_not_commit(self, own_database: Database) -> None:
        """The row belongs to the caller's transaction: invisible to others until it commits."""
        with own_database.session_scope() as session:
            row = outbox.enqueue(session, to="ada@example.com", subject="Hi", body="x", kind=KIND)
            assert row in session.new
            assert rows(own_database) == []
        [stored] = rows(own_database)
        assert (stored.status, stored.attempts, stored.kind) == ("pending", 0, KIND)

    @pytest.mark.parametrize(("to", "subject"), [
        ("ada@example.com", "Hi\r\nBcc: victim@example.com"),
        ("ada@example.com", "Hi\nX-Injected: yes"),
        ("ada@example.com\r\nBcc: victim@example.com", "Hi"),
        ("ada@example.com, victim@example.com", "Hi"),
        ("Ada <ada@example.com>", "Hi"),
        ("not-an-address", "Hi"),
        ("ada@example.com", "x" * 501),
    ])
    def test_refuses_header_injection_and_bad_values(self, own_database: Database, to: str,
                                                     subject: str) -> None:
        """Line breaks in a header, a recipient list or an over-long subject are refused."""
        with pytest.raises(ValueError, match=r"single|longer"), own_database.session_scope() as session:
            outbox.enqueue(session, to=to, subject=subject, body="x", kind=KIND)
        assert rows(own_database) == []


# -- sending -------------------------------------------------------------------------------

class TestSend:
    def test_committed_mail_arrives_exactly_once(self, own_database: Database, tmp_path: Path,
                                                 smtp: Inbox) -> None:
        """A committed mail arrives once, as text/plain UTF-8 with the expected headers."""
        body = "Hallo Ada,\n\nGrüße aus Köln, willkommen bei HotGigs.\n"
        queue(own_database, to="ada@example.com", subject="Willkommen, Grüße", body=body)
        sender = sender_for(own_database, tmp_path, smtp.port)
        assert sender.run_once(NOW) == SendReport(sent=1)
        assert sender.run_once(NOW) == SendReport()

        [received] = smtp.received
        message = received.message
        assert received.mail_from == "no-reply@hotgigs.local"
        assert received.rcpt_tos == ["ada@example.com"]
        assert message["Subject"] == "Willkommen, Grüße 0"
        assert message["From"] == "HotGigs <no-reply@hotgigs.local>"
        assert message["To"] == "ada@example.com"
        assert email.utils.parsedate_to_datetime(str(message["Date"])).tzinfo is not None
        assert re.fullmatch(r"<[0-9a-f]{32}\.outbox-\d+@hotgigs\.local>", str(message["Message-ID"]))
        assert message.get_content_type() == "text/plain"
        assert message.get_content_charset() == "utf-8"
        assert message.get_content().replace("\r\n", "\n") == body  # CRLF on the wire
        [row] = rows(own_database)
        assert (row.status, row.attempts, row.sent_at, row.last_error) == ("sent", 1, NOW, None)

    def test_smtp_down_keeps_the_mail_and_sends_it_later(self, own_database: Database,
                                                         tmp_path: Path) -> None:
        """With nothing listening the mail waits out its backoff, then arrives exactly once."""
        port = free_port()  # nothing listens here yet
        queue(own_database)
        sender = sender_for(own_database, tmp_path, port)
        assert sender.run_once(NOW) == SendReport(retried=1)
        [row] = rows(own_database)
        assert (row.status, row.attempts) == ("pending", 1)
        assert row.next_attempt_at == NOW + dt.timedelta(seconds=5)
        assert row.last_error is not None and row.last_error.startswith("ConnectionRefusedError")

        with running_smtp(port) as inbox:
            assert sender.run_once(NOW + dt.timedelta(seconds=4)) == SendReport(), "not yet due"
            assert sender.run_once(NOW + dt.timedelta(seconds=5)) == SendReport(sent=1)
            assert sender.run_once(NOW + dt.timedelta(hours=1)) == SendReport()
            assert inbox.subjects() == ["Hello 0"]
        [row] = rows(own_database)
        assert (row.status, row.attempts) == ("sent", 2)

    def test_two_senders_never_send_a_mail_twice(self, own_database: Database, tmp_path: Path,
                                                 smtp: Inbox) -> None:
        """Two senders draining the same outbox at once deliver each of 20 mails once."""
        queue(own_database, count=20)
        senders = [sender_for(own_database, tmp_path, smtp.port) for _ in range(2)]
        start = threading.Barrier(len(senders))
        reports: list[SendReport] = []

        def drain(sender: MailSender) -> None:
            start.wait()
            reports.append(sender.run_once(NOW))

        threads = [threading.Thread(target=drain, args=(sender,)) for sender in senders]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert sorted(smtp.subjects()) == sorted(f"Hello {n}" for n in range(20))
        assert sum(report.sent for report in reports) == 20
        assert {(row.status, row.attempts) for row in rows(own_database)} == {("sent", 1)}

    def test_gives_up_after_ten_attempts(self, own_database: Database, tmp_path: Path,
                                         mail_logs: list[MutableMapping[str, Any]]) -> None:
        """Failures back off 5 s, 10 s, 20 s, ...; the tenth makes the mail `failed`."""
        queue(own_database)
        sender = sender_for(own_database, tmp_path, free_port())
        moment, delays, reports = NOW, [], []
        for _ in range(MAX_ATTEMPTS):
            reports.append(sender.run_once(moment))
            [row] = rows(own_database)
            delays.append(int((row.next_attempt_at - moment).total_seconds()))
            moment = row.next_attempt_at
        assert delays[:-1] == [5, 10, 20, 40, 80, 160, 320, 640, 1280]
        assert reports[:-1] == [SendReport(retried=1)] * (MAX_ATTEMPTS - 1)
        assert reports[-1] == SendReport(failed=1)
        [row] = rows(own_database)
        assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)
        assert sender.run_once(moment + dt.timedelta(days=1)) == SendReport()
        events = [(entry["event"], entry["log_level"], entry["attempt"]) for entry in ours(mail_logs)]
        assert events[0] == ("mail_retry_scheduled", "warning", 1)
        assert events[-1] == ("mail_failed", "error", MAX_ATTEMPTS)

    def test_a_stuck_server_costs_one_timeout(self, own_database: Database, tmp_path: Path) -> None:
        """A server that accepts connections but never answers times out after
        smtp_timeout_seconds, and the run ends instead of trying every mail."""
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(8)  # never accepted, never answered
            queue(own_database, count=3)
            sender = sender_for(own_database, tmp_path, listener.getsockname()[1],
                                smtp_timeout_seconds=0.3)
            started = time.monotonic()
            assert sender.run_once(NOW) == SendReport(retried=1)
            assert time.monotonic() - started < 2
        assert [row.attempts for row in rows(own_database)] == [1, 0, 0]
        assert "timed out" in (rows(own_database)[0].last_error or "")

    def test_without_smtp_mail_is_skipped(self, own_database: Database, tmp_path: Path,
                                          mail_logs: list[MutableMapping[str, Any]]) -> None:
        """No SMTP server configured: mail is `skipped` and logged at info, never an error."""
        queue(own_database, to="skip@example.com", count=2)
        assert sender_for(own_database, tmp_path, None).run_once(NOW) == SendReport(skipped=2)
        assert [(row.status, row.attempts) for row in rows(own_database)] == [("skipped", 0)] * 2
        entries = ours(mail_logs)
        assert [(entry["event"], entry["log_level"]) for entry in entries] == \
            [("mail_skipped", "info")] * 2
        assert entries[0]["to_domain"] == "example.com"
        assert "skip@example.com" not in repr(mail_logs)

    def test_without_smtp_due_mail_is_skipped_a_batch_at_a_time_passing_over_held_rows(
            self, own_database: Database, tmp_path: Path) -> None:
        """One statement per run marks at most BATCH due mails; a row another sender holds is
        left to it, a mail not yet due waits."""
        sender = sender_for(own_database, tmp_path, None)
        queue(own_database, to="many@example.com", count=BATCH + 2)
        with own_database.engine.begin() as other:  # another sender holds the newest mail
            other.execute(sa.select(OutboxEmail.id).where(OutboxEmail.status == "pending")
                          .order_by(OutboxEmail.id.desc()).limit(1).with_for_update()).scalar_one()
            assert sender.run_once(NOW) == SendReport(skipped=BATCH)
            assert sender.run_once(NOW) == SendReport(skipped=1)
            assert sender.run_once(NOW) == SendReport()
        assert sender.run_once(NOW) == SendReport(skipped=1)
        queue(own_database, to="later@example.com")
        assert sender.run_once(dt.datetime(2020, 1, 1, tzinfo=dt.UTC)) == SendReport()
        assert sender.run_once() == SendReport(skipped=1)  # the database's clock
        assert not [row for row in rows(own_database) if row.status == "pending"]

    def test_start_polls_until_stop(self, own_database: Database, tmp_path: Path, smtp: Inbox) -> None:
        """The background thread sends mail committed after it started; stop() joins it."""
        def sender_threads() -> set[threading.Thread]:
            return {thread for thread in threading.enumerate() if thread.name == "mail-sender"}

        others = sender_threads()  # a session-wide sender may be running too
        sender = sender_for(own_database, tmp_path, smtp.port, mail_poll_interval_seconds=0.05)
        sender.start()
        try:
            assert len(sender_threads() - others) == 1
            queue(own_database, count=BATCH + 5)  # more than one batch: drained without waiting
            smtp.wait_for(BATCH + 5)
        finally:
            sender.stop()
        assert sender_threads() - others == set(), "stop() joined the thread"
        assert {row.status for row in rows(own_database)} == {"sent"}
        assert len(smtp.received) == BATCH + 5


# -- credentials and TLS -------------------------------------------------------------------

def authenticator(server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                  auth_data: object) -> AuthResult:
    """Accept exactly mailer / SMTP_PASSWORD."""
    ok = isinstance(auth_data, LoginPassword) and \
        (auth_data.login, auth_data.password) == (b"mailer", SMTP_PASSWORD.encode())
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


# aiosmtpd warns (rightly) about AUTH without TLS; on loopback in a test that is the point.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_auth_logs_in_and_never_logs_the_password(
        own_database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        mail_logs: list[MutableMapping[str, Any]]) -> None:
    """AUTH with SMTP_USERNAME/SMTP_PASSWORD works; a wrong password is retried; neither
    password, body nor full address shows up in the logs, the output or `last_error`."""
    body = "Your secret reset link: https://hotgigs.test/reset?token=tok-123\n"
    with running_smtp(auth_required=True, auth_require_tls=False,
                      authenticator=authenticator) as inbox:
        queue(own_database, to="auth@example.com", body=body)
        good = sender_for(own_database, tmp_path, inbox.port, smtp_username="mailer",
                          smtp_password=SMTP_PASSWORD)
        assert good.run_once(NOW) == SendReport(sent=1)
        [received] = inbox.received
        assert received.authenticated

        queue(own_database, to="wrong@example.com", body=body)
        wrong = sender_for(own_database, tmp_path, inbox.port, smtp_username="mailer",
                           smtp_password="Wrong-Pa55word")
        assert wrong.run_once(NOW) == SendReport(retried=1)
    last_error = rows(own_database)[1].last_error or ""
    assert last_error.startswith("SMTPAuthenticationError: 535")
    output = capsys.readouterr()
    for text in (repr(mail_logs), output.out, output.err, last_error):
        for secret in (SMTP_PASSWORD, "Wrong-Pa55word", "tok-123", "auth@example.com",
                       "wrong@example.com"):
            assert secret not in text
    assert [entry["event"] for entry in ours(mail_logs)] == ["mail_sent", "mail_retry_scheduled"]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the `cryptography` package is not installed;
    the system's openssl is)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed: cannot make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


@contextlib.contextmanager
def starttls_smtp(certificate: tuple[Path, Path]) -> Iterator[Inbox]:
    """An SMTP server that offers STARTTLS and refuses mail without it."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    with running_smtp(tls_context=context, require_starttls=True) as inbox:
        yield inbox


def test_starttls_is_used_when_offered(own_database: Database, tmp_path: Path,
                                       certificate: tuple[Path, Path],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A server offering STARTTLS gets the mail over TLS (its certificate verified)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))  # trust the test certificate
    with starttls_smtp(certificate) as inbox:
        queue(own_database)
        assert sender_for(own_database, tmp_path, inbox.port).run_once(NOW) == SendReport(sent=1)
        [received] = inbox.received
        assert received.tls


def test_an_untrusted_certificate_is_not_used(own_database: Database, tmp_path: Path,
                                              certificate: tuple[Path, Path],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """STARTTLS with a certificate we cannot verify fails (and is retried); no plain-text
    fallback."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with starttls_smtp(certificate) as inbox:
        queue(own_database)
        assert sender_for(own_database, tmp_path, inbox.port).run_once(NOW) == SendReport(retried=1)
        assert inbox.received == []
    assert "SSLCertVerificationError" in (rows(own_database)[0].last_error or "")
