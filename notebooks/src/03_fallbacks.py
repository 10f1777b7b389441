# %% [markdown]
# # Урок 03. Резервные модели (fallbacks)
#
# Основная модель рано или поздно ляжет: 503, лимит, обрыв. Приложение при этом должно ответить —
# **другой моделью**. Это и есть резервные модели (fallbacks). Важно не только настроить переход,
# но и **доказать**, что он случился: какая модель ответила, сколько запросов получила каждая,
# что будет, если откажут все.
#
# **В этом уроке вы:**
# - запустите цикл по моделям из исходного урока и найдёте в нём три ошибки, а потом исправите его;
# - настроите `fallbacks=` в `litellm.completion` — строками и словарями с собственными параметрами;
# - научитесь доказывать по ответу и по статистике провайдера, **кто** ответил;
# - узнаете, что приходит, когда отказали все модели (спойлер: не то исключение, которое вы ждёте);
# - используете `Request(fallbacks=...)` из «нашего проекта» и fallbacks в `Router`;
# - посчитаете запросы при повторах и переходах, разберёте фолбэки по окну контекста;
# - устроите «аварии» в симуляторе и решите два задания, которые проверяются настоящими сбоями.
#
# ⏱ **Время:** 50 минут.
#
# В онлайн-режиме опыты, которые устраивают сбои или считают запросы, идут на практическом провайдере:
# сбои и счётчики есть только у него (ячейка такого опыта об этом скажет). `Router` с развёртываниями
# `course.provider.api_base(...)` ходит туда всегда.

# %%
from course_helpers import start_lesson

course = start_lesson("03")

# %% [markdown]
# ## 3.1 Цикл из исходного урока
#
# Исходный урок предлагает перебирать модели вручную. Код ниже — дословно, только обёрнут в функцию
# (чтобы вернуть `response`) и печатает класс ошибки вместо её длинного текста.
#
# Чтобы видеть, что происходит «по ту сторону», заведём функцию `seen()`: что получил практический
# провайдер — для каждой модели список HTTP-статусов его ответов по порядку.

# %%
import litellm

messages = [{"role": "user", "content": "Что такое Python?"}]
models_to_try = ["openrouter/openai/gpt-4o-mini", "openrouter/openai/gpt-3.5-turbo"]


def seed_loop(models_to_try, messages):
    for model in models_to_try:
        try:
            response = litellm.completion(model=model, messages=messages)
            # Если запрос успешен, выходим из цикла
            break
        except Exception as e:
            print(f"Ошибка с моделью {model}: {type(e).__name__}")  # в исходном уроке: {e}
    return response


def seen(by: str = "model") -> dict:
    """Что получил провайдер: модель (или развёртывание) → статусы ответов по порядку."""
    received = {}
    for entry in course.provider.log():
        received.setdefault(entry[by], []).append(entry["status"])
    return received


with course.practice():
    course.provider.reset()
    course.provider.fail("openai/gpt-4o-mini", 503)  # основная модель лежит, пока не уберём сбой
    response = seed_loop(models_to_try, messages)
    print("ответила:", response.model)
    print("провайдер видел:", seen())

# %% [markdown]
# Основная модель ответила 503 — цикл перешёл к резервной. Работает. Теперь две другие аварии:
# **все модели** отвечают 429, и **неверный ключ** (401) у всех.

# %%
with course.practice():
    for status in (429, 401):
        course.provider.reset()
        course.provider.fail("*", status)  # "*" — все модели
        try:
            response = seed_loop(models_to_try, messages)
        except Exception as e:
            print(f"  → {type(e).__name__}: {e}")
        print(f"HTTP {status}: провайдер видел {seen()}\n")

# %% [markdown]
# > **Осторожно:** в цикле из исходного урока три ошибки.
# > 1. **Когда отказали все модели, ошибки нет** — цикл просто заканчивается. В функции это
# >    `UnboundLocalError` про переменную `response`, а в ячейке ноутбука ещё хуже: `response`
# >    остаётся **от прошлого запроса**, и программа молча работает со старым ответом.
# > 2. **`except Exception` ловит всё**, включая 401: неверный ключ честно «пробуется» на каждой
# >    модели, а настоящая причина теряется. Так же проглотится и опечатка в вашем коде.
# > 3. Сообщение об ошибке печатается, но **класс ошибки потерян** — вызывающий код не может решить,
# >    что делать дальше.
#
# ### Цикл из клиента проекта
#
# В клиенте проекта исходного урока (`litellm_client.py`) цикл устроен через счётчик `attempt`, а
# неожиданные ошибки обрабатываются так: `except Exception: continue`. Урок 02 разбирает этот
# обработчик подробно; здесь — главное. `continue` **не увеличивает `attempt`**, и цикл снова берёт
# ту же модель. Запускаем **безопасно**: с предохранителем на 5 итераций (в исходном коде его нет —
# там цикл бесконечный).

# %%
from litellm.exceptions import APIConnectionError, AuthenticationError, BudgetExceededError, RateLimitError, Timeout

GUARD = 5  # предохранитель: в исходном коде его нет


