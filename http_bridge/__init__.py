"""The REST bridge: Envoy config rendered from settings, the descriptor set build, the Envoy process."""
