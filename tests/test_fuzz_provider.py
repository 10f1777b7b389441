"""Fuzzing the practice provider with hypothesis: bad requests always get a 4xx in the
provider's error format, never a crash or an unplanned 5xx; it still serves afterwards.

Generated shapes include those that once crashed it (issue 12): lone UTF-16 surrogates, content
parts of the wrong type, malformed or boundless ``response_format`` schemas, broken chunked framing."""

from __future__ import annotations

import json
import math

import httpx
import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from course_helpers import practice_data
from course_helpers.practice import PRACTICE_KEY, SCHEMA_MAX_ITEMS, SCHEMA_MAX_STRING
from rawhttp import exchange, status_and_json

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=12)
good_messages = [{"role": "user", "content": "Привет!"}]
AUTH = {"Authorization": f"Bearer {PRACTICE_KEY}"}
truthy_non_objects = (st.text(min_size=1, max_size=10) | st.integers().filter(bool) | st.floats(allow_nan=False).filter(bool)
                      | st.lists(json_scalars, min_size=1, max_size=3) | st.just(True))
not_counts = (st.integers(max_value=-1) | st.floats(allow_nan=False) | st.text(max_size=5) | st.booleans()
              | st.lists(json_scalars, max_size=2))


@st.composite
def lone_surrogates(draw) -> str:
    """Text with one unpaired UTF-16 surrogate (JSON can carry it as an escape such as \\ud800)."""
    return draw(st.text(max_size=5)) + chr(draw(st.integers(0xD800, 0xDFFF))) + draw(st.text(max_size=5))


@st.composite
def bad_schemas(draw) -> dict:
    """A JSON schema with exactly one defect the answer generator must refuse (400)."""
    defect = draw(st.sampled_from(["properties", "required", "combo", "items", "minItems", "maxItems", "minLength",
                                   "type", "enum", "$ref", "minimum", "$defs", "huge_items", "huge_string",
                                   "impossible"]))
    if defect == "properties":
        return {"type": "object", "properties": draw(json_values.filter(lambda v: not isinstance(v, dict)))}
    if defect == "required":
        return {"type": "object", "properties": {"a": {"type": "string"}},
                "required": draw(json_values.filter(lambda v: v is not None and not isinstance(v, list)))}
    if defect == "combo":
        bad = draw(st.lists(json_scalars.filter(lambda v: not isinstance(v, bool)), min_size=1, max_size=3)
                   | json_scalars.filter(lambda v: v is not None))
        return {draw(st.sampled_from(["anyOf", "oneOf", "allOf"])): bad}
    if defect == "items":
        return {"type": "array", "items": draw(st.lists(json_values, max_size=3) | json_scalars.filter(
            lambda v: v is not None and not isinstance(v, bool)))}
    if defect in ("minItems", "maxItems"):
        return {"type": "array", defect: draw(not_counts)}
    if defect == "minLength":
        return {"type": "string", "minLength": draw(not_counts)}
    if defect == "type":
        return {"type": draw(json_values.filter(lambda v: v not in ("object", "array", "string", "integer", "number",
                                                                     "boolean", "null") and not isinstance(v, list)))}
    if defect == "enum":
        return {"enum": draw(json_scalars.filter(lambda v: v is not None) | st.dictionaries(st.text(max_size=3),
                                                                                              json_scalars, max_size=2))}
    if defect == "$ref":
        return {"$ref": draw(json_values.filter(lambda v: not isinstance(v, str)))}
    if defect == "minimum":
        return {"type": draw(st.sampled_from(["integer", "number"])),
                draw(st.sampled_from(["minimum", "maximum"])): draw(
                    st.text(max_size=5) | st.booleans() | st.lists(json_scalars, max_size=2) | st.just(10**400))}
    if defect == "$defs":
        return {"$defs": draw(json_values.filter(lambda v: v is not None and not isinstance(v, dict))), "type": "string"}
    if defect == "huge_items":
        return {"type": "array", "minItems": draw(st.integers(SCHEMA_MAX_ITEMS + 1, 10**18))}
    if defect == "huge_string":
        return {"type": "string", "minLength": draw(st.integers(SCHEMA_MAX_STRING + 1, 10**18))}
    low = draw(st.integers(1, 50))  # impossible: minimum above maximum
    return draw(st.sampled_from([{"type": "array", "minItems": low + 1, "maxItems": low},
                                 {"type": "string", "minLength": low + 1, "maxLength": low},
                                 {"type": "integer", "minimum": low + 1, "maximum": low}]))


