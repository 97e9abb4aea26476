"""Generate the REST API's OpenAPI 3 document from the protos (run by `make protos`).

Read from the descriptor set Envoy transcodes with, so the document describes exactly what
Envoy serves: every RPC's `google.api.http` binding becomes an operation, with its path
parameters, query parameters (the fields bound neither to the path nor to the body), request
body and response, in the proto3 JSON mapping as Envoy prints it:

- field names as declared (snake_case: Envoy runs with `preserve_proto_field_names`);
- scalars without presence, lists and maps are always present in answers
  (`always_print_primitive_fields`), so they are `required` in response schemas; `optional`
  scalars, message fields and oneof members may be absent;
- int64 family as strings, enums as their names, Timestamp as an RFC 3339 `date-time` string,
  Duration as "1.5s", wrappers nullable, `google.api.HttpBody` as the raw body;
- errors as `{"code", "message", "details"}` (Envoy's `convert_grpc_status` and its local
  replies), with the HTTP status of the gRPC code;
- Bearer JWT security from the policy table (`hotgigs.security.policy`): public RPCs accept a
  token but need none.

The REST status of a successful call is 200, or the one the RPC's comment names, as in
"(REST: 201 Created)" (the servicer sets it; a test checks both agree).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor_pb2

from hotgigs import __version__
from hotgigs.security import policy as policies
from http_bridge import envoy_config

OPENAPI_NAME = envoy_config.OPENAPI_NAME
OPENAPI_VERSION = "3.0.3"
API_PACKAGE = "hotgigs.v1"
HTTP_METHODS = ("get", "put", "post", "delete", "patch")
# "(REST: 201 Created)" in an RPC's comment: the status of its success over REST (the
# servicer sets it through x-http-status); "REST: 503 ..., same body": another status
# answered with the response message (health when unhealthy).
REST_STATUS = re.compile(r"REST: ([1-5][0-9][0-9])\b")
BEARER_SCHEME = "bearerAuth"
ERROR_SCHEMA = "Error"
ERROR_RESPONSES = {
    "400": "Invalid argument or failed precondition (gRPC 3, 9); `details` carries a "
           "google.rpc.BadRequest with field violations",
    "401": "Missing, invalid, expired or revoked token (gRPC 16)",
    "403": "The caller's role or relation to the resource does not allow this (gRPC 7)",
    "404": "No such resource or route (gRPC 5)",
    "409": "Already exists (gRPC 6), or a concurrent repeat of the same Idempotency-Key",
    "413": "Request body over the route's limit (1 MiB; 16 MB files on the document uploads)",
    "422": "An Idempotency-Key re-used with a different request (IDEMPOTENCY_KEY_REUSED)",
    "429": "Rate limited or overloaded (gRPC 8); see the Retry-After header",
    "431": "Request header or cookie too large",
    "503": "A dependency is down or the service is draining (gRPC 14); see Retry-After",
}

_T = descriptor_pb2.FieldDescriptorProto
_INT32 = {_T.TYPE_INT32, _T.TYPE_SINT32, _T.TYPE_SFIXED32}
_UINT32 = {_T.TYPE_UINT32, _T.TYPE_FIXED32}
_INT64 = {_T.TYPE_INT64, _T.TYPE_SINT64, _T.TYPE_SFIXED64}
_UINT64 = {_T.TYPE_UINT64, _T.TYPE_FIXED64}
_FLOAT = {_T.TYPE_DOUBLE: "double", _T.TYPE_FLOAT: "float"}
_WRAPPERS: dict[str, dict[str, Any]] = {
    "google.protobuf.DoubleValue": {"type": "number", "format": "double"},
    "google.protobuf.FloatValue": {"type": "number", "format": "float"},
    "google.protobuf.Int64Value": {"type": "string", "format": "int64"},
    "google.protobuf.UInt64Value": {"type": "string", "format": "uint64"},
    "google.protobuf.Int32Value": {"type": "integer", "format": "int32"},
    "google.protobuf.UInt32Value": {"type": "integer", "format": "int32", "minimum": 0},
    "google.protobuf.BoolValue": {"type": "boolean"},
    "google.protobuf.StringValue": {"type": "string"},
    "google.protobuf.BytesValue": {"type": "string", "format": "byte"},
}
_WELL_KNOWN: dict[str, dict[str, Any]] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]{1,9})?s$"},
    "google.protobuf.FieldMask": {"type": "string"},
    "google.protobuf.Empty": {"type": "object", "additionalProperties": False},
    "google.protobuf.Struct": {"type": "object", "additionalProperties": True},
    "google.protobuf.Value": {"nullable": True},
    "google.protobuf.ListValue": {"type": "array", "items": {}},
    "google.protobuf.Any": {"type": "object", "required": ["@type"],
                            "properties": {"@type": {"type": "string"}},
                            "additionalProperties": True},
}
HTTP_BODY = "google.api.HttpBody"
# Output direction (what Envoy prints) and input direction (what Envoy parses).
OUT, IN = "out", "in"


@dataclasses.dataclass(frozen=True)
class Message:
    full_name: str
    proto: descriptor_pb2.DescriptorProto
    comments: Mapping[tuple[int, ...], str]  # relative source path -> leading comment


@dataclasses.dataclass(frozen=True)
class Binding:
    """One HTTP binding of one RPC."""

    service: str
    method: descriptor_pb2.MethodDescriptorProto
    verb: str
    path: str
    body: str
    comment: str


def load_descriptor_set(path: Path) -> descriptor_pb2.FileDescriptorSet:
    files = descriptor_pb2.FileDescriptorSet()
    files.ParseFromString(path.read_bytes())
    return files


def _clean_comment(text: str) -> str:
    return "\n".join(line.strip() for line in text.strip().splitlines()).strip()


def _comments(file: descriptor_pb2.FileDescriptorProto) -> dict[tuple[int, ...], str]:
    return {tuple(location.path): _clean_comment(location.leading_comments)
            for location in file.source_code_info.location if location.leading_comments}


class _Index:
    """Every message of the descriptor set by full name, with its comments."""

    def __init__(self, files: descriptor_pb2.FileDescriptorSet) -> None:
        self.messages: dict[str, Message] = {}
        self.enums: dict[str, descriptor_pb2.EnumDescriptorProto] = {}
        for file in files.file:
            comments = _comments(file)
            for index, message in enumerate(file.message_type):
                self._add(f"{file.package}.{message.name}", message, (4, index), comments)
            for enum in file.enum_type:
                self.enums[f"{file.package}.{enum.name}"] = enum

    def _add(self, name: str, message: descriptor_pb2.DescriptorProto, path: tuple[int, ...],
             comments: Mapping[tuple[int, ...], str]) -> None:
        own = {key[len(path):]: text for key, text in comments.items() if key[:len(path)] == path}
        self.messages[name] = Message(name, message, own)
        for index, nested in enumerate(message.nested_type):
            self._add(f"{name}.{nested.name}", nested, (*path, 3, index), comments)
        for enum in message.enum_type:
            self.enums[f"{name}.{enum.name}"] = enum

    def message(self, type_name: str) -> Message:
        return self.messages[type_name.lstrip(".")]


def _bindings(file: descriptor_pb2.FileDescriptorProto) -> Iterator[Binding]:
    comments = _comments(file)
    for service_index, service in enumerate(file.service):
        for method_index, method in enumerate(service.method):
            rule = method.options.Extensions[annotations_pb2.http]
            comment = comments.get((6, service_index, 2, method_index), "")
            for candidate in (rule, *rule.additional_bindings):
                verb = candidate.WhichOneof("pattern")
                if verb in HTTP_METHODS:
                    yield Binding(f"{file.package}.{service.name}", method, verb,
                                  getattr(candidate, verb), candidate.body, comment)
                elif verb == "custom":
                    custom: http_pb2.CustomHttpPattern = candidate.custom
                    yield Binding(f"{file.package}.{service.name}", method, custom.kind.lower(),
                                  custom.path, candidate.body, comment)


def _summary(comment: str) -> str:
    """The first sentence of a comment, on one line."""
    return re.split(r"\.(?:\s|$)", " ".join(comment.split()), maxsplit=1)[0]


_VARIABLE = re.compile(r"\{([^}=]+)(=[^}]*)?\}")


def path_variables(template: str) -> list[str]:
    """Field paths bound by a URL template, e.g. ["id"] for /api/jobs/{id}."""
    return [match.group(1) for match in _VARIABLE.finditer(template)]


def openapi_path(template: str) -> str:
    """The OpenAPI form of a google.api.http template: {id=*} -> {id}."""
    return _VARIABLE.sub(lambda match: "{" + match.group(1) + "}", template)


class Generator:
    """Builds the document; schemas are collected in components as they are referenced."""

    def __init__(self, files: descriptor_pb2.FileDescriptorSet,
                 policy_table: Mapping[str, policies.Policy] | None = None,
                 raw_body_types: Sequence[str] | None = None) -> None:
        self.files = files
        # Content types of raw (google.api.HttpBody) request bodies: the document formats.
        self.raw_body_types = list(files_formats() if raw_body_types is None else raw_body_types)
        self.index = _Index(files)
        self.policies = policies.POLICIES if policy_table is None else policy_table
        self.schemas: dict[str, dict[str, Any]] = {}
        self._outputs: set[str] = set()
        self._names: dict[tuple[str, str], str] = {}

    # -- schemas -----------------------------------------------------------------------------

    def _schema_name(self, full_name: str, direction: str) -> str:
        key = (full_name, direction)
        if key not in self._names:
            short = full_name.removeprefix(f"{API_PACKAGE}.")
            # A message seen in answers AND requests gets two schemas: answers list what
            # Envoy always prints as required, requests require nothing (proto3 defaults).
            self._names[key] = short if direction == OUT else (
                f"{short}Input" if full_name in self._outputs else short)
        return self._names[key]

    def _collect_outputs(self, full_name: str) -> None:
        if full_name in self._outputs or full_name in _WELL_KNOWN or full_name in _WRAPPERS:
            return
        self._outputs.add(full_name)
        for field in self.index.message(full_name).proto.field:
            if field.type == _T.TYPE_MESSAGE:
                self._collect_outputs(field.type_name.lstrip("."))

    def message_ref(self, full_name: str, direction: str) -> dict[str, Any]:
        if full_name in _WELL_KNOWN:
            return dict(_WELL_KNOWN[full_name])
        if full_name in _WRAPPERS:
            return {**_WRAPPERS[full_name], "nullable": True}
        if full_name == HTTP_BODY:
            return {"type": "string", "format": "binary"}
        name = self._schema_name(full_name, direction)
        if name not in self.schemas:
            self.schemas[name] = {}  # placeholder against recursion
            self.schemas[name] = self.message_schema(full_name, direction)
        return {"$ref": f"#/components/schemas/{name}"}

    def message_schema(self, full_name: str, direction: str,
                       exclude: Sequence[str] = ()) -> dict[str, Any]:
        message = self.index.message(full_name)
        properties: dict[str, Any] = {}
        required: list[str] = []
        for number, field in enumerate(message.proto.field):
            if field.name in exclude:
                continue
            property_schema = self.field_schema(field, direction)
            comment = message.comments.get((2, number), "")
            if comment and "$ref" not in property_schema:
                property_schema["description"] = comment
            properties[field.name] = property_schema
            in_real_oneof = field.HasField("oneof_index") and not field.proto3_optional
            has_presence = (field.proto3_optional or in_real_oneof
                            or (field.type == _T.TYPE_MESSAGE
                                and field.label != _T.LABEL_REPEATED))
            if direction == OUT and not has_presence:
                required.append(field.name)
        schema: dict[str, Any] = {"type": "object", "properties": properties,
                                  "additionalProperties": False}
        if required:
            schema["required"] = required
        if message.comments.get(()):
            schema["description"] = message.comments[()]
        return schema

    def _scalar_schema(self, field: descriptor_pb2.FieldDescriptorProto,
                       direction: str) -> dict[str, Any]:
        kind = field.type
        if kind in _INT32:
            return {"type": "integer", "format": "int32", "minimum": -(2**31), "maximum": 2**31 - 1}
        if kind in _UINT32:
            return {"type": "integer", "format": "int32", "minimum": 0, "maximum": 2**32 - 1}
        if kind in _INT64:
            return {"type": "string", "format": "int64", "pattern": r"^-?[0-9]+$"}
        if kind in _UINT64:
            return {"type": "string", "format": "uint64", "pattern": r"^[0-9]+$"}
        if kind in _FLOAT:
            return {"type": "number", "format": _FLOAT[kind]}
        if kind == _T.TYPE_BOOL:
            return {"type": "boolean"}
        if kind == _T.TYPE_STRING:
            return {"type": "string"}
        if kind == _T.TYPE_BYTES:
            return {"type": "string", "format": "byte"}
        if kind == _T.TYPE_ENUM:
            enum = self.index.enums[field.type_name.lstrip(".")]
            return {"type": "string", "enum": [value.name for value in enum.value]}
        if kind == _T.TYPE_MESSAGE:
            return self.message_ref(field.type_name.lstrip("."), direction)
        raise ValueError(f"unsupported field type {kind} of {field.name}")

    def field_schema(self, field: descriptor_pb2.FieldDescriptorProto, direction: str) -> dict[str, Any]:
        if field.type == _T.TYPE_MESSAGE:
            entry = self.index.message(field.type_name).proto
            if entry.options.map_entry:
                value = self._scalar_schema(entry.field[1], direction)
                return {"type": "object", "additionalProperties": value}
        schema = self._scalar_schema(field, direction)
        if field.label == _T.LABEL_REPEATED:
            return {"type": "array", "items": schema}
        return schema

    # -- operations --------------------------------------------------------------------------

    def _query_parameters(self, full_name: str, prefix: str, bound: set[str],
                          depth: int = 0) -> list[dict[str, Any]]:
        """Fields that the transcoder reads from the query string: scalars, repeated scalars
        and (dotted) fields of nested messages."""
        found: list[dict[str, Any]] = []
        message = self.index.message(full_name)
        for number, field in enumerate(message.proto.field):
            name = f"{prefix}{field.name}"
            if name in bound:
                continue
            nested = field.type_name.lstrip(".")
            if (field.type == _T.TYPE_MESSAGE and nested not in _WELL_KNOWN
                    and nested not in _WRAPPERS):
                entry = self.index.message(nested).proto
                if field.label != _T.LABEL_REPEATED and not entry.options.map_entry and depth < 3:
                    found.extend(self._query_parameters(nested, f"{name}.", bound, depth + 1))
                continue
            schema = self.field_schema(field, IN)
            parameter: dict[str, Any] = {"name": name, "in": "query", "required": False,
                                         "schema": schema}
            if schema.get("type") == "array":
                parameter.update(style="form", explode=True)
            comment = message.comments.get((2, number), "")
            if comment:
                parameter["description"] = comment
            found.append(parameter)
        return found

    def _path_parameters(self, full_name: str, names: Sequence[str]) -> list[dict[str, Any]]:
        found = []
        for name in names:
            message = self.index.message(full_name)
            *parents, leaf = name.split(".")
            for parent in parents:
                field = next(f for f in message.proto.field if f.name == parent)
                message = self.index.message(field.type_name)
            number, field = next((i, f) for i, f in enumerate(message.proto.field) if f.name == leaf)
            schema = self.field_schema(field, IN)
            if schema.get("type") == "string":
                schema["pattern"] = "^[^/]+$"  # one path segment
            parameter: dict[str, Any] = {"name": name, "in": "path", "required": True,
                                         "schema": schema}
            if message.comments.get((2, number)):
                parameter["description"] = message.comments[(2, number)]
            found.append(parameter)
        return found

    def _request_body(self, binding: Binding, bound: set[str]) -> dict[str, Any] | None:
        input_type = binding.method.input_type.lstrip(".")
        if not binding.body:
            return None
        if binding.body == "*":
            name = self._schema_name(input_type, IN) + ("Body" if bound else "")
            if name not in self.schemas:
                self.schemas[name] = self.message_schema(input_type, IN, exclude=sorted(bound))
            schema: dict[str, Any] = {"$ref": f"#/components/schemas/{name}"}
            if binding.method.client_streaming:
                schema = {"type": "array", "items": schema}
            return {"required": True, "content": {"application/json": {"schema": schema}}}
        field = next(f for f in self.index.message(input_type).proto.field if f.name == binding.body)
        if field.type_name.lstrip(".") == HTTP_BODY:
            raw = {"schema": {"type": "string", "format": "binary"}}
            return {"required": True, "description": "The raw content, with its own Content-Type",
                    "content": {media_type: raw for media_type in self.raw_body_types}}
        return {"required": True,
                "content": {"application/json": {"schema": self.field_schema(field, IN)}}}

    def _responses(self, binding: Binding, public: bool) -> dict[str, Any]:
        output_type = binding.method.output_type.lstrip(".")
        if output_type == HTTP_BODY:
            content: dict[str, Any] = {"*/*": {"schema": {"type": "string", "format": "binary"}}}
        elif binding.method.server_streaming:
            self.message_ref(output_type, OUT)
            name = self._schema_name(output_type, OUT)
            content = {"text/event-stream": {"schema": {
                "type": "string", "description": f"Server-Sent Events; each `data:` line is a {name}"}}}
        else:
            content = {"application/json": {"schema": self.message_ref(output_type, OUT)}}
        statuses = REST_STATUS.findall(binding.comment)
        success = next((code for code in statuses if code.startswith("2")), "200")
        responses: dict[str, Any] = {success: {"description": "Success", "content": content}}
        for code in ERROR_RESPONSES:
            if public and code == "403":
                continue  # 401 stays: a token sent to a public RPC is still verified
            responses[code] = {"$ref": f"#/components/responses/Error{code}"}
        for code in statuses:
            if not code.startswith("2"):
                responses[code] = {"description": "Answered with the same body", "content": content}
        responses["default"] = {"$ref": "#/components/responses/Error"}
        return responses

    def operation(self, binding: Binding, operation_id: str) -> dict[str, Any]:
        input_type = binding.method.input_type.lstrip(".")
        variables = path_variables(binding.path)
        bound = set(variables)
        parameters = self._path_parameters(input_type, variables)
        if binding.body != "*":
            body_bound = bound | ({binding.body} if binding.body else set())
            parameters += self._query_parameters(input_type, "", body_bound)
        full_method = f"/{binding.service}/{binding.method.name}"
        policy = self.policies.get(full_method)
        public = policy is not None and policy.public
        description = binding.comment
        if policy is not None and policy.roles is not None:
            description += f"\n\nRoles: {', '.join(sorted(policy.roles))} (admin passes too)."
        if policy is not None and policy.scope:
            description += f"\n\nScope: {policy.scope}."
        operation: dict[str, Any] = {
            "operationId": operation_id,
            "tags": [binding.service.removeprefix(f"{API_PACKAGE}.")],
            "summary": _summary(binding.comment) or binding.method.name,
            "description": description.strip(),
            "x-grpc-method": full_method,
            "parameters": parameters,
            "security": [{}, {BEARER_SCHEME: []}] if public else [{BEARER_SCHEME: []}],
            "responses": self._responses(binding, public),
        }
        body = self._request_body(binding, bound)
        if body is not None:
            operation["requestBody"] = body
        if not parameters:
            del operation["parameters"]
        return operation

    def bindings(self) -> list[Binding]:
        return [binding for file in self.files.file if file.package == API_PACKAGE
                for binding in _bindings(file)]

    def document(self, *, title: str = "HotGigs REST API", version: str = __version__) -> dict[str, Any]:
        bindings = self.bindings()
        for binding in bindings:
            output = binding.method.output_type.lstrip(".")
            if output != HTTP_BODY:
                self._collect_outputs(output)
        paths: dict[str, dict[str, Any]] = {}
        seen: dict[str, int] = {}
        for binding in bindings:
            base = f"{binding.service.removeprefix(f'{API_PACKAGE}.')}_{binding.method.name}"
            seen[base] = seen.get(base, 0) + 1
            operation_id = base if seen[base] == 1 else f"{base}_{seen[base]}"
            paths.setdefault(openapi_path(binding.path), {})[binding.verb] = self.operation(
                binding, operation_id)
        self.schemas[ERROR_SCHEMA] = error_schema()
        error = {"description": "Error", "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}}}}
        responses = {"Error": error} | {f"Error{code}": {**error, "description": text}
                                        for code, text in ERROR_RESPONSES.items()}
        retry_after = {"Retry-After": {"description": "Seconds to wait before trying again",
                                       "schema": {"type": "integer", "minimum": 0}}}
        for code in ("429", "503"):
            responses[f"Error{code}"]["headers"] = retry_after
        return {
            "openapi": OPENAPI_VERSION,
            "info": {"title": title, "version": version, "description": (
                "Generated from the protos' google.api.http rules by http_bridge.openapi; "
                "Envoy transcodes these routes to the gRPC services.")},
            "servers": [{"url": "/"}],
            "paths": dict(sorted(paths.items())),
            "components": {
                "schemas": dict(sorted(self.schemas.items())),
                "responses": responses,
                "securitySchemes": {BEARER_SCHEME: {
                    "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                    "description": "An access token from /api/auth/register, /api/auth/login "
                                   "or /api/auth/refresh"}},
            },
        }


def files_formats() -> list[str]:
    """The MIME types a raw upload may carry (the formats DOCUMENT_ALLOWED_TYPES picks from)."""
    from hotgigs.documents.files import FORMATS

    return sorted(set(FORMATS.values()))


def error_schema() -> dict[str, Any]:
    """The JSON error body: a google.rpc.Status as Envoy prints it."""
    return {
        "type": "object",
        "description": "A failed call: the google.rpc.Status of the gRPC answer, or Envoy's "
                       "own reply (unknown route, body too large, ...) in the same shape.",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "integer", "format": "int32", "minimum": 0, "maximum": 16,
                     "description": "The gRPC status code"},
            "message": {"type": "string", "description": "For people; never internals"},
            "details": {"type": "array", "description": (
                "google.rpc.BadRequest (field_violations), ErrorInfo (a stable reason) "
                "and RetryInfo (retry_delay)"),
                "items": dict(_WELL_KNOWN["google.protobuf.Any"])},
        },
        "additionalProperties": False,
    }


def generate(descriptor_path: Path, *, version: str = __version__) -> dict[str, Any]:
    return Generator(load_descriptor_set(descriptor_path)).document(version=version)


def write(descriptor_path: Path, output: Path, *, version: str = __version__) -> Path:
    document = generate(descriptor_path, version=version)
    output.write_text(json.dumps(document, indent=1, sort_keys=False) + "\n")
    return output


def main(argv: list[str] | None = None) -> int:
    from http_bridge import build_protos

    default_descriptor = build_protos.PACKAGE_DIR / build_protos.DESCRIPTOR_NAME
    parser = argparse.ArgumentParser(
        prog="python -m http_bridge.openapi", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--descriptor", type=Path, default=default_descriptor,
                        help=f"descriptor set to read (default: {default_descriptor})")
    parser.add_argument("--output", "-o", default=None,
                        help=f"file to write, '-' for stdout (default: {OPENAPI_NAME} next to "
                             "the descriptor set)")
    parser.add_argument("--api-version", default=__version__,
                        help=f"info.version of the document (default: {__version__}, the package's)")
    args = parser.parse_args(argv)
    if not args.descriptor.exists():
        parser.error(f"{args.descriptor} is missing; run `make protos`")
    if args.output == "-":
        sys.stdout.write(json.dumps(generate(args.descriptor, version=args.api_version), indent=1) + "\n")
        return 0
    output = Path(args.output) if args.output else args.descriptor.with_name(OPENAPI_NAME)
    write(args.descriptor, output, version=args.api_version)
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
