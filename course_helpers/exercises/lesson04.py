"""Lesson 04 («Собственные провайдеры»): exercises, predictions and the quiz.

The answer to every exercise is a ``CustomLLM`` subclass (or an instance). The checker registers
it under its own provider name, calls it through LiteLLM with ``api_base=<the /generate URL>``,
judges by the response and by what ``/generate`` received (the practice provider logs each
request's ``max_tokens`` and ``stream``), and restores ``litellm.custom_provider_map`` afterwards.

* 04.1 (debug) — the seed's ``MyCustomProvider``: a ``ModelResponse`` instead of a dict, the
  caller's ``max_tokens`` (from ``optional_params``), ``usage`` from the API's token counts;
* 04.2 (build) — ``streaming`` over the real NDJSON stream of ``/generate``;
* 04.3 (decide) — which LiteLLM exception each failure of ``/generate`` becomes, so that a Router
  retries what is temporary and not what is not, and lesson 02's handlers see the right class.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import litellm
from litellm.llms.custom_llm import CustomLLM, CustomLLMError
from litellm.types.utils import GenericStreamingChunk

from course_helpers.checks import CheckFailed, Exercise, NotAttempted, expect, provider, register
from course_helpers.custom_provider import restored_provider_map
from course_helpers.exercises.lesson02 import requests_ru, restores_provider, run_with_deadline
from course_helpers.predictions import Prediction, register_prediction
from course_helpers.quizzes import Question, register_question

GENERATE = "practice/generate"  # the provider's model id of /generate (faults, stats, log)


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


def _use(provider_name: str, handler: CustomLLM) -> None:
    litellm.custom_provider_map = [{"provider": provider_name, "custom_handler": handler}]


def _call(provider_name: str, handler: CustomLLM, prompt: str, **kwargs: Any) -> Any:
    """One litellm.completion through the learner's handler (stub -> NotAttempted)."""
    _use(provider_name, handler)
    try:
        return litellm.completion(model=f"{provider_name}/generate", api_base=provider().generate_url,
                                  messages=[{"role": "user", "content": prompt}], **kwargs)
    except Exception as e:
        if _not_attempted_inside(e):
            raise NotAttempted() from None
        raise


def _direct(prompt: str, max_tokens: int) -> dict[str, Any]:
    """What /generate itself answers to this prompt (deterministic), asked after the learner's call."""
    return httpx.post(provider().generate_url, json={"prompt": prompt, "max_tokens": max_tokens}, timeout=10).json()


def _generate_log(since: int) -> list[dict[str, Any]]:
    """The requests /generate received after log entry number ``since``."""
    return [entry for entry in provider().log() if entry["n"] > since and entry["model"] == GENERATE]


def _last_n() -> int:
    return max((entry["n"] for entry in provider().log()), default=0)


# --- predictions -----------------------------------------------------------------------------

SAME_DICT = "тот же dict"
NO_USAGE = "нет: атрибута usage у ответа нет"
STREAM_FAILS = "нет: исключение"
NO_CHUNK_USAGE = "нет, ни в одном куске"

