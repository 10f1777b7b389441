"""The learner's first hour, in the browser: lesson 00 does what its text says.

A newcomer opens ``00_start.ipynb``, runs it, re-runs the setup cell ("safe to run again"),
makes a prediction by clicking an option and runs the experiment (0.6: the reveal says
«✅ верно»), operates the panel as section 0.7 asks, solves exercise 0.1 first wrongly then
with the solution from the collapsed solutions block at the end of the lesson, answers a
quiz question by clicking, and restarts the kernel (0.9). Every step is checked against the
lesson's own words. Lesson-specific on purpose; the generic checks of every lesson
(``checks.check_lesson_run``) are made here, right after Run All, so lesson 00
runs in the browser once.

This Run All is also the second run of lesson 00's Restart & Run All, as for every other lesson
(``test_notebooks_in_browser.py``): nbval runs the lesson first in a sandboxed copy of the repo, then
JupyterLab runs it from that copy with the same course state and must show what nbval's run printed;
nothing may be left in the repo after the whole hour. So lesson 00 executes twice per full run.
"""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat

from restart_run import (FIRST_HOUR, assert_nothing_left, assert_ran_clean, assert_same_as_first, first_run_in_sandbox,
                         leftovers)

from .checks import check_lesson_run
from .conftest import NOTEBOOKS, lab_on_sandbox
from .lab import NotebookPage

LESSON = NOTEBOOKS / FIRST_HOUR
URL = re.compile(r"Практический провайдер: (http://127\.0\.0\.1:\d+)")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_practice/health", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _wait_text(read, predicate, timeout_s: float = 30) -> str:
    deadline = time.monotonic() + timeout_s
    text = read()
    while not predicate(text) and time.monotonic() < deadline:
        time.sleep(0.2)
        text = read()
    return text


def _solution(markdown: str, exercise_id: str) -> str:
    """The code of one exercise from the generated solutions block, without its check() line."""
    code = re.search(rf"\*\*{re.escape(exercise_id)} · .*?\*\*\s*```python\n(.*?)```", markdown, re.S)[1]
    return "\n".join(line for line in code.splitlines() if not line.startswith("check(")).strip() + "\n"


def test_lesson_00_first_hour(start_lab, page, artifacts: Path, tmp_path: Path) -> None:
    repo, env, first = first_run_in_sandbox(tmp_path, LESSON.name)  # Restart & Run All, first run
    path = repo / "notebooks" / LESSON.name

    server = lab_on_sandbox(start_lab, repo, env)
    try:
        _first_hour(NotebookPage(page, server, LESSON.name), path, first.nb, artifacts)
    finally:
        server.stop()
    assert_nothing_left(LESSON.name, leftovers(repo))


