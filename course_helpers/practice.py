"""The practice provider: a local LLM API server that stands in for OpenRouter / OpenAI.

Introduced in lesson 00 and used by every lesson. It runs in its own process on
127.0.0.1 (``python -m course_helpers.practice``), speaks the chat-completions API on
``/v1/...`` (OpenAI flavour) and ``/api/v1/...`` (OpenRouter flavour, with
``usage.cost``), streams SSE, answers ``response_format`` JSON schemas, serves the
non-OpenAI ``POST /generate`` API, and injects faults, latency and rate limits on
demand. A path prefix tells deployments apart: ``/d1/v1``, ``/d2/api/v1``.

Control API (JSON, loopback only): ``GET /_practice/health``, ``GET /_practice/stats``,
``GET /_practice/log``, ``POST /_practice/faults``, ``DELETE /_practice/faults``,
``POST /_practice/latency``, ``POST /_practice/limits``, ``POST /_practice/keys``,
``POST /_practice/credit_limit``, ``POST /_practice/reset``.

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
import json
import math
import os
import random
import select
import socket
import sys
import threading
import time
import traceback
from collections import Counter, deque
from dataclasses import asdict, dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NoReturn

from course_helpers import practice_data as data

PRACTICE_KEY = "practice-key-litellm-course"
MAX_BODY = 1_000_000  # bytes; a larger request gets 413
HANG_LIMIT_S = 120.0  # a "hang" fault gives up after this long if the client never does
# ``error_in_body`` / ``error_in_choice``: the model started, then failed (OpenRouter answers 200;
# see ``Handler._generation_error``). The other kinds fail before any answer.
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

def example_for_schema(schema: dict[str, Any], text: str, defs: dict[str, Any] | None = None,
                       name: str = "", depth: int = 0) -> Any:
    """A valid, deterministic value for a JSON schema (answers ``response_format``)."""
    defs = defs if defs is not None else schema.get("$defs", schema.get("definitions", {}))
    if depth > 8:
        return None
    if "$ref" in schema:
        ref = schema["$ref"].split("/")[-1]
        return example_for_schema(defs.get(ref, {}), text, defs, name, depth + 1)
    for combo in ("anyOf", "oneOf", "allOf"):
        if combo in schema and schema[combo]:
            options = [s for s in schema[combo] if s.get("type") != "null"] or schema[combo]
            return example_for_schema(options[0], text, defs, name, depth + 1)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema and schema["enum"]:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties", {})
        return {k: example_for_schema(v, text, defs, k, depth + 1) for k, v in props.items()}
    if kind == "array":
        count = max(1, schema.get("minItems", 2))
        return [example_for_schema(schema.get("items", {}), text, defs, name, depth + 1) for _ in range(count)]
    if kind == "integer":
        return max(schema.get("minimum", 0), min(schema.get("maximum", 3), len(text) % 5 + 1))
    if kind == "number":
        return float(max(schema.get("minimum", 0.0), min(schema.get("maximum", 1.0), 0.9)))
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    words = text.split()
    if "title" in name or "name" in name or "keyword" in name or "tag" in name:
        return " ".join(words[:3]).strip(".,—")
    limit = schema.get("maxLength")
    return text[:limit] if limit else text


def build_answer(body: dict[str, Any], spec: data.ModelSpec) -> tuple[str, str, int, int]:
    """Answer text, finish_reason, prompt tokens, completion tokens for a chat request."""
    messages = body["messages"]
    last_user = next((data.message_text(m) for m in reversed(messages) if m.get("role") == "user"), "")
    text = data.answer_for(last_user)
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema") or {}
        text = json.dumps(example_for_schema(schema, text), ensure_ascii=False)
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
        content = m.get("content")
        if not (content is None or isinstance(content, str) or isinstance(content, list)):
            raise ApiError(400, f"messages[{i}].content должен быть строкой или списком частей.", "invalid_request", "messages")
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


# --- HTTP ----------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    """One HTTP/1.1 keep-alive connection to the practice provider."""

    protocol_version = "HTTP/1.1"
    server_version = "PracticeProvider/1.0"
    state: PracticeState  # set on the class by `make_server`

    def setup(self) -> None:
        super().setup()
        # Without TCP_NODELAY, http.server adds a ~40 ms Nagle stall per keep-alive request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        if os.environ.get("PRACTICE_VERBOSE"):
            super().log_message(format, *args)

    # routing
    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        path = self.path.split("?", 1)[0]
        deployment, flavor, endpoint = self._split(path)  # before the body: its errors use the path's format
        try:
            body = self._read_body() if method == "POST" else None
            if path.startswith("/_practice/"):
                self._control(method, path[len("/_practice/"):], body)
                return
            if path == "/generate" and method == "POST":
                self._generate(body)
                return
            if endpoint == "chat/completions" and method == "POST":
                self._chat(deployment, flavor, body)
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
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as e:  # a bug in the provider: answer 500 in the error format, never drop silently
            traceback.print_exc()
            self._error(ApiError(500, f"Внутренняя ошибка практического провайдера: {type(e).__name__}: {e}",
                                 "internal_error"), flavor)

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

    def _read_body(self) -> Any:
        length_header = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            raw = self._read_chunked()
        else:
            try:
                length = int(length_header or 0)
            except ValueError:
                raise ApiError(400, "Неверный заголовок Content-Length.", "invalid_request") from None
            if length < 0:
                raise ApiError(400, "Неверный заголовок Content-Length.", "invalid_request")
            if length > MAX_BODY:
                self.close_connection = True
                raise ApiError(413, f"Тело запроса больше {MAX_BODY} байт.", "request_too_large")
            raw = self.rfile.read(length)
        if not raw:
            raise ApiError(400, "Пустое тело запроса: ожидался JSON.", "invalid_request")
        try:
            return json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
            raise ApiError(400, f"Тело запроса — не JSON: {e}", "invalid_json") from None

    def _read_chunked(self) -> bytes:
        out = b""
        while True:
            line = self.rfile.readline(100)
            try:
                size = int(line.strip().split(b";")[0], 16)
            except ValueError:
                raise ApiError(400, "Испорченное chunked-тело.", "invalid_request") from None
            if size == 0:
                self.rfile.readline(100)
                return out
            out += self.rfile.read(size)
            self.rfile.readline(100)
            if len(out) > MAX_BODY:
                self.close_connection = True
                raise ApiError(413, f"Тело запроса больше {MAX_BODY} байт.", "request_too_large")

    def _authenticate(self) -> ApiKey:
        """The key of this request, or a 401 (missing / unknown key)."""
        header = self.headers.get("Authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else self.headers.get("api-key", "")
        if not token:
            raise ApiError(401, "Нет ключа API: передайте заголовок 'Authorization: Bearer <ключ>'.", "missing_api_key")
        key = self.state.api_key(token)
        if key is None:
            raise ApiError(401, "Неверный ключ API для практического провайдера.", "invalid_api_key")
        return key

    # responses
    def _send(self, status: int, payload: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(payload)

    def _json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"), "application/json", headers)

    def _error(self, e: ApiError, flavor: str) -> None:
        """Error body: OpenRouter's ``{"error": {"message", "code": int, "metadata"}}`` or OpenAI's."""
        try:
            self._json(e.status, {"error": _error_object(e, flavor)}, e.headers)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    # control API
    def _control(self, method: str, action: str, body: Any) -> None:
        state = self.state
        if method == "POST" and not isinstance(body, dict):
            raise ApiError(400, "Тело управляющего запроса должно быть JSON-объектом.", "invalid_control")
        if (method, action) == ("GET", "health"):
            self._json(200, {"ok": True, "models": list(data.MODELS), "prices_as_of": data.PRICES_AS_OF})
        elif (method, action) == ("GET", "stats"):
            self._json(200, state.stats())
        elif (method, action) == ("GET", "log"):
            with state.lock:
                self._json(200, list(state.log))
        elif (method, action) == ("POST", "faults"):
            self._json(200, {"ok": True, "fault": asdict(state.add_fault(body))})
        elif (method, action) == ("DELETE", "faults"):
            with state.lock:
                state.faults.clear()
            self._json(200, {"ok": True})
        elif (method, action) == ("GET", "faults"):
            with state.lock:
                self._json(200, [asdict(f) for f in state.faults])
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
    def _apply_fault(self, fault: Fault, deployment: str, model: str, flavor: str, prompt: int = 0,
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
        if kind == "hang":
            self._hang()
        elif kind == "drop":
            self.connection.shutdown(socket.SHUT_RDWR)
        elif kind == "malformed":
            self._send(200, b'{"id": "broken", "choices": [', "application/json", {"Connection": "close", **headers})
        elif kind == "empty":
            self._send(200, b"{}", "application/json", {"Connection": "close", **headers})
        self.close_connection = True

    def _hang(self) -> None:
        """Never answer: wait until the client gives up (closes) or HANG_LIMIT_S passes."""
        deadline = time.monotonic() + HANG_LIMIT_S
        while time.monotonic() < deadline:
            readable, _, _ = select.select([self.connection], [], [], 0.2)
            if readable:
                try:
                    if not self.connection.recv(1, socket.MSG_PEEK):
                        return
                except OSError:
                    return

    def _chat(self, deployment: str, flavor: str, body: Any) -> None:
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
            self.state.record(deployment=deployment, model=spec.name if spec else str(asked), status=401)
            raise
        validate_chat(body)
        model = body["model"]
        spec = data.resolve_model(model)
        if spec is None:
            self.state.record(deployment=deployment, model=model, status=404)
            raise ApiError(404, f"Модель '{model}' не найдена. Доступны: {', '.join(data.MODELS)}.",
                           "model_not_found", "model")
        asked, model = model, spec.name  # stats, faults and limits use the canonical OpenRouter id
        # debug fields: which parameters the client sent, and OpenRouter's (deprecated) `usage` parameter
        entry = {"key": key.label, "request_keys": sorted(body), "usage_param": body.get("usage")}
        try:
            self.state.check_credits(key, flavor)
        except ApiError as e:
            self.state.record(deployment=deployment, model=model, status=e.status, **entry)
            raise
        text, finish, prompt, completion = build_answer(body, spec)
        requested_output = body.get("max_tokens") or body.get("max_completion_tokens") or 0
        stream = bool(body.get("stream"))
        fault = self.state.pick_fault(deployment, model)
        # A generation fault on /v1 without stream is a plain status error: OpenAI sends the status only
        # once the whole answer is ready, and its schema has no 200-with-error shape. A /v1 stream ends
        # with an {"error": {...}} event instead (the official openai SDK raises on such events).
        if fault is not None and not (fault.kind in GENERATION_FAULTS and (flavor == "openrouter" or stream)):
            self._apply_fault(fault, deployment, model, flavor, prompt, requested_output, entry)
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
        pieces = _paced(text, per_token * completion, spec.encoding)
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
            self._stream(reply, finish, include_usage, headers, error)
            return
        time.sleep(first + sum(delay for _, delay in pieces))
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

    def _start_chunked(self, content_type: str, headers: dict[str, str]) -> None:
        """Begin a streamed 200 answer (chunked transfer encoding, keep-alive safe)."""
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()

    def _write_chunk(self, payload: bytes) -> None:
        self.wfile.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
        self.wfile.flush()

    def _end_chunked(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _wait_for_first_token(self, seconds: float) -> None:
        """OpenRouter: ``: OPENROUTER PROCESSING`` at once, then every KEEPALIVE_S (scaled) of waiting."""
        self._write_chunk(KEEPALIVE)
        period = KEEPALIVE_S * self.state.scale
        deadline = time.monotonic() + seconds
        while period > 0 and time.monotonic() + period < deadline:
            time.sleep(period)
            self._write_chunk(KEEPALIVE)
        time.sleep(max(0.0, deadline - time.monotonic()))

    def _stream(self, reply: Reply, finish: str, include_usage: bool, headers: dict[str, str],
                error: dict[str, Any] | None) -> None:
        """Server-sent events, ``data: [DONE]`` at the end (OpenAI / OpenRouter streaming).

        With ``error`` (a generation fault) the stream ends after a ``data:`` event carrying it:
        OpenRouter's ``chat.completion.chunk`` with a top-level ``error`` and a choice with
        ``finish_reason: "error"`` (errors-and-debugging.mdx, "Mid-stream errors"), OpenAI's
        ``{"error": {...}}`` (which the official ``openai`` SDK raises on). No ``[DONE]`` follows.
        """
        self._start_chunked("text/event-stream", headers)

        def event(obj: Any) -> None:
            body = obj if isinstance(obj, bytes) else json.dumps(obj, ensure_ascii=False).encode()
            self._write_chunk(b"data: " + body + b"\n\n")

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
            return {**reply.base, "object": "chat.completion.chunk",
                    "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]}

        if reply.flavor == "openrouter":
            self._wait_for_first_token(reply.first)
        else:
            time.sleep(reply.first)
        event(chunk({"role": "assistant", "content": "", "refusal": None}))
        for piece, delay in reply.pieces:
            time.sleep(delay)
            event(chunk({"content": piece}))
        self.state.bill(reply.key, reply.cost)
        if error is not None:
            event({**chunk({"content": ""}, "error"), "error": error} if reply.flavor == "openrouter" else {"error": error})
            self._end_chunked()
            return
        event(chunk({}, finish))
        if include_usage:
            event({**reply.base, "object": "chat.completion.chunk", "choices": [], "usage": reply.usage})
        event(b"[DONE]")
        self._end_chunked()

    def _generate(self, body: Any) -> None:
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
            self._apply_fault(fault, "default", spec.name, "generate")
            return
        chat = {"messages": [{"role": "user", "content": prompt.split("\n")[-1]}], "max_tokens": max_tokens}
        text, finish, _, completion = build_answer(chat, spec)
        prompt_count = data.count_tokens(prompt, spec.encoding)
        try:
            headers = self.state.admit("default", spec.name, prompt_count + completion)
        except ApiError:
            self.state.record(deployment="default", model=spec.name, status=429)
            raise
        first, per_token = self.state.delays("default", spec.name, completion)
        self.state.record(deployment="default", model=spec.name, status=200, prompt_tokens=prompt_count,
                          completion_tokens=completion, cost=data.cost_usd(spec, prompt_count, completion))
        tokens = {"prompt": prompt_count, "completion": completion}
        if stream:
            self._start_chunked("application/x-ndjson", headers)
            time.sleep(first)
            for piece, delay in _paced(text, per_token * completion, spec.encoding):
                time.sleep(delay)
                self._write_chunk(json.dumps({"text": piece}, ensure_ascii=False).encode() + b"\n")
            self._write_chunk(json.dumps({"done": True, "finish_reason": finish, "tokens": tokens}).encode() + b"\n")
            self._end_chunked()
            return
        time.sleep(first + per_token * completion)
        self._json(200, {"generated_text": text, "finish_reason": finish, "tokens": tokens}, headers)


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


def _paced(text: str, total_s: float, encoding: str) -> list[tuple[str, float]]:
    """Stream pieces with their delays: ``total_s`` (the non-streamed generation time) split in
    proportion to each piece's tokens, so streaming takes as long as a plain answer."""
    pieces = _split_words(text)
    counts = [max(1, data.count_tokens(p, encoding)) for p in pieces]
    whole = sum(counts) or 1
    return [(piece, total_s * n / whole) for piece, n in zip(pieces, counts)]


