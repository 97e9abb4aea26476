"""Hostile input against every RPC the registry lists (issue 12): each case must be answered
with a clear 4xx, through Envoy (REST) and over direct gRPC. Which RPC gets which case comes
from tests/security/registry.py; test_route_coverage.py keeps the registry complete."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import grpc
import httpx
import pytest
import sqlalchemy as sa
from google.api import annotations_pb2
from google.protobuf import descriptor, descriptor_pool, message_factory

from hotgigs.db import Database
from hotgigs.grpc_server import registry as api_registry
from hotgigs.models import User
from hotgigs.security import policy
from http_bridge.envoy_config import MAX_REQUEST_BYTES, MAX_UPLOAD_REQUEST_BYTES
from tests.security import registry
from tests.support.files import DOCX, element_bomb
from tests.support.rest import STRONG_PASSWORD, register
from tests.support.servers import RunningEnvoy

api_registry.api_services()  # loads every generated module into the default pool
_F = descriptor.FieldDescriptor
BAD = b"\xff\xfe"
UPLOADS = {"/hotgigs.v1.DocumentService/UploadDocument",
           "/hotgigs.v1.DocumentService/UploadDocumentRaw",
           "/hotgigs.v1.DocumentService/UploadDocumentStream"}


def method_of(rpc: str) -> descriptor.MethodDescriptor:
    service, name = rpc.strip("/").split("/")
    found: descriptor.MethodDescriptor = (
        descriptor_pool.Default().FindServiceByName(service).FindMethodByName(name))
    return found


def http_rule(rpc: str) -> tuple[str, str, str]:
    rule = method_of(rpc).GetOptions().Extensions[annotations_pb2.http]
    verb = rule.WhichOneof("pattern")
    return verb.upper(), getattr(rule, verb), rule.body


def fill_path(template: str, value: str = "1") -> str:
    return re.sub(r"\{[a-z_]+\}", value, template)


def string_field_path(message: descriptor.Descriptor, *, repeated: bool,
                      depth: int = 0) -> list[descriptor.FieldDescriptor] | None:
    """The first (repeated, if asked) string field of `message`, nested ones included."""
    for field in message.fields:
        if field.type == _F.TYPE_STRING and field.is_repeated == repeated:
            return [field]
    for field in message.fields:
        if field.type == _F.TYPE_MESSAGE and not field.is_repeated and depth < 3:
            inner = string_field_path(field.message_type, repeated=repeated, depth=depth + 1)
            if inner:
                return [field, *inner]
    return None


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def raw_with_bad_string(path: list[descriptor.FieldDescriptor]) -> bytes:
    """Wire bytes of a message whose string field at `path` holds invalid UTF-8."""
    payload = BAD
    for field in reversed(path):
        payload = _varint(field.number << 3 | 2) + _varint(len(payload)) + payload
    return payload


def any_string_path(rpc: str) -> list[descriptor.FieldDescriptor]:
    message = method_of(rpc).input_type
    path = (string_field_path(message, repeated=False)
            or string_field_path(message, repeated=True))
    assert path, f"{rpc} is registered for {registry.UTF8} but has no string field"
    return path


@pytest.fixture(scope="module")
def client(envoy: RunningEnvoy) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=envoy.base_url, timeout=60) as http:
        yield http


@pytest.fixture(scope="module")
def admin(client: httpx.Client, database: Database) -> dict[str, Any]:
    """An admin (passes every role check), so the cases reach the validation behind it."""
    account = register(client, "company")
    with database.session_scope() as session:
        session.execute(sa.update(User).where(User.id == account["user"]["id"])
                        .values(user_type="admin"))
    answer = client.post("/api/auth/login", json={"email": account["user"]["email"],
                                                  "password": STRONG_PASSWORD})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


@pytest.fixture(scope="module")
def tokens(client: httpx.Client, admin: dict[str, Any]) -> dict[str, str]:
    return {"admin": admin["access_token"],
            "candidate": register(client, "candidate")["access_token"]}


def auth_for(rpc: str, tokens: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """A token the policy lets through: a candidate's where candidates may call, else an
    admin's (admins pass every role check, but some RPCs are for candidates only)."""
    rule = policy.policy_for(rpc)
    assert rule is not None, rpc
    role = "candidate" if rule.roles is None or policy.CANDIDATE in rule.roles else "admin"
    return (("authorization", f"Bearer {tokens[role]}"),)


