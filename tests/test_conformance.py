"""Every kind of answer the practice provider gives, validated against schemas nobody on the team wrote.

* ``/v1`` (OpenAI flavour): OpenAI's published OpenAPI file (openai/openai-openapi, commit f85dbe2,
  MIT) — ``CreateChatCompletionResponse``, ``CreateChatCompletionStreamResponse``, ``ErrorResponse``.
  The file says ``openapi: 3.1.0`` but still marks fields ``nullable: true`` the 3.0 way; those
  fields are rewritten to also allow ``null`` before validation (FACTS §10).
* ``/api/v1`` (OpenRouter flavour): OpenRouter's own ``openapi/openapi.yaml`` (OpenRouterTeam/docs,
  commit c26125a) — ``ChatResult``, ``ChatStreamChunk``, the error response of each status of
  ``POST /chat/completions``, and ``GET /key``. Where it defines no shape (an error inside an
  HTTP 200 body, statuses 409 and 504), the shape of ``errors-and-debugging.mdx`` (FACTS §9).

The tests read the exact subsets of both files that they use, vendored with their provenance in
``tests/references/`` by ``scripts/vendor_references.py`` (``--check`` compares them with the
originals), so the suite needs no network and no copy of the originals.
"""

from __future__ import annotations

import copy
import json
import os
from collections import Counter
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from course_helpers.practice import FAULT_STATUSES, KEEPALIVE, PRACTICE_KEY

REFERENCES = Path(__file__).resolve().parent / "references"
M = [{"role": "user", "content": "Что такое Python?"}]
SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}, "score": {"type": "integer"}},
          "required": ["answer", "score"]}
# FACTS §9 / errors-and-debugging.mdx: `type ErrorResponse = {error: {code: number; message: string; metadata?}}`
OPENROUTER_ERROR_DOC = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message"],
    "properties": {"code": {"type": "integer"}, "message": {"type": "string"}, "metadata": {"type": "object"}}}}}

validated: Counter = Counter()  # schema name -> responses validated (printed at the end of the module)


def allow_nullable(node: Any) -> Any:
    """OpenAPI 3.0's ``nullable: true`` as JSON Schema: ``anyOf: [<schema>, {type: null}]``."""
    if isinstance(node, list):
        return [allow_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: allow_nullable(value) for key, value in node.items()}
    if node.get("nullable") is True:
        del node["nullable"]
        return {"anyOf": [node, {"type": "null"}]}
    return node


@lru_cache(maxsize=None)
def spec(name: str) -> dict[str, Any]:
    """One reference OpenAPI document (its vendored subset), loaded once, with the nullable rule applied."""
    return allow_nullable(json.loads((REFERENCES / f"{name}-subset.json").read_text(encoding="utf-8")))


@lru_cache(maxsize=None)
def validator(source: str, pointer: str) -> jsonschema.Draft202012Validator:
    """A validator for ``pointer`` inside a reference document (its ``$ref``s resolved in place)."""
    registry = Registry().with_resource(f"urn:{source}", Resource(spec(source), specification=DRAFT202012))
    return jsonschema.Draft202012Validator({"$ref": f"urn:{source}#{pointer}"}, registry=registry)


def errors(source: str, pointer: str, instance: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator(source, pointer).iter_errors(instance)]


def check(source: str, pointer: str, instance: Any) -> None:
    """Assert ``instance`` is valid for the schema at ``pointer`` and count it."""
    problems = errors(source, pointer, instance)
    assert not problems, f"{pointer}: {problems[:5]}\n{json.dumps(instance, ensure_ascii=False)[:600]}"
    if pointer.startswith("/paths/"):  # /paths/~1key/get/responses/200/... -> "GET /key 200"
        parts = pointer.split("/")
        name = f"{parts[3].upper()} {parts[2].replace('~1', '/')} {parts[5]}"
    else:
        name = pointer.rsplit("/", 1)[-1]
    validated[f"{source}:{name}"] += 1


def check_local(name: str, schema: dict[str, Any], instance: Any) -> None:
    """Assert ``instance`` is valid for a shape the reference docs give only in prose (FACTS §9)."""
    jsonschema.validate(instance, schema)
    validated[f"docs:{name}"] += 1


def openai(name: str) -> str:
    return f"/components/schemas/{name}"


def openrouter_status(status: int) -> str | None:
    """Pointer to OpenRouter's error schema for a status of POST /chat/completions (None if undefined)."""
    responses = spec("openrouter")["paths"]["/chat/completions"]["post"]["responses"]
    if str(status) not in responses:
        return None
    return f"/paths/~1chat~1completions/post/responses/{status}/content/application~1json/schema"


KEY_SCHEMA = "/paths/~1key/get/responses/200/content/application~1json/schema"


