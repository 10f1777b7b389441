"""start_lesson, the provider process's life cycle, modes, and the public API."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import course_helpers
from course_helpers import session
from course_helpers.provider import PracticeProvider, ProviderError, start_provider


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie counts as dead
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(")")[-1].split()[0] != "Z"


def test_public_names_are_pinned_and_resolve() -> None:
    assert course_helpers.__all__ == sorted([
        "Answer", "Course", "PRACTICE_KEY", "PracticeProvider", "ProviderError", "RedisUnavailable", "Request",
        "answer", "ask", "check", "doctor", "enter_key", "hint", "predict", "progress", "quiz",
        "redis_url", "reveal", "setup_caching", "solution", "start_lesson"])
    for name in course_helpers.__all__:
        assert getattr(course_helpers, name) is not None


def test_provider_never_imports_litellm_and_cost_map_is_local() -> None:
    code = ("import sys, os, course_helpers.practice, course_helpers.provider; "
            "print('litellm' in sys.modules, os.environ['LITELLM_LOCAL_MODEL_COST_MAP'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True"]


def test_provider_starts_fast_and_stops() -> None:
    start = time.perf_counter()
    provider = start_provider(latency_scale=0)
    ready = time.perf_counter() - start
    assert provider.healthy() and ready < 3.0
    provider.stop()
    assert not provider.healthy()


def test_provider_dies_with_its_parent() -> None:
    code = ("from course_helpers.provider import start_provider; import json, os; "
            "p = start_provider(latency_scale=0); print(json.dumps({'pid': p.process.pid, 'url': p.url}), flush=True); "
            "os._exit(0)")  # no atexit, no cleanup: like a killed kernel
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30).stdout
    info = json.loads(out.strip().splitlines()[-1])
    deadline = time.monotonic() + 5
    while _alive(info["pid"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(info["pid"])
    assert not PracticeProvider(info["url"]).healthy()


@pytest.mark.parametrize("sigint", ["default", "inherited_ignored"])
def test_runnable_by_hand_prints_url_and_key(sigint: str) -> None:
    """Run by hand, it stops on Ctrl+C, also when started with SIGINT ignored: a background job of a
    non-interactive shell inherits SIG_IGN (a CI run started that way hung here, SigIgn showing bit 0x2)."""
    ignore = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if sigint == "inherited_ignored" else None
    proc = subprocess.Popen([sys.executable, "-X", "faulthandler", "-m", "course_helpers.practice", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=ignore)
    try:
        first = proc.stdout.readline()
        assert "Практический провайдер слушает http://127.0.0.1:" in first
        url = first.split()[-1]
        rest = "".join(proc.stdout.readline() for _ in range(4))
        assert course_helpers.PRACTICE_KEY in rest and "curl" in rest
        assert PracticeProvider(url).healthy()
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl+C stops it in 0.1-0.3 s idle or busy; if not, the failure says
        try:                             # why (_why_still_running)
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            raise AssertionError("the provider run by hand did not stop on Ctrl+C (SIGINT) within 20 s\n"
                                 + _why_still_running(proc)) from None


def test_a_hung_process_is_explained() -> None:
    """The Ctrl+C test's failure message, on a process that ignores SIGINT: its masks and its stack."""
    code = ("import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
            "print('ready', flush=True)\ntime.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-X", "faulthandler", "-c", code],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    text = _why_still_running(proc)
    ignored = int(next(line for line in text.split("; ") if "SigIgn" in line).split()[-1], 16)
    assert ignored & 0x2, text  # SIGINT (signal 2) ignored: shown
    assert "most recent call first" in text and proc.poll() is not None, text


def _why_still_running(proc: subprocess.Popen) -> str:
    """For a hung process: its signal masks (is SIGINT blocked or ignored?) and every thread's stack
    (faulthandler prints them on SIGABRT); then it is gone. Once seen in a full run, never reproduced."""
    try:
        masks = [line for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines() if line.startswith("Sig")]
    except OSError as e:
        masks = [f"no /proc status: {e}"]
    proc.send_signal(signal.SIGABRT)
    try:
        _, stderr = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        stderr = "(no stack: SIGABRT did not end it either)"
    return "signal masks (SIGINT is 0x2 in each): " + "; ".join(masks) + "\nstderr:\n" + stderr[-4000:]


