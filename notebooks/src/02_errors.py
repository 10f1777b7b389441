# %% [markdown]
# # Урок 02. Ошибки и исключения
#
# Модели отвечают ошибками постоянно: лимиты (429), перегрузка (503), обрывы связи, зависания.
# Хороший клиент знает, **какое исключение** LiteLLM поднимет в каждом случае, ловит их
# **в правильном порядке** и решает: повторить, перейти к резервной модели или остановиться.
#
# **В этом уроке вы:**
# - построите живьём карту исключений LiteLLM для 17 сбоев — через `openrouter/` и через `openai/`;
# - разберёте ловушки иерархии классов и правильный порядок `except`;
# - посчитаете, сколько запросов на самом деле уходит провайдеру при повторах (`num_retries`, `Retry-After`);
# - найдёте две ошибки в обработчике из исходного урока (одна из них — бесконечный цикл) и исправите его;
# - поиграете с «консолью сбоев» и напишете два обработчика, которые проверяются настоящими сбоями.
#
# ⏱ **Время:** 50 минут.

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
# Практический провайдер умеет изображать любой сбой: статусы 400…504, зависание, битый JSON,
# пустой ответ `{}`, обрыв соединения. Ещё один сбой — «соединение отклонено» — получим, направив
# `api_base` на закрытый порт. Каталог сбоев и функция `inject`, которая включает сбой у провайдера,
# лежат в модуле панели урока; сам вызов LiteLLM — здесь, на виду.
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
# - **Через OpenRouter 403, 413, 500, 502, битый и пустой ответ — это просто `litellm.APIError`.**
#   Не `PermissionDeniedError`, не `InternalServerError`: такие классы в LiteLLM есть, но этот путь
#   их не поднимает. Через `openai/` те же 500 и 502 становятся `InternalServerError` и `BadGatewayError`.
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
# ## 2.3 Ловушки иерархии и порядок `except`
#
# Python выбирает **первую** подходящую ветку `except`. Поэтому важно, кто чей потомок.

# %%
import openai

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
print("классов в litellm.LITELLM_EXCEPTION_TYPES:", len(litellm.LITELLM_EXCEPTION_TYPES))

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
#     ...  # подождать Retry-After и повторить
# except (litellm.Timeout, litellm.APIConnectionError, litellm.ServiceUnavailableError,
#         litellm.InternalServerError, litellm.BadGatewayError):
#     ...  # временный сбой: повторить с паузой или перейти к резервной модели
# except openai.APIError:
#     ...  # всё остальное от провайдера (403/404/500/502 через OpenRouter, битый ответ): следующая модель
# # BudgetExceededError и ошибки в нашем собственном коде не ловим — пусть летят наверх.
# ```
#
# Вместо `openai.APIError` можно написать `except tuple(litellm.LITELLM_EXCEPTION_TYPES)` — там все 21 класс.
#
# ## 2.4 Повторы: кто и сколько раз повторяет запрос
#
# Сколько запросов уходит провайдеру, когда он отвечает ошибкой? Зависит от пути и от `num_retries`.
# Один эксперимент покажет всё: четыре сбоя × четыре настройки, запросы считает сам провайдер.
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
RETRY_FAULTS = ["400", "401", "429", "503"]
retry_requests, retry_ms = {}, {}
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
#   обрывах связи, с паузами (отсюда секунда с лишним на правом графике), а 400/401 не повторяет.
# - **`num_retries=2` повторяет всё подряд**, включая 400 и 401, которые повтором не лечатся, — и
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
# ### Retry-After
#
# На 429 провайдер обычно говорит, сколько подождать: заголовок `Retry-After` (в секундах).
# LiteLLM сохраняет настоящие заголовки ответа в `e.litellm_response_headers`. Кто этот заголовок
# уважает?

# %%
def timed_429(model: str, retry_after: int, **options) -> tuple[litellm.RateLimitError, float]:
    """Постоянный 429 с Retry-After; возвращает исключение и время вызова в секундах."""
    course.provider.reset()
    course.provider.fail("openai/gpt-4o-mini", 429, retry_after=retry_after)
    start = time.perf_counter()
    try:
        litellm.completion(model=model, messages=MESSAGES, **options)
    except litellm.RateLimitError as e:
        return e, time.perf_counter() - start
    finally:
        course.provider.clear_faults()


error, elapsed = timed_429(OPENROUTER, 2, num_retries=2)
print("Retry-After из ответа:", error.litellm_response_headers.get("retry-after"))
print("openrouter/ + num_retries=2: запросов", course.provider.requests(), "| ждал Retry-After (2 с):", elapsed >= 2)

error, elapsed = timed_429(OPENAI, 1)
print("openai/ по умолчанию:        запросов", course.provider.requests(), "| ждал Retry-After (2 × 1 с):", elapsed >= 2)

