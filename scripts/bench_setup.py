"""Set-up benchmark (not a test): prints measured seconds, cold and warm download caches.

    python3 scripts/bench_setup.py                       # this commit: README command 1 and the installers
    python3 scripts/bench_setup.py --ref 557023e         # the same for an older commit (before the lock)
    python3 scripts/bench_setup.py --only installers     # only pip against uv on requirements.lock

Measured, each in a fresh clone of the commit (or a fresh venv) in a temporary folder:
- ``lab``: ``bash scripts/lab.sh`` until it prints that JupyterLab is ready (README command 1), with
  empty pip and uv caches (cold), then again in another fresh clone with the caches it filled (warm);
- ``setup``: ``bash scripts/setup.sh`` alone (the set-up part of ``.ci/run``), warm, then once more in
  the same clone (nothing to install);
- ``installers``: ``pip install -r requirements.lock`` against ``uv pip install -r requirements.lock``
  into a new venv, cold and warm (uv itself installed by pip first, included in its time).
apt packages (redis-server, chromium…) are taken as already installed: the numbers are the Python part.
Uses only the standard library: it runs before any venv exists.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def clone(ref: str, where: Path) -> Path:
    target = where / f"clone-{len(list(where.glob('clone-*')))}"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(target)], check=True)
    subprocess.run(["git", "-C", str(target), "checkout", "-q", ref], check=True)
    return target


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def lab_ready(repo: Path, env: dict[str, str]) -> float:
    """Seconds from ``bash scripts/lab.sh`` to its «Курс открыт» banner (JupyterLab answers)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.perf_counter()
    lab = subprocess.Popen(["bash", "scripts/lab.sh"], cwd=repo, env={**env, "COURSE_LAB_PORT": str(port)},
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        for line in lab.stdout:
            if "Курс открыт" in line:
                return time.perf_counter() - start
        raise RuntimeError(f"scripts/lab.sh ended without opening the course (exit {lab.wait()})")
    finally:
        os.killpg(lab.pid, signal.SIGINT)
        try:
            lab.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(lab.pid, signal.SIGKILL)


def installers(repo: Path, work: Path, env: dict[str, str], label: str) -> None:
    uv_pin = next(line for line in (repo / "requirements.lock").read_text().splitlines() if line.startswith("uv=="))
    for tool in ("pip", "uv"):
        venv = work / f"venv-{tool}-{label}"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        py = str(venv / "bin" / "python")
        if tool == "pip":
            seconds = timed([py, "-m", "pip", "install", "-q", "-r", "requirements.lock"], repo, env)
        else:
            seconds = timed([py, "-m", "pip", "install", "-q", uv_pin], repo, env)
            seconds += timed([str(venv / "bin" / "uv"), "pip", "install", "-q", "--compile-bytecode", "--python", py,
                              "-r", "requirements.lock"], repo, env)
        print(f"  {tool:3} install -r requirements.lock, {label} cache: {seconds:6.1f} s", flush=True)
        shutil.rmtree(venv)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", default="HEAD")
    parser.add_argument("--only", choices=["lab", "installers"])
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-setup-"))
    env = {**os.environ, "PIP_CACHE_DIR": str(work / "pip-cache"), "UV_CACHE_DIR": str(work / "uv-cache")}
    env.pop("VIRTUAL_ENV", None)
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", args.ref],
                            capture_output=True, text=True, check=True).stdout.strip()
    print(f"Set-up times at {commit} ({os.cpu_count()} CPUs; apt packages already installed):", flush=True)
    try:
        if args.only != "installers":
            for label in ("cold", "warm"):
                print(f"  README command 1 (lab.sh → JupyterLab ready), {label} cache: "
                      f"{lab_ready(clone(args.ref, work), env):6.1f} s", flush=True)
            repo = clone(args.ref, work)
            print(f"  scripts/setup.sh, warm cache: {timed(['bash', 'scripts/setup.sh'], repo, env):6.1f} s", flush=True)
            print(f"  scripts/setup.sh again, nothing to install: "
                  f"{timed(['bash', 'scripts/setup.sh'], repo, env):6.1f} s", flush=True)
        repo = clone(args.ref, work)
        if args.only != "lab" and (repo / "requirements.lock").exists():
            for label in ("cold", "warm"):
                if label == "cold":
                    shutil.rmtree(work / "pip-cache", ignore_errors=True)
                    shutil.rmtree(work / "uv-cache", ignore_errors=True)
                installers(repo, work, env, label)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
