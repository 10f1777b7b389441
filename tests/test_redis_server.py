"""redis_url(): a real redis-server, REDIS_URL, or a Russian how-to."""

from __future__ import annotations

import redis
import pytest

from course_helpers import redis_server
from course_helpers.redis_server import RedisUnavailable


def test_real_server_answers_and_url_is_stable(redis_url) -> None:
    client = redis.Redis.from_url(redis_url)
    client.set("k", "v")
    assert client.get("k") == b"v"
    assert redis_server.redis_url() == redis_url
    assert redis_server.redis_host_port(redis_url)[0] == "127.0.0.1"


def test_redis_url_env_is_used(redis_url, monkeypatch) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    assert redis_server.redis_url() == redis_url


def test_dead_redis_url_is_explained(monkeypatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:9")
    with pytest.raises(RedisUnavailable, match="не отвечает на PING"):
        redis_server.redis_url()


def test_no_redis_server_explains_how_to_install(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(redis_server, "_started", {})
    with pytest.raises(RedisUnavailable, match="apt-get install -y redis-server"):
        redis_server.redis_url()
