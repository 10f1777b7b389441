"""Lesson 08 claims about LiteLLM Proxy 1.108.14 (the gateway), each measured on real replicas.

Two pairs of replicas run for the whole module (they take ~7 s each to start on an idle
machine, so they start once, in parallel): ``shared`` runs ``notebooks/gateway/config.yaml``
with its own redis-server, ``alone`` runs the same config without Redis. The practice
provider answers without latency here.
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import requires

import openai
import pytest

from course_helpers import gateway
from course_helpers.gateway import Gateway, GatewayUnavailable
from course_helpers.redis_server import start_redis_server

MSG = [{"role": "user", "content": "Привет!"}]


@pytest.fixture(scope="module")
def alone_config(tmp_path_factory) -> Path:
    """The lesson's config without Redis (what :func:`gateway.without_redis` derives)."""
    return gateway.write_config(gateway.without_redis(gateway.load_config()),
                                tmp_path_factory.mktemp("gateway") / "config.yaml")


@pytest.fixture(scope="module")
def pairs(course, alone_config) -> Iterator[dict[str, Any]]:
    """Two replicas with a shared Redis and two without, all four started in parallel; and,
    at the same time, two that must not start (their errors are kept)."""
    redis = start_redis_server()  # this module's own Redis: rate-limit counters start at zero
    with ThreadPoolExecutor(4) as pool:
        shared = pool.submit(gateway.start_gateways, course.provider, n=2, redis=redis)
        alone = pool.submit(gateway.start_gateways, course.provider, alone_config, n=2)
        unsafe = pool.submit(gateway.start_gateway, course.provider, alone_config, name="unsafe", key="sk-1234")
        no_redis = pool.submit(gateway.start_gateway, course.provider, name="no-redis")  # config.yaml, no Redis
        replicas = {"shared": shared.result(), "alone": alone.result(), "unsafe": unsafe.exception(),
                    "no_redis": no_redis.exception()}
    yield replicas
    for replica in replicas["shared"] + replicas["alone"]:
        replica.stop()


@pytest.fixture
def quiet(provider):
    """The practice provider without latency, faults or stats."""
    provider.set_latency_scale(0)
    return provider


