"""What the learner's notebook kernel shows when something goes wrong (every lesson).

* :func:`install` — an IPython exception handler: the traceback keeps the learner's own
  frames (the library frames are counted, not printed: a LiteLLM error is 20–40 frames deep
  and the learner's line is lost among them), then a Russian hint when there is one
  (:func:`course_helpers.session.learner_hint`). An interrupt during a call gets one short line.
* ``python -m course_helpers.kernel --install-kernelspec`` (run by ``scripts/setup.sh``) makes
  the course's venv kernel call :func:`install` at start and set
  ``LITELLM_LOCAL_MODEL_COST_MAP=True``: a LiteLLM cell run before ``start_lesson`` (or after a
  kernel restart) gets a Russian "run the setup cell" instead of a long English traceback
  and an attempt to download the price map.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import sysconfig
import types
from pathlib import Path
from typing import Any

PACKAGE_DIR = str(Path(__file__).resolve().parent)
_LIBRARY_DIRS = tuple({sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")})


def is_learner_frame(filename: str) -> bool:
    """A frame of the learner's code: a notebook cell or their own file, not a library or the course."""
    return not filename.startswith(_LIBRARY_DIRS) and not filename.startswith(PACKAGE_DIR) \
        and "site-packages" not in filename and not filename.startswith("<frozen")


def trim(tb: types.TracebackType | None) -> tuple[types.TracebackType | None, int]:
    """The traceback with only the learner's frames (at least the first one), and how many were dropped."""
    frames = []
    while tb is not None:
        frames.append(tb)
        tb = tb.tb_next
    keep = [f for f in frames if is_learner_frame(f.tb_frame.f_code.co_filename)] or frames[:1]
    chain = None
    for frame in reversed(keep):
        chain = types.TracebackType(chain, frame.tb_frame, frame.tb_lasti, frame.tb_lineno)
    return chain, len(frames) - len(keep)


def _handler(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: int | None = None) -> None:
    from course_helpers.session import learner_hint

    if isinstance(value, KeyboardInterrupt):  # the learner stopped a long call: no library frames at all
        shell.showtraceback((etype, value, None), tb_offset=tb_offset)
        print("⏹ Ячейка прервана (Kernel → Interrupt). Практический провайдер и Redis продолжают работать.")
        return
    short, hidden = trim(tb)
    chain = value.__cause__, value.__context__  # the chained library errors would print their own tracebacks
    value.__cause__ = value.__context__ = None
    try:
        shell.showtraceback((etype, value, short), tb_offset=tb_offset)
    finally:
        value.__cause__, value.__context__ = chain
    if hidden:
        print(f"(скрыто {hidden} шаг(ов) трассировки внутри LiteLLM и других библиотек)")
    hint = learner_hint(value)
    if hint:
        print(hint)


def install() -> None:
    """In IPython: short tracebacks and Russian hints (idempotent; outside IPython does nothing)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    if os.environ.get("COURSE_LOOPBACK_ONLY"):  # tests: not even a cell run before start_lesson goes online
        from course_helpers import netguard

        netguard.install()
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.set_custom_exc((Exception, KeyboardInterrupt), _handler)


def install_kernelspec(prefix: str = sys.prefix) -> Path:
    """Make the venv's ``python3`` kernel start with :func:`install` and the local price map."""
    path = Path(prefix) / "share" / "jupyter" / "kernels" / "python3" / "kernel.json"
    spec = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {
        "display_name": "Python 3 (ipykernel)", "language": "python", "metadata": {"debugger": True}}
    spec["argv"] = ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}",
                    "--IPKernelApp.exec_lines=import course_helpers.kernel; course_helpers.kernel.install()"]
    spec["env"] = {**spec.get("env", {}), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(spec, indent=1, ensure_ascii=False), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Ядро курса: короткие трассировки и подсказки.")
    parser.add_argument("--install-kernelspec", action="store_true", help="настроить ядро python3 этого venv")
    args = parser.parse_args(argv)
    if args.install_kernelspec:
        print(f"Ядро курса настроено: {install_kernelspec()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
