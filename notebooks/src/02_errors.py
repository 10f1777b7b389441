# %% [markdown]
# # Урок 02. Ошибки и исключения
#
# У провайдера бывают плохие дни: лимиты (429), перегрузка (503), обрывы связи, зависания. В такой день
# наш ассистент из исходного урока либо падает с исключением, которого никто не ждал, либо висит, либо
# засыпает провайдера повторами. В этом уроке мы сделаем так, чтобы он переживал плохой день:
# ловил то, что LiteLLM поднимает **на самом деле**, повторял только то, что повтором лечится, и
# не заставлял пользователя ждать.
#
# **В этом уроке вы:**
# - предскажете и проверите, какие исключения LiteLLM поднимает на каждый сбой — через `openrouter/`
#   и через `openai/`;
# - найдёте и исправите две ошибки в обработчике исходного урока (одна из них — бесконечный цикл);
# - посчитаете, кто и сколько раз повторяет запрос (`num_retries`, OpenAI SDK), и напишете повтор 429
#   по `Retry-After`;
# - подберёте повторы и таймаут под требование «не дольше 3 секунд в плохой день»;
# - разберёте ошибки, которые OpenRouter присылает с кодом 200, когда модель уже начала отвечать.
#
# ⏱ **Время:** основной путь ~45 мин + «Для любопытных» ~15 мин.

# %%
from course_helpers import start_lesson

course = start_lesson("02")

import litellm
import openai

from course_helpers import answer, check, hint, predict, progress, quiz, reveal, solution
from course_helpers.panels.errors import FAULTS, inject

OPENROUTER, OPENAI = "openrouter/openai/gpt-4o-mini", "openai/gpt-4o-mini"  # одна модель, два пути
MESSAGES = [{"role": "user", "content": "Привет!"}]


def quiet_provider() -> None:
    """Провайдер с чистого листа: без сбоев, лимитов и счётчиков, задержки ответов выключены
    (в этом уроке важны наши повторы и паузы, а не скорость модели)."""
    course.provider.reset()
    course.provider.set_latency_scale(0)


# %% [markdown]
# ## 2.1 Плохой день провайдера
#
# Исходный урок ловит ошибки так (код ниже — из него; добавлено одно: каждая ветка ещё и возвращает
# пойманное исключение, чтобы мы могли его рассмотреть, и последняя печатает только класс ошибки).
# Практический провайдер умеет изображать сбои: `course.provider.fail("openai/gpt-4o", 429, times=1)` —
# ответить 429 на следующий запрос к этой модели (модель называем так, как её зовёт OpenRouter, без
# префикса `openrouter/`). Опыты со сбоями идут внутри `with course.practice():` — в онлайн-режиме этот
# блок на время направляет LiteLLM к практическому провайдеру, офлайн ничего не меняет.
#
# Сначала 429 — «слишком много запросов»:

# %%
from litellm.exceptions import APIConnectionError, AuthenticationError, BudgetExceededError, RateLimitError, Timeout


def seed_block():
    try:
        response = litellm.completion(
            model="openrouter/openai/gpt-4o",
            messages=[{"role": "user", "content": "Привет!"}]
        )
    except RateLimitError as e:
        print("Превышен лимит запросов")
        return e
    except Timeout as e:
        print("Истекло время ожидания ответа")
        return e
    except APIConnectionError as e:
        print("Проблема с подключением к API")
        return e
    except BudgetExceededError as e:
        print("Превышен бюджет")
        return e
    except AuthenticationError as e:
        print("Ошибка аутентификации")
        return e
    except Exception as e:
        print(f"Другая ошибка: {type(e).__name__}")  # в исходном уроке: {str(e)}
        return e


with course.practice():
    quiet_provider()
    course.provider.fail("openai/gpt-4o", 429, times=1)
    seed_block()

# %% [markdown]
# 429 попал в свою ветку. Теперь 503 — «сервис перегружен, попробуйте позже», самый обычный временный сбой.
# Выберите ответ, потом запустите опыт.

# %%
predict("02.p1")

# %%
with course.practice():
    course.provider.fail("openai/gpt-4o", 503, times=1)
    error = seed_block()
reveal("02.p1", type(error).__name__)

# %% [markdown]
# > **Исходный урок говорит:** эти пять классов «позволяют эффективно обрабатывать различные ошибки».
# > **На деле:** временные сбои приходят и другими классами, а `BudgetExceededError` с `litellm.max_budget`
# > не срабатывает никогда (урок 06). Какие классы бывают? Построим карту.
#
# ## 2.2 Карта исключений
#
# Практический провайдер изображает любой сбой: статусы 400…504 (402 у OpenRouter — «кончились
# кредиты»), зависание, битый JSON, пустой ответ `{}`, обрыв соединения; «соединение отклонено» получим,
# направив `api_base` на закрытый порт. Каталог сбоев `FAULTS` и функция `inject`, которая включает сбой,
# лежат в модуле панели урока; сам вызов LiteLLM — здесь, на виду.
#
# Одна и та же модель доступна двумя путями, и LiteLLM обслуживает их **разным кодом**:
# - `openrouter/openai/gpt-4o-mini` — собственный HTTP-клиент LiteLLM, формат ошибок OpenRouter;
# - `openai/gpt-4o-mini` — через OpenAI SDK. SDK сам повторяет упавший запрос (об этом — в 2.4);
#   чтобы на карте один сбой был одним запросом, передаём ему `num_retries=0`.
#
# Прежде чем строить карту — вопрос про обработчик исходного урока.

