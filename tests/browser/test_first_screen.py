"""The first screen: README command 1 (``bash scripts/lab.sh``) as a learner runs it.

The link it prints opens lesson 00 itself (not the Launcher), the file browser shows the
lessons (not the authors' ``src`` folder), and no "official Jupyter news?" pop-up covers
the page. A screenshot of that screen goes to ``test-artifacts/browser/first-screen.png``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from .conftest import ROOT
from .lab import _free_port

LINK = re.compile(r"(http://127\.0\.0\.1:\d+/lab/tree/00_start\.ipynb\?token=[0-9a-f]+)")


def test_readme_command_1_opens_lesson_00(page, artifacts: Path) -> None:
    home = Path(tempfile.mkdtemp(prefix="course-first-screen-"))
    checkpoints = ROOT / "notebooks" / ".ipynb_checkpoints"
    had_checkpoints = checkpoints.exists()
    env = {**os.environ, "COURSE_LAB_PORT": str(_free_port()), "JUPYTER_CONFIG_DIR": str(home / "config"),
           "JUPYTER_DATA_DIR": str(home / "data"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
           "IPYTHONDIR": str(home / "ipython"), "JUPYTER_PLATFORM_DIRS": "1"}
    log = home / "lab.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(["bash", "scripts/lab.sh", "--no-browser",
                                    f"--LabApp.workspaces_dir={home / 'workspaces'}",
                                    f"--LabApp.user_settings_dir={home / 'settings'}"],
                                   cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline, link = time.monotonic() + 180, None
        while link is None and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.5)
            found = LINK.search(log.read_text(encoding="utf-8", errors="replace"))
            link = found[1] if found else None
        assert link, f"lab.sh printed no link to lesson 00:\n{log.read_text(errors='replace')[-3000:]}"
        text = log.read_text(encoding="utf-8")
        assert "во втором терминале" in text and "Ctrl+C" in text

        page.goto(link)
        page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=60_000)
        active = page.locator(".lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel").all_inner_texts()
        assert "00_start.ipynb" in active, f"the active tab is {active}, not lesson 00"
        assert page.locator(".jp-Launcher").count() == 0, "the Launcher is shown instead of the lesson"
        names = page.locator(".jp-DirListing-item .jp-DirListing-itemText").all_inner_texts()
        assert "00_start.ipynb" in names and "07_practical_task.ipynb" in names, names
        assert "src" not in names, f"the authors' sources are listed first: {names}"
        time.sleep(3)  # the news question used to pop up a moment after the page loaded
        assert page.get_by_text(re.compile("Jupyter news|новост", re.I)).count() == 0, "a news pop-up is shown"
        page.screenshot(path=str(artifacts / "first-screen.png"))
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGKILL)
        if not had_checkpoints:  # opening the lesson made JupyterLab write a checkpoint into the repository
            shutil.rmtree(checkpoints, ignore_errors=True)
