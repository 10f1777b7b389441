# %% [markdown]
# # Урок 04. Собственные провайдеры
#
# Не каждый API говорит на языке OpenAI: внутренняя модель компании, локальный сервер, старый
# сервис с собственным JSON. LiteLLM умеет работать и с ними — через класс `CustomLLM`. Тогда
# ваш API получает всё, что LiteLLM даёт «настоящим» провайдерам: единый `completion`, потоковый
# режим, исключения, цену, `Router` и резервные модели.
#
# **В этом уроке вы:**
# - запустите провайдер из исходного урока и увидите, почему он ломается (он возвращает `dict`);
# - напишете правильный `CustomLLM`: `ModelResponse` с `usage`, `acompletion`, `streaming`, `astreaming`;
# - обернёте нестандартный API `POST /generate` практического провайдера через `httpx` — и обычный
#   ответ, и его настоящий поток (NDJSON, строка за строкой);
# - превратите его ошибки в исключения LiteLLM, чтобы работали обработчики урока 02 и резервные модели урока 03;
# - назначите своей модели цену (`register_model`) и прочитаете `response_cost`;
# - используете свой провайдер в `Router` как резервную модель.
#
# ⏱ **Время:** 45 минут.

# %%
from course_helpers import start_lesson

course = start_lesson("04")

# %% [markdown]
# ## 4.1 Нестандартный API: `POST /generate`
#
# У практического провайдера, кроме OpenAI-совместимого чата, есть «самописный» API — как в
# исходном уроке:
#
# | | |
# |---|---|
# | запрос | `POST {course.provider.generate_url}` с JSON `{"prompt": "...", "max_tokens": 100}` |
# | ответ 200 | `{"generated_text": "...", "finish_reason": "stop" \| "length", "tokens": {"prompt": N, "completion": M}}` |
# | поток | тот же запрос с `"stream": true` → `Content-Type: application/x-ndjson`, по JSON-объекту на строку: `{"text": "..."}` … и последняя `{"done": true, "finish_reason": ..., "tokens": {...}}` |
# | ошибка 4xx/5xx | `{"error": {"message": "...", "code": 503}}` |
#
# Ни ролей, ни `choices`, а поток — не SSE (`data: ...`), как у OpenAI, а NDJSON: строки приходят
# по мере генерации ответа. Сбои и лимиты срабатывают до начала потока и приходят обычной
# JSON-ошибкой. Сбои включаются как обычно, моделью для них служит `"practice/generate"`.
# Сначала вызовем API напрямую.
#
# Исходный урок ходит в сеть через `requests`. Мы возьмём `httpx`: на нём работает сам LiteLLM
# (это его обязательная зависимость, а `requests` — нет: LiteLLM просит его только для extra `[cli]`,
# а здесь он установлен лишь потому, что его тянет `tiktoken`), и у него есть асинхронный клиент,
# который понадобится для `acompletion`.

# %%
from importlib.metadata import requires

import httpx

# обязательные зависимости LiteLLM (без extras вроде [cli] и [proxy])
litellm_deps = [r for r in requires("litellm") if "extra ==" not in r]
print("httpx — обязательная зависимость LiteLLM:", any(d.startswith("httpx") for d in litellm_deps))
print("requests — обязательная зависимость LiteLLM:", any(d.startswith("requests") for d in litellm_deps))

GEN = course.provider.generate_url
reply = httpx.post(GEN, json={"prompt": "Что такое Python?", "max_tokens": 30})
print(reply.status_code, reply.json())

# %%
course.provider.fail("practice/generate", 503, times=1)  # один сбой
reply = httpx.post(GEN, json={"prompt": "Что такое Python?", "max_tokens": 30})
print(reply.status_code, reply.json())

# %% [markdown]
# Поток читаем через `httpx.stream(...)`: тело не скачивается целиком, `iter_lines()` отдаёт строку,
# как только она пришла.

# %%
with httpx.stream("POST", GEN, json={"prompt": "Что такое Python?", "max_tokens": 12, "stream": True}) as reply:
    print(reply.status_code, reply.headers["content-type"])
    for line in reply.iter_lines():
        print("   ", line)

# %% [markdown]
# ## 4.2 Провайдер из исходного урока — вживую
#
# Вот класс из исходного урока почти дословно (адрес заменён на наш `/generate`). Он возвращает
# обычный `dict`, «похожий» на ответ OpenAI.

# %%
import litellm
from litellm.llms.custom_llm import CustomLLM