# %%
predict("02.p2")

# %%
def provoke(model: str, fault: str) -> tuple[Exception | None, int]:
    """Один вызов под одним сбоем: исключение и число запросов, дошедших до провайдера."""
    quiet_provider()
    extra = inject(course.provider, fault, model)  # для "refused" — api_base на закрытый порт
    if model.startswith("openai/"):
        extra["num_retries"] = 0  # без этого OpenAI SDK повторит запрос ещё дважды
    try:
        litellm.completion(model=model, messages=MESSAGES, timeout=0.5, **extra)
    except Exception as e:
        return e, course.provider.requests()
    return None, course.provider.requests()


with course.practice():
    caught = {(model, fault): provoke(model, fault) for fault in FAULTS for model in (OPENROUTER, OPENAI)}
    quiet_provider()


def cell(error: Exception | None, requests: int) -> str:
    return f"{type(error).__name__:<24} {getattr(error, 'status_code', '-')!s:>3} {requests:>8}"


print(f"{'сбой':<28}| {'openrouter/: класс':<24} {'код':>3} {'запросов':>8} "
      f"| {'openai/: класс':<24} {'код':>3} {'запросов':>8}")
print("-" * 104)
for fault, spec in FAULTS.items():
    differs = " ≠" if type(caught[OPENROUTER, fault][0]) is not type(caught[OPENAI, fault][0]) else ""
    print(f"{spec.label:<28}| {cell(*caught[OPENROUTER, fault])} | {cell(*caught[OPENAI, fault])}{differs}")
print("\nкод — e.status_code; ≠ — пути расходятся")

SEED_TUPLE = (RateLimitError, Timeout, APIConnectionError)
reveal("02.p2", isinstance(caught[OPENROUTER, "500"][0], SEED_TUPLE))

# %% [markdown]
# Что здесь важно:
#
# - **Через OpenRouter 402, 403, 413, 500, 502, битый и пустой ответ — просто `litellm.APIError`.**
#   Не `PermissionDeniedError` и не `InternalServerError`: такие классы в LiteLLM есть, но этот путь их не
#   поднимает. Через `openai/` те же 500 и 502 становятся `InternalServerError` и `BadGatewayError`.
# - **408, 504 и зависание — `Timeout`**; зависание обрывается ровно через `timeout=` секунд.
# - **Отказ и обрыв соединения**: через OpenRouter — `APIConnectionError`, через `openai/` —
#   `InternalServerError`. Ветка «Проблема с подключением к API» на `openai/` не сработает.
# - **402 — кончились кредиты** на счёте или у ключа (у ключа OpenRouter бывает свой лимит расходов).
#   Это `litellm.APIError` на обоих путях, и повтором он не лечится.
# - У битого JSON через OpenRouter `status_code == 200`: провайдер ответил «успешно», сломался разбор.
#
# У каждого исключения LiteLLM есть `status_code`, `llm_provider` и `model` (имя **без** префикса
# `openrouter/`).
#
# ## 2.3 Иерархия классов и порядок `except`
#
# Python выбирает **первую** подходящую ветку `except`, поэтому важно, кто чей потомок.

# %%
from course_helpers.panels.errors import mro_names

seen = {type(error) for error, _ in caught.values()}
print("все классы с карты — потомки openai.APIError:", all(issubclass(t, openai.APIError) for t in seen))
print("RateLimitError — потомок litellm.APIError:   ", issubclass(litellm.RateLimitError, litellm.APIError))
print("Timeout — потомок litellm.APIConnectionError:", issubclass(litellm.Timeout, litellm.APIConnectionError))
print("Timeout:", " → ".join(mro_names(litellm.Timeout, 4)))
print("ContextWindowExceededError — потомок BadRequestError:",
      issubclass(litellm.ContextWindowExceededError, litellm.BadRequestError))
print("BudgetExceededError:", " → ".join(mro_names(litellm.BudgetExceededError, 2)))

# %% [markdown]
# - **Общий предок всех ошибок провайдера — `openai.APIError`.** Не `litellm.APIError`: это лишь один из
#   классов (тот, что приходит на 500 через OpenRouter), и `RateLimitError` от него не наследует.
# - **`litellm.Timeout` — не потомок `litellm.APIConnectionError`**, он наследует
#   `openai.APIConnectionError`. Ветка `except openai.APIConnectionError`, поставленная выше
#   `except Timeout`, перехватит таймаут.
# - **`ContextWindowExceededError` — потомок `BadRequestError`.** «Слишком длинный запрос» лечится моделью
#   с бо́льшим окном, «неверный запрос» — ничем; если `except BadRequestError` выше, их спутают.
# - **`BudgetExceededError` — обычный `Exception`**: ветка `openai.APIError` его не поймает.
#
# Первая и третья ловушки вживую — обработчик с неудачным порядком веток:

