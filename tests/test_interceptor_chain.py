"""The interceptor chain is built once per served method, and still sees every call."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest

from hotgigs.grpc_server.interceptors import BuiltOnce, metadata_value

ECHO = "/hotgigs.test.Chain/Echo"


class Recording(grpc.ServerInterceptor):  # type: ignore[type-arg]
    """Counts the times gRPC asks it for a handler; tags each answer with the call's metadata."""

    def __init__(self) -> None:
        self.built: list[str] = []

    def intercept_service(self, continuation: Callable[[Any], Any], details: Any) -> Any:
        self.built.append(details.method)
        handler = continuation(details)
        if handler is None:
            return None
        behavior = handler.unary_unary

        def run(request: bytes, context: grpc.ServicerContext) -> bytes:
            tag = metadata_value(context, "x-tag") or ""
            return bytes(behavior(request, context)) + b"|" + tag.encode()

        return grpc.unary_unary_rpc_method_handler(run)


@pytest.fixture
def served() -> Iterator[tuple[grpc.Channel, Recording, BuiltOnce]]:
    recording = Recording()
    chain = BuiltOnce([recording])
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), interceptors=[chain])
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(
        "hotgigs.test.Chain", {"Echo": grpc.unary_unary_rpc_method_handler(
            lambda request, context: request)})])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield channel, recording, chain
    server.stop(None)


def test_a_method_is_wrapped_once_and_every_call_runs_the_wrappers(
        served: tuple[grpc.Channel, Recording, BuiltOnce]) -> None:
    channel, recording, _ = served
    echo = channel.unary_unary(ECHO)
    answers = [echo(f"call {n}".encode(), metadata=(("x-tag", f"t{n}"),), timeout=10)
               for n in range(3)]
    assert answers == [b"call 0|t0", b"call 1|t1", b"call 2|t2"]
    assert recording.built == [ECHO]


def test_unknown_methods_are_not_kept(served: tuple[grpc.Channel, Recording, BuiltOnce]) -> None:
    channel, recording, chain = served
    for n in range(3):
        with pytest.raises(grpc.RpcError) as failure:
            channel.unary_unary(f"/hotgigs.test.Chain/Nope{n}")(b"", timeout=10)
        assert failure.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert len(recording.built) == 3
    assert chain._handlers == {}