class MyCustomProvider(CustomLLM):
    def completion(self, model: str, messages: list, **kwargs):
        # Преобразуем сообщения в один промпт
        prompt = "\n".join([m["content"] for m in messages])
        # Отправляем запрос к нашему API
        response = httpx.post(GEN, json={"prompt": prompt, "max_tokens": kwargs.get("max_tokens", 100)})
        # Форматируем ответ в структуру, «ожидаемую LiteLLM»
        result = response.json()
        return {"choices": [{"message": {"content": result["generated_text"], "role": "assistant"}}]}


litellm.custom_provider_map = [{"provider": "my_custom_provider", "custom_handler": MyCustomProvider()}]

r = litellm.completion(model="my_custom_provider/my-model",
                       messages=[{"role": "user", "content": "Привет!"}], max_tokens=5)
print("тип ответа:", type(r).__name__)
try:
    print(r.choices[0].message.content)
except AttributeError as e:
    print("r.choices[0] ->", type(e).__name__ + ":", e)

# %% [markdown]
# LiteLLM **не проверяет и не преобразует** то, что вернул `completion`: `dict` приходит к вам
# как есть, и любой код, написанный для LiteLLM (`r.choices[0].message.content`, `r.usage`,
# `response_cost`, кэш, `Router`), на нём падает.
#
# Вторая, незаметная ошибка: мы просили `max_tokens=5`, а API получил 100. Посмотрим в журнал
# провайдера:

# %%
last = course.provider.log()[-1]
print("модель:", last["model"], "| токенов ответа:", last["completion_tokens"])
print("max_tokens=5 соблюдён:", last["completion_tokens"] <= 5)

# %% [markdown]
# > **Осторожно:** в исходном уроке сказано, что `completion` возвращает словарь «в структуре,
# > ожидаемой LiteLLM». На самом деле LiteLLM ждёт объект `litellm.ModelResponse`; словарь он
# > возвращает без изменений, и `r.choices` падает с `AttributeError`. Кроме того,
# > `kwargs.get("max_tokens")` всегда пуст: параметры модели (`max_tokens`, `temperature`…)
# > LiteLLM передаёт в обработчик в словаре `optional_params`, а не отдельными аргументами.
#
# ## 4.3 Правильная форма: `ModelResponse` с `usage`
#
# LiteLLM вызывает методы обработчика только именованными аргументами. Нам нужны:
# `model` (**без** префикса провайдера: для `"practice/generate"` придёт `"generate"`),
# `messages`, `api_base` (если его передали в вызов или в `Router`), `optional_params`
# (`max_tokens` и другие параметры) и `timeout`. Остальное — в `**kwargs`.

# %%
def payload_of(messages, optional_params):
    """JSON для /generate: промпт из сообщений, max_tokens из optional_params."""
    return {"prompt": "\n".join(m["content"] for m in messages),
            "max_tokens": (optional_params or {}).get("max_tokens", 100)}


def call_generate(api_base, messages, optional_params, timeout=5.0):
    return httpx.post(api_base or GEN, json=payload_of(messages, optional_params), timeout=timeout)


def usage_of(data):
    """Токены считает API, а не LiteLLM."""
    tokens = data["tokens"]
    return {"prompt_tokens": tokens["prompt"], "completion_tokens": tokens["completion"],
            "total_tokens": tokens["prompt"] + tokens["completion"]}


def to_response(model, data):
    """Ответ /generate -> ModelResponse с usage."""
    return litellm.ModelResponse(
        model=model,
        choices=[{"message": {"role": "assistant", "content": data["generated_text"]},
                  "finish_reason": data["finish_reason"]}],
        usage=usage_of(data),
    )


class GenerateV1(CustomLLM):
    def completion(self, model, messages, *args, api_base=None, optional_params=None, **kwargs):
        print("   обработчик получил model =", repr(model))
        return to_response(model, call_generate(api_base, messages, optional_params).json())


litellm.custom_provider_map = [{"provider": "practice", "custom_handler": GenerateV1()}]

M = [{"role": "user", "content": "Что такое Python?"}]
r = litellm.completion(model="practice/generate", messages=M, max_tokens=20)
print(type(r).__name__, "| r.model =", r.model, "| finish_reason =", r.choices[0].finish_reason)
print(r.choices[0].message.content)
print("usage:", r.usage.prompt_tokens, "+", r.usage.completion_tokens, "=", r.usage.total_tokens)

