# %% [markdown]
# # Урок 03. Резервные модели (fallbacks)
#
# Наш ассистент отвечает через `openrouter/openai/gpt-4o`. Рано или поздно эта модель откажет: 503, лимит
# запросов, кончились кредиты. Пользователь всё равно должен получить ответ — от **резервной модели**. А мы должны
# уметь **доказать**, кто ответил: по ответу LiteLLM и по тому, что увидел провайдер.
#
# **В этом уроке вы:**
# - найдёте ошибки в ручном цикле по моделям из исходного урока и почините его;
# - настроите `fallbacks=` в `litellm.completion` и проверите прогнозами, кто отвечает, на каких ошибках
#   происходит переход и что прилетает, когда отказали все;
# - дадите резервной модели свой ключ и свои параметры (второй аккаунт);
# - подключите `Request(fallbacks=...)` из «нашего проекта» и разберётесь, где нужен повтор, а где — переход;
# - выберете самую дешёвую цепочку моделей, которая отвечает при заданных сбоях.
#
# ⏱ **Время:** основной путь ~40 мин + «Для любопытных» ~10 мин.
#
# Все опыты урока устраивают сбои и считают запросы, поэтому идут на практическом провайдере (в онлайн-режиме
# ячейка опыта об этом скажет). Задержки ответов в уроке выключены: важно, **кто** ответил, а не как быстро.

# %%
from course_helpers import start_lesson

course = start_lesson("03")

import litellm
import openai
from course_helpers import check, hint, predict, progress, quiz, reveal, solution

PRIMARY = "openrouter/openai/gpt-4o"  # основная модель ассистента
messages = [{"role": "user", "content": "Что такое Python?"}]


def clean_provider() -> None:
    """Провайдер без сбоев, лимитов и статистики; задержки ответов выключены."""
    course.provider.reset()
    course.provider.set_latency_scale(0)


def seen() -> dict:
    """Что получил провайдер: модель → статусы его ответов по порядку."""
    received = {}
    for entry in course.provider.log():
        received.setdefault(entry["model"], []).append(entry["status"])
    return received


# %% [markdown]
# ## 3.1 Цикл из исходного урока
#
# Исходный урок перебирает модели вручную. Вот его код — дословно, только обёрнут в функцию (чтобы вернуть
# `response`) и печатает класс ошибки вместо её длинного текста. Устроим ему три аварии: лежит основная модель
# (503), все модели упёрлись в лимит (429), ключ неверен (401). `seen()` показывает, что получил провайдер.

# %%
def seed_loop(models_to_try, messages):
    for model in models_to_try:
        try:
            response = litellm.completion(model=model, messages=messages)
            # Если запрос успешен, выходим из цикла
            break
        except Exception as e:
            print(f"Ошибка с моделью {model}: {type(e).__name__}")  # в исходном уроке: {e}
    return response


models_to_try = ["openrouter/openai/gpt-4o-mini", "openrouter/openai/gpt-3.5-turbo"]

with course.practice():
    for failing, status in (("openai/gpt-4o-mini", 503), ("*", 429), ("*", 401)):  # "*" — все модели
        clean_provider()
        course.provider.fail(failing, status)
        try:
            print("ответила:", seed_loop(models_to_try, messages).model)
        except Exception as e:
            print(f"  → {type(e).__name__}: {e}")
        print(f"  провайдер видел: {seen()}\n")

