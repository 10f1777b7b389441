"""The practice provider: a local LLM API server that stands in for OpenRouter / OpenAI.

Introduced in lesson 00 and used by every lesson. It runs in its own process on
127.0.0.1 (``python -m course_helpers.practice``), speaks the chat-completions API on
``/v1/...`` (OpenAI flavour) and ``/api/v1/...`` (OpenRouter flavour, with
``usage.cost``), streams SSE, answers ``response_format`` JSON schemas, serves the
non-OpenAI ``POST /generate`` API, and injects faults, latency and rate limits on
demand. A path prefix tells deployments apart: ``/d1/v1``, ``/d2/api/v1``.

Control API (JSON): ``GET /_practice/health`` (open to anyone), and, with the practice key
(``Authorization: Bearer <key>``): ``GET /_practice/stats``, ``GET /_practice/log``,
``GET|POST|DELETE /_practice/faults``, ``POST /_practice/latency``, ``POST /_practice/limits``,
``POST /_practice/keys``, ``POST /_practice/credit_limit``, ``POST /_practice/reset``.

Who may talk to it: every path but health refuses (403) a request whose ``Host`` is not a
loopback name (DNS rebinding) or that carries an ``Origin`` other than the provider's own (a web
page open in the learner's browser); control calls without the practice key get 401. The HTTP
layer is ``aiohttp.web``'s low-level server (keep-alive, chunked bodies, TCP_NODELAY), with an idle
/ header timeout (``--idle-timeout``), a body timeout, a 1 MB body limit enforced while reading,
and bounds on what a ``response_format`` schema may demand (400 above them).

What is modelled after whom (see tests/test_conformance.py, which validates the answers
against OpenAI's published OpenAPI schema and OpenRouter's own ``openapi.yaml``):

* OpenRouter (``/api/v1``; OpenRouterTeam/docs, ``api_reference/errors-and-debugging.mdx``,
  ``streaming.mdx``, ``limits.mdx``, ``cookbook/administration/usage-accounting.mdx``):
  ``usage`` with ``cost`` and ``cost_details`` in every answer, in streams always in the last
  SSE message; ``: OPENROUTER PROCESSING`` keep-alive comments while a stream waits for its
  first token; errors ``{"error": {"code", "message", "metadata"}}``; an error after the model
  started is an HTTP 200 (error in the body, or an SSE ``data:`` event with ``error`` and a
  ``finish_reason: "error"`` choice); per-key credit limits answered with 402 and shown by
  ``GET /api/v1/key``; ``X-Generation-Id`` on every chat answer that reached a model.
* OpenAI (``/v1``; openai/openai-openapi): every required field of
  ``CreateChatCompletionResponse`` / ``CreateChatCompletionStreamResponse`` / ``ErrorResponse``,
  ``usage`` in streams only with ``stream_options.include_usage``, no ``cost``.

This module never imports LiteLLM.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import hmac
import ipaddress
import json
import logging
import math
import os
import platform
import random
import signal
import sys
import threading
import time
import traceback
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from http import HTTPStatus
from typing import Any, NoReturn, TypeVar

from aiohttp import web

from course_helpers import practice_data as data

PRACTICE_KEY = "practice-key-litellm-course"
MAX_BODY = 1_000_000  # bytes; a larger request gets 413 (counted while the body arrives)
HANG_LIMIT_S = 120.0  # a "hang" fault gives up after this long if the client never does
# A connection that has not sent a complete request head this long after it opened (or after its
# previous answer) is closed: idle keep-alive connections and slowloris alike. Longer than the
# keep-alive of common clients (httpx 5 s, aiohttp 15 s), so they close theirs first.
IDLE_TIMEOUT_S = 30.0
BODY_TIMEOUT_S = 10.0  # a body that has not fully arrived this long after its head gets 408
# Tokenizing is CPU work done in the event loop; for a body larger than this (~8k tokens, a few ms
# of tokenizing) it moves to a worker thread, so a huge prompt never stalls the other clients.
INLINE_BODY = 32_000
# What a ``response_format`` JSON schema may demand (more is a 400): a model with 16k output
# tokens could not write more than ~100 000 characters either.
SCHEMA_MAX_ITEMS = 1_000  # minItems
SCHEMA_MAX_STRING = 10_000  # minLength
SCHEMA_MAX_OUTPUT = 100_000  # characters of the whole JSON answer
SCHEMA_MAX_DEPTH = 32  # nesting, $ref chains included
SCHEMA_FULL_DEPTH = 8  # deeper than this, only what the schema requires (recursive schemas end)
SCHEMA_TYPES = ("object", "array", "string", "integer", "number", "boolean", "null")
SERVER = f"PracticeProvider/1.0 Python/{platform.python_version()}"
T = TypeVar("T")
# ``error_in_body`` / ``error_in_choice``: the model started, then failed (OpenRouter answers 200;
# see ``Exchange._generation_error``). The other kinds fail before any answer.
FAULT_KINDS = ("status", "hang", "drop", "malformed", "empty", "context_length", "error_in_body", "error_in_choice")
GENERATION_FAULTS = ("error_in_body", "error_in_choice")
FAULT_STATUSES = (400, 401, 402, 403, 404, 408, 409, 413, 422, 429, 500, 502, 503, 504)
# OpenRouter's typed ``error.metadata.error_type`` for each status (errors-and-debugging.mdx,
# "Typed error codes"; the enum is ``ApiErrorType`` in OpenRouter's openapi.yaml).
ERROR_TYPES_OPENROUTER = {400: "invalid_request", 401: "authentication", 402: "payment_required",
                          403: "permission_denied", 404: "not_found", 408: "timeout", 409: "unmapped",
                          413: "payload_too_large", 422: "unprocessable", 429: "rate_limit_exceeded",
                          500: "server", 502: "provider_unavailable", 503: "provider_overloaded", 504: "timeout"}
# The docs give no period for the ``: OPENROUTER PROCESSING`` comments ("occasionally ... to prevent
# connection timeouts"); one per second of (scaled) waiting is our choice.
KEEPALIVE_S = 1.0
KEEPALIVE = b": OPENROUTER PROCESSING\n\n"
ROLES = {"system", "user", "assistant", "tool", "developer", "function"}
ANY = "*"


class ApiError(Exception):
    """An error answered to the client in the provider's error format."""

    def __init__(self, status: int, message: str, code: str | None = None,
                 param: str | None = None, headers: dict[str, str] | None = None,
                 metadata: dict[str, Any] | None = None, openai_type: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.headers = headers or {}
        self.metadata = metadata  # OpenRouter ``error.metadata``; default ``{"reason": code}``
        self.openai_type = openai_type  # OpenAI ``error.type``; default by status


@dataclass
class Fault:
    """A fault to inject: for the next ``times`` calls, or with ``probability`` (seeded)."""

    model: str = ANY
    deployment: str = ANY
    kind: str = "status"
    status: int = 503
    times: int | None = None
    probability: float | None = None
    retry_after: float | None = None


@dataclass
class Latency:
    """Latency model: ``base_ms`` to first token, ``per_token_ms`` after, ±``jitter`` share."""

    base_ms: float
    per_token_ms: float
    jitter: float = 0.1


@dataclass
class Limit:
    """Requests / tokens per minute for one (deployment, model); 429 above them."""

    rpm: int | None = None
    tpm: int | None = None
    retry_after: bool = True  # send ``Retry-After`` with the 429 (OpenRouter: "may include")
    window: deque = field(default_factory=deque)  # (monotonic time, tokens)


@dataclass
class ApiKey:
    """An API key with an optional credit limit in USD (OpenRouter's per-key credit cap)."""

    key: str
    label: str
    limit: float | None = None
    usage: float = 0.0  # USD billed to this key so far

    def info(self) -> dict[str, Any]:
        """The ``GET /api/v1/key`` body (fields and types as in OpenRouter's openapi.yaml)."""
        usage = round(self.usage, 10)
        remaining = None if self.limit is None else round(max(0.0, self.limit - usage), 10)
        return {"data": {
            "label": self.label, "limit": self.limit, "limit_remaining": remaining, "limit_reset": None,
            "include_byok_in_limit": False,
            # the practice provider lives for one session: day, week and month are all "so far"
            "usage": usage, "usage_daily": usage, "usage_weekly": usage, "usage_monthly": usage,
            "byok_usage": 0.0, "byok_usage_daily": 0.0, "byok_usage_weekly": 0.0, "byok_usage_monthly": 0.0,
            "is_free_tier": False, "is_management_key": False, "is_provisioning_key": False,
            "creator_user_id": None, "expires_at": None,
            "rate_limit": {"requests": -1, "interval": "10s", "note": "This field is deprecated and safe to ignore."},
        }}


def _number(value: Any, name: str, low: float, high: float, integer: bool = False) -> float | int | None:
    """Validate an optional numeric control field, or raise a 400 ApiError."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
        kind = "целым числом" if integer else "числом"
        raise ApiError(400, f"Поле '{name}' должно быть {kind}.", "invalid_control", name)
    if not (low <= value <= high) or (isinstance(value, float) and math.isnan(value)):
        raise ApiError(400, f"Поле '{name}' должно быть в диапазоне [{low}, {high}].", "invalid_control", name)
    return value


def _usd(amount: float) -> str:
    """Dollars without exponent or trailing zeros: 1e-05 -> '0.00001'."""
    return f"{amount:.10f}".rstrip("0").rstrip(".") or "0"


def _name(value: Any, field_name: str) -> str:
    """Validate a model / deployment selector of a control call (``*`` means any).

    Model names are canonicalised (``gpt-4o`` -> ``openai/gpt-4o``), so a fault set for
    either spelling hits both the OpenAI and the OpenRouter path.
    """
    if value is None:
        return ANY
    if not isinstance(value, str) or not value or len(value) > 200:
        raise ApiError(400, f"Поле '{field_name}' должно быть непустой строкой.", "invalid_control", field_name)
    if field_name != "model" or value == ANY:
        return value
    spec = data.resolve_model(value.removeprefix("openrouter/"))
    if spec is None:  # a typo here would silently never fire: refuse it
        known = ", ".join([*data.MODELS, data.GENERATE_MODEL.name])
        raise ApiError(400, f"Модель '{value}' не найдена — такой сбой никогда бы не сработал. Доступны: {known}.",
                       "invalid_control", field_name)
    return spec.name


class PracticeState:
    """All mutable state of the provider, guarded by one lock."""

    def __init__(self, latency_scale: float = 1.0, seed: int = 0, key: str = PRACTICE_KEY) -> None:
        self.lock = threading.Lock()
        self.key = key
        self.seed = seed
        self.default_scale = latency_scale
        self.reset()

    def reset(self) -> None:
        """Back to the start: no faults, limits, extra keys, credit usage or stats; default latency and seed."""
        with getattr(self, "lock", threading.Lock()):
            self.resets = getattr(self, "resets", -1) + 1  # a reset also ends the hangs in progress
            self.faults: list[Fault] = []
            self.latency: dict[tuple[str, str], Latency] = {}
            self.limits: dict[tuple[str, str], Limit] = {}
            self.keys: dict[str, ApiKey] = {self.key: ApiKey(self.key, "practice-key")}
            self.scale = self.default_scale
            self.rng = random.Random(self.seed)  # seeded: faults with probability and jitter repeat
            self.counter = 0
            self.log: deque[dict[str, Any]] = deque(maxlen=20_000)
            self.in_flight = 0

    # --- control -----------------------------------------------------------------
    def add_fault(self, body: dict[str, Any]) -> Fault:
        """Validate and register a fault from a control call."""
        kind = body.get("kind", "status")
        if kind not in FAULT_KINDS:
            raise ApiError(400, f"Неизвестный вид сбоя {kind!r}; допустимо: {', '.join(FAULT_KINDS)}.", "invalid_control", "kind")
        status = _number(body.get("status", 503), "status", 100, 599, integer=True)
        if kind == "status" and status not in FAULT_STATUSES:
            raise ApiError(400, f"Статус {status} не поддерживается; допустимо: {FAULT_STATUSES}.", "invalid_control", "status")
        fault = Fault(
            model=_name(body.get("model"), "model"),
            deployment=_name(body.get("deployment"), "deployment"),
            kind=kind,
            status=int(status),
            times=_number(body.get("times"), "times", 1, 1_000_000, integer=True),
            probability=_number(body.get("probability"), "probability", 0.0, 1.0),
            retry_after=_number(body.get("retry_after"), "retry_after", 0, 3600),
        )
        if kind in GENERATION_FAULTS and status not in FAULT_STATUSES:
            raise ApiError(400, f"Статус {status} не поддерживается; допустимо: {FAULT_STATUSES}.", "invalid_control", "status")
        if fault.times is not None and fault.probability is not None:
            raise ApiError(400, "Укажите либо 'times', либо 'probability', не оба.", "invalid_control", "times")
        unknown = set(body) - {"model", "deployment", "kind", "status", "times", "probability", "retry_after"}
        if unknown:
            raise ApiError(400, f"Неизвестные поля: {sorted(unknown)}.", "invalid_control", sorted(unknown)[0])
        with self.lock:
            self.faults.append(fault)
        return fault

    def set_latency(self, body: dict[str, Any]) -> dict[str, Any]:
        """Set the global scale and/or one (deployment, model) latency model."""
        scale = _number(body.get("scale"), "scale", 0, 100)
        model = _name(body.get("model"), "model")
        deployment = _name(body.get("deployment"), "deployment")
        base = _number(body.get("base_ms"), "base_ms", 0, 600_000)
        per_token = _number(body.get("per_token_ms"), "per_token_ms", 0, 60_000)
        jitter = _number(body.get("jitter"), "jitter", 0, 1)
        with self.lock:
            if scale is not None:
                self.scale = float(scale)
            if base is not None or per_token is not None or jitter is not None:
                current = self._latency_for(deployment, model)
                self.latency[(deployment, model)] = Latency(
                    base_ms=current.base_ms if base is None else float(base),
                    per_token_ms=current.per_token_ms if per_token is None else float(per_token),
                    jitter=current.jitter if jitter is None else float(jitter),
                )
            return {"scale": self.scale}

    def set_limits(self, body: dict[str, Any]) -> None:
        """Set rpm / tpm for a (deployment, model); both None removes the limit.

        ``retry_after`` (default true): whether the 429 carries a ``Retry-After`` header.
        """
        model = _name(body.get("model"), "model")
        deployment = _name(body.get("deployment"), "deployment")
        rpm = _number(body.get("rpm"), "rpm", 1, 10_000_000, integer=True)
        tpm = _number(body.get("tpm"), "tpm", 1, 1_000_000_000, integer=True)
        retry_after = body.get("retry_after")
        if retry_after is not None and not isinstance(retry_after, bool):
            raise ApiError(400, "Поле 'retry_after' должно быть true или false.", "invalid_control", "retry_after")
        with self.lock:
            if rpm is None and tpm is None:
                self.limits.pop((deployment, model), None)
            else:
                self.limits[(deployment, model)] = Limit(rpm=rpm, tpm=tpm, retry_after=retry_after is not False)

    def create_key(self, body: dict[str, Any]) -> ApiKey:
        """A new API key (label, optional credit limit in USD), valid on both flavours."""
        unknown = set(body) - {"label", "limit"}
        if unknown:
            raise ApiError(400, f"Неизвестные поля: {sorted(unknown)}.", "invalid_control", sorted(unknown)[0])
        label = body.get("label")
        if not isinstance(label, str) or not label.strip() or len(label) > 100:
            raise ApiError(400, "Поле 'label' должно быть непустой строкой (до 100 символов).", "invalid_control", "label")
        limit = _number(body.get("limit"), "limit", 0, 1_000_000)
        with self.lock:
            key = ApiKey(f"sk-or-v1-practice-{len(self.keys):03d}", label.strip(), None if limit is None else float(limit))
            self.keys[key.key] = key
        return key

    def set_credit_limit(self, body: dict[str, Any]) -> ApiKey:
        """Set (or with ``limit: null`` remove) the credit limit of a key (default: the practice key)."""
        unknown = set(body) - {"limit", "key"}
        if unknown:
            raise ApiError(400, f"Неизвестные поля: {sorted(unknown)}.", "invalid_control", sorted(unknown)[0])
        limit = _number(body.get("limit"), "limit", 0, 1_000_000)
        name = body.get("key") or self.key
        with self.lock:
            key = self.keys.get(name) if isinstance(name, str) else None
            if key is None:
                raise ApiError(400, "Такого ключа нет у практического провайдера.", "invalid_control", "key")
            key.limit = None if limit is None else float(limit)
        return key

    def api_key(self, token: str) -> ApiKey | None:
        """The key a request presented, or None if the provider does not know it."""
        with self.lock:
            return self.keys.get(token)

    def check_credits(self, key: ApiKey, flavor: str) -> None:
        """402 (OpenRouter) if the key's usage has reached its limit.

        Checked before the call, billed after it (``bill``), as OpenRouter describes credit
        limits: the call that crosses the limit still succeeds, and so does every call already
        in flight when the limit is reached (concurrency lets usage overshoot the limit).
        """
        with self.lock:
            if key.limit is None or key.usage < key.limit:
                return
            limit, usage = key.limit, key.usage
        if flavor == "openai":  # OpenAI has no 402: an exhausted quota is a 429 ``insufficient_quota``
            raise ApiError(429, "You exceeded your current quota, please check your plan and billing details. For "
                                "more information on this error, read the docs: "
                                "https://platform.openai.com/docs/guides/error-codes/api-errors.",
                           "insufficient_quota", openai_type="insufficient_quota")
        raise ApiError(402, f"Insufficient credits: the credit limit of this API key (${_usd(limit)}) is used up "
                            f"(usage ${_usd(usage)}). Raise the key's limit or use another key "
                            "(GET /api/v1/key shows limit_remaining).", "insufficient_credits",
                       metadata={"error_type": "payment_required"})

    def bill(self, key: ApiKey, cost: float) -> None:
        """Add a call's cost to its key's usage (once the answer has been generated)."""
        with self.lock:
            key.usage += cost

    # --- per request ----------------------------------------------------------------
    def _latency_for(self, deployment: str, model: str) -> Latency:
        for key in ((deployment, model), (deployment, ANY), (ANY, model), (ANY, ANY)):
            if key in self.latency:
                return self.latency[key]
        spec = data.resolve_model(model)
        return Latency(spec.base_ms, spec.per_token_ms) if spec else Latency(300, 5)

    def delays(self, deployment: str, model: str, tokens: int) -> tuple[float, float]:
        """Seconds to first token and per token for one call (scaled, seeded jitter)."""
        with self.lock:
            lat = self._latency_for(deployment, model)
            factor = 1 + self.rng.uniform(-lat.jitter, lat.jitter)
            scale = self.scale
        return lat.base_ms * factor * scale / 1000, lat.per_token_ms * factor * scale / 1000

    def pick_fault(self, deployment: str, model: str) -> Fault | None:
        """The fault to apply to this call, if any (consumes one of ``times``)."""
        with self.lock:
            for fault in self.faults:
                if fault.model not in (ANY, model) or fault.deployment not in (ANY, deployment):
                    continue
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
                if fault.probability is None or self.rng.random() < fault.probability:
                    return fault
        return None

    def admit(self, deployment: str, model: str, tokens: int) -> dict[str, str]:
        """Apply rpm/tpm limits; return x-ratelimit headers or raise a 429 ApiError."""
        with self.lock:
            limit = next((self.limits[k] for k in ((deployment, model), (ANY, model), (deployment, ANY), (ANY, ANY))
                          if k in self.limits), None)
            if limit is None:
                return {}
            now = time.monotonic()
            while limit.window and now - limit.window[0][0] >= 60:
                limit.window.popleft()
            used_requests = len(limit.window)
            used_tokens = sum(t for _, t in limit.window)
            reset = 60 - (now - limit.window[0][0]) if limit.window else 0.0
            headers: dict[str, str] = {}
            if limit.rpm is not None:
                headers["x-ratelimit-limit-requests"] = str(limit.rpm)
                headers["x-ratelimit-reset-requests"] = f"{reset:.1f}s"
            if limit.tpm is not None:
                headers["x-ratelimit-limit-tokens"] = str(limit.tpm)
                headers["x-ratelimit-reset-tokens"] = f"{reset:.1f}s"
            over_rpm = limit.rpm is not None and used_requests >= limit.rpm
            over_tpm = limit.tpm is not None and used_tokens + tokens > limit.tpm
            if over_rpm or over_tpm:
                if limit.rpm is not None:
                    headers["x-ratelimit-remaining-requests"] = str(max(0, limit.rpm - used_requests))
                if limit.tpm is not None:
                    headers["x-ratelimit-remaining-tokens"] = str(max(0, limit.tpm - used_tokens))
                if limit.retry_after:
                    headers["Retry-After"] = str(max(1, math.ceil(reset)))
                what = f"{limit.rpm} запросов в минуту" if over_rpm else f"{limit.tpm} токенов в минуту"
                raise ApiError(429, f"Превышен лимит {what} для модели {model} (развёртывание {deployment}).",
                               "rate_limit_exceeded", headers=headers)
            limit.window.append((now, tokens))
            if limit.rpm is not None:
                headers["x-ratelimit-remaining-requests"] = str(limit.rpm - used_requests - 1)
            if limit.tpm is not None:
                headers["x-ratelimit-remaining-tokens"] = str(max(0, limit.tpm - used_tokens - tokens))
            return headers

    def record(self, **entry: Any) -> int:
        """Append one request to the log; returns its sequence number."""
        with self.lock:
            self.counter += 1
            entry["n"] = self.counter
            entry["t"] = round(time.time(), 3)
            self.log.append(entry)
            return self.counter

    def stats(self) -> dict[str, Any]:
        """Totals per deployment, model and status: the ground truth lessons plot."""
        with self.lock:
            log = list(self.log)
        by_dep: dict[str, Counter] = {}
        by_model: dict[str, Counter] = {}
        statuses: Counter = Counter()
        totals: Counter = Counter()
        for e in log:
            for table, key in ((by_dep, e["deployment"]), (by_model, e["model"])):
                c = table.setdefault(key, Counter())
                c["requests"] += 1
                c[f"status_{e['status']}"] += 1
                c["prompt_tokens"] += e.get("prompt_tokens", 0)
                c["completion_tokens"] += e.get("completion_tokens", 0)
                c["cost"] += e.get("cost", 0.0)
            statuses[str(e["status"])] += 1
            totals["prompt_tokens"] += e.get("prompt_tokens", 0)
            totals["completion_tokens"] += e.get("completion_tokens", 0)
            totals["cost"] += e.get("cost", 0.0)

        def plain(c: Counter) -> dict[str, Any]:
            out = dict(c)
            out["cost"] = round(out.get("cost", 0.0), 10)
            return out

        return {
            "requests": len(log),
            "statuses": dict(statuses),
            "prompt_tokens": totals["prompt_tokens"],
            "completion_tokens": totals["completion_tokens"],
            "cost": round(totals["cost"], 10),
            "by_deployment": {k: plain(v) for k, v in sorted(by_dep.items())},
            "by_model": {k: plain(v) for k, v in sorted(by_model.items())},
        }


# --- answers ---------------------------------------------------------------------------

def _schema_error(message: str, code: str = "invalid_schema") -> ApiError:
    return ApiError(400, f"response_format: {message}", code, "response_format")


def _short(value: Any) -> str:
    """A value quoted in an error message: its JSON, cut to 40 characters."""
    try:
        return json.dumps(value, ensure_ascii=False)[:40]
    except (ValueError, RecursionError):
        return type(value).__name__


class _SchemaExample:
    """Builds a valid, deterministic value for a JSON schema, within the SCHEMA_* bounds.

    Every value it produces is paid for from a budget of SCHEMA_MAX_OUTPUT characters, so the
    work is bounded whatever the schema asks; a schema that asks for more is a 400.
    """

    def __init__(self, text: str, defs: Any) -> None:
        if not isinstance(defs, dict):
            raise _schema_error("'$defs' / 'definitions' должны быть объектом.")
        self.text = text
        self.defs = defs
        self.left = SCHEMA_MAX_OUTPUT

    def spend(self, chars: int) -> None:
        self.left -= chars
        if self.left < 0:
            raise _schema_error(f"схема требует ответа длиннее {SCHEMA_MAX_OUTPUT} символов JSON — столько модель "
                                "не напишет.", "schema_too_large")

    def literal(self, value: Any) -> Any:
        """A value given by the schema itself (const, enum, default)."""
        try:
            self.spend(len(json.dumps(value, ensure_ascii=False, allow_nan=False)))
        except (ValueError, RecursionError):
            raise _schema_error("значение const / enum / default не записывается в JSON.") from None
        return value

    def count(self, schema: dict[str, Any], keyword: str) -> int | None:
        value = schema.get(keyword)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise _schema_error(f"'{keyword}' должно быть неотрицательным целым числом.")
        return value

    def bound(self, schema: dict[str, Any], keyword: str) -> float | None:
        value = schema.get(keyword)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _schema_error(f"'{keyword}' должно быть числом.")
        try:
            if math.isfinite(float(value)):
                return value
        except OverflowError:
            pass
        raise _schema_error(f"'{keyword}' вне диапазона чисел JSON-ответа.")

    def value(self, schema: Any, name: str = "", depth: int = 0) -> Any:
        if schema is True:
            schema = {}
        if not isinstance(schema, dict):
            raise _schema_error(f"подсхема должна быть объектом, а не {_short(schema)}.")
        if depth > SCHEMA_MAX_DEPTH:
            raise _schema_error(f"схема вложена глубже {SCHEMA_MAX_DEPTH} уровней (или бесконечно ссылается сама на "
                                "себя через обязательные поля).", "schema_too_large")
        if "$ref" in schema:
            ref = schema["$ref"]
            if not isinstance(ref, str):
                raise _schema_error("'$ref' должно быть строкой.")
            return self.value(self.defs.get(ref.split("/")[-1], {}), name, depth + 1)
        for combo in ("anyOf", "oneOf", "allOf"):
            options = schema.get(combo)
            if options is None:
                continue
            if not isinstance(options, list) or not all(isinstance(o, (dict, bool)) for o in options):
                raise _schema_error(f"'{combo}' должно быть списком подсхем.")
            if options:
                plain = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")] or options
                return self.value(plain[0], name, depth + 1)
        if "const" in schema:
            return self.literal(schema["const"])
        enum = schema.get("enum")
        if enum is not None and not isinstance(enum, list):
            raise _schema_error("'enum' должно быть списком.")
        if enum:
            return self.literal(enum[0])
        if "default" in schema:
            return self.literal(schema["default"])
        kind = schema.get("type", "object" if "properties" in schema else "string")
        if isinstance(kind, list) and all(isinstance(k, str) for k in kind):
            kind = next((k for k in kind if k != "null"), "null")
        if kind not in SCHEMA_TYPES:
            raise _schema_error(f"неизвестный 'type' {_short(kind)}; "
                                f"допустимо: {', '.join(SCHEMA_TYPES)}.")
        return getattr(self, f"_{kind}")(schema, name, depth)

    def _object(self, schema: dict[str, Any], name: str, depth: int) -> dict[str, Any]:
        props, required = schema.get("properties", {}), schema.get("required", [])
        if not isinstance(props, dict):
            raise _schema_error("'properties' должно быть объектом {имя: подсхема}.")
        if not isinstance(required, list):
            raise _schema_error("'required' должно быть списком имён.")
        if depth > SCHEMA_FULL_DEPTH:  # deep inside: only what is required, so recursive schemas end
            props = {k: v for k, v in props.items() if k in required}
        self.spend(2)
        out = {}
        for key, sub in props.items():
            self.spend(len(key) + 4)
            out[key] = self.value(sub, key, depth + 1)
        return out

    def _array(self, schema: dict[str, Any], name: str, depth: int) -> list[Any]:
        low, high = self.count(schema, "minItems"), self.count(schema, "maxItems")
        if low is not None and low > SCHEMA_MAX_ITEMS:
            raise _schema_error(f"minItems {low} больше допустимых {SCHEMA_MAX_ITEMS}.", "schema_too_large")
        if low is not None and high is not None and low > high:
            raise _schema_error(f"minItems {low} больше maxItems {high}: такой массив невозможен.")
        items = schema.get("items", {})
        if isinstance(items, bool):
            items = {} if items else None
        elif not isinstance(items, dict):
            raise _schema_error("'items' должно быть подсхемой (объектом).")
        count = (low or 0) if depth > SCHEMA_FULL_DEPTH else max(1, 2 if low is None else low)
        if high is not None:
            count = min(count, high)
        if items is None:  # "items": false
            if low:
                raise _schema_error("'items': false при minItems > 0: такой массив невозможен.")
            count = 0
        self.spend(2)
        return [self.value(items, name, depth + 1) for _ in range(count)]

    def _integer(self, schema: dict[str, Any], name: str, depth: int) -> int:
        low, high = self.bound(schema, "minimum"), self.bound(schema, "maximum")
        if low is not None and high is not None and math.ceil(low) > math.floor(high):
            raise _schema_error(f"minimum {low} больше maximum {high}.")
        value = max(0 if low is None else math.ceil(low), min(3 if high is None else math.floor(high),
                                                               len(self.text) % 5 + 1))
        if high is not None:
            value = min(value, math.floor(high))
        self.spend(len(str(value)))
        return value

    def _number(self, schema: dict[str, Any], name: str, depth: int) -> float:
        low, high = self.bound(schema, "minimum"), self.bound(schema, "maximum")
        if low is not None and high is not None and low > high:
            raise _schema_error(f"minimum {low} больше maximum {high}.")
        value = float(max(0.0 if low is None else low, min(1.0 if high is None else high, 0.9)))
        if high is not None:
            value = min(value, float(high))
        self.spend(len(repr(value)))
        return value

    def _boolean(self, schema: dict[str, Any], name: str, depth: int) -> bool:
        self.spend(4)
        return True

    def _null(self, schema: dict[str, Any], name: str, depth: int) -> None:
        self.spend(4)
        return None

    def _string(self, schema: dict[str, Any], name: str, depth: int) -> str:
        low, high = self.count(schema, "minLength"), self.count(schema, "maxLength")
        if low is not None and low > SCHEMA_MAX_STRING:
            raise _schema_error(f"minLength {low} больше допустимых {SCHEMA_MAX_STRING}.", "schema_too_large")
        if low is not None and high is not None and low > high:
            raise _schema_error(f"minLength {low} больше maxLength {high}: такая строка невозможна.")
        if "title" in name or "name" in name or "keyword" in name or "tag" in name:
            value = " ".join(self.text.split()[:3]).strip(".,—")
        else:
            value = self.text
        if high is not None:
            value = value[:high]
        if low is not None and len(value) < low:
            filler = " " + (self.text or "ответ")
            value = (value + filler * (low // len(filler) + 1))[:low]
        self.spend(len(value) + 2)
        return value


def example_for_schema(schema: Any, text: str) -> Any:
    """A valid, deterministic value for a JSON schema (answers ``response_format``).

    Raises a 400 ApiError for a malformed schema or one that demands more than the SCHEMA_* bounds.
    """
    if not isinstance(schema, dict):
        raise _schema_error("'json_schema.schema' должно быть объектом (JSON-схемой).")
    return _SchemaExample(text, schema.get("$defs", schema.get("definitions", {}))).value(schema)


def build_answer(body: dict[str, Any], spec: data.ModelSpec) -> tuple[str, str, int, int]:
    """Answer text, finish_reason, prompt tokens, completion tokens for a chat request."""
    messages = body["messages"]
    last_user = next((data.message_text(m) for m in reversed(messages) if m.get("role") == "user"), "")
    text = data.answer_for(last_user)
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        wrapper = fmt.get("json_schema") or {}
        if not isinstance(wrapper, dict):
            raise _schema_error("'json_schema' должно быть объектом {name, schema}.")
        text = json.dumps(example_for_schema(wrapper.get("schema") or {}, text), ensure_ascii=False)
    elif isinstance(fmt, dict) and fmt.get("type") == "json_object":
        text = json.dumps({"answer": text}, ensure_ascii=False)
    prompt = data.prompt_tokens(messages, spec.encoding)
    tokens = data.encode(text, spec.encoding)
    finish = "stop"
    max_tokens = body.get("max_tokens") or body.get("max_completion_tokens")
    if isinstance(max_tokens, int) and len(tokens) > max_tokens:
        tokens = tokens[:max_tokens]
        text = data.decode(tokens, spec.encoding)
        finish = "length"
    return text, finish, prompt, len(tokens)


def _validate_content(i: int, content: Any) -> None:
    """``content``: a string, null, or a list of parts (objects; a ``text`` part has a string ``text``)."""
    if content is None or isinstance(content, str):
        return
    if not isinstance(content, list):
        raise ApiError(400, f"messages[{i}].content должен быть строкой или списком частей.", "invalid_request", "messages")
    for j, part in enumerate(content):
        where = f"messages[{i}].content[{j}]"
        if not isinstance(part, dict):
            raise ApiError(400, f"{where} должна быть объектом вида {{\"type\": \"text\", \"text\": \"...\"}}.",
                           "invalid_request", "messages")
        kind = part.get("type")
        if kind is not None and not isinstance(kind, str):
            raise ApiError(400, f"{where}.type должен быть строкой.", "invalid_request", "messages")
        if "text" in part or kind == "text":
            if not isinstance(part.get("text"), str):
                raise ApiError(400, f"{where}.text должен быть строкой.", "invalid_request", "messages")


def validate_chat(body: Any) -> None:
    """Reject malformed chat requests with a 400 that names the offending field."""
    if not isinstance(body, dict):
        raise ApiError(400, "Тело запроса должно быть JSON-объектом.", "invalid_request")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise ApiError(400, "Поле 'model' обязательно и должно быть строкой.", "invalid_request", "model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "Поле 'messages' должно быть непустым списком сообщений.", "invalid_request", "messages")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str) or m["role"] not in ROLES:
            raise ApiError(400, f"messages[{i}]: нужен объект с 'role' из {sorted(ROLES)}.", "invalid_request", "messages")
        _validate_content(i, m.get("content"))
    for name, low, high in (("max_tokens", 1, 1_000_000), ("max_completion_tokens", 1, 1_000_000), ("n", 1, 1)):
        value = body.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high):
            raise ApiError(400, f"Поле '{name}' должно быть целым числом от {low} до {high}.", "invalid_request", name)
    temperature = body.get("temperature")
    if temperature is not None and (isinstance(temperature, bool) or not isinstance(temperature, (int, float))
                                    or not 0 <= temperature <= 2):
        raise ApiError(400, "Поле 'temperature' должно быть числом от 0 до 2.", "invalid_request", "temperature")
    for name in ("stream",):
        if name in body and body[name] is not None and not isinstance(body[name], bool):
            raise ApiError(400, f"Поле '{name}' должно быть true или false.", "invalid_request", name)
    for name in ("response_format", "stream_options"):
        if body.get(name) is not None and not isinstance(body[name], dict):
            raise ApiError(400, f"Поле '{name}' должно быть объектом.", "invalid_request", name)


def parse_json_body(raw: bytes) -> Any:
    """The JSON of a request body, or a 400: not JSON, NaN / Infinity, lone UTF-16 surrogates."""
    if not raw:
        raise ApiError(400, "Пустое тело запроса: ожидался JSON.", "invalid_request")

    def no_constant(name: str) -> NoReturn:
        raise ValueError(f"{name} — не число JSON")

    try:
        body = json.loads(raw, parse_constant=no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:  # ValueError: also ints of > 4300 digits
        raise ApiError(400, f"Тело запроса — не JSON: {e}", "invalid_json") from None
    if b"\\u" in raw:  # only an escape can smuggle in a lone surrogate (\ud800), which is not Unicode text
        try:
            json.dumps(body, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ApiError(400, "Тело запроса содержит одиночный суррогат UTF-16 (например \\ud800) — это не текст "
                                "Unicode.", "invalid_json") from None
    return body


# --- HTTP ----------------------------------------------------------------------------

@dataclass
class Timeouts:
    """How long the provider waits for a client's request bytes (slowloris protection)."""

    idle: float = IDLE_TIMEOUT_S  # for a complete request head, from connect / the previous answer
    body: float = BODY_TIMEOUT_S  # for the whole body, from the end of the head


def _loopback_host(host: str) -> bool:
    """True for a ``Host`` header naming this machine: ``localhost``, ``127.x.x.x``, ``[::1]`` (port optional)."""
    name = host if host.endswith("]") else host.rpartition(":")[0] or host  # without the port
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _response(status: int, payload: bytes, content_type: str, headers: dict[str, str] | None = None,
              close: bool = False) -> web.Response:
    response = web.Response(status=status, body=payload,
                            headers={"Content-Type": content_type, "Server": SERVER, **(headers or {})})
    if close:
        response.force_close()
    return response


def _json_response(status: int, obj: Any, headers: dict[str, str] | None = None, close: bool = False) -> web.Response:
    return _response(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"), "application/json", headers, close)


class Exchange:
    """One request to the practice provider and its answer."""

    def __init__(self, state: PracticeState, timeouts: Timeouts, request: web.BaseRequest) -> None:
        self.state = state
        self.timeouts = timeouts
        self.request = request
        self.response: web.StreamResponse | None = None
        self.close = False  # close the connection after this answer
        self.body_size = 0

    async def dispatch(self) -> web.StreamResponse:
        method, path = self.request.method, self.request.raw_path.split("?", 1)[0]
        deployment, flavor, endpoint = self._split(path)  # before the body: its errors use the path's format
        try:
            if (method, path) == ("GET", "/_practice/health"):  # open to anyone: "is it up?"
                self._json(200, {"ok": True, "models": list(data.MODELS), "prices_as_of": data.PRICES_AS_OF})
                return self.response
            self._check_origin()
            control = path.startswith("/_practice/")
            if control:
                self._authorize_control()
            body = await self._read_body() if method == "POST" else None
            if control:
                self._control(method, path[len("/_practice/"):], body)
            elif path == "/generate" and method == "POST":
                await self._generate(body)
            elif endpoint == "chat/completions" and method == "POST":
                await self._chat(deployment, flavor, body)
            elif endpoint == "models" and method == "GET":
                self._authenticate()
                self._json(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in data.MODELS]})
            elif endpoint == "key" and method == "GET" and flavor == "openrouter":
                self._json(200, self._authenticate().info())  # OpenRouter's GET /api/v1/key
            else:
                raise ApiError(404, f"Нет такого пути: {method} {path}. Чат: POST /v1/chat/completions "
                                    "или /api/v1/chat/completions.", "not_found")
        except ApiError as e:
            self._error(e, flavor)
        except ConnectionError:  # the client went away (aiohttp raises ConnectionResetError on writes)
            self._drop()
        except Exception as e:  # a bug in the provider: answer 500 in the error format, never drop silently
            traceback.print_exc()
            self._error(ApiError(500, f"Внутренняя ошибка практического провайдера: {type(e).__name__}: {e}",
                                 "internal_error"), flavor)
        return self.response

    @staticmethod
    def _split(path: str) -> tuple[str, str, str]:
        """``/d1/api/v1/chat/completions`` -> (deployment, flavour, endpoint)."""
        parts = [p for p in path.split("/") if p]
        deployment = "default"
        if parts and parts[0] not in ("v1", "api"):
            deployment, parts = parts[0], parts[1:]
        if parts[:2] == ["api", "v1"]:
            return deployment, "openrouter", "/".join(parts[2:])
        if parts[:1] == ["v1"]:
            return deployment, "openai", "/".join(parts[1:])
        return deployment, "openrouter", "?"

    # who may ask
    def _check_origin(self) -> None:
        """403 for browsers on other sites: a ``Host`` that is not a loopback name (DNS rebinding), or
        an ``Origin`` other than the provider's own ``http://<Host>`` (a page open in the browser)."""
        host, origin = self.request.headers.get("Host"), self.request.headers.get("Origin")
        if host is not None and not _loopback_host(host):
            raise ApiError(403, f"Практический провайдер отвечает только по loopback-адресу (127.0.0.1, localhost); "
                                f"запрос к Host {host[:100]!r} отклонён.", "forbidden_host")
        if origin is not None and (host is None or origin.lower() != f"http://{host}".lower()):
            raise ApiError(403, "Практический провайдер не принимает запросы со страниц других сайтов "
                                f"(Origin {origin[:100]!r}).", "forbidden_origin")

    def _authorize_control(self) -> None:
        """Control calls need the practice key itself (not a key made with /_practice/keys)."""
        header = self.request.headers.get("Authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        if not hmac.compare_digest(token.encode(), self.state.key.encode()):
            raise ApiError(401, "Управляющие команды /_practice/... требуют практического ключа: заголовок "
                                "'Authorization: Bearer <ключ>'.", "invalid_api_key" if token else "missing_api_key")

    def _authenticate(self) -> ApiKey:
        """The key of this request, or a 401 (missing / unknown key)."""
        header = self.request.headers.get("Authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else self.request.headers.get("api-key", "")
        if not token:
            raise ApiError(401, "Нет ключа API: передайте заголовок 'Authorization: Bearer <ключ>'.", "missing_api_key")
        key = self.state.api_key(token)
        if key is None:
            raise ApiError(401, "Неверный ключ API для практического провайдера.", "invalid_api_key")
        return key

    async def _read_body(self) -> Any:
        """The JSON body: at most MAX_BODY bytes (counted while it arrives), within the body timeout."""
        request = self.request
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise self._too_large()
        if request.version >= (1, 1) and request.headers.get("Expect", "").lower() == "100-continue":
            await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # curl waits for it before a big body
        raw = bytearray()
        try:
            async with asyncio.timeout(self.timeouts.body):
                while chunk := await request.content.readany():
                    raw += chunk
                    if len(raw) > MAX_BODY:
                        raise self._too_large()
        except TimeoutError:
            self.close = True
            raise ApiError(408, f"Тело запроса не пришло целиком за {self.timeouts.body:g} с.", "request_timeout") from None
        except web.RequestPayloadError as e:
            self.close = True
            raise ApiError(400, f"Испорченное тело запроса: {e}", "invalid_request") from None
        self.body_size = len(raw)
        return parse_json_body(bytes(raw))

    async def _cpu(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)``: in the event loop for a small request, in a worker thread for a big one."""
        if self.body_size <= INLINE_BODY:
            return function(*args)
        return await asyncio.to_thread(function, *args)

    def _too_large(self) -> ApiError:
        self.close = True
        return ApiError(413, f"Тело запроса больше {MAX_BODY} байт.", "request_too_large")

    # responses
    def _send(self, status: int, payload: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.response = _response(status, payload, content_type, headers, self.close)

    def _json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self.response = _json_response(status, obj, headers, self.close)

    def _error(self, e: ApiError, flavor: str) -> None:
        """Error body: OpenRouter's ``{"error": {"message", "code": int, "metadata"}}`` or OpenAI's."""
        if self.response is not None and self.response.prepared:  # mid-stream: too late for a status
            self._drop()
            return
        self._json(e.status, {"error": _error_object(e, flavor)}, e.headers)

    def _drop(self) -> None:
        """Close the connection without (more of) an answer."""
        self.request.protocol.force_close()
        if self.response is None:
            self.response = web.Response()  # never sent: the connection is gone

    def _client_gone(self) -> bool:
        transport = self.request.transport
        return transport is None or transport.is_closing()

    async def _start_stream(self, content_type: str, headers: dict[str, str]) -> None:
        """Begin a streamed 200 answer (chunked transfer encoding, keep-alive safe; headers go out at once)."""
        self.response = web.StreamResponse(status=200, headers={"Content-Type": content_type, "Cache-Control": "no-cache",
                                                                "Server": SERVER, **headers})
        await self.response.prepare(self.request)

    async def _write(self, payload: bytes) -> None:
        await self.response.write(payload)

    # control API
    def _control(self, method: str, action: str, body: Any) -> None:
        state = self.state
        if method == "POST" and not isinstance(body, dict):
            raise ApiError(400, "Тело управляющего запроса должно быть JSON-объектом.", "invalid_control")
        if (method, action) == ("GET", "stats"):
            self._json(200, state.stats())
        elif (method, action) == ("GET", "log"):
            with state.lock:
                log = list(state.log)
            self._json(200, log)
        elif (method, action) == ("POST", "faults"):
            self._json(200, {"ok": True, "fault": asdict(state.add_fault(body))})
        elif (method, action) == ("DELETE", "faults"):
            with state.lock:
                state.faults.clear()
            self._json(200, {"ok": True})
        elif (method, action) == ("GET", "faults"):
            with state.lock:
                faults = [asdict(f) for f in state.faults]
            self._json(200, faults)
        elif (method, action) == ("POST", "latency"):
            self._json(200, {"ok": True, **state.set_latency(body)})
        elif (method, action) == ("POST", "limits"):
            state.set_limits(body)
            self._json(200, {"ok": True})
        elif (method, action) == ("POST", "keys"):
            key = state.create_key(body)
            self._json(200, {"ok": True, "key": key.key, **key.info()})
        elif (method, action) == ("POST", "credit_limit"):
            self._json(200, {"ok": True, **state.set_credit_limit(body).info()})
        elif (method, action) == ("POST", "reset"):
            state.reset()
            self._json(200, {"ok": True})
        else:
            raise ApiError(404, f"Нет такой управляющей команды: {method} /_practice/{action}.", "not_found")

    # the APIs
    async def _apply_fault(self, fault: Fault, deployment: str, model: str, flavor: str, prompt: int = 0,
                           output: int = 0, entry: dict[str, Any] | None = None) -> None:
        """Act out a fault that strikes before any answer. Raises ApiError for status answers.

        Generation faults reach here only where they become a plain status error (OpenAI
        flavour without stream, ``/generate``).
        """
        kind = "status" if fault.kind in GENERATION_FAULTS else fault.kind
        n = self.state.record(deployment=deployment, model=model, status=f"fault:{kind}" if kind != "status"
                              else fault.status, prompt_tokens=0, completion_tokens=0, cost=0.0, **(entry or {}))
        headers = {"X-Generation-Id": _generation_id(n)} if flavor == "openrouter" else {}
        if kind == "status":
            if fault.retry_after is not None:
                headers["Retry-After"] = f"{fault.retry_after:g}"
            raise ApiError(fault.status, f"Имитация сбоя: провайдер ответил {fault.status} "
                                         f"({HTTPStatus(fault.status).phrase}) для модели {model}.",
                           "simulated_fault", headers=headers)
        if kind == "context_length":
            spec = data.resolve_model(model)
            window = spec.context_window if spec else 4096
            error = context_length_error(flavor, window, window + max(prompt, 1), output)
            error.headers.update(headers)
            raise error
        self.close = True
        if kind == "hang":
            await self._hang()
        elif kind == "drop":
            self._drop()
        elif kind == "malformed":
            self._send(200, b'{"id": "broken", "choices": [', "application/json", headers)
        elif kind == "empty":
            self._send(200, b"{}", "application/json", headers)

    async def _hang(self) -> None:
        """Never answer: wait until the client gives up (closes), the provider is reset or HANG_LIMIT_S
        passes, then close (a checker that gave up on a learner's call without timeout resets)."""
        deadline, epoch = time.monotonic() + HANG_LIMIT_S, self.state.resets
        while time.monotonic() < deadline and not self._client_gone() and self.state.resets == epoch:
            await asyncio.sleep(0.2)
        self._drop()

    async def _chat(self, deployment: str, flavor: str, body: Any) -> None:
        """One chat completion: auth, validation, credits, faults, limits, then the answer.

        Every answer after the model is known is logged; on the OpenRouter flavour those that
        reached a model (answers, faults, limits, context length) carry ``X-Generation-Id``.
        Requests refused before that (401, 402, 404 model) have no generation, as on OpenRouter.
        """
        try:
            key = self._authenticate()
        except ApiError:  # a wrong key is a request the provider saw: count it
            asked = body.get("model") if isinstance(body, dict) else None
            spec = data.resolve_model(asked) if isinstance(asked, str) else None
            self.state.record(deployment=deployment, model=spec.name if spec else str(asked)[:200], status=401)
            raise
        validate_chat(body)
        model = body["model"]
        spec = data.resolve_model(model)
        if spec is None:
            self.state.record(deployment=deployment, model=model[:200], status=404)
            raise ApiError(404, f"Модель '{model[:200]}' не найдена. Доступны: {', '.join(data.MODELS)}.",
                           "model_not_found", "model")
        asked, model = model, spec.name  # stats, faults and limits use the canonical OpenRouter id
        # debug fields: which parameters the client sent, and OpenRouter's (deprecated) `usage` parameter
        entry = {"key": key.label, "request_keys": sorted(body), "usage_param": _small(body.get("usage")),
                 "prompt": _last_text(body)}
        try:
            self.state.check_credits(key, flavor)
        except ApiError as e:
            self.state.record(deployment=deployment, model=model, status=e.status, **entry)
            raise
        text, finish, prompt, completion, counted = await self._cpu(compose, body, spec)
        requested_output = body.get("max_tokens") or body.get("max_completion_tokens") or 0
        stream = bool(body.get("stream"))
        fault = self.state.pick_fault(deployment, model)
        # A generation fault on /v1 without stream is a plain status error: OpenAI sends the status only
        # once the whole answer is ready, and its schema has no 200-with-error shape. A /v1 stream ends
        # with an {"error": {...}} event instead (the official openai SDK raises on such events).
        if fault is not None and not (fault.kind in GENERATION_FAULTS and (flavor == "openrouter" or stream)):
            await self._apply_fault(fault, deployment, model, flavor, prompt, requested_output, entry)
            return

        def refuse(error: ApiError) -> NoReturn:
            n = self.state.record(deployment=deployment, model=model, status=error.status, prompt_tokens=0, **entry)
            if flavor == "openrouter":
                error.headers["X-Generation-Id"] = _generation_id(n)
            raise error

        if prompt + requested_output > spec.context_window:
            refuse(context_length_error(flavor, spec.context_window, prompt, requested_output))
        try:
            headers = self.state.admit(deployment, model, prompt + completion)
        except ApiError as e:
            refuse(e)
        first, per_token = self.state.delays(deployment, model, completion)
        pieces = _paced(counted, per_token * completion)
        if fault is not None:  # a generation fault: the model stops half-way through its answer
            pieces = pieces[:max(1, len(pieces) // 2)]
            completion = data.count_tokens("".join(p for p, _ in pieces), spec.encoding)
        cost = data.cost_usd(spec, prompt, completion)
        n = self.state.record(deployment=deployment, model=model, status=200 if fault is None else f"fault:{fault.kind}",
                              prompt_tokens=prompt, completion_tokens=completion, cost=cost, stream=stream,
                              latency_ms=round((first + per_token * completion) * 1000, 1), **entry)
        reply = Reply(base={"id": _generation_id(n), "created": int(time.time()), "model": asked},
                      flavor=flavor, first=first, pieces=pieces, key=key, cost=cost,
                      usage=usage_for(flavor, spec, prompt, completion))
        if flavor == "openrouter":
            reply.base["provider"] = "PracticeProvider"
            headers["X-Generation-Id"] = reply.base["id"]
        headers["x-practice-deployment"] = deployment
        error = None if fault is None else self._generation_error(fault, model, flavor)
        if stream:
            include_usage = flavor == "openrouter" or bool((body.get("stream_options") or {}).get("include_usage"))
            await self._stream(reply, finish, include_usage, headers, error)
            return
        await asyncio.sleep(first + sum(delay for _, delay in pieces))
        self.state.bill(key, cost)
        if error is not None and fault.kind == "error_in_body":
            self._json(200, {"error": error}, headers)  # HTTP 200: the error arrives in the body
            return
        choice = {"index": 0, "finish_reason": finish if error is None else "error", "logprobs": None,
                  "message": {"role": "assistant", "content": reply.text, "refusal": None}}
        if error is not None:
            choice["error"] = error
        answer = {**reply.base, "object": "chat.completion", "choices": [choice], "usage": reply.usage}
        if flavor == "openrouter":
            answer["system_fingerprint"] = None  # required (nullable) in OpenRouter's ChatResult
        self._json(200, answer, headers)

    @staticmethod
    def _generation_error(fault: Fault, model: str, flavor: str) -> dict[str, Any]:
        """The ``error`` object of an error after the model started, in the flavour's shape."""
        message = (f"Имитация сбоя после начала ответа: провайдер ответил {fault.status} "
                   f"({HTTPStatus(fault.status).phrase}) для модели {model}.")
        return _error_object(ApiError(fault.status, message, "simulated_fault",
                                      metadata={"error_type": ERROR_TYPES_OPENROUTER[fault.status]}), flavor)

    async def _wait_for_first_token(self, seconds: float) -> None:
        """OpenRouter: ``: OPENROUTER PROCESSING`` at once, then every KEEPALIVE_S (scaled) of waiting."""
        await self._write(KEEPALIVE)
        period = KEEPALIVE_S * self.state.scale
        deadline = time.monotonic() + seconds
        while period > 0 and time.monotonic() + period < deadline:
            await asyncio.sleep(period)
            await self._write(KEEPALIVE)
        await asyncio.sleep(max(0.0, deadline - time.monotonic()))

    async def _stream(self, reply: Reply, finish: str, include_usage: bool, headers: dict[str, str],
                      error: dict[str, Any] | None) -> None:
        """Server-sent events, ``data: [DONE]`` at the end (OpenAI / OpenRouter streaming).

        With ``error`` (a generation fault) the stream ends after a ``data:`` event carrying it:
        OpenRouter's ``chat.completion.chunk`` with a top-level ``error`` and a choice with
        ``finish_reason: "error"`` (errors-and-debugging.mdx, "Mid-stream errors"), OpenAI's
        ``{"error": {...}}`` (which the official ``openai`` SDK raises on). No ``[DONE]`` follows.
        """
        await self._start_stream("text/event-stream", headers)

        async def event(obj: Any) -> None:
            body = obj if isinstance(obj, bytes) else json.dumps(obj, ensure_ascii=False).encode()
            await self._write(b"data: " + body + b"\n\n")

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
            return {**reply.base, "object": "chat.completion.chunk",
                    "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]}

        due = time.monotonic() + reply.first
        if reply.flavor == "openrouter":
            await self._wait_for_first_token(reply.first)
        else:
            await _sleep_until(due)
        await event(chunk({"role": "assistant", "content": "", "refusal": None}))
        for piece, delay in reply.pieces:
            due += delay
            await _sleep_until(due)
            await event(chunk({"content": piece}))
        self.state.bill(reply.key, reply.cost)
        if error is not None:
            await event({**chunk({"content": ""}, "error"), "error": error} if reply.flavor == "openrouter"
                        else {"error": error})
            return
        await event(chunk({}, finish))
        if include_usage:
            await event({**reply.base, "object": "chat.completion.chunk", "choices": [], "usage": reply.usage})
        await event(b"[DONE]")

    async def _generate(self, body: Any) -> None:
        """The non-OpenAI API of lesson 04: ``{prompt, max_tokens} -> {generated_text}``.

        With ``"stream": true`` the answer comes as NDJSON lines ``{"text": "..."}`` and a
        last line ``{"done": true, "finish_reason", "tokens"}``.
        """
        if not isinstance(body, dict):
            raise ApiError(400, "Тело запроса должно быть JSON-объектом {prompt, max_tokens}.", "invalid_request")
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            raise ApiError(400, "Поле 'prompt' обязательно и должно быть непустой строкой.", "invalid_request", "prompt")
        max_tokens = body.get("max_tokens", 100)
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or not 1 <= max_tokens <= 4096:
            raise ApiError(400, "Поле 'max_tokens' должно быть целым числом от 1 до 4096.", "invalid_request", "max_tokens")
        stream = body.get("stream", False)
        if not isinstance(stream, bool):
            raise ApiError(400, "Поле 'stream' должно быть true или false.", "invalid_request", "stream")
        spec = data.GENERATE_MODEL
        fault = self.state.pick_fault("default", spec.name)
        if fault is not None:
            await self._apply_fault(fault, "default", spec.name, "generate")
            return
        chat = {"messages": [{"role": "user", "content": prompt.split("\n")[-1]}], "max_tokens": max_tokens}
        text, finish, _, completion, counted = await self._cpu(compose, chat, spec)
        prompt_count = await self._cpu(data.count_tokens, prompt, spec.encoding)
        try:
            headers = self.state.admit("default", spec.name, prompt_count + completion)
        except ApiError:
            self.state.record(deployment="default", model=spec.name, status=429)
            raise
        first, per_token = self.state.delays("default", spec.name, completion)
        self.state.record(deployment="default", model=spec.name, status=200, prompt_tokens=prompt_count,
                          completion_tokens=completion, cost=data.cost_usd(spec, prompt_count, completion),
                          max_tokens=max_tokens, stream=stream)
        tokens = {"prompt": prompt_count, "completion": completion}
        if stream:
            await self._start_stream("application/x-ndjson", headers)
            due = time.monotonic() + first
            await _sleep_until(due)
            for piece, delay in _paced(counted, per_token * completion):
                due += delay
                await _sleep_until(due)
                await self._write(json.dumps({"text": piece}, ensure_ascii=False).encode() + b"\n")
            await self._write(json.dumps({"done": True, "finish_reason": finish, "tokens": tokens}).encode() + b"\n")
            return
        await asyncio.sleep(first + per_token * completion)
        self._json(200, {"generated_text": text, "finish_reason": finish, "tokens": tokens}, headers)


def compose(body: dict[str, Any], spec: data.ModelSpec) -> tuple[str, str, int, int, tuple[tuple[str, int], ...]]:
    """``build_answer`` plus the answer's stream pieces with their token counts (the CPU part of a call)."""
    text, finish, prompt, completion = build_answer(body, spec)
    return text, finish, prompt, completion, _pieces(text, spec.encoding)


def _last_text(body: dict[str, Any]) -> str | None:
    """The last message's text, at most 200 characters, kept in the log: a checker can tell whose
    request reached the provider (lesson 07's 07.6 counts the requests for its own prompts)."""
    messages = body.get("messages")
    content = messages[-1].get("content") if isinstance(messages, list) and messages \
        and isinstance(messages[-1], dict) else None
    return content[:200] if isinstance(content, str) else None


def _small(value: Any) -> Any:
    """A request value kept in the log only if it is small (the log is served back as JSON)."""
    try:
        return value if len(json.dumps(value, allow_nan=False)) <= 500 else "<…>"
    except (ValueError, TypeError, RecursionError):
        return "<…>"


_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                404: "not_found_error", 413: "invalid_request_error", 422: "invalid_request_error",
                429: "rate_limit_error", 500: "server_error", 503: "server_error"}


@dataclass
class Reply:
    """One answer being generated: what the stream / body writers need."""

    base: dict[str, Any]  # id, created, model (and provider on OpenRouter)
    flavor: str
    first: float  # seconds to the first token
    pieces: list[tuple[str, float]]  # (text, delay before it)
    key: ApiKey
    cost: float
    usage: dict[str, Any]

    @property
    def text(self) -> str:
        return "".join(piece for piece, _ in self.pieces)


def _generation_id(n: int) -> str:
    """The id of the n-th logged call: body ``id`` and OpenRouter's ``X-Generation-Id``."""
    return f"gen-practice-{n:06d}"


def _error_object(e: ApiError, flavor: str) -> dict[str, Any]:
    """The ``error`` object: OpenAI's ``Error`` or OpenRouter's ``{code, message, metadata}``."""
    if flavor == "openai":
        return {"message": e.message, "type": e.openai_type or _ERROR_TYPES.get(e.status, "api_error"),
                "param": e.param, "code": e.code}
    return {"message": e.message, "code": e.status,
            "metadata": e.metadata if e.metadata is not None else {"reason": e.code}}


def context_length_error(flavor: str, window: int, prompt: int, output: int) -> ApiError:
    """A 400 for a prompt (+ requested output) longer than the model's context window."""
    total = prompt + output
    if flavor == "openrouter":
        # OpenRouter's docs do not quote this message (they only name the error_type
        # `context_length_exceeded`); this is the text OpenRouter is commonly seen returning,
        # e.g. in OpenHands/OpenHands#9937 and musistudio/claude-code-router#252.
        return ApiError(400, f"This endpoint's maximum context length is {window} tokens. However, you requested "
                             f"about {total} tokens ({prompt} of text input, {output} in the output). Please reduce "
                             'the length of either one, or use the "middle-out" transform to compress your prompt '
                             "automatically.", "context_length_exceeded", "messages",
                        metadata={"error_type": "context_length_exceeded"})
    # OpenAI's wording (code `context_length_exceeded`), with and without a requested completion length
    if output:
        text = (f"However, you requested {total} tokens ({prompt} in the messages, {output} in the completion). "
                "Please reduce the length of the messages or completion.")
    else:
        text = f"However, your messages resulted in {prompt} tokens. Please reduce the length of the messages."
    return ApiError(400, f"This model's maximum context length is {window} tokens. {text}",
                    "context_length_exceeded", "messages")


def usage_for(flavor: str, spec: data.ModelSpec, prompt: int, completion: int) -> dict[str, Any]:
    """``usage`` of an answer; OpenRouter adds ``cost`` and ``cost_details`` (usage-accounting.mdx)."""
    usage: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion,
                             "total_tokens": prompt + completion}
    if flavor == "openrouter":
        usage["cost"] = data.cost_usd(spec, prompt, completion)
        usage["is_byok"] = False
        # `upstream_inference_cost` is only known for BYOK requests ("0 or null" otherwise)
        usage["cost_details"] = {"upstream_inference_cost": None,
                                 "upstream_inference_prompt_cost": data.cost_usd(spec, prompt, 0),
                                 "upstream_inference_completions_cost": data.cost_usd(spec, 0, completion)}
    return usage


def _split_words(text: str) -> list[str]:
    """Stream pieces: words with their following space, so chunks join back to the text."""
    pieces, current = [], ""
    for ch in text:
        current += ch
        if ch == " ":
            pieces.append(current)
            current = ""
    if current:
        pieces.append(current)
    return pieces


@functools.lru_cache(maxsize=1024)
def _pieces(text: str, encoding: str) -> tuple[tuple[str, int], ...]:
    """Stream pieces of an answer with their token counts (at least 1 each).

    Cached: answers are deterministic, so the same texts come back again and again, and counting
    tokens word by word is most of the CPU a call costs (all of it in the one event-loop thread).
    """
    return tuple((piece, max(1, data.count_tokens(piece, encoding))) for piece in _split_words(text))


async def _sleep_until(due: float) -> None:
    """Sleep until ``time.monotonic()`` reaches ``due``. Streams pace their chunks by a schedule, so that a
    busy machine's late wake-ups do not add up: a stream takes as long as the plain answer (test_practice)."""
    await asyncio.sleep(max(0.0, due - time.monotonic()))


def _paced(pieces: tuple[tuple[str, int], ...], total_s: float) -> list[tuple[str, float]]:
    """Stream pieces with their delays: ``total_s`` (the non-streamed generation time) split in
    proportion to each piece's tokens, so streaming takes as long as a plain answer."""
    whole = sum(n for _, n in pieces) or 1
    return [(piece, total_s * n / whole) for piece, n in pieces]


class _Connection(web.RequestHandler):
    """aiohttp's connection handler; a request it cannot even parse is answered in the error format."""

    def handle_error(self, request: web.BaseRequest, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if request.writer.output_size > 0:  # part of an answer is out: the connection is beyond repair
            raise ConnectionError("an answer was already under way")
        if os.environ.get("PRACTICE_VERBOSE"):
            traceback.print_exception(exc) if exc else print(message, file=sys.stderr)
        detail = ((message or str(exc or "")).strip().splitlines() or [HTTPStatus(status).phrase])[0].rstrip(":")
        error = (ApiError(status, f"Испорченный HTTP-запрос: {detail}.", "invalid_http") if status < 500 else
                 ApiError(status, "Внутренняя ошибка практического провайдера.", "internal_error"))
        return _json_response(status, {"error": _error_object(error, "openrouter")}, close=True)


async def start_server(state: PracticeState, host: str = "127.0.0.1", port: int = 0,
                       timeouts: Timeouts | None = None) -> asyncio.AbstractServer:
    """Listen on ``host:port`` (0: a free port) in the running event loop; returns the asyncio server."""
    timeouts = timeouts or Timeouts()
    loop = asyncio.get_running_loop()

    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        return await Exchange(state, timeouts, request).dispatch()

    manager = web.Server(handle)  # aiohttp's low-level server: requests -> handle, no router
    access_log = logging.getLogger("aiohttp.access") if os.environ.get("PRACTICE_VERBOSE") else None
    return await loop.create_server(
        lambda: _Connection(manager, loop=loop, keepalive_timeout=timeouts.idle, access_log=access_log,
                            auto_decompress=False, lingering_time=2.0),
        host, port, backlog=256, reuse_address=True)


def _exit_when_stdin_closes() -> None:
    """Stop the process when the parent (the notebook kernel) goes away."""
    try:
        while sys.stdin.buffer.read(1024):
            pass
    finally:
        os._exit(0)


async def _serve(args: argparse.Namespace) -> None:
    if os.environ.get("PRACTICE_VERBOSE"):  # one line per request on stderr
        logging.basicConfig(level=logging.INFO, format="%(message)s")
    state = PracticeState(latency_scale=args.latency_scale, seed=args.seed, key=args.key)
    timeouts = Timeouts(idle=args.idle_timeout, body=min(BODY_TIMEOUT_S, args.idle_timeout))
    server = await start_server(state, args.host, args.port, timeouts)
    url = f"http://{args.host}:{server.sockets[0].getsockname()[1]}"
    if args.ready_json:
        print(json.dumps({"url": url, "key": args.key, "pid": os.getpid()}), flush=True)
    else:
        print(f"Практический провайдер слушает {url}\n  OpenRouter-путь: {url}/api/v1\n  OpenAI-путь:     "
              f"{url}/v1\n  Ключ: {args.key}\n  Пример: curl {url}/api/v1/chat/completions "
              f"-H 'Authorization: Bearer {args.key}' -H 'Content-Type: application/json' "
              "-d '{\"model\":\"openai/gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"Привет!\"}]}'\n"
              f"  Управление (тот же ключ): curl {url}/_practice/stats -H 'Authorization: Bearer {args.key}'\n"
              "Остановить: Ctrl+C", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    """``python -m course_helpers.practice``: run the provider in the foreground."""
    parser = argparse.ArgumentParser(description="Практический LLM-провайдер курса (OpenAI/OpenRouter API).")
    parser.add_argument("--host", default="127.0.0.1", help="адрес (только loopback)")
    parser.add_argument("--port", type=int, default=0, help="порт; 0 — свободный")
    parser.add_argument("--latency-scale", type=float,
                        default=float(os.environ.get("COURSE_LATENCY_SCALE", "1.0")),
                        help="множитель задержек: 1 — реалистично, 0 — мгновенно")
    parser.add_argument("--seed", type=int, default=0, help="зерно для джиттера и вероятностных сбоев")
    parser.add_argument("--key", default=PRACTICE_KEY, help="практический ключ API")
    parser.add_argument("--idle-timeout", type=float, default=IDLE_TIMEOUT_S,
                        help="секунд ждать заголовков запроса на открытом соединении (защита от slowloris)")
    parser.add_argument("--parent-watch", action="store_true", help="завершиться, когда закроется stdin")
    parser.add_argument("--ready-json", action="store_true", help="напечатать JSON со адресом при готовности")
    args = parser.parse_args(argv)
    if not args.host.startswith("127.") and args.host not in ("localhost", "::1"):
        parser.error("провайдер слушает только loopback (127.0.0.1)")
    if not args.idle_timeout > 0:
        parser.error("--idle-timeout должен быть больше нуля")
    if args.parent_watch:
        threading.Thread(target=_exit_when_stdin_closes, daemon=True).start()
    # Ctrl+C stops it even when it was started with SIGINT ignored: a background job of a non-interactive
    # shell inherits SIG_IGN, and Python then leaves it so (a test's provider ignored Ctrl+C that way).
    # Started from a lesson it runs in a session of its own (course_helpers.guard): interrupts miss it.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        asyncio.run(_serve(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