def test_refuses_non_loopback_host() -> None:
    proc = subprocess.run([sys.executable, "-m", "course_helpers.practice", "--host", "0.0.0.0"],
                          capture_output=True, text=True)
    assert proc.returncode != 0 and "loopback" in proc.stderr


def test_dead_provider_gives_russian_message() -> None:
    dead = PracticeProvider("http://127.0.0.1:9")
    with pytest.raises(ProviderError, match="не отвечает.*start_lesson"):
        dead.stats()


def test_start_lesson_is_idempotent_and_points_litellm(course, capsys) -> None:
    again = session.start_lesson("00")
    assert again is course
    out = capsys.readouterr().out
    assert "Урок 00" in out and "офлайн" in out and course.provider.url in out
    assert os.environ["OPENROUTER_API_BASE"] == course.provider.api_base("openrouter")
    assert os.environ["OPENAI_API_BASE"] == course.provider.api_base("openai")
    assert os.environ["OPENROUTER_API_KEY"] == course.provider.key


def test_start_lesson_same_lesson_keeps_state_other_lesson_resets(course) -> None:
    course.provider.fail("openai/gpt-4o", 503)
    session.start_lesson("00", quiet=True)
    assert len(course.provider._call("GET", "faults")) == 1
    session.start_lesson("01", quiet=True)
    assert course.provider._call("GET", "faults") == []
    session.start_lesson("00", quiet=True)


def test_unknown_lesson_is_a_russian_error() -> None:
    with pytest.raises(ValueError, match="Нет урока"):
        session.start_lesson("42")


def _fresh_start(env: dict[str, str], tmp_path) -> str:
    code = ("from course_helpers import start_lesson; c = start_lesson('00'); print('MODE', c.mode)")
    full = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k != "COURSE_MODE"}
    full.update(env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full, timeout=60,
                          cwd=tmp_path).stdout


def test_online_without_key_says_so_in_russian_and_stays_offline(tmp_path) -> None:
    out = _fresh_start({"COURSE_MODE": "online"}, tmp_path)
    assert "Онлайн-режим не включён: не задан OPENROUTER_API_KEY" in out and "MODE offline" in out


def test_online_with_unreachable_openrouter_explains(tmp_path) -> None:
    # the loopback guard (COURSE_LOOPBACK_ONLY) blocks openrouter.ai, as a dead network would
    out = _fresh_start({"COURSE_MODE": "online", "OPENROUTER_API_KEY": "not-a-real-key"}, tmp_path)
    assert "Нет связи с OpenRouter" in out and "MODE offline" in out
    assert "not-a-real-key" not in out


def test_bad_mode_value_is_explained(tmp_path) -> None:
    out = _fresh_start({"COURSE_MODE": "onlin"}, tmp_path)
    assert "COURSE_MODE='onlin' не понят" in out and "MODE offline" in out


def test_enter_key_uses_a_hidden_prompt_and_never_prints_the_key(tmp_path) -> None:
    code = ("import getpass, os; getpass.getpass = lambda prompt='': 'typed-secret-key'; "
            "from course_helpers import start_lesson, enter_key; start_lesson('00', quiet=True); enter_key(); "
            "c = start_lesson('00'); print('MODE', c.mode, os.environ['COURSE_MODE'])")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k != "COURSE_MODE"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60,
                         cwd=tmp_path).stdout
    assert "Ключ принят" in out and "Нет связи с OpenRouter" in out  # the guard stands in for no network
    assert "typed-secret-key" not in out and "MODE offline online" in out


