# %% [markdown]
# # Урок 02. Ошибки и исключения
#
# Модели отвечают ошибками постоянно: лимиты (429), перегрузка (503), обрывы связи, зависания.
# Хороший клиент знает, **какое исключение** LiteLLM поднимет в каждом случае, ловит их
# **в правильном порядке** и решает: повторить, перейти к резервной модели или остановиться.
#
# **В этом уроке вы:**
# - построите живьём карту исключений LiteLLM для 18 сбоев — через `openrouter/` и через `openai/`,
#   включая 402 «кончились кредиты» на ключе с настоящим лимитом расходов;
# - разберёте ловушки иерархии классов и правильный порядок `except`;
# - посчитаете, сколько запросов на самом деле уходит провайдеру при повторах (`num_retries`, `Retry-After`),
#   и увидите 429 без `Retry-After`;
# - узнаете, как OpenRouter сообщает об ошибке с кодом 200, когда модель уже начала отвечать;
# - найдёте две ошибки в обработчике из исходного урока (одна из них — бесконечный цикл) и исправите его;
# - поиграете с «консолью сбоев» и напишете два обработчика, которые проверяются настоящими сбоями.
#
# ⏱ **Время:** 60 минут.

# %%
from course_helpers import start_lesson

course = start_lesson("02")

# %% [markdown]
# ## 2.1 Исключения из исходного урока
#
# Исходный урок предлагает такой блок (код ниже — дословно, кроме одной строки: последняя ветка
# печатает только класс ошибки, а не весь её длинный текст). Запустим его на двух сбоях практического
# провайдера: 429 (лимит запросов) и 503 (сервис недоступен).

# %%
import litellm
from litellm.exceptions import APIConnectionError, AuthenticationError, BudgetExceededError, RateLimitError, Timeout

MESSAGES = [{"role": "user", "content": "Привет!"}]


def seed_block() -> None:
    try:
        response = litellm.completion(
            model="openrouter/openai/gpt-4o",
            messages=[{"role": "user", "content": "Привет!"}]
        )
    except RateLimitError:
        print("Превышен лимит запросов")
    except Timeout:
        print("Истекло время ожидания ответа")
    except APIConnectionError:
        print("Проблема с подключением к API")
    except BudgetExceededError:
        print("Превышен бюджет")
    except AuthenticationError:
        print("Ошибка аутентификации")
    except Exception as e:
        print(f"Другая ошибка: {type(e).__name__}")  # в исходном уроке: {str(e)}


with course.practice():  # сбои умеет включать только практический провайдер
    for status in (429, 503):
        course.provider.fail("openai/gpt-4o", status, times=1)  # один сбой для следующего запроса
        print(f"HTTP {status} → ", end="")
        seed_block()

# %% [markdown]
# 429 попал в свою ветку, а 503 — «перегрузка, попробуйте позже», самый обычный временный сбой —
# оказался «другой ошибкой».
#
# > **Осторожно:** в исходном уроке сказано, что эти пять классов «позволяют эффективно обрабатывать
# > различные ошибки». На самом деле временные сбои приходят и другими классами (`ServiceUnavailableError`,
# > `APIError`, `InternalServerError`…), а `BudgetExceededError` с `litellm.max_budget` на деле не
# > срабатывает никогда (урок 06). Какие классы бывают на самом деле? Спросим сам LiteLLM.
#
# ## 2.2 Карта исключений — живьём
#
# Практический провайдер умеет изображать любой сбой: статусы 400…504 (включая 402 — у OpenRouter это
# «кончились кредиты»), зависание, битый JSON,
# пустой ответ `{}`, обрыв соединения. Ещё один сбой — «соединение отклонено» — получим, направив
# `api_base` на закрытый порт. Каталог сбоев и функция `inject`, которая включает сбой у провайдера,
# лежат в модуле панели урока; сам вызов LiteLLM — здесь, на виду. Опыты со сбоями и счётчиками
# запросов идут внутри `with course.practice():` — в онлайн-режиме этот блок на время направляет
# LiteLLM к практическому провайдеру (сбои и счётчики есть только у него), офлайн ничего не меняет.
#
# Одна и та же модель доступна двумя путями, и LiteLLM обслуживает их **разным кодом**:
# - `openrouter/openai/gpt-4o-mini` — свой HTTP-клиент LiteLLM, формат ошибок OpenRouter;
# - `openai/gpt-4o-mini` — через OpenAI SDK (адрес берётся из `OPENAI_API_BASE`). SDK сам повторяет
#   упавший запрос ещё 2 раза с паузами; чтобы карта строилась быстро и честно (один сбой — один
#   запрос), передаём ему `num_retries=0`. Повторы разберём в разделе 2.4.

# %%
from course_helpers.panels.errors import FAULTS, inject, mro_names

OPENROUTER, OPENAI = "openrouter/openai/gpt-4o-mini", "openai/gpt-4o-mini"


def provoke(model: str, fault: str) -> tuple[Exception | None, int]:
    """Включает сбой, делает один вызов; возвращает исключение и число запросов, дошедших до провайдера."""
    course.provider.reset()
    extra = inject(course.provider, fault, model)  # для "refused" — api_base на закрытый порт
    if model.startswith("openai/"):
        extra["num_retries"] = 0  # без этого OpenAI SDK повторит запрос ещё дважды
    error = None
    try:
        litellm.completion(model=model, messages=MESSAGES, timeout=1, **extra)
    except Exception as e:
        error = e
    course.provider.clear_faults()  # сбой — только для этого вызова
    return error, course.provider.requests()


with course.practice():
    caught = {(model, fault): provoke(model, fault) for fault in FAULTS for model in (OPENROUTER, OPENAI)}


def cell(error: Exception | None, requests: int) -> str:
    return f"{type(error).__name__:<25} {getattr(error, 'status_code', '-')!s:>3} {requests:>2}"


print(f"{'сбой':<28}| {'openrouter/: класс':<25} {'код':>3} {'зп':>2} | {'openai/: класс':<25} {'код':>3} {'зп':>2}")
print("-" * 99)
for fault, spec in FAULTS.items():
    differs = " ≠" if type(caught[OPENROUTER, fault][0]) is not type(caught[OPENAI, fault][0]) else ""
    print(f"{spec.label:<28}| {cell(*caught[OPENROUTER, fault])} | {cell(*caught[OPENAI, fault])}{differs}")