def with_schema(schema: object) -> dict:
    return {"type": "json_schema", "json_schema": {"name": "X", "schema": schema}}
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
                                   "max_tokens", "stream", "n", "unknown_model", "response_format",
                                   "content_part", "surrogate", "json_schema", "schema", "non_finite"]))
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
    elif defect == "content_part":
        part = draw(json_scalars | st.lists(json_scalars, max_size=2)  # not an object, or a text part without text
                    | st.fixed_dictionaries({"type": st.just("text")}, optional={"text": json_values.filter(
                        lambda v: not isinstance(v, str))})
                    | st.fixed_dictionaries({"text": json_values.filter(lambda v: not isinstance(v, str))})
                    | st.fixed_dictionaries({"type": json_values.filter(lambda v: v is not None
                                                                        and not isinstance(v, str))}))
        body["messages"] = [{"role": "user", "content": [{"type": "text", "text": "x"}, part]}]
    elif defect == "surrogate":
        where = draw(st.sampled_from(["content", "model", "key", "part"]))
        if where == "content":
            body["messages"] = [{"role": "user", "content": draw(lone_surrogates())}]
        elif where == "model":
            body["model"] = draw(lone_surrogates())
        elif where == "key":
            body[draw(lone_surrogates())] = 1
        else:
            body["messages"] = [{"role": "user", "content": [{"type": "text", "text": draw(lone_surrogates())}]}]
    elif defect == "json_schema":
        body["response_format"] = {"type": "json_schema", "json_schema": draw(truthy_non_objects)}
    elif defect == "schema":
        body["response_format"] = with_schema(draw(bad_schemas() | truthy_non_objects))
    elif defect == "non_finite":
        name = draw(st.sampled_from(["temperature", "max_tokens", "top_p"]))
        return json.dumps({**body, name: draw(st.sampled_from([math.nan, math.inf, -math.inf]))}).encode()
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
    r = client.post(f"{course.provider.url}/_practice/{action}", json=body, headers=AUTH)
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
    r = client.request(method, course.provider.url + full, content=b"{}" if method == "POST" else None, headers=AUTH)
    assert_error_format(r, {400, 404})


@FUZZ
@given(body=json_values)
def test_generate_rejects_bad_bodies(course, client, body) -> None:
    if isinstance(body, dict) and isinstance(body.get("prompt"), str) and body["prompt"].strip():
        return
    r = client.post(course.provider.generate_url, json=body)
    assert_error_format(r, {400})


SCHEMA_WORDS = ["type", "properties", "required", "items", "anyOf", "oneOf", "allOf", "enum", "const", "default",
                "minItems", "maxItems", "minLength", "maxLength", "minimum", "maximum", "$ref", "$defs"]
schema_like = st.recursive(json_scalars | st.sampled_from(["object", "array", "string", "integer", "number", "boolean",
                                                          "null", "#/$defs/a"]) | st.integers(-5, 10**12),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                               st.sampled_from(SCHEMA_WORDS) | st.text(max_size=4), inner, max_size=4), max_leaves=20)


@FUZZ
@given(schema=schema_like, flavor=st.sampled_from(["openrouter", "openai"]), stream=st.booleans())
def test_any_schema_gets_an_answer_or_a_400(course, client, schema, flavor, stream) -> None:
    """Whatever a schema says (made of the keywords the generator reads), a 200 or a 400, never a 5xx."""
    r = client.post(course.provider.api_base(flavor) + "/chat/completions", headers=AUTH, json={
        "model": "openai/gpt-4o-mini", "messages": good_messages, "response_format": with_schema(schema), "stream": stream})
    assert r.status_code in (200, 400), (r.status_code, r.text[:300])
    if r.status_code == 400:
        assert_error_format(r, {400})


