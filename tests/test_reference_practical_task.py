"""The reference solution of lesson 07's practical task runs end to end and passes every check."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "reference_practical_task.py"


def test_reference_practical_task_script_passes() -> None:
    done = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=300)
    out = done.stdout
    assert done.returncode == 0, out[-3000:] + done.stderr[-2000:]
    assert "[FAIL]" not in out and "Все проверки пройдены." in out
    for step in ("Шаг 1.", "Шаг 2.", "Шаг 3.", "Шаг 4.", "Шаг 5.", "новый процесс: n = 1", "отношение медиан ×"):
        assert step in out
    assert out.count("[OK] 07.") == 7
    assert "фолбэк при 503" in out and "фолбэк при 401" in out and "фолбэк при 429" in out
