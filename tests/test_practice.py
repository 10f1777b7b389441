"""The practice provider over real HTTP: API shape, auth, faults, limits, deployments, stats."""

from __future__ import annotations

import json
import socket
import time

import httpx
import pytest

from concurrent.futures import ThreadPoolExecutor

from course_helpers import practice_data
from course_helpers.practice import KEEPALIVE, PRACTICE_KEY, example_for_schema

M = [{"role": "user", "content": "Что такое Python?"}]


@pytest.fixture
def http(provider):
    provider.set_latency_scale(0.0)  # these tests are about behaviour, not timing
    with httpx.Client(headers={"Authorization": f"Bearer {PRACTICE_KEY}"}, timeout=10) as client:
        yield client


def chat(http, provider, body, flavor="openrouter", deployment=None):
    return http.post(provider.api_base(flavor, deployment) + "/chat/completions", json=body)


def test_openrouter_answer_has_usage_cost_from_price_table(http, provider):
    r = chat(http, provider, {"model": "openai/gpt-4o-mini", "messages": M})
    assert r.status_code == 200
    body = r.json()
    assert body["choices"][0]["message"]["content"] == practice_data.ANSWERS["что такое python?"]
    usage = body["usage"]
    spec = practice_data.MODELS["openai/gpt-4o-mini"]
    assert usage["completion_tokens"] == practice_data.count_tokens(body["choices"][0]["message"]["content"], spec.encoding)
    assert usage["cost"] == practice_data.cost_usd(spec, usage["prompt_tokens"], usage["completion_tokens"])
    assert usage["cost"] > 0


def test_openai_flavor_has_no_cost_and_echoes_bare_model(http, provider):
    r = chat(http, provider, {"model": "gpt-4o", "messages": M}, flavor="openai")
    assert r.status_code == 200
    assert r.json()["model"] == "gpt-4o"
    assert "cost" not in r.json()["usage"]
    assert provider.stats()["by_model"]["openai/gpt-4o"]["requests"] == 1