# %%
def wrong_order(model: str) -> str:
    try:
        litellm.completion(model=model, messages=MESSAGES, num_retries=0)
    except openai.APIConnectionError as e:
        return f"ветка openai.APIConnectionError: «нет связи» (а это {type(e).__name__})"
    except litellm.BadRequestError as e:
        return f"ветка BadRequestError: «неверный запрос, не повторяем» (а это {type(e).__name__})"
    except litellm.Timeout:
        return "ветка Timeout"  # недостижима: Timeout пойман выше
    except litellm.ContextWindowExceededError:
        return "ветка ContextWindowExceededError"  # недостижима: пойман выше как BadRequestError
    return "успех"


with course.practice():
    quiet_provider()
    course.provider.fail("openai/gpt-4o-mini", 504, times=1)
    print("504 через openrouter/ →", wrong_order(OPENROUTER))
    course.provider.fail("openai/gpt-4o-mini", kind="context_length", times=1)
    print("длинный запрос через openai/ →", wrong_order(OPENAI))

# %% [markdown]
# Правило: ветки — **от частного к общему**, и каждая отвечает на вопрос «что делать»:
# `ContextWindowExceededError` (взять модель с большим окном) раньше `BadRequestError` и
# `AuthenticationError` (поднять — повтор не поможет); `RateLimitError`, `Timeout`, `ServiceUnavailableError`
# (временный сбой — повторить или перейти к резервной модели) раньше общего `openai.APIError` (всё остальное
# от провайдера); ошибки собственного кода не ловить вовсе.
#
# ### Задание 2.1 · отладка. Обработчик исходного урока
#
# Ниже — цикл по моделям из `litellm_client.py` исходного урока, как есть, в функции
# `send(models, messages)`; `attempt` — номер модели в списке. Запустите проверку: она вызовет `send` с
# основной моделью `openrouter/openai/gpt-4o` и резервной `openrouter/openai/gpt-4o-mini`, включая сбои у
# основной, и скажет, что пошло не так. Найдите ошибки и исправьте код так, чтобы:
# - ни одна ошибка провайдера (429, 500, 502, 503…) не вылетала из `send`: отвечает резервная модель;
# - цикл всегда продвигался: ни одна модель не получает больше 3 запросов подряд;
# - на 400 и 401 `send` сразу поднимал `BadRequestError` / `AuthenticationError` — их собственным классом,
#   без повторов и без резервной модели;
# - если отказали все модели, `send` поднимал последнюю ошибку провайдера.
#
# Сбой у провайдера длится 12 запросов: застрявший на одной модели цикл всё же закончится, и проверка
# это увидит.

# %%
import logging

from litellm.exceptions import AuthenticationError, RateLimitError, Timeout, APIConnectionError, BudgetExceededError

logger = logging.getLogger("litellm_client")  # логгер «нашего проекта»
logger.addHandler(logging.NullHandler())  # сообщения лога здесь не печатаем
logger.propagate = False


def send(models: list[str], messages: list[dict]) -> str:
    attempt = 0
    while attempt < len(models):
        model = models[attempt]
        try:
            response = litellm.completion(model=model, messages=messages, timeout=10)
            return response.choices[0].message.content
        except AuthenticationError:
            logger.error("Authentication failed: Invalid API key.")
            raise ValueError("Invalid API key")
        except (RateLimitError, Timeout, APIConnectionError, BudgetExceededError) as e:
            logger.warning(f"Error with model {model}: {e}. Trying next fallback if available...")
            attempt += 1
        except Exception as e:
            logger.error(f"Unexpected error: {e}")
            continue
    return None  # все модели отказали


# %%
check("02.1", send)

# %% [markdown]
# Подсказки: `hint("02.1")`, `hint("02.1", 2)`, `hint("02.1", 3)`. Решение — в конце урока и в `solution("02.1")`.
#
# ## 2.4 Повторы: кто и сколько раз повторяет запрос
#
# Сколько запросов уходит провайдеру, когда он отвечает ошибкой? Зависит от пути и от `num_retries`
# (повторы LiteLLM: `litellm.completion(..., num_retries=N)`). Прогоним четыре настройки на двух постоянных
# сбоях: 401 (неверный ключ) и 503. Чтобы опыт не ждал, провайдер просит паузу 0,1 с (`Retry-After: 0.1`).

# %%
predict("02.p3")

# %%
SETUPS = {
    "openrouter/": (OPENROUTER, {}),
    "openrouter/, num_retries=2": (OPENROUTER, {"num_retries": 2}),
    "openai/": (OPENAI, {}),
    "openai/, num_retries=2": (OPENAI, {"num_retries": 2}),
}
sent = {}
with course.practice():
    for setup, (model, options) in SETUPS.items():
        for status in (401, 503):
            quiet_provider()
            course.provider.fail("openai/gpt-4o-mini", status, retry_after=0.1)
            try:
                litellm.completion(model=model, messages=MESSAGES, **options)
            except openai.APIError:
                pass
            sent[setup, status] = course.provider.requests()
    quiet_provider()

print(f"{'запросов у провайдера':<28}{'HTTP 401':>10}{'HTTP 503':>10}")
for setup in SETUPS:
    print(f"{setup:<28}{sent[setup, 401]:>10}{sent[setup, 503]:>10}")
