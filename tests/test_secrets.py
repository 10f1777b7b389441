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


def test_dotenv_is_found_upwards_from_the_notebooks_folder(tmp_path, monkeypatch) -> None:
    """JupyterLab runs notebooks in notebooks/ and hides dotfiles: a .env one folder up must be found."""
    from course_helpers.session import find_dotenv, read_dotenv

    (tmp_path / ".env").write_text("COURSE_MODE=online\n", encoding="utf-8")
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    assert find_dotenv() == tmp_path / ".env"
    assert read_dotenv() == {"COURSE_MODE": "online"}


def test_going_online_leaves_no_practice_key_for_other_services(tmp_path) -> None:
    """Offline sets OPENAI_API_KEY to the practice key; online must not keep it (openai/ calls would
    carry it to the real OpenAI), and the practice provider's process never holds a real key."""
    import json
    import os
    import sys

    real = "real-key-typed-by-the-learner"
    standin = subprocess.Popen([sys.executable, "-m", "course_helpers.practice", "--port", "0", "--ready-json",
                                "--parent-watch", "--latency-scale", "0", "--key", real],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        online = json.loads(standin.stdout.readline())["url"] + "/api/v1"
        code = ("import os, json\nfrom course_helpers import start_lesson\nfrom course_helpers.session import stop_lesson\n"
                "c = start_lesson('00', quiet=True)\nstop_lesson()\n"
                f"os.environ['COURSE_MODE'] = 'online'\nos.environ['OPENROUTER_API_KEY'] = {real!r}\n"
                "c = start_lesson('00', quiet=True)\n"
                "pid = c.provider.process.pid\n"
                "env = open(f'/proc/{pid}/environ', 'rb').read().decode()\n"
                "kids = open(f'/proc/{pid}/task/{pid}/children').read().split()\n"
                "env += ''.join(open(f'/proc/{k}/environ', 'rb').read().decode() for k in kids)\n"
                "print(json.dumps({'mode': c.mode, 'openai_key': os.environ.get('OPENAI_API_KEY'),\n"
                "                  'key_in_provider': 'real-key' in env}))\n")
        env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k != "COURSE_MODE"}
        env["COURSE_ONLINE_BASE"] = online
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60,
                              cwd=tmp_path)
        assert done.returncode == 0, done.stderr[-2000:]
        result = json.loads(done.stdout.strip().splitlines()[-1])
        assert result == {"mode": "online", "openai_key": None, "key_in_provider": False}
    finally:
        standin.kill()
        standin.wait()


def test_redis_password_is_never_printed(monkeypatch) -> None:
    from course_helpers import diagnostics
    from course_helpers.redis_server import RedisUnavailable, redact, redis_url

    assert redact("redis://:s3cret@127.0.0.1:6390/0") == "redis://:***@127.0.0.1:6390/0"
    assert redact("redis://user:s3cret@host:6379") == "redis://user:***@host:6379"
    assert redact("redis://127.0.0.1:6379") == "redis://127.0.0.1:6379"
    monkeypatch.setenv("REDIS_URL", "redis://:s3cret@127.0.0.1:9")
    try:
        redis_url()
    except RedisUnavailable as e:
        assert "s3cret" not in str(e) and "***" in str(e)
    assert "s3cret" not in diagnostics._redis_item().detail
