"""Health: dependency checks, the REST health RPC and the standard grpc.health.v1 statuses."""