register_prediction(Prediction(
    id="04.p1",
    question="Метод `completion` провайдера из исходного урока возвращает `dict` в духе ответа OpenAI. Что "
             "вернёт вызов `litellm.completion(model=\"my_custom_provider/my-model\", ...)`?",
    options=["ModelResponse: LiteLLM переложит dict в объект", SAME_DICT, "исключение при вызове"],
    explanation="Тот же `dict`: LiteLLM не проверяет и не преобразует то, что вернул обработчик, и отдаёт его как "
                "есть. Любой код, написанный для LiteLLM (`r.choices[0].message.content`, `r.usage`, стоимость, "
                "кэш, `Router`), на нём падает. Обработчик обязан вернуть `litellm.ModelResponse`.",
    judge=lambda r: SAME_DICT if type(r) is dict else ("ModelResponse: LiteLLM переложит dict в объект"
                                                       if isinstance(r, litellm.ModelResponse) else type(r).__name__),
))
register_prediction(Prediction(
    id="04.p2",
    question="Обработчик вернул `ModelResponse` с текстом, но без `usage`. Что окажется в `r.usage`?",
    options=["токены, посчитанные LiteLLM", "нули", NO_USAGE],
    explanation="Атрибута `usage` нет вовсе (`hasattr(r, \"usage\")` — `False`), и `response_cost` пуст: LiteLLM "
                "не считает токены за свой провайдер. Их должен сообщить API, а обработчик — передать в "
                "`ModelResponse(usage={...})`.",
    judge=lambda r: NO_USAGE if not hasattr(r, "usage") else ("нули" if not r.usage.total_tokens
                                                              else "токены, посчитанные LiteLLM"),
))
register_prediction(Prediction(
    id="04.p3",
    question="У обработчика есть только `completion`. Сработает ли `await litellm.acompletion(...)` с ним?",
    options=["да: LiteLLM вызовет completion сам", STREAM_FAILS],
    explanation="Нет: `acompletion`, потоковый ответ (`stream=True`) и асинхронный поток — отдельные методы "
                "обработчика (`acompletion`, `streaming`, `astreaming`). В базовом классе они поднимают "
                "`CustomLLMError(500, \"Not implemented yet!\")`, а вы получаете `InternalServerError`.",
    judge=lambda error: STREAM_FAILS if error is not None else "да: LiteLLM вызовет completion сам",
))
register_prediction(Prediction(
    id="04.p4",
    question="`streaming` отдал последний кусок с `usage`. Будет ли `usage` в кусках, которые получит цикл "
             "`for chunk in litellm.completion(..., stream=True)`?",
    options=["да, в последнем куске", NO_CHUNK_USAGE],
    explanation="Нет: в куски потока `usage` попадает, только если попросить `stream_options={\"include_usage\": "
                "True}` — так LiteLLM поступает с любым провайдером, даже с OpenRouter, который присылает `usage` в "
                "конце каждого потока. Но он его не теряет: `litellm.stream_chunk_builder(chunks).usage` есть и без "
                "этого флага.",
    judge=lambda has_usage: "да, в последнем куске" if has_usage else NO_CHUNK_USAGE,
))


# --- 04.1 (debug): the seed's provider ---------------------------------------------------------

class MyCustomProvider(CustomLLM):
    def completion(self, model, messages, *args, api_base=None, optional_params=None, **kwargs):
        prompt = "\n".join(m["content"] for m in messages)
        max_tokens = (optional_params or {}).get("max_tokens", 100)  # LiteLLM puts max_tokens here
        data = httpx.post(api_base, json={"prompt": prompt, "max_tokens": max_tokens}).json()
        tokens = data["tokens"]  # LiteLLM does not count tokens for a custom provider
        return litellm.ModelResponse(
            model=model,
            choices=[{"message": {"role": "assistant", "content": data["generated_text"]},
                      "finish_reason": data["finish_reason"]}],
            usage={"prompt_tokens": tokens["prompt"], "completion_tokens": tokens["completion"],
                   "total_tokens": tokens["prompt"] + tokens["completion"]},
        )


