"""One setup call for every lesson: ``course = start_lesson("01")``.

Offline (default): starts the practice provider and points LiteLLM at it through
LiteLLM's own environment variables (``OPENROUTER_API_BASE``, ``OPENAI_API_BASE`` and
keys), so lesson code uses real model names. Online (``COURSE_MODE=online`` and a real
``OPENROUTER_API_KEY`` in the environment or ``.env``): LiteLLM talks to OpenRouter.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import platform
import shutil
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from course_helpers import kernel, netguard
from course_helpers.provider import PracticeProvider, ProviderError, start_provider

REPO_ROOT = Path(__file__).resolve().parent.parent
OPENROUTER_URL = "https://openrouter.ai/api/v1"
# Online mode talks to OpenRouter; an instructor may point it at another OpenRouter-compatible
# endpoint (a company gateway, or a stand-in server in the tests) with this variable.
ONLINE_BASE_VAR = "COURSE_ONLINE_BASE"
LESSONS = {
    "00": "Старт: как устроен курс",
    "01": "Кэширование",
    "02": "Ошибки и исключения",
    "03": "Резервные модели (fallbacks)",
    "04": "Собственные провайдеры",
    "05": "Роутинг и балансировка",
    "06": "Бюджеты и расходы",
    "07": "Практическое задание",
    "08": "Шлюз: LiteLLM Proxy",
}
# Variables that would silently redirect LiteLLM away from the practice provider.
_REDIRECTS = ("OPENAI_BASE_URL", "OPENROUTER_API_BASE", "OPENAI_API_BASE")


def state_dir() -> Path:
    """Where the course keeps local state (progress, lesson folders): never tracked by git."""
    path = Path(os.environ.get("COURSE_STATE_DIR") or REPO_ROOT / ".course_state")
    path.mkdir(parents=True, exist_ok=True)
    return path


def find_dotenv(start: Path | None = None) -> Path | None:
    """The ``.env`` to use: the nearest one from the working directory upwards (JupyterLab
    runs notebooks in ``notebooks/``), else the repository root's; None if there is none."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / ".env").is_file():
            return folder / ".env"
    return REPO_ROOT / ".env" if (REPO_ROOT / ".env").is_file() else None


def read_dotenv(path: Path | None = None) -> dict[str, str]:
    """``KEY=value`` lines of the git-ignored ``.env`` file (comments and quotes allowed);
    without ``path``, the file :func:`find_dotenv` finds."""
    path = path or find_dotenv()
    if path is None or not path.is_file():
        return {}
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip().removeprefix("export ").strip()] = value.strip().strip("'\"")
    return values


def package_version(name: str) -> str:
    """Installed version of a package, or ``'нет'``."""
    try:
        return version(name)
    except PackageNotFoundError:
        return "нет"


@dataclass
class Course:
    """What ``start_lesson`` returns: mode, the practice provider handle, lesson folders."""

    lesson: str
    mode: str  # "offline" or "online"
    provider: PracticeProvider
    notes: list[str] = field(default_factory=list)

    def fresh_dir(self, name: str) -> Path:
        """An empty folder for this lesson (e.g. a disk cache): wiped on every call, so a
        notebook run twice in a row starts from the same state."""
        path = state_dir() / "lessons" / self.lesson / name
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path

    def reset(self) -> None:
        """Practice provider back to its start: no faults, limits, latency overrides or stats."""
        self.provider.reset()

    @contextmanager
    def practice(self) -> Iterator[PracticeProvider]:
        """Run a demonstration on the practice provider, whatever the mode (lessons 01–03, 06, 07).

        Faults, rate limits and request counters exist only there: in online mode the block
        temporarily points LiteLLM back at the practice provider and says so; offline it
        changes nothing and prints nothing.
        """
        if self.mode != "online":
            yield self.provider
            return
        print("🧪 Онлайн-режим: этот опыт идёт на практическом провайдере — сбои и счётчики запросов есть только у него.")
        with practice_env() as provider:
            yield provider

    def banner(self) -> str:
        """The short Russian banner printed by :func:`start_lesson`."""
        title = LESSONS.get(self.lesson, "")
        mode = ("онлайн: настоящие модели через OpenRouter" if self.mode == "online"
                else "офлайн: практический провайдер, ключ не нужен")
        lines = [
            f"Урок {self.lesson} · {title}",
            f"Режим: {mode}",
            f"LiteLLM {package_version('litellm')} · Python {platform.python_version()}",
            f"Практический провайдер: {self.provider.url}",
        ]
        return "\n".join(lines + self.notes)


