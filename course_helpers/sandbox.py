"""Run untrusted code (a student's notebook) in a scratch folder, with limits (grading, tests).

Two levels of isolation, chosen once per machine by :func:`isolation`:

* ``bwrap`` (bubblewrap; Debian package ``bubblewrap``): a read-only view of the machine, a
  writable scratch folder mounted at ``/tmp/grade``, a private ``/tmp`` of limited size, a
  network namespace with loopback only (the practice provider and redis-server run inside it),
  its own PID namespace (nothing survives the sandbox), no new privileges. The instructor's
  checkout, the home folder and the grading inputs and outputs are hidden (empty folders); the
  Python installation is mounted back read-only.
* ``rlimits``: the same limits and scratch folder, without namespaces. The course's loopback
  guard (:mod:`course_helpers.netguard`, a Python-level patch) is then the only network barrier,
  and files outside the scratch folder are protected only by permissions. Used when bubblewrap is
  missing or cannot create namespaces (e.g. a container without privileges).

Either way the process tree gets resource limits (CPU time, address space, open files,
processes, file size), a new session, a wall-clock limit and a disk quota on the scratch folder
(polled); run as root, it also runs as an unprivileged user of its own (``uid`` of the slot), so
the process limit really applies (root is exempt from it) and root-owned files stay read-only.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
INSIDE = Path("/tmp/grade")  # where the scratch folder appears inside a bwrap sandbox
FIRST_UID = 64000  # sandboxed runs as root use uids FIRST_UID + slot (no login user has them)
# The Python of the course's venv, by a path that stays valid in the sandbox (a venv reached
# through a symlinked folder may sit in a hidden folder; its real location is mounted back).
PYTHON = str(Path(sys.prefix).resolve() / "bin" / Path(sys.executable).name)
_SKIP = {".git", ".venv", ".course_state", "__pycache__", ".ipynb_checkpoints", ".pytest_cache", "test-artifacts",
         ".hypothesis", ".canary-venv"}


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed run (per process where the kernel counts per process)."""

    cpu_seconds: int = 1800  # RLIMIT_CPU per process (the wall clock is the real bound)
    memory_mb: int = 4096  # RLIMIT_AS per process (virtual memory; a lesson kernel with LiteLLM peaks at ~1.3 GB)
    open_files: int = 1024  # RLIMIT_NOFILE
    processes: int = 512  # RLIMIT_NPROC: processes and threads of the sandbox's user
    file_mb: int = 256  # RLIMIT_FSIZE: the largest file it may write
    disk_mb: int = 1024  # the scratch folder's size, polled every DISK_POLL_S
    tmp_mb: int = 128  # size of the private /tmp (bwrap only; it lives in memory)


DISK_POLL_S = 1.0
MAX_FILES = 200_000  # a scratch folder with more files than this is over quota too


def copy_repository(dest: Path, root: Path = REPO_ROOT, exclude: list[Path] | None = None) -> Path:
    """Copy the course's files to ``dest``: what git tracks plus untracked files it does not
    ignore, or (outside a git checkout) every file except caches, venvs and course state.

    ``exclude``: files and folders left out (grading inputs and outputs kept inside the checkout:
    one student's sandbox must not see the others' notebooks); one holding the checkout is ignored."""
    skip = [p.resolve() for p in exclude or [] if not root.resolve().is_relative_to(p.resolve())]
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                                check=True, capture_output=True, text=True).stdout.split("\0")
        names = [name for name in listed if name and (root / name).is_file()]
    except (OSError, subprocess.CalledProcessError):
        names = [str(path.relative_to(root)) for path in root.rglob("*")
                 if path.is_file() and not _SKIP.intersection(path.relative_to(root).parts)]
    for name in names:
        if skip and any((root / name).resolve().is_relative_to(s) for s in skip):
            continue
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, dest / name)
    return dest


@functools.cache
def bwrap_problem() -> str | None:
    """Why bubblewrap cannot isolate here (None: it can). Tried once per process."""
    if shutil.which("bwrap") is None:
        return "нет программы bwrap (пакет bubblewrap)"
    with tempfile.TemporaryDirectory(prefix="course-bwrap-probe-") as probe:
        sandbox = Sandbox(Path(probe) / "scratch", "bwrap", slot=0)
        sandbox.prepare()
        outcome = sandbox.run([PYTHON, "-c", "print('ok')"], {}, 60, Path(probe) / "log")
        if outcome.returncode != 0 or outcome.stderr.strip() != "ok":
            return f"bwrap не смог создать песочницу: {outcome.stderr.strip()[-300:]}"
    return None


