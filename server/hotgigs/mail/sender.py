"""Drain the outbox through SMTP: claim due mail with FOR UPDATE SKIP LOCKED, send, mark.

Delivery is at-least-once, practically once. Each mail is claimed (`SELECT ... WHERE
status = 'pending' AND next_attempt_at <= now ORDER BY next_attempt_at LIMIT 1 FOR UPDATE
SKIP LOCKED`), sent and marked in its own short transaction, so several senders (threads,
workers, hosts) never send the same row, and a crash between the SMTP server's "250 OK" and
the commit can at worst send that one mail again. One `run_once()` handles at most `BATCH`
mails; locking a whole batch in one transaction would hold the other 49 hostage while one is
being sent and widen what a crash may re-send.

A failed attempt bumps `attempts`, keeps a short `last_error` (never the password or the
body) and waits `backoff_seconds(attempts)` (5 s, 10 s, 20 s, ... at most 1 h); after
`MAX_ATTEMPTS` the mail is `failed`. A failure also ends the run: the rest waits for the next
poll, so a dead or stuck server (every SMTP step times out after `smtp_timeout_seconds`)
costs one timeout per poll and does not burn the attempts of the whole queue. With no SMTP
server configured mail is marked `skipped` and logged at info level, never an error.

Logs carry the outbox id, kind, attempt and the recipient's domain; never the address, the
subject, the body or a credential.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.message
import email.utils
import enum
import ipaddress
import re
import smtplib
import ssl
import threading
import uuid
from collections import Counter
from typing import Final, cast

import sqlalchemy as sa
import structlog
from opentelemetry.instrumentation.utils import suppress_instrumentation

from hotgigs.db import Database
from hotgigs.models import OutboxEmail
from hotgigs.settings import Settings
from hotgigs.telemetry import metrics

log = structlog.get_logger(__name__)

#: Attempts before a mail is given up as `failed`.
MAX_ATTEMPTS: Final = 10
#: Most mails handled by one `run_once()`.
BATCH: Final = 50
FIRST_BACKOFF_SECONDS: Final = 5
MAX_BACKOFF_SECONDS: Final = 3600
#: Longest `last_error` kept (the column is text; this keeps rows and logs small).
MAX_ERROR_LENGTH: Final = 200
#: How long `stop()` waits for a send in flight.
STOP_TIMEOUT_SECONDS: Final = 30.0


class Outcome(enum.Enum):
    """What happened to one claimed mail."""

    SENT = "sent"
    RETRIED = "retried"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclasses.dataclass(frozen=True)
class SendReport:
    """Counts of one `run_once()`: sent, given up (failed), rescheduled (retried), skipped."""

    sent: int = 0
    failed: int = 0
    retried: int = 0
    skipped: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.failed + self.retried + self.skipped


def backoff_seconds(attempts: int) -> int:
    """Delay before the next try after `attempts` failures: 5, 10, 20, ... at most 3600."""
    doublings = min(max(0, attempts - 1), 20)  # 5 s doubled 20 times is far past the cap
    return min(MAX_BACKOFF_SECONDS, FIRST_BACKOFF_SECONDS * (1 << doublings))


def recipient_domain(address: str) -> str:
    """The part of an address after the last `@`: what the logs may show of a recipient."""
    return address.rpartition("@")[2] or "?"


def describe_error(error: Exception, *, secrets: tuple[str | None, ...] = ()) -> str:
    """A short, single-line text for `last_error` and the logs: the exception type and the SMTP
    code / reply, with any of `secrets` blanked out. Refused recipients are listed by code only
    (the exception's text would carry the full addresses)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = sorted({str(code) for code, _ in error.recipients.values()})
        detail = f"recipient refused ({', '.join(codes)})"
    elif isinstance(error, smtplib.SMTPResponseException):
        reply = error.smtp_error
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        detail = f"{error.smtp_code} {text}"
    else:
        detail = str(error)
    for secret in secrets:
        if secret:
            detail = re.sub(re.escape(secret), "***", detail, flags=re.IGNORECASE)
    text = " ".join(f"{type(error).__name__}: {detail}".split())
    return text[:MAX_ERROR_LENGTH]


_TABLE = cast(sa.Table, OutboxEmail.__table__)
_OUTBOX = _TABLE.c
#: Without an SMTP server: the due mails (at the bound `now`, or the database's clock when it is
#: None), at most BATCH, that no other sender holds, marked `skipped` at once.
_SKIP_DUE = (
    sa.update(_TABLE)
    .where(_OUTBOX.id.in_(
        sa.select(_OUTBOX.id)
        .where(_OUTBOX.status == "pending",
               _OUTBOX.next_attempt_at <= sa.func.coalesce(
                   sa.bindparam("now", type_=sa.DateTime(timezone=True)), sa.func.now()))
        .order_by(_OUTBOX.next_attempt_at)  # served by ix_outbox_emails_due
        .limit(BATCH)
        .with_for_update(skip_locked=True)))
    .values(status="skipped")
    .returning(_OUTBOX.id, _OUTBOX.kind, _OUTBOX.to_address))


class MailSender:
    """Sends due outbox mail through SMTP; `start()` runs it in a daemon thread until `stop()`."""

    def __init__(self, settings: Settings, database: Database) -> None:
        self.settings = settings
        self.database = database
        self._envelope_from = email.utils.parseaddr(settings.smtp_from)[1]
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the loop ---------------------------------------------------------------------------

    def run_once(self, now: dt.datetime | None = None) -> SendReport:
        """Handle the mail due at `now` (default: the database's clock), at most `BATCH`,
        stopping early after a failure; report what happened."""
        if now is not None and now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        if self.settings.smtp_server is None:
            return SendReport(skipped=self._skip_due(now))
        outcomes: Counter[Outcome] = Counter()
        for _ in range(BATCH):
            outcome = self._handle_next(now)
            if outcome is None:
                break
            outcomes[outcome] += 1
            if outcome in (Outcome.RETRIED, Outcome.FAILED):
                break
        return SendReport(sent=outcomes[Outcome.SENT], failed=outcomes[Outcome.FAILED],
                          retried=outcomes[Outcome.RETRIED], skipped=outcomes[Outcome.SKIPPED])

    def start(self) -> None:
        """Poll every `mail_poll_interval_seconds` in a daemon thread."""
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("the mail sender is already running")
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="mail-sender", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to stop and wait for it (a send in flight is finished first)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=STOP_TIMEOUT_SECONDS)
            if self._thread.is_alive():
                log.warning("mail_sender_stop_timed_out", timeout_seconds=STOP_TIMEOUT_SECONDS)
            self._thread = None

    def _run(self) -> None:
        # Untraced (no request): traced, the poll alone exported an orphan trace every
        # interval from every worker; a mail's fate is in the log and hotgigs_mail_* metrics.
        with suppress_instrumentation():
            while not self._stopping.is_set():
                try:
                    report = self.run_once()
                except Exception:  # the database may be down for a while: log and poll again
                    log.exception("mail_sender_error")
                    report = SendReport()
                if report.handled < BATCH or report.retried or report.failed:
                    self._stopping.wait(self.settings.mail_poll_interval_seconds)

    # -- one mail ---------------------------------------------------------------------------

    def _handle_next(self, now: dt.datetime | None) -> Outcome | None:
        """Claim, send and mark the next due mail in one transaction; None when none is due."""
        clock = sa.func.now() if now is None else sa.literal(now, sa.DateTime(timezone=True))
        with self.database.session_scope() as session:
            claimed = session.execute(
                sa.select(OutboxEmail, clock)
                .where(OutboxEmail.status == "pending", OutboxEmail.next_attempt_at <= clock)
                .order_by(OutboxEmail.next_attempt_at)  # served by ix_outbox_emails_due
                .limit(1)
                .with_for_update(of=OutboxEmail, skip_locked=True)
            ).first()
            if claimed is None:
                return None
            row, moment = claimed
            return self._process(row, moment)

    def _skip_due(self, now: dt.datetime | None) -> int:
        """No SMTP server: mark up to `BATCH` due mails `skipped` in one statement (rows other
        senders hold are passed over) and log each; how many."""
        with self.database.engine.begin() as connection:
            skipped = connection.execute(_SKIP_DUE, {"now": now}).all()
        for outbox_id, kind, to_address in skipped:
            log.info("mail_skipped", reason="no SMTP server configured", outbox_id=outbox_id, kind=kind,
                     to_domain=recipient_domain(to_address))
        return len(skipped)

    def _process(self, row: OutboxEmail, moment: dt.datetime) -> Outcome:
        """Send `row` and record the result on it."""
        fields = {"outbox_id": row.id, "kind": row.kind, "to_domain": recipient_domain(row.to_address)}
        row.attempts += 1
        try:
            self._deliver(self._message(row), row.to_address)
        except Exception as error:  # any failure of one mail is retried, never a crash
            return self._record_failure(row, moment, error, fields)
        metrics.MAIL_SENT.inc()
        row.status = "sent"
        row.sent_at = moment
        row.last_error = None
        log.info("mail_sent", attempt=row.attempts, **fields)
        return Outcome.SENT

    def _record_failure(self, row: OutboxEmail, moment: dt.datetime, error: Exception,
                        fields: dict[str, object]) -> Outcome:
        metrics.MAIL_FAILURES.inc()
        row.last_error = describe_error(error, secrets=(self.settings.smtp_password, row.to_address))
        if row.attempts >= MAX_ATTEMPTS:
            row.status = "failed"
            log.error("mail_failed", attempt=row.attempts, error=row.last_error, **fields)
            return Outcome.FAILED
        delay = backoff_seconds(row.attempts)
        row.next_attempt_at = moment + dt.timedelta(seconds=delay)
        log.warning("mail_retry_scheduled", attempt=row.attempts, retry_in_seconds=delay,
                    error=row.last_error, **fields)
        return Outcome.RETRIED

    # -- SMTP -------------------------------------------------------------------------------

    def _message(self, row: OutboxEmail) -> email.message.EmailMessage:
        """The mail as text/plain UTF-8 with From, To, Subject, Date and Message-ID."""
        message = email.message.EmailMessage()
        message["From"] = self.settings.smtp_from
        message["To"] = row.to_address
        message["Subject"] = row.subject
        message["Date"] = email.utils.formatdate(usegmt=True)
        # Unique from os.urandom (uuid4): make_msgid() asks DNS for our FQDN unless given a
        # domain, and draws from the process-wide `random` state.
        message["Message-ID"] = (f"<{uuid.uuid4().hex}.outbox-{row.id}"
                                 f"@{recipient_domain(self._envelope_from)}>")
        message.set_content(row.body_text, charset="utf-8")
        return message

    def _deliver(self, message: email.message.EmailMessage, recipient: str) -> None:
        """Hand `message` to the SMTP server: EHLO, STARTTLS when offered, AUTH when configured.

        Every socket operation (connect, each reply, the TLS handshake) times out after
        `smtp_timeout_seconds`. Once the server has accepted the message, an error while saying
        goodbye is ignored: the mail is delivered and must not be sent again.
        """
        settings = self.settings
        if settings.smtp_server is None:
            raise RuntimeError("no SMTP server configured")
        smtp = smtplib.SMTP(settings.smtp_server, settings.smtp_port,
                            timeout=settings.smtp_timeout_seconds)
        try:
            smtp.ehlo()
            encrypted = smtp.has_extn("starttls")
            if encrypted:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if settings.smtp_username:
                if not encrypted and not _is_loopback(settings.smtp_server):
                    log.warning("smtp_login_without_tls", smtp_server=settings.smtp_server)
                smtp.login(settings.smtp_username, settings.smtp_password or "")
            smtp.send_message(message, from_addr=self._envelope_from, to_addrs=[recipient])
        except BaseException:
            smtp.close()  # no QUIT: after a timeout it would only wait for another one
            raise
        _quit_quietly(smtp)


def _quit_quietly(smtp: smtplib.SMTP) -> None:
    """Say QUIT after a delivered mail; a failure here changes nothing about the delivery."""
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