# %% [markdown]
# > **Исходный урок говорит:** цикл по `models_to_try` с `break` при успехе обеспечивает «бесперебойную работу».
# > **На деле:** при одной аварии — да, а дальше три ошибки.
# > 1. **Отказали все — ошибки нет.** В функции это `UnboundLocalError` про `response`, а в ячейке ноутбука ещё
# >    хуже: `response` остаётся **от прошлого запроса**, и программа молча работает со старым ответом.
# > 2. **`except Exception` ловит и 401.** Неверный ключ честно «пробуется» на каждой модели, причина теряется.
# >    Так же проглотится и опечатка в вашем коде.
# > 3. **Класс ошибки потерян.** Её печатают, но вызывающий код не может решить, что делать дальше.
#
# В клиенте проекта из исходного урока (`litellm_client.py`) цикл идёт по счётчику `attempt`, а неожиданные ошибки
# обрабатываются так: `except Exception: continue` (урок 02 разбирает этот обработчик). `continue` **не
# увеличивает `attempt`**: цикл снова берёт ту же модель. Запускаем с предохранителем на 5 итераций — в исходном
# коде его нет.

# %%
from litellm.exceptions import APIConnectionError, AuthenticationError, BudgetExceededError, RateLimitError, Timeout

GUARD = 5  # предохранитель: в исходном коде его нет


def seed_client(models, messages):
    attempt, iterations = 0, 0
    while attempt < len(models):
        iterations += 1
        if iterations > GUARD:
            return f"ЗАЦИКЛИЛСЯ: {GUARD} итераций, attempt всё ещё {attempt}"
        try:
            return litellm.completion(model=models[attempt], messages=messages).model
        except AuthenticationError:
            raise ValueError("Invalid API key")
        except (RateLimitError, Timeout, APIConnectionError, BudgetExceededError):
            attempt += 1
        except Exception:
            continue  # ← attempt не меняется: та же модель ещё раз
    return "все модели отказали"


with course.practice():
    clean_provider()
    course.provider.fail("openai/gpt-4o-mini", 503)  # 503 — ServiceUnavailableError: его нет в кортеже
    print(seed_client(models_to_try, messages))
    print("провайдер видел:", seen())

# %% [markdown]
# Пять запросов подряд к лежащей модели, ни одного — к резервной. Без предохранителя этот цикл засыпал бы
# провайдера запросами бесконечно.
#
# ### Задание 3.1 · отладка. Починить цикл
#
# В ячейке ниже — цикл из исходного урока под именем `fallback_loop(models, messages)`. Исправьте его так, чтобы:
# - функция возвращала **ответ** (`response`) первой модели, которая ответила;
# - временные ошибки провайдера (503, 500, 429, таймаут) вели к **следующей** модели, и ни одна модель не
#   получала больше одного запроса;
# - неверный ключ (401) и неверный запрос (400) **сразу** поднимали свою ошибку: другая модель их не исправит;
# - когда отказали все, поднималась **последняя ошибка со своим классом** (на 429 — `RateLimitError`).
#
# Проверка устроит пять аварий на цепочке из трёх моделей и сверит со статистикой провайдера, сколько запросов
# получила каждая модель. Запустите её сразу, с неисправленным кодом: она покажет первую ошибку.

# %%
def fallback_loop(models, messages):
    for model in models:
        try:
            response = litellm.completion(model=model, messages=messages)
            # Если запрос успешен, выходим из цикла
            break
        except Exception as e:
            print(f"Ошибка с моделью {model}: {type(e).__name__}")
    return response


# %%
check("03.1", fallback_loop)

# %% [markdown]
# Подсказки: `hint("03.1")`, `hint("03.1", 2)`. Решение — в конце урока и в `solution("03.1")`.
#
# ## 3.2 `fallbacks=` в `litellm.completion`
#
# Писать цикл самому не обязательно: у `litellm.completion` есть параметр `fallbacks` — список резервных моделей.
# LiteLLM пробует основную модель, а при ошибке — резервные по порядку.
#
# Основная `gpt-4o` лежит (503), резервные — `claude-3-haiku` и `gpt-4o-mini`. Сколько запросов получит провайдер,
# и кто ответит? Выберите вариант, потом выполните опыт.

# %%
predict("03.p1")

# %%
with course.practice():
    clean_provider()
    course.provider.fail("openai/gpt-4o", 503)  # основная лежит, пока не уберём сбой

    response = litellm.completion(
        model=PRIMARY,
        messages=messages,
        fallbacks=["openrouter/anthropic/claude-3-haiku", "openrouter/openai/gpt-4o-mini"],
    )
    print("провайдер видел:", seen())
    reveal("03.p1", (course.provider.requests(), response.model))