def seed_client(models, messages):
    attempt, iterations = 0, 0
    while attempt < len(models):
        iterations += 1
        if iterations > GUARD:
            return f"ЗАЦИКЛИЛСЯ: {GUARD} итераций, attempt всё ещё {attempt}"
        model = models[attempt]
        try:
            return litellm.completion(model=model, messages=messages).model
        except AuthenticationError:
            raise ValueError("Invalid API key")
        except (RateLimitError, Timeout, APIConnectionError, BudgetExceededError):
            attempt += 1
        except Exception:
            continue  # ← attempt не меняется: та же модель ещё раз
    return "все модели отказали"


with course.practice():
    course.provider.reset()
    course.provider.fail("openai/gpt-4o-mini", 503)  # 503 = ServiceUnavailableError: его нет в кортеже
    print(seed_client(models_to_try, messages))
    print("провайдер видел:", seen())

# %% [markdown]
# Пять запросов подряд к лежащей модели, ни одного — к резервной. Без предохранителя этот цикл
# засыпал бы провайдера запросами бесконечно.
#
# ## 3.2 Исправленный цикл
#
# Правильный ручной цикл (о порядке `except` — урок 02):
# - **401 и 400 поднимаются сразу** со своим классом: другая модель не исправит ключ или кривой запрос;
# - исключение — `ContextWindowExceededError` (потомок `BadRequestError`): модель с бо́льшим окном
#   как раз поможет, поэтому его ветка стоит **выше**;
# - **все остальные ошибки провайдера** ловятся общим предком `openai.APIError` (503, 429, 500,
#   таймауты, обрывы…) — и цикл идёт к следующей модели;
# - если отказали все, поднимается **последняя ошибка** — с её настоящим классом.

# %%
import openai


def fixed_loop(models, messages):
    last_error = None
    for model in models:
        try:
            return litellm.completion(model=model, messages=messages)
        except litellm.ContextWindowExceededError as e:  # раньше BadRequestError: это его потомок
            last_error = e
        except (litellm.AuthenticationError, litellm.BadRequestError):
            raise  # ключ или запрос неверны — другая модель не поможет
        except openai.APIError as e:  # общий предок всех ошибок провайдера в LiteLLM
            print(f"  {model}: {type(e).__name__} ({e.status_code}) → следующая модель")
            last_error = e
    raise last_error


with course.practice():
    for fault, status in (("основная 503", 503), ("все 429", 429), ("все 401", 401)):
        course.provider.reset()
        course.provider.fail("openai/gpt-4o-mini" if fault == "основная 503" else "*", status)
        try:
            outcome = f"ответила {fixed_loop(models_to_try, messages).model}"
        except openai.APIError as e:
            outcome = f"поднят {type(e).__name__} ({e.status_code})"
        print(f"{fault}: {outcome} | провайдер видел {seen()}")

# %% [markdown]
# Теперь каждая авария заканчивается понятно: ответом резервной модели, `RateLimitError` (класс
# сохранён — его можно поймать и, например, подождать) или `AuthenticationError` после **одного**
# запроса.
#
# ## 3.3 `fallbacks=` в `litellm.completion`
#
# Писать цикл самому не обязательно: у `litellm.completion` есть параметр `fallbacks` — список
# резервных моделей. LiteLLM пробует основную модель, при ошибке — резервные по порядку.

# %%
with course.practice():
    course.provider.reset()
    course.provider.fail("openai/gpt-4o", 503)

    response = litellm.completion(
        model="openrouter/openai/gpt-4o",
        messages=messages,
        fallbacks=["openrouter/anthropic/claude-3-haiku", "openrouter/openai/gpt-4o-mini"],
    )
    print(response.choices[0].message.content[:70], "…")

# %% [markdown]
# ### Кто ответил? Доказательства
#
# Ответ пришёл, но от кого? Три источника — и один из них врёт.

# %%
hidden = response._hidden_params
print("response.model:                ", response.model)
print("x-litellm-attempted-fallbacks: ", hidden["additional_headers"]["x-litellm-attempted-fallbacks"])
print("_hidden_params['litellm_model_name']:", hidden["litellm_model_name"], "← основная, хотя она не отвечала!")
print("провайдер видел:               ", seen())

# %% [markdown]
# - **`response.model`** — модель, которая на самом деле ответила (имя у провайдера, без `openrouter/`).
# - **`response._hidden_params["additional_headers"]["x-litellm-attempted-fallbacks"]`** — сколько
#   раз LiteLLM переходил к резервной модели (0 — ответила основная).
# - **`_hidden_params["litellm_model_name"]` вводит в заблуждение:** там остаётся основная модель.
# - **Статистика провайдера** — окончательное доказательство: основная получила один запрос и
#   ответила 503, резервная `claude-3-haiku` — один запрос и ответила 200; до третьей модели дело не дошло.
#
# ### Словари: свои параметры для резервной модели
#
# Элемент `fallbacks` может быть словарём: `model` плюс любые параметры вызова, которые заменят
# параметры основного запроса. Например, резервной модели — свой `max_tokens`:

# %%
with course.practice():
    course.provider.reset()
    course.provider.fail("openai/gpt-4o", 503)

    response = litellm.completion(
        model="openrouter/openai/gpt-4o",
        messages=messages,
        fallbacks=[{"model": "openrouter/openai/gpt-4o-mini", "max_tokens": 20}],
    )
    print("ответила:", response.model, "| completion_tokens:", response.usage.completion_tokens)
    print("провайдер видел:", seen())

