"""redis_url(): a real redis-server, REDIS_URL, or a Russian how-to."""

from __future__ import annotations

import subprocess
from urllib.parse import urlparse

import pytest
import redis

from course_helpers import redis_server
from course_helpers.redis_server import RedisUnavailable


def test_real_server_answers_and_url_is_stable(redis_url) -> None:
    client = redis.Redis.from_url(redis_url)
    client.set("k", "v")
    assert client.get("k") == b"v"
    assert redis_server.redis_url() == redis_url
    assert urlparse(redis_url).hostname == "127.0.0.1"


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


def test_throwaway_server_has_a_random_password_kept_off_the_command_line(redis_url) -> None:
    """Issue 12: any local process (or a browser page via a loopback port) could read the course's cache."""
    parsed = urlparse(redis_url)
    assert parsed.password and len(parsed.password) >= 20, "the course's own redis-server gets a password"
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(host=parsed.hostname, port=parsed.port).ping()
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(host=parsed.hostname, port=parsed.port, password="wrong-password").ping()
    assert parsed.password not in redis_server.redact(redis_url)
    process = redis_server._started[redis_url]
    cmdlines = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    assert f":{parsed.port}" in cmdlines or str(parsed.port) in cmdlines, "the server is running"
    assert parsed.password not in cmdlines, "the password must not be visible in ps"
    assert process.poll() is None


def test_redis_url_with_password_is_checked_with_auth(redis_url, monkeypatch) -> None:
    parsed = urlparse(redis_url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    assert redis_server.redis_url() == redis_url
    monkeypatch.setenv("REDIS_URL", f"redis://:wrong@127.0.0.1:{parsed.port}")
    with pytest.raises(RedisUnavailable, match="не отвечает на PING") as failure:
        redis_server.redis_url()
    assert "wrong" not in str(failure.value), "the message redacts the password"