def isolation(wanted: str = "auto") -> str:
    """``bwrap`` or ``rlimits``: ``auto`` takes bwrap when it works; ``bwrap`` insists on it.

    Without bwrap, a grader running as root must hand the notebooks to a user of their own (root
    ignores the process limit and may write anywhere): it refuses if that user cannot run Python."""
    if wanted != "rlimits":
        problem = bwrap_problem()
        if problem is None:
            return "bwrap"
        if wanted == "bwrap":
            raise RuntimeError(f"Изоляция bwrap недоступна: {problem}.")
    if os.geteuid() == 0 and not _reachable_by_others(_python_paths()):
        raise RuntimeError(
            f"Без bubblewrap грейдер, запущенный от root, выполняет ноутбуки от отдельного пользователя, но тот не "
            f"может запустить Python из {_python_paths()[0]} (папка закрыта для других пользователей). Поставьте "
            "bubblewrap (apt-get install bubblewrap), запустите грейдер от обычного пользователя или возьмите "
            "Python, доступный всем.")
    return "rlimits"


def _hidden_paths(extra: list[Path]) -> list[Path]:
    """Folders a sandbox must not see: the course checkout, the home folder, grading inputs and
    outputs (outermost only)."""
    candidates = {REPO_ROOT, Path.home(), *extra}
    resolved = sorted({p.resolve() for p in candidates if p.is_dir() and p.resolve() != Path("/")},
                      key=lambda p: len(p.parts))
    kept: list[Path] = []
    for path in resolved:
        if not any(path.is_relative_to(k) for k in kept):
            kept.append(path)
    return kept


def _python_paths() -> list[Path]:
    """What the sandbox needs of the Python installation (mounted back if it sits in a hidden folder)."""
    paths = sorted({Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), Path(sys.executable).resolve().parent},
                   key=lambda p: len(p.parts))
    kept: list[Path] = []
    for path in paths:
        if not any(path.is_relative_to(k) for k in kept):
            kept.append(path)
    return kept


@dataclass
class Outcome:
    """How a sandboxed run ended."""

    returncode: int | None
    seconds: float
    timed_out: bool = False  # killed at the wall-clock limit
    over_disk: bool = False  # killed: the scratch folder went over its quota
    stderr: str = ""


