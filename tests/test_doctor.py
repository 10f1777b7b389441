"""The environment doctor reports real facts and never prints a key."""

from __future__ import annotations

from importlib.metadata import version

from course_helpers import diagnostics as doctor_module


def test_doctor_all_ok_here(course, capsys) -> None:
    items = doctor_module.run_doctor()
    assert all(i.ok for i in items), [str(i) for i in items if not i.ok]
    labels = {i.label for i in items}
    assert {"litellm", "модуль fastapi", "расширение виджетов JupyterLab", "практический провайдер", "Redis",
            "режим"} <= labels


def test_doctor_flags_wrong_pin(monkeypatch, tmp_path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("litellm[caching]==0.0.1\n", encoding="utf-8")
    monkeypatch.setattr(doctor_module, "requirements", lambda: doctor_module.requirements.__wrapped__(req)
                        if hasattr(doctor_module.requirements, "__wrapped__") else {"litellm": "0.0.1"})
    bad = [i for i in doctor_module.run_doctor(start_provider=False) if i.label == "litellm"]
    assert not bad[0].ok and "0.0.1" in bad[0].detail


def test_doctor_online_without_key_fails_and_key_is_never_printed(monkeypatch, capsys) -> None:
    monkeypatch.setenv("COURSE_MODE", "online")
    mode = [i for i in doctor_module.run_doctor(start_provider=False) if i.label == "режим"][0]
    assert not mode.ok and "OPENROUTER_API_KEY" in mode.detail
    monkeypatch.setenv("OPENROUTER_API_KEY", "secret-value-123")
    doctor_module.doctor(start_provider=False)
    out = capsys.readouterr().out
    assert "secret-value-123" not in out and "ключ OpenRouter задан (16 символов" in out


def test_requirements_parser() -> None:
    wanted = doctor_module.requirements()
    assert wanted["litellm"] == "1.108.14" and "fastapi" in wanted and "-e" not in wanted
    assert wanted["fastapi"] == version("fastapi")  # versions come from requirements.lock (the tests run in it)


def test_doctor_pins_come_from_the_lock(tmp_path) -> None:
    req, lock = tmp_path / "requirements.txt", tmp_path / "requirements.lock"
    req.write_text("litellm[caching]==1.108.14\nopenai\nnumpy\n", encoding="utf-8")
    lock.write_text("openai==9.9.9\n    # via litellm\nnumpy==1.0 ; python_full_version < '3.0'\n"
                    "numpy==2.0 ; python_full_version >= '3.0'\n", encoding="utf-8")
    assert doctor_module.requirements(req, lock) == {"litellm": "1.108.14", "openai": "9.9.9", "numpy": "2.0"}
    assert doctor_module.requirements(req, tmp_path / "absent.lock") == {"litellm": "1.108.14", "openai": None,
                                                                          "numpy": None}