@restores_provider
def check_seed_provider(answer: Any) -> str:
    handler = _handler(answer)
    provider().set_latency_scale(0)
    with restored_provider_map():
        for max_tokens in (7, 19):  # varied: a hard-coded max_tokens cannot pass
            prompt = f"Проверка задания 04.1 (max_tokens={max_tokens}): что такое кэш?"
            since = _last_n()
            response = _call("check041", handler, prompt, max_tokens=max_tokens)
            expect(not isinstance(response, dict),
                   "completion вернул dict — как в исходном уроке. LiteLLM отдаёт его как есть, и "
                   "response.choices падает. Верните litellm.ModelResponse(...).")
            expect(isinstance(response, litellm.ModelResponse),
                   f"completion должен вернуть litellm.ModelResponse, а вернул {type(response).__name__}.")
            received = _generate_log(since)
            expect(len(received) == 1, f"на один вызов /generate получил {requests_ru(len(received))}, а нужен 1.")
            asked = received[0].get("max_tokens")
            expect(asked == max_tokens,
                   f"вызов просил max_tokens={max_tokens}, а /generate получил max_tokens={asked}. Параметры вызова "
                   "(max_tokens, temperature…) LiteLLM передаёт обработчику в optional_params, а не в kwargs.")
            truth = _direct(prompt, max_tokens)
            text = response.choices[0].message.content
            expect(text == truth["generated_text"],
                   f"response.choices[0].message.content = {str(text)[:50]!r}…, а /generate ответил "
                   f"{truth['generated_text'][:50]!r}…: верните текст из его ответа.")
            expect(hasattr(response, "usage"),
                   "у ответа нет usage: LiteLLM не считает токены за свой провайдер. Передайте "
                   "usage={'prompt_tokens': ..., 'completion_tokens': ..., 'total_tokens': ...} из data['tokens'].")
            want = (truth["tokens"]["prompt"], truth["tokens"]["completion"])
            got = (response.usage.prompt_tokens, response.usage.completion_tokens)
            expect(got == want, f"usage (prompt, completion) = {got}, а API насчитал {want}: возьмите их из "
                                "data['tokens'], а не считайте сами.")
            expect(response.usage.total_tokens == sum(want),
                   "total_tokens должен быть суммой prompt_tokens и completion_tokens.")
    return "ModelResponse с текстом и usage из ответа API, max_tokens вызова доходит до /generate (7 и 19)."


class _SeedAsIs(CustomLLM):  # the seed: a dict, and max_tokens from kwargs
    def completion(self, model, messages, *args, api_base=None, **kwargs):
        prompt = "\n".join(m["content"] for m in messages)
        result = httpx.post(api_base, json={"prompt": prompt, "max_tokens": kwargs.get("max_tokens", 100)}).json()
        return {"choices": [{"message": {"content": result["generated_text"], "role": "assistant"}}]}


class _KwargsMaxTokens(CustomLLM):  # a ModelResponse with usage, but max_tokens looked up in kwargs
    def completion(self, model, messages, *args, api_base=None, **kwargs):
        data = httpx.post(api_base, json={"prompt": messages[-1]["content"],
                                          "max_tokens": kwargs.get("max_tokens", 100)}).json()
        t = data["tokens"]
        return litellm.ModelResponse(model=model, choices=[{"message": {"role": "assistant",
                                                                        "content": data["generated_text"]}}],
                                     usage={"prompt_tokens": t["prompt"], "completion_tokens": t["completion"],
                                            "total_tokens": t["prompt"] + t["completion"]})


class _NoUsage(CustomLLM):  # ModelResponse and max_tokens right, usage left out
    def completion(self, model, messages, *args, api_base=None, optional_params=None, **kwargs):
        data = httpx.post(api_base, json={"prompt": messages[-1]["content"],
                                          "max_tokens": optional_params.get("max_tokens", 100)}).json()
        return litellm.ModelResponse(model=model, choices=[{"message": {"role": "assistant",
                                                                        "content": data["generated_text"]}}])


register(Exercise(
    id="04.1",
    title="Провайдер из исходного урока",
    check=check_seed_provider,
    reference=MyCustomProvider,
    answer_name="MyCustomProvider",
    imports="import httpx\nimport litellm\nfrom litellm.llms.custom_llm import CustomLLM",
    hints=[
        "Запустите проверку: она назовёт первую найденную ошибку. Сравните, что возвращает completion, с тем, что "
        "ждёт LiteLLM (раздел 4.3), и посмотрите, что из вызова на самом деле получает обработчик.",
        "Ошибок три. Вместо dict — litellm.ModelResponse(model=model, choices=[{'message': {...}}], usage={...}). "
        "max_tokens вызова лежит в optional_params['max_tokens'] (в kwargs его нет). usage — из data['tokens'].",
        "Сигнатура: def completion(self, model, messages, *args, api_base=None, optional_params=None, **kwargs). "
        "usage = {'prompt_tokens': t['prompt'], 'completion_tokens': t['completion'], 'total_tokens': сумма}.",
    ],
    wrong_answers=[_SeedAsIs, _KwargsMaxTokens, _NoUsage],
))