# %% [markdown]
# `num_retries` заголовок **игнорирует**, OpenAI SDK — **уважает**. Если повторять 429 самим,
# ждать нужно столько, сколько просит провайдер (это задание 02.2). У `Router` свои, более разумные
# повторы — о них в уроке 05.
#
# ## 2.5 Обработчик из исходного урока
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


HANDLER_FAULTS = ["429", "504", "drop", "503", "500", "502", "403", "400", "401"]
for fault in HANDLER_FAULTS:
    course.provider.reset()
    inject(course.provider, fault, PRIMARY)  # основная модель сбоит постоянно, резервная здорова
    try:
        outcome = seed_send([PRIMARY, FALLBACK], MESSAGES)
    except Exception as e:
        outcome = f"поднял {type(e).__name__}: {e} (исходный класс потерян)"
    print(f"{FAULTS[fault].label:<18} → {outcome} | запросов к основной: {course.provider.requests(model='openai/gpt-4o')}")
course.provider.reset()

# %% [markdown]
# > **Осторожно:** в исходном уроке сказано, что так «обрабатываются эти исключения» с переходом
# > к резервной модели. На самом деле в этом блоке две ошибки.
# > 1. **Кортеж «временных» ошибок неполон.** 503 (`ServiceUnavailableError`), а через OpenRouter ещё
# >    500, 502 и 403 (`APIError`) в него не входят и **ускользают** в `except Exception`.
# > 2. **`except Exception: continue` не увеличивает `attempt`** — цикл повторяет ту же модель снова и
# >    снова. Без предохранителя любая «неожиданная» ошибка, в том числе 503 и 400, крутится **вечно**,
# >    засыпая провайдера запросами. Вдобавок `raise ValueError` на 401 прячет настоящий класс ошибки.
#
# Та же проверка для всех 17 сбоев карты — без новых запросов: исключения уже собраны в `caught`.
# Функция `seed_clause(e)` из модуля панели говорит, какая ветка обработчика ловит исключение `e`.

# %%
from course_helpers.panels.errors import seed_clause

for model in (OPENROUTER, OPENAI):
    escaped = [FAULTS[f].label for f in FAULTS if seed_clause(caught[model, f][0])[0] == "except Exception"]
    print(f"{model}: в `except Exception: continue` попадают {len(escaped)} из {len(FAULTS)}:")
    print("   ", ", ".join(escaped))

# %% [markdown]
# ## 2.6 Исправленный обработчик
#
# Тот же цикл по моделям, но:
# - ветки идут в порядке из раздела 2.3, и **каждая ошибка провайдера** попадает в осмысленную ветку;
# - **каждая итерация продвигает цикл**: `for` по моделям и по попыткам, бесконечный цикл невозможен;
# - 401 и 400 поднимаются **как есть** (класс не теряется), другой моделью они не лечатся;
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
                time.sleep(min(float((e.litellm_response_headers or {}).get("retry-after", 0.2)), 5))
            except (litellm.Timeout, litellm.APIConnectionError, litellm.ServiceUnavailableError,
                    litellm.InternalServerError, litellm.BadGatewayError) as e:
                last_error = e
                time.sleep(0.2 * 2 ** attempt)  # короткая пауза перед повтором
            except openai.APIError as e:
                last_error = e
                break  # 403/404/500/502 через OpenRouter, битый ответ: к следующей модели
    raise last_error


for fault in HANDLER_FAULTS:
    course.provider.reset()
    inject(course.provider, fault, PRIMARY)
    try:
        outcome = fixed_send([PRIMARY, FALLBACK], MESSAGES)
    except Exception as e:
        outcome = f"поднял {type(e).__name__} ({e.status_code}) — как и должен"
    print(f"{FAULTS[fault].label:<18} → {outcome} | запросов к основной: {course.provider.requests(model='openai/gpt-4o')}")
course.provider.reset()

# %% [markdown]
# Каждый сбой закончился за 1–2 запроса к основной модели: временные повторены один раз, остальные
# сразу отправили к резервной, 400 и 401 подняты со своим классом.
#
# ### Клиент проекта курса: `Request` и `ask`
#
# В `course_helpers` лежит «наш проект» из исходного урока, сделанный правильно: `Request(model,
# fallbacks, messages, answer_model)` и `ask(request)`. Ошибки он классифицирует функцией
# `course_helpers.project.decide(e)`: `stop` (поднять), `retry` (повторить эту модель) или `next`
# (к резервной). Вот её решения для всей карты (снова без новых запросов):

# %%
from course_helpers import Request, ask
from course_helpers.project import decide

