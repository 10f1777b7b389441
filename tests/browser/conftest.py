"""Fixtures of the browser tests: Debian's Chromium through Playwright, and JupyterLab.

The tests run with everything else (``bash scripts/test.sh``; ``scripts/setup.sh --browser``
installs Chromium from apt). A missing Chromium is a failure, not a skip: CI installs it,
so a silent skip would hide that the widgets were never checked. Screenshots go to
``test-artifacts/browser/`` (git-ignored); the folder is printed at the end of the run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.suite_plugin import session_started_at

from .lab import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, LabServer

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
ARTIFACTS = ROOT / "test-artifacts" / "browser"


def _missing_chromium() -> str | None:
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return (f"Chromium not found at {CHROMIUM}: the browser tests need it. Install it with "
                "`bash scripts/setup.sh --browser` (apt-get install -y chromium) or point COURSE_CHROMIUM "
                "at a Chromium binary. Never `playwright install`.")
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "The playwright package is missing: bash scripts/setup.sh (it is in requirements.txt)."
    return None


@pytest.fixture(scope="package")
def artifacts(request: pytest.FixtureRequest) -> Path:
    """The screenshot folder, emptied of the previous run's pictures (not of this run's: parallel
    workers share the folder, and a worker may set this fixture up again later in the run)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    started = session_started_at(request.config)
    for old in ARTIFACTS.glob("*.png"):
        if old.stat().st_mtime < started:
            old.unlink(missing_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="package")
def browser() -> Iterator[object]:
    """Headless Debian Chromium (fails with instructions if it is not installed).

    Package scope, not session: Playwright's sync API keeps an asyncio loop running in the
    main thread while it is open, which would break every later test that calls asyncio.run.
    """
    problem = _missing_chromium()
    if problem:
        pytest.fail(problem, pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    """A fresh browser context (no cookies, storage or workspace) per test."""
    context = browser.new_context(viewport=VIEWPORT, locale="ru-RU")
    context.set_default_timeout(30_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(scope="package")
def start_lab() -> Iterator[Callable[..., LabServer]]:
    """Start JupyterLab servers (on the notebooks folder unless told; ``env``: extra environment for the
    server and its kernels); every one is stopped at session end."""
    servers: list[LabServer] = []
    homes: list[str] = []

    def start(disabled_extensions: tuple[str, ...] = (), root_dir: Path = NOTEBOOKS,
              env: dict[str, str] | None = None) -> LabServer:
        home = tempfile.mkdtemp(prefix="course-lab-")
        homes.append(home)
        server = LabServer(root_dir=root_dir, home=Path(home), disabled_extensions=disabled_extensions,
                           extra_env=env or {})
        servers.append(server)
        server.start()
        return server

    try:
        yield start
    finally:
        for server in servers:
            server.stop()
        for home in homes:
            shutil.rmtree(home, ignore_errors=True)


# What a JupyterLab on a sandboxed copy of the repo passes to its kernels (``restart_run.make_sandbox``).
SANDBOX_ENV = ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "COURSE_STATE_DIR")


def lab_on_sandbox(start_lab: Callable[..., LabServer], repo: Path, env: dict[str, str]) -> LabServer:
    """A JupyterLab serving the sandbox's ``notebooks/``, whose kernels import the sandbox's course and share
    its course state (the second run of Restart & Run All). Stop it with ``server.stop()``."""
    return start_lab(root_dir=repo / "notebooks", env={name: env[name] for name in SANDBOX_ENV})


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    started = session_started_at(config)
    shots = [shot for shot in sorted(ARTIFACTS.glob("*.png")) if shot.stat().st_mtime >= started]
    if shots:
        terminalreporter.write_line(f"Browser screenshots ({len(shots)}): {ARTIFACTS}")
