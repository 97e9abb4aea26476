"""Scope enforcement on every RPC: walk the descriptor set (as tests/auth/test_policy.py does)
and call each method over native gRPC with API keys. A key whose scopes cover the method gets
past authentication; one whose scopes do not is refused SCOPE_MISSING; methods whose policy
refuses keys answer API_KEY_NOT_ALLOWED whatever the scopes."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pool
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from hotgigs import manifest
from hotgigs.core.rpc import is_read
from hotgigs.db import Database
from hotgigs.security import policy
from hotgigs.service_accounts import service
from hotgigs.settings import Settings
from tests import factories
from tests.support.api import api_rpcs

REFUSALS = {"SCOPE_MISSING", "API_KEY_NOT_ALLOWED", "ROLE_FORBIDDEN"}


def _key(database: Database, settings: Settings, name: str, scopes: tuple[str, ...]) -> str:
    with database.session_scope() as session:
        owner = factories.make_user(session, "admin")  # passes every role list
        _, issued = service.create(session, actor=None, pepper=settings.api_key_pepper,
                                   account_in=service.AccountIn(name=f"{name}-{owner.id}",
                                                                owner_id=owner.id, scopes=scopes))
        return issued.key


@pytest.fixture(scope="module")
def keys(database: Database, settings: Settings) -> dict[str, str]:
    return {"all": _key(database, settings, "every-scope", tuple(sorted(manifest.SCOPE_NAMES))),
            "health": _key(database, settings, "health-only", ("HealthService.GetHealth",)),
            "jobs": _key(database, settings, "jobs-read", ("jobs.read",))}


def _outcome(channel: grpc.Channel, rpc: str, key: str) -> tuple[grpc.StatusCode, str]:
    """(code, ErrorInfo reason) of calling `rpc` with an empty request and `key`; OK and ""
    when it answers (a server stream: its first message)."""
    service_name, method_name = rpc.strip("/").split("/")
    method = descriptor_pool.Default().FindServiceByName(service_name).methods_by_name[method_name]
    metadata = (("x-api-key", key),)
    identity: Any = lambda raw: raw  # noqa: E731 - raw bytes in, raw bytes out
    try:
        if method.client_streaming:
            call = channel.stream_unary(rpc, request_serializer=identity, response_deserializer=identity)
            call(iter([b""]), metadata=metadata, timeout=10)
        elif method.server_streaming:
            stream = channel.unary_stream(rpc, request_serializer=identity,
                                          response_deserializer=identity)(b"", metadata=metadata,
                                                                          timeout=10)
            next(stream, None)
            stream.cancel()
        else:
            channel.unary_unary(rpc, request_serializer=identity,
                                response_deserializer=identity)(b"", metadata=metadata, timeout=10)
    except grpc.RpcError as error:
        status = rpc_status.from_call(error)  # type: ignore[arg-type]
        found = ""
        for detail in status.details if status else ():
            info = error_details_pb2.ErrorInfo()
            if detail.Unpack(info):
                found = info.reason
        return error.code(), found  # type: ignore[attr-defined]
    return grpc.StatusCode.OK, ""


def test_scopes_name_each_rpc_by_module_and_verb() -> None:
    for rpc in api_rpcs():
        rule = policy.POLICIES[rpc]
        scopes = manifest.KEY_SCOPES.get(rpc)
        if not rule.keys:
            assert scopes is None, rpc
            continue
        service_name, name = rpc.rsplit("/", 2)[1:]
        module = next(m for m in manifest.MODULES if m.full_service == service_name)
        assert scopes == {f"{module.name}.{'read' if is_read(name) else 'write'}",
                          f"{module.service}.{name}"}, rpc
    refused = sorted(rpc for rpc in api_rpcs() if not policy.POLICIES[rpc].keys)
    assert refused == sorted(m for m in api_rpcs()
                             if "/hotgigs.v1.AuthService/" in m or "/hotgigs.v1.ServiceAccountService/" in m
                             or "/hotgigs.v1.PrivacyService/" in m  # no key carries away or erases its owner
                             or m == "/hotgigs.v1.NotificationService/CreateStreamTicket")


@pytest.fixture(scope="module")
def outcomes(grpc_channel: grpc.Channel, keys: dict[str, str]
             ) -> dict[str, dict[str, tuple[grpc.StatusCode, str]]]:
    return {name: {rpc: _outcome(grpc_channel, rpc, key) for rpc in api_rpcs()}
           for name, key in keys.items()}


def test_every_rpc_a_covering_key_may_call_gets_past_authentication(
        outcomes: dict[str, dict[str, tuple[grpc.StatusCode, str]]]) -> None:
    for rpc, (code, reason) in outcomes["all"].items():
        if policy.POLICIES[rpc].keys:
            assert code != grpc.StatusCode.UNAUTHENTICATED and reason not in REFUSALS, (rpc, code, reason)
        else:
            assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "API_KEY_NOT_ALLOWED"), rpc


def test_every_rpc_refuses_a_key_whose_scopes_do_not_cover_it(
        outcomes: dict[str, dict[str, tuple[grpc.StatusCode, str]]]) -> None:
    for rpc, (code, reason) in outcomes["health"].items():
        if not policy.POLICIES[rpc].keys:
            expected = "API_KEY_NOT_ALLOWED"
        elif rpc == "/hotgigs.v1.HealthService/GetHealth":
            continue
        else:
            expected = "SCOPE_MISSING"
        assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, expected), rpc
    assert outcomes["health"]["/hotgigs.v1.HealthService/GetHealth"][0] == grpc.StatusCode.OK
    assert outcomes["jobs"]["/hotgigs.v1.HealthService/GetHealth"] == (
        grpc.StatusCode.PERMISSION_DENIED, "SCOPE_MISSING")


def test_a_read_scope_covers_the_module_reads_only(
        outcomes: dict[str, dict[str, tuple[grpc.StatusCode, str]]]) -> None:
    for rpc, (code, reason) in outcomes["jobs"].items():
        in_scope = rpc.startswith("/hotgigs.v1.JobService/") and is_read(rpc.rsplit("/", 1)[1])
        if in_scope:
            assert reason not in REFUSALS and code != grpc.StatusCode.UNAUTHENTICATED, rpc
        else:
            assert code == grpc.StatusCode.PERMISSION_DENIED, rpc


def test_infrastructure_services_take_any_valid_key(grpc_channel: grpc.Channel,
                                                    keys: dict[str, str]) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    stub = health_pb2_grpc.HealthStub(grpc_channel)
    answer = stub.Check(health_pb2.HealthCheckRequest(), metadata=(("x-api-key", keys["jobs"]),),
                        timeout=5)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING
    with pytest.raises(grpc.RpcError) as refused:
        stub.Check(health_pb2.HealthCheckRequest(), metadata=(("x-api-key", "garbage"),), timeout=5)
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