# --- 04.2 (build): streaming over /generate's NDJSON ------------------------------------------

class GenerateStream(CustomLLM):
    def streaming(self, model, messages, *args, api_base=None, optional_params=None, timeout=None, **kwargs):
        payload = {"prompt": "\n".join(m["content"] for m in messages),
                   "max_tokens": (optional_params or {}).get("max_tokens", 100), "stream": True}
        with httpx.stream("POST", api_base, json=payload, timeout=timeout) as response:
            for line in response.iter_lines():  # one NDJSON line as soon as it arrives
                if not line:
                    continue
                item = json.loads(line)
                done = item.get("done", False)
                tokens = item.get("tokens", {})
                yield GenericStreamingChunk(
                    text=item.get("text", ""), index=0, tool_use=None, is_finished=done,
                    finish_reason=item["finish_reason"] if done else "",
                    usage={"prompt_tokens": tokens["prompt"], "completion_tokens": tokens["completion"],
                           "total_tokens": tokens["prompt"] + tokens["completion"]} if done else None,
                )


STREAM_PER_TOKEN_MS = 20  # the check's generation pace: a stream read at once shows as all chunks arriving together


def _stream(handler: CustomLLM, prompt: str, max_tokens: int) -> tuple[list[Any], list[float]]:
    """Read the learner's stream like a chat would: the chunks and the arrival times of the text ones."""
    start, chunks, arrivals = time.perf_counter(), [], []
    stream = _call("check042", handler, prompt, max_tokens=max_tokens, stream=True,
                   stream_options={"include_usage": True})
    try:
        for chunk in stream:
            chunks.append(chunk)
            if chunk.choices and chunk.choices[0].delta.content:
                arrivals.append(time.perf_counter() - start)
    except Exception as e:
        if _not_attempted_inside(e):
            raise NotAttempted() from None
        raise
    return chunks, arrivals


@restores_provider
def check_stream(answer: Any) -> str:
    handler = _handler(answer)
    provider().set_latency_scale(1.0)
    provider().set_latency(GENERATE, base_ms=20, per_token_ms=STREAM_PER_TOKEN_MS, jitter=0)
    with restored_provider_map():
        for max_tokens in (9, 23):
            prompt = f"Проверка задания 04.2 (max_tokens={max_tokens}): что такое Python?"
            since = _last_n()
            chunks, arrivals = _stream(handler, prompt, max_tokens)
            received = _generate_log(since)
            expect(len(received) == 1, f"на один вызов /generate получил {requests_ru(len(received))}, а нужен 1.")
            expect(received[0].get("stream") is True,
                   "запрос к /generate ушёл без \"stream\": true — ответ пришёл целиком, и его куски не "
                   "появятся раньше конца генерации. Откройте поток: httpx.stream(\"POST\", api_base, json=...).")
            expect(received[0].get("max_tokens") == max_tokens,
                   f"вызов просил max_tokens={max_tokens}, а /generate получил {received[0].get('max_tokens')}: "
                   "возьмите его из optional_params.")
            truth = _direct(prompt, max_tokens)
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            expect(text == truth["generated_text"], f"склеенный поток — {text[:50]!r}…, а /generate ответил "
                                                    f"{truth['generated_text'][:50]!r}…: отдавайте text каждой строки.")
            expect(len(arrivals) >= 2, "весь текст пришёл одним куском: отдавайте по GenericStreamingChunk на "
                                       "каждую строку NDJSON.")
            finish = next((c.choices[0].finish_reason for c in reversed(chunks)
                           if c.choices and c.choices[0].finish_reason), None)
            expect(finish == truth["finish_reason"],
                   f"finish_reason последнего куска — {finish!r}, а /generate сообщил {truth['finish_reason']!r} "
                   "в строке {\"done\": true}: передайте его в последний кусок.")
            usage = getattr(chunks[-1], "usage", None)
            want = (truth["tokens"]["prompt"], truth["tokens"]["completion"])
            got = (usage.prompt_tokens, usage.completion_tokens) if usage is not None else None
            expect(got == want,
                   f"с stream_options={{'include_usage': True}} в последнем куске нужен usage {want} — счёт API из "
                   "строки {\"done\": true}, а там " + ("его нет" if got is None else
                                                      f"{got}: это оценка самого LiteLLM, своим токенизатором, — "
                                                      "передайте usage в последний GenericStreamingChunk") + ".")
            if max_tokens == 23:
                spread = arrivals[-1] - arrivals[0]
                generation = max_tokens * STREAM_PER_TOKEN_MS / 1000
                expect(spread >= generation / 2,
                       f"куски пришли разом (между первым и последним {spread * 1000:.0f} мс, а генерация шла "
                       f"{generation * 1000:.0f} мс): поток прочитан целиком и только потом отдан. Отдавайте кусок, "
                       "как только пришла его строка.")
    return "настоящий поток: по куску на строку NDJSON по мере прихода, finish_reason и usage в последнем куске."