# %% [markdown]
# Теперь это полноценный ответ LiteLLM, и `max_tokens=20` дошёл до API (`finish_reason = length`).
#
# > **Важно:** LiteLLM **не считает токены** за свой провайдер. Если не передать `usage`, у ответа
# > не будет атрибута `usage` вовсе — и не будет ни статистики токенов, ни стоимости.

# %%
class NoUsage(CustomLLM):
    def completion(self, model, messages, *args, **kwargs):
        return litellm.ModelResponse(model=model, choices=[{"message": {"role": "assistant", "content": "ок"}}])


litellm.custom_provider_map = [{"provider": "nousage", "custom_handler": NoUsage()}]
r = litellm.completion(model="nousage/x", messages=M)
print("hasattr(r, 'usage'):", hasattr(r, "usage"), "| response_cost:", r._hidden_params.get("response_cost"))

# %% [markdown]
# У `GenerateV1` есть только `completion`. Асинхронный вызов и поток — это **другие методы**, и
# без них LiteLLM отвечает исключением:

# %%
litellm.custom_provider_map = [{"provider": "practice", "custom_handler": GenerateV1()}]
try:
    await litellm.acompletion(model="practice/generate", messages=M)
except litellm.InternalServerError as e:
    print("acompletion:", type(e).__name__, "—", str(e).split(" - ")[-1])
try:
    litellm.completion(model="practice/generate", messages=M, stream=True)
except litellm.InternalServerError as e:
    print("stream=True:", type(e).__name__, "—", str(e).split(" - ")[-1])

# %% [markdown]
# `acompletion` → метод `acompletion`, `stream=True` → `streaming`, асинхронный поток → `astreaming`.
# Каждый нужно написать самому: в базовом классе они поднимают `CustomLLMError(500, "Not implemented yet!")`.
# Без `astreaming` ошибка ещё запутаннее: `acompletion(stream=True)` вернёт поток, а `async for` упадёт с
# `MidStreamFallbackError: ... 'coroutine' object is not an iterator`.
#
# ## 4.4 Ошибки API → исключения LiteLLM
#
# Что будет, если API ответит 429, а обработчик просто вызовет `response.raise_for_status()`
# (или упадёт на `response.json()["generated_text"]`)? LiteLLM завернёт любое незнакомое исключение
# в `APIConnectionError` со статусом 500 — и **код ответа потеряется**:

# %%
class RaiseForStatus(CustomLLM):
    def completion(self, model, messages, *args, api_base=None, optional_params=None, **kwargs):
        response = call_generate(api_base, messages, optional_params)
        response.raise_for_status()
        return to_response(model, response.json())


litellm.custom_provider_map = [{"provider": "practice", "custom_handler": RaiseForStatus()}]
course.provider.fail("practice/generate", 429, times=1)
try:
    litellm.completion(model="practice/generate", messages=M)
except litellm.RateLimitError:
    print("поймали RateLimitError")
except Exception as e:
    print("вместо RateLimitError:", type(e).__name__, "| status_code =", e.status_code)

# %% [markdown]
# Обработчик урока 02 (`except RateLimitError: подождать и повторить`) такой 429 не узнает, а
# `Router` не поймёт, что деплой перегружен. Правильно — поднять **`CustomLLMError`** с кодом из
# ответа API: LiteLLM сам превратит его в нужный класс. Таймаут клиента (`httpx.TimeoutException`)
# тоже сам собой не станет `litellm.Timeout` — его переводим в код 408.
#
# Вот полный провайдер: все четыре метода, `httpx` (синхронный и асинхронный), `usage` из ответа
# API, перевод ошибок — и настоящий поток: `streaming` и `astreaming` открывают `httpx.stream(...)`
# с `"stream": true` и отдают по `GenericStreamingChunk` на каждую строку NDJSON, как только она
# пришла. Последняя строка (`"done": true`) становится последним куском: `is_finished=True`,
# `finish_reason` и `usage` из её `tokens`.

# %%
import json
from itertools import chain

from litellm.llms.custom_llm import CustomLLMError
from litellm.types.utils import GenericStreamingChunk


def check_reply(response):
    """Ошибка API -> CustomLLMError с тем же кодом; иначе JSON ответа."""
    if response.status_code >= 400:
        raise CustomLLMError(status_code=response.status_code, message=response.json()["error"]["message"])
    return response.json()


