"""Server interceptors, one concern each, in the order of DESIGN section 3.

Each interceptor supplies a context manager `around(method, context, streaming_response)`
that encloses the call of the next layer; `AroundInterceptor` applies it to all four RPC
kinds, so every interceptor is written once and works for unary and streaming RPCs alike.
"""

from __future__ import annotations

import abc
import contextlib
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import grpc
import structlog

from hotgigs import context as request_context
from hotgigs.db import cancel_running_query, database_error
from hotgigs.errors import (
    DeadlineExceeded,
    DomainError,
    RetryableError,
    internal_status,
    to_grpc_status,
    unimplemented_status,
)
from hotgigs.telemetry import metrics
from hotgigs.telemetry.recent import TRAFFIC

log = structlog.get_logger(__name__)
_STDLIB_LOG = logging.getLogger(__name__)  # where `log` ends up: its level decides

REQUEST_ID_HEADER = "x-request-id"
_PROBE_PREFIX = "/grpc.health.v1.Health/"
#: Answers whose OK outcome is logged at debug: the checks Envoy and load balancers run, and
#: the REST health route uptime monitors poll every few seconds (a failure is still logged).
_PROBES = (_PROBE_PREFIX, "/hotgigs.v1.HealthService/GetHealth")
_REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_NO_DEADLINE = 1e9  # seconds; gRPC reports ~9.2e18 remaining for a call without a deadline

Around = Callable[[grpc.ServicerContext, bool], contextlib.AbstractContextManager[None]]