print("\nкод — e.status_code, зп — сколько запросов получил провайдер; ≠ — провайдеры расходятся")

# %% [markdown]
# Что здесь важно:
#
# - **Через OpenRouter 402, 403, 413, 500, 502, битый и пустой ответ — это просто `litellm.APIError`.**
#   Не `PaymentRequiredError`, не `PermissionDeniedError`, не `InternalServerError`: такие классы в LiteLLM
#   есть, но этот путь их не поднимает. Через `openai/` те же 500 и 502 становятся `InternalServerError`
#   и `BadGatewayError`, а 402 и 403 остаются `APIError`.
# - **408, 504 и зависание — `Timeout`**, причём зависание прерывается ровно через `timeout=1` с.
# - **Отказ соединения**: через OpenRouter — `APIConnectionError` (с `status_code` 500 и нулём
#   запросов), а через `openai/` — `InternalServerError`, как и обрыв соединения! Ветка «Проблема
#   с подключением к API» из исходного урока на этих сбоях через `openai/` не сработает.
# - У битого JSON через OpenRouter `status_code == 200`: провайдер ответил «успешно», сломался разбор.
# - 422 — это `BadRequestError`, 503 — `ServiceUnavailableError` на обоих путях.
#
# У каждого исключения LiteLLM есть `status_code`, `llm_provider` и `model` (имя **без** префикса
# `openrouter/`). А вот начало цепочки наследования (MRO) каждого класса, который встретился на карте:

# %%
seen = {type(error) for error, _ in caught.values()}
for error_type in sorted(seen, key=lambda t: t.__name__):
    print(f"{error_type.__name__:<24} {' → '.join(mro_names(error_type, 4))}")

error = caught[OPENROUTER, "429"][0]
print("\nу RateLimitError через OpenRouter:", error.status_code, error.llm_provider, error.model)

# %% [markdown]
# > **Важно:** у **всех** классов в этом списке общий предок — `openai.APIError`. Не `litellm.APIError`:
# > это лишь один из классов (тот, что приходит на 500 через OpenRouter), и `RateLimitError` или
# > `ServiceUnavailableError` от него не наследуют.
#
# ### 402: кончились кредиты
#
# У OpenRouter 402 значит «нечем платить»: кончились кредиты на счёте или упёрся **лимит расходов
# ключа** — каждому ключу можно задать свой (credit limit), а остаток показывает `GET /api/v1/key`
# (поле `limit_remaining`). Практический провайдер умеет и это: `create_key(название, limit)` создаёт
# ключ с лимитом в долларах, `set_credit_limit(limit, key)` меняет лимит ключа, `key_info(ключ)` — тот
# же `GET /api/v1/key`. Создадим ключ с лимитом $0,0001 и будем отправлять запросы с ним, пока не откажут:

# %%
import openai

with course.practice():
    course.provider.reset()
    capped_key = course.provider.create_key("урок 02", limit=0.0001)
    print("лимит ключа:", course.provider.key_info(capped_key)["data"]["limit"], "$")
    for answered in range(100):
        try:
            litellm.completion(model=OPENROUTER, messages=MESSAGES, api_key=capped_key)
        except openai.APIError as e:
            credit_error = e
            break
    info = course.provider.key_info(capped_key)["data"]
    print(f"ответов до отказа: {answered}; потрачено {info['usage']:.7f} $, limit_remaining = {info['limit_remaining']}")
    print(f"отказ: {type(credit_error).__module__.split('.')[0]}.{type(credit_error).__name__}, "
          f"status_code {credit_error.status_code}")
    print("   потомок openai.APIStatusError:", isinstance(credit_error, openai.APIStatusError),
          "| потомок BadRequestError:", isinstance(credit_error, litellm.BadRequestError))
    print("   текст:", str(credit_error)[:150], "…")
    try:
        litellm.completion(model="openrouter/anthropic/claude-3-haiku", messages=MESSAGES, api_key=capped_key)
    except openai.APIError as e:
        print("другая модель с тем же ключом:", type(e).__name__, e.status_code)

# %% [markdown]
# Что важно про 402:
#
# - Это **`litellm.APIError`** — даже не `APIStatusError` и не `BadRequestError`: класс
#   `litellm.PaymentRequiredError` в LiteLLM есть, но этот путь его не поднимает. Ветка
#   `except BadRequestError: raise` 402 не остановит — он уйдёт в общую ветку `openai.APIError`.
# - Кредиты — свойство **ключа и счёта**, а не модели: другая модель через тот же ключ получит тот же
#   402. Переходить к резервной модели имеет смысл, только если она платит с **другого** счёта
#   (другой провайдер или другой ключ).
# - Повтором 402 не лечится: ждать бесполезно, нужно пополнить баланс или поднять лимит ключа.
#
# > **Осторожно:** документация OpenRouter обещает на исчерпанный лимит ключа 402, но пользователи
# > в 2025–2026 годах сообщают и о 403 «Key limit exceeded»; практический провайдер отвечает 402,
# > а клиент курса (раздел 2.7) понимает оба варианта.
#
# ## 2.3 Ловушки иерархии и порядок `except`
#
# Python выбирает **первую** подходящую ветку `except`. Поэтому важно, кто чей потомок.

# %%
print("Timeout — потомок litellm.APIConnectionError:", issubclass(litellm.Timeout, litellm.APIConnectionError))
print("Timeout — потомок openai.APIConnectionError: ", issubclass(litellm.Timeout, openai.APIConnectionError))
print("RateLimitError — потомок litellm.APIError:   ", issubclass(litellm.RateLimitError, litellm.APIError))
print("ServiceUnavailableError — потомок litellm.APIError:", issubclass(litellm.ServiceUnavailableError, litellm.APIError))
print("ContextWindowExceededError — потомок BadRequestError:",
      issubclass(litellm.ContextWindowExceededError, litellm.BadRequestError))
