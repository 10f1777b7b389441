"""Environment doctor (lesson 00): ``[OK]`` / ``[FAIL]`` for everything the course needs.

Run ``doctor()`` in a notebook or ``python -m course_helpers.diagnostics`` in a terminal.
It never prints an API key, only whether one is set.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import Marker
from packaging.utils import canonicalize_name

from course_helpers.redis_server import redact
from course_helpers.session import REPO_ROOT, current_course, package_version, read_dotenv

PINNED = re.compile(r"^\s*([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?\s*==\s*([^\s#;]+)")
NAMED = re.compile(r"^\s*([A-Za-z0-9_.-]+)")


@dataclass
class Item:
    """One line of the doctor's report."""

    ok: bool
    label: str
    detail: str

    def __str__(self) -> str:
        return f"[{'OK' if self.ok else 'FAIL'}] {self.label}: {self.detail}"


def requirements(path: Path = REPO_ROOT / "requirements.txt",
                 lock: Path = REPO_ROOT / "requirements.lock") -> dict[str, str | None]:
    """Package -> the version the course is tested with: the names of requirements.txt, each with its
    exact version from requirements.lock (a pin of requirements.txt itself where there is no lock)."""
    wanted: dict[str, str | None] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith(("#", "-")):
            continue
        pinned = PINNED.match(line)
        if pinned:
            wanted[pinned[1]] = pinned[2]
        elif named := NAMED.match(line):
            wanted[named[1]] = None
    locked = locked_here(lock) if lock.exists() else {}
    return {name: locked.get(canonicalize_name(name), pin) for name, pin in wanted.items()}


LOCK_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)\s*(?:;\s*(.+))?$")


def lock_pins(lock: Path = REPO_ROOT / "requirements.lock") -> list[tuple[str, str, str | None]]:
    """(normalised name, version, environment marker or None) of every pin in requirements.lock.
    Used by doctor() here, scripts/canary_report.py and tests/test_lock.py."""
    pins = []
    for line in lock.read_text(encoding="utf-8").splitlines():
        if match := LOCK_PIN.match(line.strip()):
            pins.append((canonicalize_name(match[1]), match[2], match[3]))
    return pins


def locked_here(lock: Path = REPO_ROOT / "requirements.lock") -> dict[str, str]:
    """The pins of requirements.lock that apply to this Python (a universal lock's pins may carry markers)."""
    return {name: pinned for name, pinned, marker in lock_pins(lock) if not marker or Marker(marker).evaluate()}


# Packages in requirements.txt that only the course's tests and its set-up need (shown apart from the learner's list).
INSTRUCTOR_TOOLS = ("pytest", "nbval", "hypothesis", "playwright", "pytest-xdist", "uv")


def _package_items(instructor: bool = False) -> list[Item]:
    items = []
    for name, pin in requirements().items():
        if (name in INSTRUCTOR_TOOLS) != instructor:
            continue
        have = package_version(name)
        if have == "нет":
            items.append(Item(False, name, "не установлен — выполните: bash scripts/setup.sh"))
        elif pin and have != pin:
            items.append(Item(False, name, f"{have}, а курс проверен с {pin} (requirements.lock): "
                                           "выполните bash scripts/setup.sh"))
        else:
            items.append(Item(True, name, have))
    return items


def _module_item(module: str, why: str) -> Item:
    found = importlib.util.find_spec(module) is not None
    return Item(found, f"модуль {module}",
                why if found else f"нет — {why}; выполните bash scripts/setup.sh (ставит всё по requirements.lock)")


def _widgets_item() -> Item:
    folder = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "@jupyter-widgets" / "jupyterlab-manager"
    if folder.is_dir():
        return Item(True, "расширение виджетов JupyterLab", f"jupyterlab_widgets {package_version('jupyterlab_widgets')}")
    return Item(False, "расширение виджетов JupyterLab",
                "не найдено: панели уроков покажутся текстом. Выполните bash scripts/setup.sh и перезапустите JupyterLab")