# %% [markdown]
# > **Важно:** `fallbacks=` в `litellm.completion` переходит к резервной модели **на любой ошибке**,
# > включая 400 и 401. Ручной цикл из 3.2 на них останавливается. Что лучше — решать вам: на 401
# > другой провайдер с другим ключом поможет, а на кривой запрос (400) резервная модель, скорее всего,
# > ответит той же ошибкой.

# %%
with course.practice():
    course.provider.reset()
    course.provider.fail("openai/gpt-4o", 400)
    response = litellm.completion(model="openrouter/openai/gpt-4o", messages=messages,
                                  fallbacks=["openrouter/openai/gpt-4o-mini"])
    print("основная ответила 400 → ответила", response.model, "| провайдер видел:", seen())

# %% [markdown]
# ## 3.4 Когда отказали все
#
# Все модели отвечают 429. Какое исключение прилетит из `litellm.completion(..., fallbacks=...)`?

# %%
with course.practice():
    course.provider.reset()
    course.provider.fail("*", 429)

    try:
        litellm.completion(model="openrouter/openai/gpt-4o", messages=messages,
                           fallbacks=["openrouter/anthropic/claude-3-haiku", "openrouter/openai/gpt-4o-mini"])
    except litellm.RateLimitError:
        print("поймали RateLimitError")
    except litellm.APIConnectionError as e:
        print("пришёл", type(e).__name__, "со status_code", e.status_code)
        print("это RateLimitError?", isinstance(e, litellm.RateLimitError))
        print("в тексте упомянут RateLimitError:", "RateLimitError" in str(e))
        print("в тексте 'All fallback attempts failed':", "All fallback attempts failed" in str(e))
    print("провайдер видел:", seen())

# %% [markdown]
# > **Осторожно:** когда отказали все модели, `litellm.completion` с `fallbacks=` поднимает
# > **`litellm.APIConnectionError` со `status_code` 500**, а текст последней ошибки лишь вклеивает в
# > сообщение. **Настоящий класс потерян**: `except litellm.RateLimitError` не сработает, а код,
# > который на `APIConnectionError` «проверяет сеть», будет искать не ту проблему.
#
# Ручной цикл из 3.2 и клиент проекта `ask` (раздел 3.6) поднимают **последнюю ошибку как есть**.
# Ещё один вариант — `Router` (раздел 3.7): он поднимает ошибку **основной** модели.
#
# Каждая неудачная попытка LiteLLM ещё и пишет в лог строку ERROR. В курсе логи LiteLLM приглушены
# вызовом `start_lesson`, поэтому под ячейками выше нет красного шума. В своём проекте сделайте то же:
#
# ```python
# import logging
# litellm.suppress_debug_info = True
# for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
#     logging.getLogger(name).setLevel(logging.CRITICAL)
# ```

# %% [markdown]
# ## 3.5 Серия запросов: кто отвечал
#
# Один запрос — это анекдот, а серия — статистика. Пусть основная модель падает **в половине**
# случаев, первая резервная — в 30 %, вторая — в 10 %. Вероятностные сбои провайдера «посеяны»
# (`seed`): после `reset()` та же серия запросов даёт ту же картину.

# %%
CHAIN = ["openrouter/openai/gpt-4o", "openrouter/anthropic/claude-3-haiku", "openrouter/openai/gpt-4o-mini"]

with course.practice():
    course.provider.reset()  # чистая статистика и тот же «случай» (зерно генератора сбоев)
    for model, p in zip(CHAIN, (0.5, 0.3, 0.1)):
        course.provider.fail(model.removeprefix("openrouter/"), 503, probability=p)

    served = []
    for n in range(30):
        try:
            r = litellm.completion(model=CHAIN[0], fallbacks=CHAIN[1:], max_tokens=20,
                                   messages=[{"role": "user", "content": f"Запрос №{n}"}])
            served.append(r.model)
        except litellm.APIConnectionError:  # так выглядит «отказали все»
            served.append(None)
    course.provider.clear_faults()

from collections import Counter

print("кто ответил:", dict(Counter(s or "все отказали" for s in served)))
print("провайдер:  ", {m: len(statuses) for m, statuses in seen().items()}, "запросов")

# %%
import matplotlib.pyplot as plt
from course_helpers.panels.fallbacks import draw_batch, summarize

# панели курса рисуют в картинки и переключают matplotlib на Agg; возвращаем вывод графиков в ноутбук
%matplotlib inline

batch = summarize(CHAIN, served, course.provider.log())  # делит лог провайдера на попытки каждого запроса
draw_batch(plt.figure(figsize=(10, 3.2)), batch)
plt.show()

# %% [markdown]
# Слева — каждый запрос серии: зелёная точка — модель, которая ответила, красные крестики — модели,
# которые до неё отказали. Справа — то же глазами провайдера. Основная модель получила все 30
# запросов, резервные — только те, что до них дошли.
#
# ### Задание 3.1. Ответ, несмотря на сбой основной модели
#
# Напишите функцию `answer_with_fallback(messages)`: основная модель `openrouter/openai/gpt-4o`,
# резервная — `openrouter/openai/gpt-4o-mini`. Функция возвращает **текст** ответа.
#
# Проверка включит у провайдера постоянный 503 для основной модели и убедится по его статистике, что
# основная получила **ровно один** запрос (без повторов), а ответила резервная. Потом — что без сбоя
# отвечает основная, а резервная не получает ничего.