print("все классы с карты — потомки openai.APIError:", all(issubclass(t, openai.APIError) for t in seen))
print()
print("BudgetExceededError:", " → ".join(mro_names(litellm.BudgetExceededError, 3)))
print("BudgetExceededError — потомок openai.APIError:", issubclass(litellm.BudgetExceededError, openai.APIError))
print()
types = litellm.LITELLM_EXCEPTION_TYPES
print("записей в litellm.LITELLM_EXCEPTION_TYPES:", len(types), "| разных классов:", len(set(types)))
print("записан дважды:", [t.__name__ for t in dict.fromkeys(types) if types.count(t) > 1])
print("не потомки openai.APIError:", [" → ".join(mro_names(t, 3)) for t in dict.fromkeys(types)
                                     if not issubclass(t, openai.APIError)])

# %% [markdown]
# Три ловушки:
#
# 1. **`litellm.Timeout` — не потомок `litellm.APIConnectionError`.** Он наследует
#    `openai.APITimeoutError` → `openai.APIConnectionError`. Значит, `except litellm.APIConnectionError`
#    таймаут **не** поймает, а `except openai.APIConnectionError` — поймает, и если эта ветка стоит
#    выше `except Timeout`, до неё дело не дойдёт.
# 2. **`BudgetExceededError` — обычный `Exception`**, не `openai.APIError`. Общая ветка для ошибок
#    провайдера его не поймает (и это правильно: деньги — не сбой сети). Что с бюджетами на самом
#    деле — в уроке 06.
# 3. **`ContextWindowExceededError` — потомок `BadRequestError`.** Через `openai/` длинный запрос
#    приходит именно им (через OpenRouter — простым `BadRequestError`). Если `except BadRequestError`
#    стоит выше, «слишком длинный запрос» (лечится моделью с большим окном) спутают с «кривым запросом»
#    (не лечится ничем).
#
# И четвёртая, для тех, кто ловит «всё из LiteLLM» кортежем `litellm.LITELLM_EXCEPTION_TYPES`:
# в нём 21 запись, но 20 разных классов (`InternalServerError` записан дважды), и один из них —
# `litellm.OpenAIError` — наследует `openai.OpenAIError`, а не `openai.APIError`. Поэтому
# `except tuple(litellm.LITELLM_EXCEPTION_TYPES)` — **не то же самое**, что `except openai.APIError`:
# кортеж ловит ещё и `litellm.OpenAIError`, а собственные классы OpenAI SDK (`openai.RateLimitError`
# и др.) не ловит — только их потомков из LiteLLM. Для всех 18 сбоев карты обе формы ловят одно и то же.
#
# Посмотрим на первую и третью ловушку вживую:

# %%
def wrong_order(model: str) -> str:
    try:
        litellm.completion(model=model, messages=MESSAGES, num_retries=0)
    except openai.APIConnectionError as e:
        return f"ветка openai.APIConnectionError: «нет связи» (а это {type(e).__name__})"
    except litellm.BadRequestError as e:
        return f"ветка BadRequestError: «запрос кривой, не повторяем» (а это {type(e).__name__})"
    except litellm.Timeout:
        return "ветка Timeout"  # недостижима: Timeout пойман выше
    except litellm.ContextWindowExceededError:
        return "ветка ContextWindowExceededError"  # недостижима: пойман выше как BadRequestError
    return "успех"


with course.practice():
    course.provider.fail("openai/gpt-4o-mini", 504, times=1)
    print("504 через openrouter/ →", wrong_order(OPENROUTER))
    course.provider.fail("openai/gpt-4o-mini", kind="context_length", times=1)
    print("длинный запрос через openai/ →", wrong_order(OPENAI))

# %% [markdown]
# **Правильный порядок** — от частного к общему, и каждая ветка отвечает на вопрос «что делать»:
#
# ```python
# try:
#     response = litellm.completion(model=model, messages=messages, timeout=30)
# except litellm.ContextWindowExceededError:        # раньше BadRequestError: его потомок
#     ...  # взять модель с бо́льшим окном контекста
# except (litellm.AuthenticationError, litellm.BadRequestError):
#     raise  # ключ или запрос неверны — другая попытка не поможет
# except litellm.RateLimitError as e:
#     ...  # подождать (Retry-After, если он пришёл, иначе своя пауза) и повторить
# except (litellm.Timeout, litellm.APIConnectionError, litellm.ServiceUnavailableError,
#         litellm.InternalServerError, litellm.BadGatewayError):
#     ...  # временный сбой: повторить с паузой или перейти к резервной модели
# except openai.APIError as e:
#     if e.status_code == 402:
#         ...  # кредиты кончились: резервная модель поможет, только если платит с другого счёта
#     ...  # всё остальное от провайдера (403/404/500/502 через OpenRouter, битый ответ): следующая модель
# # BudgetExceededError и ошибки в нашем собственном коде не ловим — пусть летят наверх.
# ```
#
# ## 2.4 Повторы: кто и сколько раз повторяет запрос
#
# Сколько запросов уходит провайдеру, когда он отвечает ошибкой? Зависит от пути и от `num_retries`.
# Один эксперимент покажет всё: пять сбоев × четыре настройки, запросы считает сам провайдер.
# (Здесь `openai/` работает с настройками по умолчанию — ради этого и эксперимент. Паузы OpenAI SDK
# настоящие, поэтому ячейка выполняется несколько секунд.)

# %%
import time

SETUPS = {
    "openrouter/": (OPENROUTER, {}),
    "openrouter/, num_retries=2": (OPENROUTER, {"num_retries": 2}),
    "openai/": (OPENAI, {}),
    "openai/, num_retries=2": (OPENAI, {"num_retries": 2}),
}
RETRY_FAULTS = ["400", "401", "402", "429", "503"]
retry_requests, retry_ms = {}, {}
with course.practice():
    for setup, (model, options) in SETUPS.items():
        for fault in RETRY_FAULTS:
            course.provider.reset()
            inject(course.provider, fault, model)
            start = time.perf_counter()
            try:
                litellm.completion(model=model, messages=MESSAGES, timeout=5, **options)
            except openai.APIError:
                pass
            retry_ms[setup, fault] = (time.perf_counter() - start) * 1000
            retry_requests[setup, fault] = course.provider.requests()
    course.provider.reset()

