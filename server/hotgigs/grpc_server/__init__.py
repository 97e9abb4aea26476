"""The gRPC server: interceptor chain, service registration, health, reflection, shutdown."""