@pytest.fixture(scope="module", autouse=True)
def _report_counts() -> Iterator[None]:
    yield
    print(f"\nconformance: {sum(validated.values())} responses validated — "
          + ", ".join(f"{k}: {v}" for k, v in sorted(validated.items())))


@pytest.fixture
def http(provider) -> Iterator[httpx.Client]:
    provider.set_latency_scale(0.0)
    with httpx.Client(headers={"Authorization": f"Bearer {PRACTICE_KEY}"}, timeout=10) as client:
        yield client


def url(provider, flavor: str) -> str:
    return provider.api_base(flavor) + "/chat/completions"


def sse(http: httpx.Client, address: str, body: dict[str, Any]) -> tuple[list[Any], list[str]]:
    """A stream's ``data:`` payloads (JSON, or the string ``[DONE]``) and its comment lines."""
    events: list[Any] = []
    comments: list[str] = []
    with http.stream("POST", address, json=body) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith(":"):
                comments.append(line)
            elif line.startswith("data: "):
                events.append("[DONE]" if line == "data: [DONE]" else json.loads(line[6:]))
            else:
                assert line == "", line
    return events, comments


BODIES = {
    "plain": {"model": "openai/gpt-4o-mini", "messages": M},
    "json_schema": {"model": "openai/gpt-4o", "messages": M,
                    "response_format": {"type": "json_schema", "json_schema": {"name": "X", "schema": SCHEMA}}},
    "json_object": {"model": "openai/gpt-4o", "messages": M, "response_format": {"type": "json_object"}},
    "length": {"model": "openai/gpt-4o-mini", "messages": M, "max_tokens": 5},
}


# --- OpenAI flavour (/v1) ------------------------------------------------------------------------

@pytest.mark.parametrize("kind", BODIES)
def test_openai_answers_match_create_chat_completion_response(http, provider, kind) -> None:
    for model in ("openai/gpt-4o-mini", "gpt-4o-mini"):
        r = http.post(url(provider, "openai"), json={**BODIES[kind], "model": model})
        assert r.status_code == 200
        check("openai", openai("CreateChatCompletionResponse"), r.json())
    assert r.json()["choices"][0]["finish_reason"] == ("length" if kind == "length" else "stop")


@pytest.mark.parametrize("kind", BODIES)
@pytest.mark.parametrize("include_usage", [False, True])
def test_openai_stream_chunks_match_the_stream_schema(http, provider, kind, include_usage) -> None:
    body = {**BODIES[kind], "stream": True, "stream_options": {"include_usage": include_usage}}
    events, comments = sse(http, url(provider, "openai"), body)
    assert events[-1] == "[DONE]" and comments == []  # keep-alive comments are OpenRouter's
    for chunk in events[:-1]:
        check("openai", openai("CreateChatCompletionStreamResponse"), chunk)
    assert ("usage" in events[-2]) is include_usage


def openai_error_bodies(http: httpx.Client, provider) -> Iterator[tuple[str, httpx.Response]]:
    """Every error the OpenAI flavour answers, labelled."""
    address = url(provider, "openai")
    for status in FAULT_STATUSES:
        provider.fail("openai/gpt-4o-mini", status, times=1)
        yield f"fault {status}", http.post(address, json=BODIES["plain"])
    for kind in ("error_in_body", "error_in_choice"):  # without stream: a plain status error on /v1
        provider.fail("openai/gpt-4o-mini", 502, kind=kind, times=1)
        yield kind, http.post(address, json=BODIES["plain"])
    provider.fail("openai/gpt-4o-mini", kind="context_length", times=1)
    yield "context_length fault", http.post(address, json=BODIES["plain"])
    yield "context too long", http.post(address, json={"model": "gpt-3.5-turbo",
                                                       "messages": [{"role": "user", "content": "слово " * 20_000}]})
    yield "context + max_tokens", http.post(address, json={**BODIES["plain"], "model": "gpt-3.5-turbo",
                                                           "max_tokens": 16_380})
    for label, raw in (("not json", b"{oops"), ("not an object", b"[]"), ("empty", b"")):
        yield label, http.post(address, content=raw, headers={"Content-Type": "application/json"})
    for label, body in (("no model", {"messages": M}), ("no messages", {"model": "gpt-4o", "messages": []}),
                        ("bad role", {"model": "gpt-4o", "messages": [{"role": "robot", "content": "x"}]}),
                        ("bad temperature", {**BODIES["plain"], "temperature": 9}),
                        ("bad max_tokens", {**BODIES["plain"], "max_tokens": 0}),
                        ("bad stream", {**BODIES["plain"], "stream": "yes"}),
                        ("unknown model", {"model": "gpt-5-imaginary", "messages": M})):
        yield label, http.post(address, json=body)
    yield "too large", http.post(address, content=b"x" * 1_100_000)
    yield "no key", httpx.post(address, json=BODIES["plain"])
    yield "wrong key", httpx.post(address, json=BODIES["plain"], headers={"Authorization": "Bearer wrong"})
    yield "unknown path", http.get(provider.api_base("openai") + "/nothing")
    provider.set_limits("openai/gpt-4o-mini", rpm=1)
    http.post(address, json=BODIES["plain"])
    yield "rpm limit", http.post(address, json=BODIES["plain"])
    provider.reset()
    provider.set_latency_scale(0.0)
    provider.set_credit_limit(0.0)
    yield "quota", http.post(address, json=BODIES["plain"])


