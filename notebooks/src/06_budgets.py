# %% [markdown]
# # Урок 06. Бюджеты: счёт под контролем
#
# Наш сервис-ассистент из прошлых уроков (`Request`, кэш, резервные модели, `Router`) неделю работал у
# команды — и пришёл счёт. Много это или мало, никто не знает: сервис не считает свои расходы. А чтобы
# расходы не росли без предела, исходный урок предлагает одну строку: `litellm.max_budget = 10.0`.
# Здесь сервис научится считать деньги и не тратить больше бюджета — даже когда 20 запросов идут
# одновременно и процессов несколько.
#
# **В этом уроке вы:**
# - проверите, останавливает ли `litellm.max_budget` цикл запросов (сначала — ваш прогноз);
# - почините счётчик расходов на `CustomLogger`, который молча ничего не считает;
# - увидите, почему «проверить расход, потом вызвать» не держит бюджет под нагрузкой, и как его держит
#   резерв до вызова (`BudgetGuard`);
# - измерите, какой запас нужен оценке стоимости, когда токенизатор не совпадает с моделью;
# - выберете лимит защиты и лимит ключа для сервиса из нескольких процессов так, чтобы счёт за день не
#   превысил бюджет.
#
# ⏱ **Время:** основной путь ~45 мин + «Для любопытных» ~20 мин
#
# В этом уроке важны деньги, а не время: практический провайдер отвечает мгновенно, а считает по
# настоящим ценам моделей (таблица на дату `PRICES_AS_OF`). Опыты, которые читают его счёт, идут в блоке
# `with course.practice():` — офлайн он ничего не меняет, а в онлайн-режиме направляет вызовы блока на
# практический провайдер (счёт и лимиты ключей есть только у него).

# %%
from course_helpers import start_lesson

course = start_lesson("06")

import asyncio
import time
from datetime import datetime

import litellm
from litellm.integrations.custom_logger import CustomLogger

from course_helpers import check, hint, predict, progress, quiz, reveal, solution
from course_helpers.budget import (DEFAULT_MARGIN, BudgetExceeded, BudgetGuard, max_cost, restore_callbacks,
                                   save_callbacks)

GPT4O = "openrouter/openai/gpt-4o"  # дорогая модель: счёт виден сразу
MINI = "openrouter/openai/gpt-4o-mini"
SONNET = "openrouter/anthropic/claude-3.5-sonnet"
STORY = [{"role": "user", "content": "Напиши длинный рассказ"}]  # запрос из исходного урока
Q = [{"role": "user", "content": "Что такое кэширование?"}]


def billed() -> float:
    """Сколько всего списал практический провайдер: его статистика — это счёт."""
    return course.provider.stats()["cost"]


async def wait_until(condition, timeout: float = 5.0) -> None:
    """Колбэки LiteLLM выполняются в фоне: ждём, пока условие выполнится."""
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        await asyncio.sleep(0.02)


course.provider.set_latency_scale(0)  # время ответа в этом уроке не важно: провайдер отвечает сразу

# %% [markdown]
# ## 6.1 Строка из исходного урока: `litellm.max_budget`
#
# Исходный урок обещает:
#
# ```python
# litellm.max_budget = 10.0  # В долларах
# try:
#     response = litellm.completion(model="openrouter/openai/gpt-4o", messages=[...])
# except litellm.exceptions.BudgetExceededError:
#     print("Превышен установленный бюджет")
# ```
#
# До \$10 пришлось бы тратить долго, поэтому поставим бюджет \$0.002: один вызов `gpt-4o` с рассказом
# (`max_tokens=100`) стоит около \$0.001. Сервис делает пять таких вызовов подряд.

# %%
predict("06.p1")

# %%
litellm.max_budget = 0.002  # меньше, чем стоят два таких вызова
passed = 0
with course.practice():
    before = billed()
    for i in range(1, 6):
        try:
            r = litellm.completion(model=GPT4O, messages=STORY, max_tokens=100)
            passed += 1
            print(f"вызов {i}: ${r._hidden_params['response_cost']:.7f}, litellm._current_cost = {litellm._current_cost}")
        except litellm.BudgetExceededError as e:
            print(f"вызов {i}: BudgetExceededError — {e}")
    print(f"провайдер списал ${billed() - before:.7f} при max_budget = ${litellm.max_budget}")
litellm.max_budget = 0.0  # выключаем обратно
reveal("06.p1", passed)

# %% [markdown]
# > **Исходный урок говорит:** установите `litellm.max_budget` — при превышении LiteLLM бросит
# > `BudgetExceededError`. **На деле** в LiteLLM 1.108.14 (и в 1.110.2) счётчик `litellm._current_cost`
# > для chat completion, `acompletion` и стримов не растёт, и проверка перед вызовом не срабатывает
# > никогда. Сама проверка исправна (см. «Для любопытных»), но считать деньги придётся самим.
#
# ## 6.2 Сколько стоил вызов: `response_cost` и `CustomLogger`
#
# Стоимость каждого ответа LiteLLM кладёт в `response._hidden_params["response_cost"]`. Для моделей
# `openrouter/` это не пересчёт по ценам LiteLLM, а `usage.cost` из ответа — ровно то, что списал
# провайдер:

# %%
with course.practice():
    r = litellm.completion(model=MINI, messages=Q)
    print(f"response_cost   ${r._hidden_params['response_cost']:.8f}")
    print(f"usage.cost      ${r.usage.cost:.8f}")
    print(f"счёт провайдера ${course.provider.log()[-1]['cost']:.8f}")