class _SplitPlainAnswer(CustomLLM):  # no stream: the whole answer, then cut into words
    def streaming(self, model, messages, *args, api_base=None, optional_params=None, **kwargs):
        data = httpx.post(api_base, json={"prompt": messages[-1]["content"],
                                          "max_tokens": optional_params.get("max_tokens", 100)}).json()
        words = data["generated_text"].split(" ")
        for i, word in enumerate(words):
            last = i == len(words) - 1
            t = data["tokens"]
            yield GenericStreamingChunk(text=word if last else word + " ", index=0, tool_use=None, is_finished=last,
                                        finish_reason=data["finish_reason"] if last else "",
                                        usage={"prompt_tokens": t["prompt"], "completion_tokens": t["completion"],
                                               "total_tokens": t["prompt"] + t["completion"]} if last else None)


class _ReadsAllFirst(GenerateStream):  # streams from /generate, but hands the chunks on only at the end
    def streaming(self, *args, **kwargs):
        yield from list(super().streaming(*args, **kwargs))


class _NoUsageInLastChunk(CustomLLM):
    def streaming(self, model, messages, *args, api_base=None, optional_params=None, timeout=None, **kwargs):
        payload = {"prompt": messages[-1]["content"], "max_tokens": optional_params.get("max_tokens", 100),
                   "stream": True}
        with httpx.stream("POST", api_base, json=payload, timeout=timeout) as response:
            for line in response.iter_lines():
                if line:
                    item = json.loads(line)
                    done = item.get("done", False)
                    yield GenericStreamingChunk(text=item.get("text", ""), index=0, tool_use=None, is_finished=done,
                                                finish_reason=item["finish_reason"] if done else "", usage=None)


register(Exercise(
    id="04.2",
    title="Настоящий поток из /generate",
    check=check_stream,
    reference=GenerateStream,
    answer_name="GenerateStream",
    imports="import json\n\nimport httpx\nfrom litellm.llms.custom_llm import CustomLLM\n"
            "from litellm.types.utils import GenericStreamingChunk",
    hints=[
        "Запрос — тот же JSON, что и без потока, плюс \"stream\": true; читайте его через "
        "with httpx.stream(\"POST\", api_base, json=payload, timeout=timeout) as response: и "
        "for line in response.iter_lines(). streaming должен быть генератором (yield).",
        "Каждая непустая строка — json.loads(line). {\"text\": ...} → GenericStreamingChunk(text=..., index=0, "
        "tool_use=None, is_finished=False, finish_reason=\"\", usage=None). Последняя, {\"done\": true, ...}, — "
        "кусок с is_finished=True, finish_reason из строки и usage из её tokens.",
        "Не собирайте строки в список: yield — сразу по приходу строки. max_tokens — из optional_params; usage — "
        "словарь prompt_tokens / completion_tokens / total_tokens, как в задании 4.1.",
    ],
    wrong_answers=[_SplitPlainAnswer, _ReadsAllFirst, _NoUsageInLastChunk],
))


