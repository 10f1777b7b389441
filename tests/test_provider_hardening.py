"""Attacks on the practice provider (issue 12): each test reproduces one observed failure.

They run against a provider process of their own (short idle timeout, no latency), so that
an attack that succeeds cannot take down the provider the rest of the session uses.

1. A tiny request whose ``response_format`` schema demands 10**9 items pinned the provider at
   100 % CPU for ever (also after the client left and after ``/_practice/reset``).
2. Bad input got a 500 instead of a clear 4xx in the flavour's error format.
3. Slowloris: every half-open connection held a thread until its client went away.
4. The control endpoints were open to any local process and to any web page in the browser.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import jsonschema
import pytest

from course_helpers.practice import PRACTICE_KEY
from course_helpers.provider import PracticeProvider, child_env
from rawhttp import exchange, port_of, status_and_json

IDLE_S = 1.0  # the idle / header timeout of the provider under attack
M = [{"role": "user", "content": "Что такое Python?"}]
AUTH = {"Authorization": f"Bearer {PRACTICE_KEY}"}


@pytest.fixture(scope="module")
def own() -> Iterator[PracticeProvider]:
    process = subprocess.Popen([sys.executable, "-m", "course_helpers.practice", "--port", "0", "--ready-json",
                                "--latency-scale", "0", "--idle-timeout", str(IDLE_S)],
                               stdout=subprocess.PIPE, text=True, env=child_env())
    try:
        info = json.loads(process.stdout.readline())
        yield PracticeProvider(info["url"], info["key"], process)
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def provider_own(own: PracticeProvider) -> Iterator[PracticeProvider]:
    own.reset()
    yield own
    own.reset()


def port(provider: PracticeProvider) -> int:
    return port_of(provider.url)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


# --- 1. schema-driven output is bounded --------------------------------------------------------------

def schema_request(schema: object) -> dict:
    return {"model": "openai/gpt-4o-mini", "messages": M,
            "response_format": {"type": "json_schema", "json_schema": {"name": "X", "schema": schema}}}


ENDLESS_NODE = {"$defs": {"N": {"type": "object", "properties": {"next": {"$ref": "#/$defs/N"}}, "required": ["next"]}},
                "$ref": "#/$defs/N"}


@pytest.mark.parametrize("schema, words", [
    ({"type": "array", "minItems": 10**9}, "minItems"),  # the observed 206-byte request
    ({"type": "object", "properties": {"x": {"type": "string", "minLength": 10**9}}}, "minLength"),
    ({"type": "array", "minItems": 1000, "items": {"type": "array", "minItems": 1000}}, "символов"),
    (ENDLESS_NODE, "глубже"),
])
def test_schema_demanding_too_much_is_a_quick_400(provider_own, schema, words) -> None:
    body = schema_request(schema)
    assert len(json.dumps(body)) < 400
    start = time.perf_counter()
    r = httpx.post(provider_own.api_base() + "/chat/completions", json=body, headers=AUTH, timeout=5)
    assert r.status_code == 400 and words in r.json()["error"]["message"], r.text[:300]
    assert time.perf_counter() - start < 2
    before = cpu_seconds(provider_own.process.pid)
    time.sleep(0.5)
    assert cpu_seconds(provider_own.process.pid) - before < 0.2  # nothing keeps computing afterwards


RECURSIVE_TREE = {"$defs": {"Node": {"type": "object", "required": ["name"], "properties": {
    "name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}}}},
    "$ref": "#/$defs/Node"}


@pytest.mark.parametrize("schema", [
    RECURSIVE_TREE,
    {"type": "array", "minItems": 300, "maxItems": 300, "items": {"type": "integer", "minimum": 7}},
    {"type": "object", "properties": {"code": {"type": "string", "minLength": 500, "maxLength": 600},
                                      "tags": {"type": "array", "maxItems": 1, "items": {"type": "string"}},
                                      "empty": {"type": "string", "maxLength": 0},
                                      "n": {"type": "number", "maximum": -2.5}}},
])
def test_legitimate_schemas_within_the_bounds_are_answered_validly(provider_own, schema) -> None:
    r = httpx.post(provider_own.api_base() + "/chat/completions", json=schema_request(schema), headers=AUTH,
                   timeout=5)
    assert r.status_code == 200, r.text[:300]
    jsonschema.validate(json.loads(r.json()["choices"][0]["message"]["content"]), schema)


# --- 2. bad input gets a clear 4xx in the flavour's format, never a 500 --------------------------------

def error_of(r: httpx.Response, flavor: str) -> dict:
    error = r.json()["error"]
    assert isinstance(error["message"], str) and error["message"]
    if flavor == "openai":
        assert set(error) == {"message", "type", "param", "code"} and error["type"] == "invalid_request_error"
    else:
        assert error["code"] == r.status_code and "metadata" in error
    return error


BAD_BODIES = {
    "lone surrogate": b'{"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "\\ud800"}]}',
    "lone surrogate in model": b'{"model": "\\udfff", "messages": [{"role": "user", "content": "x"}]}',
    "text part not a string": json.dumps({"model": "openai/gpt-4o-mini",
                                          "messages": [{"role": "user", "content": [{"text": 123}]}]}).encode(),
    "text part without text": json.dumps({"model": "openai/gpt-4o-mini",
                                          "messages": [{"role": "user", "content": [{"type": "text"}]}]}).encode(),
    "part not an object": json.dumps({"model": "openai/gpt-4o-mini",
                                      "messages": [{"role": "user", "content": ["hi"]}]}).encode(),
    "properties a list": json.dumps(schema_request({"type": "object", "properties": ["a", "b"]})).encode(),
    "anyOf with a number": json.dumps(schema_request({"anyOf": [1]})).encode(),
    "items a list": json.dumps(schema_request({"type": "array", "items": [{"type": "string"}]})).encode(),
    "minimum a string": json.dumps(schema_request({"type": "integer", "minimum": "5"})).encode(),
    "minimum huge": json.dumps(schema_request({"type": "number", "minimum": 10**400})).encode(),
    "unknown type": json.dumps(schema_request({"type": "strnig"})).encode(),
    "$defs a list": json.dumps(schema_request({"$defs": [], "type": "string"})).encode(),
    "json_schema a string": json.dumps({"model": "openai/gpt-4o-mini", "messages": M,
                                        "response_format": {"type": "json_schema", "json_schema": "x"}}).encode(),
    "schema a string": json.dumps({"model": "openai/gpt-4o-mini", "messages": M, "response_format": {
        "type": "json_schema", "json_schema": {"name": "X", "schema": "x"}}}).encode(),
    "a 5000-digit number": b'{"model": "openai/gpt-4o-mini", "messages": [], "n": ' + b"9" * 5000 + b"}",
    "NaN": b'{"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "x"}], "temperature": NaN}',
}


@pytest.mark.parametrize("flavor", ["openrouter", "openai"])
@pytest.mark.parametrize("label", BAD_BODIES)
def test_bad_bodies_get_a_4xx_in_the_flavours_format(provider_own, flavor, label) -> None:
    r = httpx.post(provider_own.api_base(flavor) + "/chat/completions", content=BAD_BODIES[label],
                   headers={**AUTH, "Content-Type": "application/json"}, timeout=5)
    assert r.status_code == 400, (r.status_code, r.text[:300])
    error_of(r, flavor)


def test_lone_surrogate_in_generate_and_control_bodies_is_400(provider_own) -> None:
    assert httpx.post(provider_own.generate_url, content=b'{"prompt": "\\ud83d"}').status_code == 400
    r = httpx.post(provider_own.url + "/_practice/keys", content=b'{"label": "\\ud83d"}', headers=AUTH)
    assert r.status_code == 400 and r.json()["error"]["message"]


CHUNKED_HEAD = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
                + PRACTICE_KEY.encode() + b"\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n")


@pytest.mark.parametrize("chunks", [b"-5\r\nhello\r\n0\r\n\r\n", b"zz\r\nhello\r\n0\r\n\r\n",
                                    b"3\r\nhello\r\n0\r\n\r\n"])
def test_broken_chunked_framing_is_a_400_in_the_error_format(provider_own, chunks) -> None:
    status, body = status_and_json(exchange(provider_own.url, CHUNKED_HEAD + chunks))
    assert status == 400 and body["error"]["message"]
    assert provider_own.healthy()


def test_chunked_body_declaring_a_terabyte_is_refused_while_reading(provider_own) -> None:
    """413 once more than MAX_BODY arrived, while the client is still sending (no waiting for 1 TB)."""
    with socket.create_connection(("127.0.0.1", port(provider_own)), timeout=5) as s:
        s.sendall(CHUNKED_HEAD + b"E8D4A51000\r\n")  # 10**12 bytes announced
        sent = 0
        s.settimeout(0.05)
        answer = b""
        while sent < 3_000_000 and not answer:
            try:
                sent += s.send(b"x" * 65536)
            except (socket.timeout, BlockingIOError):
                pass
            try:
                answer = s.recv(65536)
            except socket.timeout:
                pass
        s.settimeout(5)
        while b"\r\n\r\n" not in answer:
            answer += s.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 3_000_000
    assert provider_own.healthy()


def test_body_that_never_arrives_is_a_408_and_frees_the_connection(provider_own) -> None:
    head = (b"POST /api/v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n"
            b"Authorization: Bearer " + PRACTICE_KEY.encode() + b"\r\n\r\n{\"model\"")
    start = time.perf_counter()
    status, body = status_and_json(exchange(provider_own.url, head, timeout=10 + IDLE_S))
    assert status == 408 and body["error"]["code"] == 408
    assert time.perf_counter() - start < 10 + IDLE_S


# --- 3. slowloris ---------------------------------------------------------------------------------

def test_slow_connections_neither_block_others_nor_hold_resources(provider_own) -> None:
    pid = provider_own.process.pid
    baseline = open_fds(pid)
    slow = []
    for _ in range(500):
        s = socket.create_connection(("127.0.0.1", port(provider_own)))
        s.sendall(b"POST /api/v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")  # never finished
        slow.append(s)
    try:
        start = time.perf_counter()
        r = httpx.post(provider_own.api_base() + "/chat/completions", json={"model": "openai/gpt-4o-mini",
                                                                          "messages": M}, headers=AUTH, timeout=5)
        assert r.status_code == 200 and time.perf_counter() - start < 1.0
        deadline = time.monotonic() + IDLE_S + 5
        closed = 0
        for s in slow:  # the provider closes each of them after the idle timeout
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                closed += s.recv(100) == b""
            except ConnectionResetError:
                closed += 1
            except socket.timeout:
                pass
        assert closed == len(slow)
        assert open_fds(pid) <= baseline + 5
    finally:
        for s in slow:
            s.close()


# --- 4. control endpoints need the practice key and refuse browsers from other origins -----------------

CONTROL = [("GET", "stats", None), ("GET", "log", None), ("GET", "faults", None),
           ("POST", "faults", {"model": "*", "status": 503}), ("DELETE", "faults", None),
           ("POST", "latency", {"scale": 5}), ("POST", "limits", {"rpm": 1}), ("POST", "keys", {"label": "x"}),
           ("POST", "credit_limit", {"limit": 0}), ("POST", "reset", {})]


@pytest.mark.parametrize("method, action, body", CONTROL)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": PRACTICE_KEY},
                                     {"api-key": PRACTICE_KEY}])
def test_control_calls_without_the_practice_key_are_401(provider_own, method, action, body, headers) -> None:
    r = httpx.request(method, f"{provider_own.url}/_practice/{action}", json=body, headers=headers)
    assert r.status_code == 401 and r.json()["error"]["code"] == 401
    assert provider_own.stats()["requests"] == 0 and httpx.get(f"{provider_own.url}/_practice/faults",
                                                              headers=AUTH).json() == []


def test_created_keys_cannot_control_the_provider(provider_own) -> None:
    key = provider_own.create_key("ученик")
    r = httpx.post(f"{provider_own.url}/_practice/faults", json={"status": 503}, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 401


def test_health_stays_open_and_the_handle_sends_the_key(provider_own) -> None:
    assert httpx.get(f"{provider_own.url}/_practice/health").json()["ok"] is True
    provider_own.fail("openai/gpt-4o-mini", 503, times=1)  # PracticeProvider sends the key
    assert provider_own.stats()["requests"] == 0
    assert httpx.post(provider_own.api_base() + "/chat/completions", json={"model": "openai/gpt-4o-mini",
                                                                          "messages": M}, headers=AUTH).status_code == 503


def test_cross_origin_browser_post_cannot_reset_or_reconfigure(provider_own) -> None:
    """What a web page can send without a CORS preflight: a text/plain POST, with its Origin."""
    provider_own.fail("openai/gpt-4o-mini", 503)
    for origin in ("http://evil.example", "null", "http://127.0.0.1:8888", "http://localhost"):
        for action in ("reset", "faults", "latency"):
            r = httpx.post(f"{provider_own.url}/_practice/{action}", content=b'{"scale": 50}',
                           headers={"Content-Type": "text/plain", "Origin": origin, **AUTH})
            assert r.status_code == 403 and r.json()["error"]["code"] == 403, (origin, action, r.text)
    assert len(httpx.get(f"{provider_own.url}/_practice/faults", headers=AUTH).json()) == 1
    own_origin = f"http://127.0.0.1:{port(provider_own)}"
    assert httpx.get(f"{provider_own.url}/_practice/stats", headers={"Origin": own_origin, **AUTH}).status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8765", "10.0.0.1", "127.0.0.1.nip.io", "evil@127.0.0.1",
                                  "localhost.evil.example", "[::2]:80"])
def test_dns_rebinding_host_is_refused(provider_own, host) -> None:
    r = httpx.post(f"{provider_own.url}/_practice/reset", json={}, headers={"Host": host, **AUTH})
    assert r.status_code == 403 and r.json()["error"]["code"] == 403


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LocalHost", "[::1]", "127.0.0.2"])
@pytest.mark.parametrize("with_port", [True, False])
def test_loopback_hosts_are_served(provider_own, host, with_port) -> None:
    name = f"{host}:{port(provider_own)}" if with_port else host
    r = httpx.get(f"{provider_own.url}/_practice/stats", headers={"Host": name, **AUTH})
    assert r.status_code == 200


def test_chat_keeps_its_own_auth_and_counts_a_wrong_key(provider_own) -> None:
    r = httpx.post(provider_own.api_base() + "/chat/completions", json={"model": "openai/gpt-4o-mini", "messages": M},
                   headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401 and provider_own.stats()["statuses"] == {"401": 1}
