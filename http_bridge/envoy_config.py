"""Render Envoy's configuration (the REST <-> gRPC bridge) from settings.

One generator serves `hotgigs up`, the tests and (later) the Ansible role. The request path:
CORS -> Lua (path and status fix-ups) -> gzip -> gRPC-JSON transcoder -> router -> workers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from http_bridge import web_assets

UPSTREAM_CLUSTER = "hotgigs_grpc"
OTLP_CLUSTER = "otel_collector"
# The REST health RPC is always SERVING while the process is up and not draining; Envoy's
# active health check uses it, so a database outage is reported by /api/health, not hidden
# behind "no healthy upstream".
LIVENESS_SERVICE = "hotgigs.v1.HealthService"
# Request bodies: 1 MiB on every route, except the document uploads: 16 MB files, as base64
# in JSON (4/3 of the file) plus slack for the other fields. Over the limit Envoy answers 413
# before a worker sees a byte.
MAX_REQUEST_BYTES = 1024 * 1024
UPLOAD_FILE_BYTES = 16 * 1024 * 1024
MAX_UPLOAD_REQUEST_BYTES = (UPLOAD_FILE_BYTES + 2) // 3 * 4 + 64 * 1024
# The upload routes, as REST paths (matched before transcoding, where the buffer filter reads
# its limit) and as gRPC methods (native gRPC callers through Envoy).
UPLOAD_PATHS = r"^/api/documents(/upload|/upload-stream)?/?$"
UPLOAD_METHODS = r"^/hotgigs\.v1\.DocumentService/UploadDocument(Raw|Stream)?$"
# The notification feed, a server stream: no route timeout, an idle timeout above the 30 s
# heartbeat (three missed heartbeats close it).
LIVE_FEED_METHOD = "/hotgigs.v1.NotificationService/StreamNotifications"
LIVE_FEED_IDLE_TIMEOUT_SECONDS = 90
# Request line and headers together (cookies included); over it Envoy answers 431 with a plain
# JSON body. The workers accept 64 KiB of metadata, so this limit always answers first.
MAX_REQUEST_HEADERS_KB = 16
HEADERS_TOO_LARGE_MESSAGE = "Request header or cookie too large"
OPENAPI_ROUTE = "/api/openapi.json"
OPENAPI_NAME = "openapi.json"  # written next to the descriptor set by http_bridge.openapi

# gRPC code for each HTTP status Envoy may answer by itself, so local replies look like
# the transcoder's converted statuses: {"code": <grpc code>, "message": "..."}.
_LOCAL_REPLY_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 405: 12, 408: 4, 413: 8, 429: 8,
                      431: 3, 502: 14, 503: 14, 504: 4}

# Runs before the transcoder on requests and after it on responses.
LUA_SOURCE = """
-- Requests: '/api/jobs/?search=x' reaches the same RPC as '/api/jobs?search=x'.
function envoy_on_request(handle)
  local headers = handle:headers()
  local path = headers:get(":path")
  if path == nil then return end
  local query_start = string.find(path, "?", 1, true)
  local route = path
  local query = ""
  if query_start then
    route = string.sub(path, 1, query_start - 1)
    query = string.sub(path, query_start)
  end
  -- Forms and most HTTP clients encode a space in a query as '+'; the transcoder would keep
  -- it literally. A real plus arrives as %2B and is unaffected.
  local fixed_query = string.gsub(query, "%+", "%%20")
  if string.len(route) > 1 and string.sub(route, -1) == "/" then
    route = string.sub(route, 1, -2)
  end
  local fixed = route .. fixed_query
  if fixed ~= path then
    headers:replace(":path", fixed)
  end
  -- What the access log records as the path: a secret in it (the verify-email link's
  -- single-use token) is replaced; always set, so a client cannot choose it.
  -- The live feed's one-time ticket (?ticket=...) likewise.
  local logged = string.gsub(fixed, "^(/api/auth/verify%-email/)[^/?]+", "%1[redacted]")
  logged = string.gsub(logged, "([?&]ticket=)[^&]*", "%1[redacted]")
  headers:replace("x-hotgigs-log-path", logged)
  -- gRPC metadata keys are [0-9a-z_.-] and text values printable ASCII: the workers would
  -- fail the whole call (500) over a header gRPC cannot carry, so such headers are dropped;
  -- so are gRPC's own headers (grpc-timeout, grpc-encoding, ...) and binary (-bin) metadata
  -- from REST clients, which the workers would parse and could fail on.
  local native = string.sub(headers:get("content-type") or "", 1, 16) == "application/grpc"
  local unfit = {}
  for key, value in pairs(headers) do
    if string.sub(key, 1, 1) ~= ":" and (string.find(key, "[^0-9a-z_.%-]")
        or string.find(value, "[^\\032-\\126]")
        or (not native and (string.sub(key, 1, 5) == "grpc-" or string.sub(key, -4) == "-bin"))) then
      table.insert(unfit, key)
    end
  end
  for _, key in ipairs(unfit) do
    headers:remove(key)
  end
end