# %%
def answer_with_fallback(messages: list[dict]) -> str:
    # ваш код здесь
    raise NotImplementedError


# %%
from course_helpers import check, hint, progress, solution

check("03.1", answer_with_fallback)

# %% [markdown]
# <details><summary>Подсказки</summary>
#
# - `hint("03.1")` — какой параметр нужен;
# - `hint("03.1", 2)` — вызов целиком.
# </details>
#
# <details><summary>Решение</summary>
#
# ```python
# def answer_with_fallback(messages: list[dict]) -> str:
#     response = litellm.completion(
#         model="openrouter/openai/gpt-4o",
#         messages=messages,
#         fallbacks=["openrouter/openai/gpt-4o-mini"],
#     )
#     return response.choices[0].message.content
# ```
# Или выполните `solution("03.1")`.
# </details>
#
# ## 3.6 «Наш проект»: `Request(fallbacks=...)`
#
# В проекте исходного урока резервные модели задаются в классе `Request`:
#
# ```python
# request = Request(
#     model="openrouter/openai/gpt-4o",
#     fallbacks=["openrouter/openai/gpt-3.5-turbo", "openrouter/anthropic/claude-3-haiku"],
#     messages=[{"role": "user", "content": "Привет!"}],
#     answer_model=CustomAnswer
# )
# ```
#
# В курсе этот проект лежит в `course_helpers`: `Request` и функция `ask(request)`. `answer_model` —
# pydantic-модель, под которую должен подойти ответ (LiteLLM передаёт её как `response_format`).
# `ask` перебирает модели сам (как исправленный цикл из 3.2), временные ошибки повторяет на той же
# модели `retries` раз (по умолчанию 1) с паузой, и печатает каждое решение.

# %%
import pydantic
from course_helpers import Request, ask


class CustomAnswer(pydantic.BaseModel):
    answer: str
    confidence: float


with course.practice():
    course.provider.reset()
    course.provider.fail("openai/gpt-4o", 503)

    request = Request(
        model="openrouter/openai/gpt-4o",
        fallbacks=["openrouter/openai/gpt-3.5-turbo", "openrouter/anthropic/claude-3-haiku"],
        messages=[{"role": "user", "content": "Привет!"}],
        answer_model=CustomAnswer,
    )
    answer = ask(request)
    print("тип ответа:", type(answer.value).__name__, "| confidence:", answer.value.confidence)
    print("ответила:", answer.model, "| response.model:", answer.response.model)
    print("провайдер видел:", seen())

# %% [markdown]
# Основная модель получила **два** запроса: 503 — временная ошибка, и `ask` один раз повторил её,
# прежде чем перейти к резервной. Хотите переходить сразу — `Request(..., retries=0)`.
#
# А когда отказали все, `ask` поднимает **последнюю ошибку со своим классом** и списком попыток в
# примечании — сравните с `APIConnectionError` из 3.4:

# %%
with course.practice():
    course.provider.reset()
    course.provider.fail("*", 429)
    try:
        ask(Request(model="openrouter/openai/gpt-4o", fallbacks=["openrouter/openai/gpt-3.5-turbo"],
                    messages=messages, retries=0))
    except litellm.RateLimitError as e:
        print("поймали", type(e).__name__, e.status_code)
        print("попытки:", [(a.model, a.error) for a in e.attempts])

# %% [markdown]
# ## 3.7 Fallbacks в `Router`
#
# `Router` (подробно — урок 05) держит список **развёртываний** (deployments), сгруппированных по
# имени `model_name`. Fallbacks в нём — переход между **группами**. Практический провайдер умеет
# изображать независимые развёртывания: у каждого свой адрес `api_base`, свои сбои и своя статистика.

# %%
from litellm import Router


def deployment(group: str, model: str, name: str) -> dict:
    """Одно развёртывание модели у практического провайдера (name — d1, o1, …)."""
    return {"model_name": group,
            "litellm_params": {"model": model, "api_key": course.provider.key,
                               "api_base": course.provider.api_base("openrouter", deployment=name)}}


model_list = [
    deployment("gpt-4o", "openrouter/openai/gpt-4o", "d1"),
    deployment("other-group", "openrouter/anthropic/claude-3-haiku", "o1"),
]

try:
    Router(model_list=model_list, fallbacks=["other-group"])
except ValueError as e:
    print("fallbacks=['other-group'] →", type(e).__name__, e)

# %% [markdown]
# > **Важно:** в `Router(...)` параметр `fallbacks` — **список словарей** «группа → список резервных
# > групп». Простой список (как в `litellm.completion`) даёт `ValueError`.
#
# Правильно — так. `num_retries=0` — чтобы Router не повторял основную модель перед переходом
# (повторы — в разделе 3.8):

# %%
course.provider.reset()
course.provider.fail("openai/gpt-4o", 503)

router = Router(model_list=model_list, fallbacks=[{"gpt-4o": ["other-group"]}], num_retries=0)
response = router.completion(model="gpt-4o", messages=messages)

headers = response._hidden_params["additional_headers"]
print("response.model:", response.model)
print("группа:", headers["x-litellm-model-group"], "| attempted-fallbacks:", headers["x-litellm-attempted-fallbacks"])
print("провайдер видел (по развёртываниям):", seen("deployment"))

