"""The API surface as Envoy sees it: every RPC of the descriptor set and its HTTP bindings."""

from __future__ import annotations

import re

from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor_pb2

from hotgigs import runtime
from hotgigs.grpc_server import registry

HTTP_METHODS = ("get", "put", "post", "delete", "patch")


def descriptor_set() -> descriptor_pb2.FileDescriptorSet:
    files = descriptor_pb2.FileDescriptorSet()
    files.ParseFromString(runtime.descriptor_path().read_bytes())
    return files


def bindings(rule: http_pb2.HttpRule) -> list[tuple[str, str]]:
    found = []
    for candidate in (rule, *rule.additional_bindings):
        pattern = candidate.WhichOneof("pattern")
        if pattern in HTTP_METHODS:
            found.append((pattern.upper(), getattr(candidate, pattern)))
    return found


def api_rpcs() -> dict[str, list[tuple[str, str]]]:
    """`/package.Service/Method` -> its HTTP bindings, read from the descriptor set Envoy uses."""
    rpcs: dict[str, list[tuple[str, str]]] = {}
    for file in descriptor_set().file:
        if file.package != registry.API_PACKAGE:
            continue
        for service in file.service:
            for method in service.method:
                rule = method.options.Extensions[annotations_pb2.http]
                rpcs[f"/{file.package}.{service.name}/{method.name}"] = bindings(rule)
    return rpcs


def normalise(path: str) -> str:
    """Compare templates without caring how path variables are named."""
    return re.sub(r"\{[^}]+\}", "{}", path)
