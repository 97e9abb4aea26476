"""Every worker's audit log pruner: deletes entries older than AUDIT_LOG_RETENTION_DAYS, in
batches, at start and then every `interval` seconds (several workers at once only share work)."""

from __future__ import annotations

import datetime as dt
import threading

import structlog
from opentelemetry.instrumentation.utils import suppress_instrumentation

from hotgigs.audit import service
from hotgigs.db import Database

log = structlog.get_logger(__name__)
INTERVAL_SECONDS = 3600.0
MAX_BATCHES = 100  # per run: at most 500,000 rows, the rest next time


class AuditPruner:
    """`start()` runs `run_once` in a daemon thread until `stop()`."""

    def __init__(self, database: Database, *, retention_days: int,
                 interval_seconds: float = INTERVAL_SECONDS) -> None:
        self.database = database
        self.retention = dt.timedelta(days=retention_days)
        self.interval_seconds = interval_seconds
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self, now: dt.datetime | None = None) -> int:
        """Delete what is past the retention at `now`; how many entries went."""
        cutoff = (now or dt.datetime.now(dt.UTC)) - self.retention
        deleted = 0
        for _ in range(MAX_BATCHES):
            with self.database.session_scope() as session:
                count = service.prune(session, older_than=cutoff)
            deleted += count
            if count < service.PRUNE_BATCH or self._stopping.is_set():
                break
        if deleted:
            log.info("audit_log_pruned", deleted=deleted, cutoff=cutoff.isoformat())
        return deleted

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="audit-pruner", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        with suppress_instrumentation():  # no request: no trace (its outcome is logged)
            while not self._stopping.is_set():
                try:
                    self.run_once()
                except Exception:  # the database may be down for a while: log and try again later
                    log.exception("audit_log_prune_failed")
                self._stopping.wait(self.interval_seconds)