# %% [markdown]
# У ответа Router есть ещё заголовок `x-litellm-model-group` — **группа**, которая ответила.
#
# Простой список всё же принимается в двух местах: в **самом вызове** `router.completion(...,
# fallbacks=[...])` и в `Router(default_fallbacks=[...])` — резервные группы для любой группы.

# %%
for label, router, kwargs in [
    ("router.completion(fallbacks=['other-group'])", Router(model_list=model_list, num_retries=0),
     {"fallbacks": ["other-group"]}),
    ("Router(default_fallbacks=['other-group'])",
     Router(model_list=model_list, num_retries=0, default_fallbacks=["other-group"]), {}),
]:
    course.provider.reset()
    course.provider.fail("openai/gpt-4o", 503)
    response = router.completion(model="gpt-4o", messages=messages, **kwargs)
    print(f"{label}: ответила группа {response._hidden_params['additional_headers']['x-litellm-model-group']}"
          f" | провайдер видел {seen('deployment')}")

# %% [markdown]
# ### Как проверить фолбэк без аварии: `mock_testing_fallbacks=True`
#
# В тестах не хочется ломать настоящую модель. `mock_testing_fallbacks=True` заставляет Router
# считать, что основная группа упала (она даже не вызывается). Но **это умеет только Router** —
# `litellm.completion` параметр молча игнорирует:

# %%
with course.practice():
    course.provider.reset()
    router = Router(model_list=model_list, fallbacks=[{"gpt-4o": ["other-group"]}], num_retries=0)
    response = router.completion(model="gpt-4o", messages=messages, mock_testing_fallbacks=True)
    print("Router:     ответила", response.model, "| провайдер видел", seen("deployment"))

    course.provider.reset()
    response = litellm.completion(model="openrouter/openai/gpt-4o", messages=messages,
                                  fallbacks=["openrouter/openai/gpt-4o-mini"], mock_testing_fallbacks=True)
    print("completion: ответила", response.model, "| attempted-fallbacks:",
          response._hidden_params["additional_headers"]["x-litellm-attempted-fallbacks"], "| провайдер видел", seen())

# %% [markdown]
# Для `litellm.completion` есть другой тестовый приём: `mock_response="litellm.RateLimitError"`
# поднимает это исключение без сетевого вызова, а у резервной модели может быть свой `mock_response`:

# %%
with course.practice():
    course.provider.reset()
    response = litellm.completion(model="openrouter/openai/gpt-4o", messages=messages,
                                  mock_response="litellm.RateLimitError",
                                  fallbacks=[{"model": "openrouter/openai/gpt-4o-mini", "mock_response": "ответ фолбэка"}])
    print(response.choices[0].message.content, "| ответила", response.model, "| запросов у провайдера:",
          course.provider.requests())

# %% [markdown]
# И последнее: когда отказали **все** группы, Router поднимает ошибку **основной** группы со своим
# классом — даже если последней ответила резервная:

# %%
course.provider.reset()
course.provider.fail("openai/gpt-4o", 503)
course.provider.fail("anthropic/claude-3-haiku", 429)
router = Router(model_list=model_list, fallbacks=[{"gpt-4o": ["other-group"]}], num_retries=0)
try:
    router.completion(model="gpt-4o", messages=messages)
except openai.APIError as e:
    print("поднят", type(e).__name__, e.status_code, "| провайдер видел", seen("deployment"))

# %% [markdown]
# Итак, когда отказали все:
#
# | кто перебирает модели | что поднимается |
# |---|---|
# | `litellm.completion(fallbacks=...)` | `APIConnectionError` (500), класс последней ошибки потерян |
# | `Router(fallbacks=...)` | ошибка **основной** группы, её класс |
# | исправленный цикл, `ask` | **последняя** ошибка, её класс |
#
# ### Задание 3.2. Router с резервной группой
#
# Напишите функцию `build_router(provider)`, которая возвращает `Router`:
# - группа `"main"` — модель `openrouter/openai/gpt-4o` на развёртывании `d1`
#   (`api_base=provider.api_base("openrouter", deployment="d1")`, `api_key=provider.key`);
# - группа `"reserve"` — `openrouter/anthropic/claude-3-haiku` на развёртывании `d2`;
# - при отказе `"main"` Router **сразу** (без повторов) переходит к `"reserve"`.
#
# Проверка устроит аварию на `d1` и убедится, что `d1` получил один запрос, а ответила группа
# `"reserve"` с `d2`; без аварии должна отвечать `"main"`.

# %%
def build_router(provider) -> Router:
    # ваш код здесь
    raise NotImplementedError


# %%
check("03.2", build_router)

# %% [markdown]
# <details><summary>Подсказки</summary>
#
# - `hint("03.2")` — из чего состоит `model_list`;
# - `hint("03.2", 2)` — какие параметры у `Router`.
# </details>
#
# <details><summary>Решение</summary>
#
# ```python
# def build_router(provider) -> Router:
#     def deployment(group, model, name):
#         return {"model_name": group,
#                 "litellm_params": {"model": model, "api_key": provider.key,
#                                    "api_base": provider.api_base("openrouter", deployment=name)}}
#
#     return Router(
#         model_list=[deployment("main", "openrouter/openai/gpt-4o", "d1"),
#                     deployment("reserve", "openrouter/anthropic/claude-3-haiku", "d2")],
#         fallbacks=[{"main": ["reserve"]}],
#         num_retries=0,
#     )
# ```
# Или выполните `solution("03.2")`.
# </details>
#
# ## 3.8 Повторы против фолбэков
#
# Повтор (retry) — ещё один запрос **к той же** модели; фолбэк — переход **к другой**. Кто из них
# первый и сколько запросов получит каждая модель? У `Router` по умолчанию `num_retries=2`: он
# повторит основную модель **дважды**, и только потом перейдёт к резервной. В группе `gpt-4o` одно
# развёртывание, поэтому перед каждым повтором Router делает паузу. Посчитаем запросы по
# развёртываниям и посмотрим на время (паузы настоящие: ячейка идёт несколько секунд).