@dataclass
class Sandbox:
    """One scratch folder (host path ``scratch``) and how to run a command in it."""

    scratch: Path
    mode: str  # "bwrap" or "rlimits"
    slot: int = 0
    limits: Limits = field(default_factory=Limits)
    hide: list[Path] = field(default_factory=list)

    @property
    def inside(self) -> Path:
        """The scratch folder as the sandboxed process sees it."""
        return INSIDE if self.mode == "bwrap" else self.scratch

    @property
    def uid(self) -> int | None:
        """The unprivileged user the run uses when we are root (None: run as ourselves)."""
        return FIRST_UID + self.slot if os.geteuid() == 0 else None

    def prepare(self) -> None:
        """Create the scratch folder's parts and give it to the sandbox's user."""
        for name in ("home", "tmp", "state"):
            (self.scratch / name).mkdir(parents=True, exist_ok=True)
        if self.uid is not None:
            for path in [self.scratch, *self.scratch.rglob("*")]:
                os.lchown(path, self.uid, self.uid)

    def env(self, extra: dict[str, str]) -> dict[str, str]:
        """A clean environment: no keys, tokens or proxies of the instructor, homes in the scratch."""
        inside = self.inside
        base = {
            "PATH": os.pathsep.join([str(Path(PYTHON).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
            "HOME": str(inside / "home"),
            "TMPDIR": str(inside / "tmp"),
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "MPLCONFIGDIR": str(inside / "home" / ".matplotlib"),
            "IPYTHONDIR": str(inside / "home" / ".ipython"),
            "JUPYTER_CONFIG_DIR": str(inside / "home" / ".jupyter"),
            "JUPYTER_RUNTIME_DIR": str(inside / "home" / "runtime"),
            "JUPYTER_PLATFORM_DIRS": "1",
        }
        return {**base, **extra}

    def command(self, argv: list[str]) -> list[str]:
        """``argv`` wrapped for this sandbox: the launcher (limits, user switch), then bwrap's mounts."""
        lim = self.limits
        limits = {"CPU": lim.cpu_seconds, "AS": lim.memory_mb * 2**20, "NOFILE": lim.open_files,
                  "NPROC": lim.processes if self.uid is not None else lim.processes + _own_processes(),
                  "FSIZE": lim.file_mb * 2**20, "CORE": 0}
        if self.mode != "bwrap":
            return _launch({"nice": 5, "limits": limits, "uid": self.uid}, argv)
        cmd = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
               "--perms", "1777", "--size", str(lim.tmp_mb * 2**20), "--tmpfs", "/tmp",
               "--perms", "1777", "--size", str(lim.tmp_mb * 2**20), "--tmpfs", "/dev/shm"]
        hidden = _hidden_paths([*self.hide, self.scratch.parent])
        cmd += [arg for path in hidden if not path.is_relative_to("/tmp") for arg in ("--tmpfs", str(path))]
        for path in _python_paths():  # mounted back read-only, its parents made traversable
            under = next((h for h in hidden if path.is_relative_to(h)), None)
            if under is not None:
                # a hidden folder under /tmp is not a mount of its own (the private /tmp hides it): its
                # parents in the fresh /tmp must be made too (a course cloned to /tmp/course, say)
                top = Path("/tmp") if under.is_relative_to("/tmp") else under
                for parent in reversed(path.relative_to(top).parents[:-1]):
                    cmd += ["--perms", "0755", "--dir", str(top / parent)]
                cmd += ["--ro-bind", str(path), str(path)]
        cmd += ["--bind", str(self.scratch), str(INSIDE), "--chdir", str(INSIDE),
                "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                "--die-with-parent", "--new-session", "--"]
        inner = argv if self.uid is None else _launch({"uid": self.uid}, argv)  # switch user after mounting
        return _launch({"nice": 5, "limits": limits}, cmd + inner)

    def run(self, argv: list[str], env: dict[str, str], wall_seconds: float, log: Path) -> Outcome:
        """Run ``argv`` in the sandbox; kill the whole tree at ``wall_seconds`` or over the disk quota.

        The child's stdout and stderr go to ``log`` (a file: a pipe nobody reads would block it)."""
        started = time.monotonic()
        with open(log, "wb") as out:
            process = subprocess.Popen(self.command(argv), env=self.env(env), stdin=subprocess.DEVNULL, stdout=out,
                                       stderr=subprocess.STDOUT, start_new_session=True, cwd=self.scratch)
        outcome = Outcome(None, 0.0)
        while outcome.returncode is None:
            try:
                outcome.returncode = process.wait(timeout=DISK_POLL_S)
            except subprocess.TimeoutExpired:
                outcome.timed_out = time.monotonic() - started > wall_seconds
                outcome.over_disk = not outcome.timed_out and _over_quota(self.scratch, self.limits.disk_mb)
                if outcome.timed_out or outcome.over_disk:
                    self.kill(process)
                    outcome.returncode = process.wait()
        self.kill(process)  # whatever it left behind (rlimits mode: processes that left the session)
        outcome.seconds = time.monotonic() - started
        outcome.stderr = _tail(log)
        return outcome

    def kill(self, process: subprocess.Popen) -> None:
        """Kill the run and everything it started.

        bwrap: its PID namespace dies with it. rlimits: the session's process group, and as root
        every process of the slot's user (a child that left the session is caught that way)."""
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.mode != "bwrap" and self.uid is not None:
            subprocess.run(_launch({"uid": self.uid}, [PYTHON, "-c", _KILL_ALL]), check=False)

    def cleanup(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)


# The launcher: lower priority, set resource limits, switch to an unprivileged user, exec the
# command. A separate process rather than ``preexec_fn`` (not safe while the grader runs threads).
_LAUNCH = """
import json, os, resource, sys
spec = json.loads(sys.argv[1])
if spec.get("nice"):
    os.nice(spec["nice"])
for name, value in spec.get("limits", {}).items():
    resource.setrlimit(getattr(resource, "RLIMIT_" + name), (value, value))
if spec.get("uid") is not None:
    os.setgroups([]); os.setgid(spec["uid"]); os.setuid(spec["uid"])
    assert os.getuid() == os.geteuid() == spec["uid"]
os.execvp(sys.argv[2], sys.argv[2:])
"""
_KILL_ALL = "import os, signal\ntry:\n    os.kill(-1, signal.SIGKILL)\nexcept ProcessLookupError:\n    pass"


def _launch(spec: dict[str, object], argv: list[str]) -> list[str]:
    return [PYTHON, "-c", _LAUNCH, json.dumps(spec), *argv]


def _reachable_by_others(paths: list[Path]) -> bool:
    """True if a user who owns none of these folders may enter each of them and their parents."""
    for path in paths:
        for folder in (path, *path.parents):
            try:
                if not folder.stat().st_mode & 0o001:
                    return False
            except OSError:
                return False
    return True


def _own_processes() -> int:
    """Processes and threads of this user now (RLIMIT_NPROC counts them all, not only the sandbox's)."""
    uid, count = os.getuid(), 0
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if entry.stat().st_uid == uid:
                count += len(os.listdir(entry / "task"))
        except OSError:
            continue
    return count


def _over_quota(folder: Path, limit_mb: int) -> bool:
    """True if the folder holds more than ``limit_mb`` MB or MAX_FILES files (one walk, no symlinks)."""
    total, files, stack = 0, 0, [str(folder)]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    files += 1
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    else:
                        total += entry.stat(follow_symlinks=False).st_blocks * 512
        except OSError:
            continue
        if total > limit_mb * 2**20 or files > MAX_FILES:
            return True
    return False


def _tail(path: Path, size: int = 4000) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(max(0, path.stat().st_size - size))
            return f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