# %% [markdown]
# ### Кто ответил? Доказательства
#
# Ответ пришёл. Где в нём сказано, от кого? Три места — и одно из них вводит в заблуждение.

# %%
hidden = response._hidden_params
print("response.model:                      ", response.model)
print("x-litellm-attempted-fallbacks:       ", hidden["additional_headers"]["x-litellm-attempted-fallbacks"])
print("_hidden_params['litellm_model_name']:", hidden["litellm_model_name"])

# %% [markdown]
# - **`response.model`** — модель, которая на самом деле ответила (имя у провайдера, без `openrouter/`).
# - **`x-litellm-attempted-fallbacks`** в `response._hidden_params["additional_headers"]` — сколько раз LiteLLM
#   переходил к резервной модели (0 — ответила основная).
# - **`litellm_model_name` вводит в заблуждение:** там остаётся основная модель, хотя она не ответила.
# - **Статистика провайдера** — окончательное доказательство: основная получила запрос и ответила 503, первая
#   резервная — запрос и ответ 200, до третьей модели дело не дошло.
#
# Ручной цикл из задания 3.1 на 400 останавливается. А `fallbacks=`? Основная модель отвечает 400 (неверный
# запрос).

# %%
predict("03.p2")

# %%
with course.practice():
    clean_provider()
    course.provider.fail("openai/gpt-4o", 400)
    try:
        response = litellm.completion(model=PRIMARY, messages=messages, fallbacks=["openrouter/openai/gpt-4o-mini"])
        outcome = "answered"
        print("ответила:", response.model)
    except litellm.BadRequestError as e:
        outcome = type(e).__name__
    print("провайдер видел:", seen())
    reveal("03.p2", outcome)

# %% [markdown]
# > **Важно:** `fallbacks=` не разбирает причин — переход будет и на 401. Это разумно, только если у резервной
# > модели **свой** ключ. Ручной цикл, как в задании 3.1, даёт выбрать, на каких ошибках останавливаться.
#
# ### Словари: свои параметры резервной модели
#
# Элемент `fallbacks` может быть словарём: `model` плюс параметры вызова, которые действуют **только для этой
# модели** и заменяют параметры основного вызова. Например, резервной модели — короткие ответы:

# %%
with course.practice():
    clean_provider()
    course.provider.fail("openai/gpt-4o", 503)
    response = litellm.completion(
        model=PRIMARY,
        messages=messages,
        fallbacks=[{"model": "openrouter/openai/gpt-4o-mini", "max_tokens": 20}],
    )
    print("ответила:", response.model, "| completion_tokens:", response.usage.completion_tokens)
    print("провайдер видел:", seen())

# %% [markdown]
# ### Задание 3.2 · сборка. Резервная модель на втором аккаунте
#
# Основной ключ проекта может упереться в лимит кредитов: тогда **любая** модель с этим ключом получает 402 (урок
# 02). На такой случай у проекта есть второй аккаунт со своим ключом `reserve_key`. Он оплачивает только
# `openrouter/openai/gpt-4o-mini` и только короткие ответы — не длиннее **30 токенов**.
#
# Напишите `ask_with_reserve(messages, reserve_key)`, которая возвращает **текст** ответа:
# - основная модель — `openrouter/openai/gpt-4o` с ключом проекта (из окружения, как во всех вызовах урока) и без
#   ограничения длины ответа;
# - при любом её отказе отвечает `openrouter/openai/gpt-4o-mini` с ключом `reserve_key` и `max_tokens=30`.
#
# Проверка заведёт у провайдера резервный ключ (`course.provider.create_key("reserve", limit=1.0)`), обнулит
# кредиты основного (`course.provider.set_credit_limit(0)`) и прочитает в журнале провайдера
# (`course.provider.log()`), какая модель с каким ключом (`"key"`) и сколькими токенами ответила. Потом — что при
# живом основном ключе резервный не тратится. Эти же вызовы пригодятся вам, чтобы проверить себя.

