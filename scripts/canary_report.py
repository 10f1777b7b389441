"""Summarise a JUnit XML of the claim tests per lesson: which claims hold, which changed."""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict


def main(path: str, version: str) -> None:
    lessons: dict[str, dict[str, list[str]]] = defaultdict(lambda: {"holds": [], "changed": []})
    for case in ET.parse(path).getroot().iter("testcase"):
        lesson = re.search(r"test_claims_(\d\d|openrouter)", case.get("classname", "") + case.get("file", ""))
        key = lesson.group(1) if lesson else "??"
        broken = case.find("failure") is not None or case.find("error") is not None
        skipped = case.find("skipped") is not None
        if not skipped:
            lessons[key]["changed" if broken else "holds"].append(case.get("name", "?"))
    total_changed = 0
    print(f"Claims on LiteLLM {version}:")
    for key in sorted(lessons):
        holds, changed = lessons[key]["holds"], lessons[key]["changed"]
        total_changed += len(changed)
        print(f"  lesson {key}: {len(holds)} hold, {len(changed)} changed")
        for name in changed:
            print(f"      changed: {name}")
    print(f"Total: {sum(len(v['holds']) for v in lessons.values())} hold, {total_changed} changed.")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
