"""Where the test suite's time goes: measured, per stage and per notebook (not a test).

    .venv/bin/python scripts/suite_timings.py                  # run the suite as CI does, then report
    .venv/bin/python scripts/suite_timings.py --quick          # the same for the quick tier
    .venv/bin/python scripts/suite_timings.py -- tests/test_practice.py -n 0   # extra pytest arguments
    .venv/bin/python scripts/suite_timings.py REPORT.xml       # report on an existing JUnit XML file

Running the suite goes through ``scripts/test.sh`` (setup, then pytest with its options) with a
JUnit XML report added; ``scripts/test.sh`` writes the setup's wall time as a property of that
report. Every number printed is read from the report: the run's wall time, the setup time,
and each test's time (setup + call + teardown of the test, as pytest measures it).

With parallel workers (pytest-xdist) tests overlap, so the test times of a stage add up to
more than the wall time it took: the report shows the sum ("test time") and, for the whole
run, the ratio of test time to wall time (how many tests ran at once on average).

When it runs the suite, it also samples every process's CPU time (``/proc/PID/stat``, twice a
second) and prints the CPU the run used by kind of process (kernels, proxy replicas, Chromium…):
on 2 CPUs the suite is bound by the processor, so CPU seconds / 2 is a floor for its wall time.
Processes that live under half a second between two samples are missed; the table is a lower bound.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REPORT = ROOT / "test-artifacts" / "suite-timings.xml"
LESSON = re.compile(r"\b(\d\d_[a-z_]+)")
LESSON_NUMBER = re.compile(r"_(\d\d)(?:_|\b)")

# (stage, test modules or folders it is made of); the first match wins, the rest is "other".
STAGES: list[tuple[str, tuple[str, ...]]] = [
    ("nbval", ("notebooks.",)),
    ("restart-run-all", ("tests.test_restart_run_all",)),  # the negative control (nbval twice)
    # Restart & Run All twice: nbval, then JupyterLab (lesson 00: in the first-hour test)
    ("nbval + JupyterLab", ("tests.browser.test_notebooks_in_browser", "tests.browser.test_first_hour")),
    ("browser", ("tests.browser.",)),
    ("online notebooks", ("tests.test_online_notebooks",)),
    ("claims", ("tests.test_claims_",)),
    ("checkers", ("tests.test_checkers_", "tests.test_exercises", "tests.test_solutions_paste",
                  "tests.test_reference_practical_task", "tests.test_learner_errors")),
    ("provider/fuzz/soak", ("tests.test_practice", "tests.test_fuzz_provider", "tests.test_soak",
                            "tests.test_provider_hardening", "tests.test_conformance",
                            "tests.test_process_lifecycle")),
]


class Case(NamedTuple):
    stage: str
    unit: str  # the notebook (or lesson, or test module) the time belongs to
    name: str
    seconds: float
    outcome: str


def stage_of(classname: str) -> str:
    for stage, prefixes in STAGES:
        if classname.startswith(prefixes):
            return stage
    return "other"


def unit_of(stage: str, classname: str, name: str) -> str:
    """Notebook for notebook stages, lesson number for claims/checkers, else the test module."""
    if stage == "nbval":
        return classname.removeprefix("notebooks.").removesuffix(".ipynb")
    if stage in ("restart-run-all", "nbval + JupyterLab", "browser", "online notebooks"):
        found = LESSON.search(name)
        return found.group(1) if found else f"({name.split('[')[0]})"
    if stage in ("claims", "checkers"):
        found = LESSON_NUMBER.search(classname.rsplit(".", 1)[-1])
        return f"lesson {found.group(1)}" if found else classname.rsplit(".", 1)[-1]
    return classname.rsplit(".", 1)[-1]


def read_report(path: Path) -> tuple[list[Case], dict[str, str], float]:
    """Test cases, the suite's properties and its wall time (seconds) from a JUnit XML file."""
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    cases, properties, wall = [], {}, 0.0
    for suite in suites:
        wall += float(suite.get("time", 0))
        properties |= {p.get("name", ""): p.get("value", "") for p in suite.iter("property")
                       if p.get("name", "").startswith("suite_")}
        for case in suite.iter("testcase"):
            classname, name = case.get("classname", ""), case.get("name", "")
            outcome = next((child.tag for child in case if child.tag in ("failure", "error", "skipped")), "passed")
            stage = stage_of(classname)
            cases.append(Case(stage, unit_of(stage, classname, name), f"{classname}::{name}",
                              float(case.get("time", 0)), outcome))
    return cases, properties, wall