# %%
def ask_with_reserve(messages: list[dict], reserve_key: str) -> str:
    # ваш код здесь
    raise NotImplementedError


# %%
check("03.2", ask_with_reserve)

# %% [markdown]
# Подсказки: `hint("03.2")`, `hint("03.2", 2)`. Решение — в конце урока и в `solution("03.2")`.
#
# ## 3.3 Когда отказали все
#
# Все три модели цепочки отвечают 429. Что прилетит из `litellm.completion(..., fallbacks=[...])`?

# %%
predict("03.p3")

# %%
with course.practice():
    clean_provider()
    course.provider.fail("*", 429)
    try:
        litellm.completion(model=PRIMARY, messages=messages,
                           fallbacks=["openrouter/anthropic/claude-3-haiku", "openrouter/openai/gpt-4o-mini"])
        raised = None
    except Exception as e:
        raised = e
    print("провайдер видел:", seen())
    print("status_code:", raised.status_code, "| это RateLimitError?", isinstance(raised, litellm.RateLimitError))
    print("в тексте 'All fallback attempts failed':", "All fallback attempts failed" in str(raised))
    reveal("03.p3", type(raised).__name__)

# %% [markdown]
# > **Осторожно:** код, который на `APIConnectionError` «проверяет сеть», будет искать не ту проблему, а
# > `except litellm.RateLimitError` с паузой до следующей минуты не сработает вовсе. Если вызывающему коду важен
# > класс ошибки, перебирайте модели сами (задание 3.1) или пользуйтесь клиентом проекта (раздел 3.4).
#
# | кто перебирает модели | что поднимается, когда отказали все |
# |---|---|
# | `litellm.completion(fallbacks=...)` | `APIConnectionError` (500), класс последней ошибки — только в тексте |
# | ваш цикл из задания 3.1, `ask` из проекта | **последняя** ошибка со своим классом |
# | `Router` (урок 05) | ошибка **основной** группы со своим классом |
#
# ## 3.4 «Наш проект»: `Request(fallbacks=...)`
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
# В курсе этот проект лежит в `course_helpers`: `Request` и функция `ask(request)`. `answer_model` — pydantic-модель,
# под которую должен подойти ответ (LiteLLM передаёт её как `response_format`). `ask` перебирает модели сам, как
# исправленный цикл, но временную ошибку сначала **повторяет** на той же модели `retries` раз (по умолчанию 1, с
# паузой) — и печатает каждое решение.

# %%
import pydantic
from course_helpers import Request, ask


class CustomAnswer(pydantic.BaseModel):
    answer: str
    confidence: float


with course.practice():
    clean_provider()
    course.provider.fail("openai/gpt-4o", 503)
    request = Request(
        model="openrouter/openai/gpt-4o",
        fallbacks=["openrouter/openai/gpt-3.5-turbo", "openrouter/anthropic/claude-3-haiku"],
        messages=[{"role": "user", "content": "Привет!"}],
        answer_model=CustomAnswer,
    )
    reply = ask(request)
    print("тип ответа:", type(reply.value).__name__, "| confidence:", reply.value.confidence)
    print("ответила:", reply.model, "| провайдер видел:", seen())

    clean_provider()
    course.provider.fail("*", 429)
    try:
        ask(Request(model=PRIMARY, fallbacks=["openrouter/openai/gpt-3.5-turbo"], messages=messages, retries=0))
    except litellm.RateLimitError as e:
        print("отказали все → поймали", type(e).__name__, "| попытки:", [(a.model, a.error) for a in e.attempts])