_current: Course | None = None


def current_course() -> Course | None:
    """The course handle of this kernel, if ``start_lesson`` has run (used by checks)."""
    return _current


def _quiet_litellm() -> None:
    """Keep stored notebook outputs readable and stable: no debug banners or log spam."""
    import litellm

    litellm.suppress_debug_info = True
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "httpx", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    for module in ("litellm", "pydantic", "httpx", "aiohttp"):
        warnings.filterwarnings("ignore", module=module)
    warnings.filterwarnings("ignore", message=".*(Pydantic|pydantic).*")
    # LiteLLM's own background logger leaves this coroutine unawaited on sync calls; only that one
    # is hidden: a learner's forgotten `await` must still show «coroutine ... was never awaited».
    warnings.filterwarnings("ignore", message="coroutine 'LoggingWorker._worker_loop' was never awaited")


_MISSING_HINTS = {"fastapi", "orjson", "soundfile", "diskcache", "tenacity", "redis"}


def learner_hint(error: BaseException) -> str | None:
    """A Russian hint for errors a learner easily causes that LiteLLM reports in English."""
    if isinstance(error, ModuleNotFoundError) and (error.name or "").split(".")[0] in _MISSING_HINTS:
        return (f"💡 Не хватает пакета {error.name}: LiteLLM использует его, но сам не ставит. "
                "Выполните в терминале: bash scripts/setup.sh (или pip install -r requirements.lock) "
                "и перезапустите ядро.")
    text = str(error)
    if "LLM Provider NOT provided" in text:
        return ("💡 LiteLLM не понял, к какому провайдеру идти: имя модели начинается с провайдера, например "
                "openrouter/openai/gpt-4o-mini. Проверьте опечатку в префиксе.")
    if "tenacity" in text and "import failed" in text:
        return "💡 num_retries требует пакет tenacity: выполните в терминале bash scripts/setup.sh (он есть в requirements.lock) и перезапустите ядро."
    from_llm_client = type(error).__module__.split(".")[0] in ("litellm", "openai", "httpx")
    if _current is None and from_llm_client:
        return ('💡 Сначала выполните ячейку настройки урока — course = start_lesson("NN") в начале ноутбука '
                "(после перезапуска ядра тоже): без неё LiteLLM не знает о практическом провайдере и идёт в интернет.")
    if type(error).__name__ == "NotFoundError" and "не найдена" in text:
        return ("💡 Такой модели нет: проверьте имя модели после префикса openrouter/ (в тексте ошибки — список "
                "доступных).")
    if _current is not None and _current.mode == "offline" and "Connection" in type(error).__name__ + text:
        if not _current.provider.healthy():
            return ("💡 Практический провайдер не отвечает (ядро перезапускалось или процесс остановлен). "
                    "Выполните ячейку с start_lesson(...) ещё раз — она поднимет его заново.")
    return None


def online_base() -> str:
    """The OpenRouter API base used in online mode (``COURSE_ONLINE_BASE`` or openrouter.ai)."""
    return (os.environ.get(ONLINE_BASE_VAR) or OPENROUTER_URL).rstrip("/")


