"""Run LiteLLM Proxy replicas (the gateway of lesson 08) as processes on loopback.

Each replica is ``python -m litellm.proxy.proxy_cli --config <yaml>`` on 127.0.0.1 and a free
port, started under :mod:`course_helpers.guard` like the practice provider: a kernel interrupt
does not reach it, it stops when the kernel dies, and its output goes to a log file.

The committed ``notebooks/gateway/config.yaml`` is static: the practice provider's URLs and key,
Redis and the gateway's master key reach it through ``os.environ/NAME`` references, which
:func:`gateway_env` fills in. No ``DATABASE_URL``: the replicas run without a database.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from course_helpers import guard
from course_helpers.provider import PracticeProvider, child_env
from course_helpers.redis_server import _free_port
from course_helpers.session import REPO_ROOT, state_dir

CONFIG_DIR = REPO_ROOT / "notebooks" / "gateway"
CONFIG = CONFIG_DIR / "config.yaml"
READY_TIMEOUT_S = 120.0  # ~7 s on an idle machine; much longer when the CPUs are busy
DEPLOYMENTS = ("d1", "d2", "d3")

# module the proxy imports at start -> the package of requirements-proxy.txt that provides it
PROXY_MODULES = {"websockets": "websockets", "backoff": "backoff", "apscheduler": "apscheduler", "mcp": "mcp",
                 "expression": "expression", "fastapi_sso": "fastapi-sso", "uvicorn": "uvicorn"}

_master_key: list[str] = []
_running: list["Gateway"] = []


class GatewayUnavailable(RuntimeError):
    """The gateway could not be started; the message (Russian) says what to do."""


def missing_packages() -> list[str]:
    """Packages of requirements-proxy.txt (locked in requirements.lock) that are not installed here."""
    return [package for module, package in PROXY_MODULES.items() if importlib.util.find_spec(module) is None]


def packages_problem() -> str | None:
    """What to run when the proxy's packages are missing (Russian), or None when they are all there."""
    missing = missing_packages()
    if not missing:
        return None
    return ("Для урока 08 нужны пакеты LiteLLM Proxy, их нет в этом окружении: " + ", ".join(missing) + ".\n"
            "Запустите в терминале из папки курса:\n"
            "    bash scripts/setup.sh\n"
            "(ставит всё по requirements.lock; без него — .venv/bin/pip install -r requirements.lock),\n"
            "затем перезапустите ядро (Kernel → Restart).")


def check_packages() -> None:
    """Lesson 08's setup cell: print what to install if the proxy's packages are missing (nothing otherwise)."""
    problem = packages_problem()
    if problem:
        print("⚠️ " + problem)


def master_key() -> str:
    """The gateway's master key: ``LITELLM_MASTER_KEY`` if set, else a random one for this kernel.

    LiteLLM refuses well-known keys such as ``sk-1234`` (``UnsafeMasterKeyError``).
    """
    if not _master_key:
        _master_key.append(os.environ.get("LITELLM_MASTER_KEY") or "sk-" + secrets.token_urlsafe(24))
    return _master_key[0]


def gateway_env(provider: PracticeProvider, redis: str | None = None, key: str | None = None) -> dict[str, str]:
    """Environment of a replica: what the ``os.environ/...`` references of the config read."""
    env = {k: v for k, v in child_env().items() if k not in ("DATABASE_URL", "DIRECT_URL")}
    env.update(LITELLM_MASTER_KEY=key or master_key(), LITELLM_LOCAL_MODEL_COST_MAP="True", PRACTICE_KEY=provider.key,
               NO_DOCS="True", NO_REDOC="True", LITELLM_MODE="PRODUCTION")
    for name in DEPLOYMENTS:
        env[f"PRACTICE_{name.upper()}"] = provider.api_base("openai", deployment=name)
    if redis is not None:
        parsed = urlparse(redis)
        env.update(REDIS_HOST=parsed.hostname or "127.0.0.1", REDIS_PORT=str(parsed.port or 6379),
                   REDIS_PASSWORD=parsed.password or "")
    return env