# %% [markdown]
# Основная модель получила **два** запроса: 503 — временная ошибка, и `ask` повторил её, прежде чем перейти дальше.
# Хотите переходить сразу — `Request(..., retries=0)`, как во втором вызове. Когда отказали все, `ask` поднимает
# последнюю ошибку **со своим классом** и списком попыток.
#
# ## 3.5 Повтор или резервная модель
#
# Повтор (retry) — ещё один запрос **к той же** модели; резервная модель — запрос **к другой**. В `litellm.completion`
# их можно сложить: `num_retries=2` вместе с `fallbacks=[...]`. Основная gpt-4o всегда отвечает 503,
# claude-3-haiku — 500, gpt-4o-mini здорова.

# %%
predict("03.p4")

# %%
with course.practice():
    clean_provider()
    course.provider.fail("openai/gpt-4o", 503)
    course.provider.fail("anthropic/claude-3-haiku", 500)
    response = litellm.completion(model=PRIMARY, messages=messages, num_retries=2,
                                  fallbacks=["openrouter/anthropic/claude-3-haiku", "openrouter/openai/gpt-4o-mini"])
    print("ответила:", response.model, "| провайдер видел:", seen())
    reveal("03.p4", course.provider.requests())

# %% [markdown]
# Сводка: сколько запросов получают модели, когда основная лежит (503), а резервная здорова.
#
# | настройка | основная | резервная |
# |---|---|---|
# | `litellm.completion(fallbacks=[...])` | 1 | 1 |
# | `litellm.completion(fallbacks=[...], num_retries=2)` | 3 | 1 (упади она — тоже до 3) |
# | `ask(Request(fallbacks=[...]))`, по умолчанию `retries=1` | 2, с паузой | 1 |
#
# Что выбрать: повтор лечит **короткий** сбой (одиночный 503, модель, которая отказывает в части запросов);
# резервная модель — **долгий** (модель лежит). Повторы перед резервной моделью, которая не хуже основной, —
# лишние запросы и время.
#
# ### Серия запросов: симулятор аварий
#
# Один запрос — это случай, серия — статистика. Панель ниже отправляет серию вызовов
# `litellm.completion(model=gpt-4o, fallbacks=[claude-3-haiku, gpt-4o-mini])`, а перед этим включает у провайдера
# сбои с вероятностью — `course.provider.fail(модель, статус, probability=p)`. Слева на графике — кто ответил на
# каждый запрос, справа — статистика провайдера. Сбои «посеяны»: те же настройки дают ту же картину.
#
# Попробуйте: все три вероятности по 0,5 (сколько запросов останутся без ответа?); основная 1,0 (стоит ли её тогда
# держать первой?).

# %%
from course_helpers.panels.fallbacks import CrashSimulator

simulator = CrashSimulator(course.provider)
simulator.widget

# %% [markdown]
# Кнопка вызывает `simulator.run()`. Из кода — например, основная лежит совсем, первая резервная падает в половине
# случаев:

# %%
with course.practice():
    simulator.sliders[0].value, simulator.sliders[1].value, simulator.sliders[2].value = 1.0, 0.5, 0.2
    simulator.count.value = 20
    batch = simulator.run()
    print("ответили:", {m: batch.served_count(m) for m in batch.models}, "| без ответа:", batch.served_count(None))

# %% [markdown]
# ### Задание 3.3 · решение. Самая дешёвая цепочка, которая всегда отвечает
#
# Ассистенту доступны три модели (цены практического провайдера — цены OpenRouter на 1 июня 2025 года, за миллион
# токенов запроса и ответа):
#
# | модель | цена | как ведёт себя |
# |---|---|---|
# | `openrouter/openai/gpt-4o-mini` | $0,15 / $0,60 | отвечает 503 примерно в 30 % запросов |
# | `openrouter/anthropic/claude-3-haiku` | $0,25 / $1,25 | пропускает 2 запроса в минуту, дальше — 429 |
# | `openrouter/openai/gpt-4o` | $2,50 / $10,00 | надёжна |
#
# Требования: **каждый** запрос получает ответ — и при таких сбоях, и когда gpt-4o-mini лежит совсем; модель
# подороже получает запрос, только когда более дешёвые на нём **уже отказали**.
#
# Заполните `chain_config` — параметры `litellm.completion` без `messages`: `model`, `fallbacks` и, если решите,
# `num_retries`. Проверка отправит с ними 20 запросов при сбоях из таблицы и ещё 6, когда gpt-4o-mini лежит, и по
# журналу провайдера разберёт каждый запрос: какие модели его получили и в каком порядке.

