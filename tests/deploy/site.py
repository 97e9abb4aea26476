"""The deploy's nginx site as the tests reach it (tests/deploy/conftest.py starts it)."""

from __future__ import annotations

import ssl

import httpx

from hotgigs.dev.edge import Edge


class Site:
    def __init__(self, edge: Edge) -> None:
        self.http = edge.http_url
        self.https = edge.https_url
        self.cert = edge.certificate

    def client(self, **kwargs: object) -> httpx.Client:
        context = ssl.create_default_context(cafile=str(self.cert))
        return httpx.Client(verify=context, timeout=10, **kwargs)  # type: ignore[arg-type]