def _wrap_handler(handler: Any, around: Around) -> Any:
    """A copy of `handler` whose behaviour runs inside `around(context, streaming_response)`."""

    def unary_response(behavior: Callable[..., Any]) -> Callable[..., Any]:
        def run(request: Any, context: grpc.ServicerContext) -> Any:
            with around(context, False):
                return behavior(request, context)
        return run

    def stream_response(behavior: Callable[..., Any]) -> Callable[..., Any]:
        def run(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            with around(context, True):
                yield from behavior(request, context)
        return run

    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(
            unary_response(handler.unary_unary), handler.request_deserializer,
            handler.response_serializer)
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(
            stream_response(handler.unary_stream), handler.request_deserializer,
            handler.response_serializer)
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(
            unary_response(handler.stream_unary), handler.request_deserializer,
            handler.response_serializer)
    return grpc.stream_stream_rpc_method_handler(
        stream_response(handler.stream_stream), handler.request_deserializer,
        handler.response_serializer)


class AroundInterceptor(grpc.ServerInterceptor, abc.ABC):  # type: ignore[type-arg]  # not generic at runtime
    """Base class: subclasses implement `around`; this applies it to every RPC."""

    @abc.abstractmethod
    def around(self, method: str, context: grpc.ServicerContext,
               streaming_response: bool) -> contextlib.AbstractContextManager[None]:
        """Enclose one call of the next layer."""

    def intercept_service(self, continuation: Callable[[grpc.HandlerCallDetails], Any],
                          handler_call_details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method: str = handler_call_details.method

        def around(context: grpc.ServicerContext, streaming: bool
                   ) -> contextlib.AbstractContextManager[None]:
            return self.around(method, context, streaming)

        return _wrap_handler(handler, around)


class BuiltOnce(grpc.ServerInterceptor):  # type: ignore[type-arg]  # not generic at runtime
    """The interceptors as one, the handler they wrap around a method built once and kept.

    gRPC asks the interceptors for a method's handler on every call, so each wrapped the
    handler again per call (about 13 % of a worker's CPU for a health check). What they wrap
    depends on the method alone: no interceptor reads a call's metadata in `intercept_service`
    (they read it from the context when the call runs), and the servicers' handlers are fixed
    when the server starts. Only handlers of served methods are kept (an unknown method's None
    is not), so the map is bounded by the API."""

    def __init__(self, interceptors: Sequence[grpc.ServerInterceptor]) -> None:  # type: ignore[type-arg]
        self.interceptors = tuple(interceptors)
        self._handlers: dict[str, Any] = {}

    def _chain(self, index: int, continuation: Callable[[grpc.HandlerCallDetails], Any],
               details: grpc.HandlerCallDetails) -> Any:
        if index == len(self.interceptors):
            return continuation(details)
        return self.interceptors[index].intercept_service(
            lambda inner: self._chain(index + 1, continuation, inner), details)

    def intercept_service(self, continuation: Callable[[grpc.HandlerCallDetails], Any],
                          handler_call_details: grpc.HandlerCallDetails) -> Any:
        method = handler_call_details.method
        handler = self._handlers.get(method)
        if handler is None:
            handler = self._chain(0, continuation, handler_call_details)
            if handler is not None:
                self._handlers[method] = handler
        return handler


def metadata_value(context: grpc.ServicerContext, key: str) -> str | None:
    for name, value in context.invocation_metadata() or ():
        if name == key and isinstance(value, str):
            return value
    return None


def _code(context: grpc.ServicerContext) -> grpc.StatusCode | None:
    """The status code set so far on this RPC (None while nothing was set)."""
    code: grpc.StatusCode | None = context.code()  # type: ignore[attr-defined]  # missing from grpc-stubs
    return code


class RequestContextInterceptor(AroundInterceptor):
    """Gives each RPC a request id (the caller's `x-request-id` if sane), binds it for logs,
    and sends it back with the response headers the servicer asked for.

    A streaming response sends its headers with its first message, not before: an error
    raised before any message (no token on the live feed) is then a trailers-only status,
    which Envoy answers as a normal HTTP error (401) instead of a 200 event stream."""

    def intercept_service(self, continuation: Callable[[grpc.HandlerCallDetails], Any],
                          handler_call_details: grpc.HandlerCallDetails) -> Any:
        def inner(details: grpc.HandlerCallDetails) -> Any:
            handler = continuation(details)
            if handler is None or not (handler.unary_stream or handler.stream_stream):
                return handler
            return _wrap_handler_stream(handler)
        return super().intercept_service(inner, handler_call_details)

    @contextlib.contextmanager
    def around(self, method: str, context: grpc.ServicerContext,
               streaming_response: bool) -> Iterator[None]:
        incoming = metadata_value(context, REQUEST_ID_HEADER)
        request_id = incoming if incoming and _REQUEST_ID_PATTERN.match(incoming) else uuid.uuid4().hex
        state = request_context.RequestContext(request_id=request_id, method=method)
        remaining = context.time_remaining()
        if remaining is not None and remaining < _NO_DEADLINE:
            state.deadline = time.monotonic() + remaining
        # When the RPC ends (answered, cancelled by the caller, deadline passed) any SQL it is
        # still running is cancelled, so abandoned requests stop using the database.
        context.add_callback(lambda: cancel_running_query(state))
        token = request_context.activate(state)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id, rpc=method)
        sent = False

        def send_headers() -> None:
            nonlocal sent
            if not sent:
                sent = True
                context.send_initial_metadata(
                    ((REQUEST_ID_HEADER, request_id), *state.response_headers))

        state.send_headers = send_headers
        try:
            yield
            send_headers()
        except BaseException:
            with contextlib.suppress(Exception):
                if streaming_response and not sent:
                    # No message yet: keep the answer trailers-only, with the id in trailers.
                    context.set_trailing_metadata((
                        *(context.trailing_metadata() or ()),
                        (REQUEST_ID_HEADER, request_id), *state.response_headers))
                else:  # errors travel in trailers; the request id still goes in the headers
                    send_headers()
            raise
        finally:
            structlog.contextvars.clear_contextvars()
            request_context.reset(token)


def _wrap_handler_stream(handler: Any) -> Any:
    """`handler` (server streaming) sending the response headers with its first message."""

    def first_message_sends_headers(behavior: Callable[..., Any]) -> Callable[..., Any]:
        def run(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            for message in behavior(request, context):
                state = request_context.current()
                if state is not None and state.send_headers is not None:
                    state.send_headers()
                yield message
        return run

    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(
            first_message_sends_headers(handler.unary_stream), handler.request_deserializer,
            handler.response_serializer)
    return grpc.stream_stream_rpc_method_handler(
        first_message_sends_headers(handler.stream_stream), handler.request_deserializer,
        handler.response_serializer)


class LoggingInterceptor(AroundInterceptor):
    """Writes one canonical log line per RPC: rpc, code, duration (request id comes from context)."""

    @contextlib.contextmanager
    def around(self, method: str, context: grpc.ServicerContext,
               streaming_response: bool) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            code = _code(context)
            code_name = code.name if isinstance(code, grpc.StatusCode) else "OK"
            duration_ms = round((time.perf_counter() - started) * 1000, 3)
            if not method.startswith(_PROBE_PREFIX):
                TRAFFIC.record(duration_ms, code_name)
            if code_name in ("INTERNAL", "UNKNOWN", "DATA_LOSS"):
                level = "error"
            elif code_name == "OK" and method.startswith(_PROBES):
                # probed every few seconds; not even formatted unless debug is on
                if not _STDLIB_LOG.isEnabledFor(logging.DEBUG):
                    return
                level = "debug"
            else:
                level = "info"
            getattr(log, level)("rpc_finished", code=code_name, duration_ms=duration_ms)


class ErrorInterceptor(AroundInterceptor):
    """Turns domain errors into rich gRPC statuses; anything else becomes a bland INTERNAL."""

    @contextlib.contextmanager
    def around(self, method: str, context: grpc.ServicerContext,
               streaming_response: bool) -> Iterator[None]:
        try:
            yield
        except DomainError as error:
            if isinstance(error, RetryableError):  # REST clients read Retry-After
                request_context.add_response_header("retry-after", str(error.retry_after_seconds))
            context.abort_with_status(to_grpc_status(error))
        except NotImplementedError:
            context.abort_with_status(unimplemented_status(method))
        except grpc.RpcError:  # from reading a client stream
            if context.is_active():
                log.exception("rpc_crashed")
                context.abort_with_status(internal_status())
            # The caller went away mid-stream (Envoy drops the upstream stream when a later
            # message of a REST upload is malformed, and answers 400 itself): not a bug.
            log.info("rpc_cancelled_by_caller")
            context.abort(grpc.StatusCode.CANCELLED, "The caller cancelled the call")
        except Exception as error:
            if _code(context) not in (None, grpc.StatusCode.OK):
                raise  # already aborted with a status on purpose
            translated = database_error(error)
            if isinstance(translated, DeadlineExceeded) and _caller_left_before_deadline(context):
                # The caller went away (Envoy drops the upstream stream of a REST upload whose
                # later message is malformed) and the RPC's query was cancelled with it.
                log.info("rpc_cancelled_by_caller")
                context.abort(grpc.StatusCode.CANCELLED, "The caller cancelled the call")
            if translated is None:
                log.exception("rpc_crashed")
                context.abort_with_status(internal_status())
            else:  # the database is down or the deadline passed: not a bug, say so
                log.warning("rpc_database_error", reason=translated.reason,
                            error=(str(error).splitlines() or [""])[0][:200])
                if isinstance(translated, RetryableError):
                    request_context.add_response_header(
                        "retry-after", str(int(translated.retry_after_seconds)))
                context.abort_with_status(to_grpc_status(translated))


def _caller_left_before_deadline(context: grpc.ServicerContext) -> bool:
    """The RPC ended on the caller's side while time remained: cancelled, not timed out."""
    remaining = context.time_remaining()
    return not context.is_active() and (remaining is None or remaining > 0)


class MetricsInterceptor(AroundInterceptor):
    """Counts and times every RPC: grpc_server_started/handled_total, handling_seconds."""

    def __init__(self) -> None:
        self._kinds: dict[str, str] = {}
        # Each method's labelled series, looked up once (a `labels()` call per RPC builds and
        # hashes the label tuple under the metric's lock).
        self._series: dict[str, tuple[Any, Any, dict[str, Any]]] = {}

    def _series_of(self, method: str) -> tuple[Any, Any, dict[str, Any]]:
        series = self._series.get(method)
        if series is None:
            kind = self._kinds.get(method, "unary")
            service, name = metrics.split_method(method)
            series = (metrics.GRPC_STARTED.labels(kind, service, name),
                      metrics.GRPC_SECONDS.labels(kind, service, name), {})
            self._series[method] = series
        return series

    def intercept_service(self, continuation: Callable[[grpc.HandlerCallDetails], Any],
                          handler_call_details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(handler_call_details)
        if metrics.is_health_check(handler_call_details.method):
            return handler  # Envoy checks each worker every second: not a module's traffic
        if handler is not None:
            self._kinds.setdefault(handler_call_details.method, metrics.rpc_type(handler))
        return super().intercept_service(lambda _: handler, handler_call_details)

    @contextlib.contextmanager
    def around(self, method: str, context: grpc.ServicerContext,
               streaming_response: bool) -> Iterator[None]:
        started_total, seconds, handled = self._series_of(method)
        started_total.inc()
        started = time.perf_counter()
        try:
            yield
        finally:
            code = _code(context)
            code_name = code.name if isinstance(code, grpc.StatusCode) else "OK"
            counter = handled.get(code_name)
            if counter is None:  # at most one per status code (a bounded label)
                kind = self._kinds.get(method, "unary")
                counter = handled[code_name] = metrics.GRPC_HANDLED.labels(
                    kind, *metrics.split_method(method), code_name)
            counter.inc()
            seconds.observe(time.perf_counter() - started)
