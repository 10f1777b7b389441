"""Start a helper process (the practice provider, redis-server) that outlives interrupts but not its kernel.

Used by :mod:`course_helpers.provider` and :mod:`course_helpers.redis_server` (lessons 00–07).

* **Interrupts.** Kernel → Interrupt sends SIGINT to the kernel's whole process group. The
  guard and its child run in a session of their own (``start_new_session``), so an interrupt
  stops only the learner's code, never the provider or Redis.
* **Death of the kernel.** ``python -m course_helpers.guard --parent PID -- program args…``
  runs ``program`` as its child and checks every 0.2 s whether PID is still its parent. When
  the kernel dies — exits, is restarted, is killed with SIGKILL, even while a process it forked
  still runs — the guard is re-parented, notices, stops the child (SIGTERM, then SIGKILL) and
  exits. The guard also exits when the child exits, and stops the child on SIGTERM.
* **No full pipes.** The child's stderr goes to a log file, never to an unread pipe (a pipe
  that nobody reads fills up after some 64 KB and then blocks every write of the child).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

POLL_S = 0.2
STOP_GRACE_S = 3.0


def spawn(argv: list[str], *, log: Path, env: dict[str, str] | None = None,
          stdout: int | None = subprocess.DEVNULL, stdin_text: str | None = None) -> subprocess.Popen:
    """Start ``argv`` under a guard that stops it with this process; returns the guard's Popen.

    ``stdout``: ``subprocess.PIPE`` to read what the child prints (the guard passes it through).
    ``stdin_text``: written to the child's stdin, which is then closed (a secret that must not
    appear on a command line, e.g. redis-server's password).
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    text = stdout == subprocess.PIPE
    with open(log, "ab") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "course_helpers.guard", "--parent", str(os.getpid()), "--", *argv],
            stdin=subprocess.DEVNULL if stdin_text is None else subprocess.PIPE,
            stdout=stdout, stderr=err, env=env, start_new_session=True, text=text,
        )
    if stdin_text is not None and process.stdin is not None:
        process.stdin.write(stdin_text if text else stdin_text.encode())
        process.stdin.close()
    return process


def stop(process: subprocess.Popen, timeout: float = 5.0) -> None:
    """Stop a guarded process (the guard stops its child first)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)


def _parent_alive(parent: int) -> bool:
    return os.getppid() == parent


def _stop_child(child: subprocess.Popen) -> None:
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def main(argv: list[str] | None = None) -> int:
    """The guard itself: run the child, watch the parent, stop the child when the parent is gone."""
    parser = argparse.ArgumentParser(description="Guard a child process: it stops when PARENT dies.")
    parser.add_argument("--parent", type=int, required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command or not _parent_alive(args.parent):
        return 1
    child = subprocess.Popen(command)  # same session as the guard: interrupts of the kernel miss both
    stopping = False

    def on_term(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # only the kernel's death or an explicit stop ends us
    while child.poll() is None and not stopping and _parent_alive(args.parent):
        time.sleep(POLL_S)
    _stop_child(child)
    return child.returncode or 0


if __name__ == "__main__":
    sys.exit(main())