print(f"{'запросов у провайдера':<28}" + "".join(f"{'HTTP ' + f:>10}" for f in RETRY_FAULTS))
for setup in SETUPS:
    print(f"{setup:<28}" + "".join(f"{retry_requests[setup, f]:>10}" for f in RETRY_FAULTS))

# %%
%matplotlib inline
import matplotlib.pyplot as plt

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.6))
width = 0.2
for i, setup in enumerate(SETUPS):
    xs = [x + (i - 1.5) * width for x in range(len(RETRY_FAULTS))]
    left.bar(xs, [retry_requests[setup, f] for f in RETRY_FAULTS], width, label=setup)
    right.bar(xs, [retry_ms[setup, f] for f in RETRY_FAULTS], width, label=setup)
for axis, title in ((left, "запросов получил провайдер"), (right, "время вызова, мс")):
    axis.set_xticks(range(len(RETRY_FAULTS)), [f"HTTP {f}" for f in RETRY_FAULTS])
    axis.set_title(title)
left.legend(fontsize=8)
fig.suptitle("Один вызов litellm.completion при постоянном сбое")
fig.tight_layout()
plt.show()

# %% [markdown]
# Читаем график:
#
# - **`openrouter/` по умолчанию не повторяет ничего**: один сбой — один запрос.
# - **`openai/` повторяет за вас**: OpenAI SDK делает ещё 2 попытки (3 запроса) на 408, 429, 5xx и
#   обрывах связи, с паузами (отсюда секунда с лишним на правом графике), а 400, 401 и 402 не повторяет.
# - **`num_retries=2` повторяет всё подряд**, включая 400, 401 и 402, которые повтором не лечатся, — и
#   **без пауз**: три запроса за миллисекунды. Для 429 это почти бесполезно.
# - **`num_retries=2` на `openai/` даёт 5 запросов, а не 3**: повторы LiteLLM накладываются на
#   повторы SDK (в общем случае `2·N + 1`). Хотите ровно один запрос через `openai/` — `num_retries=0`.
#
# > **Осторожно:** `num_retries` в `litellm.completion` работает через пакет `tenacity`, а
# > `pip install litellm` его **не ставит**. Без него первый же сбой превращается в безликое
# > `Exception: tenacity import failed please run pip install tenacity` — и настоящий класс ошибки
# > теряется. В курсе `tenacity` установлен (см. `requirements.txt`):

# %%
import importlib.util

print("tenacity установлен:", importlib.util.find_spec("tenacity") is not None)

# %% [markdown]
# ### Retry-After: может прийти, а может и нет
#
# На 429 (и 503) провайдер **может** сказать, сколько подождать: заголовок `Retry-After` в секундах.
# У OpenRouter это именно «может»: документация его не обещает, и часто его нет. LiteLLM сохраняет
# настоящие заголовки ответа в `e.litellm_response_headers`. Устроим 429 по-настоящему — лимит
# 1 запрос в минуту (`set_limits`), второй запрос упирается в него, — с заголовком и без
# (`retry_after=False`), через оба пути:

# %%
def second_call_429(model: str) -> litellm.RateLimitError:
    """Первый вызов проходит, второй упирается в лимит «1 запрос в минуту»."""
    litellm.completion(model=model, messages=MESSAGES, num_retries=0)
    try:
        litellm.completion(model=model, messages=MESSAGES, num_retries=0)
    except litellm.RateLimitError as e:
        return e
    raise AssertionError("лимит не сработал")


with course.practice():
    for retry_after in (True, False):
        for model in (OPENROUTER, OPENAI):
            course.provider.reset()
            course.provider.set_limits("openai/gpt-4o-mini", rpm=1, retry_after=retry_after)
            headers = second_call_429(model).litellm_response_headers
            kind = f"{type(headers).__module__}.{type(headers).__name__}"
            print(f"retry_after={retry_after!s:<5} {model:<30} {kind:<14}"
                  f" Retry-After пришёл: {headers.get('retry-after') is not None!s:<5}"
                  f" x-ratelimit-remaining-requests: {headers.get('x-ratelimit-remaining-requests')}")
    course.provider.reset()

# %% [markdown]
# - Через `openrouter/` заголовки — обычный `dict` с ключами **в нижнем регистре**, через `openai/` —
#   `httpx.Headers`, где регистр не важен. `headers.get("retry-after")` работает на обоих путях и
#   возвращает `None`, когда заголовка нет. А `headers["Retry-After"]` на `dict` падает с `KeyError`
#   даже тогда, когда заголовок пришёл.
# - Заголовка может не быть — обработчик обязан это пережить: не `float(headers.get("retry-after"))`
#   (это `float(None)`), а своя пауза.
#
# Кто заголовок уважает? Постоянный 429 с `Retry-After` и без него:

# %%
def timed_429(model: str, retry_after: int | None, **options) -> tuple[litellm.RateLimitError, float]:
    """Постоянный 429 (с Retry-After или без); возвращает исключение и время вызова в секундах."""
    course.provider.reset()
    course.provider.fail("openai/gpt-4o-mini", 429, retry_after=retry_after)
    start = time.perf_counter()
    try:
        litellm.completion(model=model, messages=MESSAGES, **options)
    except litellm.RateLimitError as e:
        return e, time.perf_counter() - start
    finally:
        course.provider.clear_faults()


with course.practice():
    error, elapsed = timed_429(OPENROUTER, 2, num_retries=2)
    print("openrouter/ + num_retries=2, Retry-After: 2 → запросов", course.provider.requests(),
          "| ждал 2 с:", elapsed >= 2)
    error, elapsed = timed_429(OPENAI, 1)
    print("openai/ по умолчанию,  Retry-After: 1 → запросов", course.provider.requests(),
          "| ждал 2 × 1 с:", elapsed >= 2)
    error, elapsed = timed_429(OPENAI, None)
    print("openai/ по умолчанию,  без заголовка  → запросов", course.provider.requests(),
          "| ждал (своя пауза SDK) дольше 1 с:", elapsed >= 1)

