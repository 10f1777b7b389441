"""scripts/canary_report.py: the canary's report reads what it is given (JUnit XML, the lock, the venv)."""

from __future__ import annotations

import importlib.util
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("canary_report", ROOT / "scripts" / "canary_report.py")
canary_report = importlib.util.module_from_spec(spec)
spec.loader.exec_module(canary_report)

HEAD = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">"""
CLAIMS = HEAD + """
<testcase classname="tests.test_claims_01" name="test_disk_cache_exists" time="1"/>
<testcase classname="tests.test_claims_01" name="test_ttl_expires" time="1"><failure message="assert 2 == 1">boom</failure></testcase>
<testcase classname="tests.test_claims_05" name="test_router_retries" time="1"><error message="ImportError"/></testcase>
<testcase classname="tests.conftest" name="not_a_claim" time="1"/>
</testsuite></testsuites>"""
NOTEBOOKS = HEAD + """
<testcase classname="notebooks.08_gateway.ipynb" name="Cell 3" time="1"><failure message="Notebook cell execution failed">
Cell 3: Cell outputs differ
-litellm 1.108.14 · openai 3.63.0
+litellm 1.108.14 · openai 3.64.0
</failure></testcase>
<testcase classname="notebooks.08_gateway.ipynb" name="Cell 4" time="1"/>
</testsuite></testsuites>"""


def test_the_report_counts_claims_per_lesson_and_shows_notebook_differences(tmp_path: Path) -> None:
    claims_xml, notebooks_xml = tmp_path / "claims.xml", tmp_path / "notebooks.xml"
    claims_xml.write_text(CLAIMS, encoding="utf-8")
    notebooks_xml.write_text(NOTEBOOKS, encoding="utf-8")
    claims = canary_report.claim_lines(claims_xml)
    assert claims[0] == "Claims (tests/test_claims_*.py): 1 hold, 2 changed"
    assert "  lesson 01: 1 hold, 1 changed" in claims and "      changed: test_ttl_expires" in claims
    assert "      changed: test_router_retries" in claims  # an error is a changed claim too
    cells = canary_report.notebook_lines(notebooks_xml)
    assert cells[0].endswith("1 of 2 cells would change")
    assert "      -litellm 1.108.14 · openai 3.63.0" in cells and "      +litellm 1.108.14 · openai 3.64.0" in cells


def test_the_locked_environment_reports_no_package_changes() -> None:
    """The tests run in the locked .venv (test_lock.py), so against the lock nothing differs; a lock
    with one pin changed shows that package."""
    lines = canary_report.package_changes(ROOT / "requirements.lock")
    assert all(line.split()[1] == "—" for line in lines[1:]), lines  # at most packages installed by hand


def test_a_different_pin_is_reported(tmp_path: Path) -> None:
    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    changed = tmp_path / "requirements.lock"
    changed.write_text(lock.replace("\nopenai==", "\nopenai==0.0.1\n#openai=="), encoding="utf-8")
    lines = canary_report.package_changes(changed)
    assert [line for line in lines[1:] if line.split()[1] != "—"] == [f"  openai 0.0.1 → {version('openai')}"], lines