# %% [markdown]
# Чтобы считать **все** вызовы сервиса, а не один, нужен колбэк: класс-наследник `CustomLogger`.
# После каждого успешного `completion` (и после потокового ответа целиком) LiteLLM зовёт его метод
# `log_success_event`, стоимость — в `kwargs["response_cost"]`. Для `acompletion` LiteLLM зовёт другой
# метод — `async def async_log_success_event`.
#
# > **Осторожно:** колбэки глобальны для всего процесса. LiteLLM копирует `litellm.callbacks` ещё в
# > несколько внутренних списков, поэтому сохраним их все (`save_callbacks`) и потом вернём
# > (`restore_callbacks`).

# %%
class CostLog(CustomLogger):
    """Записывает стоимость каждого успешного синхронного вызова и было ли это попадание в кэш."""

    def __init__(self):
        super().__init__()
        self.events = []
        self.since = datetime.now()

    def log_success_event(self, kwargs, response_obj, start_time, end_time):
        # LiteLLM зовёт колбэки в фоновом потоке: событие вызова из прошлой ячейки может прийти уже
        # сюда. Считаем только вызовы, начатые после создания счётчика.
        if start_time >= self.since:
            self.events.append((kwargs.get("response_cost"), kwargs.get("cache_hit")))


saved_callbacks = save_callbacks()
cost_log = CostLog()
litellm.callbacks = [cost_log]

# %% [markdown]
# Включим кэш в памяти (урок 01) и отправим один и тот же запрос дважды: первый раз он уйдёт к
# модели, второй придёт из кэша.

# %%
predict("06.p2")

# %%
litellm.enable_cache()  # кэш в памяти
hello = [{"role": "user", "content": "Привет!"}]
with course.practice():
    before = course.provider.requests()
    for _ in range(2):
        litellm.completion(model=MINI, messages=hello)
    await wait_until(lambda: len(cost_log.events) >= 2)
    print("запросов дошло до провайдера:", course.provider.requests() - before)
litellm.disable_cache()
for n, (cost, cache_hit) in enumerate(cost_log.events, start=1):
    print(f"вызов {n}: response_cost = ${cost:.8f}, cache_hit = {cache_hit}")
restore_callbacks(saved_callbacks)  # убираем CostLog
reveal("06.p2", cost_log.events[1] if len(cost_log.events) > 1 else None)

# %% [markdown]
# ### Задание 6.1 · отладка. Счётчик, который ничего не считает
#
# Коллега написал счётчик расходов для сервиса (ячейка ниже). Он работает без единой ошибки — но после
# недели трафика `total` по-прежнему `0.0`. Почините его: `total` должен накапливать стоимость **всех**
# успешных вызовов — `completion`, `acompletion` и потоковых ответов обоих видов.
#
# LiteLLM глотает исключения, которые бросают колбэки, поэтому ошибок вы не увидите — только `0.0`.
# Проверка вызывает методы вашего класса так же, как LiteLLM, называет, что сломалось, а потом делает
# вызовы четырёх видов и сравнивает `total` со счётом провайдера.

# %%
class SpendCounter(CustomLogger):
    """Сколько сервис потратил на LLM, в долларах."""

    def __init__(self):
        super().__init__()
        self.total = 0.0

    def log_success_event(self, kw, response, start, end):
        self.total += litellm.completion_cost(completion_response=response)


# %%
check("06.1", SpendCounter)

# %% [markdown]
# Подсказки: `hint("06.1")`, `hint("06.1", 2)`. Решение — в конце урока и в `solution("06.1")`.
#
# ## 6.3 Под нагрузкой: «проверить расход, потом вызвать»
#
# Теперь сервис знает, сколько потратил. Ограничим расход: перед вызовом сравним потраченное с лимитом,
# после вызова прибавим стоимость. Так обычно и пишут:

# %%
class NaiveBudget:
    """«Проверить расход → вызвать → прибавить стоимость»."""

    def __init__(self, limit: float):
        self.limit, self.spent = limit, 0.0

    async def ask(self, messages):
        if self.spent >= self.limit:
            raise litellm.BudgetExceededError(current_cost=self.spent, max_budget=self.limit)
        r = await litellm.acompletion(model=GPT4O, messages=messages, max_tokens=100)
        self.spent += r._hidden_params["response_cost"]
        return r


LIMIT = 0.003  # около трёх вызовов gpt-4o с рассказом

# %% [markdown]
# Вызов стоит \$0.0010275, лимит \$0.003. Пока запросы идут по одному, эта защита остановит сервис
# после третьего. Но у сервиса 20 пользователей, и они спрашивают одновременно.

# %%
predict("06.p3")

# %%
course.provider.set_latency_scale(0)  # проверка задания вернула провайдеру обычные задержки
naive = NaiveBudget(LIMIT)
with course.practice():
    before = billed()
    results = await asyncio.gather(*(naive.ask(STORY) for _ in range(20)), return_exceptions=True)
    spent = billed() - before
ok = sum(not isinstance(r, Exception) for r in results)
print(f"прошло {ok} из 20; потрачено ${spent:.6f} при лимите ${LIMIT}")
reveal("06.p3", ok)