def post(replica: Gateway, body: bytes, *, key: str | None = "master", path: str = "/chat/completions",
         timeout: float = 30) -> tuple[int, bytes]:
    """A raw HTTP request to a replica: (status, body)."""
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = f"Bearer {replica.key if key == 'master' else key}"
    request = urllib.request.Request(replica.url + path, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def chat(replica: Gateway, model: str, content: str = "Привет!", **extra):
    """A chat call through the OpenAI SDK; returns the raw response (headers + parsed body)."""
    return replica.client(max_retries=0).chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": content}], extra_body=extra or None)


def same_minute(seconds: float) -> None:
    """Rate-limit counters are per minute: start a burst only with ``seconds`` left in this one."""
    left = 60 - time.time() % 60
    if left < seconds:
        time.sleep(left + 0.1)


# --- start -------------------------------------------------------------------------------
def test_replicas_start_offline_without_a_database(pairs) -> None:
    for replica in pairs["shared"] + pairs["alone"]:
        assert replica.alive()
        assert 0 < replica.started_s < gateway.READY_TIMEOUT_S
        log = replica.log_tail(200_000)
        assert "Proxy initialized with Config" in log and "No DATABASE_URL" not in log


def test_replica_environment_has_no_database_and_a_random_master_key(course) -> None:
    env = gateway.gateway_env(course.provider, "redis://:pw@127.0.0.1:6390")
    assert "DATABASE_URL" not in env and env["LITELLM_LOCAL_MODEL_COST_MAP"] == "True"
    assert env["LITELLM_MASTER_KEY"].startswith("sk-") and len(env["LITELLM_MASTER_KEY"]) > 20
    assert env["LITELLM_MASTER_KEY"] != "sk-1234"
    assert (env["REDIS_HOST"], env["REDIS_PORT"], env["REDIS_PASSWORD"]) == ("127.0.0.1", "6390", "pw")
    assert env["PRACTICE_D1"] == course.provider.api_base("openai", deployment="d1")


def test_a_well_known_master_key_is_refused(pairs) -> None:
    """LiteLLM refuses to start with sk-1234: the course's key comes from the environment."""
    error = pairs["unsafe"]
    assert isinstance(error, GatewayUnavailable) and "процесс завершился" in str(error)
    assert "UnsafeMasterKeyError" in str(error)


def test_the_lessons_config_needs_its_redis(pairs) -> None:
    """config.yaml reads Redis from the environment; without it the replica does not start."""
    error = pairs["no_redis"]
    assert isinstance(error, GatewayUnavailable)
    assert "Either 'host' or 'url' must be specified for redis" in str(error)


def test_missing_proxy_packages_give_a_russian_instruction(course, monkeypatch) -> None:
    monkeypatch.setattr(gateway, "missing_packages", lambda: ["websockets", "apscheduler"])
    with pytest.raises(GatewayUnavailable, match=r"bash scripts/setup\.sh\n.*pip install -r requirements\.lock") as error:
        gateway.start_gateway(course.provider)
    assert "websockets, apscheduler" in str(error.value) and "перезапустите ядро" in str(error.value)


def test_the_lessons_setup_cell_says_what_to_install(monkeypatch, capsys) -> None:
    """The setup cell of lesson 08 calls check_packages(): silent when the packages are there, the same
    instruction as start_gateway when they are not."""
    gateway.check_packages()
    assert capsys.readouterr().out == ""
    monkeypatch.setattr(gateway, "missing_packages", lambda: ["mcp"])
    gateway.check_packages()
    out = capsys.readouterr().out
    assert out.startswith("⚠️ Для урока 08 нужны пакеты LiteLLM Proxy") and "bash scripts/setup.sh" in out
    assert "check_packages()" in next((Path(__file__).parent.parent / "notebooks" / "src").glob("08_*.py")).read_text()


def test_the_course_requirements_are_what_the_proxy_imports() -> None:
    """Without any one module of requirements-proxy.txt, ``litellm --config`` cannot start."""
    assert gateway.missing_packages() == []
    listed = (gateway.REPO_ROOT / "requirements-proxy.txt").read_text(encoding="utf-8")
    for package in set(gateway.PROXY_MODULES.values()) - {"uvicorn"}:
        assert f"\n{package}>=" in listed


# --- answers and headers -------------------------------------------------------------------
def test_openai_sdk_through_the_gateway_and_its_headers(pairs, quiet) -> None:
    raw = chat(pairs["shared"][0], "assistant", "заголовки шлюза")
    answer = raw.parse()
    assert answer.choices[0].message.content and answer.model == "assistant"  # the group, not the model
    h = raw.headers
    assert h["x-litellm-version"] == "1.108.14"
    assert h["x-litellm-model-group"] == "assistant" and h["x-litellm-model-id"] == "assistant-d1"
    assert h["x-litellm-model-api-base"] == quiet.api_base("openai", deployment="d1")
    assert h["x-litellm-attempted-fallbacks"] == "0" and h["x-litellm-attempted-retries"] == "0"
    assert float(h["x-litellm-response-cost"]) == pytest.approx(quiet.stats()["by_deployment"]["d1"]["cost"])
    assert float(h["x-litellm-key-spend"]) >= float(h["x-litellm-response-cost"])
    assert "x-litellm-cache-key" not in h


def test_litellm_completion_through_the_gateway(pairs, quiet) -> None:
    import litellm

    replica = pairs["shared"][1]
    response = litellm.completion(model="litellm_proxy/assistant", api_base=replica.url, api_key=replica.key,
                                  messages=[{"role": "user", "content": "litellm через шлюз"}])
    assert response.choices[0].message.content
    assert quiet.requests(deployment="d1") == 1


def test_fallback_answers_200_with_attempted_fallbacks(pairs, quiet) -> None:
    quiet.fail("openai/gpt-4o-mini", 503, deployment="d1")
    raw = chat(pairs["alone"][0], "assistant", "резервная модель через шлюз")
    assert raw.http_response.status_code == 200
    assert raw.headers["x-litellm-attempted-fallbacks"] == "1"
    assert raw.headers["x-litellm-model-group"] == "backup" and raw.headers["x-litellm-model-id"] == "backup-d2"
    assert quiet.requests(deployment="d1") == 2  # the call and one retry (num_retries: 1)
    assert quiet.requests(deployment="d2") == 1


# --- rpm across replicas -------------------------------------------------------------------
def burst(pair: list[Gateway], n: int, tag: str) -> list[int]:
    """n calls to the group ``free`` (rpm: 4), alternating between the replicas; statuses."""
    statuses = []
    for i in range(n):
        try:
            statuses.append(chat(pair[i % 2], "free", f"{tag} {i}", disable_fallbacks=True).http_response.status_code)
        except openai.RateLimitError as e:
            assert "Model rate limit exceeded. RPM limit=4" in str(e)
            statuses.append(e.status_code)
    return statuses


def test_rpm_limit_without_redis_is_per_replica_and_with_redis_shared(pairs, quiet) -> None:
    same_minute(15)
    alone = burst(pairs["alone"], 12, f"без Redis {time.time()}")
    shared = burst(pairs["shared"], 12, f"с Redis {time.time()}")
    assert alone.count(200) == 8 and alone.count(429) == 4  # 2 replicas × rpm 4
    assert shared.count(200) == 4 and shared.count(429) == 8  # rpm 4 for both together
    assert shared[:4] == [200] * 4
    assert quiet.requests(deployment="d3") == 12


# --- cache ---------------------------------------------------------------------------------
def test_cache_entry_written_by_one_replica_is_a_hit_on_the_other_only_with_redis(pairs, quiet) -> None:
    for name, hit_expected in (("shared", True), ("alone", False)):
        a, b = pairs[name]
        prompt = f"общий кэш {name} {time.time()}"
        first, second = chat(a, "assistant", prompt), chat(b, "assistant", prompt)
        assert first.parse().choices[0].message.content == second.parse().choices[0].message.content
        assert ("x-litellm-cache-key" in second.headers) is hit_expected
        assert "x-litellm-cache-key" not in first.headers
    assert quiet.requests(deployment="d1") == 3  # shared: 1, alone: 2


# --- budgets -------------------------------------------------------------------------------
def test_deployment_budget_is_enforced_without_a_database(pairs, quiet) -> None:
    """backup has max_budget $0.002/day: the replica stops calling it once the spend reaches it."""
    replica = pairs["alone"][1]  # a replica nobody has spent on backup with yet (the fallback test used [0])
    statuses: list[int] = []
    while statuses.count(429) < 3 and len(statuses) < 30:
        status, body = post(replica, json.dumps({"model": "backup", "messages": [
            {"role": "user", "content": f"Напиши длинный рассказ {len(statuses)}"}]}).encode())
        statuses.append(status)
        time.sleep(0.05)  # the spend is recorded after the answer, in the background
    spent = quiet.stats()["by_deployment"]["d2"]["cost"]
    assert 200 in statuses and statuses[-1] == 429
    assert statuses.index(429) == statuses.count(200)  # once refused, refused for the rest of the day
    assert 0.002 <= spent < 0.002 + 0.0003  # overshoot: at most about one call
    message = json.loads(body)["error"]["message"]
    assert "crossed budget" in message and "backup-d2" in message


def test_virtual_keys_teams_users_and_spend_logs_need_a_database(pairs) -> None:
    replica = pairs["alone"][0]
    for path in ("/key/generate", "/team/new", "/user/new"):
        status, body = post(replica, json.dumps({"max_budget": 1.0}).encode(), path=path)
        assert (status, body) == (500, b"Internal Server Error"), path
    assert "DB not connected. This endpoint needs a database; set DATABASE_URL" in replica.log_tail(400_000)
    request = urllib.request.Request(replica.url + "/spend/logs", headers={"Authorization": f"Bearer {replica.key}"})
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=10)
    assert error.value.code == 500 and b"Database not connected" in error.value.read()