# %%
import time

course.provider.reset()
course.provider.fail("openai/gpt-4o", 503)

router = Router(model_list=model_list, fallbacks=[{"gpt-4o": ["other-group"]}])  # num_retries по умолчанию
print("num_retries по умолчанию:", router.num_retries)
start = time.time()
response = router.completion(model="gpt-4o", messages=messages)
log = course.provider.log()

print("ответила группа:", response._hidden_params["additional_headers"]["x-litellm-model-group"])
print("провайдер видел:", seen("deployment"))
gaps = [later["t"] - earlier["t"] for earlier, later in zip(log, log[1:])]
print("паузы перед повторами не короче 0.5 с:", all(g >= 0.5 for g in gaps[:2]))
print("пауза перед переходом к резервной не короче 2 с:", gaps[2] >= 2.0)

# %%
fig, ax = plt.subplots(figsize=(9, 2.2))
rows = {"d1": 1, "o1": 0}
for entry in log:
    ok = entry["status"] == 200
    ax.scatter(entry["t"] - start, rows[entry["deployment"]], s=120, marker="o" if ok else "x",
               color="#1a7f37" if ok else "#cf222e", zorder=3)
    ax.annotate(str(entry["status"]), (entry["t"] - start, rows[entry["deployment"]]),
                textcoords="offset points", xytext=(0, 9), ha="center", fontsize=8)
ax.set_yticks([1, 0], ["d1: gpt-4o (основная)", "o1: claude-3-haiku (резерв)"])
ax.set_ylim(-0.6, 1.6)
ax.set_xlabel("секунды от начала вызова router.completion")
ax.set_title("Router по умолчанию: 3 запроса к основной с паузами, потом резервная")
ax.grid(axis="x", alpha=0.3)
plt.show()

# %% [markdown]
# Паузы растут вдвое (0,5 с, 1 с, 2 с плюс случайная добавка до 0,75 с), и **последняя пауза — уже
# после третьего отказа**, перед переходом к резервной модели. Пользователь ждёт несколько секунд,
# прежде чем ему ответит здоровая модель.
#
# > **Важно:** паузу Router делает, только когда повторять больше негде — в группе **одно**
# > развёртывание, как здесь. Если в группе несколько развёртываний, повтор идёт **сразу**, без паузы
# > (урок 05).
#
# Сводка: сколько запросов получает основная и резервная модель, когда основная лежит (503).
#
# | настройка | основная | резервная | паузы |
# |---|---|---|---|
# | `Router(fallbacks=...)`, по умолчанию `num_retries=2`, одно развёртывание в группе | 3 | 1 | да, 0,5 + 1 + 2 с и добавка |
# | `Router(fallbacks=..., num_retries=0)` | 1 | 1 | нет |
# | `litellm.completion(fallbacks=[...])` | 1 | 1 | нет |
# | `litellm.completion(fallbacks=[...], num_retries=2)` | 3 | 1 | нет (урок 02) |
# | `ask(Request(fallbacks=[...]))`, `retries=1` | 2 | 1 | да, 0,5 с |
#
# Проверим строку про `litellm.completion` с `num_retries=2`:

# %%
with course.practice():
    course.provider.reset()
    course.provider.fail("openai/gpt-4o", 503)
    response = litellm.completion(model="openrouter/openai/gpt-4o", messages=messages,
                                  fallbacks=["openrouter/openai/gpt-4o-mini"], num_retries=2)
    print("ответила", response.model, "| провайдер видел", seen())

# %% [markdown]
# Что выбрать: повторы лечат **короткие** сбои (одиночный 503, 429 с `Retry-After`), фолбэки —
# **долгие** (модель лежит). Если резервная модель не хуже, повторы перед ней — потерянные секунды:
# ставьте `num_retries=0` или 1.
#
# Число повторов можно задать и **по классу ошибки** — параметром `retry_policy`. Например,
# `retry_policy={"ServiceUnavailableErrorRetries": 0}`: на 503 — сразу к резервной, остальные ошибки
# Router повторяет, как велит `num_retries`:

# %%
course.provider.reset()
course.provider.fail("openai/gpt-4o", 503)
router = Router(model_list=model_list, fallbacks=[{"gpt-4o": ["other-group"]}],
                retry_policy={"ServiceUnavailableErrorRetries": 0})  # 503 не повторять
response = router.completion(model="gpt-4o", messages=messages)
print("ответила группа:", response._hidden_params["additional_headers"]["x-litellm-model-group"],
      "| провайдер видел:", seen("deployment"))