# --- 04.3 (decide): /generate's failures as LiteLLM exceptions --------------------------------

class MyMappedLLM(CustomLLM):
    def completion(self, model, messages, *args, api_base=None, optional_params=None, timeout=None, **kwargs):
        payload = {"prompt": messages[-1]["content"], "max_tokens": (optional_params or {}).get("max_tokens", 100)}
        try:
            response = httpx.post(api_base, json=payload, timeout=timeout)
        except httpx.TimeoutException as e:  # the client gave up: a timeout, litellm.Timeout (retried)
            raise CustomLLMError(status_code=408, message=f"/generate не ответил вовремя: {e}")
        if response.status_code >= 400:  # the API's own status: LiteLLM picks the class from it
            raise CustomLLMError(status_code=response.status_code, message=response.json()["error"]["message"])
        data = response.json()
        return litellm.ModelResponse(model=model, choices=[{"message": {"role": "assistant",
                                                                        "content": data["generated_text"]}}])


# fault of /generate -> the class lesson 02's handlers must see when it does not go away
DIRECT: list[tuple[int | str, type[Exception]]] = [
    (429, litellm.RateLimitError), (503, litellm.ServiceUnavailableError), (500, litellm.InternalServerError),
    ("hang", litellm.Timeout), (400, litellm.BadRequestError), (401, litellm.AuthenticationError),
]
ROUTED_TEMPORARY = [503, 429, 500, "hang"]  # once each: the Router must retry and answer
CALL_TIMEOUT = 0.5


def _fault(fault: int | str, times: int | None) -> str:
    if fault == "hang":
        provider().fail(GENERATE, kind="hang", times=times)
        return "зависание /generate"
    provider().fail(GENERATE, int(fault), times=times)
    return f"ответ /generate {fault}"


def _router(provider_name: str) -> litellm.Router:
    """The project's Router: two deployments of the custom model, LiteLLM's default retries."""
    deployment = {"model_name": "internal", "litellm_params": {"model": f"{provider_name}/generate",
                                                               "api_base": provider().generate_url}}
    return litellm.Router(model_list=[{**deployment, "model_info": {"id": f"{provider_name}-1"}},
                                      {**deployment, "model_info": {"id": f"{provider_name}-2"}}], num_retries=2)


def _through(call: Any) -> Any:
    """Run one call of the check with a deadline; NotAttempted for the stub, CheckFailed if it hangs."""
    done = run_with_deadline(call, deadline=CALL_TIMEOUT + 3.5)
    if done.error is not None and _not_attempted_inside(done.error):
        raise NotAttempted()
    expect(done.finished, "вызов с timeout=0.5 не закончился и за 4 с: передайте timeout, который LiteLLM даёт "
                          "обработчику, в httpx (httpx.post(..., timeout=timeout)).")
    return done