def chunk_of(line):
    """Строка NDJSON -> GenericStreamingChunk; последняя ({"done": true}) — с finish_reason и usage."""
    item = json.loads(line)
    done = item.get("done", False)
    return GenericStreamingChunk(text=item.get("text", ""), index=0, tool_use=None, is_finished=done,
                                 finish_reason=item["finish_reason"] if done else "",
                                 usage=usage_of(item) if done else None)


def stream_generate(api_base, messages, optional_params, timeout):
    """Настоящий поток /generate: кусок отдаём, как только пришла его строка."""
    payload = {**payload_of(messages, optional_params), "stream": True}
    try:
        with httpx.stream("POST", api_base or GEN, json=payload, timeout=timeout or 5.0) as response:
            if response.status_code >= 400:  # сбой или лимит — до потока, обычной JSON-ошибкой
                response.read()
                check_reply(response)
            for line in response.iter_lines():
                if line:
                    yield chunk_of(line)
    except httpx.TimeoutException as e:
        raise CustomLLMError(status_code=408, message=f"/generate не ответил вовремя: {e}")


class GenerateProvider(CustomLLM):
    # LiteLLM передаёт timeout (по умолчанию 600 с); ошибки — через check_reply
    def _post(self, messages, api_base=None, optional_params=None, timeout=None, **kwargs):
        try:
            response = call_generate(api_base, messages, optional_params, timeout=timeout or 5.0)
        except httpx.TimeoutException as e:
            raise CustomLLMError(status_code=408, message=f"/generate не ответил вовремя: {e}")
        return check_reply(response)

    async def _apost(self, messages, api_base=None, optional_params=None, timeout=None, **kwargs):
        try:
            async with httpx.AsyncClient(timeout=timeout or 5.0) as client:
                response = await client.post(api_base or GEN, json=payload_of(messages, optional_params))
        except httpx.TimeoutException as e:
            raise CustomLLMError(status_code=408, message=f"/generate не ответил вовремя: {e}")
        return check_reply(response)

    def completion(self, model, messages, *args, **kwargs):
        return to_response(model, self._post(messages, **kwargs))

    async def acompletion(self, model, messages, *args, **kwargs):
        return to_response(model, await self._apost(messages, **kwargs))

    def streaming(self, model, messages, *args, api_base=None, optional_params=None, timeout=None, **kwargs):
        # обычная функция, не генератор: первый кусок берём сразу — запрос уходит здесь, и 429
        # вылетит из completion(stream=True); остальные куски читаются по мере прихода
        chunks = stream_generate(api_base, messages, optional_params, timeout)
        return chain([next(chunks)], chunks)

    async def astreaming(self, model, messages, *args, api_base=None, optional_params=None, timeout=None,
                         **kwargs):
        # а здесь нужен именно асинхронный генератор: AsyncClient.stream и aiter_lines()
        payload = {**payload_of(messages, optional_params), "stream": True}
        try:
            async with httpx.AsyncClient(timeout=timeout or 5.0) as client:
                async with client.stream("POST", api_base or GEN, json=payload) as response:
                    if response.status_code >= 400:
                        await response.aread()
                        check_reply(response)
                    async for line in response.aiter_lines():
                        if line:
                            yield chunk_of(line)
        except httpx.TimeoutException as e:
            raise CustomLLMError(status_code=408, message=f"/generate не ответил вовремя: {e}")


litellm.custom_provider_map = [{"provider": "practice", "custom_handler": GenerateProvider()}]

# %% [markdown]
# Проверим карту ошибок вживую: сбой API → что получает ваш код. Для зависания API ставим
# клиенту `timeout=1` секунду.

# %%
for fault in [429, 503, 500, 502, 504, 401, "hang"]:
    if fault == "hang":
        course.provider.fail("practice/generate", kind="hang", times=1)
    else:
        course.provider.fail("practice/generate", fault, times=1)
    try:
        litellm.completion(model="practice/generate", messages=M, timeout=1)
    except Exception as e:
        print(f"API: {str(fault):>4} -> litellm.{type(e).__name__:<24} status_code={e.status_code}")

# %% [markdown]
# Карта та же, что у провайдера `openai/` в уроке 02 (у `openrouter/` 500 и 502 приходят как
# `APIError`), и все эти классы — наследники `openai.APIError`. Поэтому обработчики урока 02 и
# резервные модели урока 03 работают со своим провайдером без изменений.
#
# Все четыре пути вызова:

# %%
r = litellm.completion(model="practice/generate", messages=M, max_tokens=15)
print("completion:  ", r.choices[0].message.content, "|", r.usage.total_tokens, "токенов")

r = await litellm.acompletion(model="practice/generate", messages=M, max_tokens=15)
print("acompletion: ", r.choices[0].message.content, "|", r.usage.total_tokens, "токенов")

chunks = list(litellm.completion(model="practice/generate", messages=M, max_tokens=15, stream=True))
print("stream:      ", "".join(c.choices[0].delta.content or "" for c in chunks), "|", len(chunks), "кусков",
      "| usage в последнем куске:", hasattr(chunks[-1], "usage"))
print("              куски — ModelResponseStream:", all(type(c).__name__ == "ModelResponseStream" for c in chunks),
      "| finish_reason последнего:", chunks[-1].choices[0].finish_reason)
built = litellm.stream_chunk_builder(chunks).usage
print("              stream_chunk_builder(chunks).usage:", built.prompt_tokens, "+", built.completion_tokens)


stream = await litellm.acompletion(model="practice/generate", messages=M, max_tokens=15, stream=True,
                                   stream_options={"include_usage": True})
chunks = [chunk async for chunk in stream]
print("astream:     ", "".join(c.choices[0].delta.content or "" for c in chunks if c.choices), "|",
      "usage:", chunks[-1].usage.prompt_tokens, "+", chunks[-1].usage.completion_tokens)

# %% [markdown]
# > **Важно:** `streaming` отдаёт словари `GenericStreamingChunk`, а вы получаете объекты
# > `ModelResponseStream` (как у любого провайдера): LiteLLM сам заворачивает каждый кусок. `usage`
# > из последнего `GenericStreamingChunk` попадает в куски, которые видит ваш цикл, только если
# > попросить `stream_options={"include_usage": True}`. Так LiteLLM поступает с любым провайдером —
# > даже с OpenRouter, который присылает `usage` в конце каждого потока. Но он `usage` не теряет:
# > `litellm.stream_chunk_builder(chunks)` склеивает куски в обычный ответ, и `usage` в нём есть.
#
# > **Осторожно:** `astreaming` обязан быть асинхронным генератором, поэтому запрос к API
# > происходит уже во время `async for`. Ошибка API приходит оттуда же и обёрнутой:
# > `MidStreamFallbackError` (наследник `ServiceUnavailableError`) с `status_code` исходной ошибки
# > и самой ошибкой в `e.original_exception`.

# %%
course.provider.fail("practice/generate", 429, times=1)
stream = await litellm.acompletion(model="practice/generate", messages=M, stream=True)
print("acompletion(stream=True) вернул поток без ошибки:", type(stream).__name__)
try:
    async for _ in stream:
        pass
except litellm.ServiceUnavailableError as e:
    print("в async for:", type(e).__name__, "| status_code =", e.status_code,
          "| original_exception:", type(e.original_exception).__name__)

# %% [markdown]
# ## 4.5 Настоящий поток: когда приходят куски
#
# `/generate` с `"stream": true` отдаёт строки по мере генерации, и наш `streaming` пропускает
# каждую дальше сразу. Сравним его поток с потоком OpenRouter-модели (SSE), а для сравнения замерим,
# когда приходит ответ без потока (обычный `completion`). Задержки обоих API зададим одинаковыми и
# без случайного разброса (`jitter=0`); считаем только куски с текстом.

# %%
import time

import matplotlib.pyplot as plt

for model_id in ("practice/generate", "openai/gpt-4o-mini"):
    course.provider.set_latency(model_id, base_ms=200, per_token_ms=20, jitter=0)


def arrival_times(model):
    """Время прихода каждого куска с текстом, мс от отправки запроса."""
    start, times = time.perf_counter(), []
    for chunk in litellm.completion(model=model, messages=M, max_tokens=60, stream=True):
        if chunk.choices and chunk.choices[0].delta.content:
            times.append((time.perf_counter() - start) * 1000)
    return times


arrival_times("openrouter/openai/gpt-4o-mini")  # разогрев: первый вызов модели в процессе дольше (~150 мс)
openrouter = arrival_times("openrouter/openai/gpt-4o-mini")
custom = arrival_times("practice/generate")
start = time.perf_counter()
litellm.completion(model="practice/generate", messages=M, max_tokens=60)
whole = (time.perf_counter() - start) * 1000

