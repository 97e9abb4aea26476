"""Request decoding that cannot crash a call: a message that is not valid protobuf (a string
field with invalid UTF-8, as Envoy transcodes `?search=%ff`), or larger than its method
allows, becomes INVALID_ARGUMENT (REST 400) with reason UNDECODABLE_REQUEST or
REQUEST_TOO_LARGE, answered through the normal interceptors (request id, log line, metrics).

gRPC Python calls the deserializer before any interceptor runs and answers a failure with a
bare INTERNAL "Exception deserializing request!" and a traceback; so the deserializer here
never raises: it returns an `Undecodable` marker that the wrapped behaviour turns into the
error once the request context exists.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from hotgigs.errors import InvalidArgument

# Native gRPC callers are held to what Envoy allows REST callers (1 MiB bodies), except on the
# document uploads (16 MB files and their fields).
MAX_MESSAGE_BYTES = 1024 * 1024 + 64 * 1024
MAX_UPLOAD_MESSAGE_BYTES = 20 * 1024 * 1024  # also the server's grpc.max_receive_message_length
UPLOAD_METHODS = frozenset({
    "/hotgigs.v1.DocumentService/UploadDocument", "/hotgigs.v1.DocumentService/UploadDocumentRaw",
    "/hotgigs.v1.DocumentService/UploadDocumentStream",
})


@dataclasses.dataclass(frozen=True)
class Undecodable:
    """Stands in for a request message that could not be decoded."""

    error: InvalidArgument


def _undecodable() -> Undecodable:
    return Undecodable(InvalidArgument(
        "The request could not be decoded: a text field is not valid UTF-8 or the message "
        "is malformed", reason="UNDECODABLE_REQUEST"))


def safe_deserializer(original: Callable[[bytes], Any] | None,
                      max_bytes: int) -> Callable[[bytes], Any]:
    def deserialize(data: bytes) -> Any:
        if len(data) > max_bytes:
            return Undecodable(InvalidArgument(
                f"The request is larger than {max_bytes} bytes", reason="REQUEST_TOO_LARGE"))
        if original is None:
            return data
        try:
            return original(data)
        except Exception:  # DecodeError, or anything else a parser of hostile bytes raises
            return _undecodable()
    return deserialize


def _checked(request: Any) -> Any:
    if isinstance(request, Undecodable):
        raise request.error
    return request


def _checked_stream(requests: Iterator[Any]) -> Iterator[Any]:
    for request in requests:
        yield _checked(request)


class DecodingInterceptor(grpc.ServerInterceptor):  # type: ignore[type-arg]  # not generic at runtime
    """Installs `safe_deserializer` on every method; place it inside the error interceptor."""

    def intercept_service(self, continuation: Callable[[grpc.HandlerCallDetails], Any],
                          handler_call_details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        max_bytes = MAX_UPLOAD_MESSAGE_BYTES if method in UPLOAD_METHODS else MAX_MESSAGE_BYTES
        deserialize = safe_deserializer(handler.request_deserializer, max_bytes)
        serialize = handler.response_serializer
        if handler.unary_unary:
            unary = handler.unary_unary
            return grpc.unary_unary_rpc_method_handler(
                lambda request, context: unary(_checked(request), context), deserialize, serialize)
        if handler.unary_stream:
            server_stream = handler.unary_stream
            return grpc.unary_stream_rpc_method_handler(
                lambda request, context: server_stream(_checked(request), context),
                deserialize, serialize)
        if handler.stream_unary:
            client_stream = handler.stream_unary
            return grpc.stream_unary_rpc_method_handler(
                lambda requests, context: client_stream(_checked_stream(requests), context),
                deserialize, serialize)
        bidi = handler.stream_stream
        return grpc.stream_stream_rpc_method_handler(
            lambda requests, context: bidi(_checked_stream(requests), context),
            deserialize, serialize)