def _check_online_key(key: str) -> str | None:
    """Ask OpenRouter whether the key is valid; a Russian problem description or None."""
    request = urllib.request.Request(f"{online_base()}/key", headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            json.loads(response.read())
        return None
    except urllib.error.HTTPError as e:
        if e.code in (401, 403):
            return "OpenRouter отверг ключ OPENROUTER_API_KEY (401): проверьте, что он скопирован целиком."
        return f"OpenRouter ответил {e.code} при проверке ключа."
    except (urllib.error.URLError, OSError) as e:
        return f"Нет связи с OpenRouter ({e}). Проверьте интернет или работайте офлайн."


def _point_litellm_at(provider: PracticeProvider) -> None:
    """Offline mode: LiteLLM's own env variables lead every call to the practice provider."""
    for name in _REDIRECTS:
        os.environ.pop(name, None)
    os.environ["OPENROUTER_API_BASE"] = provider.api_base("openrouter")
    os.environ["OPENROUTER_API_KEY"] = provider.key
    os.environ["OPENAI_API_BASE"] = provider.api_base("openai")
    os.environ["OPENAI_API_KEY"] = provider.key


def start_lesson(lesson: str, *, latency_scale: float | None = None, quiet: bool = False) -> Course:
    """Set up a lesson's kernel and return its :class:`Course` handle (all lessons).

    Idempotent: a second call for the same lesson reuses the running provider and changes
    nothing; a call for another lesson resets the provider's state.
    """
    global _current
    lesson = str(lesson).zfill(2)
    if lesson not in LESSONS:
        raise ValueError(f"Нет урока {lesson!r}; уроки курса: {', '.join(LESSONS)}.")
    if os.environ.get("COURSE_LOOPBACK_ONLY"):
        netguard.install()
    if _current is not None and _current.provider.healthy():
        if _current.lesson != lesson:
            _current.provider.reset()
            _current.lesson = lesson
        if not quiet:
            print(_current.banner())
        return _current

    try:
        provider = start_provider(latency_scale=latency_scale)
    except ProviderError as e:
        raise ProviderError(f"{e}\nЗапустите doctor() из урока 00: он покажет, чего не хватает.") from None

    dotenv = read_dotenv()
    wanted = (os.environ.get("COURSE_MODE") or dotenv.get("COURSE_MODE") or "offline").strip().lower()
    key = os.environ.get("OPENROUTER_API_KEY") or dotenv.get("OPENROUTER_API_KEY") or ""
    if key == provider.key:  # left over from an offline start in this kernel
        key = ""
    mode, notes = "offline", []
    if wanted == "online":
        problem = "не задан OPENROUTER_API_KEY (в окружении или в файле .env)" if not key else _check_online_key(key)
        if problem:
            notes.append(f"⚠️ Онлайн-режим не включён: {problem}. Курс продолжает работу офлайн.")
        else:
            mode = "online"
    elif wanted != "offline":
        notes.append(f"⚠️ COURSE_MODE={wanted!r} не понят (ожидается offline или online); работаем офлайн.")

    if mode == "online":
        for name in _REDIRECTS:
            os.environ.pop(name, None)
        for name in ("OPENAI_API_KEY", "OPENROUTER_API_KEY"):  # what an offline start of this kernel set
            if os.environ.get(name) == provider.key:
                os.environ.pop(name)
        if online_base() != OPENROUTER_URL:
            os.environ["OPENROUTER_API_BASE"] = online_base()
        os.environ["OPENROUTER_API_KEY"] = key
        notes.append("Сбои, лимиты и статистика практического провайдера в онлайн-режиме касаются только его, "
                     "а не настоящих моделей: опыты с ними идут на практическом провайдере, и ячейка об этом скажет.")
    else:
        _point_litellm_at(provider)
    _quiet_litellm()
    kernel.install()
    _current = Course(lesson=lesson, mode=mode, provider=provider, notes=notes)
    if not quiet:
        print(_current.banner())
    return _current


@contextmanager
def practice_env() -> Iterator[PracticeProvider]:
    """Temporarily point LiteLLM at the practice provider, even in online mode.

    Exercise checks use it: they inject faults and read the provider's stats, so they
    judge against the practice provider whatever the mode (and cost nothing).
    """
    if _current is None:
        raise RuntimeError("Сначала выполните ячейку с start_lesson(...).")
    saved = {name: os.environ.get(name) for name in (*_REDIRECTS, "OPENROUTER_API_KEY", "OPENAI_API_KEY")}
    _point_litellm_at(_current.provider)
    try:
        yield _current.provider
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def enter_key() -> None:
    """Online mode without a file: ask for the OpenRouter key with a hidden prompt (lesson 00).

    The key lives only in this kernel's environment; nothing is written to disk or printed.
    """
    key = getpass.getpass("Ключ OpenRouter (ввод скрыт, нигде не сохраняется): ").strip()
    if not key:
        print("Ключ не введён: курс остаётся в офлайн-режиме.")
        return
    os.environ["OPENROUTER_API_KEY"] = key
    os.environ["COURSE_MODE"] = "online"
    stop_lesson()
    print("Ключ принят. Выполните ячейку start_lesson(...) ещё раз — она проверит ключ и включит онлайн-режим.")


def stop_lesson() -> None:
    """Stop this kernel's practice provider (tests use it; learners just restart the kernel)."""
    global _current
    if _current is not None:
        _current.provider.stop()
        _current = None


__all__ = ["Course", "start_lesson", "stop_lesson", "enter_key", "current_course", "practice_env", "state_dir",
           "read_dotenv", "find_dotenv"]
