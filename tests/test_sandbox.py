"""The grading sandbox on its own (no kernels, a few seconds): each limit stops what it must, in
both isolation modes where the machine allows them, and nothing outlives a run."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from course_helpers import sandbox



def _usable(mode: str) -> bool:
    try:
        return sandbox.isolation(mode) == mode
    except RuntimeError:
        return False


MODES = [mode for mode in ("rlimits", "bwrap") if _usable(mode)]


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A scratch folder the sandbox's own user can reach (pytest's tmp_path sits in a private folder)."""
    base = Path(tempfile.mkdtemp(prefix="course-sandbox-test-"))
    os.chmod(base, 0o755)
    yield base / "scratch"
    shutil.rmtree(base, ignore_errors=True)


def run(scratch: Path, mode: str, code: str, wall: float = 60, **limits: int) -> tuple[sandbox.Outcome, str]:
    box = sandbox.Sandbox(scratch, mode, slot=7, limits=sandbox.Limits(**limits))
    box.prepare()
    log = scratch.parent / "log"
    outcome = box.run([sandbox.PYTHON, "-c", code], {}, wall, log)
    return outcome, log.read_text(encoding="utf-8", errors="replace")


def leftovers() -> list[Path]:
    """Live processes of the slot's own user (root only; killed ones may take a moment to go)."""
    if os.geteuid() != 0:
        return []
    deadline = time.monotonic() + 5
    while True:
        found = []
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                if proc.stat().st_uid == sandbox.FIRST_UID + 7 and (proc / "stat").read_text().split(")")[-1].split()[0] != "Z":
                    found.append(proc)
            except OSError:
                pass
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_isolation_choice() -> None:
    """bwrap where it works (this machine; CI's container runs privileged for it); without it, root
    refuses to run notebooks as root when their own user cannot reach Python (no process limit,
    write access everywhere: not a sandbox)."""
    assert MODES, "no isolation mode works here"
    if sandbox.bwrap_problem() is None:
        assert sandbox.isolation() == "bwrap"
    else:
        with pytest.raises(RuntimeError, match="bwrap"):
            sandbox.isolation("bwrap")
    if os.geteuid() == 0 and not sandbox._reachable_by_others(sandbox._python_paths()):
        with pytest.raises(RuntimeError, match="от root"):
            sandbox.isolation("rlimits")


@pytest.mark.parametrize("mode", MODES)
def test_wall_clock_kills_the_whole_tree(scratch: Path, mode: str) -> None:
    code = ("import os, subprocess, sys, time\n"
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'], start_new_session=True)\n"
            "print('started', flush=True)\ntime.sleep(600)")
    started = time.monotonic()
    outcome, log = run(scratch, mode, code, wall=3)
    assert outcome.timed_out and "started" in log and time.monotonic() - started < 15
    assert not leftovers()  # the child that left the session is gone too


@pytest.mark.parametrize("mode", MODES)
def test_disk_quota(scratch: Path, mode: str) -> None:
    code = ("import time\nwith open('big', 'wb') as f:\n    for _ in range(200):\n"
            "        f.write(b'x' * 2**20); f.flush(); time.sleep(0.02)\ntime.sleep(60)")
    outcome, _ = run(scratch, mode, code, disk_mb=20)
    assert outcome.over_disk and not outcome.timed_out


@pytest.mark.parametrize("mode", MODES)
def test_memory_file_size_and_process_limits(scratch: Path, mode: str) -> None:
    code = ("import os, time\n"
            "try:\n    x = bytearray(3 * 2**30)\n    print('memory: allocated')\nexcept MemoryError:\n    print('memory: refused')\n"
            "try:\n    open('f', 'wb').write(b'x' * 3 * 2**20)\n    print('file: written')\n"
            "except OSError as e:\n    print('file: refused', e.errno)\n"
            "n = 0\ntry:\n    while True:\n        if os.fork() == 0:\n            time.sleep(30); os._exit(0)\n        n += 1\n"
            "except OSError:\n    print('fork: stopped after', n)\n")
    outcome, log = run(scratch, mode, code, memory_mb=1024, file_mb=2, processes=40)
    assert outcome.returncode == 0, log
    assert "memory: refused" in log and "file: refused 27" in log, log  # 27: EFBIG
    if mode == "bwrap" or os.geteuid() == 0:  # RLIMIT_NPROC: root is exempt; others count all their processes
        assert int(log.split("fork: stopped after")[1].split()[0]) < 40, log
    assert not leftovers()


