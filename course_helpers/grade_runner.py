"""Inside the grading sandbox: run one student's notebook in a fresh kernel and log every cell.

``python -m course_helpers.grade_runner SPEC.json`` (started by :mod:`course_helpers.grade`, in a
:mod:`course_helpers.sandbox`). Every code cell runs in order, as Kernel → Restart & Run All
would, but an error does not stop the run (a broken demonstration cell should not hide the
exercises after it). A cell gets ``cell_timeout`` seconds, then an interrupt; a kernel that
ignores the interrupt, dies or runs past ``notebook_timeout`` ends the run. Output is capped per
cell and per notebook. After the last cell, an epilogue checks, with the course's own ``check``,
every exercise whose check never ran, if the kernel has the object the exercise asks for.

Writes ``result`` (JSON: one entry per code cell, how the kernel ended, which exercises the
epilogue checked) and ``executed`` (the notebook with its new outputs). Both are read by the
grader as untrusted data: the student's code ran in this sandbox too.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

KERNEL_SETUP = "import course_helpers.kernel; course_helpers.kernel.install()"
INTERRUPT_GRACE_S = 10.0  # after an interrupt, how long a cell may take to stop
MISSING = "__course_grade_missing__"
EPILOGUE = f"""
def __course_grade_epilogue(answers):
    from course_helpers.checks import check
    for exercise_id, name in answers.items():
        if name in globals():
            check(exercise_id, globals()[name])
        else:
            print("{MISSING}", exercise_id)