-- Responses: a servicer may ask for another HTTP status (201 Created, 503 for health) via
-- the x-http-status response metadata (an error may turn its 400 into 422); gRPC plumbing
-- headers are not shown to REST clients.
function envoy_on_response(handle)
  local headers = handle:headers()
  local status = headers:get("x-http-status")
  if status ~= nil then
    local current = headers:get(":status")
    if string.match(status, "^[1-5][0-9][0-9]$") and (current == "200"
        or (status == "422" and current == "400")) then
      headers:replace(":status", status)
    end
    headers:remove("x-http-status")
  end
  if headers:get(":status") == "429" and headers:get("retry-after") == nil then
    headers:add("retry-after", "1")  -- a worker at its in-flight limit: come back soon
  end
  headers:remove("grpc-accept-encoding")
  headers:remove("grpc-status")
  headers:remove("grpc-message")
  headers:replace("x-content-type-options", "nosniff")
  headers:replace("x-frame-options", "DENY")
  headers:replace("referrer-policy", "no-referrer")
end
"""


@dataclasses.dataclass(frozen=True)
class TlsIdentity:
    """Envoy's certificate chain and key, and the CA bundle it verifies the other side with."""

    cert_file: str
    key_file: str
    ca_file: str


@dataclasses.dataclass(frozen=True)
class EnvoyOptions:
    """Everything the Envoy config depends on."""

    listen_host: str
    listen_port: int
    admin_host: str
    admin_port: int
    upstreams: Sequence[tuple[str, int]]
    descriptor_path: Path
    services: Sequence[str]
    cors_allowed_origins: Sequence[str] = ()
    access_log_path: str = "/dev/stdout"
    upstream_timeout_seconds: float = 30.0
    # Active gRPC health checks of each worker; a draining worker answers NOT_SERVING and is
    # taken out of rotation after `health_check_unhealthy_threshold` checks.
    health_check_interval_seconds: float = 1.0
    health_check_unhealthy_threshold: int = 2
    retry_min_concurrency: int = 64  # retries always allowed at once: one worker's in-flight RPCs
    # Overload manager: over this many client connections Envoy closes new ones at once
    # (established ones keep working); near this heap size it sheds load.
    max_downstream_connections: int = 10_000
    max_heap_bytes: int = 1024 * 1024 * 1024
    proxy_secret: str = ""
    xff_trusted_hops: int = 0
    otlp_endpoint: tuple[str, int] | None = None  # OpenTelemetry collector (gRPC), or no tracing
    # Share of new traces Envoy samples (OTEL_TRACES_SAMPLER_ARG, as the workers); a request
    # with a traceparent keeps its caller's decision (parent-based, like the workers' sampler).
    trace_sample_ratio: float = 1.0
    trace_service_name: str = "hotgigs-envoy"  # service.name of Envoy's spans
    # The OpenAPI document served at OPENAPI_ROUTE; None: openapi.json next to the descriptor
    # set, when it exists (`make protos` writes both).
    openapi_path: Path | None = None
    # The browser front end (http_bridge.web_assets) served under the API's origin; None: none.
    web_root: Path | None = None
    # Envoy's certificate and the CA: required by the two options below.
    tls: TlsIdentity | None = None
    # Mutual TLS to the workers: Envoy presents its certificate and accepts a worker's only
    # from the CA with one of `upstream_sans` (empty: the upstreams' IP addresses).
    upstream_tls: bool = False
    upstream_sans: Sequence[str] = ()
    # The internal listener: native gRPC over HTTP/2 with mutual TLS, to the same health-checked
    # workers; None: none.
    internal_listener: tuple[str, int] | None = None

    def __post_init__(self) -> None:
        if self.tls is None and (self.upstream_tls or self.internal_listener is not None):
            raise ValueError("upstream TLS and the internal listener need Envoy's certificate (tls)")

    def openapi_document(self) -> Path | None:
        path = self.openapi_path or self.descriptor_path.with_name(OPENAPI_NAME)
        return path if path.exists() else None


def _address(host: str, port: int) -> dict[str, Any]:
    return {"socket_address": {"address": host, "port_value": port}}


def _typed(type_name: str, **fields: Any) -> dict[str, Any]:
    return {"@type": f"type.googleapis.com/{type_name}", **fields}