@restores_provider
def check_mapped_llm(answer: Any) -> str:
    handler = _handler(answer)
    messages = [{"role": "user", "content": "Проверка задания 04.3: что такое Python?"}]
    provider().reset()
    provider().set_latency_scale(0)
    with restored_provider_map():
        _use("check043", handler)
        model = "check043/generate"
        for fault, wanted in DIRECT:  # what lesson 02's handlers see when the fault does not go away
            provider().reset()
            provider().set_latency_scale(0)
            label = _fault(fault, times=None)
            done = _through(lambda: litellm.completion(model=model, api_base=provider().generate_url,
                                                       messages=messages, timeout=CALL_TIMEOUT))
            error = done.error
            expect(error is not None, f"{label}: вызов прошёл успешно, а должен поднять {wanted.__name__}.")
            expect(isinstance(error, wanted),
                   f"{label} → {type(error).__name__} (status_code={getattr(error, 'status_code', None)}), а "
                   f"обработчики урока 02 ждут {wanted.__name__}: с этим классом они "
                   + ("не станут повторять запрос." if wanted in (litellm.BadRequestError, litellm.AuthenticationError)
                      else "поймут, что сбой временный.")
                   + " Какое исключение поднимает ваш обработчик на этот сбой?")
            if fault != "hang":
                expect("Имитация сбоя" in str(error), f"в сообщении {type(error).__name__} нет текста ошибки от "
                                                      "API: передайте его (response.json()['error']['message']).")
            expect(provider().requests() == 1, f"{label}: /generate получил {requests_ru(provider().requests())} "
                                               "на один вызов — не повторяйте запрос внутри обработчика.")
        for fault in ROUTED_TEMPORARY:  # the project's Router retries what is temporary
            provider().reset()
            provider().set_latency_scale(0)
            label = _fault(fault, times=1)
            router = _router("check043")
            done = _through(lambda: router.completion(model="internal", messages=messages, timeout=CALL_TIMEOUT))
            expect(done.error is None, f"{label} один раз: Router с num_retries=2 должен был повторить запрос и "
                                       f"получить ответ, а поднял {type(done.error).__name__}.")
            expect(isinstance(done.result, litellm.ModelResponse) and bool(done.result.choices[0].message.content),
                   f"{label} один раз: после повтора нужен ModelResponse с текстом ответа.")
        provider().reset()
        provider().set_latency_scale(0)
        _fault(400, times=None)
        router = _router("check043")
        done = _through(lambda: router.completion(model="internal", messages=messages, timeout=CALL_TIMEOUT))
        sent = provider().requests()
        expect(sent == 1, f"ответ /generate 400: Router отправил {requests_ru(sent)} — он принял неверный запрос за "
                          "временный сбой и повторил его. Ошибка запроса должна стать BadRequestError.")
        expect(isinstance(done.error, litellm.BadRequestError),
               f"ответ /generate 400 через Router: нужен BadRequestError, а "
               f"{'вызов прошёл' if done.error is None else type(done.error).__name__}.")
    return ("429 → RateLimitError, 503 → ServiceUnavailableError, 500 → InternalServerError, зависание → Timeout, "
            "400 → BadRequestError, 401 → AuthenticationError; Router повторяет временные сбои, но не 400.")


class _RaiseForStatus(CustomLLM):  # httpx's raise_for_status: LiteLLM loses the status (APIConnectionError)
    def completion(self, model, messages, *args, api_base=None, timeout=None, **kwargs):
        response = httpx.post(api_base, json={"prompt": messages[-1]["content"]}, timeout=timeout)
        response.raise_for_status()
        return litellm.ModelResponse(model=model, choices=[{"message": {"role": "assistant",
                                                                        "content": response.json()["generated_text"]}}])


class _Always503(CustomLLM):  # every failure "temporary": 400 and 401 retried too
    def completion(self, model, messages, *args, api_base=None, timeout=None, **kwargs):
        try:
            response = httpx.post(api_base, json={"prompt": messages[-1]["content"]}, timeout=timeout)
        except httpx.TimeoutException as e:
            raise CustomLLMError(status_code=503, message=str(e))
        if response.status_code >= 400:
            raise CustomLLMError(status_code=503, message=response.json()["error"]["message"])
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
    id="04.3",
    title="Какой сбой каким исключением",
    check=check_mapped_llm,
    reference=MyMappedLLM,
    answer_name="MyMappedLLM",
    imports="import httpx\nimport litellm\nfrom litellm.llms.custom_llm import CustomLLM, CustomLLMError",
    hints=[
        "Решение — для каждого сбоя: кому он виден и что с ним делать. Временный (429, 5xx, зависание) — повторить, "
        "ошибка запроса или ключа (400, 401) — нет. LiteLLM выбирает класс по status_code исключения "
        "CustomLLMError(status_code=..., message=...).",
        "Ответ API с кодом ≥ 400 → CustomLLMError(status_code=response.status_code, "
        "message=response.json()['error']['message']). Класс по коду LiteLLM подберёт сам.",
        "Зависание видно как httpx.TimeoutException: ловите его и поднимайте CustomLLMError(status_code=408, ...) — "
        "это litellm.Timeout. Не забудьте передать timeout в httpx.post.",
    ],
    wrong_answers=[_RaiseForStatus, _Always503, _TimeoutUnmapped],
))