def test_openai_error_bodies_match_error_response(http, provider) -> None:
    seen = 0
    for label, r in openai_error_bodies(http, provider):
        assert r.status_code >= 400, label
        check("openai", openai("ErrorResponse"), r.json())
        seen += 1
    assert seen == len(FAULT_STATUSES) + 21


@pytest.mark.parametrize("kind", ["error_in_body", "error_in_choice"])
def test_openai_stream_error_event_matches_error_response(http, provider, kind) -> None:
    provider.fail("openai/gpt-4o-mini", 502, kind=kind, times=1)
    events, _ = sse(http, url(provider, "openai"), {**BODIES["plain"], "stream": True})
    assert "[DONE]" not in events and len(events) > 2
    for chunk in events[:-1]:
        check("openai", openai("CreateChatCompletionStreamResponse"), chunk)
    check("openai", openai("ErrorResponse"), events[-1])


# --- OpenRouter flavour (/api/v1) ---------------------------------------------------------------

@pytest.mark.parametrize("kind", BODIES)
def test_openrouter_answers_match_chat_result(http, provider, kind) -> None:
    r = http.post(url(provider, "openrouter"), json=BODIES[kind])
    assert r.status_code == 200 and r.headers["x-generation-id"] == r.json()["id"]
    check("openrouter", "/components/schemas/ChatResult", r.json())


@pytest.mark.parametrize("kind", BODIES)
@pytest.mark.parametrize("include_usage", [None, True])
def test_openrouter_stream_chunks_match_chat_stream_chunk(http, provider, kind, include_usage) -> None:
    body = {**BODIES[kind], "stream": True}
    if include_usage is not None:
        body["stream_options"] = {"include_usage": include_usage}
    events, comments = sse(http, url(provider, "openrouter"), body)
    assert events[-1] == "[DONE]" and comments and set(comments) == {KEEPALIVE.decode().strip()}
    for chunk in events[:-1]:
        check("openrouter", "/components/schemas/ChatStreamChunk", chunk)
    assert events[-2]["usage"]["cost"] > 0  # always, with or without stream_options


@pytest.mark.parametrize("status", FAULT_STATUSES)
def test_openrouter_error_bodies_match_the_status_schema(http, provider, status) -> None:
    provider.fail("openai/gpt-4o-mini", status, times=1)
    r = http.post(url(provider, "openrouter"), json=BODIES["plain"])
    assert r.status_code == status
    pointer = openrouter_status(status)
    if pointer is None:  # 409 and 504 are not among the documented statuses of POST /chat/completions
        check_local("ErrorResponse", OPENROUTER_ERROR_DOC, r.json())
    else:
        check("openrouter", pointer, r.json())


def test_openrouter_request_errors_match_the_status_schema(http, provider) -> None:
    address = url(provider, "openrouter")
    answers = [http.post(address, content=b"{oops", headers={"Content-Type": "application/json"}),
               http.post(address, json={"messages": M}),
               http.post(address, json={"model": "no/such-model", "messages": M}),
               http.post(address, content=b"x" * 1_100_000),
               httpx.post(address, json=BODIES["plain"]),
               httpx.post(address, json=BODIES["plain"], headers={"Authorization": "Bearer wrong"}),
               http.post(address, json={"model": "gpt-3.5-turbo", "messages": [{"role": "user", "content": "слово " * 20_000}]})]
    provider.fail("openai/gpt-4o-mini", kind="context_length", times=1)
    answers.append(http.post(address, json=BODIES["plain"]))
    provider.set_limits("openai/gpt-4o-mini", rpm=1, retry_after=False)
    http.post(address, json=BODIES["plain"])
    answers.append(http.post(address, json=BODIES["plain"]))
    provider.set_credit_limit(0.0)
    answers.append(http.post(address, json=BODIES["plain"]))
    assert [r.status_code for r in answers] == [400, 400, 404, 413, 401, 401, 400, 400, 429, 402]
    for r in answers:
        check("openrouter", openrouter_status(r.status_code), r.json())