@st.composite
def valid_schemas(draw, depth: int = 0) -> dict:
    """Schemas the answer generator honours: types, properties, required, items, bounds, enum, $ref;
    small enough to stay within the provider's bounds (at most 5 x 5 x 5 strings of 300 characters)."""
    kinds = ["string", "integer", "number", "boolean", "null", "enum"] + (["object", "array"] if depth < 3 else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "enum":
        return {"enum": draw(st.lists(json_scalars, min_size=1, max_size=3, unique_by=json.dumps))}
    schema: dict = {"type": kind}
    if kind == "object":
        props = draw(st.dictionaries(st.text(min_size=1, max_size=8), valid_schemas(depth + 1), max_size=4))
        schema.update(properties=props, required=draw(st.lists(st.sampled_from(sorted(props)), unique=True))
                      if props else [])
    elif kind == "array":
        low = draw(st.none() | st.integers(0, 5))
        high = draw(st.none() | st.integers(low or 0, 8))
        schema.update({k: v for k, v in (("minItems", low), ("maxItems", high)) if v is not None})
        schema["items"] = draw(valid_schemas(depth + 1))
    elif kind == "string":
        low = draw(st.none() | st.integers(0, 300))
        high = draw(st.none() | st.integers(low or 0, 600))
        schema.update({k: v for k, v in (("minLength", low), ("maxLength", high)) if v is not None})
    elif kind in ("integer", "number"):
        low = draw(st.none() | st.integers(-10**6, 10**6))
        high = draw(st.none() | st.integers(low if low is not None else -10**6, 10**6))
        schema.update({k: v for k, v in (("minimum", low), ("maximum", high)) if v is not None})
    return schema


@FUZZ
@given(schema=valid_schemas(), via_ref=st.booleans())
def test_honoured_schemas_get_a_valid_answer(course, client, schema, via_ref) -> None:
    if via_ref:
        schema = {"$defs": {"Item": schema}, "$ref": "#/$defs/Item"}
    r = client.post(course.provider.api_base() + "/chat/completions", headers=AUTH, json={
        "model": "openai/gpt-4o-mini", "messages": good_messages, "response_format": with_schema(schema)})
    assert r.status_code == 200, r.text[:300]
    jsonschema.validate(json.loads(r.json()["choices"][0]["message"]["content"]), schema)


@st.composite
def chunks(draw) -> bytes:
    """One chunk of a chunked body: well formed, declaring less than it carries, or with a broken size line."""
    data = draw(st.binary(min_size=2, max_size=40))
    kind = draw(st.sampled_from(["exact", "extension", "short", "junk"]))
    if kind == "exact":
        size = f"{len(data):x}"
    elif kind == "extension":
        size = f"{len(data):X};ext={draw(st.text(alphabet='abc=1', max_size=5))}"
    elif kind == "short":
        size = f"{draw(st.integers(1, len(data) - 1)):x}"
    else:
        size = draw(st.sampled_from(["-5", "-0", "zz", "", " ", "0x5", "+5", "5 5", "ffffffffffffffffffff", "5\n"]))
    return size.encode() + b"\r\n" + data + b"\r\n"


@FUZZ
@given(body=st.lists(chunks(), max_size=4).map(b"".join),
       path=st.sampled_from(["/api/v1/chat/completions", "/v1/chat/completions", "/generate", "/_practice/nothing"]),
       end=st.sampled_from([b"0\r\n\r\n", b"0\r\nX-Trailer: 1\r\n\r\n", b"0;x\r\n\r\n"]))
def test_raw_chunked_bodies_never_get_a_5xx(course, body, path, end) -> None:
    """Chunked framing written by hand, good and broken: an answer below 500, errors in the error format."""
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {PRACTICE_KEY}\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode()
    status, answer = status_and_json(exchange(course.provider.url, head + body + end))
    assert status < 500, (status, answer)
    if status >= 400:
        assert answer["error"]["message"]


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
