"""The embedded servers refuse to stand in for someone else's: a port taken between
`free_port()` and the bind (another stack or test session on this machine) is an error, not a
silent connection to another server's data."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from hotgigs.dev.embedded import EmbeddedRedis, EmbeddedServerError


def test_redis_on_a_port_another_redis_serves_is_refused(tmp_path: Path) -> None:
    theirs = EmbeddedRedis(tmp_path / "theirs")
    theirs.start()
    try:
        with redis.Redis(host="127.0.0.1", port=theirs.port) as client:
            client.set("owner", "theirs")
        ours = EmbeddedRedis(tmp_path / "ours", port=theirs.port)
        with pytest.raises(EmbeddedServerError, match="another Redis"):
            ours.start()
        assert ours.process is None  # our failed server is stopped, not left behind
        with redis.Redis(host="127.0.0.1", port=theirs.port) as client:
            assert client.get("owner") == b"theirs"  # theirs untouched and still serving
    finally:
        theirs.stop()


def test_redis_started_answers_as_itself(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis")
    server.start()
    try:
        assert server.process is not None
        with redis.Redis(host="127.0.0.1", port=server.port) as client:
            assert int(client.info("server")["process_id"]) == server.process.pid
    finally:
        server.stop()
