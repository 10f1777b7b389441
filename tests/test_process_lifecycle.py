"""The processes a lesson starts (practice provider, redis-server), in a real Jupyter kernel:
they survive Kernel → Interrupt, and they stop when the kernel dies — also when it is killed
with SIGKILL and when a process it forked still runs. A full stderr pipe no longer freezes them."""

from __future__ import annotations

import json
import os
import queue
import signal
import tempfile
import time
from collections.abc import Iterator

import pytest
from jupyter_client.manager import start_new_kernel

from course_helpers.provider import PracticeProvider
from course_helpers.redis_server import ping_url


def run(client, code: str, timeout: float = 60) -> tuple[str, str | None]:
    msg_id = client.execute(code)
    out, error = [], None
    while True:
        try:
            msg = client.get_iopub_msg(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no answer in {timeout} s: {code[:200]}") from None
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            error = msg["content"]["ename"]
        elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return "".join(out), error


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(")")[-1].split()[0] != "Z"


def wait_dead(pids: list[int], seconds: float = 10) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.1)
    return [p for p in pids if alive(p)]


SETUP = """
import json, os, litellm
from course_helpers import start_lesson, redis_url
course = start_lesson('00', quiet=True)
url = redis_url()
kids = [int(x) for x in open(f'/proc/{os.getpid()}/task/{os.getpid()}/children').read().split()]
grandkids = [int(x) for k in kids for x in open(f'/proc/{k}/task/{k}/children').read().split()]
print(json.dumps({'provider': course.provider.url, 'redis': url, 'pids': kids + grandkids}))
"""
CALL = ("print(litellm.completion(model='openrouter/openai/gpt-4o-mini', "
        "messages=[{'role': 'user', 'content': 'Привет!'}]).choices[0].message.content[:6])")


@pytest.fixture
def kernel() -> Iterator[tuple[object, object]]:
    env = {**os.environ, "COURSE_STATE_DIR": tempfile.mkdtemp(prefix="course-life-"), "COURSE_LATENCY_SCALE": "0"}
    env.pop("REDIS_URL", None)
    manager, client = start_new_kernel(kernel_name="python3", env=env)
    try:
        yield manager, client
    finally:
        client.stop_channels()
        if manager.is_alive():
            manager.shutdown_kernel(now=True)


def started(client) -> dict:
    out, error = run(client, SETUP)
    assert error is None, out
    info = json.loads(out.strip().splitlines()[-1])
    assert len(info["pids"]) >= 4  # two guards, the provider and redis-server
    return info


def test_interrupt_reaches_the_learners_code_but_not_the_provider_or_redis(kernel) -> None:
    manager, client = kernel
    info = started(client)
    msg_id = client.execute("import time\ntime.sleep(30)")
    time.sleep(1.0)
    manager.interrupt_kernel()
    deadline = time.monotonic() + 10
    interrupted = False
    while time.monotonic() < deadline and not interrupted:
        msg = client.get_iopub_msg(timeout=10)
        interrupted = msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "error" \
            and msg["content"]["ename"] == "KeyboardInterrupt"
    assert interrupted, "the interrupt did not stop the learner's cell"
    reply = client.get_shell_msg(timeout=10)  # the kernel is done with the interrupted cell
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = client.get_shell_msg(timeout=10)
    time.sleep(0.5)  # ipykernel aborts requests that arrive right after an error; a learner clicks later
    out, error = run(client, CALL)
    assert error is None and out.startswith("Привет"), (out, error)
    assert PracticeProvider(info["provider"]).healthy() and ping_url(info["redis"])
    assert all(alive(p) for p in info["pids"])


@pytest.mark.parametrize("with_forked_child", [False, True], ids=["plain", "forked-child-survives"])
def test_kernel_killed_with_sigkill_takes_provider_and_redis_along(kernel, with_forked_child) -> None:
    manager, client = kernel
    info = started(client)
    if with_forked_child:  # a forked child keeps every inherited pipe open: the old stdin watch never fired
        out, error = run(client, "import os, time\npid = os.fork()\nif pid == 0:\n    time.sleep(60)\n    os._exit(0)\n"
                                 "print(pid)")
        assert error is None
        forked = int(out.strip())
    os.kill(manager.provisioner.process.pid, signal.SIGKILL)
    left = wait_dead(info["pids"])
    assert not left, f"still running after the kernel died: {left}"
    assert not PracticeProvider(info["provider"]).healthy() and not ping_url(info["redis"])
    if with_forked_child:
        assert alive(forked)  # the forked process was still there: it did not keep them alive
        os.kill(forked, signal.SIGKILL)


def test_a_chatty_provider_does_not_freeze(kernel) -> None:
    """Its stderr used to be an unread pipe: after ~64 KB of log every request hung."""
    manager, client = kernel
    started(client)
    out, error = run(client, "import httpx\nfor i in range(300):\n"
                             "    httpx.post(course.provider.url + '/api/v1/chat/completions', content=b'{' + b'x' * 400)\n"
                             + CALL, timeout=60)
    assert error is None and out.startswith("Привет"), (out, error)