# %% [markdown]
# `num_retries` заголовок **игнорирует**, OpenAI SDK — **уважает**, а без заголовка ждёт по своей
# схеме: около 0,5 с перед первым повтором и около 1 с перед вторым. Так же должен поступать и ваш
# обработчик: пришёл `Retry-After` — ждать столько; не пришёл — **своя пауза**, растущая от попытки
# к попытке (1 с, 2 с, 4 с…), и ограниченное число попыток. Это задание 02.2; клиент курса `ask`
# (раздел 2.7) делает так же. У `Router` свои, более разумные повторы — о них в уроке 05.
#
# ## 2.5 Ошибки с кодом 200: модель уже начала отвечать
#
# Пока модель не начала отвечать, OpenRouter сообщает об ошибке HTTP-статусом, равным её коду (как на
# карте 2.2). Если же ошибка случилась, **когда модель уже начала отвечать**, статус уже ушёл — это
# **200**, а ошибка лежит внутри: в тело ответа `{"error": {"code": …}}`, в сам вариант
# ответа (`choices[0].error`, `finish_reason: "error"`) или — в потоковом ответе (stream) — отдельным
# событием `data:` с полем `error` посреди текста. Практический провайдер умеет все три
# (`kind="error_in_body"` и `kind="error_in_choice"`). Вот что приходит по сети в первом случае:

# %%
import httpx

QUESTION = [{"role": "user", "content": "Что такое Python?"}]

with course.practice() as provider:
    provider.reset()
    provider.fail("openai/gpt-4o-mini", 429, kind="error_in_body", times=1)
    raw = httpx.post(f"{provider.api_base()}/chat/completions", headers={"Authorization": f"Bearer {provider.key}"},
                     json={"model": "openai/gpt-4o-mini", "messages": QUESTION})
    print("HTTP", raw.status_code, raw.json())

# %% [markdown]
# Что с таким ответом делает LiteLLM? Ошибка в теле 200 — сбои с разными кодами:

# %%
with course.practice():
    for code in (402, 429, 502, 503):
        course.provider.reset()
        course.provider.fail("openai/gpt-4o-mini", code, kind="error_in_body", times=1)
        try:
            litellm.completion(model=OPENROUTER, messages=QUESTION)
        except openai.APIError as e:
            print(f"error.code {code} в теле 200 → {type(e).__name__:<24} status_code {e.status_code}"
                  f" | запросов: {course.provider.requests()}")
    course.provider.reset()
    course.provider.fail("openai/gpt-4o-mini", 429, kind="error_in_body")
    try:
        litellm.completion(model=OPENROUTER, messages=QUESTION, num_retries=2)
    except litellm.RateLimitError:
        print("тот же 429 с num_retries=2 → запросов:", course.provider.requests())
    course.provider.reset()

# %% [markdown]
# Ошибка в теле 200 ведёт себя как обычная: LiteLLM поднимает класс **по `error.code`** (как в
# карте 2.2), а `num_retries` её повторяет. (В жалобе BerriAI/litellm#8448, LiteLLM 1.60.6, такой ответ
# приходил без исключения и не повторялся; в закреплённой версии 1.108.14 это уже не так.)
#
# Второй случай коварнее — ошибка **внутри варианта ответа**:

# %%
with course.practice():
    course.provider.reset()
    course.provider.fail("openai/gpt-4o-mini", 502, kind="error_in_choice", times=1)
    response = litellm.completion(model=OPENROUTER, messages=QUESTION)  # исключения нет!
    choice = response.choices[0]
    print("finish_reason:", choice.finish_reason)
    print("текст:", choice.message.content)
    fields = choice.provider_specific_fields or {}
    print("native_finish_reason:", fields.get("native_finish_reason"), "| error.code:", fields["error"]["code"])
    print("стоимость по LiteLLM (response_cost) > 0:", response._hidden_params["response_cost"] > 0)

# %% [markdown]
# **Исключения нет**, `finish_reason` — `"stop"`, как у нормального ответа, а текст оборван на
# полуслове — и за него заплачено. Ошибка видна только в `choices[0].provider_specific_fields`:
# `native_finish_reason == "error"` и сам `error`. Если обрывки вам не нужны, проверяйте это поле
# сами: `except` тут ничего не поймает.
#
# Третий случай — ошибка посреди потокового ответа. Печатаем куски по мере прихода, как в чате:

# %%
from litellm.exceptions import MidStreamFallbackError

with course.practice():
    course.provider.reset()
    course.provider.fail("openai/gpt-4o-mini", 502, kind="error_in_body", times=1)
    shown = ""
    try:
        for chunk in litellm.completion(model=OPENROUTER, messages=QUESTION, stream=True):
            shown += chunk.choices[0].delta.content or ""
            print(chunk.choices[0].delta.content or "", end="")
    except MidStreamFallbackError as e:
        print(f"\n\n→ {type(e).__name__} (потомок {type(e).__mro__[1].__name__}), status_code {e.status_code}")
        print("пользователь уже увидел", len(shown), "символов; e.generated_content совпадает:",
              e.generated_content == shown)
    course.provider.reset()
    course.provider.fail("openai/gpt-4o-mini", 502, kind="error_in_body")
    try:
        for chunk in litellm.completion(model=OPENROUTER, messages=QUESTION, stream=True, num_retries=2):
            pass
    except MidStreamFallbackError:
        print("с num_retries=2 → запросов:", course.provider.requests())
    course.provider.reset()

# %% [markdown]
# Посреди потока LiteLLM поднимает **`MidStreamFallbackError`** — потомок `ServiceUnavailableError`,
# так что ветка для временных сбоев его поймает, — но **после** того, как часть текста уже показана.
# `num_retries` его не повторяет. Повторить запрос можете вы сами, но пользователь увидит начало ответа
# дважды: сотрите показанное или продолжайте с `e.generated_content`.
#
# > **Важно:** ошибка с кодом 200 бывает у OpenRouter, когда модель уже начала отвечать. Ловите классы
# > как обычно (LiteLLM поднимает их по `error.code`), а ответ без исключения проверяйте на
# > `native_finish_reason == "error"`.
#
# ## 2.6 Обработчик из исходного урока
#
# В проекте исходного урока (`litellm_client.py`) ошибки обрабатываются так:
#
# ```python
# try:
#     # ... код отправки запроса ...
# except AuthenticationError:
#     logger.error("Authentication failed: Invalid API key.")
#     raise ValueError("Invalid API key")
# except (RateLimitError, Timeout, APIConnectionError, BudgetExceededError) as e:
#     logger.warning(f"Error with model {model}: {e}. Trying next fallback if available...")
#     attempt += 1
# except Exception as e:
#     logger.error(f"Unexpected error: {e}")
#     continue
# ```
#
# Восстановим вокруг него цикл по моделям (`attempt` — номер модели в списке) и запустим на сбоях
# основной модели. Одно отличие от оригинала — **предохранитель**: не больше 10 итераций.
# Зачем он, станет видно сразу.

