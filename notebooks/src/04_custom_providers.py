# %% [markdown]
# # Урок 04. Собственные провайдеры
#
# У компании есть своя модель, и живёт она за API, не похожим на OpenAI: `POST /generate {prompt, max_tokens}
# → {generated_text}`. Команда хочет звать её тем же `litellm.completion`, что и всё остальное: получать
# обычный `ModelResponse`, потоковый ответ (stream), цену, исключения, которые понимают обработчики урока 02, —
# и ставить её резервной моделью в `Router`. В исходном уроке для этого есть класс `MyCustomProvider` на основе
# `CustomLLM`. В нём три ошибки; найдём их и построим провайдер правильно.
#
# **В этом уроке вы:**
# - предскажете, что LiteLLM делает с ответом-`dict`, и исправите провайдер исходного урока;
# - узнаете, что обработчик получает от LiteLLM и что обязан вернуть (`ModelResponse`, `usage`);
# - напишете настоящий потоковый ответ из NDJSON-потока `/generate`;
# - решите, каким исключением LiteLLM должен стать каждый сбой API, чтобы `Router` повторял только временные;
# - назначите своей модели цену и поставите её резервной моделью в `Router`.
#
# ⏱ **Время:** основной путь ~45 мин + «Для любопытных» ~10 мин.

# %%
from course_helpers import start_lesson

course = start_lesson("04")

import httpx
import litellm
import openai
from litellm.llms.custom_llm import CustomLLM, CustomLLMError
from litellm.types.utils import GenericStreamingChunk

from course_helpers import answer, check, hint, predict, progress, quiz, reveal, solution

GEN = course.provider.generate_url  # адрес нестандартного API: POST /generate
M = [{"role": "user", "content": "Что такое Python?"}]


def use(name: str, handler: CustomLLM) -> None:
    """Зарегистрировать обработчик: модели "name/…" LiteLLM отправит к нему."""
    litellm.custom_provider_map = [{"provider": name, "custom_handler": handler}]


# %% [markdown]
# ## 4.1 API `/generate`
#
# У практического провайдера, кроме OpenAI-совместимого чата, есть «самописный» API — как в исходном уроке:
#
# | | |
# |---|---|
# | запрос | `POST {GEN}` с JSON `{"prompt": "...", "max_tokens": 100}` |
# | ответ 200 | `{"generated_text": "...", "finish_reason": "stop" \| "length", "tokens": {"prompt": N, "completion": M}}` |
# | поток | тот же запрос с `"stream": true` → `Content-Type: application/x-ndjson`, по JSON-объекту на строку: `{"text": "..."}` … и последняя `{"done": true, "finish_reason": ..., "tokens": {...}}` |
# | ошибка 4xx/5xx | `{"error": {"message": "...", "code": 503}}` |
#
# Ни ролей, ни `choices`, а поток — не SSE (`data: ...`), как у OpenAI, а NDJSON. Сбои включаются как обычно;
# моделью для них служит `"practice/generate"`. Исходный урок ходит в сеть через `requests`; мы возьмём `httpx`:
# он — обязательная зависимость LiteLLM, и у него есть асинхронный клиент. Вызовем API напрямую — ответ,
# поток и сбой:

# %%
reply = httpx.post(GEN, json={"prompt": "Что такое Python?", "max_tokens": 12})
print(reply.status_code, reply.json())

with httpx.stream("POST", GEN, json={"prompt": "Что такое Python?", "max_tokens": 12, "stream": True}) as reply:
    print(reply.status_code, reply.headers["content-type"])
    for line in reply.iter_lines():  # строка — как только пришла
        print("   ", line)

course.provider.fail("practice/generate", 503, times=1)  # один сбой
reply = httpx.post(GEN, json={"prompt": "Что такое Python?", "max_tokens": 12})
print(reply.status_code, reply.json())

# %% [markdown]
# ## 4.2 Провайдер из исходного урока
#
# Вот класс из исходного урока — как есть, только адрес заменён на наш `/generate`, а `requests` — на `httpx`.
# Его `completion` возвращает обычный `dict`, «похожий» на ответ OpenAI. Регистрируем его в
# `litellm.custom_provider_map`: модели `"my_custom_provider/…"` LiteLLM отправит к нему.