# %% [markdown]
# Ключи `retry_policy` названы по классам исключений LiteLLM (урок 02): `RateLimitErrorRetries`,
# `TimeoutErrorRetries`, `ServiceUnavailableErrorRetries`… Следите за классом: через `openrouter/`
# ответ 500 приходит как `APIError`, и ключ `InternalServerErrorRetries` на него не действует — такие
# ошибки повторяются по `num_retries`.
#
# ### Заглядываем вперёд: cooldown
#
# Router умеет на время **исключать** упавшее развёртывание (cooldown): следующие запросы сразу идут к
# резервной группе, не тратя попытку на лежащую. На сколько секунд — задаёт `cooldown_time`, а
# **когда** — правило, которое выбирает `allowed_fails`. Шесть запросов подряд при лежащей основной
# модели:

# %%
for label, options in [("по умолчанию", {}), ("allowed_fails=3", {"allowed_fails": 3}),
                       ("allowed_fails=1, cooldown_time=30", {"allowed_fails": 1, "cooldown_time": 30})]:
    course.provider.reset()
    course.provider.fail("openai/gpt-4o", 503)
    router = Router(model_list=model_list, fallbacks=[{"gpt-4o": ["other-group"]}], num_retries=0, **options)
    for _ in range(6):
        router.completion(model="gpt-4o", messages=messages, max_tokens=20)
    print(f"{label}: запросов к d1 — {len(seen('deployment')['d1'])}, к o1 — {len(seen('deployment')['o1'])}")

# %% [markdown]
# По умолчанию группа из **одного** развёртывания при временных ошибках (503, 429, 500) почти никогда
# не уходит в cooldown: LiteLLM исключает её, только если за минуту упали все запросы и их было не
# меньше 1000. Каждый запрос снова тратит попытку на лежащую модель. (Ошибки, которые повтором не
# лечатся, — 401 и 404 — исключают развёртывание сразу.)
#
# Правило «cooldown после `allowed_fails` + 1 неудач» включается, **только если `allowed_fails` задан
# и не равен 3** — значению по умолчанию. Поэтому `allowed_fails=3` ничего не меняет, а с
# `allowed_fails=1` после второй неудачи `d1` исключён на 30 секунд. (Одиночное развёртывание, у
# группы которого нет резервной группы, и по этому правилу не исключается.) Порог можно задать и по
# классу ошибки — `allowed_fails_policy`: например, с
# `allowed_fails_policy={"ServiceUnavailableErrorAllowedFails": 1}` `d1` исключается после второго 503.
# Подробно cooldown и балансировка — в уроке 05.
#
# ## 3.9 Фолбэки по окну контекста
#
# Особый случай: запрос **не помещается** в окно контекста модели. Повтор тут бесполезен, а модель
# с бо́льшим окном поможет. У практического провайдера, как у настоящего, окно `gpt-3.5-turbo` —
# 16385 токенов, и слишком длинный запрос получает честный 400 «maximum context length».

# %%
long_messages = [{"role": "user", "content": "слово " * 20000}]  # для gpt-3.5-turbo — около 40 тысяч токенов

with course.practice():
    course.provider.reset()
    try:
        litellm.completion(model="openrouter/openai/gpt-3.5-turbo", messages=long_messages,
                           context_window_fallbacks=["openrouter/openai/gpt-4o-mini"])
    except litellm.BadRequestError as e:
        print(type(e).__name__, "| в тексте 'maximum context length':", "maximum context length" in str(e))
    print("провайдер видел:", seen())

# %% [markdown]
# > **Осторожно:** `context_window_fallbacks=` в `litellm.completion` **игнорируется**: один запрос,
# > `BadRequestError`, никакого перехода. В SDK работает обычный `fallbacks=` — он срабатывает на любую
# > ошибку, в том числе на эту:

# %%
with course.practice():
    course.provider.reset()
    response = litellm.completion(model="openrouter/openai/gpt-3.5-turbo", messages=long_messages,
                                  fallbacks=["openrouter/openai/gpt-4o-mini"], max_tokens=20)
    print("ответила", response.model, "| prompt_tokens (токенизатор ответившей модели):", response.usage.prompt_tokens)
    print("провайдер видел", seen())

# %% [markdown]
# `prompt_tokens` считает токенизатор **ответившей** модели: здесь это `gpt-4o-mini` с токенизатором
# `o200k_base`, и запрос занял около 20 тысяч токенов (чуть больше, чем сам текст: разметка сообщений
# чата добавляет несколько токенов). Для `gpt-3.5-turbo` (токенизатор `cl100k_base`) тот же текст —
# около 40 тысяч, поэтому он и не влез в её окно. Один и тот же текст разные модели считают по-разному:

# %%
import tiktoken

for model, encoding in (("gpt-4o-mini", "o200k_base"), ("gpt-3.5-turbo", "cl100k_base")):
    n = len(tiktoken.get_encoding(encoding).encode(long_messages[0]["content"]))
    print(f"{model:<14} {encoding:<12} {n} токенов")

# %% [markdown]
# В `Router` параметр `context_window_fallbacks` есть, но срабатывает он, **только если ошибка
# превратилась в `ContextWindowExceededError`**. А это зависит от пути: через `openrouter/` LiteLLM
# поднимает простой `BadRequestError` (урок 02), через `openai/` — `ContextWindowExceededError`.
# Проверим оба пути на одной и той же паре «маленькое окно → большое окно»:

# %%
for flavor, prefix in (("openrouter", "openrouter/openai/"), ("openai", "openai/")):
    cw_list = [
        {"model_name": "small", "litellm_params": {"model": prefix + "gpt-3.5-turbo", "api_key": course.provider.key,
                                                   "api_base": course.provider.api_base(flavor, deployment="d1")}},
        {"model_name": "big", "litellm_params": {"model": prefix + "gpt-4o-mini", "api_key": course.provider.key,
                                                 "api_base": course.provider.api_base(flavor, deployment="o1")}},
    ]
    router = Router(model_list=cw_list, context_window_fallbacks=[{"small": ["big"]}], num_retries=0)
    course.provider.reset()
    try:
        response = router.completion(model="small", messages=long_messages, max_tokens=20)
        outcome = f"ответила группа {response._hidden_params['additional_headers']['x-litellm-model-group']}"
    except litellm.BadRequestError as e:
        outcome = f"{type(e).__name__}, перехода нет"
    print(f"{prefix:<19} → {outcome} | провайдер видел {seen('deployment')}")

# %% [markdown]
# Вывод: для OpenRouter-моделей `context_window_fallbacks` в Router **не работает**. Надёжнее обычные
# `fallbacks` — или проверка длины запроса до вызова: `litellm.token_counter(model="gpt-3.5-turbo",
# messages=...)`. Считайте токенизатором той модели, чьё окно проверяете: для имён `openrouter/...`
# `token_counter` берёт токенизатор по умолчанию (`cl100k_base`) — и для `gpt-4o-mini` насчитает
# вдвое больше, чем она сама.
#
# Для экспериментов у провайдера есть и искусственный сбой `kind="context_length"`: он отвечает тем же
# 400 без длинного текста — `course.provider.fail("openai/gpt-3.5-turbo", kind="context_length", times=1)`.
#
# ## 3.10 Панель: симулятор аварий
#
# Задайте вероятность сбоя каждой модели цепочки `gpt-4o → claude-3-haiku → gpt-4o-mini`, выберите
# вид сбоя и число запросов и нажмите «Запустить серию». Панель сбрасывает провайдер, включает
# `course.provider.fail(модель, статус, probability=p)` и отправляет серию через
# `litellm.completion(..., fallbacks=[...])`. Слева на графике — кто ответил на каждый запрос,
# справа — статистика провайдера. Сбои «посеяны»: те же настройки — та же картина.
#
# Попробуйте: все три вероятности по 0.5 (сколько запросов останутся без ответа?); основная 1.0
# (стоит ли её тогда вообще держать первой?).

# %%
from course_helpers.panels.fallbacks import CrashSimulator

simulator = CrashSimulator(course.provider)
simulator.widget

# %% [markdown]
# Кнопка вызывает метод `simulator.run()`. Из кода — например, основная лежит совсем, первая
# резервная падает в половине случаев:

# %%
with course.practice():
    simulator.sliders[0].value, simulator.sliders[1].value, simulator.sliders[2].value = 1.0, 0.5, 0.2
    batch = simulator.run()
    print("ответили:", {m: batch.served_count(m) for m in batch.models}, "| без ответа:", batch.served_count(None))

# %% [markdown]
# Свой прогресс по заданиям урока смотрите так: `progress("03")`.
#
# ## Итоги
#
# - Цикл из исходного урока молчит, когда отказали все (`response` не определён или старый), ловит
#   даже 401 и теряет класс ошибки; `except Exception: continue` из клиента проекта зацикливается.
#   Правильный цикл: 401/400 — `raise`, `ContextWindowExceededError` и `openai.APIError` — следующая
#   модель, в конце — последняя ошибка со своим классом.
# - `litellm.completion(..., fallbacks=[...])` принимает строки и словари с параметрами; переходит на
#   **любой** ошибке, включая 400 и 401.
# - Кто ответил: `response.model`, заголовок `x-litellm-attempted-fallbacks` (у Router ещё
#   `x-litellm-model-group`) и статистика провайдера. `litellm_model_name` врёт — там основная модель.
# - Отказали все: SDK поднимает `APIConnectionError` (500) и теряет класс; Router — ошибку основной
#   группы; `ask` и исправленный цикл — последнюю ошибку со своим классом.
# - В `Router(fallbacks=...)` — только список словарей; простой список — в вызове или в `default_fallbacks`.
#   `mock_testing_fallbacks=True` работает только в Router.
# - Router по умолчанию повторяет основную модель дважды (и, если в группе одно развёртывание, — с
#   паузами и ещё одной паузой перед переходом): 3 запроса и несколько секунд до резервной.
#   `num_retries=0` — переход сразу; `retry_policy` задаёт число повторов по классу ошибки. В группе из
#   нескольких развёртываний повтор идёт без паузы.
# - Cooldown по умолчанию (и при `allowed_fails=3`) почти никогда не исключает одиночное развёртывание
#   при временных ошибках (сразу — на 401 и 404); `allowed_fails=N` с N ≠ 3 — после N + 1 неудач;
#   `allowed_fails_policy` — порог по классу ошибки.
# - `context_window_fallbacks` игнорируется в `litellm.completion`, а в Router работает только через
#   `openai/` (через `openrouter/` это обычный `BadRequestError`).
# - `prompt_tokens` считает токенизатор ответившей модели: один текст — около 20 тысяч токенов у
#   `gpt-4o-mini` (`o200k_base`) и около 40 тысяч у `gpt-3.5-turbo` (`cl100k_base`).
