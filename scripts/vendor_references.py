"""Copy the parts of the reference API schemas the conformance tests use into the repository.

The practice provider is checked against schemas nobody on the course team wrote
(``tests/test_conformance.py``): OpenAI's published OpenAPI file (openai/openai-openapi,
MIT) and OpenRouter's own ``openapi/openapi.yaml`` (OpenRouterTeam/docs). Both are large;
the tests need only a few response schemas and what they reference. This script extracts
exactly that subset (same JSON pointers, same ``$ref`` targets, byte-for-byte the same
schema objects) into ``tests/references/*.json`` with its provenance, so the suite runs on
a machine without the originals.

    python scripts/vendor_references.py            # write tests/references/*.json
    python scripts/vendor_references.py --check    # exit 1 if they differ from a fresh extraction

Sources (override with --openai / --openrouter-git):
  /work/shared/openapi/openai-openapi.yaml   (openai/openai-openapi, commit f85dbe2, MIT)
  git show c26125a:openapi/openapi.yaml      (OpenRouterTeam/docs, commit c26125a, August 2026)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "references"
OPENROUTER_COMMIT = "c26125a"
# JSON pointers the conformance tests validate against; everything they reference comes along.
WANTED = {
    "openai": ["/components/schemas/CreateChatCompletionResponse",
               "/components/schemas/CreateChatCompletionStreamResponse",
               "/components/schemas/ErrorResponse"],
    "openrouter": ["/components/schemas/ChatResult", "/components/schemas/ChatStreamChunk",
                   "/components/schemas/ApiErrorType",
                   "/paths/~1chat~1completions/post/responses", "/paths/~1key/get/responses"],
}
PROVENANCE = {
    "openai": {"repository": "openai/openai-openapi", "commit": "f85dbe2", "path": "openapi.yaml",
               "license": "MIT (Copyright (c) OpenAI); the full text is in tests/references/LICENSE-openai"},
    "openrouter": {"repository": "OpenRouterTeam/docs", "commit": OPENROUTER_COMMIT, "path": "openapi/openapi.yaml",
                   "license": "no licence file in the source repository; an excerpt of the published API "
                              "description, kept only to test that the course's simulator is interoperable"},
}


def resolve(doc: dict[str, Any], pointer: str) -> Any:
    node: Any = doc
    for part in pointer.lstrip("/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def refs(node: Any) -> list[str]:
    """Every local ``$ref`` pointer inside a schema object."""
    if isinstance(node, dict):
        found = [node["$ref"][1:]] if isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/") else []
        return found + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for item in node for r in refs(item)]
    return []


def place(target: dict[str, Any], pointer: str, value: Any) -> None:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.lstrip("/").split("/")]
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value


def subset(doc: dict[str, Any], pointers: list[str]) -> dict[str, Any]:
    """The smallest document holding ``pointers`` and everything they reference, at the same places."""
    out: dict[str, Any] = {}
    todo, seen = list(pointers), set()
    while todo:
        pointer = todo.pop()
        if pointer in seen:
            continue
        seen.add(pointer)
        node = resolve(doc, pointer)
        place(out, pointer, node)
        todo += refs(node)
    return out


def load(source: str, args: argparse.Namespace) -> dict[str, Any]:
    if source == "openai":
        text = Path(args.openai).read_text(encoding="utf-8")
    else:
        text = subprocess.run(["git", "-C", args.openrouter_git, "show", f"{OPENROUTER_COMMIT}:openapi/openapi.yaml"],
                              capture_output=True, text=True, check=True).stdout
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--openai", default="/work/shared/openapi/openai-openapi.yaml")
    parser.add_argument("--openrouter-git", default="/work/.mirror/OpenRouterTeam+docs/repo")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    differ = []
    for source, pointers in WANTED.items():
        body = {"x-vendored-from": {**PROVENANCE[source], "pointers": pointers}, **subset(load(source, args), pointers)}
        text = json.dumps(body, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
        target = OUT / f"{source}-subset.json"
        if args.check:
            if not target.is_file() or target.read_text(encoding="utf-8") != text:
                differ.append(target.name)
        else:
            target.write_text(text, encoding="utf-8")
            print(f"{target.relative_to(ROOT)}: {len(text) // 1024} КБ")
    if args.check:
        print("отличаются: " + ", ".join(differ) if differ else "совпадают с источниками")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