# %% [markdown]
# ## 6.4 Резерв до вызова: `BudgetGuard`
#
# Защита из `course_helpers.budget` — `BudgetGuard` — считает и деньги в пути. **Перед** вызовом она
# резервирует максимальную стоимость запроса — токены запроса × цена входа + `max_tokens` × цена выхода —
# с запасом `margin` (по умолчанию 25 %, зачем он — в 6.5). Проверка учитывает и потраченное, и
# зарезервированное. **После** ответа резерв заменяется тем, что списал провайдер (`response_cost`).
# Проверка и резерв идут под одной блокировкой и без `await` между ними: ни поток, ни другая задача
# asyncio не вклинится.
#
# Вызов через защиту — те же аргументы, что у `litellm.acompletion`; резерв считается по ним же, так что
# оценка и вызов не разойдутся:
#
# ```python
# guard = BudgetGuard(limit=0.003)
# r = await guard.acompletion(model=GPT4O, messages=STORY, max_tokens=100)   # или guard.completion(...)
# ```
#
# Под капотом это блок `reserve` — его можно написать и самому:
#
# ```python
# with guard.reserve(GPT4O, STORY, max_tokens=100) as hold:  # BudgetExceeded, если не помещается
#     r = await litellm.acompletion(model=GPT4O, messages=STORY, max_tokens=100)
#     hold.settle(r)  # резерв → списанная стоимость
# ```
#
# Без `max_tokens` защита вызов не пропустит: цена ответа ничем не ограничена. Если вызов оборвался —
# таймаут, обрыв связи, 429 или 5xx, отмена задачи, ошибка в вашем коде после ответа, — резерв остаётся
# списанным: провайдер мог вызов уже посчитать. В бюджет он возвращается, только если ошибка доказывает,
# что счёта не было (отказ 400, 401, 402, 403, 404, 413, 422). Потоковый ответ рассчитывается, когда
# стрим дочитан до конца.
#
# Те же 20 одновременных запросов:

# %%
guard = BudgetGuard(limit=LIMIT)
with course.practice():
    before = billed()
    results = await asyncio.gather(*(guard.acompletion(model=GPT4O, messages=STORY, max_tokens=100)
                                     for _ in range(20)), return_exceptions=True)
    spent = billed() - before
ok = sum(not isinstance(r, Exception) for r in results)
print(f"резерв на вызов: ${guard.reservation(GPT4O, STORY, 100):.7f} (максимум ${max_cost(GPT4O, STORY, 100):.7f} "
      f"+ запас {guard.margin:.0%})")
print(f"прошло {ok}, отказано {20 - ok}; потрачено ${spent:.6f} из ${LIMIT}; защита насчитала ${guard.spent():.6f}")
refusal = next(r for r in results if isinstance(r, Exception))
print(type(refusal).__name__, "| это BudgetExceededError:", isinstance(refusal, litellm.BudgetExceededError))
print(refusal)

# %% [markdown]
# Прошли два запроса: третий резерв с запасом в лимит уже не помещался. Цена надёжности — недобор:
# защита резервирует максимум с запасом, а тратится меньше.
#
# > **Исходный урок говорит:** `except litellm.exceptions.BudgetExceededError: print("Превышен
# > установленный бюджет")`. **На деле** с `max_budget` эта ветка не выполнится никогда. Отказ
# > `BudgetGuard` — `BudgetExceeded`, подкласс `BudgetExceededError`, — и тот же `except` наконец ловит
# > настоящий отказ.
#
# > **Важно:** здесь оценка защиты совпадает со счётом по построению — она считает тем же токенизатором
# > и по той же таблице цен, что и практический провайдер. Онлайн это не так: у Claude, Llama и Gemini свои
# > токенизаторы, цены меняются, а защита живёт в одном процессе. Первое закрывает запас (6.5),
# > последнее — лимит ключа у провайдера (6.6).
#
# Попробуйте сами: панель шлёт запросы к `gpt-4o` через `BudgetGuard` (запас по умолчанию) по 8
# одновременно. Повторное нажатие продолжает тратить тот же бюджет, ползунок меняет лимит, «Сбросить»
# начинает с нуля.

# %%
from course_helpers.panels.budgets import BudgetPanel

panel = BudgetPanel(course.provider, budget=0.005, requests=8)
panel.widget

# %% [markdown]
# Кнопка вызывает `panel.run()`; из кода — то же самое:

# %%
course.provider.set_latency_scale(0.05)  # ответы — десятки миллисекунд: 8 запросов в пути одновременно
print(panel.run())
course.provider.set_latency_scale(0)

# %% [markdown]
# ## 6.5 Запас: когда оценка ошибается
#
# Сделаем оценку неточной, как онлайн. Защита считает токены токенизатором GPT-4o (`o200k_base`) —
# будто у всех моделей он один, — а запросы идут к `claude-3.5-sonnet`, которого практический провайдер
# считает другим токенизатором (`cl100k_base`). Русский текст второй режет на заметно большее число
# токенов. 30 одновременных запросов, лимит \$0.006 — без запаса и с запасом по умолчанию;
# `guard.overruns` — сколько вызовов обошлись дороже своего резерва.

# %%
import functools

gpt4o_estimate = functools.partial(max_cost, encoding="o200k_base")  # «все модели считают, как GPT-4o»
REPORT = "Кратко перескажи отчёт о расходах на языковые модели за квартал. "
REQUESTS = [[{"role": "user", "content": f"Заявка {i}: " + REPORT * (i % 5 + 1)}] for i in range(30)]

with course.practice():
    for margin in (0.0, DEFAULT_MARGIN):
        sonnet_guard = BudgetGuard(limit=0.006, margin=margin, estimate=gpt4o_estimate)
        before = billed()
        results = await asyncio.gather(*(sonnet_guard.acompletion(model=SONNET, messages=m, max_tokens=40)
                                         for m in REQUESTS), return_exceptions=True)
        spent = billed() - before
        ok = sum(not isinstance(r, Exception) for r in results)
        print(f"запас {margin:.0%}: прошло {ok}, потрачено ${spent:.6f} из $0.006 — в пределах лимита: "
              f"{spent <= 0.006} | дороже резерва: {sonnet_guard.overruns}")