def _first_hour(nb: NotebookPage, path: Path, first: nbformat.NotebookNode, artifacts: Path) -> None:
    """The hour itself, on the sandbox's lesson 00 (``path``) after nbval's run of it (``first``)."""
    nb.open()
    setup = nb.find_cell("start_lesson(")
    # Before running anything the committed outputs are there (DESIGN: notebooks are stored executed).
    assert "Режим: офлайн" in nb.output_text(setup)

    nb.run_all()  # Restart & Run All, second run: what JupyterLab shows is what nbval's run printed
    shown = nbformat.from_dict(nb.notebook_json())
    check_lesson_run(nb, path, artifacts)  # what every lesson must show after Run All (widgets operated)
    assert_ran_clean(LESSON.name, "second (JupyterLab)", shown)
    assert_same_as_first(LESSON.name, first, shown)
    shot = False
    try:
        banner = nb.output_text(setup)
        assert "Урок 00" in banner and "Режим: офлайн" in banner, banner
        first_url = URL.search(banner)[1]

        # 0.3: doctor() — every line [OK] on a prepared machine.
        doctor = nb.output_text(nb.find_cell("doctor()"))
        assert "Всё готово к курсу." in doctor and "[FAIL]" not in doctor, doctor

        # "Запускать её повторно безопасно": the same banner, the same provider.
        assert nb.run_cell(setup) == banner

        # 0.6: a prediction is a click on an option; the experiment cell then reveals it.
        predict_cell = nb.cell(nb.find_cell('predict("00.p1")'))
        predict_cell.locator(".widget-toggle-buttons button", has_text="2").click()
        _wait_text(lambda: predict_cell.inner_text(), lambda t: "Прогноз записан: «2»" in t, 15)
        revealed = nb.run_cell(nb.find_cell('reveal("00.p1"'))
        assert "Результат опыта: 2" in revealed and "Ваш прогноз: «2» — ✅ верно" in revealed, revealed
        assert "Почему так:" in revealed and "litellm.cache is None" in revealed, revealed

        # 0.7: choose a model and a fault, press «Отправить», see what came back and what the provider saw.
        panel_cell = nb.cell(nb.find_cell("FirstRequestPanel("))
        result = panel_cell.locator(".widget-html").first
        fault = panel_cell.locator(".widget-dropdown", has_text="Сбой").locator("select")
        button = panel_cell.locator("button.widget-button", has_text="Отправить")
        for choice, expected in (("без сбоя", "Python"), ("429 — лимит запросов", "RateLimitError")):
            fault.select_option(label=choice)
            before = result.inner_html()
            button.click()
            text = _wait_text(lambda: result.inner_html(), lambda t: t != before)
            assert expected in text, f"after «{choice}» the panel shows: {result.inner_text()}"
            assert "запросов к модели у провайдера" in text

        # 0.5 / Задание 0.1: the stub says "not solved yet"; a typical wrong answer gets a Russian hint;
        # the solution from the collapsed block at the end of the lesson passes; progress() shows it solved.
        stub, checker = nb.find_cell("def first_call("), nb.find_cell('check("00.1"')
        assert "ещё не решено" in nb.output_text(checker)
        solution = _solution(nb.source(nb.find_cell("## Решения заданий", "markdown")), "00.1")
        assert "def first_call(" in solution and "return response.choices[0].message.content" in solution, solution
        nb.set_source(stub, solution.replace("return response.choices[0].message.content", "return response"))
        nb.run_cell(stub)
        wrong = nb.run_cell(checker)
        assert "❌" in wrong and "вернуть текст ответа (str)" in wrong and "hint('00.1')" in wrong, wrong
        nb.set_source(stub, solution)
        nb.run_cell(stub)
        right = nb.run_cell(checker)
        assert "✅" in right and "Первый запрос" in right, right
        assert "решено" in nb.run_cell(nb.find_cell('progress("00")'))
        nb.screenshot(artifacts / "00_start-first-hour.png")  # the panel still live, the exercise solved
        shot = True

        # Тест: pick an option of the first question, press its «Ответить», read the verdict and explanation.
        quiz_cell = nb.cell(nb.find_cell('quiz("00")'))
        first_question = quiz_cell.locator(".widget-vbox", has_text="Где в ответе litellm.completion").last
        first_question.locator(".widget-radio-box label", has_text="response.choices[0].message.content").click()
        first_question.locator("button.widget-button", has_text="Ответить").click()
        verdict = _wait_text(lambda: first_question.inner_text(), lambda t: "верно" in t, 15)
        assert "✅ верно." in verdict and "choices" in verdict, verdict
        progress_text = nb.run_cell(nb.find_cell('progress("00")'))
        assert "Тест: отвечено 1 из 6, верно с первой попытки — 1." in progress_text, progress_text
        assert "Прогнозы: сделано 1 из 3, верных — 1." in progress_text, progress_text
        nb.screenshot(artifacts / "00_start-prediction.png")  # the prediction revealed, the quiz answered

        # 0.9: Kernel → Restart, then the start_lesson cell: the old provider is gone, a new one answers.
        assert _answers(first_url)
        nb.restart_kernel()
        assert not _wait_text(lambda: _answers(first_url), lambda up: not up, 10), \
            f"the practice provider {first_url} outlived its kernel"
        again = nb.run_cell(setup)
        assert "Режим: офлайн" in again and _answers(URL.search(again)[1]), again
    finally:
        if not shot:
            nb.screenshot(artifacts / "00_start-first-hour.png")
        nb.shutdown_kernel()
