"""Domain errors, and their one mapping to gRPC status codes with `google.rpc` details.

    DomainError                      -> (base, never raised itself)
    ├── InvalidArgument(violations)  -> INVALID_ARGUMENT   + BadRequest   (HTTP 400)
    ├── Unauthenticated              -> UNAUTHENTICATED    + ErrorInfo    (HTTP 401)
    ├── PermissionDenied             -> PERMISSION_DENIED  + ErrorInfo    (HTTP 403)
    ├── NotFound                     -> NOT_FOUND          + ErrorInfo    (HTTP 404)
    ├── AlreadyExists                -> ALREADY_EXISTS     + ErrorInfo    (HTTP 409)
    ├── FailedPrecondition           -> FAILED_PRECONDITION + ErrorInfo   (HTTP 400)
    ├── ResourceExhausted(retry)     -> RESOURCE_EXHAUSTED + RetryInfo    (HTTP 429)
    ├── Unavailable(retry)           -> UNAVAILABLE        + RetryInfo    (HTTP 503)
    ├── DeadlineExceeded             -> DEADLINE_EXCEEDED  + ErrorInfo    (HTTP 504)
    └── DataLoss                     -> DATA_LOSS          + ErrorInfo    (HTTP 500)

Every error carries a `reason` (UPPER_SNAKE_CASE, stable, for machines) and a message (for
people). Envoy's `convert_grpc_status` turns the status into a JSON body
`{"code", "message", "details"}` with the HTTP status in the right-hand column.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

ERROR_DOMAIN = "hotgigs.app"


@dataclasses.dataclass(frozen=True)
class FieldViolation:
    """One invalid field: `field` is the request field name (snake_case), `description` says why."""

    field: str
    description: str


class DomainError(Exception):
    """Base of all errors the domain code raises on purpose."""

    code: int = code_pb2.UNKNOWN
    default_reason = "ERROR"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason
        self.keep_changes = False

    def after_commit(self) -> DomainError:
        """Mark this error as one whose transaction must still COMMIT (a failed login that
        counts the failure, a refresh-token re-use that revokes the session)."""
        self.keep_changes = True
        return self

    def details(self) -> list[any_pb2.Any]:
        info = any_pb2.Any()
        info.Pack(error_details_pb2.ErrorInfo(reason=self.reason, domain=ERROR_DOMAIN))
        return [info]


class InvalidArgument(DomainError):
    code = code_pb2.INVALID_ARGUMENT
    default_reason = "INVALID_ARGUMENT"

    def __init__(self, message: str, violations: Sequence[FieldViolation] = (),
                 *, reason: str | None = None) -> None:
        super().__init__(message, reason=reason)
        self.violations = tuple(violations)

    def details(self) -> list[any_pb2.Any]:
        bad_request = error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
            for v in self.violations
        ])
        packed = any_pb2.Any()
        packed.Pack(bad_request)
        return [packed, *super().details()]


class Unauthenticated(DomainError):
    code = code_pb2.UNAUTHENTICATED
    default_reason = "UNAUTHENTICATED"


class PermissionDenied(DomainError):
    code = code_pb2.PERMISSION_DENIED
    default_reason = "PERMISSION_DENIED"


class NotFound(DomainError):
    code = code_pb2.NOT_FOUND
    default_reason = "NOT_FOUND"


class AlreadyExists(DomainError):
    code = code_pb2.ALREADY_EXISTS
    default_reason = "ALREADY_EXISTS"


class FailedPrecondition(DomainError):
    code = code_pb2.FAILED_PRECONDITION
    default_reason = "FAILED_PRECONDITION"


class RetryableError(DomainError):
    """An error the caller may retry after `retry_after_seconds` (RetryInfo, Retry-After)."""

    def __init__(self, message: str, *, retry_after_seconds: float, reason: str | None = None) -> None:
        super().__init__(message, reason=reason)
        self.retry_after_seconds = retry_after_seconds

    def details(self) -> list[any_pb2.Any]:
        delay = duration_pb2.Duration()
        delay.FromNanoseconds(int(self.retry_after_seconds * 1e9))
        packed = any_pb2.Any()
        packed.Pack(error_details_pb2.RetryInfo(retry_delay=delay))
        return [packed, *super().details()]


class ResourceExhausted(RetryableError):
    code = code_pb2.RESOURCE_EXHAUSTED
    default_reason = "RATE_LIMITED"


class Unavailable(RetryableError):
    code = code_pb2.UNAVAILABLE
    default_reason = "UNAVAILABLE"


class DeadlineExceeded(DomainError):
    """The caller's deadline passed (or will before the work could finish): the work stopped."""

    code = code_pb2.DEADLINE_EXCEEDED
    default_reason = "DEADLINE_EXCEEDED"


class DataLoss(DomainError):
    """Stored data failed its integrity check (an encrypted document tampered with, or its key
    missing): nothing the caller can fix; logged as an error, the message says what happened."""

    code = code_pb2.DATA_LOSS
    default_reason = "DATA_LOSS"


INTERNAL_MESSAGE = "Internal error; quote the request id to support"


def to_grpc_status(error: DomainError) -> grpc.Status:
    """The rich gRPC status (code, message, details in `grpc-status-details-bin`) for `error`."""
    status = status_pb2.Status(code=error.code, message=error.message, details=error.details())
    result: grpc.Status = rpc_status.to_status(status)
    return result


def internal_status() -> grpc.Status:
    """The bland INTERNAL status for bugs: nothing internal reaches the caller."""
    status = status_pb2.Status(code=code_pb2.INTERNAL, message=INTERNAL_MESSAGE)
    result: grpc.Status = rpc_status.to_status(status)
    return result


def unimplemented_status(method: str) -> grpc.Status:
    """The status of an RPC whose module is not built yet (REST: 501)."""
    status = status_pb2.Status(code=code_pb2.UNIMPLEMENTED,
                               message=f"{method} is not implemented yet")
    result: grpc.Status = rpc_status.to_status(status)
    return result