# %% [markdown]
# Без запаса каждый вызов обошёлся дороже своего резерва, и расход вышел за лимит; запас 25 % здесь
# удержал лимит. Но хватит ли его на вашем трафике — не угадать, это меряют.
#
# ### Задание 6.2 · замер. Какой запас нужен
#
# На Sonnet переезжает трафик поддержки. Защита сервиса по-прежнему оценивает запросы токенизатором
# GPT-4o: `gpt4o_estimate(SONNET, messages, 40)` (это `max_cost(..., encoding="o200k_base")`). Напишите
# `measure_margin(requests)`:
#
# - отправьте каждый запрос из `requests` (список списков сообщений) к `SONNET` с `max_tokens=40`;
# - сравните, сколько списано (`response_cost`), с оценкой защиты для того же запроса;
# - верните запас, который нужен защите: на сколько счёт **в худшем случае** выше оценки, долей
#   (`0.2` — это +20 %).
#
# Проверка отправит через вашу функцию свой трафик и сверит ответ с журналом провайдера.

# %%
def measure_margin(requests):
    # ваш код здесь
    raise NotImplementedError


# %%
check("06.2", measure_margin)

# %% [markdown]
# Подсказки: `hint("06.2")`, `hint("06.2", 2)`. Решение — в конце урока и в `solution("06.2")`.
#
# ## 6.6 Несколько процессов и лимит ключа
#
# `BudgetGuard` живёт в памяти своего процесса. Но сервис обычно работает в нескольких процессах
# (воркеры веб-сервера, машины). Четыре воркера — как четыре процесса — шлют запросы волнами, по
# одному от каждого одновременно, у каждого своя `BudgetGuard(limit=0.004)`. Ключ у них общий.

# %%
async def worker_call(own_guard: BudgetGuard, key: str) -> str:
    """Один запрос воркера через его защиту: ok, отказ защиты или ошибка провайдера."""
    try:
        await own_guard.acompletion(model=GPT4O, messages=STORY, max_tokens=100, api_key=key)
        return "ok"
    except BudgetExceeded:
        return "отказ защиты"
    except litellm.APIError as e:  # например, 402: лимит ключа исчерпан
        return f"{type(e).__name__} {e.status_code}"


async def four_workers(key: str) -> None:
    """4 воркера, у каждого своя защита; 4 волны по 4 одновременных запроса."""
    guards = [BudgetGuard(limit=0.004) for _ in range(4)]
    for wave in range(1, 5):
        print(f"  волна {wave}:", await asyncio.gather(*(worker_call(g, key) for g in guards)))


# %%
predict("06.p4")

# %%
course.provider.set_latency_scale(0)  # проверка задания вернула провайдеру обычные задержки
with course.practice():  # ключи с лимитами — у практического провайдера
    free_key = course.provider.create_key("4 воркера, без лимита")
    await four_workers(free_key)
    usage = course.provider.key_info(free_key)["data"]["usage"]
print(f"потрачено ${usage:.6f} — {usage / 0.004:.1f} бюджета одного воркера")
reveal("06.p4", usage)

# %% [markdown]
# Гарантия, которая не зависит ни от оценки, ни от числа процессов, есть у самого провайдера. OpenRouter
# позволяет задать ключу **кредитный лимит** (в настройках ключей или через API управления ключами, поле
# `limit`): когда расход по ключу доходит до лимита, вызовы с ним получают **402** («Insufficient
# credits»), а `GET /api/v1/key` показывает `limit`, `usage` и `limit_remaining`. Лимит проверяется
# **до** вызова, а списание идёт **после** ответа. У практического провайдера так же:
# `course.provider.create_key(имя, limit)` и `course.provider.key_info(ключ)`.
#
# Те же четыре воркера с общим ключом, у которого лимит \$0.005. Ответы чуть задержим, чтобы запросы
# одной волны действительно были в пути одновременно, как в жизни.

# %%
with course.practice():
    course.provider.set_latency_scale(0.02)  # ответ — десятки миллисекунд: волна уходит целиком
    capped_key = course.provider.create_key("4 воркера, общий лимит", limit=0.005)
    await four_workers(capped_key)
    info = course.provider.key_info(capped_key)["data"]
    course.provider.set_latency_scale(0)
print(f"GET /api/v1/key: limit ${info['limit']}, usage ${info['usage']:.6f}, limit_remaining ${info['limit_remaining']}")
print(f"сверх лимита ${info['usage'] - info['limit']:.6f} — меньше, чем 4 вызова в пути (4 × $0.0010275): "
      f"{info['usage'] - info['limit'] < 4 * 0.0010275}")

# %% [markdown]
# Общий лимит остановил всех: после него — `APIError` со `status_code` 402. Но вторая волна ушла, когда
# до лимита ещё оставалось (\$0.0041 из \$0.005), и прошла целиком: сверх лимита прошли запросы, которые
# были в пути. Это и есть жёсткая граница: её держит провайдер, а не ваш процесс, и перерасход не больше
# того, что может быть в пути одновременно.
#
# > **Осторожно:** 402 — обычный `litellm.APIError`, не `BudgetExceededError`. `num_retries` его
# > повторяет, хотя повтор не поможет, а резервная модель с тем же ключом получит тот же 402.
#
# ### Задание 6.3 · решение. Бюджет дня для нескольких процессов
#
# Сервис работает в `processes` процессах, в каждом — до `callers` одновременных запросов, и каждый
# запрос стоит не больше `call_usd`. Бюджет дня — `day_usd`. Требования:
#
# 1. Счёт ключа за день **никогда** не больше `day_usd` — даже если процессы перезапустятся (защита
#    перезапущенного процесса начинает с нуля).
# 2. Пока процессы не перезапускались, пользователи получают понятный отказ защиты (`BudgetExceeded`), а
#    не 402 от провайдера.
# 3. Бюджет не простаивает: до перезапусков потрачено не меньше половины `day_usd`.
#
# Напишите `budget_plan(day_usd, processes, callers, call_usd)`, которая возвращает
# `(guard_limit, key_limit)`: лимит `BudgetGuard` в каждом процессе (запас по умолчанию, 25 %) и
# кредитный лимит ключа. Например, для 3 процессов по 4 запроса к `gpt-4o` с рассказом и бюджета \$0.05 —
# `budget_plan(0.05, 3, 4, 0.0010275)`. Проверка создаст ключ с вашим лимитом, запустит процессы с вашими
# защитами — волнами по `callers` одновременных запросов, — потом «перезапустит» их и сверит счёт ключа.
# Числа в проверке другие.

