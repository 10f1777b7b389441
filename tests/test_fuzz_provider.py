"""Fuzzing the practice provider with hypothesis: bad requests always get a 4xx in the
provider's error format, never a crash or an unplanned 5xx; it still serves afterwards."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from course_helpers import practice_data
from course_helpers.practice import PRACTICE_KEY

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=12)
good_messages = [{"role": "user", "content": "Привет!"}]
FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])


def not_a_json_object(raw: bytes) -> bool:
    try:
        return not isinstance(json.loads(raw), dict)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return True


@st.composite
def bad_chat_bodies(draw) -> bytes:
    """A chat request with exactly one defect (so it is certainly bad)."""
    defect = draw(st.sampled_from(["bytes", "not_object", "model", "messages", "role", "content", "temperature",
                                   "max_tokens", "stream", "n", "unknown_model", "response_format"]))
    body: dict = {"model": "openai/gpt-4o-mini", "messages": list(good_messages)}
    if defect == "bytes":
        return draw(st.binary(min_size=1, max_size=200).filter(not_a_json_object))
    if defect == "not_object":
        return json.dumps(draw(st.lists(json_values, max_size=3) | json_scalars)).encode()
    if defect == "model":
        body["model"] = draw(json_values.filter(lambda v: not (isinstance(v, str) and v)))
    elif defect == "messages":
        body["messages"] = draw(json_values.filter(lambda v: not (isinstance(v, list) and v)))
    elif defect == "role":
        body["messages"] = [{"role": draw(json_values.filter(lambda v: v not in
                                                              ("system", "user", "assistant", "tool", "developer",
                                                               "function"))), "content": "x"}]
    elif defect == "content":
        body["messages"] = [{"role": "user", "content": draw(
            st.integers() | st.floats(allow_nan=False) | st.booleans() | st.dictionaries(st.text(max_size=5), json_scalars))}]
    elif defect == "temperature":
        body["temperature"] = draw(st.floats(min_value=2.0001, allow_nan=False, allow_infinity=False)
                                   | st.floats(max_value=-0.0001, allow_nan=False, allow_infinity=False)
                                   | st.text(max_size=5) | st.booleans())
    elif defect == "max_tokens":
        body["max_tokens"] = draw(st.integers(max_value=0) | st.floats(allow_nan=False) | st.text(max_size=5)
                                  | st.booleans())
    elif defect == "stream":
        body["stream"] = draw(st.integers() | st.text(max_size=5))
    elif defect == "n":
        body["n"] = draw(st.integers().filter(lambda v: v != 1))
    elif defect == "response_format":
        body["response_format"] = draw(st.text(max_size=5) | st.integers() | st.lists(json_scalars, max_size=2))
    elif defect == "unknown_model":
        body["model"] = draw(st.text(min_size=1, max_size=40).filter(lambda m: practice_data.resolve_model(m) is None))
    return json.dumps(body).encode()


def assert_error_format(response: httpx.Response, statuses: set[int]) -> None:
    assert response.status_code in statuses, (response.status_code, response.text[:200])
    error = response.json()["error"]
    assert isinstance(error["message"], str) and error["message"]


@pytest.fixture(scope="module")
def client(course):
    course.provider.reset()
    course.provider.set_latency_scale(0.0)
    with httpx.Client(timeout=10) as c:
        yield c
    course.provider.reset()


@settings(FUZZ, max_examples=250)
@given(body=bad_chat_bodies(), flavor=st.sampled_from(["openrouter", "openai"]),
       deployment=st.sampled_from([None, "d1", "x-y_2"]))
def test_bad_chat_requests_get_4xx(course, client, body, flavor, deployment) -> None:
    r = client.post(course.provider.api_base(flavor, deployment) + "/chat/completions", content=body,
                    headers={"Authorization": f"Bearer {PRACTICE_KEY}", "Content-Type": "application/json"})
    assert_error_format(r, {400, 404})


@FUZZ
@given(header=st.sampled_from(["Authorization", "api-key", "X-Api-Key"]),
       value=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=60)
       .filter(lambda v: v not in (PRACTICE_KEY, f"Bearer {PRACTICE_KEY}")))
def test_bad_auth_gets_401(course, client, header, value) -> None:
    r = client.post(course.provider.api_base() + "/chat/completions",
                    json={"model": "openai/gpt-4o-mini", "messages": good_messages}, headers={header: value})
    assert_error_format(r, {401})


@FUZZ
@given(body=st.dictionaries(st.sampled_from(["model", "deployment", "kind", "status", "times", "probability",
                                             "retry_after", "label", "limit", "key", "colour"]), json_values,
                            min_size=1, max_size=5),
       action=st.sampled_from(["faults", "latency", "limits", "keys", "credit_limit"]))
def test_control_calls_never_crash(course, client, body, action) -> None:
    r = client.post(f"{course.provider.url}/_practice/{action}", json=body)
    assert r.status_code in (200, 400), (r.status_code, r.text[:200])
    if r.status_code == 400:
        assert_error_format(r, {400})
    course.provider.reset()
    course.provider.set_latency_scale(0.0)


@FUZZ
@given(path=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789/_-.", max_size=40),
       method=st.sampled_from(["GET", "POST", "DELETE"]))
def test_unknown_paths_get_404(course, client, path, method) -> None:
    full = "/" + path.lstrip("/")
    known = {"/v1/models", "/api/v1/models", "/generate", "/_practice/health", "/_practice/stats", "/_practice/log",
             "/_practice/faults", "/_practice/reset", "/_practice/latency", "/_practice/limits", "/_practice/keys",
             "/_practice/credit_limit"}
    if full in known or full.endswith(("/v1/models", "/chat/completions", "/api/v1/key")):
        return
    r = client.request(method, course.provider.url + full, content=b"{}" if method == "POST" else None)
    assert_error_format(r, {400, 404})


@FUZZ
@given(body=json_values)
def test_generate_rejects_bad_bodies(course, client, body) -> None:
    if isinstance(body, dict) and isinstance(body.get("prompt"), str) and body["prompt"].strip():
        return
    r = client.post(course.provider.generate_url, json=body)
    assert_error_format(r, {400})


@pytest.mark.parametrize("size", [1_000_001, 3_000_000])
def test_huge_bodies_get_413(course, client, size) -> None:
    r = client.post(course.provider.api_base() + "/chat/completions", content=b"{" + b" " * size + b"}",
                    headers={"Authorization": f"Bearer {PRACTICE_KEY}"})
    assert_error_format(r, {413})


def test_provider_still_serves_correctly_after_fuzzing(course, client) -> None:
    r = client.post(course.provider.api_base() + "/chat/completions",
                    json={"model": "openai/gpt-4o-mini", "messages": good_messages},
                    headers={"Authorization": f"Bearer {PRACTICE_KEY}"})
    assert r.status_code == 200
    assert r.json()["choices"][0]["message"]["content"] == practice_data.ANSWERS["привет!"]
    assert course.provider.process.poll() is None
