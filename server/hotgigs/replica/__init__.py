"""Read-only work on a PostgreSQL streaming replica (DATABASE_REPLICA_URL), with the primary as
the fallback; `router.ReadReplica` routes, `generations` keeps cached answers read there safe."""
