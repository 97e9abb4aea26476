"""Operations figures into `hotgigs.v1.operations_pb2` messages: pure functions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hotgigs.core.protos import timestamp
from hotgigs.operations import service
from hotgigs.telemetry.metrics import CacheLookups, QueryCounts
from hotgigs.v1 import operations_pb2

if TYPE_CHECKING:  # rows as the statistics views hand them over
    import sqlalchemy as sa


def performance_in(request: operations_pb2.GetPerformanceRequest
                   | operations_pb2.GetJobsPerformanceRequest) -> service.PerformanceIn:
    return service.PerformanceIn(limit=request.limit if request.HasField("limit") else None)


def pool(figures: service.Pool) -> operations_pb2.DatabasePool:
    return operations_pb2.DatabasePool(size=figures.size, in_use=figures.in_use,
                                       idle=figures.idle, overflow=figures.overflow)


def _ratio(hit: int, miss: int) -> float:
    return round(hit / (hit + miss), 4) if hit + miss else 0.0


def database(row: sa.Row[Any] | None) -> operations_pb2.DatabaseStats:
    if row is None:
        return operations_pb2.DatabaseStats()
    return operations_pb2.DatabaseStats(
        cache_hit_ratio=_ratio(row.blks_hit, row.blks_read), blocks_hit=row.blks_hit,
        blocks_read=row.blks_read, transactions_committed=row.xact_commit,
        transactions_rolled_back=row.xact_rollback, rows_read=row.rows_read,
        rows_written=row.rows_written, connections=row.numbackends, deadlocks=row.deadlocks,
        stats_reset=timestamp(row.stats_reset))


def query_counts(counts: QueryCounts) -> operations_pb2.QueryCounts:
    by_kind = counts.by_operation
    return operations_pb2.QueryCounts(
        total=counts.total, select=by_kind.get("SELECT", 0), insert=by_kind.get("INSERT", 0),
        update=by_kind.get("UPDATE", 0), delete=by_kind.get("DELETE", 0),
        other=by_kind.get("OTHER", 0), mean_ms=round(counts.mean_ms, 3))


def statements(found: service.Statements) -> operations_pb2.StatementStats:
    return operations_pb2.StatementStats(
        available=found.available, note=found.note, total_calls=found.total_calls,
        slowest=[operations_pb2.SlowStatement(
            query=row.query or "", calls=row.calls, mean_ms=round(row.mean_ms, 3),
            max_ms=round(row.max_ms, 3), total_ms=round(row.total_ms, 3), rows=row.rows)
            for row in found.slowest])


def answer_cache(lookups: CacheLookups) -> operations_pb2.AnswerCacheStats:
    return operations_pb2.AnswerCacheStats(name=lookups.name, hits=lookups.hits,
                                           misses=lookups.misses,
                                           hit_ratio=_ratio(lookups.hits, lookups.misses))


def performance(figures: service.Performance) -> operations_pb2.GetPerformanceResponse:
    return operations_pb2.GetPerformanceResponse(
        timestamp=timestamp(figures.at), pool=pool(figures.pool), database=database(figures.database),
        query_counts=query_counts(figures.queries), slow_queries=statements(figures.statements),
        answer_caches=[answer_cache(lookups) for lookups in figures.caches])


def jobs_performance(figures: service.JobsPerformance) -> operations_pb2.GetJobsPerformanceResponse:
    table = figures.table
    return operations_pb2.GetJobsPerformanceResponse(
        timestamp=timestamp(figures.at), pool=pool(figures.pool),
        live_rows=table.n_live_tup if table else 0, dead_rows=table.n_dead_tup if table else 0,
        sequential_scans=table.seq_scan if table else 0,
        index_scans=table.idx_scan if table else 0,
        indexes=[operations_pb2.IndexUsage(name=row.name, scans=row.idx_scan,
                                           size_bytes=row.size_bytes) for row in figures.indexes],
        search_cache=answer_cache(figures.search_cache),
        slow_queries=statements(figures.statements))


def cleared(result: service.Cleared) -> operations_pb2.ClearCacheResponse:
    count = len(result.generations)
    return operations_pb2.ClearCacheResponse(
        message=f"Cache cleared: {count} cache generation{'s' if count != 1 else ''} bumped, "
                f"so every worker recomputes {', '.join(result.caches)} answers",
        generations=list(result.generations), caches=result.caches)


NOTHING_PRECOMPUTED = ("Nothing to refresh: the analytics read model precomputes nothing (no "
                       "materialized views or summary tables); every analytics answer is "
                       "computed from the tables when asked and cached for at most 15 s "
                       "(POST /api/cache/clear drops those answers at once)")


def refreshed(result: service.Refreshed) -> operations_pb2.RefreshMaterializedViewsResponse:
    if not result.names:
        return operations_pb2.RefreshMaterializedViewsResponse(message=NOTHING_PRECOMPUTED)
    return operations_pb2.RefreshMaterializedViewsResponse(
        message=f"Refreshed {', '.join(result.names)}", refreshed=result.names)