def _provider_item(start: bool) -> Item:
    course = current_course()
    if course is not None:
        ok = course.provider.healthy()
        return Item(ok, "практический провайдер", f"{course.provider.url} {'отвечает' if ok else 'НЕ отвечает — перезапустите start_lesson'}")
    if not start:
        return Item(True, "практический провайдер", "запустится вызовом start_lesson(...)")
    from course_helpers.provider import ProviderError, start_provider

    try:
        provider = start_provider(latency_scale=0)
    except ProviderError as e:
        return Item(False, "практический провайдер", str(e))
    provider.stop()
    return Item(True, "практический провайдер", "запускается и отвечает")


def _redis_item() -> Item:
    if os.environ.get("REDIS_URL"):
        return Item(True, "Redis", f"REDIS_URL задан ({redact(os.environ['REDIS_URL'])})")
    binary = shutil.which("redis-server")
    if binary:
        return Item(True, "Redis", f"redis-server найден ({binary}); уроки поднимут свой сервер")
    return Item(False, "Redis", "нет redis-server: уроки 01 и 05 покажут, как поставить (sudo apt-get install redis-server)")


def _mode_item() -> Item:
    dotenv = read_dotenv()
    mode = (os.environ.get("COURSE_MODE") or dotenv.get("COURSE_MODE") or "offline").lower()
    key = os.environ.get("OPENROUTER_API_KEY") or dotenv.get("OPENROUTER_API_KEY") or ""
    course = current_course()
    if course is not None and key == course.provider.key:
        key = ""
    key_state = f"ключ OpenRouter задан ({len(key)} символов, сам ключ не показываем)" if key else "ключ OpenRouter не задан"
    if mode == "online" and not key:
        return Item(False, "режим", f"COURSE_MODE=online, но {key_state}: задайте OPENROUTER_API_KEY в .env")
    return Item(True, "режим", f"{'онлайн' if mode == 'online' else 'офлайн'}; {key_state}")


def _progress_item() -> Item:
    from course_helpers import progress_store
    from course_helpers.checks import exercises

    done = sum(1 for entry in progress_store.load()["exercises"].values() if entry.get("passed"))
    return Item(True, "прогресс", f"решено заданий: {done} из {len(exercises())}")


def run_doctor(start_provider: bool = True) -> list[Item]:
    """All checks, in order; no printing."""
    py_ok = sys.version_info >= (3, 11)
    items = [Item(py_ok, "Python", platform.python_version() + ("" if py_ok else " — нужен 3.11 или новее"))]
    items += _package_items()
    items += [_module_item(m, "нужен LiteLLM при любом попадании в кэш") for m in ("fastapi", "orjson", "soundfile")]
    items += [_module_item("diskcache", "дисковый кэш (урок 01)"),
              _module_item("tenacity", "num_retries в litellm.completion (урок 02)"),
              _module_item("redis", "клиент Redis (уроки 01, 05)")]
    cost_map = os.environ.get("LITELLM_LOCAL_MODEL_COST_MAP") == "True"
    items.append(Item(cost_map, "LITELLM_LOCAL_MODEL_COST_MAP",
                      "True: цены из пакета, без сети" if cost_map else "не задан: импортируйте course_helpers до litellm"))
    items += [_widgets_item(), _provider_item(start_provider), _redis_item(), _mode_item(), _progress_item()]
    return items


def doctor(start_provider: bool = True) -> None:
    """Print the report (lesson 00): what a learner needs, then the instructor's test tools apart;
    ``run_doctor`` returns the learner's part as data."""
    items = run_doctor(start_provider)
    for item in items:
        print(item)
    failed = [i for i in items if not i.ok]
    print("Всё готово к курсу." if not failed else
          f"Проблем: {len(failed)}. Исправьте пункты [FAIL] (README, раздел «Если что-то не так»).")
    tools = _package_items(instructor=True)
    print("Для преподавателя (тесты и установка курса, ученику не нужны): "
          + ", ".join(f"{i.label} {i.detail if i.ok else '— нет'}" for i in tools))


def main() -> None:
    parser = argparse.ArgumentParser(description="Проверка окружения курса")
    parser.add_argument("--quick", action="store_true", help="не запускать практический провайдер")
    args = parser.parse_args()
    doctor(start_provider=not args.quick)
    sys.exit(0 if all(item.ok for item in run_doctor(start_provider=False)) else 1)


if __name__ == "__main__":
    main()