# %%
import logging

logger = logging.getLogger("litellm_client")  # логгер «нашего проекта»
logger.addHandler(logging.NullHandler())  # сообщения лога здесь не печатаем
logger.propagate = False

PRIMARY, FALLBACK = "openrouter/openai/gpt-4o", "openrouter/openai/gpt-4o-mini"
GUARD = 10  # предохранитель: в исходном коде его нет


def seed_send(models: list[str], messages: list[dict]) -> str:
    attempt, iterations = 0, 0
    while attempt < len(models):
        model = models[attempt]
        iterations += 1
        if iterations > GUARD:
            return f"ЗАЦИКЛИЛСЯ на {model}: {GUARD} итераций, attempt всё ещё {attempt}"
        try:
            litellm.completion(model=model, messages=messages)
            return f"ответила {model}"
        except AuthenticationError:
            logger.error("Authentication failed: Invalid API key.")
            raise ValueError("Invalid API key")
        except (RateLimitError, Timeout, APIConnectionError, BudgetExceededError) as e:
            logger.warning(f"Error with model {model}: {e}. Trying next fallback if available...")
            attempt += 1
        except Exception as e:
            logger.error(f"Unexpected error: {e}")
            continue
    return "все модели отказали"


HANDLER_FAULTS = ["429", "504", "drop", "503", "500", "502", "403", "402", "400", "401"]
with course.practice():
    for fault in HANDLER_FAULTS:
        course.provider.reset()
        inject(course.provider, fault, PRIMARY)  # основная модель сбоит постоянно, резервная здорова
        try:
            outcome = seed_send([PRIMARY, FALLBACK], MESSAGES)
        except Exception as e:
            outcome = f"поднял {type(e).__name__}: {e} (исходный класс потерян)"
        print(f"{FAULTS[fault].label:<18} → {outcome} | запросов к основной: "
              f"{course.provider.requests(model='openai/gpt-4o')}")
    course.provider.reset()

# %% [markdown]
# > **Осторожно:** в исходном уроке сказано, что так «обрабатываются эти исключения» с переходом
# > к резервной модели. На самом деле в этом блоке две ошибки.
# > 1. **Кортеж «временных» ошибок неполон.** 503 (`ServiceUnavailableError`), 402 и 403 (`APIError`),
# >    а через OpenRouter ещё 500 и 502 (тоже `APIError`) в него не входят и **ускользают** в `except Exception`.
# > 2. **`except Exception: continue` не увеличивает `attempt`** — цикл повторяет ту же модель снова и
# >    снова. Без предохранителя любая «неожиданная» ошибка, в том числе 503, 402 и 400, крутится **вечно**,
# >    засыпая провайдера запросами. Вдобавок `raise ValueError` на 401 прячет настоящий класс ошибки.
#
# Та же проверка для всех 18 сбоев карты — без новых запросов: исключения уже собраны в `caught`.
# Функция `seed_clause(e)` из модуля панели говорит, какая ветка обработчика ловит исключение `e`.

# %%
from course_helpers.panels.errors import seed_clause

for model in (OPENROUTER, OPENAI):
    escaped = [FAULTS[f].label for f in FAULTS if seed_clause(caught[model, f][0])[0] == "except Exception"]
    print(f"{model}: в `except Exception: continue` попадают {len(escaped)} из {len(FAULTS)}:")
    print("   ", ", ".join(escaped))

# %% [markdown]
# ## 2.7 Исправленный обработчик
#
# Тот же цикл по моделям, но:
# - ветки идут в порядке из раздела 2.3, и **каждая ошибка провайдера** попадает в осмысленную ветку;
# - **каждая итерация продвигает цикл**: `for` по моделям и по попыткам, бесконечный цикл невозможен;
# - 401 и 400 поднимаются **как есть** (класс не теряется), другой моделью они не лечатся;
# - 402 тоже поднимается сразу: все модели списка идут через один ключ OpenRouter, и кредиты у них общие;
# - пауза на 429 — из `Retry-After`, а если его нет, своя, растущая с каждой попыткой;
# - `num_retries=0`, чтобы повторами управлял только наш код (для `openai/` это важно).

# %%
def fixed_send(models: list[str], messages: list[dict], retries: int = 1) -> str:
    last_error = None
    for model in models:
        for attempt in range(retries + 1):
            try:
                litellm.completion(model=model, messages=messages, timeout=10, num_retries=0)
                return f"ответила {model}"
            except litellm.ContextWindowExceededError as e:
                last_error = e
                break  # к модели с бо́льшим окном
            except (litellm.AuthenticationError, litellm.BadRequestError):
                raise
            except litellm.RateLimitError as e:
                last_error = e
                retry_after = (e.litellm_response_headers or {}).get("retry-after")  # его может не быть
                time.sleep(min(float(retry_after) if retry_after else 0.2 * 2 ** attempt, 5))
            except (litellm.Timeout, litellm.APIConnectionError, litellm.ServiceUnavailableError,
                    litellm.InternalServerError, litellm.BadGatewayError) as e:
                last_error = e
                time.sleep(0.2 * 2 ** attempt)  # короткая пауза перед повтором
            except openai.APIError as e:
                if e.status_code == 402:
                    raise  # кредиты кончились, а ключ у всех моделей списка один
                last_error = e
                break  # 403/404/500/502 через OpenRouter, битый ответ: к следующей модели
    raise last_error