# %%
def budget_plan(day_usd, processes, callers, call_usd):
    guard_limit = ...  # лимит BudgetGuard в каждом процессе, $
    key_limit = ...  # кредитный лимит ключа у провайдера, $
    return guard_limit, key_limit


# %%
check("06.3", budget_plan)

# %% [markdown]
# Подсказки: `hint("06.3")`, `hint("06.3", 2)`. Решение — в конце урока и в `solution("06.3")`.
#
# ## Тест

# %%
quiz("06")

# %% [markdown]
# ## Итоги
#
# - `litellm.max_budget` из исходного урока **ничего не ограничивает**: счётчик `_current_cost` не растёт
#   для chat completion, `acompletion` и стримов.
# - Стоимость вызова — `kwargs["response_cost"]` (для `openrouter/` это `usage.cost`, счёт провайдера);
#   попадание в кэш стоит `0.0` и приходит с `cache_hit=True`. Счётчик — `CustomLogger` с двумя методами,
#   `log_success_event` и `async_log_success_event`, параметры ровно `kwargs, response_obj, start_time,
#   end_time`. LiteLLM глотает исключения колбэков: ошибка в счётчике выглядит как `0.0`.
# - «Проверить, потом вызвать» под одновременной нагрузкой пропускает всех. Держит резерв до вызова:
#   `BudgetGuard` резервирует максимум с запасом и рассчитывается по счёту после ответа.
# - Запас покрывает ошибку оценки (другой токенизатор, новые цены), только пока она меньше запаса: его
#   меряют на своём трафике — худший вызов, не средний.
# - У каждого процесса своя защита: N процессов — до N бюджетов. Жёсткая граница — кредитный лимит
#   ключа у провайдера (402), за вычетом того, что может быть в пути.
#
# ### Рецепт
#
# ```python
# import litellm
# from litellm.integrations.custom_logger import CustomLogger
# from course_helpers.budget import BudgetGuard
#
# class SpendCounter(CustomLogger):            # сколько потрачено: все вызовы процесса
#     def __init__(self):
#         super().__init__()
#         self.total = 0.0
#     def log_success_event(self, kwargs, response_obj, start_time, end_time):
#         self.total += kwargs.get("response_cost") or 0.0
#     async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
#         self.total += kwargs.get("response_cost") or 0.0
#
# litellm.callbacks = [SpendCounter()]
#
# # не больше бюджета в этом процессе: понятный отказ BudgetExceeded до отправки
# guard = BudgetGuard(limit=5.0, per_user=0.5, per_day=1.0)   # запас margin=0.25 — проверьте замером
# r = await guard.acompletion(model="openrouter/openai/gpt-4o", messages=messages, max_tokens=300, user="alice")
#
# # и жёсткая граница у провайдера: кредитный лимит ключа =
# #   бюджет − процессы × одновременные запросы × максимум одного вызова
# ```
#
# ### Документация
#
# - [Custom Callbacks (CustomLogger)](https://docs.litellm.ai/docs/observability/custom_callback) — колбэки LiteLLM.
# - [Budget Manager](https://docs.litellm.ai/docs/budget_manager) — `max_budget` и `BudgetManager` (их пределы — в этом уроке).
# - [Budget Routing](https://docs.litellm.ai/docs/proxy/provider_budget_routing) — бюджеты `Router` и прокси.
# - [OpenRouter: Limits](https://openrouter.ai/docs/api-reference/limits) — кредитные лимиты ключей, 402, `GET /api/v1/key`.
#
# ## Для любопытных
#
# ### Проверка `max_budget` исправна — если счётчик выставить руками
#
# Сама проверка перед вызовом работает. `litellm._current_cost` — приватная переменная, в продакшене
# так делать не стоит:

# %%
course.provider.set_latency_scale(0)  # проверка задания вернула провайдеру обычные задержки
litellm.max_budget, litellm._current_cost = 0.002, 0.0025  # вручную, в обход LiteLLM
with course.practice():
    requests_before = course.provider.requests()
    try:
        litellm.completion(model=GPT4O, messages=STORY, max_tokens=100)
    except litellm.BudgetExceededError as e:
        print(type(e).__name__, "|", e)
    print("запрос дошёл до провайдера:", course.provider.requests() > requests_before)
litellm.max_budget, litellm._current_cost = 0.0, 0.0  # как было

# %% [markdown]
# ### Ловушки колбэков
#
# **Потоковый ответ без `stream_options`: всё зависит от пути.** OpenRouter присылает `usage` со
# стоимостью в последнем сообщении **каждого** стрима (`usage: {include: true}` и `stream_options` у него
# устарели; LiteLLM 1.108.14 по-прежнему отправляет `usage.include=true`). OpenAI (путь `openai/`)
# присылает `usage` только по `stream_options={"include_usage": True}`, а стоимость считает LiteLLM по
# своей карте цен. Стоимость стрима можно собрать и из кусков: `litellm.stream_chunk_builder(chunks)`.

# %%
class StreamCost(CustomLogger):
    def __init__(self):
        super().__init__()
        self.costs = []

    def log_success_event(self, kwargs, response_obj, start_time, end_time):
        self.costs.append(kwargs.get("response_cost"))


def usd(value) -> str:
    return "нет" if value is None else f"${value:.8f}"