for model in (OPENROUTER, OPENAI):
    by_decision = {}
    for fault in FAULTS:
        by_decision.setdefault(decide(caught[model, fault][0]), []).append(fault)
    print(model)
    for decision, faults in sorted(by_decision.items()):
        print(f"   {decision:<5} ← {', '.join(faults)}")

# %% [markdown]
# И сам клиент: основная модель постоянно отвечает 503, резервная здорова.

# %%
course.provider.reset()
course.provider.fail("openai/gpt-4o", 503)
answer = ask(Request(model=PRIMARY, fallbacks=[FALLBACK], messages=MESSAGES))
print("ответ:", answer.value[:60], "…")
print("попытки:", [(a.model, a.error, a.decision) for a in answer.attempts])
print("запросов к основной:", course.provider.requests(model="openai/gpt-4o"),
      "| к резервной:", course.provider.requests(model="openai/gpt-4o-mini"))

# %% [markdown]
# А с неверным ключом (401) `ask` останавливается сразу и поднимает `AuthenticationError` — свой класс,
# со списком попыток в примечании:

# %% tags=["raises-exception"]
course.provider.reset()
course.provider.fail("openai/gpt-4o", 401)
ask(Request(model=PRIMARY, fallbacks=[FALLBACK], messages=MESSAGES))

# %% [markdown]
# ## 2.7 Панель: консоль сбоев
#
# Выберите модель (`openrouter/…` или `openai/…`), сбой и режим повторов, нажмите «Отправить».
# Панель покажет класс исключения, его `status_code` и MRO, **какая ветка** обработчика из исходного
# урока его поймала, что решил бы клиент курса (`decide`), и **сколько запросов** получил провайдер
# (со статусами). Все вызовы идут с `timeout=2` — он действует на каждую попытку, так что зависание
# через `openai/` с повторами по умолчанию займёт секунд семь. После отправки панель снимает сбои у провайдера.
#
# Попробуйте: 503 через `openai/` с повторами по умолчанию и с `num_retries=0`; «соединение отклонено»
# через оба пути; 401 с `num_retries=2`.

# %%
from course_helpers.panels.errors import FaultConsole

console = FaultConsole(course.provider)
console.widget

# %% [markdown]
# Кнопка вызывает `console.send()`; его можно вызвать и из кода:

# %%
course.provider.reset()
console.model.value = "openrouter/openai/gpt-4o-mini"
console.fault.value = "500"
console.retries.value = "по умолчанию"
print(console.send())

# %% [markdown]
# ## 2.8 Задания
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
# - на `RateLimitError` ждёт столько секунд, сколько сказано в заголовке `Retry-After`
#   (нет заголовка — 1 секунду) и повторяет; повторов — **не больше `max_retries`**, потом поднимает
#   последний `RateLimitError`;
# - любую другую ошибку поднимает сразу, без повторов;
# - один вызов `litellm.completion` — один запрос к провайдеру (проверка использует `openrouter/…`).
#
# Проверка считает запросы и измеряет паузы между ними по журналу провайдера.

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
#             time.sleep(float(e.litellm_response_headers.get("retry-after", 1)))
# ```
# Или выполните `solution("02.2")`.
# </details>

# %%
progress("02")

# %% [markdown]
# ## Итоги
#
# - Класс исключения зависит от пути: через OpenRouter 403/413/500/502 и битый ответ — `litellm.APIError`,
#   через `openai/` — `InternalServerError`/`BadGatewayError`; отказ соединения через `openai/` —
#   `InternalServerError`, а не `APIConnectionError`. Не гадайте — постройте карту, как в 2.2.
# - Общий предок всех ошибок провайдера — **`openai.APIError`** (не `litellm.APIError`).
#   `litellm.Timeout` — не потомок `litellm.APIConnectionError`; `BudgetExceededError` — обычный `Exception`.
# - `except` — от частного к общему: `ContextWindowExceededError` раньше `BadRequestError`,
#   `Timeout` раньше `openai.APIConnectionError`, общий `openai.APIError` — последним.
# - Повторы: `openrouter/` — ни одного; `openai/` — 2 повтора OpenAI SDK с паузами и `Retry-After`;
#   `num_retries=N` (нужен `tenacity`) повторяет всё, даже 400/401, без пауз и без `Retry-After`,
#   а на `openai/` складывается с SDK: `2·N + 1` запросов.
# - В обработчике исходного урока 503 (и через OpenRouter 500/502/403) ускользают из списка «временных»
#   ошибок, а `except Exception: continue` превращает их в бесконечный цикл. Исправление: полный
#   список через `openai.APIError`, цикл, который всегда продвигается, и `raise` вместо `ValueError`.
# - Клиент курса `ask(Request(...))` делает всё это за вас; в уроке 03 — резервные модели подробно.