# %%
chain_config = {
    # "model": ...,
    # "fallbacks": [...],
}

# %%
check("03.3", chain_config)

# %% [markdown]
# Подсказки: `hint("03.3")`, `hint("03.3", 2)`. Решение — в конце урока и в `solution("03.3")`.
#
# ## 3.6 Запрос не влез в окно контекста
#
# Особый случай: запрос длиннее окна контекста модели. Повтор тут бесполезен, а модель с бо́льшим окном поможет. У
# практического провайдера, как у настоящего, окно `gpt-3.5-turbo` — 16 385 токенов, и слишком длинный запрос
# получает честный 400 «maximum context length». У `Router` для этого есть параметр `context_window_fallbacks`
# (урок 05) — а что с ним сделает `litellm.completion`?

# %%
long_messages = [{"role": "user", "content": "слово " * 20000}]  # для gpt-3.5-turbo — около 40 тысяч токенов

with course.practice():
    clean_provider()
    try:
        litellm.completion(model="openrouter/openai/gpt-3.5-turbo", messages=long_messages,
                           context_window_fallbacks=["openrouter/openai/gpt-4o-mini"])
    except litellm.BadRequestError as e:
        print(type(e).__name__, "| в тексте 'maximum context length':", "maximum context length" in str(e))
    print("провайдер видел:", seen())

    clean_provider()
    response = litellm.completion(model="openrouter/openai/gpt-3.5-turbo", messages=long_messages, max_tokens=20,
                                  fallbacks=["openrouter/openai/gpt-4o-mini"])
    print("обычный fallbacks= → ответила", response.model, "| prompt_tokens:", response.usage.prompt_tokens)
    print("провайдер видел:", seen())

# %% [markdown]
# > **Осторожно:** `context_window_fallbacks=` в `litellm.completion` **игнорируется**: один запрос,
# > `BadRequestError`, никакого перехода. Обычный `fallbacks=` срабатывает на любую ошибку, в том числе на эту.
#
# `prompt_tokens` считает токенизатор **ответившей** модели: у `gpt-4o-mini` это `o200k_base`, и запрос занял около
# 20 тысяч токенов (чуть больше самого текста: разметка сообщений чата добавляет несколько токенов). Для
# `gpt-3.5-turbo` (`cl100k_base`) тот же текст — около 40 тысяч, поэтому он и не влез в её окно:

# %%
import tiktoken

for model, encoding in (("gpt-4o-mini", "o200k_base"), ("gpt-3.5-turbo", "cl100k_base")):
    n = len(tiktoken.get_encoding(encoding).encode(long_messages[0]["content"]))
    print(f"{model:<14} {encoding:<12} {n} токенов")

# %% [markdown]
# ### Дальше: `Router`
#
# Всё в этом уроке — уровень SDK: один вызов `litellm.completion` и его `fallbacks=`. В уроке 05 появится `Router`:
# резервные **группы** развёртываний (`fallbacks=[{"группа": ["резерв"]}]`, `default_fallbacks`), проверка
# перехода без аварии (`mock_testing_fallbacks=True`), временное исключение упавшего развёртывания (cooldown),
# `context_window_fallbacks`, который там работает (но не через `openrouter/`), и повторы с паузами перед переходом.
#
# ## Тест
#
# Выберите ответ и нажмите «Ответить» — после ответа появится объяснение. Ответить можно и кодом:
# `from course_helpers import answer`, затем `answer("03.q1", 2)` (номер варианта с 1).

# %%
quiz("03")