saved_callbacks = save_callbacks()
stream_cost = StreamCost()
litellm.callbacks = [stream_cost]
with course.practice():
    for model in (MINI, "openai/gpt-4o-mini"):
        seen = len(stream_cost.costs)
        chunks = list(litellm.completion(model=model, messages=Q, stream=True))  # без stream_options
        await wait_until(lambda: len(stream_cost.costs) > seen)
        print(f"{model}: провайдер списал {usd(course.provider.log()[-1]['cost'])}")
        print(f"    response_cost в колбэке: {usd(stream_cost.costs[-1])}")
        print(f"    usage в кусках стрима: {any(hasattr(c, 'usage') for c in chunks)}")
        print(f"    stream_chunk_builder(chunks).usage.cost: "
              f"{usd(getattr(litellm.stream_chunk_builder(chunks).usage, 'cost', None))}")
restore_callbacks(saved_callbacks)

# %% [markdown]
# На пути `openrouter/` колбэк получил ровно счёт провайдера, хотя в куски, которые видит ваш цикл,
# LiteLLM без `include_usage` `usage` не кладёт. На пути `openai/` — **молча `0.0`**, хотя деньги
# списаны. Поэтому передавайте `stream_options={"include_usage": True}` всегда: на обоих путях `usage`
# придёт в последнем куске, а колбэк получит стоимость.
#
# **Функции-колбэки вместо `CustomLogger`.** Функция в `litellm.success_callback` вызывается на
# **каждый кусок** стрима с `response_cost=None` и только в конце — со стоимостью (при сложении
# пропускайте `None`); для `acompletion` синхронная функция не вызывается вовсе (нужна `async def`).
# И главное: LiteLLM подключает функции-колбэки один раз на процесс, при первом вызове, у которого
# вообще есть колбэки. В этом ядре такие вызовы уже были (6.2), поэтому функция, добавленная сейчас, не
# будет вызвана **никогда**. `CustomLogger` этим не страдает.

# %%
seen_costs = []


def on_success(kwargs, completion_response, start_time, end_time):
    seen_costs.append(kwargs.get("response_cost"))


saved_callbacks = save_callbacks()
litellm.success_callback.append(on_success)  # после первых вызовов с колбэками
litellm.completion(model=MINI, messages=Q)
for _ in litellm.completion(model=MINI, messages=Q, stream=True, stream_options={"include_usage": True}):
    pass
await asyncio.sleep(0.3)  # колбэки идут в фоне: дадим им время
print("функция, добавленная после первых вызовов с колбэками, вызвана:", len(seen_costs), "раз")
restore_callbacks(saved_callbacks)

# %% [markdown]
# **Имена параметров.** С другими именами, чем `kwargs, response_obj, start_time, end_time`, синхронный
# метод `CustomLogger` LiteLLM молча пропускает, а асинхронный падает с `TypeError`, который LiteLLM
# глотает (задание 6.1). **Модель без цены:** если LiteLLM не знает цены модели (например,
# `openai/anthropic/claude-3-haiku`: путь OpenAI стоимость не присылает, а в карте цен LiteLLM такой
# модели нет), `response_cost` равен `None` — пропускайте его, а не считайте нулём.
#
# **Скрипты с `asyncio.run`.** Асинхронные колбэки выполняются в фоне, в том же цикле событий. В скрипте
# событие последнего вызова может не успеть обработаться до выхода из `asyncio.run(main())`. Оно не
# теряется: LiteLLM доставит его в **следующем** цикле — тем колбэкам, которые будут зарегистрированы к
# тому времени (чужой счётчик получит чужой расход). В Jupyter цикл один, и этой проблемы нет. В скрипте
# дождитесь колбэков до выхода из `main()`: `await GLOBAL_LOGGING_WORKER.flush()` из
# `litellm.litellm_core_utils.logging_worker` (внутренний API LiteLLM, проверено на 1.108.14).
#
# ### `litellm.BudgetManager`
#
# В LiteLLM есть класс `BudgetManager`: бюджеты по пользователям с сохранением в файл `./user_cost.json`
# — **в текущей папке**. Чтобы файл не появился рядом с ноутбуком, переходим в папку урока
# (`contextlib.chdir`) и пишем файл синхронно (`save_data()`) внутри блока.

# %%
import contextlib
from pathlib import Path

from litellm import BudgetManager

bm_dir = course.fresh_dir("budget_manager")
with contextlib.chdir(bm_dir), course.practice():
    bm = BudgetManager(project_name="course")
    bm.create_budget(total_budget=0.00001, user="alice")  # меньше одного запроса
    try:
        bm.projected_cost(model=MINI, messages=Q, user="alice")
    except Exception as e:
        print("projected_cost:", type(e).__name__)
    r = litellm.completion(model=MINI, messages=Q, user="alice")  # BudgetManager вызов не остановил
    print(f"запрос alice прошёл, стоимость ${r._hidden_params['response_cost']:.8f}")
    try:
        bm.update_cost(user="alice", completion_obj=r)
    except Exception as e:
        print("update_cost:", type(e).__name__, "—", str(e).split(". Add it")[0])
    print("get_current_cost('alice') =", bm.get_current_cost("alice"))
    bm.save_data()
print("файлы в папке урока:", sorted(p.name for p in bm_dir.iterdir()))
print("user_cost.json рядом с ноутбуком:", Path("user_cost.json").exists())