def assert_json_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/json")
    assert "retry-after" not in response.headers
    body: dict[str, Any] = response.json()
    assert isinstance(body["code"], int) and body["message"]
    return body


# -- oversized headers (every route, through Envoy) -------------------------------------------
@pytest.mark.parametrize("rpc", registry.rpcs_with(registry.HEADERS))
def test_oversized_headers_are_431(client: httpx.Client, rpc: str) -> None:
    verb, path, _ = http_rule(rpc)
    response = client.request(verb, fill_path(path), headers={"cookie": "s=" + "a" * 20_000})
    body = assert_json_error(response, 431)
    assert body == {"code": 3, "message": "Request header or cookie too large"}


# -- oversized bodies (every route with a body, through Envoy) --------------------------------
@pytest.mark.parametrize("rpc", registry.rpcs_with(registry.BODY))
def test_oversized_bodies_are_413(client: httpx.Client, rpc: str) -> None:
    verb, path, _ = http_rule(rpc)
    limit = MAX_UPLOAD_REQUEST_BYTES if rpc in UPLOADS else MAX_REQUEST_BYTES
    content = b'{"x": "' + b"a" * limit + b'"}'
    response = client.request(verb, fill_path(path), content=content,
                              headers={"content-type": "application/json"})
    assert_json_error(response, 413)


# -- invalid UTF-8 (every RPC with a string field: gRPC and REST) -----------------------------
@pytest.mark.parametrize("rpc", registry.rpcs_with(registry.UTF8))
def test_invalid_utf8_over_grpc(grpc_channel: grpc.Channel, tokens: dict[str, str],
                                rpc: str) -> None:
    method = method_of(rpc)
    metadata = auth_for(rpc, tokens)  # a client stream is authenticated before it is read
    raw = raw_with_bad_string(any_string_path(rpc))
    if method.client_streaming:
        stream = grpc_channel.stream_unary(rpc, request_serializer=lambda b: b,
                                           response_deserializer=lambda b: b)
        call: Any = lambda: stream(iter([raw]), metadata=metadata, timeout=30)  # noqa: E731
    else:
        unary = grpc_channel.unary_unary(rpc, request_serializer=lambda b: b,
                                         response_deserializer=lambda b: b)
        call = lambda: unary(raw, metadata=metadata, timeout=30)  # noqa: E731
    with pytest.raises(grpc.RpcError) as caught:
        call()
    error: Any = caught.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (error.code(), error.details())
    assert "could not be decoded" in error.details()


def rest_request_with_bad_string(rpc: str) -> tuple[str, str, dict[str, Any]]:
    """Method, URL and httpx options that put invalid UTF-8 into a string of `rpc`'s request."""
    verb, template, body = http_rule(rpc)
    message = method_of(rpc).input_type
    variables = re.findall(r"\{([a-z_]+)\}", template)
    for name in variables:
        if message.fields_by_name[name].type == _F.TYPE_STRING:
            return verb, fill_path(template.replace("{" + name + "}", "%ff%fe")), {}
    path = fill_path(template)
    strings = [f for f in message.fields if f.type == _F.TYPE_STRING and f.name not in variables]
    if body == "*" and strings:
        return verb, path, {"content": b'{"' + strings[0].name.encode() + b'": "' + BAD + b'"}',
                            "headers": {"content-type": "application/json"}}
    if body == "*":  # only nested strings: the transcoder parses the body as JSON all the same
        return verb, path, {"content": b'{"x": "' + BAD + b'"}',
                            "headers": {"content-type": "application/json"}}
    if strings:
        return verb, f"{path}?{strings[0].name}=%ff%fe", {}
    nested = string_field_path(message, repeated=False) or string_field_path(message, repeated=True)
    assert nested
    return verb, f"{path}?{'.'.join(f.name for f in nested)}=%ff%fe", {}