def _local_reply_config() -> dict[str, Any]:
    mappers: list[dict[str, Any]] = [{
        # Oversized headers: a fixed message, never the codec's detail or a header name.
        "filter": {"status_code_filter": {"comparison": {
            "op": "EQ", "value": {"default_value": 431, "runtime_key": "hotgigs.local_reply.431"}}}},
        "body": {"inline_string": HEADERS_TOO_LARGE_MESSAGE},
        "body_format_override": {"json_format": {"code": _LOCAL_REPLY_CODES[431],
                                                 "message": "%LOCAL_REPLY_BODY%"}},
    }]
    mappers += [
        {
            "filter": {"status_code_filter": {"comparison": {
                "op": "EQ",
                "value": {"default_value": http_status, "runtime_key": f"hotgigs.local_reply.{http_status}"},
            }}},
            "body_format_override": {"json_format": {"code": grpc_code, "message": "%LOCAL_REPLY_BODY%"}},
            # Envoy's own 503 (no healthy worker, none reachable): the client may retry soon.
            **({"headers_to_add": [{"header": {"key": "retry-after", "value": "1"},
                                    "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}]}
               if http_status == 503 else {}),
        }
        for http_status, grpc_code in _LOCAL_REPLY_CODES.items() if http_status != 431
    ]
    # Any other error status; a successful direct response (the OpenAPI document) keeps its body.
    mappers.append({
        "filter": {"status_code_filter": {"comparison": {
            "op": "GE", "value": {"default_value": 400, "runtime_key": "hotgigs.local_reply.error"}}}},
        "body_format_override": {"json_format": {"code": 2, "message": "%LOCAL_REPLY_BODY%"}},
    })
    return {"mappers": mappers}


def _cors_policy(origins: Sequence[str]) -> dict[str, Any]:
    matchers = [{"safe_regex": {"regex": ".*"}} if origin == "*" else {"exact": origin}
                for origin in origins]
    return _typed(
        "envoy.extensions.filters.http.cors.v3.CorsPolicy",
        allow_origin_string_match=matchers,
        allow_methods="GET, POST, PUT, DELETE, OPTIONS",
        allow_headers="authorization, content-type, x-request-id, idempotency-key, x-api-key",
        expose_headers="x-request-id, retry-after, x-trace-id, idempotent-replay",
        max_age="600",
    )


def _access_log(path: str) -> list[dict[str, Any]]:
    fields = {
        "time": "%START_TIME%",
        "request_id": "%REQ(X-REQUEST-ID)%",
        "method": "%REQ(X-ENVOY-ORIGINAL-METHOD?:METHOD)%",
        "path": "%REQ(X-HOTGIGS-LOG-PATH?:PATH)%",  # set by the Lua filter, secrets redacted
        "status": "%RESPONSE_CODE%",
        "grpc_status": "%GRPC_STATUS%",
        "flags": "%RESPONSE_FLAGS%",
        "bytes_in": "%BYTES_RECEIVED%",
        "bytes_out": "%BYTES_SENT%",
        "duration_ms": "%DURATION%",
        "upstream": "%UPSTREAM_HOST%",
        "user_agent": "%REQ(USER-AGENT)%",
    }
    return [{
        "name": "envoy.access_loggers.file",
        "typed_config": _typed("envoy.extensions.access_loggers.file.v3.FileAccessLog",
                               path=path, log_format={"json_format": fields}),
    }]


# The transcoder keeps the REST path in x-envoy-original-path, which Envoy's span records as
# http.url when the request ends: the verify-email link's single-use token and the live feed's
# ticket are replaced there.
REDACT_LUA = """
function envoy_on_request(handle)
  local headers = handle:headers()
  local original = headers:get("x-envoy-original-path")
  if original ~= nil then
    local redacted = string.gsub(original, "^(/api/auth/verify%-email/)[^/?]+", "%1[redacted]")
    redacted = string.gsub(redacted, "([?&]ticket=)[^&]*", "%1[redacted]")
    if redacted ~= original then
      headers:replace("x-envoy-original-path", redacted)
    end
  end
end
"""


def _method_allowlist(options: EnvoyOptions) -> dict[str, Any]:
    """Every method of the transcoded services, from the descriptor set (none without one:
    Envoy itself refuses to start without it, only a rendering for inspection gets here)."""
    from google.protobuf import descriptor_pb2

    if not options.descriptor_path.exists():
        return {"services": []}

    files = descriptor_pb2.FileDescriptorSet.FromString(options.descriptor_path.read_bytes())
    methods = {f"{file.package}.{service.name}": [method.name for method in service.method]
               for file in files.file for service in file.service}
    return {"services": [{"name": name, "method_names": methods[name]}
                         for name in options.services if name in methods]}


# Stats tags for the grpc_stats filter's names, cluster.<cluster>.grpc.<service>.<method>.<stat>:
# Envoy's default extraction splits the dotted service name (grpc_bridge_service="hotgigs",
# grpc_bridge_method="v1", the method left in the metric name: about 1,500 series). These put
# the full service and the method in grpc_service and grpc_method. A default tag cannot be
# overridden by name, so the defaults are listed by name (Envoy's own expressions) without the
# two grpc_bridge ones.
_GRPC_STAT = r"(?:success|failure|total|request_message_count|response_message_count|\d+)"
_DEFAULT_TAGS = (
    "cluster_name", "listener_address", "http_user_agent", "ssl_cipher", "clientssl_prefix",
    "tcp_prefix", "udp_prefix", "http_conn_manager_prefix", "response_code",
    "response_code_class", "virtual_host", "virtual_cluster", "rds_route_config",
    "scoped_rds_config", "google_grpc_client_prefix", "ext_authz_prefix", "ratelimit_prefix",
    "local_http_ratelimit_prefix", "local_network_ratelimit_prefix",
    "local_listener_ratelimit_prefix", "connection_limit_prefix", "rbac_prefix",
    "rbac_http_prefix", "rbac_policy_name", "proxy_protocol_prefix", "dns_filter_prefix",
    "thrift_prefix", "redis_prefix", "mongo_prefix", "mongo_cmd", "mongo_collection",
    "mongo_callsite", "dynamo_operation", "dynamo_table", "dynamo_partition_id", "fault_downstream_cluster",
    "worker_id",
)
STATS_CONFIG = {
    "use_all_default_tags": False,
    "stats_tags": [
        {"tag_name": "grpc_service",
         "regex": rf"^cluster\.[^.]+\.grpc\.(([^.]+(?:\.[^.]+)*)\.)[^.]+\.{_GRPC_STAT}$"},
        {"tag_name": "grpc_method",
         "regex": rf"^cluster\.[^.]+\.grpc\.[^.]+(?:\.[^.]+)*\.(([^.]+)\.){_GRPC_STAT}$"},
        *({"tag_name": f"envoy.{name}"} for name in _DEFAULT_TAGS),
    ],
}


def _http_filters(options: EnvoyOptions) -> list[dict[str, Any]]:
    return [
        {"name": "envoy.filters.http.cors",
         "typed_config": _typed("envoy.extensions.filters.http.cors.v3.Cors")},
        {"name": "envoy.filters.http.lua",
         "typed_config": _typed("envoy.extensions.filters.http.lua.v3.Lua",
                                default_source_code={"inline_string": LUA_SOURCE})},
        {"name": "envoy.filters.http.compressor",
         "typed_config": _typed(
             "envoy.extensions.filters.http.compressor.v3.Compressor",
             response_direction_config={"common_config": {"min_content_length": 128}},
             compressor_library={
                 "name": "gzip",
                 "typed_config": _typed("envoy.extensions.compression.gzip.compressor.v3.Gzip")})},
        {"name": "envoy.filters.http.buffer",  # 413 for bodies over the route's cap, before any work
         "typed_config": _typed("envoy.extensions.filters.http.buffer.v3.Buffer",
                                max_request_bytes=MAX_REQUEST_BYTES)},
        {"name": "envoy.filters.http.grpc_json_transcoder",
         "typed_config": _typed(
             "envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder",
             proto_descriptor=str(options.descriptor_path),
             services=list(options.services),
             convert_grpc_status=True,
             print_options={"add_whitespace": False, "always_print_primitive_fields": True,
                            "always_print_enums_as_ints": False, "preserve_proto_field_names": True,
                            # server streams (the notification feed) as Server-Sent Events
                            "stream_sse_style_delimited": True},
             request_validation_options={"reject_unknown_method": True,
                                         "reject_unknown_query_parameters": True,
                                         "reject_binding_body_field_collisions": True},
             max_request_body_size=MAX_UPLOAD_REQUEST_BYTES)},
        {"name": "envoy.filters.http.lua.redact",  # after the transcoder: see REDACT_LUA
         "typed_config": _typed("envoy.extensions.filters.http.lua.v3.Lua",
                                default_source_code={"inline_string": REDACT_LUA})},
        {"name": "envoy.filters.http.grpc_stats",  # per-method gRPC success/failure/total
         "typed_config": _typed("envoy.extensions.filters.http.grpc_stats.v3.FilterConfig",
                                # the API's own methods only (a client's made-up method name
                                # makes no new series); no per-method time histogram (about
                                # 1,500 series; the workers' histograms have per-method latency)
                                individual_method_stats_allowlist=_method_allowlist(options))},
        {"name": "envoy.filters.http.router",
         "typed_config": _typed("envoy.extensions.filters.http.router.v3.Router")},
    ]


def _proxy_headers(options: EnvoyOptions) -> list[dict[str, Any]]:
    """Headers the workers trust only with the shared secret: who the client is. Whatever a
    client sends under these names is overwritten."""
    if not options.proxy_secret:
        return []
    return [
        {"header": {"key": "x-hotgigs-proxy-secret", "value": options.proxy_secret},
         "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"},
        {"header": {"key": "x-hotgigs-client-address",
                    "value": "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%"},
         "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"},
    ]


def _route_config(options: EnvoyOptions) -> dict[str, Any]:
    virtual_host: dict[str, Any] = {
        "name": "hotgigs_api",
        "domains": ["*"],
        "request_headers_to_add": _proxy_headers(options),
        "request_headers_to_remove": [] if options.proxy_secret else [
            "x-hotgigs-proxy-secret", "x-hotgigs-client-address"],
        "routes": [{
            # Document uploads, the only routes with the large body limit: REST (original path,
            # where the buffer filter looks its limit up) and native gRPC.
            "match": {"safe_regex": {"regex": UPLOAD_PATHS},
                      "headers": [{"name": ":method", "string_match": {"exact": "POST"}}]},
            "route": _upstream_route(options, RETRY_UNSENT),
            "request_headers_to_add": _deadline_header(options),
            "typed_per_filter_config": _body_limit(MAX_UPLOAD_REQUEST_BYTES),
        }, {
            "match": {"safe_regex": {"regex": UPLOAD_METHODS}},
            "route": _upstream_route(options, RETRY_UNSENT),
            "request_headers_to_add": _deadline_header(options),
            "typed_per_filter_config": _body_limit(MAX_UPLOAD_REQUEST_BYTES),
        }, {
            # The live feed (REST /api/notifications/stream as SSE, and native gRPC): open for
            # as long as the client stays, so no route timeout and no deadline for the worker;
            # a feed with no byte for LIVE_FEED_IDLE_TIMEOUT (the worker sends a heartbeat every
            # 30 s) is dead and closed.
            "match": {"path": LIVE_FEED_METHOD},
            "route": {**_upstream_route(options, RETRY_UNSENT), "timeout": "0s",
                      "idle_timeout": f"{LIVE_FEED_IDLE_TIMEOUT_SECONDS}s"},
        }, {
            # Matched on the gRPC path AFTER transcoding (/hotgigs.v1.Service/Method); REST
            # GETs (safe to repeat) are also retried when a worker dies mid-request.
            "match": {"prefix": "/hotgigs.v1.", "headers": [
                {"name": "x-envoy-original-method", "string_match": {"exact": "GET"}}]},
            "route": _upstream_route(options, RETRY_SAFE),
            "request_headers_to_add": _deadline_header(options),
        }, {
            "match": {"prefix": "/hotgigs.v1."},
            "route": _upstream_route(options, RETRY_UNSENT),
            "request_headers_to_add": _deadline_header(options),
        }, {
            # Only for CORS preflights: the CORS filter finds its policy through the route
            # of the ORIGINAL path and answers before the transcoder (it skips routes with a
            # direct_response, hence a normal route). Any other untranscoded /api/ request is
            # refused by the transcoder (reject_unknown_method) before it gets here.
            "match": {"prefix": "/api/"},
            "route": {"cluster": UPSTREAM_CLUSTER, "timeout": "5s"},
        }],
    }
    if options.cors_allowed_origins:
        virtual_host["typed_per_filter_config"] = {
            "envoy.filters.http.cors": _cors_policy(options.cors_allowed_origins)}
    document = options.openapi_document()
    if document is not None:
        virtual_host["routes"].insert(0, _openapi_route(document))
    if options.web_root is not None and (options.web_root / "index.html").exists():
        virtual_host["routes"][:0] = _web_routes(options.web_root)
    return {"name": "hotgigs_routes", "virtual_hosts": [virtual_host],
            "max_direct_response_body_size_bytes": 8 * 1024 * 1024}


def _body_limit(max_bytes: int) -> dict[str, Any]:
    """Per-route override of the buffer filter's body limit."""
    return {"envoy.filters.http.buffer": _typed(
        "envoy.extensions.filters.http.buffer.v3.BufferPerRoute",
        buffer={"max_request_bytes": max_bytes})}


# Retried on another worker: requests that never reached one (refused connection or stream,
# reset before the request went out: a dying or draining worker) ...
RETRY_UNSENT = "connect-failure,refused-stream,reset-before-request"
# ... and, for GETs only, any reset (a worker killed while answering) and a gRPC CANCELLED
# answer (a worker shutting down cancels the calls it has not finished).
RETRY_SAFE = RETRY_UNSENT + ",reset,cancelled"


def _upstream_route(options: EnvoyOptions, retry_on: str) -> dict[str, Any]:
    return {
        "cluster": UPSTREAM_CLUSTER,
        "timeout": f"{options.upstream_timeout_seconds}s",
        "retry_policy": {
            "retry_on": retry_on, "num_retries": 2,
            "retry_host_predicate": [{"name": "envoy.retry_host_predicates.previous_hosts",
                                      "typed_config": _typed(
                                          "envoy.extensions.retry.host.previous_hosts.v3."
                                          "PreviousHostsPredicate")}],
            "host_selection_retry_max_attempts": 5,
            "retry_back_off": {"base_interval": "0.01s", "max_interval": "0.1s"},
        },
    }


def _deadline_header(options: EnvoyOptions) -> list[dict[str, Any]]:
    """Deadline propagation: the worker receives grpc-timeout = the route's timeout (REST
    clients send none), so its handlers and SQL stop when Envoy stops waiting."""
    return [{"header": {"key": "grpc-timeout",
                        "value": f"{round(options.upstream_timeout_seconds * 1000)}m"},
             "append_action": "ADD_IF_ABSENT"}]


def _openapi_route(document: Path) -> dict[str, Any]:
    """GET /api/openapi.json answers the generated document (read when Envoy loads its
    config); the transcoder, which would refuse a route without an RPC, is off for it."""
    return {
        "match": {"path": OPENAPI_ROUTE,
                  "headers": [{"name": ":method", "string_match": {"exact": "GET"}}]},
        "direct_response": {"status": 200, "body": {"filename": str(document)}},
        "response_headers_to_add": [{"header": {"key": "content-type", "value": "application/json"},
                                     "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}],
        "typed_per_filter_config": {"envoy.filters.http.grpc_json_transcoder": _typed(
            "envoy.config.route.v3.FilterConfig", disabled=True)},
    }


def _static_route(path: str, body: dict[str, str], content_type: str,
                  cache_control: str) -> dict[str, Any]:
    headers = {"content-type": content_type, "cache-control": cache_control,
               "content-security-policy": web_assets.CONTENT_SECURITY_POLICY}
    return {
        "match": {"path": path, "headers": [
            {"name": ":method", "string_match": {"safe_regex": {"regex": "^(GET|HEAD)$"}}}]},
        "direct_response": {"status": 200, "body": body},
        "response_headers_to_add": [{"header": {"key": key, "value": value},
                                     "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}
                                    for key, value in headers.items()],
        "typed_per_filter_config": {"envoy.filters.http.grpc_json_transcoder": _typed(
            "envoy.config.route.v3.FilterConfig", disabled=True)},
    }


def _web_routes(web_root: Path) -> list[dict[str, Any]]:
    """The front end: `/` (index.html, revalidated each time; the page routes by URL fragment,
    so no other path needs it) and each asset under its versioned URL, cached for a year."""
    index = web_assets.index_html(web_root)
    html = web_assets.content_type(web_root / "index.html")
    routes = [_static_route(path, {"inline_string": index}, html, web_assets.INDEX_CACHE)
              for path in ("/", "/index.html")]
    routes += [_static_route(web_assets.asset_url(asset, web_root), {"filename": str(asset)},
                             web_assets.content_type(asset), web_assets.ASSET_CACHE)
               for asset in web_assets.assets(web_root)]
    return routes


# Per-cluster circuit breakers: what one Envoy holds open towards the workers at once. Over a
# limit Envoy answers 503 (overflow, with retry-after) at once instead of queueing without
# bound. HTTP/2 multiplexes, so connections stay few; every open live feed holds one request.
CIRCUIT_MAX_CONNECTIONS = 1024
CIRCUIT_MAX_PENDING_REQUESTS = 1024
CIRCUIT_MAX_REQUESTS = 4096
# Retries are what hide a dying worker, but unbounded retries turn an overload into a retry
# storm: at most 20 % of the requests in flight may be retries, yet always as many as one
# worker holds in flight (EnvoyOptions.retry_min_concurrency, HOTGIGS_MAX_CONCURRENT_RPCS),
# so a killed worker's requests can all be retried. (Envoy's suggested minimum of 3 lost 2-3
# GETs per SIGKILL with only 4 clients in tests/faults/test_workers.py.)
RETRY_BUDGET_PERCENT = 20.0
# Outlier detection: a worker that answers consecutive errors (gateway errors: 502/503/504,
# i.e. UNAVAILABLE/DEADLINE_EXCEEDED; or any 5xx) is ejected from the balancer for 10 s
# (longer each time it comes back failing), never more than half of the workers; with a single
# worker Envoy's panic mode keeps routing to it. Connection failures (a dead or restarting
# worker) are left to the active health check, which re-admits a worker as soon as it answers.
OUTLIER_CONSECUTIVE_5XX = 5
OUTLIER_CONSECUTIVE_GATEWAY_FAILURE = 3
OUTLIER_BASE_EJECTION_SECONDS = 10
OUTLIER_MAX_EJECTION_PERCENT = 50


def _circuit_breaker(options: EnvoyOptions) -> dict[str, Any]:
    return {
        "priority": "DEFAULT",
        "max_connections": CIRCUIT_MAX_CONNECTIONS,
        "max_pending_requests": CIRCUIT_MAX_PENDING_REQUESTS,
        "max_requests": CIRCUIT_MAX_REQUESTS,
        "retry_budget": {"budget_percent": {"value": RETRY_BUDGET_PERCENT},
                         "min_retry_concurrency": options.retry_min_concurrency},
    }


def _outlier_detection() -> dict[str, Any]:
    return {
        "split_external_local_origin_errors": True,
        "enforcing_consecutive_local_origin_failure": 0,
        "consecutive_5xx": OUTLIER_CONSECUTIVE_5XX,
        "consecutive_gateway_failure": OUTLIER_CONSECUTIVE_GATEWAY_FAILURE,
        "enforcing_consecutive_gateway_failure": 100,
        "interval": "5s",
        "base_ejection_time": f"{OUTLIER_BASE_EJECTION_SECONDS}s",
        "max_ejection_percent": OUTLIER_MAX_EJECTION_PERCENT,
    }


def _cluster(options: EnvoyOptions) -> dict[str, Any]:
    return {
        "name": UPSTREAM_CLUSTER,
        "type": "STATIC",
        "connect_timeout": "1s",
        "lb_policy": "ROUND_ROBIN",
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": _typed(
                "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                explicit_http_config={"http2_protocol_options": {}}),
        },
        "load_assignment": {
            "cluster_name": UPSTREAM_CLUSTER,
            "endpoints": [{"lb_endpoints": [
                {"endpoint": {"address": _address(host, port)}} for host, port in options.upstreams
            ]}],
        },
        "health_checks": [{
            "timeout": "1s",
            "interval": f"{options.health_check_interval_seconds}s",
            "unhealthy_threshold": options.health_check_unhealthy_threshold,
            "healthy_threshold": 1,
            "no_traffic_interval": f"{options.health_check_interval_seconds}s",
            "grpc_health_check": {"service_name": LIVENESS_SERVICE},
        }],
        "circuit_breakers": {"thresholds": [_circuit_breaker(options)]},
        "outlier_detection": _outlier_detection(),
        "ignore_health_on_host_removal": True,
        **({"transport_socket": _upstream_tls(options, options.tls)}
           if options.upstream_tls and options.tls is not None else {}),
    }


def _certificates(tls: TlsIdentity) -> list[dict[str, Any]]:
    return [{"certificate_chain": {"filename": tls.cert_file},
             "private_key": {"filename": tls.key_file}}]


def _san_matcher(name: str) -> dict[str, Any]:
    import ipaddress

    try:
        ipaddress.ip_address(name)
        kind = "IP_ADDRESS"
    except ValueError:
        kind = "DNS"
    return {"san_type": kind, "matcher": {"exact": name}}


def upstream_sans(options: EnvoyOptions) -> list[str]:
    """The names a worker's certificate may carry: the configured ones, else each upstream's
    address (a certificate per API host with its IP address, as a host CA issues them)."""
    return list(dict.fromkeys(options.upstream_sans or [host for host, _ in options.upstreams]))


def _upstream_tls(options: EnvoyOptions, tls: TlsIdentity) -> dict[str, Any]:
    """Envoy -> workers: its client certificate, the worker's verified against the CA and one
    of the accepted names (SAN); HTTP/2 negotiated by ALPN."""
    names = upstream_sans(options)
    dns = [name for name in names if _san_matcher(name)["san_type"] == "DNS"]
    return {"name": "envoy.transport_sockets.tls", "typed_config": _typed(
        "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
        common_tls_context={
            "alpn_protocols": ["h2"],
            "tls_params": {"tls_minimum_protocol_version": "TLSv1_2"},
            "tls_certificates": _certificates(tls),
            "validation_context": {
                "trusted_ca": {"filename": tls.ca_file},
                "match_typed_subject_alt_names": [_san_matcher(name) for name in names]}},
        **({"sni": dns[0]} if dns else {}))}


def _internal_tls(tls: TlsIdentity) -> dict[str, Any]:
    """Internal callers -> Envoy: Envoy's certificate; a client certificate from the CA is
    required (no certificate, or another CA's: the handshake fails)."""
    return {"name": "envoy.transport_sockets.tls", "typed_config": _typed(
        "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
        require_client_certificate=True,
        common_tls_context={
            "alpn_protocols": ["h2"],
            "tls_params": {"tls_minimum_protocol_version": "TLSv1_2"},
            "tls_certificates": _certificates(tls),
            "validation_context": {"trusted_ca": {"filename": tls.ca_file}}})}


def _internal_listener(options: EnvoyOptions, tls: TlsIdentity,
                       address: tuple[str, int]) -> dict[str, Any]:
    """Native gRPC for internal callers: HTTP/2 over mutual TLS, every method of every service
    (reflection and health included) to the health-checked, load-balanced workers. The
    caller's grpc-timeout is the deadline (none: no limit, as for the live feed's stream)."""
    route = {**_upstream_route(options, RETRY_UNSENT), "timeout": "0s",
             "max_stream_duration": {"grpc_timeout_header_max": "0s"}}
    manager = _typed(
        "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        stat_prefix="internal_grpc",
        codec_type="HTTP2",
        generate_request_id=True,
        max_request_headers_kb=MAX_REQUEST_HEADERS_KB,
        use_remote_address=True,
        access_log=_access_log(options.access_log_path),
        route_config={"name": "internal_grpc", "virtual_hosts": [{
            "name": "internal_grpc", "domains": ["*"],
            "request_headers_to_add": _proxy_headers(options),
            "request_headers_to_remove": [] if options.proxy_secret else [
                "x-hotgigs-proxy-secret", "x-hotgigs-client-address"],
            "routes": [{"match": {"prefix": "/", "grpc": {}}, "route": route}],
        }]},
        http_filters=[{"name": "envoy.filters.http.router",
                       "typed_config": _typed("envoy.extensions.filters.http.router.v3.Router")}],
        common_http_protocol_options={"idle_timeout": "300s",
                                      "headers_with_underscores_action": "REJECT_REQUEST"},
    )
    return {
        "name": "internal_grpc",
        "address": _address(*address),
        "per_connection_buffer_limit_bytes": 1024 * 1024,
        "filter_chains": [{
            "transport_socket": _internal_tls(tls),
            "filters": [{"name": "envoy.filters.network.http_connection_manager",
                         "typed_config": manager}],
        }],
    }


# Heap use (of EnvoyOptions.max_heap_bytes) at which Envoy first returns memory to the system,
# then closes connections after their current request, then answers every new request 503.
HEAP_SHRINK_AT = 0.90
HEAP_NO_KEEPALIVE_AT = 0.95
HEAP_STOP_ACCEPTING_AT = 0.98
_CONNECTIONS_MONITOR = "envoy.resource_monitors.global_downstream_max_connections"
_HEAP_MONITOR = "envoy.resource_monitors.fixed_heap"


def _overload_manager(options: EnvoyOptions) -> dict[str, Any]:
    """Envoy protects itself: a global limit on client connections (new ones over it are
    closed on accept) and load shedding as its heap nears the configured size."""

    def action(name: str, threshold: float) -> dict[str, Any]:
        return {"name": name, "triggers": [{"name": _HEAP_MONITOR,
                                            "threshold": {"value": threshold}}]}

    return {
        "refresh_interval": "0.25s",
        "resource_monitors": [
            {"name": _CONNECTIONS_MONITOR, "typed_config": _typed(
                "envoy.extensions.resource_monitors.downstream_connections.v3."
                "DownstreamConnectionsConfig",
                max_active_downstream_connections=options.max_downstream_connections)},
            {"name": _HEAP_MONITOR, "typed_config": _typed(
                "envoy.extensions.resource_monitors.fixed_heap.v3.FixedHeapConfig",
                max_heap_size_bytes=options.max_heap_bytes)},
        ],
        "actions": [
            action("envoy.overload_actions.shrink_heap", HEAP_SHRINK_AT),
            action("envoy.overload_actions.disable_http_keepalive", HEAP_NO_KEEPALIVE_AT),
            action("envoy.overload_actions.stop_accepting_requests", HEAP_STOP_ACCEPTING_AT),
        ],
    }


def _trace_sampler(ratio: float) -> dict[str, Any]:
    """The workers' sampler (ParentBased(TraceIdRatioBased(OTEL_TRACES_SAMPLER_ARG))) in Envoy:
    a caller's traceparent decides, else `ratio` of new traces by trace id."""
    samplers = "envoy.extensions.tracers.opentelemetry.samplers.v3"
    return {"name": "envoy.tracers.opentelemetry.samplers.parent_based",
            "typed_config": _typed(f"{samplers}.ParentBasedSamplerConfig", wrapped_sampler={
                "name": "envoy.tracers.opentelemetry.samplers.trace_id_ratio_based",
                "typed_config": _typed(f"{samplers}.TraceIdRatioBasedSamplerConfig",
                                       sampling_percentage={
                                           "numerator": round(min(1.0, max(0.0, ratio)) * 1_000_000),
                                           "denominator": "MILLION"})})}


def render(options: EnvoyOptions) -> dict[str, Any]:
    """The complete Envoy bootstrap as a dict (serialise with `to_yaml`)."""
    manager = _typed(
        "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        stat_prefix="rest",
        codec_type="AUTO",
        generate_request_id=True,
        # Envoy's own answers (413, a JSON body the transcoder cannot parse) carry the
        # request id too; the workers echo the same id on theirs.
        always_set_request_id_in_response=True,
        max_request_headers_kb=MAX_REQUEST_HEADERS_KB,
        use_remote_address=True,
        xff_num_trusted_hops=options.xff_trusted_hops,
        access_log=_access_log(options.access_log_path),
        local_reply_config=_local_reply_config(),
        route_config=_route_config(options),
        http_filters=_http_filters(options),
        common_http_protocol_options={"idle_timeout": "300s",
                                      "headers_with_underscores_action": "REJECT_REQUEST"},
        request_timeout="60s",
        normalize_path=True,
        merge_slashes=True,
        path_with_escaped_slashes_action="REJECT_REQUEST",
    )
    clusters = [_cluster(options)]
    if options.otlp_endpoint is not None:
        manager["tracing"] = {
            "provider": {"name": "envoy.tracers.opentelemetry", "typed_config": _typed(
                "envoy.config.trace.v3.OpenTelemetryConfig",
                grpc_service={"envoy_grpc": {"cluster_name": OTLP_CLUSTER}, "timeout": "1s"},
                service_name=options.trace_service_name, sampler=_trace_sampler(options.trace_sample_ratio))},
            # every request goes to the sampler above, which decides (Envoy's own 100 % default
            # sampled every new trace whatever OTEL_TRACES_SAMPLER_ARG said)
            "random_sampling": {"value": 100},
        }
        clusters.append({
            "name": OTLP_CLUSTER, "type": "STRICT_DNS", "connect_timeout": "1s",
            "typed_extension_protocol_options": {
                "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": _typed(
                    "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                    explicit_http_config={"http2_protocol_options": {}})},
            "load_assignment": {"cluster_name": OTLP_CLUSTER, "endpoints": [{"lb_endpoints": [
                {"endpoint": {"address": _address(*options.otlp_endpoint)}}]}]},
        })
    return {
        # the admin interface (health checks of Envoy itself, stats) is not counted
        "admin": {"address": _address(options.admin_host, options.admin_port),
                  "ignore_global_conn_limit": True},
        "overload_manager": _overload_manager(options),
        "stats_config": STATS_CONFIG,
        "static_resources": {
            "listeners": [{
                "name": "rest",
                "address": _address(options.listen_host, options.listen_port),
                "per_connection_buffer_limit_bytes": 1024 * 1024,
                "filter_chains": [{"filters": [{
                    "name": "envoy.filters.network.http_connection_manager",
                    "typed_config": manager,
                }]}],
            }, *([_internal_listener(options, options.tls, options.internal_listener)]
                 if options.internal_listener is not None and options.tls is not None else [])],
            "clusters": clusters,
        },
    }


def to_yaml(config: dict[str, Any]) -> str:
    header = "# Generated by http_bridge.envoy_config from HotGigs settings; do not edit.\n"
    return header + yaml.safe_dump(config, sort_keys=False, width=120)


def write(options: EnvoyOptions, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_yaml(render(options)))
    return path
