"""Nothing that looks like a real API key is tracked by git, in sources or notebook outputs."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEY = re.compile(r"sk-(?:or-v1-|proj-|ant-)?[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}|xox[bp]-[0-9A-Za-z-]{20,}")


def tracked_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [ROOT / p for p in out.decode().split("\0") if p]


def test_no_api_keys_in_tracked_files() -> None:
    files = tracked_files()
    assert any(f.suffix == ".ipynb" for f in files)
    hits = []
    for f in files:
        if f.is_file():
            for m in KEY.finditer(f.read_text(encoding="utf-8", errors="ignore")):
                hits.append(f"{f.relative_to(ROOT)}: {m.group()[:8]}…")
    assert not hits, hits


def test_the_pattern_would_catch_a_key() -> None:
    assert KEY.search("OPENROUTER_API_KEY=sk-or-v1-" + "a1" * 16)
    assert not KEY.search("practice-key-litellm-course")


def test_env_file_is_git_ignored() -> None:
    result = subprocess.run(["git", "check-ignore", ".env"], cwd=ROOT, capture_output=True)
    assert result.returncode == 0
