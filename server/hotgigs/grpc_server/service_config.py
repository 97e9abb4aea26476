"""The gRPC service config internal callers load (`hotgigs/v1/service_config.json`, also in the
`hotgigs-api` stubs wheel): a deadline for every method and a retry policy for the reads.

Derived from the manifest, never kept by hand: a method is a read when its name starts with a
read verb (`hotgigs.core.rpc.is_read`); reads are safe to send again, so they are retried on
UNAVAILABLE (the server or a proxy could not take the call; nothing ran) with exponential
backoff, under a client-wide retry budget (`retryThrottling`). Writes are never retried by the
channel: a create repeated after a lost answer is the caller's decision (send an
Idempotency-Key and retry it yourself). Server-streaming `StreamNotifications` has no
deadline (it lasts as long as the caller listens).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from hotgigs import manifest
from hotgigs.core.rpc import is_read

SERVICE_CONFIG_NAME: Final = "service_config.json"
READ_TIMEOUT: Final = "5s"
WRITE_TIMEOUT: Final = "10s"
# Methods that legitimately take longer: model inference and file transfer.
SLOW_TIMEOUT: Final = "30s"
SLOW_METHODS: Final = frozenset({
    "AiService/AnalyzeResume", "AiService/MatchJobs", "AiService/MatchCandidates",
    "AiService/GetJobRecommendations", "DocumentService/UploadDocument",
    "DocumentService/UploadDocumentRaw", "DocumentService/UploadDocumentStream",
    "DocumentService/DownloadDocument",
})
UNBOUNDED_METHODS: Final = frozenset({"NotificationService/StreamNotifications"})
RETRY_POLICY: Final = {
    "maxAttempts": 3,
    "initialBackoff": "0.1s",
    "maxBackoff": "1s",
    "backoffMultiplier": 2,
    "retryableStatusCodes": ["UNAVAILABLE"],
}
# At most one retry per ten successful calls once failures pile up (gRPC's retry budget).
RETRY_THROTTLING: Final = {"maxTokens": 10, "tokenRatio": 0.1}


def _method_config(service: str, methods: list[str], **settings: Any) -> dict[str, Any]:
    return {"name": [{"service": service, "method": method} for method in methods], **settings}


def build() -> dict[str, Any]:
    """The service config as a JSON-ready dict (gRPC's `grpc.service_config` channel option)."""
    configs: list[dict[str, Any]] = []
    for module in manifest.MODULES:
        service = module.full_service
        groups: dict[tuple[str, bool], list[str]] = {}
        unbounded = []
        for name in module.rpcs:
            key = f"{module.service}/{name}"
            if key in UNBOUNDED_METHODS:
                unbounded.append(name)
                continue
            timeout = SLOW_TIMEOUT if key in SLOW_METHODS else READ_TIMEOUT if is_read(name) \
                else WRITE_TIMEOUT
            groups.setdefault((timeout, is_read(name)), []).append(name)
        for (timeout, read), names in sorted(groups.items()):
            settings: dict[str, Any] = {"timeout": timeout}
            if read:
                settings["retryPolicy"] = RETRY_POLICY
            configs.append(_method_config(service, names, **settings))
        if unbounded:
            configs.append(_method_config(service, unbounded))
    return {"methodConfig": configs, "retryThrottling": RETRY_THROTTLING}


def dumps() -> str:
    """The service config as the JSON text clients pass to `grpc.service_config`."""
    return json.dumps(build(), indent=1, sort_keys=True) + "\n"


def write(path: Path) -> None:
    path.write_text(dumps())