@dataclass
class Gateway:
    """One running proxy replica: its URL, master key, process and log file."""

    url: str
    key: str
    process: subprocess.Popen = field(repr=False)
    log: Path = field(repr=False)
    started_s: float = 0.0  # seconds from launch to a live /health/liveliness
    provider_url: str = ""  # the practice provider its deployments point to

    def client(self, **options: Any):
        """An ``openai.OpenAI`` client pointed at this replica (its base URL and master key)."""
        import openai

        return openai.OpenAI(base_url=self.url, api_key=self.key, **options)

    def alive(self) -> bool:
        """True if the replica answers its liveness endpoint."""
        try:
            with urllib.request.urlopen(f"{self.url}/health/liveliness", timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            return False

    def log_text(self) -> str:
        """The replica's whole log so far ("" before it writes one)."""
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def log_tail(self, chars: int = 1500) -> str:
        """The end of the replica's log (why it did not start, what it complained about)."""
        return self.log_text()[-chars:]

    def log_error(self) -> str | None:
        """The last exception line of the replica's log (``…Error: why``), wherever the proxy's banners put it:
        its stdout and stderr share the log, and their order at exit varies (seen on Debian's Python 3.11.2)."""
        found = re.findall(r"^(?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception)(?::.*)?$", self.log_text(), re.M)
        return found[-1] if found else None

    def stop(self) -> None:
        """Stop the replica (it also stops by itself when the kernel dies)."""
        guard.stop(self.process, timeout=10)
        if self in _running:
            _running.remove(self)

    def __repr__(self) -> str:
        return f"Gateway(url={self.url!r})"


def start_gateway(provider: PracticeProvider, config: Path | str = CONFIG, *, redis: str | None = None,
                  name: str = "a", key: str | None = None) -> Gateway:
    """Start one proxy replica with ``config`` and wait until it is live.

    ``redis``: URL of the Redis the config's ``os.environ/REDIS_*`` references point to.
    ``key``: the master key (default: :func:`master_key`).
    """
    problem = packages_problem()
    if problem:
        raise GatewayUnavailable(problem)
    port = _free_port()
    log = state_dir() / "logs" / f"gateway-{name}-{os.getpid()}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("", encoding="utf-8")  # this start's log only (guard.spawn appends)
    started = time.monotonic()
    with open(log, "ab") as out:
        process = guard.spawn([sys.executable, "-m", "litellm.proxy.proxy_cli", "--config", str(config),
                               "--host", "127.0.0.1", "--port", str(port)],
                              log=log, env=gateway_env(provider, redis, key), stdout=out)
    gateway = Gateway(f"http://127.0.0.1:{port}", key or master_key(), process, log, provider_url=provider.url)
    atexit.register(guard.stop, process)
    deadline = started + READY_TIMEOUT_S
    while not gateway.alive():
        if process.poll() is not None or time.monotonic() > deadline:
            guard.stop(process)
            reason = "процесс завершился" if process.poll() is not None else f"не ответил за {READY_TIMEOUT_S:.0f} с"
            error = gateway.log_error()
            raise GatewayUnavailable(f"Шлюз (LiteLLM Proxy) не запустился: {reason}."
                                     + (f"\nОшибка: {error}" if error else "")
                                     + f"\nКонец журнала {log}:\n" + gateway.log_tail())
        time.sleep(0.1)
    gateway.started_s = time.monotonic() - started
    _running.append(gateway)
    return gateway


def start_gateways(provider: PracticeProvider, config: Path | str = CONFIG, *, n: int = 2,
                   redis: str | None = None) -> list[Gateway]:
    """Start ``n`` replicas of the same config in parallel (replicas ``a``, ``b``, …)."""
    names = [chr(ord("a") + i) for i in range(n)]
    with ThreadPoolExecutor(n) as pool:
        futures = [pool.submit(start_gateway, provider, config, redis=redis, name=name) for name in names]
        errors = [f.exception() for f in futures]
        gateways = [f.result() for f in futures if f.exception() is None]
    if any(errors):
        for gateway in gateways:
            gateway.stop()
        raise next(e for e in errors if e is not None)
    return gateways


def load_config(path: Path | str = CONFIG) -> dict[str, Any]:
    """The gateway's config as a dict (to read it, or to derive a variant)."""
    import yaml

    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def write_config(config: dict[str, Any], path: Path | str) -> Path:
    """Write a config dict as YAML (a variant of the lesson's config); returns the path."""
    import yaml

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def without_redis(config: dict[str, Any]) -> dict[str, Any]:
    """The same config with nothing shared: no Redis in ``router_settings``, an in-memory cache."""
    router = {k: v for k, v in config.get("router_settings", {}).items() if not k.startswith("redis_")}
    litellm_settings = dict(config.get("litellm_settings", {}))
    if "cache_params" in litellm_settings:
        litellm_settings["cache_params"] = {"type": "local", "ttl": litellm_settings["cache_params"].get("ttl", 600)}
    return {**config, "router_settings": router, "litellm_settings": litellm_settings}


def running_replica(provider: PracticeProvider) -> Gateway:
    """A live replica of this kernel on ``provider`` (the lesson's own), else a new one started
    with the config without Redis (used by the checkers of lesson 08)."""
    for replica in _running:
        if replica.alive() and replica.provider_url == provider.url:
            return replica
    config = write_config(without_redis(load_config()), state_dir() / "gateway" / "config-checks.yaml")
    return start_gateway(provider, config, name="checks")