reveal("02.p3", sent["openai/, num_retries=2", 503])

# %% [markdown]
# - **`openrouter/` по умолчанию не повторяет ничего**: один сбой — один запрос.
# - **`openai/` повторяет за вас**: OpenAI SDK делает ещё 2 попытки на 408, 429, 5xx и обрывах связи,
#   с паузами (по `Retry-After`, а без него — около 0,5 с и около 1 с), а 400, 401 и 402 не повторяет.
# - **`num_retries=2` повторяет всё подряд** — и 400, 401, 402, которые повтором не лечатся, — **без пауз**.
# - **На `openai/` повторы складываются**: `num_retries=N` даёт `2·N + 1` запросов. Нужен ровно один
#   запрос через `openai/` — `num_retries=0`.
#
# > **Осторожно:** `num_retries` в `litellm.completion` работает через пакет `tenacity`, а `pip install litellm`
# > его **не ставит**. Без него первый же сбой превращается в безликое `Exception: tenacity import failed…`,
# > и настоящий класс ошибки теряется. В курсе `tenacity` установлен (см. `requirements.txt`).
#
# ## 2.5 Retry-After: может прийти, а может и нет
#
# На 429 (и 503) провайдер **может** сказать, сколько подождать: заголовок `Retry-After` в секундах. У
# OpenRouter это именно «может»: документация его не обещает. LiteLLM сохраняет настоящие заголовки ответа
# в `e.litellm_response_headers`. Устроим настоящий 429 — лимит «1 запрос в минуту» (`set_limits`), второй
# запрос в него упирается, — с заголовком и без (`retry_after=False`), через оба пути:

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
            quiet_provider()
            course.provider.set_limits("openai/gpt-4o-mini", rpm=1, retry_after=retry_after)
            headers = second_call_429(model).litellm_response_headers
            kind = f"{type(headers).__module__}.{type(headers).__name__}"
            print(f"retry_after={retry_after!s:<5} {model:<30} {kind:<14}"
                  f" get('retry-after') пришёл: {headers.get('retry-after') is not None!s:<5}"
                  f" | 'Retry-After' in headers: {'Retry-After' in headers}")
    quiet_provider()

# %% [markdown]
# - Через `openrouter/` заголовки — обычный `dict` с ключами **в нижнем регистре**, через `openai/` —
#   `httpx.Headers`, где регистр не важен. `headers.get("retry-after")` работает на обоих путях и возвращает
#   `None`, когда заголовка нет; `headers["Retry-After"]` на `dict` падает с `KeyError` даже тогда, когда
#   заголовок пришёл.
# - Заголовка может не быть: не `float(headers.get("retry-after"))` (это `float(None)`), а своя пауза.
#
# Кто заголовок уважает? Один 429 с `Retry-After: 1`, затем успех; паузу между запросами меряет провайдер.
# Эта секунда настоящая, даже когда задержки провайдера ускорены (`COURSE_LATENCY_SCALE` в тестах курса):
# `Retry-After` — целое число секунд (RFC 9110), меньше одной не попросить.

# %%
def pause_before_retry(model: str, **options) -> float:
    """Один 429 с Retry-After: 1, затем успех; пауза между двумя запросами по журналу провайдера, с."""
    quiet_provider()
    course.provider.fail("openai/gpt-4o-mini", 429, times=1, retry_after=1)
    litellm.completion(model=model, messages=MESSAGES, **options)
    first, second = (entry["t"] for entry in course.provider.log())
    return second - first


with course.practice():
    print("openrouter/ + num_retries=2 ждёт Retry-After:", pause_before_retry(OPENROUTER, num_retries=2) >= 1)
    print("openai/ (повторы OpenAI SDK) ждёт Retry-After:", pause_before_retry(OPENAI) >= 1)
    quiet_provider()

# %% [markdown]
# `num_retries` заголовок **игнорирует**, OpenAI SDK — **уважает**. Так должен поступать и ваш обработчик:
# пришёл `Retry-After` — ждать столько; не пришёл — своя пауза, растущая от попытки к попытке; число
# попыток ограничено.
#
# ### Задание 2.2 · сборка. Повтор 429 по Retry-After
#
# Напишите `call_with_retry(model, messages, max_retries=2)`:
# - при успехе возвращает текст ответа;
# - на `RateLimitError` ждёт столько секунд, сколько сказано в `Retry-After`, и повторяет; **нет
#   заголовка** — своя пауза `2 ** attempt` секунд (1 с, 2 с, 4 с…); повторов — **не больше `max_retries`**,
#   потом поднимает последний `RateLimitError`;
# - любую другую ошибку поднимает сразу, без повторов;
# - один вызов `litellm.completion` — один запрос к провайдеру (проверка использует `openrouter/…`).
#
# Проверка считает запросы и измеряет паузы между ними по журналу провайдера — и присылает 429 как с
# `Retry-After`, так и без него (займёт несколько секунд: паузы настоящие).

# %%
def call_with_retry(model: str, messages: list[dict], max_retries: int = 2) -> str:
    # ваш код здесь
    raise NotImplementedError


# %%
check("02.2", call_with_retry)