# %% [markdown]
# ## Итоги
#
# - Цикл из исходного урока молчит, когда отказали все (`response` не задан или старый), ловит даже 401 и теряет
#   класс ошибки; `except Exception: continue` из клиента проекта зацикливается на одной модели. Правильный цикл:
#   401/400 — `raise`, остальные ошибки провайдера (`openai.APIError`) — следующая модель, в конце — последняя
#   ошибка со своим классом.
# - `litellm.completion(..., fallbacks=[...])` перебирает модели по порядку и переходит на **любой** ошибке,
#   включая 400 и 401. Элемент списка — строка или словарь со своими параметрами (`api_key`, `max_tokens`, …).
# - Кто ответил: `response.model`, заголовок `x-litellm-attempted-fallbacks` и статистика провайдера;
#   `litellm_model_name` показывает основную модель.
# - Отказали все: `litellm.completion` поднимает `APIConnectionError` (500), класс последней ошибки потерян; ручной
#   цикл и `ask` поднимают последнюю ошибку со своим классом.
# - `num_retries` действует на каждую модель цепочки. Повтор — для коротких сбоев, резервная модель — для долгих.
# - `context_window_fallbacks` в `litellm.completion` игнорируется; обычный `fallbacks=` работает и на переполнении
#   окна, а `prompt_tokens` считает токенизатор ответившей модели.
#
# ### Рецепт
#
# ```python
# import os
# import litellm
#
# FALLBACKS = [
#     "openrouter/anthropic/claude-3-haiku",
#     # второй аккаунт: свой ключ и короткие ответы только для этой модели
#     {"model": "openrouter/openai/gpt-4o-mini", "api_key": os.environ["RESERVE_KEY"], "max_tokens": 300},
# ]
#
#
# def ask_llm(messages: list[dict]) -> str:
#     try:
#         response = litellm.completion(model="openrouter/openai/gpt-4o", messages=messages, fallbacks=FALLBACKS)
#     except litellm.APIConnectionError as e:  # так выглядит «отказали все»: настоящий класс — только в тексте
#         raise RuntimeError(f"ни одна модель не ответила: {e}") from e
#     attempts = response._hidden_params["additional_headers"]["x-litellm-attempted-fallbacks"]
#     if attempts:
#         print(f"ответила резервная модель {response.model} после {attempts} отказа(ов)")  # в журнал сервиса
#     return response.choices[0].message.content
# ```
#
# ### Документация
#
# - [Reliability: retries, fallbacks (SDK)](https://docs.litellm.ai/docs/completion/reliable_completions)
# - [completion() с fallbacks](https://docs.litellm.ai/docs/tutorials/fallbacks)
# - [Exception mapping](https://docs.litellm.ai/docs/exception_mapping) — какие классы ошибок поднимает LiteLLM
# - [OpenRouter: коды ошибок](https://openrouter.ai/docs/api-reference/errors) — в том числе 402 и 429
#
# ## Для любопытных
#
# ### Потоковый ответ (stream) и `fallbacks=`
#
# В LiteLLM 1.108.14 синхронный `litellm.completion(stream=True, fallbacks=[...])` не работает **даже без сбоя**:
# внутри он пытается перебрать асинхронный генератор как обычный. Провайдер ответил 200, а вы получаете ошибку.
# Асинхронный `acompletion` с тем же набором параметров работает и переходит к резервной модели.

# %%
from litellm.exceptions import MidStreamFallbackError

with course.practice():
    clean_provider()
    try:
        for chunk in litellm.completion(model=PRIMARY, messages=messages, stream=True,
                                        fallbacks=["openrouter/openai/gpt-4o-mini"]):
            pass
    except MidStreamFallbackError as e:
        print(type(e).__name__, "| 'async_generator' в тексте:", "async_generator" in str(e))
    print("провайдер видел:", seen())

    clean_provider()
    course.provider.fail("openai/gpt-4o", 503)
    stream = await litellm.acompletion(model=PRIMARY, messages=messages, stream=True,
                                       fallbacks=["openrouter/openai/gpt-4o-mini"])
    text = "".join([chunk.choices[0].delta.content or "" async for chunk in stream])
    print("acompletion:", text[:40], "… | провайдер видел:", seen())

