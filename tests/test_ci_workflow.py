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

import pytest
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
    cached = cache["with"]["path"].split()
    assert cached == [job["env"]["PIP_CACHE_DIR"], job["env"]["UV_CACHE_DIR"]]  # pip and uv write where it reads
    assert "hashFiles('requirements.lock')" in cache["with"]["key"]  # a new lock, a new cache


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



def test_ci_run_works_in_a_checkout_that_belongs_to_another_user(tmp_path: Path) -> None:
    """A CI container's workspace belongs to the runner's user while the steps run as root: git refuses it
    ("dubious ownership") unless .ci/run marks it safe. Reproduced on a clone whose top folder belongs to
    `nobody`, with .ci/run's test command replaced by a probe that runs the git calls the suite makes
    (test_secrets' ``ls-files`` and ``check-ignore``, the grader's repository copy)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to give the clone another owner (CI runs as root)")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "1", ROOT.as_uri(), str(clone)], check=True)
    (clone / ".ci" / "run").write_text((ROOT / ".ci" / "run").read_text(encoding="utf-8"), encoding="utf-8")
    (clone / "scripts" / "test.sh").write_text(
        "set -e\n"
        "git ls-files -z --cached --others --exclude-standard | tr '\\0' '\\n' | grep -qx .ci/run\n"
        "git check-ignore -q .env\n"
        "echo GIT-OK\n", encoding="utf-8")
    os.chown(clone, 65534, 65534)
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_CONFIG") and k != "XDG_CONFIG_HOME"}
    env.update(HOME=str(home), GIT_CONFIG_NOSYSTEM="1")  # no global or system config marks it safe
    refused = subprocess.run(["git", "ls-files"], cwd=clone, env=env, capture_output=True, text=True)
    assert refused.returncode == 128 and "dubious ownership" in refused.stderr  # the negative control
    ran = subprocess.run(["bash", ".ci/run"], cwd=clone, env=env, capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0 and ran.stdout.strip() == "GIT-OK", ran.stdout + ran.stderr
    assert not (home / ".gitconfig").exists()  # marked through the environment, nobody's config written


def test_the_canary_workflow_reports_drift_without_failing_ci() -> None:
    """.github/workflows/canary.yml: weekly and by hand only (never on push or pull request), runs
    scripts/canary.sh, keeps its report; the script itself exits 0 once the report is written."""
    data = yaml.safe_load((ROOT / ".github" / "workflows" / "canary.yml").read_text(encoding="utf-8"))
    data["on"] = data.pop(True, data.get("on"))
    assert set(data["on"]) == {"schedule", "workflow_dispatch"}
    (job,) = data["jobs"].values()
    assert job["container"]["image"] == "debian:12"
    commands = [step["run"] for step in job["steps"] if "run" in step]
    assert commands[-1] == "bash scripts/setup.sh && bash scripts/canary.sh"
    upload = next(step for step in job["steps"] if step.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["if"] == "always()" and ".canary-venv/report.txt" in upload["with"]["path"].split()
    canary = (ROOT / "scripts" / "canary.sh").read_text(encoding="utf-8")
    assert "--upgrade" in canary and "|| true" in canary  # newest allowed versions; failing tests are the report
    subprocess.run(["bash", "-n", str(ROOT / "scripts" / "canary.sh")], check=True)
