"""The hosted-CI workflow (.github/workflows/ci.yml) is valid and stays a thin wrapper around .ci/run.

GitHub cannot be reached from here, so this checks what can be checked offline: the YAML parses
into a workflow GitHub accepts (triggers, one job, steps that each either run a command or use an
action, pinned major versions), the job runs on the platform the course is measured on, the only
command of substance is ``.ci/run``, and what the workflow leaves to .ci/run and setup.sh is really
there (the apt packages, Python for a bare image).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


def load() -> dict:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


def test_workflow_is_a_valid_github_workflow() -> None:
    data = load()
    assert set(data["on"]) >= {"push", "pull_request"}
    assert data["permissions"] == {"contents": "read"}
    (name, job), = data["jobs"].items()
    assert re.fullmatch(r"[A-Za-z_][\w-]*", name)
    assert job["runs-on"].startswith("ubuntu-") and int(job["timeout-minutes"]) >= 60
    for step in job["steps"]:
        assert ("run" in step) != ("uses" in step), step  # each step does exactly one thing
        assert set(step) <= {"name", "run", "uses", "with", "if", "env", "shell", "id"}, step
        if "uses" in step:
            assert re.fullmatch(r"actions/[\w-]+@v\d+", step["uses"]), step["uses"]


def test_workflow_is_a_thin_wrapper_around_ci_run() -> None:
    job = next(iter(load()["jobs"].values()))
    assert job["container"]["image"] == "debian:12"  # the platform of the README's measurements
    assert "--privileged" in job["container"]["options"]  # bubblewrap needs namespaces in the container
    commands = [step["run"].strip() for step in job["steps"] if "run" in step]
    assert commands[-1] == "bash .ci/run"
    assert all(re.fullmatch(r"apt-get update -qq && apt-get install -y -qq git ca-certificates", c)
               for c in commands[:-1]), commands  # only what the checkout itself needs
    uses = [step["uses"].split("@")[0] for step in job["steps"] if "uses" in step]
    assert uses[:2] == ["actions/checkout", "actions/cache"]
    cache = next(step for step in job["steps"] if step.get("uses", "").startswith("actions/cache"))
    assert cache["with"]["path"] == job["env"]["PIP_CACHE_DIR"]  # pip writes where the cache reads
    assert "hashFiles('requirements.txt'" in cache["with"]["key"]


def test_what_the_workflow_leaves_to_ci_run_is_there() -> None:
    ci_run = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    setup = (ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
    assert os.access(ROOT / ".ci" / "run", os.X_OK)
    assert "python3-venv" in ci_run and "bash scripts/test.sh" in ci_run
    test_sh = (ROOT / "scripts" / "test.sh").read_text(encoding="utf-8")
    # the full run (what CI runs) installs the browser; only --quick leaves it out
    assert "setup_args=(--browser)" in test_sh and 'bash scripts/setup.sh "${setup_args[@]}"' in test_sh
    for package in ("redis-server", "chromium", "bubblewrap", "fonts-noto-color-emoji"):
        assert re.search(rf"apt_install \S+ {package}\b", setup), package
    for script in (ROOT / ".ci" / "run", ROOT / "scripts" / "setup.sh", ROOT / "scripts" / "test.sh"):
        subprocess.run(["bash", "-n", str(script)], check=True)