# %% [markdown]
# ### Проверка перехода без аварии
#
# В тестах не хочется ломать настоящую модель. Для `litellm.completion` есть `mock_response`: строка — готовый
# ответ без сетевого запроса, а имя исключения (`"litellm.RateLimitError"`) — это исключение. У резервной модели
# может быть свой `mock_response`. А вот `mock_testing_fallbacks=True` из документации Router `litellm.completion`
# молча игнорирует.

# %%
with course.practice():
    clean_provider()
    response = litellm.completion(model=PRIMARY, messages=messages, mock_response="litellm.RateLimitError",
                                  fallbacks=[{"model": "openrouter/openai/gpt-4o-mini", "mock_response": "ответ резерва"}])
    print(response.choices[0].message.content, "| ответила", response.model, "| запросов:", course.provider.requests())

    response = litellm.completion(model=PRIMARY, messages=messages, fallbacks=["openrouter/openai/gpt-4o-mini"],
                                  mock_testing_fallbacks=True)
    print("mock_testing_fallbacks=True: ответила", response.model, "| провайдер видел:", seen())

# %% [markdown]
# ### Шум в журнале
#
# Каждая неудачная попытка перехода LiteLLM пишет в лог строкой ERROR («Fallback attempt failed for model …»).
# В курсе логи LiteLLM приглушает `start_lesson`. В своём проекте сделайте то же:
#
# ```python
# import logging
# litellm.suppress_debug_info = True
# for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
#     logging.getLogger(name).setLevel(logging.CRITICAL)
# ```
#
# ### Окно контекста: считать заранее
#
# Проверить длину запроса до вызова можно `litellm.token_counter(model=..., messages=...)`. Но для имён
# `openrouter/...` он берёт токенизатор по умолчанию (`cl100k_base`) и для `gpt-4o-mini` насчитывает вдвое больше,
# чем она сама. Считайте по имени модели без провайдера:

# %%
for name in ("openrouter/openai/gpt-4o-mini", "gpt-4o-mini"):
    print(f"{name:<30} {litellm.token_counter(model=name, messages=long_messages)} токенов")

# %% [markdown]
# ### Окно контекста: `context_window_fallback_dict`
#
# Для SDK документация LiteLLM предлагает словарь `context_window_fallback_dict={модель: модель_с_большим_окном}`.
# Он срабатывает, только если ошибка стала `ContextWindowExceededError` (потомок `BadRequestError`), а это зависит
# от пути: через `openai/` — да, через `openrouter/` LiteLLM поднимает обычный `BadRequestError` (урок 02). Для
# опыта не нужен длинный текст: у провайдера есть сбой «окно переполнено» —
# `course.provider.fail(модель, kind="context_length")`.

# %%
with course.practice():
    for small, big in (("openrouter/openai/gpt-3.5-turbo", "openrouter/openai/gpt-4o-mini"),
                       ("openai/gpt-3.5-turbo", "openai/gpt-4o-mini")):
        clean_provider()
        course.provider.fail("openai/gpt-3.5-turbo", kind="context_length")
        try:
            response = litellm.completion(model=small, messages=messages, context_window_fallback_dict={small: big})
            outcome = f"ответила {response.model}"
        except litellm.BadRequestError as e:
            outcome = f"{type(e).__name__}, перехода нет"
        print(f"{small:<32} → {outcome} | провайдер видел {seen()}")

# %% [markdown]
# Поэтому в эталонном решении задания 3.1 ветка `ContextWindowExceededError` стоит **выше** ветки
# `BadRequestError`: на пути `openai/` модель с бо́льшим окном поможет.

# %%
progress("03")

# %% [markdown] tags=["solutions"]
