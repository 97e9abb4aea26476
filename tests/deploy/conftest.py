"""Fixtures shared by the deploy tests: the deploy's nginx site in front of the suite's Envoy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hotgigs.dev import edge
from tests.deploy.site import Site
from tests.support.servers import RunningEnvoy


@pytest.fixture(scope="session", name="site")
def site_fixture(envoy: RunningEnvoy, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The deploy template, rendered as the Ansible role does, run by the real nginx."""
    folder = tmp_path_factory.mktemp("nginx")
    with edge.nginx(folder, [envoy.base_url.removeprefix("http://")]) as running:
        yield Site(running)