# %% [markdown]
# Подсказки: `hint("02.2")`, `hint("02.2", 2)`, `hint("02.2", 3)`. Решение — в конце урока и в `solution("02.2")`.
#
# ## 2.6 Таймаут: чтобы ассистент не висел
#
# Зависший провайдер не отвечает ничего. Без `timeout=` LiteLLM ждёт его очень долго — и пользователь
# ждёт вместе с ним. С `timeout=` зависание обрывается исключением `Timeout`:

# %%
import time

with course.practice():
    quiet_provider()
    course.provider.fail("openai/gpt-4o-mini", kind="hang")
    start = time.perf_counter()
    try:
        litellm.completion(model=OPENROUTER, messages=MESSAGES, timeout=0.5)
    except litellm.Timeout as e:
        print(f"{type(e).__name__} через {time.perf_counter() - start:.1f} с, запросов: {course.provider.requests()}")
    quiet_provider()

# %% [markdown]
# На `openai/` `timeout=` действует на **каждую попытку** OpenAI SDK: зависание с `timeout=1` — это три
# попытки по секунде плюс паузы между ними, больше трёх секунд.
#
# ### Задание 2.3 · решение. Ассистент в плохой день
#
# Требование к ассистенту: **пользователь ждёт не дольше 3 с**, даже когда у провайдера плохой день —
# каждый пятый ответ 503, каждый десятый 429 без `Retry-After`, изредка запрос зависает. Точнее:
# - временный сбой (429, 503, зависание), после которого следующая попытка прошла бы, до пользователя не
#   доходит — он получает ответ;
# - ни один вызов не дольше 3 с — даже если провайдер лежит совсем (тогда поднимите его исключение);
# - не больше 3 запросов на вызов;
# - 400 и 401 не повторять: ровно один запрос и исключение своего класса.
#
# Напишите `reliable_call(messages)`, которая возвращает текст ответа модели `gpt-4o-mini`. Путь
# (`openrouter/` или `openai/`), кто повторяет (`num_retries`, OpenAI SDK, свой цикл), паузы и `timeout=` —
# решать вам. Проверка прогонит «плохой день» из 8 вызовов: без сбоев; 400; 401; один 503; один 429; 503 и
# сразу 429; 503 на каждый запрос; одно зависание. Задержку самих ответов модели проверка выключает: в 3 с
# должны уложиться ваши паузы, таймауты и повторы.

# %%
def reliable_call(messages: list[dict]) -> str:
    # ваш выбор: путь, повторы, паузы, timeout
    raise NotImplementedError


# %%
check("02.3", reliable_call)

# %% [markdown]
# Подсказки: `hint("02.3")`, `hint("02.3", 2)`, `hint("02.3", 3)`. Решение — в конце урока и в `solution("02.3")`.
#
# ## 2.7 Ошибка с кодом 200
#
# Пока модель не начала отвечать, OpenRouter сообщает об ошибке HTTP-статусом (как на карте 2.2). Если же
# ошибка случилась, **когда модель уже отвечала**, статус уже ушёл — это **200**, а ошибка лежит внутри
# ответа. Бывает два вида. Первый — ошибка в теле ответа вместо вариантов (`kind="error_in_body"`); вот что
# приходит по сети:

# %%
import httpx

QUESTION = [{"role": "user", "content": "Что такое Python?"}]

with course.practice() as provider:
    quiet_provider()
    provider.fail("openai/gpt-4o-mini", 429, kind="error_in_body", times=1)
    raw = httpx.post(f"{provider.api_base()}/chat/completions", headers={"Authorization": f"Bearer {provider.key}"},
                     json={"model": "openai/gpt-4o-mini", "messages": QUESTION})
    print("HTTP", raw.status_code, raw.json())

# %% [markdown]
# С таким ответом LiteLLM поступает как с обычной ошибкой — поднимает класс по `error.code`:

# %%
with course.practice():
    for code in (429, 502, 503):
        quiet_provider()
        course.provider.fail("openai/gpt-4o-mini", code, kind="error_in_body", times=1)
        try:
            litellm.completion(model=OPENROUTER, messages=QUESTION)
        except openai.APIError as e:
            print(f"error.code {code} в теле ответа 200 → {type(e).__name__:<24} status_code {e.status_code}")
    quiet_provider()

# %% [markdown]
# Второй вид — ошибка **внутри варианта ответа**: модель успела написать часть текста, и OpenRouter
# возвращает эту часть с `finish_reason: "error"` и полем `choices[0].error` (`kind="error_in_choice"`).

# %%
predict("02.p4")

# %%
with course.practice():
    quiet_provider()
    course.provider.fail("openai/gpt-4o-mini", 502, kind="error_in_choice", times=1)
    error = None
    try:
        response = litellm.completion(model=OPENROUTER, messages=QUESTION)
    except Exception as e:
        error = e
reveal("02.p4", error)

# %%
choice = response.choices[0]
print("finish_reason:", choice.finish_reason)
print("текст:", choice.message.content)
fields = choice.provider_specific_fields or {}
print("native_finish_reason:", fields.get("native_finish_reason"), "| error.code:", fields["error"]["code"])
print("стоимость по LiteLLM (response_cost) > 0:", response._hidden_params["response_cost"] > 0)

