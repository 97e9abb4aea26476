"""Drain the outbox through SMTP: claim due mail with FOR UPDATE SKIP LOCKED, send, mark.

Each mail is claimed, sent and marked in one short transaction, so several workers (or hosts)
never send the same row; a crash between the SMTP server's acceptance and the commit can at
worst send that one mail again (at-least-once, practically once). Failures are retried with
exponential backoff (5 s, 10 s, 20 s, ... capped at 1 h); after 10 attempts a mail is `failed`.
With no SMTP server configured mail is marked `skipped` and logged, never an error.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.message
import email.utils
import smtplib
import ssl
import threading

import sqlalchemy as sa
import structlog

from hotgigs.db import Database
from hotgigs.models import OutboxEmail
from hotgigs.settings import Settings
from hotgigs.telemetry import metrics

log = structlog.get_logger(__name__)

MAX_ATTEMPTS = 10
BATCH = 50


@dataclasses.dataclass
class SendReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0


def backoff_seconds(attempts: int) -> int:
    """Delay before the next try after `attempts` failures: 5, 10, 20, ... at most 3600."""
    return int(min(3600, 5 * 2 ** max(0, attempts - 1)))


def _domain(address: str) -> str:
    return address.rpartition("@")[2] or "?"


class MailSender:
    """Sends due outbox mail; `start()` runs it in a daemon thread until `stop()`."""

    def __init__(self, settings: Settings, database: Database) -> None:
        self.settings = settings
        self.database = database
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _message(self, row: OutboxEmail) -> email.message.EmailMessage:
        message = email.message.EmailMessage()
        message["From"] = self.settings.smtp_from
        message["To"] = row.to_address
        message["Subject"] = row.subject
        message["Date"] = email.utils.formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = email.utils.make_msgid(idstring=f"outbox-{row.id}")
        message.set_content(row.body_text)
        return message

    def _deliver(self, message: email.message.EmailMessage) -> None:
        settings = self.settings
        assert settings.smtp_server is not None  # noqa: S101 - checked by the caller
        with smtplib.SMTP(settings.smtp_server, settings.smtp_port,
                          timeout=settings.smtp_timeout_seconds) as smtp:
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password or "")
            smtp.send_message(message)

    def _claim(self, now: dt.datetime) -> int | None:
        """Handle one due mail in its own transaction; None when nothing is due."""
        with self.database.session_scope() as session:
            row = session.scalars(
                sa.select(OutboxEmail)
                .where(OutboxEmail.status == "pending", OutboxEmail.next_attempt_at <= now)
                .order_by(OutboxEmail.next_attempt_at).limit(1)
                .with_for_update(skip_locked=True)).first()
            if row is None:
                return None
            outcome = self._handle(row, now)
            return outcome

    def _handle(self, row: OutboxEmail, now: dt.datetime) -> int:
        fields = {"outbox_id": row.id, "kind": row.kind, "to_domain": _domain(row.to_address)}
        if self.settings.smtp_server is None:
            row.status = "skipped"
            log.info("mail_skipped", reason="no SMTP_SERVER configured", **fields)
            return 3
        try:
            self._deliver(self._message(row))
        except (OSError, smtplib.SMTPException) as error:
            metrics.MAIL_FAILURES.inc()
            row.attempts += 1
            row.last_error = f"{type(error).__name__}: {str(error)[:200]}"
            if row.attempts >= MAX_ATTEMPTS:
                row.status = "failed"
                log.error("mail_failed", attempts=row.attempts, error_type=type(error).__name__,
                          **fields)
                return 2
            row.next_attempt_at = now + dt.timedelta(seconds=backoff_seconds(row.attempts))
            log.warning("mail_retry_scheduled", attempts=row.attempts,
                        error_type=type(error).__name__, **fields)
            return 1
        metrics.MAIL_SENT.inc()
        row.status = "sent"
        row.sent_at = now
        row.attempts += 1
        log.info("mail_sent", **fields)
        return 0

    def run_once(self, now: dt.datetime | None = None) -> SendReport:
        """Send everything due now (at most one batch); report what happened."""
        report = SendReport()
        moment = now or dt.datetime.now(dt.UTC)
        for _ in range(BATCH):
            outcome = self._claim(moment)
            if outcome is None:
                break
            if outcome == 0:
                report.sent += 1
            elif outcome == 1:
                report.retried += 1
            elif outcome == 2:
                report.failed += 1
            else:
                report.skipped += 1
        return report

    def _run(self) -> None:
        while not self._stop.wait(self.settings.mail_poll_interval_seconds):
            try:
                self.run_once()
            except Exception:
                log.exception("mail_sender_crashed")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="mail-sender", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
