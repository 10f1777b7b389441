"""Build the course notebooks from their sources and store them executed.

Sources are ``notebooks/src/NN_name.py`` in the "percent" format:

    # %% [markdown]
    # # Заголовок
    # %%
    print("code")
    # %% tags=["raises-exception"]

The script turns each source into ``notebooks/NN_name.ipynb``, appends the navigation
cell (previous / next lesson), and executes it with outputs and widget state stored.

    python scripts/build_notebooks.py             # all lessons
    python scripts/build_notebooks.py 01 03       # some lessons
    python scripts/build_notebooks.py --no-execute

``COURSE_LATENCY_SCALE`` (default 1.0, realistic) is passed to the kernels.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "notebooks" / "src"
OUT = ROOT / "notebooks"
CELL = re.compile(r"^# %%(?P<md> \[markdown\])?(?:\s+tags=(?P<tags>\[.*\]))?\s*$")
# The course's lessons (fixed by its design): file stem -> title used in navigation links.
LESSONS = {
    "00_start": "Старт", "01_caching": "Кэширование", "02_errors": "Ошибки", "03_fallbacks": "Резервные модели",
    "04_custom_providers": "Свои провайдеры", "05_routing": "Роутинг", "06_budgets": "Бюджеты",
    "07_practical_task": "Практическое задание", "08_gateway": "Шлюз",
}


def sources() -> list[Path]:
    """Lesson sources in order."""
    return sorted(SRC.glob("[0-9][0-9]_*.py"))


def parse(path: Path) -> list[nbformat.NotebookNode]:
    """Cells of a percent-format source."""
    cells: list[nbformat.NotebookNode] = []
    kind, tags, lines = None, [], []

    def flush() -> None:
        if kind is None:
            return
        text = "\n".join(lines).strip("\n")
        if kind == "markdown":
            text = "\n".join(re.sub(r"^# ?", "", line) for line in text.splitlines())
            cell = nbformat.v4.new_markdown_cell(text)
        else:
            cell = nbformat.v4.new_code_cell(text)
        if tags:
            cell.metadata["tags"] = tags
        cells.append(cell)

    for line in path.read_text(encoding="utf-8").splitlines():
        match = CELL.match(line)
        if match:
            flush()
            kind = "markdown" if match["md"] else "code"
            tags = json.loads(match["tags"]) if match["tags"] else []
            lines = []
        elif kind is not None:
            lines.append(line)
    flush()
    return cells


def navigation(path: Path) -> nbformat.NotebookNode:
    """The generated last cell: links to the previous and next lessons of the course."""
    names = list(LESSONS)
    i = names.index(path.stem)
    parts = []
    if i > 0:
        prev = names[i - 1]
        parts.append(f"⬅️ Назад: [{prev[:2]} · {LESSONS[prev]}]({prev}.ipynb)")
    if i + 1 < len(names):
        nxt = names[i + 1]
        parts.append(f"➡️ **Дальше: [{nxt[:2]} · {LESSONS[nxt]}]({nxt}.ipynb)**")
    else:
        parts.append("🎉 Это последний урок курса. Вернуться к началу: [00 · Старт](00_start.ipynb)")
    cell = nbformat.v4.new_markdown_cell("---\n" + " · ".join(parts))
    cell.metadata["tags"] = ["navigation"]
    return cell


def solutions_markdown(lesson: str) -> str:
    """The lesson's reference solutions, collapsed: exactly what ``solution(id)`` prints."""
    from course_helpers.checks import exercises, solution_text

    parts = ["## Решения заданий", "",
             "Сначала попробуйте сами: подсказки дают `hint(\"номер\")` и `hint(\"номер\", 2)`. "
             "Каждое решение запускается как есть после ячейки `start_lesson`; `solution(\"номер\")` печатает то же.",
             "", "<details><summary>Показать решения</summary>", ""]
    for exercise_id, exercise in exercises().items():
        if exercise_id.startswith(f"{lesson}."):
            check_line = f"\ncheck({exercise_id!r}, {exercise.answer_name})" if exercise.answer_name else ""
            parts += [f"**{exercise_id} · {exercise.title}**", "", "```python",
                      solution_text(exercise_id).rstrip() + check_line, "```", ""]
    return "\n".join(parts + ["</details>"])


def build(path: Path) -> nbformat.NotebookNode:
    """The unexecuted notebook for one source; a markdown cell tagged ``solutions`` is filled
    with the lesson's reference solutions."""
    if path.stem not in LESSONS:
        raise SystemExit(f"{path.name}: не урок курса; ожидаются {', '.join(LESSONS)}")
    nb = nbformat.v4.new_notebook()
    nb.cells = parse(path) + [navigation(path)]
    for cell in nb.cells:
        if "solutions" in cell.metadata.get("tags", []):
            cell.source = solutions_markdown(path.stem[:2])
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for n, cell in enumerate(nb.cells):
        cell.id = f"{path.stem[:2]}-{n:03d}"  # stable ids: clean diffs between rebuilds
    return nb


def execute(nb: nbformat.NotebookNode) -> None:
    """Run the notebook in a fresh kernel from the notebooks folder, widget state stored."""
    os.environ.setdefault("COURSE_LATENCY_SCALE", "1.0")
    # a throwaway state folder: the author's own progress must not leak into stored outputs
    os.environ["COURSE_STATE_DIR"] = tempfile.mkdtemp(prefix="course-build-")
    client = NotebookClient(nb, timeout=900, kernel_name="python3", store_widget_state=True,
                            resources={"metadata": {"path": str(OUT)}})
    client.execute()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lessons", nargs="*", help="номера уроков (по умолчанию все)")
    parser.add_argument("--no-execute", action="store_true", help="только собрать, не выполнять")
    args = parser.parse_args(argv)
    chosen = [p for p in sources() if not args.lessons or p.stem[:2] in args.lessons]
    if not chosen:
        print(f"Нет источников для {args.lessons} в {SRC}", file=sys.stderr)
        return 2
    for path in chosen:
        start = time.perf_counter()
        nb = build(path)
        if not args.no_execute:
            execute(nb)
        target = OUT / f"{path.stem}.ipynb"
        nbformat.write(nb, target)
        print(f"{target.relative_to(ROOT)}: {len(nb.cells)} ячеек, {time.perf_counter() - start:.1f} с")
    return 0


if __name__ == "__main__":
    sys.exit(main())