fig, ax = plt.subplots(figsize=(7, 3.2))
ax.step(openrouter, range(1, len(openrouter) + 1), where="post", marker="o", markersize=3,
        label="OpenRouter (SSE)")
ax.step(custom, range(1, len(custom) + 1), where="post", marker="s", markersize=3,
        label="свой провайдер (/generate, NDJSON)")
ax.set_xlabel("время от отправки запроса, мс")
ax.set_ylabel("кусков с текстом получено")
ax.set_xlim(left=0)
ax.legend()
ax.grid(alpha=0.3)
plt.show()

print("свой поток: первый кусок пришёл задолго до последнего:", custom[0] < custom[-1] / 2)
print(f"свой поток: первый кусок через {custom[0]:.0f} мс, ответ без потока — через {whole:.0f} мс")
print("свой поток: первый кусок — раньше, чем ответ без потока:", custom[0] < whole / 2)
print("у OpenRouter так же:", openrouter[0] < openrouter[-1] / 2)
course.provider.reset()  # задержки и статистика — к исходным

# %% [markdown]
# Обе лесенки начинаются сразу после задержки первого токена и растут по мере генерации: свой
# провайдер стримит так же, как настоящий (у моделей разные ответы, поэтому число кусков разное).
# Если бы ваш API потока не умел, `streaming` мог бы только порезать готовый ответ на куски — и все
# они пришли бы разом, вместе с ответом без потока: пользователь ждал бы столько же.
#
# ## 4.6 Цена своей модели
#
# Токены у ответа есть, а стоимости нет: в таблице цен LiteLLM модели `practice/generate` нет.
# Цену сообщает `litellm.register_model`. Для `/generate` практический провайдер считает по
# $0.10 за миллион токенов запроса и $0.20 за миллион токенов ответа.

# %%
r = litellm.completion(model="practice/generate", messages=M, max_tokens=40)
print("до register_model: response_cost =", r._hidden_params.get("response_cost"))

litellm.register_model({
    "practice/generate": {
        "input_cost_per_token": 0.10 / 1_000_000,
        "output_cost_per_token": 0.20 / 1_000_000,
        "litellm_provider": "practice",
        "mode": "chat",
    }
})

course.provider.reset()
r = litellm.completion(model="practice/generate", messages=M, max_tokens=40)
cost = r._hidden_params["response_cost"]
print(f"после register_model: response_cost = {cost:.8f} $ за {r.usage.prompt_tokens} + {r.usage.completion_tokens} токенов")
print("совпадает с тем, что насчитал провайдер:", abs(cost - course.provider.stats()["cost"]) < 1e-12)

# %% [markdown]
# `litellm.completion_cost(r)` сам по себе модель не найдёт: в ответе `r.model == "generate"`,
# без провайдера. Подскажите ему полное имя или провайдера:

# %%
try:
    litellm.completion_cost(completion_response=r)
except litellm.BadRequestError as e:
    print("completion_cost(r):", type(e).__name__, "—", str(e).split(": ", 1)[1].split(".")[0])

print(f"completion_cost(r, model='practice/generate') = {litellm.completion_cost(completion_response=r, model='practice/generate'):.8f}")
print(f"completion_cost(r, custom_llm_provider='practice') = {litellm.completion_cost(completion_response=r, custom_llm_provider='practice'):.8f}")

# %% [markdown]
# ## 4.7 «Наш проект»: `course_helpers/custom_provider.py`
#
# В исходном уроке упоминается файл проекта `providers/custom_provider.py`. В курсе это
# `course_helpers/custom_provider.py` — тот же `GenerateProvider`, оформленный для повторного
# использования: класс `GenerateLLM` (четыре метода, `httpx`, `usage`, настоящий поток NDJSON,
# перевод ошибок, включая испорченный JSON и оборванный поток → 502) и функция
# `register(provider_name="practice", base_url=...)`, которая заменяет запись в
# `litellm.custom_provider_map` (не трогая чужие) и регистрирует цену. Одно отличие от кода выше:
# его `streaming` не ждёт первого куска — соединение держит `contextlib.ExitStack`, и функция
# возвращается сразу после заголовков ответа (ошибки API по-прежнему вылетают из вызова).
# Откройте файл и сравните с кодом выше.

# %%
from course_helpers.custom_provider import GenerateLLM, register

handler = register(provider_name="practice", base_url=GEN)
print("зарегистрирован:", [item["provider"] for item in litellm.custom_provider_map])
print("обработчик — GenerateLLM:", isinstance(handler, GenerateLLM))