with course.practice():
    for fault in HANDLER_FAULTS:
        course.provider.reset()
        inject(course.provider, fault, PRIMARY)
        try:
            outcome = fixed_send([PRIMARY, FALLBACK], MESSAGES)
        except Exception as e:
            outcome = f"поднял {type(e).__name__} ({e.status_code}) — как и должен"
        print(f"{FAULTS[fault].label:<18} → {outcome} | запросов к основной: "
              f"{course.provider.requests(model='openai/gpt-4o')}")
    course.provider.reset()

# %% [markdown]
# Каждый сбой закончился за 1–2 запроса к основной модели: временные повторены один раз, остальные
# сразу отправили к резервной, 400, 401 и 402 подняты со своим классом. (Здесь 402 — сбой только
# основной модели, и резервная ответила бы; но настоящий 402 — это кончившиеся кредиты ключа, и
# с тем же ключом она бы тоже отказала.)
#
# ### Клиент проекта курса: `Request` и `ask`
#
# В `course_helpers` лежит «наш проект» из исходного урока, сделанный правильно: `Request(model,
# fallbacks, messages, answer_model)` и `ask(request)`. Ошибки он классифицирует функцией
# `course_helpers.project.decide(e, remaining)`: `stop` (поднять), `retry` (повторить эту модель) или
# `next` (к резервной); `remaining` — резервные модели, до которых очередь ещё не дошла. Вот её решения
# для всей карты, когда в запасе одна резервная модель через тот же путь и ключ (снова без новых запросов):

# %%
from course_helpers import Request, ask
from course_helpers.project import decide

SAME_KEY_FALLBACK = {OPENROUTER: "openrouter/openai/gpt-4o", OPENAI: "openai/gpt-4o"}
for model in (OPENROUTER, OPENAI):
    by_decision = {}
    for fault in FAULTS:
        by_decision.setdefault(decide(caught[model, fault][0], [SAME_KEY_FALLBACK[model]]), []).append(fault)
    print(model)
    for decision, faults in sorted(by_decision.items()):
        print(f"   {decision:<5} ← {', '.join(faults)}")

error_402 = caught[OPENROUTER, "402"][0]
print("\n402 через openrouter/, резервная openrouter/openai/gpt-4o →", decide(error_402, ["openrouter/openai/gpt-4o"]))
print("402 через openrouter/, резервная openai/gpt-4o            →", decide(error_402, ["openai/gpt-4o"]))

# %% [markdown]
# И сам клиент: основная модель постоянно отвечает 503, резервная здорова.

# %%
with course.practice():
    course.provider.reset()
    course.provider.fail("openai/gpt-4o", 503)
    answer = ask(Request(model=PRIMARY, fallbacks=[FALLBACK], messages=MESSAGES))
    print("ответ:", answer.value[:60], "…")
    print("попытки:", [(a.model, a.error, a.decision) for a in answer.attempts])
    print("запросов к основной:", course.provider.requests(model="openai/gpt-4o"),
          "| к резервной:", course.provider.requests(model="openai/gpt-4o-mini"))

# %% [markdown]
# Кредиты кончились (402), а обе резервные модели идут через тот же ключ OpenRouter: `ask` не тратит
# на них запросы и останавливается сразу, объясняя почему. Ключ с нулевым лимитом передаём через
# `options` — он действует на все модели запроса:

# %%
with course.practice():
    course.provider.reset()
    empty_key = course.provider.create_key("без кредитов", limit=0.0)
    try:
        ask(Request(model=PRIMARY, fallbacks=[FALLBACK, "openrouter/anthropic/claude-3-haiku"],
                    messages=MESSAGES, options={"api_key": empty_key}))
    except openai.APIError as e:
        print(f"поднят {type(e).__name__} ({e.status_code}) | запросов у провайдера: {course.provider.requests()}")

# %% [markdown]
# А если среди резервных есть модель другого провайдера (другой счёт), `ask` идёт к ней, пропуская
# модели того же ключа. Здесь 402 изображаем сбоем основной модели, а резервная `openai/…` ходит через
# OpenAI (офлайн — тоже к практическому провайдеру):

# %%
with course.practice():
    course.provider.reset()
    course.provider.fail("openai/gpt-4o", 402)
    answer = ask(Request(model=PRIMARY, fallbacks=[FALLBACK, "openai/gpt-4o-mini"], messages=MESSAGES))
    print("попытки:", [(a.model, a.error, a.decision) for a in answer.attempts])
    print("запросов у провайдера:", course.provider.requests())

# %% [markdown]
# А с неверным ключом (401) `ask` останавливается сразу и поднимает `AuthenticationError` — свой класс,
# со списком попыток в примечании:

# %% tags=["raises-exception"]
with course.practice():
    course.provider.reset()
    course.provider.fail("openai/gpt-4o", 401)
    ask(Request(model=PRIMARY, fallbacks=[FALLBACK], messages=MESSAGES))

# %% [markdown]
# ## 2.8 Панель: консоль сбоев
#
# Выберите модель (`openrouter/…` или `openai/…`), сбой и режим повторов, нажмите «Отправить».
# Панель покажет класс исключения, его `status_code` и MRO, **какая ветка** обработчика из исходного
# урока его поймала, что решил бы клиент курса (`decide`; для 402 — когда резервных моделей другого
# провайдера нет), и **сколько запросов** получил провайдер (со статусами). Панель всегда работает
# с практическим провайдером, в том числе в онлайн-режиме. Все вызовы идут с `timeout=2` — он действует на каждую попытку, так что зависание
# через `openai/` с повторами по умолчанию займёт секунд семь. После отправки панель снимает сбои у провайдера.
#
# Попробуйте: 503 через `openai/` с повторами по умолчанию и с `num_retries=0`; «соединение отклонено»
# через оба пути; 401 и 402 с `num_retries=2`.

# %%
from course_helpers.panels.errors import FaultConsole

console = FaultConsole(course.provider)
console.widget

# %% [markdown]
# Кнопка вызывает `console.send()`; его можно вызвать и из кода:

# %%
with course.practice():
    course.provider.reset()
    console.model.value = "openrouter/openai/gpt-4o-mini"
    console.fault.value = "500"
    console.retries.value = "по умолчанию"
    print(console.send())

