"""The canary's report (scripts/canary.sh): run in the canary's venv, it compares that venv's packages
with requirements.lock and summarises the JUnit XML of the claim tests (per lesson) and of nbval over the
stored notebooks (per cell, with the first lines of each difference)."""

from __future__ import annotations

import argparse
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from datetime import date
from importlib.metadata import distributions
from pathlib import Path

from packaging.utils import canonicalize_name

from course_helpers.diagnostics import locked_here

def package_changes(lock: Path) -> list[str]:
    pins = locked_here(lock)
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in distributions()}
    installed.pop("litellm-course-helpers", None)  # the course itself (-e .)
    for seed in ("pip", "setuptools", "wheel"):  # the venv's own, not the course's
        if seed not in pins:
            installed.pop(seed, None)
    lines = [f"  {name} {pins.get(name, '—')} → {installed.get(name, '—')}"
             for name in sorted(set(pins) | set(installed)) if pins.get(name) != installed.get(name)]
    return [f"Packages: {len(lines)} differ from requirements.lock ({len(pins)} pinned here)", *lines]


def cases(path: Path) -> list[ET.Element]:
    return list(ET.parse(path).getroot().iter("testcase"))


def broken(case: ET.Element) -> ET.Element | None:
    return case.find("failure") if case.find("failure") is not None else case.find("error")


def claim_lines(path: Path) -> list[str]:
    lessons: dict[str, dict[str, list[str]]] = defaultdict(lambda: {"holds": [], "changed": []})
    for case in cases(path):
        lesson = re.search(r"test_claims_(\d\d|openrouter)", case.get("classname", "") + case.get("file", ""))
        if lesson and case.find("skipped") is None:
            lessons[lesson.group(1)]["changed" if broken(case) is not None else "holds"].append(
                case.get("name", "?"))
    holds = sum(len(v["holds"]) for v in lessons.values())
    changed = sum(len(v["changed"]) for v in lessons.values())
    lines = [f"Claims (tests/test_claims_*.py): {holds} hold, {changed} changed"]
    for key in sorted(lessons):
        lines.append(f"  lesson {key}: {len(lessons[key]['holds'])} hold, {len(lessons[key]['changed'])} changed")
        lines += [f"      changed: {name}" for name in lessons[key]["changed"]]
    return lines


def notebook_lines(path: Path) -> list[str]:
    all_cases = cases(path)
    failed = [(case, broken(case)) for case in all_cases if broken(case) is not None]
    lines = [f"Stored notebook outputs (nbval): {len(failed)} of {len(all_cases)} cells would change"]
    for case, failure in failed:
        where = f"{case.get('classname', '')}::{case.get('name', '')}".strip(":")
        text = (failure.get("message", "") + "\n" + (failure.text or "")).strip()
        diff = [line for line in text.splitlines() if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))]
        lines.append(f"  {where}")
        lines += [f"      {line[:150]}" for line in (diff or text.splitlines())[:8]]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lock", type=Path, required=True)
    parser.add_argument("--claims", type=Path, required=True)
    parser.add_argument("--notebooks", type=Path)
    args = parser.parse_args()
    print(f"Canary {date.today()}: the newest versions requirements*.txt allow, against {args.lock}")
    sections = [package_changes(args.lock), claim_lines(args.claims)]
    if args.notebooks:
        sections.append(notebook_lines(args.notebooks))
    print("\n\n".join("\n".join(section) for section in sections))


if __name__ == "__main__":
    main()