def fmt(seconds: float) -> str:
    return f"{seconds:7.1f} s" if seconds < 120 else f"{seconds:7.1f} s ({seconds / 60:.1f} min)"


def report(cases: list[Case], properties: dict[str, str], wall: float, top: int) -> str:
    lines = []
    machine = properties.get("suite_machine") or f"{platform.node()}, {os.cpu_count()} CPU"
    lines.append(f"Suite timings — {properties.get('suite_date', '?')}, {machine}")
    if properties.get("suite_command"):
        lines.append(f"command: {properties['suite_command']}")
    if properties.get("suite_loadavg"):
        lines.append(f"load average at start / end: {properties['suite_loadavg']} / "
                     f"{properties.get('suite_loadavg_end', '?')}")
    setup = float(properties["suite_setup_seconds"]) if "suite_setup_seconds" in properties else None
    outcomes = defaultdict(int)
    for case in cases:
        outcomes[case.outcome] += 1
    total_test = sum(c.seconds for c in cases)
    lines.append("")
    lines.append(f"setup (scripts/setup.sh: apt, .venv, kernel): {fmt(setup) if setup is not None else '  not in this report'}")
    lines.append(f"pytest wall time:                             {fmt(wall)}")
    if setup is not None:
        lines.append(f"total (setup + pytest):                       {fmt(setup + wall)}")
    lines.append(f"tests: {len(cases)} ({', '.join(f'{n} {k}' for k, n in sorted(outcomes.items()))}); "
                 f"test time {total_test:.1f} s = {total_test / wall if wall else 0:.2f} × wall time")

    by_stage: dict[str, list[Case]] = defaultdict(list)
    for case in cases:
        by_stage[case.stage].append(case)
    lines.append("")
    lines.append(f"{'stage':<20} {'tests':>6} {'test time':>12} {'share':>6}")
    for stage, items in sorted(by_stage.items(), key=lambda kv: -sum(c.seconds for c in kv[1])):
        seconds = sum(c.seconds for c in items)
        lines.append(f"{stage:<20} {len(items):>6} {seconds:>10.1f} s {100 * seconds / total_test if total_test else 0:>5.0f}%")
    lines.append(f"{'all':<20} {len(cases):>6} {total_test:>10.1f} s")

    for stage, items in sorted(by_stage.items(), key=lambda kv: -sum(c.seconds for c in kv[1])):
        units: dict[str, list[Case]] = defaultdict(list)
        for case in items:
            units[case.unit].append(case)
        lines.append("")
        lines.append(f"{stage} — {sum(c.seconds for c in items):.1f} s")
        ranked = sorted(units.items(), key=lambda kv: -sum(c.seconds for c in kv[1]))
        for unit, unit_cases in ranked[:top]:
            lines.append(f"  {unit:<40} {sum(c.seconds for c in unit_cases):>8.1f} s  ({len(unit_cases)} tests)")
        if len(ranked) > top:
            rest = [c for _, cs in ranked[top:] for c in cs]
            lines.append(f"  {f'… {len(ranked) - top} more':<40} {sum(c.seconds for c in rest):>8.1f} s  ({len(rest)} tests)")

    lines.append("")
    lines.append("slowest tests:")
    for case in sorted(cases, key=lambda c: -c.seconds)[:top]:
        lines.append(f"  {case.seconds:>7.1f} s  {case.name}")
    return "\n".join(lines)


# (kind, substring of the command line); the first match wins.
PROCESS_KINDS: list[tuple[str, str]] = [
    ("pytest-xdist workers", "exec(eval(sys.stdin"),
    ("kernels", "ipykernel"),
    ("proxy replicas (lesson 08)", "litellm.proxy.proxy_cli"),
    ("practice providers", "course_helpers.practice"),
    ("guards", "course_helpers.guard"),
    ("JupyterLab servers", "jupyterlab"),
    ("Chromium", "chrom"),
    ("nbval runs (Restart & Run All)", "-p tests.nbval_record"),
    ("pytest controller", "-m pytest"),
    ("grader runners", "grade_runner"),
    ("redis-server", "redis-server"),
    ("pip (setup)", "pip"),
    ("python -c scripts (claims, checkers)", " -c "),
]