# --- quiz -----------------------------------------------------------------------------------

for _question in [
    Question(id="04.q1", text="Что должен вернуть метод `completion` обработчика `CustomLLM`?",
             options=["dict в формате ответа OpenAI", "litellm.ModelResponse", "строку с текстом ответа"], correct=1,
             explanation="`litellm.ModelResponse`. Словарь LiteLLM вернёт вызывающему коду как есть, и "
                         "`r.choices` упадёт с `AttributeError`."),
    Question(id="04.q2", text="Вызов `litellm.completion(model=\"practice/generate\", ..., max_tokens=50)`. Где "
                              "обработчик найдёт 50?",
             options=["kwargs[\"max_tokens\"]", "optional_params[\"max_tokens\"]", "нигде: LiteLLM его отбросит"],
             correct=1, explanation="В `optional_params` — вместе с `temperature` и другими параметрами модели. "
                                    "`kwargs.get(\"max_tokens\")` всегда пуст."),
    Question(id="04.q3", text="Обработчик поднял `CustomLLMError(status_code=503, message=...)`. Что получит "
                              "вызывающий код?",
             options=["CustomLLMError", "litellm.ServiceUnavailableError", "litellm.APIConnectionError"], correct=1,
             explanation="LiteLLM превращает `CustomLLMError` в класс по его `status_code`: 429 → `RateLimitError`, "
                         "503 → `ServiceUnavailableError`, 408 и 504 → `Timeout`, 401 → `AuthenticationError`."),
    Question(id="04.q4", text="Обработчик вызвал `response.raise_for_status()` на ответе API 429. Что получит "
                              "вызывающий код?",
             options=["litellm.RateLimitError", "httpx.HTTPStatusError",
                      "litellm.APIConnectionError со статусом 500"], correct=2,
             explanation="Незнакомое исключение LiteLLM заворачивает в `APIConnectionError` со `status_code` 500: "
                         "код ответа теряется, и `except RateLimitError` его не поймает."),
    Question(id="04.q5", text="Для своей модели не вызывали `litellm.register_model`. Что в "
                              "`r._hidden_params[\"response_cost\"]`?",
             options=["0.0", "None", "цена, посчитанная по usage"], correct=1,
             explanation="`None`: LiteLLM не знает цены модели. `register_model` с `input_cost_per_token` и "
                         "`output_cost_per_token` даёт `response_cost`; `completion_cost` нужно ещё полное имя "
                         "модели."),
    Question(id="04.q6", text="Какой метод обработчика нужен для `await litellm.acompletion(..., stream=True)`?",
             options=["streaming", "acompletion", "astreaming"], correct=2,
             explanation="`astreaming` — асинхронный генератор. `acompletion`, `streaming` и `astreaming` — отдельные "
                         "методы, и без нужного вызов падает."),
    Question(id="04.q7", text="Router с двумя развёртываниями своей модели и `num_retries=2`; `/generate` отвечает "
                              "400, обработчик поднимает `CustomLLMError(400, ...)`. Сколько запросов получит "
                              "`/generate`?",
             correct=1, explanation="Один: `BadRequestError` Router не повторяет — неверный запрос повтор не "
                                    "исправит. Если бы обработчик поднял `raise_for_status()`, получилось бы 3."),
]:
    register_question(_question)