def test_the_database_layer_is_prisma_and_not_in_the_proxy_extra() -> None:
    """Virtual keys live in Postgres through Prisma; ``litellm[proxy]`` does not even install it."""
    import litellm

    wanted = requires("litellm") or []
    assert not any(r.startswith("prisma") and "extra == 'proxy'" in r for r in wanted)
    assert any(r.startswith("prisma") and "extra == 'extra-proxy'" in r for r in wanted)
    schema = (os.path.dirname(litellm.__file__) + "/proxy/schema.prisma")
    text = open(schema, encoding="utf-8").read()
    assert 'provider = "postgresql"' in text and 'provider = "prisma-client-py"' in text
    assert "model LiteLLM_VerificationToken" in text and "model LiteLLM_SpendLogs" in text


# --- bad input -----------------------------------------------------------------------------
OK_BODY = json.dumps({"model": "assistant", "messages": MSG}).encode()


@pytest.mark.parametrize("body, key, status, words", [
    (b'{"model": "assistant", "messages": [', "master", 400, "Invalid JSON payload"),
    (json.dumps({"model": 5, "messages": MSG}).encode(), "master", 400, "'model' must be a string"),
    (json.dumps({"model": "assistant"}).encode(), "master", 400, "Missing required parameter: 'messages'"),
    (json.dumps({"model": "nope", "messages": MSG}).encode(), "master", 400, "Invalid model name passed in model=nope"),
    (json.dumps({"model": "assistant", "messages": "привет"}).encode(), "master", 400, "Invalid request format"),
    (OK_BODY, "sk-wrong-key", 400, "No connected db."),
], ids=["malformed-json", "model-not-a-string", "no-messages", "unknown-model", "messages-not-a-list", "wrong-key"])
def test_bad_input_gets_a_4xx(pairs, quiet, body, key, status, words) -> None:
    started = time.monotonic()
    got, text = post(pairs["alone"][0], body, key=key)
    assert got == status and words in json.loads(text)["error"]["message"]
    assert time.monotonic() - started < 20


