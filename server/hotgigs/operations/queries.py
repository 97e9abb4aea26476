"""Every SQL statement of the operations module: PostgreSQL's statistics views only
(pg_stat_database, pg_stat_user_tables, pg_stat_user_indexes, pg_stat_statements); no table of
the API is read here. Each takes a `Reader`: the performance reads run on the autocommit read
connection, so a statement PostgreSQL refuses (pg_stat_statements not loaded) spoils nothing."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from hotgigs.db import Reader

_DATABASE = sa.text("""
    SELECT blks_hit, blks_read, xact_commit, xact_rollback,
           tup_returned + tup_fetched AS rows_read,
           tup_inserted + tup_updated + tup_deleted AS rows_written,
           numbackends, deadlocks, stats_reset
    FROM pg_stat_database WHERE datname = current_database()""")
_TABLE = sa.text("""
    SELECT n_live_tup, n_dead_tup, seq_scan, coalesce(idx_scan, 0) AS idx_scan
    FROM pg_stat_user_tables WHERE relid = to_regclass(:table)""")
_INDEXES = sa.text("""
    SELECT indexrelname AS name, idx_scan, pg_relation_size(indexrelid) AS size_bytes
    FROM pg_stat_user_indexes WHERE relid = to_regclass(:table)
    ORDER BY idx_scan DESC, indexrelname""")
_EXTENSION_SCHEMA = sa.text("""
    SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pg_stat_statements'""")


def database_stats(reader: Reader) -> sa.Row[Any] | None:
    """PostgreSQL's counters for the current database."""
    return reader.execute(_DATABASE).one_or_none()


def table_stats(reader: Reader, *, table: str) -> sa.Row[Any] | None:
    """Scans and rows of one table of the public schema (None when it does not exist)."""
    return reader.execute(_TABLE, {"table": table}).one_or_none()


def index_stats(reader: Reader, *, table: str) -> list[sa.Row[Any]]:
    """Each index of one table: name, scans, size; most scanned first."""
    return list(reader.execute(_INDEXES, {"table": table}).all())


def statements_schema(reader: Reader) -> str | None:
    """The schema pg_stat_statements is installed in, or None when it is not installed."""
    return reader.execute(_EXTENSION_SCHEMA).scalar_one_or_none()


def _statements_view(schema: str) -> sa.TableClause:
    return sa.table("pg_stat_statements", sa.column("dbid"), sa.column("query"),
                    sa.column("calls"), sa.column("mean_exec_time"), sa.column("max_exec_time"),
                    sa.column("total_exec_time"), sa.column("rows"), schema=schema)


_THIS_DATABASE: sa.ColumnClause[Any] = sa.literal_column(
    "(SELECT oid FROM pg_database WHERE datname = current_database())")


def slowest_statements(reader: Reader, *, schema: str, limit: int, table: str | None,
                       text_max: int) -> tuple[int, list[sa.Row[Any]]]:
    """(calls of every statement tracked in this database, the `limit` slowest by mean
    execution time, each at most `text_max` characters of text); with `table`, only the
    statements naming that table (as a whole word). Raises when the extension is installed
    but not loaded."""
    view = _statements_view(schema)  # SQLAlchemy quotes the catalog's schema name
    where = [view.c.dbid == _THIS_DATABASE]
    if table is not None:
        where.append(view.c.query.op("~*")(sa.func.concat(r"\m", table, r"\M")))
    total = reader.execute(sa.select(sa.func.coalesce(sa.func.sum(view.c.calls), 0))
                           .where(*where)).scalar_one()
    rows: list[Any] = list(reader.execute(
        sa.select(sa.func.left(view.c.query, text_max).label("query"), view.c.calls,
                  view.c.mean_exec_time.label("mean_ms"), view.c.max_exec_time.label("max_ms"),
                  view.c.total_exec_time.label("total_ms"), view.c.rows)
        .where(*where).order_by(view.c.mean_exec_time.desc()).limit(limit)).all())
    return int(total), rows
