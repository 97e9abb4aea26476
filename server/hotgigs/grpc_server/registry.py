"""The API's services as generated from protos/hotgigs/v1, and how to register them.

A service with no implementation yet is registered with its generated base servicer, whose
methods raise `NotImplementedError`; the error interceptor answers UNIMPLEMENTED (REST 501).
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

import grpc
from google.protobuf import descriptor

from hotgigs import manifest

API_PACKAGE = manifest.API_PACKAGE
# One proto file per module (common.proto holds shared messages only), as the manifest lists them.
API_MODULES = tuple(module.name for module in manifest.MODULES)


@dataclasses.dataclass(frozen=True)
class ApiService:
    """One generated gRPC service."""

    full_name: str  # e.g. hotgigs.v1.JobService
    descriptor: descriptor.ServiceDescriptor
    base_servicer: type[Any]
    add_to_server: Callable[[Any, grpc.Server], None]


def _generated(module: str, suffix: str) -> ModuleType:
    try:
        return importlib.import_module(f"{API_PACKAGE}.{module}_{suffix}")
    except ModuleNotFoundError as error:
        raise RuntimeError(
            f"generated code {API_PACKAGE}.{module}_{suffix} is missing; run `make protos`"
        ) from error


def api_services() -> list[ApiService]:
    """Every service of every API module, in module order."""
    services = []
    for module in API_MODULES:
        messages = _generated(module, "pb2")
        stubs = _generated(module, "pb2_grpc")
        for name, service in messages.DESCRIPTOR.services_by_name.items():
            services.append(ApiService(
                full_name=service.full_name,
                descriptor=service,
                base_servicer=getattr(stubs, f"{name}Servicer"),
                add_to_server=getattr(stubs, f"add_{name}Servicer_to_server"),
            ))
    return services


def register(server: grpc.Server, implementations: Mapping[str, Any]) -> list[str]:
    """Add every API service to `server`, implemented or not; return their full names."""
    services = api_services()
    known = {service.full_name for service in services}
    unknown = set(implementations) - known
    if unknown:
        raise ValueError(f"implementations for unknown services: {sorted(unknown)}")
    for service in services:
        servicer = implementations.get(service.full_name) or service.base_servicer()
        service.add_to_server(servicer, server)
    return [service.full_name for service in services]
