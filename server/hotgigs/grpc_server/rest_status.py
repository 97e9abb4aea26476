"""The REST status of a successful answer, declared once per RPC in the module's `policy.py`
(collected by `hotgigs.manifest.REST_STATUSES`), instead of set by hand in each servicer.

Innermost in the interceptor chain, so the idempotency layer outside it remembers the status
with the answer and a replay answers 201 again. Envoy reads it from `x-http-status`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import grpc

from hotgigs import context as request_context


class RestStatusInterceptor(grpc.ServerInterceptor):  # type: ignore[type-arg]  # not generic at runtime
    """Adds the declared status to successful unary answers of the RPCs in `statuses`."""

    def __init__(self, statuses: Mapping[str, int]) -> None:
        self.statuses = dict(statuses)

    def intercept_service(self, continuation: Callable[[grpc.HandlerCallDetails], Any],
                          handler_call_details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(handler_call_details)
        status = self.statuses.get(handler_call_details.method)
        if handler is None or status is None or handler.unary_unary is None:
            return handler
        behavior = handler.unary_unary

        def run(request: Any, context: grpc.ServicerContext) -> Any:
            response = behavior(request, context)
            request_context.set_http_status(status)
            return response

        return grpc.unary_unary_rpc_method_handler(run, handler.request_deserializer,
                                                   handler.response_serializer)
