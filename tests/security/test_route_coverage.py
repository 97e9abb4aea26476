"""Every RPC in the descriptor set has the hostile-input cases its request shape calls for
(see registry.py); a new route without them fails here."""

from __future__ import annotations

from pathlib import Path

from google.api import annotations_pb2
from google.protobuf import descriptor_pb2

import hotgigs.v1
from tests.security import registry

DESCRIPTOR_SET = Path(hotgigs.v1.__file__).with_name("api_descriptor.pb")
_F = descriptor_pb2.FieldDescriptorProto


def _messages(files: descriptor_pb2.FileDescriptorSet) -> dict[str, descriptor_pb2.DescriptorProto]:
    found: dict[str, descriptor_pb2.DescriptorProto] = {}

    def add(prefix: str, message: descriptor_pb2.DescriptorProto) -> None:
        name = f"{prefix}.{message.name}"
        found[name] = message
        for nested in message.nested_type:
            add(name, nested)

    for file in files.file:
        for message in file.message_type:
            add(f".{file.package}" if file.package else "", message)
    return found


def _shape(name: str, messages: dict[str, descriptor_pb2.DescriptorProto],
           seen: frozenset[str] = frozenset()) -> set[str]:
    """'string', 'repeated_string', 'bytes' where they occur in the message, nested included."""
    shape: set[str] = set()
    if name in seen or name not in messages:
        return shape
    for field in messages[name].field:
        repeated = field.label == _F.LABEL_REPEATED
        if field.type == _F.TYPE_STRING:
            shape.add("repeated_string" if repeated else "string")
        elif field.type == _F.TYPE_BYTES:
            shape.add("bytes")
        elif field.type == _F.TYPE_MESSAGE:
            shape |= _shape(field.type_name, messages, seen | {name})
    return shape


def required_kinds() -> dict[str, set[str]]:
    """For each RPC of the API in the descriptor set: the kinds its shape calls for."""
    files = descriptor_pb2.FileDescriptorSet.FromString(DESCRIPTOR_SET.read_bytes())
    messages = _messages(files)
    required: dict[str, set[str]] = {}
    for file in files.file:
        if not file.package.startswith("hotgigs."):
            continue
        for service in file.service:
            for method in service.method:
                rule = method.options.Extensions[annotations_pb2.http]
                shape = _shape(method.input_type, messages)
                kinds = set()
                if rule.WhichOneof("pattern"):
                    kinds.add(registry.HEADERS)
                if rule.body:
                    kinds.add(registry.BODY)
                if shape & {"string", "repeated_string"}:
                    kinds.add(registry.UTF8)
                if "repeated_string" in shape:
                    kinds.add(registry.LIST)
                if "bytes" in shape:
                    kinds.add(registry.DOCUMENT)
                required[f"/{file.package}.{service.name}/{method.name}"] = kinds
    return required


def test_the_descriptor_set_has_the_whole_api() -> None:
    required = required_kinds()
    assert len(required) >= 77
    assert "/hotgigs.v1.JobService/CreateJob" in required


def test_every_rpc_has_its_hostile_input_cases() -> None:
    missing = {rpc: sorted(kinds - registry.CASES.get(rpc, frozenset()))
               for rpc, kinds in required_kinds().items()
               if not kinds <= registry.CASES.get(rpc, frozenset()) or rpc not in registry.CASES}
    assert not missing, ("RPCs without hostile-input cases; add them to tests/security/registry.py: "
                         f"{missing}")


def test_the_registry_names_only_real_rpcs_and_kinds() -> None:
    required = required_kinds()
    assert not set(registry.CASES) - set(required)
    assert all(kinds <= registry.KINDS for kinds in registry.CASES.values())
    assert registry.covers("/hotgigs.v1.AiService/MatchJobs", registry.LIST)
    assert not registry.covers("/hotgigs.v1.HealthService/GetHealth", registry.UTF8)
