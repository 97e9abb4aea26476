"""Fault injection with real processes and real faults: each test starts its own pieces
(PostgreSQL, Redis, workers, Envoy on free loopback ports), drives load and breaks one."""