@pytest.mark.parametrize("rpc", registry.rpcs_with(registry.UTF8))
def test_invalid_utf8_over_rest(client: httpx.Client, rpc: str) -> None:
    verb, url, options = rest_request_with_bad_string(rpc)
    response = client.request(verb, url, **options)
    assert_json_error(response, 400)
    assert response.headers.get("x-request-id")


# -- quadratic lists (every RPC with a repeated string) ---------------------------------------
@pytest.mark.parametrize("rpc", registry.rpcs_with(registry.LIST))
def test_twenty_thousand_item_lists_are_refused(grpc_channel: grpc.Channel,
                                                tokens: dict[str, str], rpc: str) -> None:
    method = method_of(rpc)
    request = message_factory.GetMessageClass(method.input_type)()
    path = string_field_path(method.input_type, repeated=True)
    assert path, rpc
    target = request
    for field in path[:-1]:
        target = getattr(target, field.name)
    getattr(target, path[-1].name).extend(f"s{i}" for i in range(20_000))
    response_class = message_factory.GetMessageClass(method.output_type)
    call = grpc_channel.unary_unary(rpc, request_serializer=lambda m: m.SerializeToString(),
                                    response_deserializer=response_class.FromString)
    with pytest.raises(grpc.RpcError) as caught:
        call(request, metadata=auth_for(rpc, tokens), timeout=30)
    error: Any = caught.value
    # Refused by the list's limit, or (ids left at 0) before the list is looked at.
    assert error.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND), \
        (error.code(), error.details())


# -- XML bombs (every RPC that takes a document) -----------------------------------------------
def _bomb_grpc(channel: grpc.Channel, rpc: str, token: str) -> Any:
    from hotgigs.v1 import documents_pb2, documents_pb2_grpc

    stub = documents_pb2_grpc.DocumentServiceStub(channel)
    metadata = (("authorization", f"Bearer {token}"),)
    bomb = element_bomb()
    meta = documents_pb2.UploadDocumentRequest(filename="cv.docx", content_type=DOCX)
    if rpc.endswith("/UploadDocumentStream"):
        parts = [documents_pb2.UploadDocumentStreamRequest(metadata=meta)] + [
            documents_pb2.UploadDocumentStreamRequest(chunk=bomb[i:i + 8192])
            for i in range(0, len(bomb), 8192)]
        call: Any = lambda: stub.UploadDocumentStream(iter(parts), metadata=metadata,  # noqa: E731
                                                      timeout=30)
    else:
        meta.content = bomb
        call = lambda: stub.UploadDocument(meta, metadata=metadata, timeout=30)  # noqa: E731
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


@pytest.mark.parametrize("rpc", registry.rpcs_with(registry.DOCUMENT))
def test_xml_bombs_are_refused(client: httpx.Client, grpc_channel: grpc.Channel,
                               rpc: str) -> None:
    owner = register(client, "candidate")
    if rpc.endswith("/UploadDocumentRaw"):
        response = client.post("/api/documents/upload",
                               params={"filename": "cv.docx", "document_type": "resume"},
                               headers={"authorization": f"Bearer {owner['access_token']}",
                                        "content-type": DOCX}, content=element_bomb())
        assert_json_error(response, 400)
        assert "DOCUMENT_TOO_COMPLEX" in response.text
        return
    error = _bomb_grpc(grpc_channel, rpc, owner["access_token"])
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "too complex" in error.details()