def test_a_request_without_a_key_gets_a_plain_500(pairs, quiet) -> None:
    """The auth error handler imports prisma, which the proxy extra does not install."""
    assert post(pairs["alone"][0], OK_BODY, key=None) == (500, b"Internal Server Error")
    assert "No module named 'prisma'" in pairs["alone"][0].log_tail(400_000)
    assert quiet.requests() == 0


def test_a_huge_body_is_forwarded_and_refused_upstream(pairs, quiet) -> None:
    """The gateway has no body limit of its own: 20 MB reach the provider, whose 413 comes back
    (fallbacks switched off for this request, else the last fallback's error is the answer)."""
    huge = (b'{"model": "assistant", "disable_fallbacks": true, "messages": [{"role": "user", "content": "'
            + b"a" * 20_000_000 + b'"}]}')
    status, text = post(pairs["alone"][1], huge, timeout=60)
    assert status == 413, text[:300]
    assert "OpenAIException - Тело запроса больше 1000000 байт" in json.loads(text)["error"]["message"]


# --- processes -----------------------------------------------------------------------------
def test_no_orphan_replicas_after_the_kernel_is_killed() -> None:
    from jupyter_client.manager import start_new_kernel

    from tests.test_process_lifecycle import alive, run, wait_dead

    env = {**os.environ, "COURSE_STATE_DIR": tempfile.mkdtemp(prefix="course-gw-"), "COURSE_LATENCY_SCALE": "0"}
    env.pop("REDIS_URL", None)
    manager, client = start_new_kernel(kernel_name="python3", env=env)
    try:
        out, error = run(client, "import json, os\nfrom course_helpers import start_lesson\n"
                                 "from course_helpers import redis_url\nfrom course_helpers.gateway import start_gateway\n"
                                 "course = start_lesson('00', quiet=True)\n"
                                 "gw = start_gateway(course.provider, redis=redis_url())\n"
                                 "kids = [int(x) for x in open(f'/proc/{os.getpid()}/task/{os.getpid()}/children').read().split()]\n"
                                 "grand = [int(x) for k in kids for x in open(f'/proc/{k}/task/{k}/children').read().split()]\n"
                                 "print(json.dumps({'url': gw.url, 'pids': kids + grand}))", timeout=150)
        assert error is None, out
        info = json.loads(out.strip().splitlines()[-1])
        assert len(info["pids"]) >= 6  # three guards, the provider, redis-server and the proxy
        os.kill(manager.provisioner.process.pid, signal.SIGKILL)
        assert not wait_dead(info["pids"], 15), "replica or provider outlived the kernel"
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            urllib.request.urlopen(info["url"] + "/health/liveliness", timeout=2)
    finally:
        client.stop_channels()
        if manager.is_alive():
            manager.shutdown_kernel(now=True)


def test_the_start_error_names_the_exception_wherever_the_banners_put_it(tmp_path) -> None:
    """The proxy's stdout and stderr share one log and their order at exit varies: on Debian's Python 3.11.2
    its banners came after the traceback and pushed the exception out of the log's last 1500 characters.
    The exception line is named on its own."""
    log = tmp_path / "gateway.log"
    log.write_text("Traceback (most recent call last):\n  File \"x.py\", line 1\n"
                   "litellm.proxy.auth.master_key_boot_check.UnsafeMasterKeyError: refused\n\n"
                   "ERROR:    Application startup failed. Exiting.\n" + "banner line\n" * 300, encoding="utf-8")
    replica = Gateway("http://127.0.0.1:1", "key", None, log)
    assert replica.log_error() == "litellm.proxy.auth.master_key_boot_check.UnsafeMasterKeyError: refused"
    assert "UnsafeMasterKeyError" not in replica.log_tail()
    log.write_text("ValueError: Either 'host' or 'url' must be specified for redis.\nbanner\n", encoding="utf-8")
    assert replica.log_error() == "ValueError: Either 'host' or 'url' must be specified for redis."
