"""Disk cache safety: concurrent writers from two processes, and a corrupted cache folder."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import litellm
import pytest

from course_helpers import setup_caching
from course_helpers.practice_data import answer_for

WRITER = """
import json, sys
from course_helpers import start_lesson, setup_caching
import litellm
start_lesson("00", quiet=True, latency_scale=0)
setup_caching("disk", sys.argv[1])
who, out = sys.argv[2], []
for i in range(60):
    prompt = f"общий вопрос {i % 20}" if i % 2 else f"вопрос процесса {who} #{i}"
    r = litellm.completion(model="openrouter/openai/gpt-4o-mini", messages=[{"role": "user", "content": prompt}])
    out.append([prompt, r.choices[0].message.content, bool(r._hidden_params.get("cache_hit"))])
print(json.dumps(out, ensure_ascii=False))
"""


def test_two_processes_write_one_disk_cache(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), who], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for who in "AB"]
    outputs = [p.communicate(timeout=180) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-500:] for o in outputs]
    rows = [row for out, _ in outputs for row in json.loads(out.strip().splitlines()[-1])]
    assert len(rows) == 120
    for prompt, text, _ in rows:
        assert text == answer_for(prompt)  # no wrong answer served, hit or miss
    assert any(hit for *_, hit in rows)  # the shared prompts were served from the cache
    with sqlite3.connect(tmp_path / "cache.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_corrupted_cache_gives_russian_message_and_reset_is_the_way_out(provider, tmp_path) -> None:
    provider.set_latency_scale(0)
    folder = tmp_path / "cache"
    folder.mkdir()
    (folder / "cache.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(RuntimeError, match="повреждён.*reset=True"):
        setup_caching("disk", folder)
    try:
        setup_caching("disk", folder, reset=True)
        m = [{"role": "user", "content": "после сброса кэша"}]
        litellm.completion(model="openrouter/openai/gpt-4o-mini", messages=m)
        hit = litellm.completion(model="openrouter/openai/gpt-4o-mini", messages=m)
    finally:
        litellm.disable_cache()
    assert hit._hidden_params.get("cache_hit") is True