class PracticeServer(ThreadingHTTPServer):
    """Threaded HTTP server; each connection in its own daemon thread."""

    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True


def make_server(host: str = "127.0.0.1", port: int = 0, latency_scale: float = 1.0,
                seed: int = 0, key: str = PRACTICE_KEY) -> PracticeServer:
    """Build (not start) a server; ``server.server_address[1]`` is the chosen port."""
    state = PracticeState(latency_scale=latency_scale, seed=seed, key=key)
    handler = type("BoundHandler", (Handler,), {"state": state})
    server = PracticeServer((host, port), handler)
    server.state = state  # type: ignore[attr-defined]
    return server


def _exit_when_stdin_closes() -> None:
    """Stop the process when the parent (the notebook kernel) goes away."""
    try:
        while sys.stdin.buffer.read(1024):
            pass
    finally:
        os._exit(0)


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
    parser.add_argument("--parent-watch", action="store_true", help="завершиться, когда закроется stdin")
    parser.add_argument("--ready-json", action="store_true", help="напечатать JSON со адресом при готовности")
    args = parser.parse_args(argv)
    if not args.host.startswith("127.") and args.host not in ("localhost", "::1"):
        parser.error("провайдер слушает только loopback (127.0.0.1)")
    server = make_server(args.host, args.port, args.latency_scale, args.seed, args.key)
    url = f"http://{args.host}:{server.server_address[1]}"
    if args.ready_json:
        print(json.dumps({"url": url, "key": args.key, "pid": os.getpid()}), flush=True)
    else:
        print(f"Практический провайдер слушает {url}\n  OpenRouter-путь: {url}/api/v1\n  OpenAI-путь:     "
              f"{url}/v1\n  Ключ: {args.key}\n  Пример: curl {url}/api/v1/chat/completions "
              f"-H 'Authorization: Bearer {args.key}' -H 'Content-Type: application/json' "
              "-d '{\"model\":\"openai/gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"Привет!\"}]}'\n"
              "Остановить: Ctrl+C", flush=True)
    if args.parent_watch:
        threading.Thread(target=_exit_when_stdin_closes, daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
