"""Start the practice provider in its own process and control it from Python.

Used by :func:`course_helpers.start_lesson` (every lesson) and by the tests. Talks to
the provider only over HTTP, exactly as a learner could with ``curl``.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from course_helpers import guard
from course_helpers.practice import PRACTICE_KEY

READY_TIMEOUT_S = 15.0


class ProviderError(RuntimeError):
    """The practice provider could not be started or reached (message in Russian)."""


class PracticeProvider:
    """Handle of a running practice provider: URLs, faults, latency, limits, keys, credits, stats."""

    def __init__(self, url: str, key: str = PRACTICE_KEY, process: subprocess.Popen | None = None) -> None:
        self.url = url.rstrip("/")
        self.key = key
        self.process = process

    # --- where LiteLLM should send requests -------------------------------------------
    def api_base(self, flavor: str = "openrouter", deployment: str | None = None) -> str:
        """Base URL for LiteLLM: ``openrouter`` -> ``.../api/v1``, ``openai`` -> ``.../v1``.

        With ``deployment="d1"`` the URL gets a ``/d1`` prefix: an independent deployment
        with its own faults, latency, limits and stats (lesson 05).
        """
        if flavor not in ("openrouter", "openai"):
            raise ValueError("flavor должен быть 'openrouter' или 'openai'")
        prefix = f"/{deployment}" if deployment else ""
        return f"{self.url}{prefix}{'/api/v1' if flavor == 'openrouter' else '/v1'}"

    @property
    def generate_url(self) -> str:
        """URL of the non-OpenAI ``POST /generate`` API (lesson 04)."""
        return f"{self.url}/generate"

    # --- control ------------------------------------------------------------------
    def _call(self, method: str, action: str, body: dict[str, Any] | None = None) -> Any:
        """A control call ``/_practice/<action>`` (control calls need the practice key)."""
        return self._request(urllib.request.Request(
            f"{self.url}/_practice/{action}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.key}"},
        ))

    def _request(self, request: urllib.request.Request) -> Any:
        """Send a request, return its JSON; errors as ValueError (refused) or ProviderError (no answer)."""
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as e:
            message = json.loads(e.read() or b"{}").get("error", {}).get("message", str(e))
            raise ValueError(f"Практический провайдер отклонил команду: {message}") from None
        except (urllib.error.URLError, ConnectionError, TimeoutError) as e:
            raise ProviderError(
                f"Практический провайдер по адресу {self.url} не отвечает ({e}). "
                "Перезапустите ячейку с start_lesson(...) — она поднимет провайдер заново."
            ) from None

    def fail(self, model: str = "*", status: int = 503, *, kind: str = "status", times: int | None = None,
             probability: float | None = None, retry_after: float | None = None,
             deployment: str | None = None) -> None:
        """Inject a fault for ``model`` (OpenRouter id such as ``openai/gpt-4o-mini``).

        ``kind``: ``status`` (answer ``status``), ``hang`` (never answer), ``drop`` (close the
        connection), ``malformed`` (broken JSON), ``empty`` (``{}``), ``context_length`` (400 in
        the flavour's wording), and two errors *after the model started* (``status`` is the
        error's code): ``error_in_body`` — OpenRouter answers HTTP 200 with ``{"error": {...}}``;
        ``error_in_choice`` — HTTP 200 with the partial answer, ``finish_reason: "error"`` and
        ``choices[0].error``. For both, a stream sends half of the answer, then a ``data:`` event
        carrying ``error``, and ends. On the OpenAI path (``/v1``) both are a plain ``status`` error
        without stream, and the half answer plus an ``{"error": {...}}`` event with stream.
        Without ``times`` or ``probability`` the fault stays until :meth:`clear_faults`.
        """
        self._call("POST", "faults", {"model": model, "deployment": deployment or "*", "kind": kind,
                                      "status": status, "times": times, "probability": probability,
                                      "retry_after": retry_after})

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        self._call("DELETE", "faults")

    def set_latency(self, model: str = "*", *, base_ms: float | None = None, per_token_ms: float | None = None,
                    jitter: float | None = None, deployment: str | None = None) -> None:
        """Latency model of one model (and deployment): base + per generated token."""
        self._call("POST", "latency", {"model": model, "deployment": deployment or "*", "base_ms": base_ms,
                                       "per_token_ms": per_token_ms, "jitter": jitter})

    def set_latency_scale(self, scale: float) -> None:
        """Scale every latency: 1.0 realistic, 0.0 instant."""
        self._call("POST", "latency", {"scale": scale})

    def latency_scale(self) -> float:
        """The current scale of every latency (``scripts/budget_overshoot.py`` restores it)."""
        return self._call("POST", "latency", {})["scale"]

    def set_limits(self, model: str = "*", *, rpm: int | None = None, tpm: int | None = None,
                   deployment: str | None = None, retry_after: bool = True) -> None:
        """Requests / tokens per minute; above them the provider answers 429 (with ``Retry-After``
        unless ``retry_after=False``: OpenRouter "may" send it, so a client must cope without)."""
        self._call("POST", "limits", {"model": model, "deployment": deployment or "*", "rpm": rpm, "tpm": tpm,
                                      "retry_after": retry_after})

    def create_key(self, label: str, limit: float | None = None) -> str:
        """A new API key (valid on both paths) with an optional credit limit in USD; returns the key."""
        return self._call("POST", "keys", {"label": label, "limit": limit})["key"]

    def set_credit_limit(self, limit: float | None, key: str | None = None) -> None:
        """Credit limit in USD of ``key`` (default: the practice key); ``None`` removes it.

        When a key's usage reaches its limit, chat calls with it get 402 (OpenRouter path) or
        429 ``insufficient_quota`` (OpenAI path). Usage accrues from the billed cost of answers.
        """
        self._call("POST", "credit_limit", {"limit": limit, "key": key})

    def key_info(self, key: str | None = None) -> dict[str, Any]:
        """The ``GET /api/v1/key`` body of ``key`` (default: the practice key): ``data.limit``,
        ``data.usage``, ``data.limit_remaining``, ``data.label``..."""
        return self._request(urllib.request.Request(f"{self.api_base('openrouter')}/key",
                                                    headers={"Authorization": f"Bearer {key or self.key}"}))

    def stats(self) -> dict[str, Any]:
        """Requests, statuses, tokens and cost, in total and per deployment and model."""
        return self._call("GET", "stats")

    def log(self) -> list[dict[str, Any]]:
        """Every request the provider received, in order (model, deployment, status, cost...)."""
        return self._call("GET", "log")

    def requests(self, model: str | None = None, deployment: str | None = None) -> int:
        """How many requests reached the provider (optionally for one model / deployment)."""
        return sum(1 for e in self.log() if (model is None or e["model"] == model)
                   and (deployment is None or e["deployment"] == deployment))

    def reset(self) -> None:
        """Forget faults, limits, latency overrides, extra keys, credit limits and usage, and stats."""
        self._call("POST", "reset", {})

    def healthy(self) -> bool:
        """True if the provider answers its health check."""
        try:
            return bool(self._call("GET", "health").get("ok"))
        except (ProviderError, ValueError):
            return False

    def stop(self) -> None:
        """Stop the provider process (it also stops by itself when its parent exits)."""
        if self.process is not None:
            guard.stop(self.process)

    def __repr__(self) -> str:
        return f"PracticeProvider(url={self.url!r})"


def child_env() -> dict[str, str]:
    """The environment for processes the course starts: this one's, minus secrets (API keys,
    tokens, passwords have no business in the practice provider or redis-server), plus the
    course package on PYTHONPATH."""
    root = str(Path(__file__).resolve().parent.parent)
    secret = ("_API_KEY", "_TOKEN", "_SECRET", "_PASSWORD")
    env = {k: v for k, v in os.environ.items() if not k.endswith(secret) and k != "REDIS_URL"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    return env


def start_provider(latency_scale: float | None = None, seed: int = 0) -> PracticeProvider:
    """Start ``python -m course_helpers.practice`` on a free port and wait until it is ready.

    It runs under :mod:`course_helpers.guard`: a kernel interrupt does not reach it, and it
    stops when this process (the kernel) dies. Its stderr goes to ``<state>/logs/provider-*.log``.
    """
    from course_helpers.session import state_dir

    if latency_scale is None:
        latency_scale = float(os.environ.get("COURSE_LATENCY_SCALE", "1.0"))
    log = state_dir() / "logs" / f"provider-{os.getpid()}.log"
    process = guard.spawn([sys.executable, "-m", "course_helpers.practice", "--port", "0", "--ready-json",
                           "--latency-scale", str(latency_scale), "--seed", str(seed)],
                          log=log, env=child_env(), stdout=subprocess.PIPE)
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(READY_TIMEOUT_S)
    if not line or not line[0].strip():
        guard.stop(process)
        err = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
        raise ProviderError(f"Практический провайдер не запустился за {READY_TIMEOUT_S:.0f} с. {err[-500:]}")
    info = json.loads(line[0])
    atexit.register(guard.stop, process)
    provider = PracticeProvider(info["url"], info["key"], process)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not provider.healthy():
        if time.monotonic() > deadline:
            provider.stop()
            raise ProviderError("Практический провайдер запустился, но не отвечает на /_practice/health.")
        time.sleep(0.05)
    return provider