# %% [markdown]
# ### Свой провайдер в `Router` и как резервная модель
#
# Для `Router` своя модель — обычный деплой: `"model": "practice/generate"`, а адрес API можно
# передать через `api_base` (он придёт в обработчик). Сделаем её резервной для OpenRouter-модели
# и «уроним» основную модель (503 на каждый запрос). `num_retries=0` — чтобы было видно ровно
# один запрос к основной модели (повторы в `Router` — тема урока 05).

# %%
router = litellm.Router(
    model_list=[
        {"model_name": "main", "litellm_params": {"model": "openrouter/openai/gpt-4o-mini"}},
        {"model_name": "reserve", "litellm_params": {"model": "practice/generate", "api_base": GEN}},
    ],
    fallbacks=[{"main": ["reserve"]}],
    num_retries=0,
)

course.provider.reset()
course.provider.fail("openai/gpt-4o-mini", 503)  # основная модель лежит
r = router.completion(model="main", messages=M, max_tokens=30)
print("ответила модель:", r.model, "| группа:", r._hidden_params["additional_headers"]["x-litellm-model-group"])
print(f"стоимость: {r._hidden_params['response_cost']:.8f} $")
print("ответы провайдера:", {m: {k: v for k, v in s.items() if k.startswith("status_")}
                             for m, s in course.provider.stats()["by_model"].items()})
course.provider.clear_faults()

# %% [markdown]
# И в обратную сторону: 429 от своего провайдера ловится обычным `except litellm.RateLimitError`
# из урока 02:

# %%
course.provider.fail("practice/generate", 429, times=1)
try:
    router.completion(model="reserve", messages=M)
except litellm.RateLimitError as e:
    print("RateLimitError от своего провайдера, status_code =", e.status_code)

# %% [markdown]
# ## 4.8 Панель: песочница своего провайдера
#
# Отправьте запрос через свой провайдер обычным вызовом или потоком: в потоковом режиме ответ растёт
# на глазах, кусок за куском, по мере того как `/generate` присылает строки; внизу — токены,
# стоимость, время первого куска и график прихода кусков. Для сравнения выберите
# OpenRouter-модель с настоящим потоком, а в «Сбое» — 429 или зависание, чтобы увидеть исключение.

# %%
from course_helpers.panels.custom import CustomProviderPlayground

playground = CustomProviderPlayground(course.provider)
playground.widget

# %% [markdown]
# Кнопка вызывает `playground.send()`; вызовем его из кода — потоковый режим, свой провайдер:

# %%
result = playground.send()
print(result["outcome"], "| кусков:", result["chunks"], "| токены:", result["prompt_tokens"], "+",
      result["completion_tokens"], f"| стоимость: {result['cost']:.8f} $")

# %% [markdown]
# ### Задание 4.1. `CustomLLM` для `/generate`
#
# Напишите класс `MyGenerateLLM(CustomLLM)` с методом `completion`, который:
# - отправляет в `api_base` (проверка передаёт туда адрес `/generate`) **один** запрос
#   `{"prompt": ..., "max_tokens": ...}`, где `max_tokens` берётся из `optional_params`;
# - возвращает `litellm.ModelResponse` с текстом ответа и `usage` из `data["tokens"]`.
#
# Проверка зарегистрирует класс под своим именем провайдера, вызовет его через
# `litellm.completion(..., max_tokens=12)`, сравнит текст и `usage` с ответом API и посчитает
# запросы к `/generate`. `litellm.custom_provider_map` после проверки возвращается как был.

# %%
class MyGenerateLLM(CustomLLM):
    def completion(self, model, messages, *args, api_base=None, optional_params=None, **kwargs):
        # ваш код здесь
        raise NotImplementedError


# %%
from course_helpers import check, hint, progress, solution

check("04.1", MyGenerateLLM)

