"""A real Redis for lessons 01 (Redis cache) and 05 (Router state shared across processes).

:func:`redis_url` returns ``REDIS_URL`` if it is set, else starts a throwaway
``redis-server`` from PATH on a free loopback port (no persistence; it dies with the
kernel), else raises :class:`RedisUnavailable` with a Russian explanation of how to
install one. Never a fake.
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import socket
import subprocess
import time
from urllib.parse import urlparse

from course_helpers import guard
from course_helpers.provider import child_env
from course_helpers.session import state_dir

_started: dict[str, subprocess.Popen] = {}

INSTALL_HELP = (
    "Redis не найден: нет переменной REDIS_URL и нет программы redis-server в PATH.\n"
    "Как получить Redis:\n"
    "  • Debian/Ubuntu: sudo apt-get install -y redis-server\n"
    "  • macOS (Homebrew): brew install redis\n"
    "  • Docker: docker run -p 6379:6379 redis, затем REDIS_URL=redis://127.0.0.1:6379\n"
    "  • Уже есть сервер: задайте REDIS_URL=redis://хост:порт перед запуском JupyterLab.\n"
    "Части урока без Redis работают и так; ячейки с Redis можно пропустить."
)


class RedisUnavailable(RuntimeError):
    """No Redis to use; the message says how to get one (Russian)."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ping_url(url: str, timeout: float = 0.5) -> bool:
    """True if the Redis at ``url`` answers PING (logging in with the URL's password, if any)."""
    import redis  # the course's Redis client (requirements.txt); imported only when Redis is used

    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def start_redis_server(binary: str = "redis-server") -> str:
    """Start a throwaway redis-server on 127.0.0.1 and a free port; return its URL."""
    path = shutil.which(binary)
    if path is None:
        raise RedisUnavailable(INSTALL_HELP)
    # a random password: another local user or a web page cannot read or fill the cache
    password = secrets.token_urlsafe(18)
    for _ in range(3):  # a free port can be taken between the check and the start
        port = _free_port()
        # under a guard: survives kernel interrupts, stops when the kernel dies; log to a file.
        # The password goes in through stdin (a config file read from "-"), never on the command line.
        process = guard.spawn(
            [path, "-", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
             "--protected-mode", "yes", "--loglevel", "warning"],
            log=state_dir() / "logs" / f"redis-{os.getpid()}.log", env=child_env(),
            stdin_text=f"requirepass {password}\n",
        )
        url = f"redis://:{password}@127.0.0.1:{port}"
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and process.poll() is None:
            if ping_url(url):
                _started[url] = process
                atexit.register(guard.stop, process)
                return url
            time.sleep(0.05)
        guard.stop(process)
    raise RedisUnavailable(f"redis-server из {path} не запустился. {INSTALL_HELP}")


def redact(url: str) -> str:
    """A Redis URL safe to print: the password (if any) replaced by ``***``."""
    parsed = urlparse(url)
    if parsed.password is None:
        return url
    user = f"{parsed.username}:" if parsed.username else ":"
    host = parsed.hostname or ""
    return parsed._replace(netloc=f"{user}***@{host}{':' + str(parsed.port) if parsed.port else ''}").geturl()


def redis_url() -> str:
    """URL of a Redis to use (see module docstring). Same URL on repeated calls."""
    env = os.environ.get("REDIS_URL")
    if env:
        if not ping_url(env):
            raise RedisUnavailable(f"REDIS_URL={redact(env)} задан, но Redis по этому адресу не отвечает на PING (сервер не запущен или пароль в URL неверен). "
                                   "Запустите сервер или уберите переменную, чтобы курс поднял свой.")
        return env
    for url, process in _started.items():
        if process.poll() is None:
            return url
    return start_redis_server()


def stop_redis_servers() -> None:
    """Stop every redis-server this process started."""
    for process in _started.values():
        guard.stop(process)
    _started.clear()
