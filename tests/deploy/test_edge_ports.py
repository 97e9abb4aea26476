"""The local nginx edge starts even when a port it chose is taken before nginx binds it (other
test runs share the machine): it chooses new ports and starts again."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hotgigs.dev import edge
from hotgigs.dev.embedded import free_port
from tests.support.servers import RunningEnvoy


def test_a_port_taken_before_nginx_binds_it_is_chosen_again(
        envoy: RunningEnvoy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))  # noqa: S104 - nginx's listen binds every address
        taken.listen()
        busy = taken.getsockname()[1]

        def ports() -> Iterator[int]:
            yield busy  # the first attempt's HTTP port is already in use
            while True:
                yield free_port()

        chosen = ports()
        monkeypatch.setattr(edge, "free_port", lambda: next(chosen))
        with edge.nginx(tmp_path, [envoy.base_url.removeprefix("http://")]) as running:
            assert f":{busy}" not in running.http_url
            assert httpx.get(f"{running.http_url}/", timeout=10).status_code == 301