# %%
class MyCustomProvider(CustomLLM):
    def completion(self, model: str, messages: list, **kwargs):
        # Преобразуем сообщения в один промпт
        prompt = "\n".join([m["content"] for m in messages])
        # Отправляем запрос к нашему API
        response = httpx.post(GEN, json={"prompt": prompt, "max_tokens": kwargs.get("max_tokens", 100)})
        # Форматируем ответ в структуру, ожидаемую LiteLLM
        result = response.json()
        return {
            "choices": [{
                "message": {
                    "content": result["generated_text"],
                    "role": "assistant"
                }
            }]
        }


litellm.custom_provider_map = [{"provider": "my_custom_provider", "custom_handler": MyCustomProvider()}]

# %%
predict("04.p1")

# %%
r = litellm.completion(model="my_custom_provider/my-model", messages=[{"role": "user", "content": "Привет!"}])
reveal("04.p1", r)
try:
    print(r.choices[0].message.content)
except AttributeError as e:
    print("r.choices ->", type(e).__name__ + ":", e)

# %% [markdown]
# > **Исходный урок говорит:** `completion` форматирует ответ «в структуру, ожидаемую LiteLLM», — словарь.
# > **На деле:** LiteLLM ждёт объект `litellm.ModelResponse`; словарь он возвращает без изменений, и код,
# > написанный для LiteLLM, на нём падает. Это первая из трёх ошибок класса.
#
# ## 4.3 Что обработчик получает и что возвращает
#
# LiteLLM вызывает методы обработчика **именованными аргументами**. Посмотрим, что приходит, — обработчиком-
# «зондом», который запоминает свои аргументы и отвечает «ок»:

# %%
class Probe(CustomLLM):
    def completion(self, model, messages, *args, api_base=None, optional_params=None, timeout=None, **kwargs):
        self.seen = {"model": model, "optional_params": optional_params, "api_base": api_base, "timeout": timeout,
                     "max_tokens в kwargs": "max_tokens" in kwargs}
        return litellm.ModelResponse(model=model, choices=[{"message": {"role": "assistant", "content": "ок"}}])


probe = Probe()
use("probe", probe)
litellm.completion(model="probe/any-model", messages=M, max_tokens=20, temperature=0.3)
for name, value in probe.seen.items():
    print(f"{name:<20} {value!r}")

# %% [markdown]
# - `model` приходит **без** префикса провайдера: для `"probe/any-model"` — `"any-model"`;
# - параметры модели (`max_tokens`, `temperature`…) — в словаре `optional_params`, а не отдельными аргументами;
# - `api_base` — если его передали в вызов или в `Router` (здесь не передали); `timeout` — таймаут вызова
#   (по умолчанию 600 с). Остальное — в `**kwargs`.
#
# «Зонд» вернул `ModelResponse` с текстом, но без `usage` — числа токенов.

# %%
predict("04.p2")

# %%
r = litellm.completion(model="probe/any-model", messages=M)
reveal("04.p2", r)
print("hasattr(r, 'usage'):", hasattr(r, "usage"), "| response_cost:", r._hidden_params.get("response_cost"))

# %% [markdown]
# Правильная форма ответа — `ModelResponse` с текстом в `choices` и с `usage`, которое сообщил API:

# %%
r = litellm.ModelResponse(
    model="any-model",
    choices=[{"message": {"role": "assistant", "content": "Привет!"}, "finish_reason": "stop"}],
    usage={"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
)
print(type(r).__name__, "|", r.choices[0].message.content, "|", r.usage.prompt_tokens, "+", r.usage.completion_tokens)

# %% [markdown]
# ### Задание 4.1 · отладка. Провайдер из исходного урока
#
# Ниже — тот же класс `MyCustomProvider`. Исправьте его так, чтобы:
# - `completion` возвращал `litellm.ModelResponse` с текстом ответа API;
# - в `/generate` уходил `max_tokens`, с которым вызвали `litellm.completion`;
# - у ответа был `usage` — из счёта токенов, который вернул API.
#
# Проверка зарегистрирует класс под своим именем провайдера и вызовет его дважды, с разными `max_tokens`
# и `api_base=<адрес /generate>`; она сравнит ответ с тем, что отвечает сам API, и посмотрит в журнал
# провайдера, какой `max_tokens` получил `/generate`. Запустите её сначала на коде как есть.

# %%
class MyCustomProvider(CustomLLM):
    def completion(self, model: str, messages: list, **kwargs):
        prompt = "\n".join([m["content"] for m in messages])
        response = httpx.post(GEN, json={"prompt": prompt, "max_tokens": kwargs.get("max_tokens", 100)})
        result = response.json()
        return {
            "choices": [{
                "message": {
                    "content": result["generated_text"],
                    "role": "assistant"
                }
            }]
        }


# %%
check("04.1", MyCustomProvider)

# %% [markdown]
# Подсказки: `hint("04.1")`, `hint("04.1", 2)`, `hint("04.1", 3)`. Решение — в конце урока и в `solution("04.1")`.
#
# ## 4.4 Асинхронный вызов и поток — отдельные методы
#
# У «зонда» есть только `completion`. А если позвать его асинхронно?

# %%
predict("04.p3")

# %%
error = None
try:
    await litellm.acompletion(model="probe/any-model", messages=M)
except Exception as e:
    error = e
reveal("04.p3", error)
print("acompletion:", type(error).__name__, "—", str(error).split(" - ")[-1])
try:
    litellm.completion(model="probe/any-model", messages=M, stream=True)
except litellm.InternalServerError as e:
    print("stream=True:", type(e).__name__, "—", str(e).split(" - ")[-1])

# %% [markdown]
# `acompletion` → метод `acompletion` (с `httpx.AsyncClient`), `stream=True` → `streaming`, асинхронный поток →
# `astreaming`. Потоковые методы отдают **`GenericStreamingChunk`** — словарь с полями `text`, `is_finished`,
# `finish_reason`, `usage`, `index`, `tool_use`; последний кусок — с `is_finished=True`, причиной остановки и
# `usage`. Игрушечный провайдер, который отвечает эхом, слово за словом:

# %%
class Echo(CustomLLM):
    def streaming(self, model, messages, *args, **kwargs):
        words = messages[-1]["content"].split()
        for i, word in enumerate(words):
            last = i == len(words) - 1
            yield GenericStreamingChunk(
                text=word if last else word + " ", index=0, tool_use=None, is_finished=last,
                finish_reason="stop" if last else "",
                usage={"prompt_tokens": len(words), "completion_tokens": len(words), "total_tokens": 2 * len(words)}
                if last else None,
            )


use("echo", Echo())

# %%
predict("04.p4")

# %%
chunks = list(litellm.completion(model="echo/x", messages=M, stream=True))
print("текст:", "".join(c.choices[0].delta.content or "" for c in chunks), "| кусков:", len(chunks),
      "| тип куска:", type(chunks[0]).__name__)
reveal("04.p4", any(getattr(c, "usage", None) for c in chunks))
print("stream_chunk_builder(chunks).usage.total_tokens:", litellm.stream_chunk_builder(chunks).usage.total_tokens)
with_usage = list(litellm.completion(model="echo/x", messages=M, stream=True, stream_options={"include_usage": True}))
print("с include_usage, usage последнего куска:", with_usage[-1].usage.prompt_tokens, "+",
      with_usage[-1].usage.completion_tokens)

# %% [markdown]
# Вы получаете не словари, а `ModelResponseStream` — LiteLLM заворачивает каждый кусок сам.
#
# > **Осторожно:** `astreaming` обязан быть **асинхронным генератором** (`async def` с `yield`). Без него
# > `acompletion(stream=True)` вернёт поток без ошибки, а `async for` упадёт с `MidStreamFallbackError`.
#
# ### Задание 4.2 · сборка. Настоящий поток из `/generate`
#
# Напишите класс `GenerateStream(CustomLLM)` с методом `streaming`, который:
# - открывает **поток** `/generate` (`"stream": true`) по адресу `api_base` с `max_tokens` вызова;
# - отдаёт по `GenericStreamingChunk` на каждую строку NDJSON **сразу, как она пришла** — пользователь видит
#   ответ по мере генерации, а не целиком в конце;
# - последним куском отдаёт строку `{"done": true}`: `is_finished=True`, её `finish_reason` и `usage` из её `tokens`.
#
# Проверка вызовет `litellm.completion(..., stream=True)` с разными `max_tokens`, сравнит текст и `usage` с API,
# посмотрит в журнале провайдера, как ушёл запрос, и измерит, когда приходят куски (около секунды).

# %%
class GenerateStream(CustomLLM):
    def streaming(self, model, messages, *args, api_base=None, optional_params=None, timeout=None, **kwargs):
        # ваш код здесь: httpx.stream("POST", api_base, json={...}) и по GenericStreamingChunk на строку
        raise NotImplementedError


# %%
check("04.2", GenerateStream)

# %% [markdown]
# Подсказки: `hint("04.2")`, `hint("04.2", 2)`, `hint("04.2", 3)`. Решение — в конце урока и в `solution("04.2")`.
#
# ## 4.5 Сбои API → исключения LiteLLM
#
# Что будет, если API ответит 429, а обработчик просто вызовет `response.raise_for_status()`?

# %%
class RaiseForStatus(CustomLLM):
    def completion(self, model, messages, *args, api_base=None, **kwargs):
        response = httpx.post(api_base or GEN, json={"prompt": messages[-1]["content"]})
        response.raise_for_status()
        return litellm.ModelResponse(model=model, choices=[{"message": {"role": "assistant",
                                                                        "content": response.json()["generated_text"]}}])


use("raw", RaiseForStatus())
course.provider.fail("practice/generate", 429, times=1)
try:
    litellm.completion(model="raw/generate", messages=M)
except Exception as e:
    print("вместо RateLimitError:", type(e).__name__, "| status_code =", e.status_code)

# %% [markdown]
# Любое незнакомое исключение обработчика LiteLLM заворачивает в `APIConnectionError` со статусом 500 — код
# ответа теряется, обработчик урока 02 не узнает 429, а `Router` — что развёртывание перегружено. Чтобы
# LiteLLM знал код, обработчик поднимает **`CustomLLMError(status_code=..., message=...)`** — и LiteLLM сам
# выберет класс по коду:

# %%
class Overloaded(CustomLLM):
    def completion(self, model, messages, *args, **kwargs):
        raise CustomLLMError(status_code=429, message="слишком много запросов")


use("overloaded", Overloaded())
try:
    litellm.completion(model="overloaded/x", messages=M)
except litellm.RateLimitError as e:
    print(type(e).__name__, "| status_code =", e.status_code,
          "| потомок openai.APIError:", isinstance(e, openai.APIError))

# %% [markdown]
# ### Задание 4.3 · решение. Какой сбой каким исключением
#
# В проекте своя модель стоит в `Router` двумя развёртываниями (`num_retries=2`), а вызывающий код ловит
# исключения, как в уроке 02. Решите, каким исключением LiteLLM должен стать каждый сбой `/generate`, и
# допишите обработчик `MyMappedLLM`. Требования:
# - временные сбои — 429, 500, 503 и **зависание** API (вызов идёт с `timeout=0.5`) — `Router` повторяет, и
#   пользователь получает ответ; вызывающий код без `Router` видит `RateLimitError`, `InternalServerError`,
#   `ServiceUnavailableError` и `Timeout`;
# - неверный запрос (400) `Router` **не повторяет** — ровно один запрос и `BadRequestError`; неверный ключ
#   (401) — `AuthenticationError`;
# - в сообщении исключения — текст ошибки из ответа API; на один вызов — один запрос к `/generate`.
#
# Проверка прогонит каждый сбой и через `litellm.completion`, и через `Router`.

# %%
class MyMappedLLM(CustomLLM):
    def completion(self, model, messages, *args, api_base=None, optional_params=None, timeout=None, **kwargs):
        payload = {"prompt": messages[-1]["content"], "max_tokens": (optional_params or {}).get("max_tokens", 100)}
        try:
            response = httpx.post(api_base, json=payload, timeout=timeout)
        except httpx.TimeoutException:
            raise NotImplementedError  # ваше решение: каким исключением стать зависанию?
        if response.status_code >= 400:
            raise NotImplementedError  # ваше решение: каким исключением стать ответу с ошибкой?
        data = response.json()
        return litellm.ModelResponse(model=model, choices=[{"message": {"role": "assistant",
                                                                        "content": data["generated_text"]}}])


# %%
check("04.3", MyMappedLLM)

# %% [markdown]
# Подсказки: `hint("04.3")`, `hint("04.3", 2)`, `hint("04.3", 3)`. Решение — в конце урока и в `solution("04.3")`.
#
# ## 4.6 «Наш проект» и цена своей модели
#
# В исходном уроке упоминается файл проекта `providers/custom_provider.py`. В курсе это
# `course_helpers/custom_provider.py`: класс `GenerateLLM` — всё, что вы сделали в заданиях, и больше: четыре
# метода (`completion`, `acompletion`, `streaming`, `astreaming`), `usage` из ответа API, настоящий поток NDJSON,
# перевод ошибок (включая испорченный JSON и оборванный поток → 502). Функция `register(provider_name,
# base_url)` заменяет запись в `litellm.custom_provider_map`, не трогая чужие. Подключим его без цены:

# %%
from course_helpers.custom_provider import register

register(provider_name="practice", base_url=GEN, price=False)
r = litellm.completion(model="practice/generate", messages=M, max_tokens=40)
print("токены:", r.usage.prompt_tokens, "+", r.usage.completion_tokens,
      "| response_cost:", r._hidden_params.get("response_cost"))

# %% [markdown]
# Токены есть, а стоимости нет: в таблице цен LiteLLM модели `practice/generate` нет. Цену сообщает
# `litellm.register_model`. Для `/generate` практический провайдер берёт $0,10 за миллион токенов запроса и
# $0,20 за миллион токенов ответа:

# %%
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
print(f"response_cost = {cost:.8f} $ за {r.usage.prompt_tokens} + {r.usage.completion_tokens} токенов")
print("совпадает с тем, что насчитал провайдер:", abs(cost - course.provider.stats()["cost"]) < 1e-12)
try:
    litellm.completion_cost(completion_response=r)
except litellm.BadRequestError as e:
    print("completion_cost(r):", type(e).__name__, "—", str(e).split(": ", 1)[1].split(".")[0])
print(f"completion_cost(r, model='practice/generate') = "
      f"{litellm.completion_cost(completion_response=r, model='practice/generate'):.8f}")

# %% [markdown]
# `completion_cost(r)` сам модель не найдёт: в ответе `r.model == "generate"`, без провайдера. Подскажите ему
# полное имя (`model="practice/generate"`) или провайдера (`custom_llm_provider="practice"`).
#
# ## 4.7 Своя модель в `Router` — резервной
#
# Для `Router` своя модель — обычное развёртывание (deployment): `"model": "practice/generate"`, а адрес API —
# в `api_base` (он придёт в обработчик). Сделаем её резервной для OpenRouter-модели и «уроним» основную (503 на
# каждый запрос). `num_retries=0` — чтобы был виден ровно один запрос к основной (повторы `Router` — урок 05).

# %%
router = litellm.Router(
    model_list=[
        {"model_name": "main", "litellm_params": {"model": "openrouter/openai/gpt-4o-mini"}},
        {"model_name": "reserve", "litellm_params": {"model": "practice/generate", "api_base": GEN}},
    ],
    fallbacks=[{"main": ["reserve"]}],
    num_retries=0,
)

with course.practice():
    course.provider.reset()
    course.provider.fail("openai/gpt-4o-mini", 503)  # основная модель лежит
    r = router.completion(model="main", messages=M, max_tokens=30)
    print("ответила модель:", r.model, "| группа:", r._hidden_params["additional_headers"]["x-litellm-model-group"])
    print(f"стоимость: {r._hidden_params['response_cost']:.8f} $")
    print("ответы провайдера:", {m: {k: v for k, v in s.items() if k.startswith("status_")}
                                 for m, s in course.provider.stats()["by_model"].items()})
    course.provider.clear_faults()
    course.provider.fail("practice/generate", 429, times=1)
    try:
        router.completion(model="reserve", messages=M)
    except litellm.RateLimitError as e:
        print("429 своего провайдера через Router → RateLimitError, status_code =", e.status_code)

# %% [markdown]
# ## 4.8 Панель: песочница своего провайдера
#
# Отправьте запрос через свой провайдер обычным вызовом или потоком: в потоковом режиме ответ растёт на глазах,
# кусок за куском, по мере того как `/generate` присылает строки; внизу — токены, стоимость, время первого куска
# и график прихода кусков. Для сравнения выберите OpenRouter-модель, а в «Сбое» — 429 или зависание, чтобы
# увидеть исключение.

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
# ## Тест
#
# Семь коротких вопросов. Ответ можно дать и кодом: `answer("04.q1", 2)`.

# %%
quiz("04")

# %% [markdown]
# ## Итоги
#
# - Свой API подключается классом `CustomLLM` и списком `litellm.custom_provider_map = [{"provider": "имя",
#   "custom_handler": экземпляр}]`; модель зовётся `"имя/модель"`, а обработчик получает `model` без префикса.
# - `completion` обязан вернуть `litellm.ModelResponse`: `dict` LiteLLM отдаёт как есть, и `r.choices` падает.
#   Параметры вызова (`max_tokens`…) — в `optional_params`, не в `kwargs`.
# - LiteLLM не считает токены за свой провайдер: без `usage` от API у ответа нет ни токенов, ни цены.
# - `acompletion`, `streaming` и `astreaming` — отдельные методы. Поток — `GenericStreamingChunk` на каждую порцию
#   ответа API по мере прихода; `usage` последнего куска попадает в куски только с
#   `stream_options={"include_usage": True}`, а `stream_chunk_builder(chunks).usage` есть и без него.
# - Ошибки API — `CustomLLMError(status_code=..., message=...)` (таймаут — 408): LiteLLM выберет класс по коду, и
#   заработают обработчики урока 02 и повторы `Router`; `raise_for_status()` теряет код (`APIConnectionError`, 500).
# - Цена — `litellm.register_model(...)`; `completion_cost` нужно полное имя модели. В `Router` своя модель —
#   обычное развёртывание, в том числе резервное.
#
# ### Рецепт
#
# ```python
# import httpx
# import litellm
# from litellm.llms.custom_llm import CustomLLM, CustomLLMError
#
#
# class InternalLLM(CustomLLM):
#     """POST /generate {prompt, max_tokens} -> {generated_text, finish_reason, tokens}."""
#
#     def completion(self, model, messages, *args, api_base=None, optional_params=None, timeout=None, **kwargs):
#         payload = {"prompt": "\n".join(m["content"] for m in messages),
#                    "max_tokens": (optional_params or {}).get("max_tokens", 100)}
#         try:
#             response = httpx.post(api_base, json=payload, timeout=timeout)
#         except httpx.TimeoutException as e:
#             raise CustomLLMError(status_code=408, message=f"/generate не ответил вовремя: {e}")
#         if response.status_code >= 400:
#             raise CustomLLMError(status_code=response.status_code, message=response.text[:200])
#         data = response.json()
#         tokens = data["tokens"]
#         return litellm.ModelResponse(
#             model=model,
#             choices=[{"message": {"role": "assistant", "content": data["generated_text"]},
#                       "finish_reason": data["finish_reason"]}],
#             usage={"prompt_tokens": tokens["prompt"], "completion_tokens": tokens["completion"],
#                    "total_tokens": tokens["prompt"] + tokens["completion"]},
#         )
#
#
# litellm.custom_provider_map = [{"provider": "internal", "custom_handler": InternalLLM()}]
# litellm.register_model({"internal/generate": {"input_cost_per_token": 1e-7, "output_cost_per_token": 2e-7,
#                                               "litellm_provider": "internal", "mode": "chat"}})
# # litellm.completion(model="internal/generate", api_base="https://llm.company.local/generate", messages=[...])
# ```
#
# Асинхронный вызов и поток добавьте методами `acompletion` (`httpx.AsyncClient`), `streaming` и `astreaming`;
# готовый вариант со всеми четырьмя — `course_helpers.custom_provider.GenerateLLM`.
#
# ### Документация
#
# - [LiteLLM: Custom API Server (Custom Format)](https://docs.litellm.ai/docs/providers/custom_llm_server) —
#   `CustomLLM` и `custom_provider_map`.
# - [LiteLLM: Custom Pricing](https://docs.litellm.ai/docs/sdk_custom_pricing) и
#   [Token Usage & Cost](https://docs.litellm.ai/docs/completion/token_usage) — цена своей модели, `completion_cost`.
# - [LiteLLM: Exception Mapping](https://docs.litellm.ai/docs/exception_mapping) — классы исключений по кодам.
# - [LiteLLM: Router — Load Balancing](https://docs.litellm.ai/docs/routing) — развёртывания, повторы, резервные модели.
#
# ## Для любопытных
#
# ### `httpx` или `requests`
#
# `httpx` — обязательная зависимость LiteLLM; `requests` — нет (LiteLLM просит его только для extra `[cli]`, а
# в курсе он установлен лишь потому, что его тянет `tiktoken`):

# %%
from importlib.metadata import requires

litellm_deps = [r for r in requires("litellm") if "extra ==" not in r]
print("httpx — обязательная зависимость LiteLLM:", any(d.startswith("httpx") for d in litellm_deps))
print("requests — обязательная зависимость LiteLLM:", any(d.startswith("requests") for d in litellm_deps))

# %% [markdown]
# ### Настоящий поток: когда приходят куски
#
# Поток `GenerateLLM` сравним с потоком OpenRouter-модели (SSE) и с ответом без потока. Задержки обоих API
# одинаковые и без случайного разброса (`jitter=0`); считаем только куски с текстом. Сборщик мусора Python на
# время замера выключен, как это делает `timeit`: в ядре с LiteLLM полная сборка останавливает процесс примерно
# на 0,25 с (под нагрузкой — дольше), и куски, пришедшие за это время, программа «видит» разом. Без этого в
# половине прогонов первые куски OpenRouter слипались — так выглядит пауза клиента, а не API.

# %%
import gc
import time

import matplotlib.pyplot as plt

register(provider_name="practice", base_url=GEN)
for model_id in ("practice/generate", "openai/gpt-4o-mini"):
    course.provider.set_latency(model_id, base_ms=200, per_token_ms=20, jitter=0)
course.provider.set_latency_scale(1)  # именно эти задержки, без ускорения (reset() в конце ячейки вернёт всё)


def arrival_times(model):
    """Время прихода каждого куска с текстом, мс от отправки запроса."""
    start, times = time.perf_counter(), []
    for chunk in litellm.completion(model=model, messages=M, max_tokens=60, stream=True):
        if chunk.choices and chunk.choices[0].delta.content:
            times.append((time.perf_counter() - start) * 1000)
    return times


gc.collect()
gc.disable()  # как timeit: пауза сборщика мусора не должна попасть в замер
try:
    with course.practice():
        arrival_times("openrouter/openai/gpt-4o-mini")  # разогрев: первый вызов модели в процессе дольше
        openrouter = arrival_times("openrouter/openai/gpt-4o-mini")
    arrival_times("practice/generate")  # и у своего провайдера
    custom = arrival_times("practice/generate")
    start = time.perf_counter()
    litellm.completion(model="practice/generate", messages=M, max_tokens=60)
    whole = (time.perf_counter() - start) * 1000
finally:
    gc.enable()

fig, ax = plt.subplots(figsize=(7, 3.2))
ax.step(openrouter, range(1, len(openrouter) + 1), where="post", marker="o", markersize=3, label="OpenRouter (SSE)")
ax.step(custom, range(1, len(custom) + 1), where="post", marker="s", markersize=3,
        label="свой провайдер (/generate, NDJSON)")
ax.axvline(whole, color="grey", linestyle="--", label="ответ без потока")
ax.set_xlabel("время от отправки запроса, мс")
ax.set_ylabel("кусков с текстом получено")
ax.set_xlim(left=0)
ax.legend()
ax.grid(alpha=0.3)
plt.show()

# Пороги — в миллисекундах, а не в долях: занятый процессор может задержать начало вызова, но не разбросать куски.
print("свой поток: куски шли больше 0,5 с, а не разом:", custom[-1] - custom[0] > 500)
print("свой поток: первый кусок — больше чем на 0,5 с раньше ответа без потока:", whole - custom[0] > 500)
print("у OpenRouter так же:", openrouter[-1] - openrouter[0] > 500)
course.provider.reset()  # задержки и статистика — к исходным

# %% [markdown]
# Обе лесенки начинаются сразу после задержки первого токена и растут по мере генерации. Если бы API потока не
# умел, `streaming` мог бы только порезать готовый ответ — и все куски пришли бы разом, вместе с ответом без
# потока (пунктир).
#
# ### Ошибки в асинхронном потоке
#
# `astreaming` — асинхронный генератор, поэтому запрос к API происходит уже во время `async for`, и ошибка API
# приходит оттуда же, обёрнутой: `MidStreamFallbackError` (потомок `ServiceUnavailableError`) с `status_code`
# исходной ошибки и ею самой в `e.original_exception`. Синхронный `streaming` у `GenerateLLM` — обычная функция,
# которая открывает соединение сразу, поэтому там 429 вылетает из самого вызова `completion(stream=True)`.

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
# ### Мелочи, которые стоит знать
#
# - Сырое `httpx.TimeoutException` из обработчика LiteLLM тоже завернёт в `APIConnectionError`, а не в `Timeout`:
#   поэтому таймаут переводят в `CustomLLMError(status_code=408)`.
# - Если `streaming` не отдал `usage`, а вызов просил `stream_options={"include_usage": True}`, LiteLLM
#   **оценит** токены сам, своим токенизатором, — и оценка разойдётся со счётом API.

# %%
progress("04")

# %% [markdown] tags=["solutions"]