class CpuSampler(threading.Thread):
    """CPU seconds (user + system) of every process seen while it runs, by kind of process."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.seen: dict[str, tuple[float, str]] = {}  # "pid:start time" -> (CPU s, command line)
        self.done = threading.Event()
        self.tick = os.sysconf("SC_CLK_TCK")
        self._sample()
        self.before = {key: cpu for key, (cpu, _) in self.seen.items()}  # processes older than the run

    def run(self) -> None:
        while not self.done.wait(0.5):
            self._sample()

    def _sample(self) -> None:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                fields = stat[stat.rindex(")") + 2:].split()
                key, cpu = f"{entry.name}:{fields[19]}", (int(fields[11]) + int(fields[12])) / self.tick
                command = self.seen[key][1] if key in self.seen else \
                    (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except (OSError, ValueError, IndexError):
                continue
            self.seen[key] = (max(cpu, self.seen.get(key, (0.0, ""))[0]), command)

    def table(self, wall: float) -> str:
        kinds: dict[str, list[float]] = defaultdict(list)
        for key, (cpu, command) in self.seen.items():
            used = cpu - self.before.get(key, 0.0)
            if key in self.before and used <= 0:
                continue  # an older process that did nothing meanwhile
            kind = next((k for k, part in PROCESS_KINDS if part in command), "other")
            kinds[kind].append(used)
        total = sum(sum(v) for v in kinds.values())
        cores = os.cpu_count() or 1
        lines = [f"CPU used by the run: {total:.0f} CPU-s over {wall:.0f} s on {cores} CPU "
                 f"(floor {total / cores:.0f} s; cores busy {100 * total / (cores * wall) if wall else 0:.0f} %)",
                 f"{'process kind':<40} {'count':>6} {'CPU-s':>8} {'each':>7}"]
        for kind, cpus in sorted(kinds.items(), key=lambda kv: -sum(kv[1])):
            lines.append(f"{kind:<40} {len(cpus):>6} {sum(cpus):>8.1f} {sum(cpus) / len(cpus):>7.2f}")
        return "\n".join(lines)


def run_suite(report_path: Path, quick: bool, pytest_args: list[str]) -> int:
    """``bash scripts/test.sh`` (what CI runs) with a JUnit XML report; returns pytest's exit code."""
    report_path.parent.mkdir(parents=True, exist_ok=True)
    command = ["bash", "scripts/test.sh", *(["--quick"] if quick else []), f"--junitxml={report_path}",
               "-o", "junit_logging=no", *pytest_args]
    env = {**os.environ, "COURSE_SUITE_COMMAND": " ".join(command)}
    print("$", " ".join(command), flush=True)
    return subprocess.run(command, cwd=ROOT, env=env).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("report", nargs="?", type=Path, help="an existing JUnit XML report (nothing is run)")
    parser.add_argument("--quick", action="store_true", help="run the quick tier (scripts/test.sh --quick)")
    parser.add_argument("--top", type=int, default=12, help="rows per stage and slowest tests (default 12)")
    argv = sys.argv[1:]
    split = argv.index("--") if "--" in argv else len(argv)  # after --: for pytest, not a report path
    args = parser.parse_args(argv[:split])
    args.pytest_args = argv[split + 1:]
    code = 0
    path = args.report
    if path is None:
        path = DEFAULT_REPORT
        start = time.monotonic()
        sampler = CpuSampler()
        sampler.start()
        code = run_suite(path, args.quick, args.pytest_args)
        sampler.done.set()
        sampler.join()
        took = time.monotonic() - start
        print(f"\nscripts/test.sh took {took:.1f} s (exit code {code}); report: {path}\n")
        print(sampler.table(took) + "\n")
    if not path.exists():
        print(f"no report at {path}", file=sys.stderr)
        return code or 1
    print(report(*read_report(path), top=args.top))
    return code


if __name__ == "__main__":
    sys.exit(main())