# %% [markdown]
# Текст оборван на полуслове, `finish_reason` — как у нормального ответа, и за обрывок заплачено.
#
# > **Важно:** ошибка с кодом 200 бывает у OpenRouter, когда модель уже начала отвечать. Ошибку в теле
# > LiteLLM поднимает обычным классом по `error.code`, а ответ без исключения проверяйте сами:
# > `(choice.provider_specific_fields or {}).get("native_finish_reason") == "error"`. Ошибка посреди
# > потокового ответа (stream) — в «Для любопытных».
#
# ## 2.8 Клиент проекта: `Request` и `ask`
#
# > **Исходный урок говорит:** так в `litellm_client.py` «обрабатываются эти исключения» с переходом к
# > резервной модели. **На деле** в этом обработчике две ошибки (задание 2.1): кортеж «временных» классов
# > неполон — 503, 402, 403, 500 и 502 (через OpenRouter — `APIError`, через `openai/` —
# > `InternalServerError` и `BadGatewayError`) уходят в `except Exception`; а там `continue` не увеличивает
# > `attempt`, и цикл повторяет ту же модель снова и снова. Вдобавок `raise ValueError` на 401 прячет
# > настоящий класс ошибки.
#
# Сколько сбоев карты 2.2 попадают в `except Exception: continue` — без новых запросов, исключения уже в
# `caught` (функция `seed_clause(e)` говорит, какая ветка обработчика ловит `e`):

# %%
from course_helpers.panels.errors import seed_clause

for model in (OPENROUTER, OPENAI):
    spinning = [FAULTS[f].label for f in FAULTS if seed_clause(caught[model, f][0])[0] == "except Exception"]
    print(f"{model}: {len(spinning)} из {len(FAULTS)}: {', '.join(spinning)}")

# %% [markdown]
# В `course_helpers` лежит «наш проект» из исходного урока, сделанный правильно: `Request(model, fallbacks,
# messages, answer_model)` и `ask(request)`. Он классифицирует ошибку (поднять / повторить эту модель /
# перейти к резервной), повторяет временные сбои с паузой по `Retry-After` или своей, всегда продвигается
# по списку и поднимает последнюю ошибку своим классом. Основная модель отвечает 503, резервная здорова:

# %%
from course_helpers import Request, ask

PRIMARY, FALLBACK = "openrouter/openai/gpt-4o", "openrouter/openai/gpt-4o-mini"

with course.practice():
    quiet_provider()
    course.provider.fail("openai/gpt-4o", 503)
    reply = ask(Request(model=PRIMARY, fallbacks=[FALLBACK], messages=MESSAGES))
    print("попытки:", [(a.model, a.error, a.decision) for a in reply.attempts])
    print("запросов к основной:", course.provider.requests(model="openai/gpt-4o"),
          "| к резервной:", course.provider.requests(model="openai/gpt-4o-mini"))

# %% [markdown]
# А если кончились кредиты (402)? Резервные модели `openrouter/…` платят с того же ключа — им откажут так
# же. `ask` не тратит на них запросы и останавливается сразу, объясняя почему. Ключ с нулевым лимитом
# расходов создаём у практического провайдера (`create_key`) и передаём через `options`:

# %%
with course.practice():
    quiet_provider()
    empty_key = course.provider.create_key("без кредитов", limit=0.0)
    try:
        ask(Request(model=PRIMARY, fallbacks=[FALLBACK, "openrouter/anthropic/claude-3-haiku"],
                    messages=MESSAGES, options={"api_key": empty_key}))
    except openai.APIError as e:
        print(f"поднят {type(e).__name__} ({e.status_code}) | запросов у провайдера: {course.provider.requests()}")

# %% [markdown]
# ## 2.9 Панель: консоль сбоев
#
# Выберите модель (`openrouter/…` или `openai/…`), сбой и режим повторов, нажмите «Отправить». Панель покажет
# класс исключения, его `status_code` и MRO, **какая ветка** обработчика исходного урока его поймала, что решил
# бы клиент курса (`decide`), и **сколько запросов** получил провайдер. Панель всегда работает с практическим
# провайдером. Все вызовы идут с `timeout=2` на попытку, так что зависание через `openai/` с повторами по
# умолчанию займёт секунд семь.
#
# Попробуйте: 503 через `openai/` с повторами по умолчанию и с `num_retries=0`; «соединение отклонено» через
# оба пути; 401 и 402 с `num_retries=2`.

# %%
from course_helpers.panels.errors import FaultConsole

console = FaultConsole(course.provider)
console.widget

# %% [markdown]
# Кнопка вызывает `console.send()`; его можно вызвать и из кода:

# %%
with course.practice():
    quiet_provider()
    console.model.value = "openrouter/openai/gpt-4o-mini"
    console.fault.value = "500"
    console.retries.value = "по умолчанию"
    print(console.send())
    quiet_provider()

# %% [markdown]
# ## Тест
#
# Семь коротких вопросов. Ответ можно дать и кодом: `answer("02.q1", 2)`.

# %%
quiz("02")