def test_dotenv_parsing(tmp_path) -> None:
    env = tmp_path / ".env"
    env.write_text("# comment\nexport COURSE_MODE=online\nOPENROUTER_API_KEY='abc'\n\n", encoding="utf-8")
    assert session.read_dotenv(env) == {"COURSE_MODE": "online", "OPENROUTER_API_KEY": "abc"}


def test_practice_env_restores_online_settings(course, monkeypatch) -> None:
    monkeypatch.setenv("OPENROUTER_API_BASE", "https://example.invalid/api/v1")
    with session.practice_env() as provider:
        assert os.environ["OPENROUTER_API_BASE"] == provider.api_base("openrouter")
    assert os.environ["OPENROUTER_API_BASE"] == "https://example.invalid/api/v1"


def test_fresh_dir_is_empty_each_time(course) -> None:
    d = course.fresh_dir("x")
    (d / "f").write_text("1")
    assert list(course.fresh_dir("x").iterdir()) == []


def test_online_mode_uses_the_online_service_and_practice_blocks_use_the_simulator(tmp_path) -> None:
    """Online mode end to end, with a stand-in for OpenRouter: a second practice provider with
    its own key at ``COURSE_ONLINE_BASE``. Plain calls reach the online service; a
    ``course.practice()`` block reaches the practice provider and says so; the online key never
    reaches the practice provider."""
    standin_key = "stand-in-for-an-openrouter-key"
    standin = subprocess.Popen([sys.executable, "-m", "course_helpers.practice", "--port", "0", "--ready-json",
                                "--parent-watch", "--latency-scale", "0", "--key", standin_key],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        online = PracticeProvider(json.loads(standin.stdout.readline())["url"], standin_key)  # its control key
        code = textwrap.dedent("""
            import litellm
            from course_helpers import start_lesson
            course = start_lesson('00', latency_scale=0)
            m = [{'role': 'user', 'content': 'Привет!'}]
            litellm.completion(model='openrouter/openai/gpt-4o-mini', messages=m)
            print('PRACTICE_AFTER_ONLINE_CALL', course.provider.requests())
            with course.practice():
                course.provider.fail('openai/gpt-4o-mini', 503, times=1)
                try:
                    litellm.completion(model='openrouter/openai/gpt-4o-mini', messages=m)
                except litellm.ServiceUnavailableError:
                    print('FAULT_SEEN')
            print('PRACTICE_AFTER_BLOCK', course.provider.requests())
            print('KEYS_SEEN_BY_PRACTICE', sorted({e.get('key') for e in course.provider.log()}))
            litellm.completion(model='openrouter/openai/gpt-4o-mini', messages=m)
        """)
        env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k != "COURSE_MODE"}
        env.update(COURSE_MODE="online", OPENROUTER_API_KEY=standin_key,
                   COURSE_ONLINE_BASE=online.api_base("openrouter"))
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=90,
                              cwd=tmp_path)
        out = done.stdout
        assert done.returncode == 0, done.stderr[-2000:]
        assert "Режим: онлайн" in out and "PRACTICE_AFTER_ONLINE_CALL 0" in out
        assert "этот опыт идёт на практическом провайдере" in out and "FAULT_SEEN" in out
        assert "PRACTICE_AFTER_BLOCK 1" in out
        assert "KEYS_SEEN_BY_PRACTICE ['practice-key']" in out  # the online key never reached it
        assert standin_key not in out
        assert online.requests() == 2  # the two plain calls, before and after the block
    finally:
        standin.kill()
        standin.wait()


def test_each_parallel_worker_keeps_its_own_course_state(request: pytest.FixtureRequest) -> None:
    """``fresh_dir(name)`` wipes a lesson's folder by name, so workers that shared one state folder
    wiped each other's disk caches mid-measurement (the 07.6 flake): the root conftest gives each
    xdist worker a subfolder of its own; a run without workers keeps the one folder."""
    worker = getattr(request.config, "workerinput", {}).get("workerid")
    state = session.state_dir()
    if worker:
        assert state.name == f"worker-{worker}", state
    else:
        assert not state.name.startswith("worker-"), state
