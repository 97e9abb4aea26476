"""HotGigs backend: the gRPC services of the job platform and everything needed to run them."""

__version__ = "0.1.0"