# %% [markdown]
# <details><summary>Подсказки</summary>
#
# - `hint("04.1")` — что вернуть;
# - `hint("04.1", 2)` — где взять `max_tokens` и токены.
# </details>
#
# <details><summary>Решение</summary>
#
# ```python
# class MyGenerateLLM(CustomLLM):
#     def completion(self, model, messages, *args, api_base=None, optional_params=None, **kwargs):
#         prompt = "\n".join(m["content"] for m in messages)
#         max_tokens = (optional_params or {}).get("max_tokens", 100)
#         data = httpx.post(api_base, json={"prompt": prompt, "max_tokens": max_tokens}).json()
#         tokens = data["tokens"]
#         return litellm.ModelResponse(
#             model=model,
#             choices=[{"message": {"role": "assistant", "content": data["generated_text"]},
#                       "finish_reason": data["finish_reason"]}],
#             usage={"prompt_tokens": tokens["prompt"], "completion_tokens": tokens["completion"],
#                    "total_tokens": tokens["prompt"] + tokens["completion"]},
#         )
# ```
# Или выполните `solution("04.1")`.
# </details>
#
# ### Задание 4.2. Ошибки `/generate` — исключения LiteLLM
#
# Допишите обработку ошибок так, чтобы сбой API приходил к вызывающему коду «правильным»
# исключением: 429 → `litellm.RateLimitError`, 503 → `ServiceUnavailableError`,
# 500 → `InternalServerError`, зависание API (таймаут клиента) → `litellm.Timeout`. В сообщении
# исключения должен быть текст ошибки из ответа API. Проверка включает каждый сбой по разу и
# следит, чтобы на каждый вызов ушёл ровно один запрос.

# %%
class MyMappedLLM(CustomLLM):
    def completion(self, model, messages, *args, api_base=None, optional_params=None, timeout=None, **kwargs):
        payload = {"prompt": messages[-1]["content"], "max_tokens": (optional_params or {}).get("max_tokens", 100)}
        try:
            response = httpx.post(api_base, json=payload, timeout=timeout)
        except httpx.TimeoutException:
            raise NotImplementedError  # ваш код: какое исключение поднять?
        if response.status_code >= 400:
            raise NotImplementedError  # ваш код: какое исключение поднять?
        data = response.json()
        return litellm.ModelResponse(model=model, choices=[{"message": {"role": "assistant",
                                                                        "content": data["generated_text"]}}])


# %%
check("04.2", MyMappedLLM)

# %% [markdown]
# <details><summary>Подсказки</summary>
#
# - `hint("04.2")` — какое исключение поднимать;
# - `hint("04.2", 2)` — откуда взять код и текст, что делать с таймаутом.
# </details>
#
# <details><summary>Решение</summary>
#
# ```python
#         except httpx.TimeoutException as e:
#             raise CustomLLMError(status_code=408, message=f"/generate не ответил вовремя: {e}")
#         if response.status_code >= 400:
#             raise CustomLLMError(status_code=response.status_code,
#                                  message=response.json()["error"]["message"])
# ```
# Или выполните `solution("04.2")`.
# </details>

# %%
progress("04")

# %% [markdown]
# ## Итоги
#
# - Свой API подключается классом `CustomLLM` и списком
#   `litellm.custom_provider_map = [{"provider": "имя", "custom_handler": экземпляр}]`; модель
#   вызывается как `"имя/модель"`, а обработчик получает `model` без префикса.
# - `completion` обязан вернуть `litellm.ModelResponse`: `dict` (как в исходном уроке) LiteLLM отдаёт
#   как есть, и `r.choices` падает. Параметры вроде `max_tokens` лежат в `optional_params`.
# - `acompletion`, `streaming` и `astreaming` — отдельные методы; без них — `InternalServerError:
#   Not implemented yet!`. Поток — это `GenericStreamingChunk` на каждую порцию ответа API
#   (у нас — на строку NDJSON из `httpx.stream`), последний — с `is_finished=True`, `finish_reason`
#   и `usage`; в куски потока `usage` попадает только с `stream_options={"include_usage": True}` (так
#   у любого провайдера), а `litellm.stream_chunk_builder(chunks).usage` есть и без него.
# - Настоящий поток нужен от самого API: если API отдаёт ответ только целиком, порезанный на куски
#   ответ придёт разом и ничего не ускорит.
# - LiteLLM не считает токены за свой провайдер: `usage` берите из ответа API. Цена —
#   `litellm.register_model(...)`, тогда заполняется `response_cost`; `completion_cost` нужен
#   `model="practice/generate"` или `custom_llm_provider`.
# - Ошибки API поднимайте как `CustomLLMError(status_code=..., message=...)` (таймаут — 408):
#   LiteLLM превратит их в `RateLimitError`, `ServiceUnavailableError`, `Timeout`…, и заработают
#   обработчики урока 02, резервные модели урока 03 и `Router`.
# - «Наш проект»: `course_helpers.custom_provider` — `GenerateLLM` и `register(...)`.