# %% [markdown]
# На 1.108.14 `BudgetManager` бесполезен для моделей OpenRouter: `update_cost` и `projected_cost` зовут
# `litellm.completion_cost`, а у `openrouter/*` нет цен в карте LiteLLM (`ModelNotMappedError`), и расход
# так и остаётся `0`. Он **никогда не блокирует вызов** — сравнивать `get_current_cost(user)` с
# `get_total_budget(user)` перед каждым запросом нужно самому. В 1.110.2 `update_cost` научился брать
# `usage.cost`, но блокировать так и не стал. `create_budget(..., duration=...)` и `update_cost` пишут файл
# в фоновом потоке — в ту папку, которая будет текущей в момент записи.
#
# ### Бюджеты `Router`
#
# У `Router` есть настоящие бюджеты: `max_budget` + `budget_duration` у развёртывания и
# `provider_budget_config` на провайдера целиком. Их проверяет колбэк `RouterBudgetLimiting`, и у него
# два условия: **только асинхронные вызовы** и **`Router` создаётся внутри работающего цикла событий**
# (он запускает фоновую задачу `asyncio.create_task`). Вне цикла — например, в обычном скрипте до
# `asyncio.run` — создание падает:

# %%
import gc
import threading
import warnings

from litellm import Router


def deployment(name: str, **budget) -> dict:
    """Развёртывание gpt-4o на практическом провайдере (name — путь /d1, /d2...)."""
    return {"model_name": "story", "litellm_params": {
        "model": GPT4O, "api_base": course.provider.api_base("openrouter", deployment=name),
        "api_key": course.provider.key, "max_tokens": 100, **budget}}


def build_outside_a_loop() -> None:
    with warnings.catch_warnings():  # корутина, которую Router не успел запустить, — не наша ошибка
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            Router(model_list=[deployment("d0", max_budget=1.0, budget_duration="1d")])
        except RuntimeError as e:
            print("RuntimeError:", e)
        gc.collect()


outside = threading.Thread(target=build_outside_a_loop)  # в этом потоке нет цикла событий
outside.start()
outside.join()

# %% [markdown]
# В Jupyter цикл ядра уже работает, поэтому `Router(...)` в ячейке создаётся, а вызовы делаем через
# `await router.acompletion(...)`. Развёртывание `d1` получает бюджет \$0.003 в сутки; вызов стоит
# \$0.0010275. `num_retries=0`: иначе Router повторяет отказ по бюджету со своими паузами, и каждый отказ
# занимает несколько секунд.

# %%
async def ask_router(router, n: int) -> list[str]:
    """n вызовов подряд с паузой: ok или класс исключения."""
    outcomes = []
    for _ in range(n):
        try:
            await router.acompletion(model="story", messages=STORY)
            outcomes.append("ok")
        except ValueError as e:
            outcomes.append(type(e).__name__)
            last_error[0] = e
        await asyncio.sleep(0.05)  # LiteLLM записывает расход в фоне, после ответа
    return outcomes


def spend_on(name: str) -> float:
    return course.provider.stats()["by_deployment"].get(name, {}).get("cost", 0.0)


saved_callbacks = save_callbacks()  # Router-бюджеты регистрируют глобальный колбэк: потом уберём
last_error = [None]
router = Router(model_list=[deployment("d1", max_budget=0.003, budget_duration="1d")], num_retries=0)
with course.practice():
    print(await ask_router(router, 5))
    print(f"d1 потратил ${spend_on('d1'):.7f} при бюджете $0.003 — перерасход ${spend_on('d1') - 0.003:.7f}")
message = str(last_error[0])
print(type(last_error[0]).__module__, type(last_error[0]).__name__, "|", message.split(", litellm_params")[0])
print("…конец сообщения:", message.strip().rsplit(": ", 1)[-1])

# %% [markdown]
# Отказ — **`builtins.ValueError`**, не `BudgetExceededError`, и в конце сообщения стоит период (`>= 1d`),
# а не лимит. Проверка идёт **до** вызова по уже записанному расходу, поэтому третий вызов прошёл, хотя
# увёл расход за лимит: **перерасход — около одного вызова**.
#
# Расход хранится **на процесс**, а не на объект `Router`: новый роутер с тем же развёртыванием сразу
# получает отказ. А бюджет **второго** роутера на другом развёртывании не работает вовсе: LiteLLM не
# добавляет второй `RouterBudgetLimiting` в `litellm.callbacks`, пока там есть первый.

# %%
router_again = Router(model_list=[deployment("d1", max_budget=0.003, budget_duration="1d")], num_retries=0)
print("новый Router, тот же d1:", await ask_router(router_again, 2))
router_d3 = Router(model_list=[deployment("d3", max_budget=0.003, budget_duration="1d")], num_retries=0)
with course.practice():
    print("новый Router, d3 с бюджетом $0.003:", await ask_router(router_d3, 5))
    print(f"d3 потратил ${spend_on('d3'):.7f}")

# %% [markdown]
# Уберём колбэк первого роутера — и бюджет на провайдера в новом роутере заработает. Но только для
# `acompletion`: синхронный `router.completion` бюджет не проверяет. И главное: **под одновременной
# нагрузкой бюджет Router не держит** — 20 запросов проходят проверку раньше, чем записан расход первого.

# %%
restore_callbacks(saved_callbacks)
provider_router = Router(model_list=[deployment("d4")], num_retries=0,
                         provider_budget_config={"openrouter": {"budget_limit": 0.003, "time_period": "1d"}})
with course.practice():
    print("provider_budget_config, acompletion:", await ask_router(provider_router, 5))
    provider_router.completion(model="story", messages=STORY)
    print("тот же роутер, синхронный completion: прошёл")
restore_callbacks(saved_callbacks)

burst_router = Router(model_list=[deployment("d5", max_budget=0.003, budget_duration="1d")], num_retries=0)
with course.practice():
    results = await asyncio.gather(*(burst_router.acompletion(model="story", messages=STORY) for _ in range(20)),
                                   return_exceptions=True)
    print("20 одновременных запросов, бюджет $0.003: прошло", sum(not isinstance(r, Exception) for r in results))
    print(f"d5 потратил ${spend_on('d5'):.7f}")
restore_callbacks(saved_callbacks)  # убираем колбэки всех роутеров этого раздела