# %% [markdown]
# ## Итоги
#
# - Класс исключения зависит от пути: через OpenRouter 402/403/413/500/502 и битый ответ — `litellm.APIError`,
#   через `openai/` 500/502 — `InternalServerError`/`BadGatewayError`, отказ соединения — `InternalServerError`.
#   Не гадайте — постройте карту, как в 2.2.
# - Общий предок всех ошибок провайдера — **`openai.APIError`**; `litellm.Timeout` — не потомок
#   `litellm.APIConnectionError`; `BudgetExceededError` — обычный `Exception`. Ветки — от частного к общему.
# - Обработчик исходного урока: 503, 402, 403, 500 и 502 ускользают из «временных» и крутятся в
#   `except Exception: continue` вечно. Исправление: общий `openai.APIError`, цикл, который
#   всегда продвигается, и `raise` вместо `ValueError`.
# - Повторы: `openrouter/` — ни одного; `openai/` — 2 повтора OpenAI SDK с паузами и `Retry-After`;
#   `num_retries=N` (нужен `tenacity`) повторяет всё, даже 400/401, без пауз, а на `openai/` — `2·N + 1`.
# - `Retry-After` может не прийти: `(e.litellm_response_headers or {}).get("retry-after")`, а без него — своя
#   растущая пауза. `timeout=` обязателен, на `openai/` он действует на каждую попытку.
# - Ошибка после начала ответа приходит с кодом 200: в теле — обычным исключением, в варианте ответа — без
#   исключения (`native_finish_reason == "error"`).
# - 402 (кредиты кончились) — не повод переходить к модели того же ключа; клиент курса `ask` это знает.
#
# ### Рецепт
#
# ```python
# import time
#
# import litellm
# import openai
#
# RETRYABLE = (litellm.RateLimitError, litellm.Timeout, litellm.APIConnectionError,
#              litellm.ServiceUnavailableError, litellm.InternalServerError)
#
#
# def complete(models: list[str], messages: list[dict], tries: int = 2, timeout: float = 30) -> str:
#     """Модели по очереди; временные сбои — повтор с паузой; 400/401 — сразу наверх."""
#     last_error = None
#     for model in models:
#         for attempt in range(tries):
#             try:
#                 response = litellm.completion(model=model, messages=messages, timeout=timeout, num_retries=0)
#                 return response.choices[0].message.content
#             except litellm.ContextWindowExceededError as e:   # раньше BadRequestError: его потомок
#                 last_error = e
#                 break                                          # к модели с большим окном
#             except (litellm.AuthenticationError, litellm.BadRequestError):
#                 raise                                          # повтор не поможет
#             except RETRYABLE as e:
#                 last_error = e
#                 retry_after = (e.litellm_response_headers or {}).get("retry-after")
#                 if attempt + 1 < tries:
#                     time.sleep(min(float(retry_after) if retry_after else 0.5 * 2 ** attempt, 5))
#             except openai.APIError as e:                       # 402/403/500/502 через OpenRouter и прочее
#                 if getattr(e, "status_code", None) == 402:
#                     raise                                      # кредиты кончились: у этих моделей один ключ
#                 last_error = e
#                 break
#     raise last_error
# ```
#
# Готовый вариант с `Retry-After`, 402 и резервными моделями — `course_helpers.ask(Request(...))`.
#
# ### Документация
#
# - [LiteLLM: Exception Mapping](https://docs.litellm.ai/docs/exception_mapping) — классы исключений и их коды.
# - [LiteLLM: Reliability — Retries, Fallbacks](https://docs.litellm.ai/docs/completion/reliable_completions) —
#   `num_retries` и `fallbacks` в `litellm.completion`.
# - [OpenRouter: Errors](https://openrouter.ai/docs/errors) — коды ошибок OpenRouter и ошибки с кодом 200.
#
# ## Для любопытных
#
# ### `litellm.LITELLM_EXCEPTION_TYPES`
#
# Кто ловит «всё из LiteLLM» кортежем `litellm.LITELLM_EXCEPTION_TYPES`, ловит не то же самое, что
# `except openai.APIError`:

# %%
types = litellm.LITELLM_EXCEPTION_TYPES
print("записей:", len(types), "| разных классов:", len(set(types)))
print("записан дважды:", [t.__name__ for t in dict.fromkeys(types) if types.count(t) > 1])
print("не потомки openai.APIError:", [" → ".join(mro_names(t, 3)) for t in dict.fromkeys(types)
                                     if not issubclass(t, openai.APIError)])

# %% [markdown]
# Кортеж ловит ещё и `litellm.OpenAIError` (он наследует `openai.OpenAIError`, а не `openai.APIError`), а
# собственные классы OpenAI SDK (`openai.RateLimitError` и др.) не ловит — только их потомков из LiteLLM. Для
# всех сбоев карты 2.2 обе формы ловят одно и то же.
#
# ### 402 на ключе с лимитом расходов
#
# У OpenRouter каждому ключу можно задать свой лимит расходов (credit limit), а остаток показывает
# `GET /api/v1/key` (поле `limit_remaining`). Практический провайдер умеет и это: `create_key(название,
# limit)`, `set_credit_limit(limit, key)`, `key_info(ключ)`. Ключ с лимитом $0,0001 — запросы, пока не
# откажут:

# %%
with course.practice():
    quiet_provider()
    capped_key = course.provider.create_key("урок 02", limit=0.0001)
    for answered in range(100):
        try:
            litellm.completion(model=OPENROUTER, messages=MESSAGES, api_key=capped_key)
        except openai.APIError as e:
            credit_error = e
            break
    info = course.provider.key_info(capped_key)["data"]
    print(f"ответов до отказа: {answered}; limit_remaining = {info['limit_remaining']}")
    print(f"отказ: {type(credit_error).__module__.split('.')[0]}.{type(credit_error).__name__}, "
          f"status_code {credit_error.status_code} | потомок BadRequestError: "
          f"{isinstance(credit_error, litellm.BadRequestError)}")
    try:
        litellm.completion(model="openrouter/anthropic/claude-3-haiku", messages=MESSAGES, api_key=capped_key)
    except openai.APIError as e:
        print("другая модель с тем же ключом:", type(e).__name__, e.status_code)

# %% [markdown]
# Класс `litellm.PaymentRequiredError` в LiteLLM есть, но этот путь его не поднимает: 402 — `litellm.APIError`,
# и ветка `except BadRequestError: raise` его не остановит. Документация OpenRouter обещает на исчерпанный
# лимит ключа 402, но пользователи сообщают и о 403 «Key limit exceeded»; клиент курса понимает оба варианта.
# Если среди резервных есть модель другого провайдера (другой счёт), `ask` идёт к ней, пропуская модели
# того же ключа:

# %%
with course.practice():
    quiet_provider()
    course.provider.fail("openai/gpt-4o", 402)
    reply = ask(Request(model=PRIMARY, fallbacks=[FALLBACK, "openai/gpt-4o-mini"], messages=MESSAGES))
    print("попытки:", [(a.model, a.error, a.decision) for a in reply.attempts])

# %% [markdown]
# ### Ошибка посреди потокового ответа
#
# В потоковом ответе (stream) ошибка после начала ответа приходит событием `data:` с полем `error` посреди
# текста. Печатаем куски по мере прихода, как в чате:

# %%
from litellm.exceptions import MidStreamFallbackError

with course.practice():
    quiet_provider()
    course.provider.fail("openai/gpt-4o-mini", 502, kind="error_in_body", times=1)
    shown = ""
    try:
        for chunk in litellm.completion(model=OPENROUTER, messages=QUESTION, stream=True):
            shown += chunk.choices[0].delta.content or ""
    except MidStreamFallbackError as e:
        print(f"{type(e).__name__} (потомок {type(e).__mro__[1].__name__}), status_code {e.status_code}")
        print("пользователь уже увидел", len(shown), "символов; e.generated_content совпадает:",
              e.generated_content == shown)
    quiet_provider()
    course.provider.fail("openai/gpt-4o-mini", 502, kind="error_in_body")
    try:
        for chunk in litellm.completion(model=OPENROUTER, messages=QUESTION, stream=True, num_retries=2):
            pass
    except MidStreamFallbackError:
        print("с num_retries=2 → запросов:", course.provider.requests())
    quiet_provider()

# %% [markdown]
# `MidStreamFallbackError` — потомок `ServiceUnavailableError`, так что ветка для временных сбоев его поймает,
# но **после** того, как часть текста уже показана; `num_retries` его не повторяет. Повторить запрос можно
# самому, но пользователь увидит начало ответа дважды: сотрите показанное или продолжайте с
# `e.generated_content`.
#
# ### Ошибка в теле 200 и `num_retries`
#
# В жалобе BerriAI/litellm#8448 (LiteLLM 1.60.6) 429 в теле ответа 200 приходил без исключения и не повторялся.
# В закреплённой версии 1.108.14 это уже не так:

# %%
with course.practice():
    quiet_provider()
    course.provider.fail("openai/gpt-4o-mini", 429, kind="error_in_body")
    try:
        litellm.completion(model=OPENROUTER, messages=QUESTION, num_retries=2)
    except litellm.RateLimitError:
        print("429 в теле 200, num_retries=2 → запросов:", course.provider.requests())
    quiet_provider()

# %% [markdown]
# ### Решения клиента курса для всей карты
#
# `course_helpers.project.decide(e, remaining)` — функция, по которой `ask` решает, что делать с ошибкой:
# `stop` (поднять), `retry` (повторить эту модель) или `next` (к резервной); `remaining` — резервные модели,
# до которых очередь ещё не дошла. Её решения для всей карты, когда в запасе одна резервная модель через тот
# же путь и ключ:

# %%
from course_helpers.project import decide

SAME_KEY_FALLBACK = {OPENROUTER: "openrouter/openai/gpt-4o", OPENAI: "openai/gpt-4o"}
for model in (OPENROUTER, OPENAI):
    by_decision = {}
    for fault in FAULTS:
        by_decision.setdefault(decide(caught[model, fault][0], [SAME_KEY_FALLBACK[model]]), []).append(fault)
    print(model)
    for decision, faults in sorted(by_decision.items()):
        print(f"   {decision:<5} ← {', '.join(faults)}")

# %%
progress("02")

# %% [markdown] tags=["solutions"]