@pytest.mark.parametrize("status", FAULT_STATUSES)
def test_openrouter_errors_after_the_model_started(http, provider, status) -> None:
    """HTTP 200: the error in the body, in a choice, or as the last SSE event (a ChatStreamChunk)."""
    address = url(provider, "openrouter")
    provider.fail("openai/gpt-4o-mini", status, kind="error_in_body", times=1)
    r = http.post(address, json=BODIES["plain"])
    assert r.status_code == 200 and r.json()["error"]["code"] == status
    check_local("ErrorResponse in a 200 body", OPENROUTER_ERROR_DOC, r.json())
    check("openrouter", "/components/schemas/ApiErrorType", r.json()["error"]["metadata"]["error_type"])
    provider.fail("openai/gpt-4o-mini", status, kind="error_in_choice", times=1)
    r = http.post(address, json=BODIES["plain"])
    assert r.status_code == 200 and r.json()["choices"][0]["finish_reason"] == "error"
    check("openrouter", "/components/schemas/ChatResult", r.json())
    provider.fail("openai/gpt-4o-mini", status, kind="error_in_body", times=1)
    events, _ = sse(http, address, {**BODIES["plain"], "stream": True})
    assert "[DONE]" not in events and events[-1]["error"]["code"] == status
    for chunk in events:
        check("openrouter", "/components/schemas/ChatStreamChunk", chunk)


def test_openrouter_key_endpoint_matches_its_schema(http, provider) -> None:
    home = provider.api_base("openrouter")
    check("openrouter", KEY_SCHEMA, http.get(f"{home}/key").json())
    key = provider.create_key("отчёты", limit=0.5)
    with httpx.Client(headers={"Authorization": f"Bearer {key}"}) as other:
        other.post(url(provider, "openrouter"), json=BODIES["plain"])
        body = other.get(f"{home}/key").json()
    check("openrouter", KEY_SCHEMA, body)
    assert body["data"]["usage"] > 0 and body["data"]["limit"] == 0.5
    check("openrouter", KEY_SCHEMA, http.get(provider.api_base("openrouter", "d1") + "/key").json())
    r = httpx.get(f"{home}/key", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401
    check("openrouter", "/paths/~1key/get/responses/401/content/application~1json/schema", r.json())


# --- the validators are not vacuous ------------------------------------------------------------

def delete(obj: dict[str, Any], *path: str | int) -> dict[str, Any]:
    """A deep copy of ``obj`` without the field at ``path``."""
    obj = copy.deepcopy(obj)
    parent = obj
    for step in path[:-1]:
        parent = parent[step]
    del parent[path[-1]]
    return obj


def test_validators_reject_what_the_schemas_require(http, provider) -> None:
    answer = http.post(url(provider, "openai"), json=BODIES["plain"]).json()
    assert not errors("openai", openai("CreateChatCompletionResponse"), answer)
    for path in (("choices", 0, "message", "refusal"), ("choices", 0, "logprobs"), ("created",)):
        assert errors("openai", openai("CreateChatCompletionResponse"), delete(answer, *path)), path
    bad_finish = copy.deepcopy(answer)
    bad_finish["choices"][0]["finish_reason"] = "error"  # OpenRouter's, not OpenAI's
    assert errors("openai", openai("CreateChatCompletionResponse"), bad_finish)
    error = http.post(url(provider, "openai"), json={"model": "gpt-4o-mini", "messages": []}).json()
    assert errors("openai", openai("ErrorResponse"), delete(error, "error", "param"))
    ours = http.post(url(provider, "openrouter"), json=BODIES["plain"]).json()
    assert errors("openrouter", "/components/schemas/ChatResult", delete(ours, "system_fingerprint"))
    assert errors("openrouter", "/components/schemas/ChatResult",
                  delete(ours, "usage", "cost_details", "upstream_inference_prompt_cost"))
    key = http.get(provider.api_base("openrouter") + "/key").json()
    assert errors("openrouter", KEY_SCHEMA, delete(key, "data", "limit_remaining"))


def test_nullable_rule_is_needed_and_applied() -> None:
    """Without the rule a correct stream chunk (``finish_reason: null``) would be rejected."""
    raw = json.loads((REFERENCES / "openai-subset.json").read_text(encoding="utf-8"))
    choice = raw["components"]["schemas"]["CreateChatCompletionStreamResponse"]["properties"]["choices"]["items"]
    assert choice["properties"]["finish_reason"].get("nullable") is True
    assert jsonschema.Draft202012Validator(choice["properties"]["finish_reason"]).is_valid(None) is False
    fixed = spec("openai")["components"]["schemas"]["CreateChatCompletionStreamResponse"]
    assert jsonschema.Draft202012Validator(fixed["properties"]["choices"]["items"]["properties"]["finish_reason"]).is_valid(None)