# %% [markdown]
# ### Бюджеты на пользователя и на день
#
# `BudgetGuard` держит несколько «копилок» сразу: общий лимит, `per_user` (один лимит на всех или словарь
# `{пользователь: лимит}`) и `per_day`. Пользователь — аргумент `user` вызова. День берётся из `today()`
# (по умолчанию дата UTC); здесь подставим свои часы, чтобы перелистнуть сутки.

# %%
clock = {"today": "2025-06-01"}
team = BudgetGuard(limit=0.01, per_user={"alice": 0.0025, "bob": 0.005}, per_day=0.004,
                   today=lambda: clock["today"])


async def ask_as(user: str) -> str:
    try:
        await team.acompletion(model=GPT4O, messages=STORY, max_tokens=100, user=user)
        return f"{user}: ok"
    except BudgetExceeded as e:
        return f"{user}: отказ — {e}"


with course.practice():
    for user in ["alice", "alice", "alice", "bob", "bob"]:
        print(await ask_as(user))
    clock["today"] = "2025-06-02"  # наступили новые сутки
    print(await ask_as("bob"))
print(f"alice ${team.spent(user='alice'):.6f}, bob ${team.spent(user='bob'):.6f}, "
      f"1 июня ${team.spent(day='2025-06-01'):.6f}, всего ${team.spent():.6f}")

# %% [markdown]
# ### Расход во времени
#
# 20 запросов разного размера, по одному каждые 10 мс, — без защиты и через `BudgetGuard` с лимитом
# \$0.004. Время и стоимость каждого запроса берём из журнала провайдера. Запас здесь нулевой
# (`margin=0`): на практическом провайдере оценка равна счёту, и линия упрётся в сам лимит.

# %%
import random

import matplotlib.pyplot as plt

rng = random.Random(60)  # seed: тот же поток запросов при каждом запуске
FLOW = [([{"role": "user", "content": f"Запрос {i}: " + "объясни подробно. " * rng.randint(1, 8)}],
         rng.randint(10, 40)) for i in range(20)]


async def traffic(flow_guard):
    """Поток запросов; возвращает записи журнала провайдера за этот прогон."""
    first = len(course.provider.log())

    async def one(i, messages, max_tokens):
        await asyncio.sleep(i * 0.01)
        call = litellm.acompletion if flow_guard is None else flow_guard.acompletion
        return await call(model=GPT4O, messages=messages, max_tokens=max_tokens)

    await asyncio.gather(*(one(i, m, t) for i, (m, t) in enumerate(FLOW)), return_exceptions=True)
    return course.provider.log()[first:]


def cumulative(entries):
    start, total, xs, ys = entries[0]["t"], 0.0, [], []
    for e in sorted(entries, key=lambda e: e["t"]):
        total += e.get("cost", 0.0)
        xs.append(e["t"] - start)
        ys.append(total)
    return xs, ys


flow_guard = BudgetGuard(limit=0.004, margin=0)
with course.practice():
    free_log = await traffic(None)
    guarded_log = await traffic(flow_guard)

fig, ax = plt.subplots(figsize=(8, 3.5))
for entries, label, color in ((free_log, "без защиты", "#cf222e"), (guarded_log, "BudgetGuard", "#2da44e")):
    xs, ys = cumulative(entries)
    ax.step(xs, ys, where="post", label=f"{label}: {len(entries)} запросов", color=color)
ax.axhline(0.004, color="black", linestyle="--", label="лимит $0.004")
ax.set_xlabel("время от первого запроса, с")
ax.set_ylabel("накопленный расход, $")
ax.set_title("Расход по журналу провайдера")
ax.legend()
plt.show()
print(f"без защиты: ${sum(e['cost'] for e in free_log):.6f}; BudgetGuard: ${sum(e['cost'] for e in guarded_log):.6f}, "
      f"отказано {flow_guard.refused} из {len(FLOW)}")

# %% [markdown]
# ### Сколько стоил бы этот урок онлайн
#
# Практический провайдер считает `usage.cost` по настоящим ценам моделей на `PRICES_AS_OF`. Его
# статистика показывает, сколько трафик урока с последнего сброса провайдера (каждая проверка задания
# начинает с чистого счёта) стоил бы в OpenRouter на ту дату.

# %%
from course_helpers.practice_data import MODELS, PRICES_AS_OF

with course.practice():
    stats = course.provider.stats()
print(f"Цены на {PRICES_AS_OF}. Запросов: {stats['requests']}")
for model, s in stats["by_model"].items():
    print(f"  {model:28} запросов {s['requests']:4}  токенов {s['prompt_tokens']:6} + {s['completion_tokens']:6}  "
          f"${s['cost']:.6f}")
print(f"Итого ${stats['cost']:.4f}")

# что, если бы весь этот трафик шёл через одну модель?
what_if = {name: (stats["prompt_tokens"] * spec.input_per_m + stats["completion_tokens"] * spec.output_per_m) / 1e6
           for name, spec in MODELS.items()}
fig, ax = plt.subplots(figsize=(8, 3.5))
ax.barh(list(what_if), list(what_if.values()), color="#0969da")
ax.set_xscale("log")
ax.set_xlabel("стоимость того же трафика, $ (логарифмическая шкала)")
ax.set_title(f"Те же токены по ценам разных моделей (на {PRICES_AS_OF})")
plt.show()
print(f"Самая дешёвая: {min(what_if, key=what_if.get)}, самая дорогая: {max(what_if, key=what_if.get)} "
      f"— разница ×{max(what_if.values()) / min(what_if.values()):.0f}")

# %% [markdown]
# Модель важнее любых оптимизаций: те же токены на `claude-3.5-sonnet` стоят в сотни раз больше, чем на
# `llama-3.1-8b-instruct`.

# %%
progress("06")

# %% [markdown] tags=["solutions"]
