"""How many pytest-xdist workers ``scripts/test.sh`` starts when ``COURSE_TEST_WORKERS`` is not set.

    .venv/bin/python scripts/workers.py          # the full suite: CPUs + 1
    .venv/bin/python scripts/workers.py --quick  # the quick tier: CPUs + 2

The suite is bound by the processor, but its tests also wait: on the provider's simulated latency,
on rpm windows and cooldowns, on JupyterLab and Chromium. One worker more than there are CPUs
fills those waits. The quick tier waits more (no browser, whose rendering is pure CPU), so it
takes one worker more. Measured on 2 CPUs (README, «Сколько идут тесты»): the full suite took as long with
4 workers as with 3, the quick tier 492 s with 4 against 548 s with 3. Other CPU counts follow
the same rule, not measured; at most 8 workers (each holds kernels, a JupyterLab and a Chromium).
"""

from __future__ import annotations

import argparse
import os

MAX_WORKERS = 8


def usable_cpus() -> int:
    """CPUs this process may run on (``taskset`` and container affinity count; macOS has no affinity)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def default_workers(cpus: int, quick: bool) -> int:
    """Workers for ``cpus`` usable CPUs: one more than CPUs for the full suite, two more for --quick."""
    return min(cpus + (2 if quick else 1), MAX_WORKERS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the quick tier (bash scripts/test.sh --quick)")
    print(default_workers(usable_cpus(), parser.parse_args().quick))


if __name__ == "__main__":
    main()