def test_same_prompt_same_answer_other_prompt_other_answer(http, provider):
    a = chat(http, provider, {"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "вопрос А"}]}).json()
    b = chat(http, provider, {"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "вопрос А"}]}).json()
    c = chat(http, provider, {"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "вопрос Б"}]}).json()
    text = lambda x: x["choices"][0]["message"]["content"]  # noqa: E731
    assert text(a) == text(b) != text(c)


def test_max_tokens_truncates_with_finish_reason_length(http, provider):
    body = chat(http, provider, {"model": "openai/gpt-4o-mini", "messages": M, "max_tokens": 5}).json()
    assert body["usage"]["completion_tokens"] == 5
    assert body["choices"][0]["finish_reason"] == "length"


def test_streaming_sse_joins_to_the_full_answer_with_usage(http, provider):
    body = {"model": "openai/gpt-4o-mini", "messages": M, "stream": True, "stream_options": {"include_usage": True}}
    with http.stream("POST", provider.api_base() + "/chat/completions", json=body) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        events = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == practice_data.ANSWERS["что такое python?"]
    assert chunks[-1]["usage"]["cost"] > 0


def test_json_schema_response_format_is_valid_for_the_schema(http, provider):
    schema = {"type": "object", "properties": {"answer": {"type": "string"}, "score": {"type": "integer"},
                                               "tags": {"type": "array", "items": {"type": "string"}},
                                               "kind": {"enum": ["a", "b"]}},
              "required": ["answer", "score", "tags", "kind"]}
    body = chat(http, provider, {"model": "openai/gpt-4o", "messages": M, "response_format": {
        "type": "json_schema", "json_schema": {"name": "X", "schema": schema}}}).json()
    value = json.loads(body["choices"][0]["message"]["content"])
    assert set(value) == {"answer", "score", "tags", "kind"}
    assert isinstance(value["score"], int) and value["kind"] == "a" and isinstance(value["tags"], list)


def test_schema_refs_and_optional_fields():
    schema = {"$defs": {"Item": {"type": "object", "properties": {"name": {"type": "string"}}}},
              "type": "object", "properties": {"item": {"$ref": "#/$defs/Item"},
                                               "note": {"anyOf": [{"type": "string"}, {"type": "null"}]}}}
    value = example_for_schema(schema, "текст ответа")
    assert isinstance(value["item"]["name"], str) and isinstance(value["note"], str)


@pytest.mark.parametrize("header, reason", [({}, "missing_api_key"),
                                            ({"Authorization": "Bearer wrong"}, "invalid_api_key")])
def test_auth_errors_are_401_in_openrouter_format(provider, header, reason):
    r = httpx.post(provider.api_base() + "/chat/completions", json={"model": "openai/gpt-4o", "messages": M},
                   headers=header)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == 401 and r.json()["error"]["metadata"]["reason"] == reason


def test_openai_flavor_error_format(provider):
    r = httpx.post(provider.api_base("openai") + "/chat/completions", json={"model": "gpt-4o", "messages": M},
                   headers={"Authorization": "Bearer wrong"})
    err = r.json()["error"]
    assert r.status_code == 401 and err["type"] == "authentication_error" and err["code"] == "invalid_api_key"


@pytest.mark.parametrize("body, status, param", [
    (b"{not json", 400, None),
    (b"[]", 400, None),
    (json.dumps({"messages": M}).encode(), 400, "model"),
    (json.dumps({"model": "openai/gpt-4o", "messages": []}).encode(), 400, "messages"),
    (json.dumps({"model": "openai/gpt-4o", "messages": M, "temperature": "hot"}).encode(), 400, "temperature"),
    (json.dumps({"model": "openai/gpt-4o", "messages": M, "max_tokens": 0}).encode(), 400, "max_tokens"),
    (json.dumps({"model": "no/such-model", "messages": M}).encode(), 404, "model"),
])
def test_bad_input_gets_clear_4xx(http, provider, body, status, param):
    r = http.post(provider.api_base() + "/chat/completions", content=body,
                  headers={"Content-Type": "application/json"})
    assert r.status_code == status
    assert r.json()["error"]["message"]
    assert provider.healthy()


def test_unknown_model_message_lists_available_models(http, provider):
    r = chat(http, provider, {"model": "openai/gpt-4o-mni", "messages": M})
    assert r.status_code == 404 and "openai/gpt-4o-mini" in r.json()["error"]["message"]


def test_too_large_body_is_413(http, provider):
    r = http.post(provider.api_base() + "/chat/completions", content=b"x" * 1_100_000)
    assert r.status_code == 413


def test_context_window_exceeded_is_a_400_with_openai_code(http, provider):
    long = "слово " * 20_000
    r = chat(http, provider, {"model": "gpt-3.5-turbo", "messages": [{"role": "user", "content": long}]}, "openai")
    assert r.status_code == 400 and r.json()["error"]["code"] == "context_length_exceeded"


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 408, 429, 500, 502, 503, 504])
def test_fault_statuses(http, provider, status):
    provider.fail("openai/gpt-4o", status, times=1)
    assert chat(http, provider, {"model": "openai/gpt-4o", "messages": M}).status_code == status
    assert chat(http, provider, {"model": "openai/gpt-4o", "messages": M}).status_code == 200


def test_fault_retry_after_header_and_scope_by_deployment(http, provider):
    provider.fail("openai/gpt-4o", 429, retry_after=3, deployment="d1")
    r1 = chat(http, provider, {"model": "openai/gpt-4o", "messages": M}, deployment="d1")
    r2 = chat(http, provider, {"model": "openai/gpt-4o", "messages": M}, deployment="d2")
    assert (r1.status_code, r1.headers["retry-after"], r2.status_code) == (429, "3", 200)
    assert provider.stats()["by_deployment"]["d1"]["status_429"] == 1


def test_fault_probability_is_seeded_and_roughly_right(http, provider):
    provider.fail("openai/gpt-4o", 503, probability=0.3)
    codes = [chat(http, provider, {"model": "openai/gpt-4o", "messages": M}).status_code for _ in range(100)]
    first = codes.count(503)
    provider.reset()
    provider.set_latency_scale(0.0)
    provider.fail("openai/gpt-4o", 503, probability=0.3)
    again = [chat(http, provider, {"model": "openai/gpt-4o", "messages": M}).status_code for _ in range(100)]
    assert codes == again  # same seed, same sequence
    assert 15 <= first <= 45


def test_fault_kinds_malformed_empty_drop(http, provider):
    provider.fail("openai/gpt-4o", kind="malformed", times=1)
    r = chat(http, provider, {"model": "openai/gpt-4o", "messages": M})
    with pytest.raises(json.JSONDecodeError):
        r.json()
    provider.fail("openai/gpt-4o", kind="empty", times=1)
    assert chat(http, provider, {"model": "openai/gpt-4o", "messages": M}).json() == {}
    provider.fail("openai/gpt-4o", kind="drop", times=1)
    with pytest.raises(httpx.RemoteProtocolError):
        chat(http, provider, {"model": "openai/gpt-4o", "messages": M})


def test_hang_fault_outlasts_client_timeout_and_provider_recovers(provider):
    provider.fail("openai/gpt-4o", kind="hang", times=1)
    start = time.perf_counter()
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(provider.api_base() + "/chat/completions", json={"model": "openai/gpt-4o", "messages": M},
                   headers={"Authorization": f"Bearer {PRACTICE_KEY}"}, timeout=0.5)
    assert time.perf_counter() - start < 2
    assert provider.healthy()


def test_reset_ends_a_hang_in_progress(provider):
    """A checker that gave up on a learner's call without a timeout resets the provider: the hung
    request then ends at once (the connection is dropped) instead of after HANG_LIMIT_S."""
    import threading

    provider.fail("openai/gpt-4o", kind="hang", times=1)
    errors: list[BaseException] = []

    def call() -> None:
        try:
            httpx.post(provider.api_base() + "/chat/completions", json={"model": "openai/gpt-4o", "messages": M},
                       headers={"Authorization": f"Bearer {PRACTICE_KEY}"}, timeout=30)
        except httpx.HTTPError as e:
            errors.append(e)

    worker = threading.Thread(target=call)
    worker.start()
    time.sleep(0.5)
    assert worker.is_alive()  # hanging
    start = time.perf_counter()
    provider.reset()
    worker.join(5)
    assert not worker.is_alive() and time.perf_counter() - start < 2
    assert len(errors) == 1 and isinstance(errors[0], httpx.RemoteProtocolError)


@pytest.mark.parametrize("body", [
    {"kind": "explode"}, {"status": 299}, {"status": "503"}, {"times": 0}, {"probability": 1.5},
    {"times": 1, "probability": 0.5}, {"model": ""}, {"colour": "red"}, {"retry_after": -1},
])
def test_bad_fault_control_is_400(provider, body):
    r = httpx.post(provider.url + "/_practice/faults", json=body, headers={"Authorization": f"Bearer {PRACTICE_KEY}"})
    assert r.status_code == 400 and r.json()["error"]["message"]


def test_rpm_limit_answers_429_with_ratelimit_headers(http, provider):
    provider.set_limits("openai/gpt-4o-mini", rpm=2)
    codes = [chat(http, provider, {"model": "openai/gpt-4o-mini", "messages": M}) for _ in range(3)]
    assert [r.status_code for r in codes] == [200, 200, 429]
    assert codes[0].headers["x-ratelimit-limit-requests"] == "2"
    assert codes[0].headers["x-ratelimit-remaining-requests"] == "1"
    assert int(codes[2].headers["retry-after"]) >= 1
    assert codes[2].headers["x-ratelimit-remaining-requests"] == "0"


def test_tpm_limit(http, provider):
    provider.set_limits("openai/gpt-4o-mini", tpm=150)
    codes = [chat(http, provider, {"model": "openai/gpt-4o-mini", "messages": M}).status_code for _ in range(3)]
    assert codes == [200, 429, 429]  # one answer is ~97 tokens


def test_latency_model_and_scale(http, provider):
    provider.set_latency_scale(1.0)
    provider.set_latency("openai/gpt-4o", base_ms=200, per_token_ms=0, jitter=0)
    start = time.perf_counter()
    chat(http, provider, {"model": "openai/gpt-4o", "messages": M})
    slow = time.perf_counter() - start
    provider.set_latency_scale(0.0)
    start = time.perf_counter()
    chat(http, provider, {"model": "openai/gpt-4o", "messages": M})
    fast = time.perf_counter() - start
    assert slow >= 0.2 and fast < 0.1


def test_generate_endpoint(provider):
    r = httpx.post(provider.generate_url, json={"prompt": "Привет!", "max_tokens": 50})
    assert r.status_code == 200
    assert r.json()["generated_text"] == practice_data.ANSWERS["привет!"]
    assert r.json()["tokens"]["completion"] > 0
    assert httpx.post(provider.generate_url, json={"prompt": ""}).status_code == 400
    assert httpx.post(provider.generate_url, json={"prompt": "x", "max_tokens": "many"}).status_code == 400
    provider.fail("practice/generate", 503, times=1)
    assert httpx.post(provider.generate_url, json={"prompt": "x"}).status_code == 503
    assert provider.stats()["by_model"]["practice/generate"]["requests"] == 2


def test_stats_and_log_agree(http, provider):
    for dep in ("d1", "d1", "d2"):
        chat(http, provider, {"model": "openai/gpt-4o-mini", "messages": M}, deployment=dep)
    stats, log = provider.stats(), provider.log()
    assert stats["requests"] == len(log) == 3
    assert stats["by_deployment"]["d1"]["requests"] == 2 and stats["by_deployment"]["d2"]["requests"] == 1
    assert provider.requests(deployment="d1") == 2
    assert stats["cost"] == pytest.approx(sum(e["cost"] for e in log))


def test_tcp_nodelay_keepalive_is_fast(http, provider):
    """Without TCP_NODELAY each keep-alive request would stall ~40 ms (Nagle + delayed ACK)."""
    provider.set_latency_scale(0.0)
    chat(http, provider, {"model": "openai/gpt-4o-mini", "messages": M})
    start = time.perf_counter()
    for _ in range(20):
        chat(http, provider, {"model": "openai/gpt-4o-mini", "messages": M})
    assert (time.perf_counter() - start) / 20 < 0.03


def test_server_sets_tcp_nodelay(provider):
    """Directly: the accepted socket has TCP_NODELAY (checked through a raw request)."""
    with socket.create_connection(("127.0.0.1", int(provider.url.rsplit(":", 1)[1]))) as s:
        s.sendall(b"GET /_practice/health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 200")


def test_generate_rate_limit_is_recorded(provider):
    provider.set_latency_scale(0.0)
    provider.set_limits("practice/generate", rpm=1)
    codes = [httpx.post(provider.generate_url, json={"prompt": "x"}).status_code for _ in range(2)]
    assert codes == [200, 429]
    assert provider.stats()["by_model"]["practice/generate"]["status_429"] == 1


def test_wrong_key_is_counted_in_stats(provider):
    r = httpx.post(provider.api_base() + "/chat/completions", json={"model": "gpt-4o", "messages": M},
                   headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401
    assert provider.stats()["by_model"]["openai/gpt-4o"]["status_401"] == 1


def test_generate_streams_ndjson(provider):
    provider.set_latency_scale(0.0)
    with httpx.stream("POST", provider.generate_url, json={"prompt": "Привет!", "stream": True}) as r:
        assert r.headers["content-type"] == "application/x-ndjson"
        lines = [json.loads(line) for line in r.iter_lines() if line]
    assert "".join(x["text"] for x in lines[:-1]) == practice_data.ANSWERS["привет!"]
    assert lines[-1]["done"] is True and lines[-1]["tokens"]["completion"] > 0
    assert httpx.post(provider.generate_url, json={"prompt": "x", "stream": "yes"}).status_code == 400


def test_generate_log_keeps_what_was_asked(provider):
    """Lesson 04's checkers judge the request /generate received: its max_tokens and whether it streamed."""
    provider.set_latency_scale(0.0)
    httpx.post(provider.generate_url, json={"prompt": "Привет!", "max_tokens": 7})
    httpx.post(provider.generate_url, json={"prompt": "Привет!"})
    with httpx.stream("POST", provider.generate_url, json={"prompt": "Привет!", "max_tokens": 9, "stream": True}) as r:
        r.read()
    assert [(e["max_tokens"], e["stream"]) for e in provider.log()] == [(7, False), (100, False), (9, True)]


def test_stream_takes_as_long_as_a_plain_answer(http, provider):
    """Chunks follow a schedule (practice._sleep_until): late wake-ups on a busy machine do not add up
    (they made a stream of 88 chunks 85 ms slower than the plain answer in a full run)."""
    body = {"model": "openai/gpt-4o-mini", "messages": M}
    chat(http, provider, body)  # the provider's first answer of a prompt pays for tokenizing: not what is timed
    provider.set_latency_scale(1.0)
    provider.set_latency("openai/gpt-4o-mini", base_ms=50, per_token_ms=5, jitter=0)
    start = time.perf_counter()
    plain = chat(http, provider, body).json()
    plain_s = time.perf_counter() - start
    start = time.perf_counter()
    with http.stream("POST", provider.api_base() + "/chat/completions", json={**body, "stream": True}) as r:
        list(r.iter_lines())
    stream_s = time.perf_counter() - start
    expected = 0.05 + 0.005 * plain["usage"]["completion_tokens"]
    assert plain_s >= expected and abs(stream_s - plain_s) < 0.1 * plain_s + 0.03


@pytest.mark.parametrize("name", ["openai/gpt-4o-mni", "gpt4o", "openrouter/openai/nope"])
def test_fault_for_unknown_model_is_refused(provider, name):
    with pytest.raises(ValueError, match="не найдена"):
        provider.fail(name, 503)


def test_fault_accepts_litellm_style_openrouter_prefix(http, provider):
    provider.fail("openrouter/openai/gpt-4o-mini", 503, times=1)
    assert chat(http, provider, {"model": "openai/gpt-4o-mini", "messages": M}).status_code == 503


# --- OpenRouter streams: usage always, keep-alive comments -------------------------------------------

def raw_stream(http, provider, body, flavor="openrouter", key=None):
    """(comment lines, data payloads: JSON or "[DONE]", headers) of a streamed answer."""
    headers = {"Authorization": f"Bearer {key}"} if key else None
    with http.stream("POST", provider.api_base(flavor) + "/chat/completions", json=body, headers=headers) as r:
        assert r.status_code == 200
        lines = [line for line in r.iter_lines() if line]
        response_headers = r.headers
    comments = [line for line in lines if line.startswith(":")]
    data = [line[6:] if line == "data: [DONE]" else json.loads(line[6:]) for line in lines if line.startswith("data: ")]
    assert len(comments) + len(data) == len(lines)
    return comments, data, response_headers, lines


def test_openrouter_stream_always_ends_with_usage_and_cost(http, provider):
    _, data, _, _ = raw_stream(http, provider, {"model": "openai/gpt-4o-mini", "messages": M, "stream": True})
    usage = data[-2]["usage"]  # the last message before [DONE]
    spec = practice_data.MODELS["openai/gpt-4o-mini"]
    assert data[-1] == "[DONE]" and data[-2]["choices"] == []
    assert usage["cost"] == practice_data.cost_usd(spec, usage["prompt_tokens"], usage["completion_tokens"]) > 0
    assert usage["cost_details"] == {"upstream_inference_cost": None,
                                     "upstream_inference_prompt_cost": practice_data.cost_usd(spec, usage["prompt_tokens"], 0),
                                     "upstream_inference_completions_cost": practice_data.cost_usd(spec, 0, usage["completion_tokens"])}
    assert all("usage" not in chunk for chunk in data[:-2])


def test_openai_stream_keeps_usage_opt_in_and_without_cost(http, provider):
    body = {"model": "gpt-4o-mini", "messages": M, "stream": True}
    comments, plain, _, _ = raw_stream(http, provider, body, "openai")
    _, with_usage, _, _ = raw_stream(http, provider, {**body, "stream_options": {"include_usage": True}}, "openai")
    assert comments == [] and all("usage" not in chunk for chunk in plain[:-1])
    assert with_usage[-2]["usage"]["total_tokens"] > 0 and "cost" not in with_usage[-2]["usage"]


def test_keepalive_comment_at_once_then_periodically_while_waiting(http, provider):
    provider.set_latency_scale(0.25)  # keep-alive period: 1 s x 0.25
    provider.set_latency("openai/gpt-4o-mini", base_ms=2400, per_token_ms=0, jitter=0)  # 0.6 s to the first token
    comments, data, _, lines = raw_stream(http, provider, {"model": "openai/gpt-4o-mini", "messages": M, "stream": True})
    assert lines[0] == KEEPALIVE.decode().strip() and set(comments) == {": OPENROUTER PROCESSING"}
    assert 2 <= len(comments) <= 3  # at 0, 0.25 and 0.5 s
    assert all(line.startswith(":") for line in lines[:len(comments)])  # only while waiting for the first token
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in data[:-1] if c["choices"])
    assert text == practice_data.ANSWERS["что такое python?"]
    provider.set_latency_scale(0.0)
    comments, _, _, _ = raw_stream(http, provider, {"model": "openai/gpt-4o-mini", "messages": M, "stream": True})
    assert len(comments) == 1  # no wait: only the one right after the stream opens


# --- errors after the model started --------------------------------------------------------------

FULL = practice_data.ANSWERS["что такое python?"]


def test_error_in_body_is_http_200_with_an_error_body(http, provider):
    provider.fail("openai/gpt-4o-mini", 429, kind="error_in_body", times=1)
    r = chat(http, provider, {"model": "openai/gpt-4o-mini", "messages": M})
    assert r.status_code == 200 and set(r.json()) == {"error"}
    error = r.json()["error"]
    assert error["code"] == 429 and error["metadata"] == {"error_type": "rate_limit_exceeded"} and error["message"]
    entry = provider.log()[-1]
    assert r.headers["x-generation-id"] == f"gen-practice-{entry['n']:06d}"
    assert entry["status"] == "fault:error_in_body" and 0 < entry["completion_tokens"] < 87 and entry["cost"] > 0
    assert provider.key_info()["data"]["usage"] == pytest.approx(entry["cost"])  # the half answer is billed


def test_error_in_choice_carries_the_partial_answer(http, provider):
    provider.fail("openai/gpt-4o-mini", 502, kind="error_in_choice", times=1)
    body = chat(http, provider, {"model": "openai/gpt-4o-mini", "messages": M}).json()
    choice = body["choices"][0]
    assert choice["finish_reason"] == "error" and choice["error"]["code"] == 502
    assert choice["error"]["metadata"]["error_type"] == "provider_unavailable"
    assert FULL.startswith(choice["message"]["content"]) and 0 < len(choice["message"]["content"]) < len(FULL)
    assert body["usage"]["completion_tokens"] == practice_data.count_tokens(choice["message"]["content"], "o200k_base")


@pytest.mark.parametrize("kind", ["error_in_body", "error_in_choice"])
def test_stream_error_event_after_half_the_answer(http, provider, kind):
    provider.fail("openai/gpt-4o-mini", 503, kind=kind, times=1)
    _, data, headers, _ = raw_stream(http, provider, {"model": "openai/gpt-4o-mini", "messages": M, "stream": True})
    last = data[-1]
    assert "[DONE]" not in data  # the stream ends after the error event
    assert last["error"] == {"message": last["error"]["message"], "code": 503,
                             "metadata": {"error_type": "provider_overloaded"}}
    assert last["choices"] == [{"index": 0, "delta": {"content": ""}, "logprobs": None, "finish_reason": "error"}]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in data[:-1])
    assert FULL.startswith(text) and 0 < len(text) < len(FULL)
    assert {c["id"] for c in data} == {headers["x-generation-id"]}


def test_openai_flavour_errors_after_start(http, provider):
    """/v1 has no 200-with-error: a plain status error without stream, an {"error"} event in a stream."""
    provider.fail("openai/gpt-4o-mini", 502, kind="error_in_body", times=2)
    r = chat(http, provider, {"model": "gpt-4o-mini", "messages": M}, "openai")
    assert r.status_code == 502 and r.json()["error"]["type"] == "api_error" and "x-generation-id" not in r.headers
    _, data, _, _ = raw_stream(http, provider, {"model": "gpt-4o-mini", "messages": M, "stream": True}, "openai")
    assert set(data[-1]) == {"error"} and data[-1]["error"]["code"] == "simulated_fault" and "[DONE]" not in data
    assert FULL.startswith("".join(c["choices"][0]["delta"].get("content", "") for c in data[:-1]))


def test_generation_fault_on_generate_is_a_status_error(provider):
    provider.fail("practice/generate", 503, kind="error_in_body", times=1)
    assert httpx.post(provider.generate_url, json={"prompt": "x"}).status_code == 503


# --- credits: per-key limits, 402, GET /api/v1/key ---------------------------------------------------

def test_key_endpoint_shows_usage_of_the_practice_key(http, provider):
    info = provider.key_info()["data"]
    assert (info["label"], info["limit"], info["limit_remaining"], info["usage"]) == ("practice-key", None, None, 0.0)
    cost = chat(http, provider, {"model": "openai/gpt-4o-mini", "messages": M}).json()["usage"]["cost"]
    chat(http, provider, {"model": "gpt-4o-mini", "messages": M}, "openai")  # billed too, though no cost is shown
    assert provider.key_info()["data"]["usage"] == pytest.approx(2 * cost)
    assert http.get(provider.api_base("openrouter", "d1") + "/key").json() == provider.key_info()
    assert http.get(provider.api_base("openai") + "/key").status_code == 404  # OpenAI has no such endpoint
    assert httpx.get(provider.api_base() + "/key", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_credit_limit_402_after_the_call_that_reaches_it(http, provider):
    provider.set_credit_limit(0.00001)
    first = chat(http, provider, {"model": "openai/gpt-4o-mini", "messages": M})
    assert first.status_code == 200 and first.json()["usage"]["cost"] > 0.00001  # checked before, billed after
    second = chat(http, provider, {"model": "openai/gpt-4o-mini", "messages": M})
    assert second.status_code == 402 and "x-generation-id" not in second.headers
    error = second.json()["error"]
    assert error["code"] == 402 and error["metadata"] == {"error_type": "payment_required"}
    quota = chat(http, provider, {"model": "gpt-4o-mini", "messages": M}, "openai")
    assert quota.status_code == 429 and quota.json()["error"]["code"] == "insufficient_quota"
    info = provider.key_info()["data"]
    assert info["limit"] == 0.00001 and info["limit_remaining"] == 0.0 and info["usage"] > info["limit"]
    assert provider.stats()["statuses"] == {"200": 1, "402": 1, "429": 1}
    provider.set_credit_limit(None)
    assert chat(http, provider, {"model": "openai/gpt-4o-mini", "messages": M}).status_code == 200


def test_created_keys_have_their_own_limit_and_usage(http, provider):
    key = provider.create_key("отчёты", limit=0.0)
    r = http.post(provider.api_base() + "/chat/completions", json={"model": "openai/gpt-4o-mini", "messages": M},
                  headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 402
    assert chat(http, provider, {"model": "openai/gpt-4o-mini", "messages": M}).status_code == 200  # practice key
    assert (provider.key_info(key)["data"]["label"], provider.key_info(key)["data"]["usage"]) == ("отчёты", 0.0)
    assert [e["key"] for e in provider.log()] == ["отчёты", "practice-key"]
    provider.set_credit_limit(1.0, key=key)
    assert http.post(provider.api_base("openai") + "/chat/completions", json={"model": "gpt-4o-mini", "messages": M},
                     headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert provider.key_info(key)["data"]["limit_remaining"] == pytest.approx(1.0 - provider.key_info(key)["data"]["usage"])
    provider.reset()
    with pytest.raises(ValueError, match="Неверный ключ"):
        provider.key_info(key)
    assert provider.key_info()["data"]["usage"] == 0.0


def test_concurrent_calls_overshoot_the_credit_limit(provider):
    """All calls in flight passed the check before any was billed: usage ends above the limit."""
    provider.set_latency_scale(0.25)
    provider.set_latency("openai/gpt-4o-mini", base_ms=800, per_token_ms=0, jitter=0)
    provider.set_credit_limit(1e-9)

    def call(_: int) -> int:
        return httpx.post(provider.api_base() + "/chat/completions", json={"model": "openai/gpt-4o-mini", "messages": M},
                          headers={"Authorization": f"Bearer {PRACTICE_KEY}"}, timeout=10).status_code

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(call, range(4))) == [200] * 4
    info = provider.key_info()["data"]
    assert info["usage"] == pytest.approx(provider.stats()["cost"]) and info["usage"] > 3 * 0.00005
    assert call(0) == 402


@pytest.mark.parametrize("action, body", [
    ("keys", {}), ("keys", {"label": ""}), ("keys", {"label": "x", "limit": -1}), ("keys", {"label": "x", "colour": 1}),
    ("credit_limit", {"limit": "5"}), ("credit_limit", {"limit": 1, "key": "nope"}),
    ("limits", {"rpm": 1, "retry_after": "no"}),
])
def test_bad_key_and_limit_control_is_400(provider, action, body):
    r = httpx.post(f"{provider.url}/_practice/{action}", json=body, headers={"Authorization": f"Bearer {PRACTICE_KEY}"})
    assert r.status_code == 400 and r.json()["error"]["message"]


# --- Retry-After per limit, context length per flavour, ids, OpenAI shape --------------------------

@pytest.mark.parametrize("retry_after", [True, False])
def test_rate_limit_retry_after_is_configurable(http, provider, retry_after):
    provider.set_limits("openai/gpt-4o-mini", rpm=1, retry_after=retry_after)
    chat(http, provider, {"model": "openai/gpt-4o-mini", "messages": M})
    r = chat(http, provider, {"model": "openai/gpt-4o-mini", "messages": M})
    assert r.status_code == 429 and r.headers["x-ratelimit-remaining-requests"] == "0"
    assert ("retry-after" in r.headers) is retry_after


@pytest.mark.parametrize("flavor, wording", [
    ("openai", "This model's maximum context length is 16385 tokens. However, your messages resulted in "),
    ("openrouter", "This endpoint's maximum context length is 16385 tokens. However, you requested about "),
])
def test_context_length_wording_per_flavour(http, provider, flavor, wording):
    r = chat(http, provider, {"model": "gpt-3.5-turbo", "messages": [{"role": "user", "content": "слово " * 20_000}]},
             flavor)
    error = r.json()["error"]
    assert r.status_code == 400 and error["message"].startswith(wording)
    if flavor == "openai":
        assert (error["code"], error["param"], error["type"]) == ("context_length_exceeded", "messages",
                                                                 "invalid_request_error")
    else:
        assert error["code"] == 400 and error["metadata"] == {"error_type": "context_length_exceeded"}
        assert error["message"].endswith('or use the "middle-out" transform to compress your prompt automatically.')
    provider.fail("openai/gpt-3.5-turbo", kind="context_length", times=1)
    fault = chat(http, provider, {"model": "gpt-3.5-turbo", "messages": M, "max_tokens": 10}, flavor).json()["error"]
    assert fault["message"].startswith(wording.split(" However")[0]) and "10 in the" in fault["message"]


def test_context_check_counts_the_requested_output(http, provider):
    body = {"model": "gpt-3.5-turbo", "messages": M, "max_tokens": 16_380}
    r = chat(http, provider, body, "openai")
    prompt = practice_data.prompt_tokens(M, "cl100k_base")
    assert r.status_code == 400 and f"({prompt} in the messages, 16380 in the completion)" in r.json()["error"]["message"]
    assert chat(http, provider, {**body, "max_tokens": 16_000}, "openai").status_code == 200


def test_generation_id_header_on_openrouter_answers_only(http, provider):
    r = chat(http, provider, {"model": "openai/gpt-4o-mini", "messages": M})
    assert r.headers["x-generation-id"] == r.json()["id"]
    provider.fail("openai/gpt-4o-mini", 503, times=1)
    assert chat(http, provider, {"model": "openai/gpt-4o-mini", "messages": M}).headers["x-generation-id"]
    assert "x-generation-id" not in chat(http, provider, {"model": "gpt-4o-mini", "messages": M}, "openai").headers
    wrong = httpx.post(provider.api_base() + "/chat/completions", json={"model": "openai/gpt-4o", "messages": M},
                       headers={"Authorization": "Bearer wrong"})
    assert "x-generation-id" not in wrong.headers  # refused before any model: no generation


def test_answers_carry_refusal_and_logprobs_as_null(http, provider):
    for flavor in ("openai", "openrouter"):
        choice = chat(http, provider, {"model": "gpt-4o-mini", "messages": M}, flavor).json()["choices"][0]
        assert choice["logprobs"] is None and choice["message"]["refusal"] is None


def test_log_records_the_request_parameters(http, provider):
    chat(http, provider, {"model": "openai/gpt-4o-mini", "messages": M, "usage": {"include": True}, "max_tokens": 9})
    entry = provider.log()[-1]
    assert entry["request_keys"] == ["max_tokens", "messages", "model", "usage"]
    assert entry["usage_param"] == {"include": True} and entry["key"] == "practice-key"
    assert entry["prompt"] == M[-1]["content"]  # the last message's text: whose request it was (07.6)
    chat(http, provider, {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "я" * 300}]})
    chat(http, provider, {"model": "openai/gpt-4o-mini", "messages": [
        {"role": "user", "content": [{"type": "text", "text": "части"}]}]})
    assert [e["prompt"] for e in provider.log()[-2:]] == ["я" * 200, None]