@pytest.mark.parametrize("mode", MODES)
def test_files_outside_the_scratch_folder(scratch: Path, mode: str) -> None:
    outside = scratch.parent / "outside"  # reachable, but not the sandbox's
    outside.mkdir()
    code = (f"import os\nfor path in [{str(outside / 'x')!r}, {str(sandbox.REPO_ROOT / 'x')!r}, 'inside.txt']:\n"
            "    try:\n        open(path, 'w').write('x'); print('wrote', path)\n"
            "    except OSError as e:\n        print('refused', path, type(e).__name__)\n"
            f"print('sees the course checkout:', os.path.exists({str(sandbox.REPO_ROOT / 'README.md')!r}))")
    outcome, log = run(scratch, mode, code)
    assert outcome.returncode == 0, log
    assert "wrote inside.txt" in log and (scratch / "inside.txt").exists()
    if mode == "bwrap" or os.geteuid() == 0:
        assert "wrote /" not in log and not (outside / "x").exists() and not (sandbox.REPO_ROOT / "x").exists()
    if mode == "bwrap":  # hidden, not only read-only: the instructor's files (a .env with a key) stay unseen
        assert "sees the course checkout: False" in log


@pytest.mark.parametrize("mode", MODES)
def test_network_is_loopback_only(scratch: Path, mode: str) -> None:
    """bwrap: a network namespace with loopback only, no route out even for a raw socket. rlimits: only the
    course's loopback guard (a Python patch the kernels install), so that is what is tried there."""
    code = ("import socket\nserver = socket.socket(); server.bind(('127.0.0.1', 0)); server.listen()\n"
            "socket.create_connection(server.getsockname(), timeout=3).close(); print('loopback ok')\n")
    if mode == "rlimits":
        code += f"import sys; sys.path.insert(0, {str(sandbox.REPO_ROOT)!r})\nfrom course_helpers import netguard\nnetguard.install()\n"
    code += ("try:\n    socket.create_connection(('192.0.2.1', 80), timeout=3)\n"
             "except OSError as e:\n    print('outside:', type(e).__name__, e.errno)")
    outcome, log = run(scratch, mode, code)
    assert "loopback ok" in log, log
    assert ("outside: OSError 101" if mode == "bwrap" else "outside: gaierror") in log, log  # 101: ENETUNREACH


def test_environment_has_no_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-v1-instructor")
    box = sandbox.Sandbox(tmp_path, "rlimits")
    assert "OPENROUTER_API_KEY" not in box.env({}) and box.env({})["HOME"].startswith(str(tmp_path))


def test_repository_copy(tmp_path: Path) -> None:
    copy = sandbox.copy_repository(tmp_path / "repo")
    assert (copy / "course_helpers" / "checks.py").is_file() and (copy / "notebooks").is_dir()
    assert not (copy / ".venv").exists() and not (copy / ".git").exists()


def test_repository_copy_leaves_out_the_class_kept_in_the_checkout(tmp_path: Path) -> None:
    root = tmp_path / "course"
    for name in ("course_helpers/checks.py", "notebooks/00_start.ipynb", "class/ivanov/00_start.ipynb",
                 "notebooks/petrov.ipynb", "grading-report/report.md"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("x", encoding="utf-8")
    copy = sandbox.copy_repository(tmp_path / "copy", root, exclude=[
        root / "class", root / "notebooks" / "petrov.ipynb", root / "grading-report", root, tmp_path])
    copied = sorted(str(p.relative_to(copy)) for p in copy.rglob("*") if p.is_file())
    assert copied == ["course_helpers/checks.py", "notebooks/00_start.ipynb"]  # the checkout itself is not excluded


def test_a_course_cloned_under_tmp_keeps_its_python_visible(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The private /tmp hides a checkout such as /tmp/course: its venv is mounted back with its parents made
    (seen on a clone in /tmp: «PermissionError» from execvp, the grader refused to run)."""
    monkeypatch.setattr(sandbox, "REPO_ROOT", tmp_path)
    venv = tmp_path / ".venv"
    monkeypatch.setattr(sandbox, "_python_paths", lambda: [venv])
    cmd = sandbox.Sandbox(tmp_path / "scratch", "bwrap").command(["true"])
    made = {cmd[i + 1] for i, arg in enumerate(cmd) if arg == "--dir"}
    assert {str(p) for p in tmp_path.parents if p.is_relative_to("/tmp") and p != Path("/tmp")} | {str(tmp_path)} <= made
    assert cmd.index(f"{tmp_path}") < cmd.index(str(venv)), "parents are made before the venv is mounted back"
    assert ["--ro-bind", str(venv), str(venv)] == cmd[cmd.index(str(venv)) - 1:cmd.index(str(venv)) + 2]
