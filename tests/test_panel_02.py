"""Lesson 02 panel «консоль сбоев»: every handler changes what the learner sees."""

from __future__ import annotations

from course_helpers.panels.errors import FaultConsole


def test_send_with_fault_shows_class_handler_path_and_requests(provider) -> None:
    console = FaultConsole(provider)
    before = console.result.value
    console.model.value = "openrouter/openai/gpt-4o-mini"
    console.fault.value = "503"
    assert console.send() == "ServiceUnavailableError"
    html = console.result.value
    assert html != before
    assert "ServiceUnavailableError" in html and "503" in html
    assert "except Exception" in html  # the seed's clause that catches a 503
    assert "retry" in html  # the course client's decision
    assert "1 запрос(а): [503]" in html
    assert "ServiceUnavailableError" in console.history.value
    assert provider.requests() == 1


def test_openai_default_retries_are_visible(provider) -> None:
    console = FaultConsole(provider)
    console.model.value = "openai/gpt-4o-mini"
    console.fault.value = "429"
    console.retries.value = "по умолчанию"
    assert console.send() == "RateLimitError"
    assert "3 запрос(а): [429, 429, 429]" in console.result.value
    console.retries.value = "num_retries=0"
    console.send()
    assert "1 запрос(а): [429]" in console.result.value
    assert console.history.value.count("RateLimitError") == 2


def test_refused_connection_and_no_fault(provider) -> None:
    console = FaultConsole(provider)
    console.model.value = "openai/gpt-4o-mini"
    console.fault.value = "refused"
    console.retries.value = "num_retries=0"
    assert console.send() == "InternalServerError"
    assert "0 запрос(а): []" in console.result.value
    console.fault.value = "без сбоя"
    assert console.send() == "ok"
    assert "успех" in console.result.value and "1 запрос(а): [200]" in console.result.value


def test_button_click_sends_and_faults_are_cleared(provider) -> None:
    console = FaultConsole(provider)
    console.fault.value = "401"
    console.button.click()
    assert "AuthenticationError" in console.result.value
    assert "raise ValueError" in console.result.value  # the seed's auth clause
    console.fault.value = "без сбоя"
    console.button.click()
    assert "успех" in console.result.value  # the 401 fault did not outlive its send


def test_402_is_offered_and_shows_the_class_and_the_retries(provider) -> None:
    console = FaultConsole(provider)
    console.model.value = "openrouter/openai/gpt-4o-mini"
    console.fault.value = "402"
    console.retries.value = "num_retries=2"
    assert console.send() == "APIError"
    html = console.result.value
    assert "402" in html and "3 запрос(а): [402, 402, 402]" in html  # num_retries repeats it anyway
    assert "stop" in html  # the course client: no other account to fall back to