__course_grade_epilogue(%r)
del __course_grade_epilogue
"""


class GradingClient(NotebookClient):
    """nbclient with capped output and a record of cells that hit their time limit."""

    def __init__(self, nb: nbformat.NotebookNode, *, cell_cap: int, total_cap: int, **kw: Any) -> None:
        super().__init__(nb, **kw)
        self.cell_cap, self.total_cap = cell_cap, total_cap
        self.total = 0
        self.cell_bytes: dict[int, int] = {}
        self.truncated: set[int] = set()
        self.timed_out: set[int] = set()

    async def _async_handle_timeout(self, timeout: int, cell: nbformat.NotebookNode | None = None) -> Any:
        index = next((i for i, c in enumerate(self.nb.cells) if c is cell), -1)
        self.timed_out.add(index)
        return await super()._async_handle_timeout(timeout, cell)

    def output(self, outs: list, msg: dict[str, Any], display_id: str | None, cell_index: int) -> Any:
        content = msg.get("content", {})
        size = len(content.get("text", "")) + sum(len(str(v)) for v in content.get("data", {}).values()) \
            + sum(len(line) for line in content.get("traceback", []))
        room = min(self.cell_cap - self.cell_bytes.get(cell_index, 0), self.total_cap - self.total)
        if size <= room:
            self._count(cell_index, size)
            return super().output(outs, msg, display_id, cell_index)
        if cell_index in self.truncated:
            return None
        self.truncated.add(cell_index)
        if msg.get("msg_type") == "stream" and room > 0:  # keep the part that fits
            self._count(cell_index, room)
            super().output(outs, {**msg, "content": {**content, "text": content["text"][:room]}}, display_id,
                           cell_index)
        outs.append(nbformat.v4.new_output("stream", name="stderr", text=(
            f"\n[грейдер: дальнейший вывод ячейки отброшен — больше {self.cell_cap // 1024} КБ на ячейку "
            f"или {self.total_cap // 2**20} МБ на ноутбук]\n")))
        return None

    def _count(self, cell_index: int, size: int) -> None:
        self.cell_bytes[cell_index] = self.cell_bytes.get(cell_index, 0) + size
        self.total += size


def _progress_ids(state: Path) -> set[str]:
    """Exercise ids that have a record in the progress file (read without its lock: never blocks)."""
    try:
        data = json.loads((state / "progress.json").read_text(encoding="utf-8"))
        section = data.get("exercises", {}) if "version" in data else data
        return {str(k) for k in section}
    except (OSError, ValueError, AttributeError):
        return set()


def _cell_record(index: int, cell: nbformat.NotebookNode, status: str, seconds: float) -> dict[str, Any]:
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    record: dict[str, Any] = {"index": index, "status": status, "seconds": round(seconds, 2)}
    if errors:
        record["ename"], record["evalue"] = str(errors[0].get("ename", ""))[:200], str(errors[0].get("evalue", ""))[:500]
        if status == "ok":
            record["status"] = "error"
    return record


async def _run(spec: dict[str, Any]) -> dict[str, Any]:
    nb = nbformat.read(spec["notebook"], as_version=4)
    client = GradingClient(nb, cell_cap=spec["cell_output_cap"], total_cap=spec["notebook_output_cap"],
                           kernel_name="python3", timeout=spec["cell_timeout"], interrupt_on_timeout=True,
                           allow_errors=True, record_timing=False, shutdown_kernel="immediate", startup_timeout=120,
                           iopub_timeout=4, resources={"metadata": {"path": spec["cwd"]}},
                           # the course's kernel setup (loopback guard, short tracebacks) even where the
                           # venv's kernelspec lacks it (scripts/setup.sh not run)
                           extra_arguments=[f"--IPKernelApp.exec_lines={KERNEL_SETUP}"])
    result: dict[str, Any] = {"cells": [], "kernel": "ok", "rechecked": [], "missing": [], "truncated": []}
    deadline = time.monotonic() + spec["notebook_timeout"]
    try:
        async with client.async_setup_kernel():
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code" or not cell.source.strip():
                    continue
                left = deadline - time.monotonic()
                if left <= 1:
                    result["kernel"] = "notebook_timeout"
                    break
                client.timeout = int(min(spec["cell_timeout"], left))
                started = time.monotonic()
                try:
                    await asyncio.wait_for(client.async_execute_cell(cell, index), client.timeout + INTERRUPT_GRACE_S)
                except (asyncio.TimeoutError, DeadKernelError):
                    # nbclient reports its own cancellation by wait_for as a dead kernel: past the grace
                    # period after the interrupt, the kernel is stuck, not dead
                    spent = time.monotonic() - started
                    stuck = spent >= client.timeout + INTERRUPT_GRACE_S - 0.5
                    result["cells"].append({"index": index, "status": "timeout" if stuck else "dead",
                                            "seconds": round(spent, 2)})
                    result["kernel"] = "stuck" if stuck else "dead"
                    break
                status = "timeout" if index in client.timed_out else "ok"
                result["cells"].append(_cell_record(index, cell, status, time.monotonic() - started))
            if result["kernel"] == "ok":
                state = Path(spec["state"])
                unchecked = {k: v for k, v in spec["answers"].items() if k not in _progress_ids(state)}
                if unchecked:
                    cell = nbformat.v4.new_code_cell(EPILOGUE % (unchecked,))
                    nb.cells.append(cell)
                    client.timeout = spec["cell_timeout"]
                    try:
                        await asyncio.wait_for(client.async_execute_cell(cell, len(nb.cells) - 1),
                                               client.timeout + INTERRUPT_GRACE_S)
                    except (asyncio.TimeoutError, DeadKernelError):
                        result["kernel"] = "epilogue_failed"
                    nb.cells.pop()
                    shown = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")
                    result["missing"] = [line.split()[1] for line in shown.splitlines() if line.startswith(MISSING)]
                    result["rechecked"] = sorted(set(unchecked) & _progress_ids(state))
    except DeadKernelError:
        result["kernel"] = "dead"
    except Exception as e:  # the kernel did not start, or nbclient failed: say so instead of crashing
        result["kernel"] = "runner_error"
        result["error"] = f"{type(e).__name__}: {e}"[:1000]
    result["truncated"] = sorted(client.truncated)
    nbformat.write(nb, spec["executed"])
    return result


def main(argv: list[str] | None = None) -> int:
    spec_path = Path((argv or sys.argv[1:])[0])
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    started = time.monotonic()
    result = asyncio.run(_run(spec))
    result["seconds"] = round(time.monotonic() - started, 2)
    Path(spec["result"]).write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
