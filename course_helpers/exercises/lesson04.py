"""Lesson 04 exercises: a CustomLLM for the /generate API, and its error mapping.

The answer to both is a ``CustomLLM`` subclass (or an instance). The checker registers it
under its own provider name, calls it through ``litellm.completion`` with
``api_base=<the /generate URL>``, judges by the response and by the practice provider's
log, and restores ``litellm.custom_provider_map`` afterwards.
"""

from __future__ import annotations

from typing import Any

import httpx
import litellm
from litellm.llms.custom_llm import CustomLLM, CustomLLMError

from course_helpers.checks import CheckFailed, Exercise, NotAttempted, expect, provider, register
from course_helpers.custom_provider import restored_provider_map

GENERATE = "practice/generate"  # the provider's model id of /generate (faults, stats)


def _handler(answer: Any) -> CustomLLM:
    """The learner's handler: an instance, or a class / factory called without arguments."""
    handler = answer if isinstance(answer, CustomLLM) else answer() if callable(answer) else answer
    expect(isinstance(handler, CustomLLM), "ожидается класс-наследник CustomLLM (или его экземпляр), "
                                           f"а передано {type(handler).__name__}.")
    return handler


def _not_attempted_inside(e: BaseException) -> bool:
    """True if a NotImplementedError (the stub) is somewhere in the exception's chain."""
    seen: set[int] = set()
    current: BaseException | None = e
    while current is not None and id(current) not in seen:
        if isinstance(current, NotImplementedError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__ or getattr(current, "original_exception", None)
    return False


def _call(provider_name: str, handler: CustomLLM, prompt: str, **kwargs: Any) -> Any:
    """One litellm.completion through the learner's handler (stub -> NotAttempted)."""
    litellm.custom_provider_map = [{"provider": provider_name, "custom_handler": handler}]
    try:
        return litellm.completion(model=f"{provider_name}/generate", api_base=provider().generate_url,
                                  messages=[{"role": "user", "content": prompt}], **kwargs)
    except Exception as e:
        if _not_attempted_inside(e):
            raise NotAttempted() from None
        raise


def _direct(prompt: str, max_tokens: int) -> dict[str, Any]:
    """What /generate itself answers to this prompt (deterministic), asked after the check."""
    return httpx.post(provider().generate_url, json={"prompt": prompt, "max_tokens": max_tokens}, timeout=10).json()


# --- 04.1: completion returning a ModelResponse with usage ------------------------------

class MyGenerateLLM(CustomLLM):
    """Reference solution of 04.1."""

    def completion(self, model, messages, *args, api_base=None, optional_params=None, **kwargs):
        prompt = "\n".join(m["content"] for m in messages)
        max_tokens = (optional_params or {}).get("max_tokens", 100)  # max_tokens is not in kwargs
        data = httpx.post(api_base, json={"prompt": prompt, "max_tokens": max_tokens}).json()
        tokens = data["tokens"]
        return litellm.ModelResponse(
            model=model,
            choices=[{"message": {"role": "assistant", "content": data["generated_text"]},
                      "finish_reason": data["finish_reason"]}],
            usage={"prompt_tokens": tokens["prompt"], "completion_tokens": tokens["completion"],
                   "total_tokens": tokens["prompt"] + tokens["completion"]},
        )


def check_generate_llm(answer: Any) -> str:
    handler = _handler(answer)
    prompt, max_tokens = "Проверка задания 04.1: что такое Python?", 12
    with restored_provider_map():
        response = _call("check041", handler, prompt, max_tokens=max_tokens)
    expect(not isinstance(response, dict),
           "completion вернул dict — как в исходном уроке. LiteLLM отдаёт его как есть, и "
           "response.choices падает. Верните litellm.ModelResponse(...).")
    expect(isinstance(response, litellm.ModelResponse),
           f"completion должен вернуть litellm.ModelResponse, а вернул {type(response).__name__}.")
    sent = provider().requests(model=GENERATE)
    expect(sent == 1, f"/generate получил {sent} запросов, а ожидался ровно 1.")
    truth = _direct(prompt, max_tokens)
    text = response.choices[0].message.content
    expect(text == truth["generated_text"],
           f"response.choices[0].message.content = {str(text)[:50]!r}…, а /generate на этот prompt с "
           f"max_tokens={max_tokens} отвечает {truth['generated_text'][:50]!r}…. Передайте в API prompt из "
           "messages и max_tokens из optional_params (в kwargs его нет).")
    expect(hasattr(response, "usage"),
           "у ответа нет usage: LiteLLM не считает токены за свой провайдер. Передайте "
           "usage={'prompt_tokens': ..., 'completion_tokens': ..., 'total_tokens': ...} из data['tokens'].")
    want = (truth["tokens"]["prompt"], truth["tokens"]["completion"])
    got = (response.usage.prompt_tokens, response.usage.completion_tokens)
    expect(got == want, f"usage (prompt, completion) = {got}, а API насчитал {want}: возьмите их из data['tokens'].")
    expect(response.usage.total_tokens == sum(want), "total_tokens должен быть суммой prompt_tokens и completion_tokens.")
    return f"один запрос к /generate, ModelResponse с текстом и usage {got[0]} + {got[1]}, max_tokens соблюдён."


class _SeedDict(CustomLLM):  # the seed's provider: returns a dict and ignores max_tokens
    def completion(self, model, messages, *args, api_base=None, **kwargs):
        prompt = "\n".join(m["content"] for m in messages)
        result = httpx.post(api_base, json={"prompt": prompt, "max_tokens": kwargs.get("max_tokens", 100)}).json()
        return {"choices": [{"message": {"content": result["generated_text"], "role": "assistant"}}]}


class _NoUsage(CustomLLM):  # ModelResponse, but without usage
    def completion(self, model, messages, *args, api_base=None, optional_params=None, **kwargs):
        data = httpx.post(api_base, json={"prompt": messages[-1]["content"],
                                          "max_tokens": optional_params.get("max_tokens", 100)}).json()
        return litellm.ModelResponse(model=model, choices=[{"message": {"role": "assistant",
                                                                        "content": data["generated_text"]}}])


class _IgnoresMaxTokens(CustomLLM):  # looks for max_tokens in kwargs, where it never is
    def completion(self, model, messages, *args, api_base=None, **kwargs):
        data = httpx.post(api_base, json={"prompt": messages[-1]["content"],
                                          "max_tokens": kwargs.get("max_tokens", 100)}).json()
        t = data["tokens"]
        return litellm.ModelResponse(model=model, choices=[{"message": {"role": "assistant",
                                                                        "content": data["generated_text"]}}],
                                     usage={"prompt_tokens": t["prompt"], "completion_tokens": t["completion"],
                                            "total_tokens": t["prompt"] + t["completion"]})


register(Exercise(
    id="04.1",
    title="Свой CustomLLM для /generate",
    check=check_generate_llm,
    reference=MyGenerateLLM,
    hints=[
        "В completion отправьте httpx.post(api_base, json={'prompt': ..., 'max_tokens': ...}) и верните "
        "litellm.ModelResponse(model=model, choices=[{'message': {'role': 'assistant', 'content': ...}}], usage=...).",
        "max_tokens лежит в optional_params['max_tokens'] (в kwargs его нет); токены — в data['tokens']['prompt'] "
        "и data['tokens']['completion']; total_tokens — их сумма.",
    ],
    wrong_answers=[_SeedDict, _NoUsage, _IgnoresMaxTokens],
))


# --- 04.2: upstream errors as LiteLLM exceptions ---------------------------------------

class MyMappedLLM(CustomLLM):
    """Reference solution of 04.2."""

    def completion(self, model, messages, *args, api_base=None, optional_params=None, timeout=None, **kwargs):
        payload = {"prompt": messages[-1]["content"], "max_tokens": (optional_params or {}).get("max_tokens", 100)}
        try:
            response = httpx.post(api_base, json=payload, timeout=timeout)
        except httpx.TimeoutException as e:
            raise CustomLLMError(status_code=408, message=f"/generate не ответил вовремя: {e}")
        if response.status_code >= 400:
            raise CustomLLMError(status_code=response.status_code, message=response.json()["error"]["message"])
        data = response.json()
        return litellm.ModelResponse(model=model, choices=[{"message": {"role": "assistant",
                                                                        "content": data["generated_text"]}}])


# upstream fault -> the LiteLLM exception lesson 02's handlers expect
EXPECTED: list[tuple[int | str, type[Exception]]] = [
    (429, litellm.RateLimitError), (503, litellm.ServiceUnavailableError),
    (500, litellm.InternalServerError), ("hang", litellm.Timeout),
]


def check_mapped_llm(answer: Any) -> str:
    handler = _handler(answer)
    prompt = "Проверка задания 04.2: что такое Python?"
    with restored_provider_map():
        for fault, wanted in EXPECTED:
            before = provider().requests(model=GENERATE)
            if fault == "hang":
                provider().fail(GENERATE, kind="hang", times=1)
            else:
                provider().fail(GENERATE, int(fault), times=1)
            label = "зависание API (таймаут клиента)" if fault == "hang" else f"ответ API {fault}"
            try:
                _call("check042", handler, prompt, timeout=0.5)
            except NotAttempted:
                raise
            except Exception as e:
                expect(isinstance(e, wanted),
                       f"{label} → {type(e).__name__} (status_code={getattr(e, 'status_code', None)}), "
                       f"а обработчики урока 02 ждут {wanted.__name__}. Поднимите "
                       f"CustomLLMError(status_code=..., message=...) с кодом из ответа"
                       f"{' (для таймаута — 408)' if fault == 'hang' else ''}.")
                if fault != "hang":
                    expect("Имитация сбоя" in str(e),
                           f"в сообщении {type(e).__name__} нет текста ошибки от API: передайте в message "
                           "response.json()['error']['message'].")
            else:
                raise CheckFailed(f"{label}: ожидалось исключение {wanted.__name__}, а вызов прошёл успешно.")
            sent = provider().requests(model=GENERATE) - before
            expect(sent == 1, f"{label}: /generate получил {sent} запросов вместо 1 — не повторяйте запрос сами.")
        response = _call("check042", handler, prompt)
    expect(isinstance(response, litellm.ModelResponse) and bool(response.choices[0].message.content),
           "без сбоя вызов должен вернуть ModelResponse с текстом ответа.")
    return "429 → RateLimitError, 503 → ServiceUnavailableError, 500 → InternalServerError, таймаут → Timeout."


class _RaiseForStatus(CustomLLM):  # httpx's raise_for_status: LiteLLM loses the status (APIConnectionError)
    def completion(self, model, messages, *args, api_base=None, timeout=None, **kwargs):
        response = httpx.post(api_base, json={"prompt": messages[-1]["content"]}, timeout=timeout)
        response.raise_for_status()
        return litellm.ModelResponse(model=model, choices=[{"message": {"role": "assistant",
                                                                        "content": response.json()["generated_text"]}}])


class _Always500(CustomLLM):  # every error becomes a 500
    def completion(self, model, messages, *args, api_base=None, timeout=None, **kwargs):
        try:
            response = httpx.post(api_base, json={"prompt": messages[-1]["content"]}, timeout=timeout)
        except httpx.TimeoutException as e:
            raise CustomLLMError(status_code=500, message=str(e))
        if response.status_code >= 400:
            raise CustomLLMError(status_code=500, message=response.json()["error"]["message"])
        return litellm.ModelResponse(model=model, choices=[{"message": {"role": "assistant",
                                                                        "content": response.json()["generated_text"]}}])


class _TimeoutUnmapped(CustomLLM):  # statuses mapped, but a raw httpx timeout -> APIConnectionError
    def completion(self, model, messages, *args, api_base=None, timeout=None, **kwargs):
        response = httpx.post(api_base, json={"prompt": messages[-1]["content"]}, timeout=timeout)
        if response.status_code >= 400:
            raise CustomLLMError(status_code=response.status_code, message=response.json()["error"]["message"])
        return litellm.ModelResponse(model=model, choices=[{"message": {"role": "assistant",
                                                                        "content": response.json()["generated_text"]}}])


register(Exercise(
    id="04.2",
    title="Ошибки /generate как исключения LiteLLM",
    check=check_mapped_llm,
    reference=MyMappedLLM,
    hints=[
        "Ответ API с кодом ≥ 400 превратите в CustomLLMError(status_code=код, message=текст): LiteLLM сам "
        "сделает из 429 RateLimitError, из 503 ServiceUnavailableError и т.д.",
        "status_code = response.status_code, message = response.json()['error']['message']; "
        "httpx.TimeoutException ловите отдельно и поднимайте CustomLLMError(status_code=408, ...) — это litellm.Timeout.",
    ],
    wrong_answers=[_RaiseForStatus, _Always500, _TimeoutUnmapped],
))
