"""The learner's progress file: exercises, quiz answers and predictions (every lesson).

``<state dir>/progress.json`` is shared by every kernel of the learner: two notebooks may
check exercises at the same moment. So every change is a read-modify-write under an
exclusive lock (``progress.json.lock``), written to a temporary file and moved into place
with ``os.replace`` (a crash never leaves half a file). A file that cannot be read is
never reset silently: it is moved aside to ``progress.corrupt-<time>.json`` and the
learner is told in Russian where it went.

Layout: ``{"version": 2, "exercises": {id: entry}, "quiz": {id: entry}, "predictions": {id: entry}}``.
The first layout (a flat ``{exercise id: entry}``) is read as ``exercises``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

try:  # POSIX (Linux, macOS, Colab): a real inter-process lock
    import fcntl
except ImportError:  # pragma: no cover - Windows is not a supported platform of the course
    fcntl = None  # type: ignore[assignment]

from course_helpers.session import state_dir

SECTIONS = ("exercises", "quiz", "predictions")
VERSION = 2


def progress_path() -> Path:
    """Where the progress file lives (the course's git-ignored state folder)."""
    return state_dir() / "progress.json"


def _empty() -> dict[str, Any]:
    return {"version": VERSION, **{name: {} for name in SECTIONS}}


def _normalise(raw: Any) -> dict[str, Any] | None:
    """The stored object in the current layout, or None if it is not a progress file."""
    if not isinstance(raw, dict):
        return None
    if "version" not in raw:  # the first layout: exercise id -> entry
        if not all(isinstance(v, dict) for v in raw.values()):
            return None
        return {**_empty(), "exercises": raw}
    data = _empty()
    for name in SECTIONS:
        section = raw.get(name, {})
        if not isinstance(section, dict):
            return None
        data[name] = section
    return data


def _move_aside(path: Path, reason: str) -> None:
    """Keep an unreadable progress file for the learner and say where it went."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    backup = path.with_name(f"progress.corrupt-{stamp}.json")
    os.replace(path, backup)
    print(f"⚠️ Файл прогресса {path} не читается ({reason}). Он сохранён как {backup.name}, "
          "прогресс начат заново; старые результаты можно посмотреть в этой копии.")


def _read(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return _empty()
    try:
        data = _normalise(json.loads(raw.decode("utf-8")))
        problem = None if data is not None else "неожиданная структура"
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        data, problem = None, f"{type(e).__name__}"
    if data is None:
        _move_aside(path, problem or "ошибка")
        return _empty()
    return data


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+") as lock:
        if fcntl is not None:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _write(path: Path, data: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".progress-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load() -> dict[str, Any]:
    """The whole progress (read under the lock, so never half-written)."""
    path = progress_path()
    with _locked(path):
        return _read(path)


def update(section: str, item_id: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """Apply ``change`` to one entry (created empty) and store it; returns the new entry.

    The file is re-read under the lock, so results written meanwhile by another kernel
    are kept (merge, not overwrite)."""
    if section not in SECTIONS:
        raise ValueError(f"unknown progress section {section!r}")
    path = progress_path()
    with _locked(path):
        data = _read(path)
        entry = data[section].setdefault(item_id, {})
        change(entry)
        entry["at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        _write(path, data)
        return dict(entry)