# %% [markdown]
# ## 2.9 Задания
#
# ### Задание 2.1. Безопасный вызов
#
# Напишите `safe_call(model, messages)`:
# - при успехе возвращает **текст** ответа;
# - при `AuthenticationError` и `BadRequestError` **поднимает их же** (не глотает и не заменяет на `ValueError`);
# - при любой другой ошибке провайдера (429, 503, 500 через OpenRouter, таймаут, обрыв…) возвращает `None`;
# - делает **ровно один запрос** к провайдеру — и для `openrouter/…`, и для `openai/…` моделей.
#
# Проверка включает у провайдера настоящие сбои и считает запросы.

# %%
def safe_call(model: str, messages: list[dict]) -> str | None:
    # ваш код здесь
    raise NotImplementedError


# %%
from course_helpers import check, hint, progress, solution

check("02.1", safe_call)

# %% [markdown]
# <details><summary>Подсказки</summary>
#
# - `hint("02.1")` — какие ветки нужны;
# - `hint("02.1", 2)` — общий предок;
# - `hint("02.1", 3)` — про `openai/`.
# </details>
#
# <details><summary>Решение</summary>
#
# ```python
# def safe_call(model, messages):
#     try:
#         response = litellm.completion(model=model, messages=messages, num_retries=0)
#     except (litellm.AuthenticationError, litellm.BadRequestError):
#         raise
#     except openai.APIError:
#         return None
#     return response.choices[0].message.content
# ```
# Или выполните `solution("02.1")`.
# </details>
#
# ### Задание 2.2. Повтор 429 с уважением к Retry-After
#
# Напишите `call_with_retry(model, messages, max_retries=2)`:
# - при успехе возвращает текст ответа;
# - на `RateLimitError` ждёт столько секунд, сколько сказано в заголовке `Retry-After`, и повторяет;
#   **нет заголовка** (OpenRouter его не обещает) — своя пауза `2 ** attempt` секунд (1 с, 2 с, 4 с…);
#   повторов — **не больше `max_retries`**, потом поднимает последний `RateLimitError`;
# - любую другую ошибку поднимает сразу, без повторов;
# - один вызов `litellm.completion` — один запрос к провайдеру (проверка использует `openrouter/…`).
#
# Проверка считает запросы и измеряет паузы между ними по журналу провайдера — и присылает 429
# как с `Retry-After`, так и без него.

# %%
def call_with_retry(model: str, messages: list[dict], max_retries: int = 2) -> str:
    # ваш код здесь
    raise NotImplementedError


# %%
check("02.2", call_with_retry)

# %% [markdown]
# <details><summary>Подсказки</summary>
#
# - `hint("02.2")` — где взять `Retry-After`;
# - `hint("02.2", 2)` — как устроить цикл;
# - `hint("02.2", 3)` — порядок веток.
# </details>
#
# <details><summary>Решение</summary>
#
# ```python
# def call_with_retry(model, messages, max_retries=2):
#     for attempt in range(max_retries + 1):
#         try:
#             response = litellm.completion(model=model, messages=messages)
#             return response.choices[0].message.content
#         except litellm.RateLimitError as e:
#             if attempt == max_retries:
#                 raise
#             retry_after = (e.litellm_response_headers or {}).get("retry-after")  # может не прийти
#             time.sleep(float(retry_after) if retry_after is not None else 2 ** attempt)
# ```
# Или выполните `solution("02.2")`.
# </details>

# %%
progress("02")

# %% [markdown]
# ## Итоги
#
# - Класс исключения зависит от пути: через OpenRouter 402/403/413/500/502 и битый ответ — `litellm.APIError`,
#   через `openai/` — `InternalServerError`/`BadGatewayError`; отказ соединения через `openai/` —
#   `InternalServerError`, а не `APIConnectionError`. Не гадайте — постройте карту, как в 2.2.
# - Общий предок всех ошибок провайдера — **`openai.APIError`** (не `litellm.APIError`).
#   `litellm.Timeout` — не потомок `litellm.APIConnectionError`; `BudgetExceededError` — обычный `Exception`.
#   `litellm.LITELLM_EXCEPTION_TYPES` — 21 запись, 20 классов, и `litellm.OpenAIError` среди них не
#   `openai.APIError`: ловить этот кортеж — не то же самое, что `except openai.APIError`.
# - 402 — кредиты кончились (на счёте или у ключа): `litellm.APIError`, не `BadRequestError`; повтор не
#   поможет, резервная модель — только если платит с другого счёта.
# - `except` — от частного к общему: `ContextWindowExceededError` раньше `BadRequestError`,
#   `Timeout` раньше `openai.APIConnectionError`, общий `openai.APIError` — последним.
# - Повторы: `openrouter/` — ни одного; `openai/` — 2 повтора OpenAI SDK с паузами и `Retry-After`;
#   `num_retries=N` (нужен `tenacity`) повторяет всё, даже 400/401/402, без пауз и без `Retry-After`,
#   а на `openai/` складывается с SDK: `2·N + 1` запросов.
# - `Retry-After` OpenRouter **может** прислать, а может и нет: берите его через
#   `(e.litellm_response_headers or {}).get("retry-after")` (работает и с `dict` пути `openrouter/`,
#   и с `httpx.Headers` пути `openai/`), а без него ждите по своей растущей схеме.
# - Ошибка, случившаяся, когда модель уже отвечала, приходит у OpenRouter с кодом 200: в теле — LiteLLM
#   поднимает класс по `error.code`; в варианте ответа — **без исключения** (`finish_reason == "stop"`,
#   признак только в `provider_specific_fields["native_finish_reason"]`); посреди потока —
#   `MidStreamFallbackError` после уже показанного текста.
# - В обработчике исходного урока 503, 402 и 403 (и через OpenRouter 500/502) ускользают из списка «временных»
#   ошибок, а `except Exception: continue` превращает их в бесконечный цикл. Исправление: полный
#   список через `openai.APIError`, цикл, который всегда продвигается, и `raise` вместо `ValueError`.
# - Клиент курса `ask(Request(...))` делает всё это за вас и на 402 останавливается, если все оставшиеся
#   модели платят с того же ключа; в уроке 03 — резервные модели подробно.
