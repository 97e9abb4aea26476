"""`hotgigs.v1.OperationsService`: protobuf in, operations service, protobuf out."""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from hotgigs import manifest
from hotgigs.context import require_principal as caller
from hotgigs.core.components import Components
from hotgigs.db import Database
from hotgigs.operations import convert, service
from hotgigs.v1 import operations_pb2, operations_pb2_grpc


class OperationsServicer(operations_pb2_grpc.OperationsServiceServicer):
    """Thin transport layer over `hotgigs.operations.service`."""

    def __init__(self, components: Components, generations: Sequence[str],
                 caches: Sequence[str]) -> None:
        self.database: Database = components.database
        self.components = components
        self.generations = tuple(generations)
        self.caches = tuple(caches)

    def GetPerformance(self, request: operations_pb2.GetPerformanceRequest,
                       context: grpc.ServicerContext) -> operations_pb2.GetPerformanceResponse:
        actor = caller()
        performance_in = convert.performance_in(request)
        with self.database.read_connection() as connection:
            figures = service.get_performance(connection, actor=actor, database=self.database,
                                              performance_in=performance_in)
        return convert.performance(figures)

    def GetJobsPerformance(self, request: operations_pb2.GetJobsPerformanceRequest,
                           context: grpc.ServicerContext
                           ) -> operations_pb2.GetJobsPerformanceResponse:
        actor = caller()
        performance_in = convert.performance_in(request)
        with self.database.read_connection() as connection:
            figures = service.get_jobs_performance(connection, actor=actor, database=self.database,
                                                   performance_in=performance_in)
        return convert.jobs_performance(figures)

    def ClearCache(self, request: operations_pb2.ClearCacheRequest,
                   context: grpc.ServicerContext) -> operations_pb2.ClearCacheResponse:
        actor = caller()
        with self.database.session_scope() as session:
            cleared = service.clear_cache(session, actor=actor, cache=self.components.cache,
                                          generations=self.generations, caches=self.caches)
        return convert.cleared(cleared)

    def RefreshMaterializedViews(self, request: operations_pb2.RefreshMaterializedViewsRequest,
                                 context: grpc.ServicerContext
                                 ) -> operations_pb2.RefreshMaterializedViewsResponse:
        actor = caller()
        with self.database.session_scope() as session:
            refreshed = service.refresh_materialized_views(session, actor=actor)
        return convert.refreshed(refreshed)


def build(components: Components) -> OperationsServicer:
    """The servicer of the running process (`hotgigs.manifest`): every cache group's generation."""
    return OperationsServicer(components, manifest.CACHE_GENERATIONS, manifest.CACHE_NAMES)
