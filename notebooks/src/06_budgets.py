# %% [markdown]
# # Урок 06. Бюджеты и расходы
#
# Счёт за LLM растёт незаметно: один цикл без ограничения — и вместо центов доллары. Исходный
# урок предлагает одну строку `litellm.max_budget = 10.0`. Здесь мы проверим её вживую, разберём,
# что в LiteLLM 1.108.14 действительно считает деньги, и соберём бюджет, который выдерживает
# 50 одновременных запросов.
#
# **В этом уроке вы:**
# - увидите, что `litellm.max_budget` из исходного урока ничего не ограничивает, и поймёте почему;
# - научитесь брать стоимость вызова из `kwargs["response_cost"]` в `CustomLogger` — для sync, async,
#   стримов и попаданий в кэш — и узнаете три ловушки колбэков;
# - проверите `litellm.BudgetManager` и бюджеты `Router` (`max_budget` развёртывания,
#   `provider_budget_config`) и их пределы;
# - построите защиту, которая резервирует максимальную стоимость (с запасом) до вызова, проверите
#   замером, где она держит под нагрузкой, а где нет, и поставите жёсткую границу — кредитный лимит
#   ключа у провайдера;
# - посмотрите на расход во времени и посчитаете, сколько стоил бы этот урок онлайн.
#
# ⏱ **Время:** 50 минут.

# %%
from course_helpers import start_lesson

course = start_lesson("06")

# %% [markdown]
# ## 6.1 `litellm.max_budget`: как учит исходный урок
#
# Исходный урок обещает: установите `litellm.max_budget`, и при превышении LiteLLM бросит
# `BudgetExceededError`. Запустим его код как есть (модель `gpt-4o`, длинный рассказ).

# %%
import litellm

# Установка максимального бюджета — ровно как в исходном уроке
litellm.max_budget = 10.0  # В долларах

try:
    response = litellm.completion(
        model="openrouter/openai/gpt-4o",
        messages=[{"role": "user", "content": "Напиши длинный рассказ"}],
    )
    print(f"Ответ получен, стоимость ${response._hidden_params['response_cost']:.6f}")
except litellm.exceptions.BudgetExceededError:
    print("Превышен установленный бюджет")

# %% [markdown]
# До \$10 далеко, так что это ничего не доказывает. Поставим бюджет \$0.002 — это меньше, чем стоят два
# таких запроса, — и сделаем несколько вызовов: синхронных, асинхронный и стрим. В Jupyter `await` работает прямо в
# ячейке: цикл событий ядра уже запущен.
#
# Сколько списано на самом деле, покажет статистика практического провайдера. Такие опыты идут в блоке
# `with course.practice():` — офлайн он ничего не меняет, а в онлайн-режиме направляет вызовы блока на
# практический провайдер (статистика есть только у него) и пишет об этом строку.

# %%
GPT4O = "openrouter/openai/gpt-4o"
STORY = [{"role": "user", "content": "Напиши длинный рассказ"}]


def billed() -> float:
    """Сколько всего списал практический провайдер (его статистика — «истина»)."""
    return course.provider.stats()["cost"]


litellm.max_budget = 0.002  # меньше, чем стоят два таких вызова
with course.practice():
    before = billed()
    for i in range(1, 4):
        r = litellm.completion(model=GPT4O, messages=STORY, max_tokens=100)
        print(f"completion {i}: ${r._hidden_params['response_cost']:.6f}, "
              f"litellm._current_cost = {litellm._current_cost}")

    r = await litellm.acompletion(model=GPT4O, messages=STORY, max_tokens=100)
    print(f"acompletion:  ${r._hidden_params['response_cost']:.6f}, litellm._current_cost = {litellm._current_cost}")
    for _ in litellm.completion(model=GPT4O, messages=STORY, max_tokens=100, stream=True):
        pass
    print(f"stream:       litellm._current_cost = {litellm._current_cost}")
    print(f"Провайдер списал ${billed() - before:.6f} при max_budget = ${litellm.max_budget} — и ни одного отказа.")

# %% [markdown]
# > **Важно:** в исходном уроке сказано, что `litellm.max_budget` остановит запросы при превышении
# > бюджета. **На самом деле в LiteLLM 1.108.14 (и 1.110.2) он ничего не ограничивает.** Перед каждым
# > вызовом LiteLLM сравнивает `litellm._current_cost` с `max_budget`, но сам счётчик растёт только
# > когда результат вызова — словарь с ключом `"content"` (старый текстовый формат). Для chat
# > completion, `acompletion` и стримов он навсегда остаётся `0.0`.
#
# Сама проверка перед вызовом при этом работает — если выставить счётчик вручную
# (это приватная переменная, так делать в продакшене не стоит):

# %%
litellm._current_cost = 0.0025  # вручную, в обход LiteLLM
with course.practice():
    requests_before = course.provider.stats()["requests"]
    try:
        litellm.completion(model=GPT4O, messages=STORY, max_tokens=100)
    except litellm.BudgetExceededError as e:
        print(type(e).__name__, "|", e)
    print("запрос дошёл до провайдера:", course.provider.stats()["requests"] > requests_before)

# вернуть как было: бюджет выключен, счётчик в нуле
litellm.max_budget = 0.0
litellm._current_cost = 0.0

# %% [markdown]
# ## 6.2 Откуда брать стоимость: `response_cost` и `CustomLogger`
#
# Стоимость одного ответа вы уже видели: `response._hidden_params["response_cost"]`. Чтобы считать
# **все** вызовы приложения, LiteLLM вызывает колбэки. Надёжный способ — класс-наследник
# `CustomLogger` с двумя методами: `log_success_event` (синхронные вызовы и стримы) и
# `async_log_success_event` (`acompletion`). Стоимость — в `kwargs["response_cost"]`.
#
# > **Осторожно:** колбэки глобальны для всего процесса. Всё, что вы кладёте в `litellm.callbacks`
# > или `litellm.success_callback`, потом нужно убрать. LiteLLM копирует `litellm.callbacks` ещё в
# > несколько внутренних списков, поэтому сохраним их все (`save_callbacks`) и в конце раздела
# > вернём (`restore_callbacks`).

# %%
import asyncio
import time

from litellm.integrations.custom_logger import CustomLogger

from course_helpers.budget import restore_callbacks, save_callbacks


class SpendLog(CustomLogger):
    """Записывает каждый успешный вызов: путь, стрим ли это, стоимость, попадание в кэш."""

    def __init__(self):
        super().__init__()
        self.events = []

    # имена параметров должны быть ровно такими: LiteLLM передаёт их по имени
    def log_success_event(self, kwargs, response_obj, start_time, end_time):  # completion и стримы
        self.events.append(("sync", kwargs.get("stream"), kwargs.get("response_cost"), kwargs.get("cache_hit")))

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):  # acompletion
        self.events.append(("async", kwargs.get("stream"), kwargs.get("response_cost"), kwargs.get("cache_hit")))


costs_seen = []


def on_success(kwargs, completion_response, start_time, end_time):
    """Колбэк-функция — для сравнения с SpendLog (ловушка №2 ниже)."""
    costs_seen.append(kwargs.get("response_cost"))


async def wait_until(condition, timeout: float = 5.0) -> None:
    """Колбэки LiteLLM выполняются в фоне (в потоке или задаче asyncio): ждём, пока условие выполнится."""
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


saved_callbacks = save_callbacks()  # всё, что зарегистрируем ниже, уберём в конце раздела
spend_log = SpendLog()
litellm.callbacks = [spend_log]
litellm.success_callback.append(on_success)

# %% [markdown]
# Четыре вида вызовов. Для стримов передаём `stream_options={"include_usage": True}`: с ним `usage`
# приходит в последнем куске стрима на любом пути, а без него стоимость стрима через `openai/`
# потерялась бы (ниже — ловушка №1).

# %%
MINI = "openrouter/openai/gpt-4o-mini"
Q = [{"role": "user", "content": "Что такое кэширование?"}]
USAGE = {"include_usage": True}

with course.practice():
    before = billed()
    litellm.completion(model=MINI, messages=Q)
    await litellm.acompletion(model=MINI, messages=Q)
    for _ in litellm.completion(model=MINI, messages=Q, stream=True, stream_options=USAGE):
        pass
    stream = await litellm.acompletion(model=MINI, messages=Q, stream=True, stream_options=USAGE)
    async for _ in stream:
        pass
    await wait_until(lambda: len(spend_log.events) == 4)
    spent_here = billed() - before

for path, is_stream, cost, cache_hit in sorted(spend_log.events, key=lambda e: (e[0], bool(e[1]))):
    print(f"{path:5}  stream={bool(is_stream)!s:5}  response_cost=${cost:.8f}  cache_hit={cache_hit}")
counted = sum(e[2] for e in spend_log.events)
print(f"по колбэкам ${counted:.8f} | провайдер ${spent_here:.8f} | совпало: {abs(counted - spent_here) < 1e-12}")

# %% [markdown]
# > **Осторожно:** асинхронные колбэки выполняются в фоне, в том же цикле событий. В скрипте с
# > `asyncio.run(main())` событие последнего вызова может не успеть обработаться до выхода из
# > цикла. Оно не теряется: LiteLLM доставит его в **следующем** цикле — тем колбэкам, которые
# > будут зарегистрированы к тому времени (чужой счётчик получит чужой расход). В Jupyter цикл один,
# > и этой проблемы нет. В скрипте дождитесь колбэков до выхода из `main()`: например,
# > `await GLOBAL_LOGGING_WORKER.flush()` из `litellm.litellm_core_utils.logging_worker`
# > (внутренний API LiteLLM, проверено на 1.108.14).
#
# Попадание в кэш (урок 01) стоит `0.0`, и колбэк об этом знает: `kwargs["cache_hit"] is True`.

# %%
spend_log.events.clear()
litellm.enable_cache()  # кэш в памяти
hello = [{"role": "user", "content": "Привет!"}]
for _ in range(2):
    litellm.completion(model=MINI, messages=hello)
litellm.disable_cache()
await wait_until(lambda: len(spend_log.events) == 2)
for path, is_stream, cost, cache_hit in spend_log.events:
    print(f"{path}: response_cost=${cost:.8f}, cache_hit={cache_hit}")

# %% [markdown]
# ### Три ловушки колбэков
#
# **1. Стрим без `stream_options`: всё зависит от пути.** OpenRouter присылает `usage` со
# стоимостью (`usage.cost`) в последнем сообщении **каждого** стрима: `usage: {include: true}` и
# `stream_options` у него устарели и ни на что не влияют (LiteLLM 1.108.14 по-прежнему отправляет
# `usage.include=true`). OpenAI (путь `openai/`, адрес `/v1`) присылает `usage` в стриме только по
# `stream_options={"include_usage": True}`, а стоимости не присылает вовсе — её считает LiteLLM по
# своей карте цен.
#
# Предскажите для обоих путей без `stream_options`: что получит колбэк в `response_cost` и будет ли
# `usage` в кусках, которые видит ваш цикл? Кроме колбэка, стоимость стрима можно собрать из самих
# кусков: `litellm.stream_chunk_builder(chunks)` склеивает их в обычный ответ.

# %%
def usd(value) -> str:
    return "нет" if value is None else f"${value:.8f}"


spend_log.events.clear()
with course.practice():
    for model in (MINI, "openai/gpt-4o-mini"):
        seen = len(spend_log.events)
        chunks = list(litellm.completion(model=model, messages=Q, stream=True))  # без stream_options
        await wait_until(lambda: len(spend_log.events) > seen)
        print(f"{model}: провайдер списал {usd(course.provider.log()[-1]['cost'])}")
        print(f"    response_cost в колбэке: {usd(spend_log.events[-1][2])}")
        print(f"    usage в кусках стрима: {any(hasattr(c, 'usage') for c in chunks)}")
        print(f"    stream_chunk_builder(chunks).usage.cost: "
              f"{usd(getattr(litellm.stream_chunk_builder(chunks).usage, 'cost', None))}")

# %% [markdown]
# На пути `openrouter/` стоимость стрима известна: колбэк получил ровно то, что списал провайдер, и
# `stream_chunk_builder` её тоже находит, — но в куски, которые видит ваш цикл, LiteLLM без
# `include_usage` `usage` не кладёт. На пути `openai/` провайдер `usage` не прислал, и колбэк получил
# **молча `0.0`**, хотя деньги списаны: счётчик, который складывает `response_cost`, таких стримов не
# увидит. Поэтому передавайте `stream_options={"include_usage": True}` всегда: на обоих путях `usage`
# придёт в последнем куске, а колбэк получит стоимость.
#
# **2. Функция в `litellm.success_callback` вызывается на каждый кусок стрима** с
# `response_cost=None` и только в конце — со стоимостью. А для `acompletion` синхронная функция не
# вызывается вовсе (нужна `async def`). `CustomLogger` с двумя методами закрывает оба пути.
#
# > **Осторожно:** функции-колбэки LiteLLM подключает один раз на процесс, при первом вызове, у
# > которого вообще есть колбэки. Функция, добавленная в `success_callback` позже, **не вызывается
# > никогда** (`CustomLogger` этим не страдает). Поэтому `on_success` мы зарегистрировали вместе со
# > `SpendLog`, до первого вызова.

# %%
costs_seen.clear()
for _ in litellm.completion(model=MINI, messages=Q, stream=True, stream_options=USAGE):
    pass
await wait_until(lambda: costs_seen and costs_seen[-1] is not None)
# сколько именно раз — зависит от того, как куски стрима дошли по сети; важно, что больше одного
print(f"один стрим: функция вызвана больше одного раза: {len(costs_seen) > 1}; "
      f"все вызовы, кроме последнего, с None: {costs_seen[:-1].count(None) == len(costs_seen) - 1}; "
      f"последний: ${costs_seen[-1]:.8f}")
costs_seen.clear()
spend_log.events.clear()
await litellm.acompletion(model=MINI, messages=Q)
await wait_until(lambda: len(spend_log.events) >= 1)  # SpendLog уже увидел вызов...
await asyncio.sleep(0.3)  # ...а функции дадим ещё время — она так и не будет вызвана
print("acompletion: функция вызвана", len(costs_seen), "раз")

# %% [markdown]
# **3. Имена параметров.** LiteLLM передаёт аргументы по имени: `kwargs, response_obj, start_time,
# end_time`. С другими именами синхронный метод молча пропускается, а асинхронный падает с
# `TypeError`, который LiteLLM глотает.

# %%
class WrongNames(CustomLogger):
    def __init__(self):
        super().__init__()
        self.calls = 0

    def log_success_event(self, kw, response, start, end):
        self.calls += 1

    async def async_log_success_event(self, kw, response, start, end):
        self.calls += 1


wrong = WrongNames()
litellm.callbacks.append(wrong)
spend_log.events.clear()
litellm.completion(model=MINI, messages=Q)
await litellm.acompletion(model=MINI, messages=Q)
await wait_until(lambda: len(spend_log.events) == 2)
await asyncio.sleep(0.3)
print("SpendLog увидел вызовов:", len(spend_log.events), "| WrongNames:", wrong.calls)

# %%
restore_callbacks(saved_callbacks)  # убираем SpendLog, WrongNames и on_success
print(litellm.callbacks, litellm.success_callback, litellm._async_success_callback)

# %% [markdown]
# ## 6.3 `litellm.BudgetManager`
#
# В LiteLLM есть класс `BudgetManager`: бюджеты по пользователям с сохранением в файл
# `./user_cost.json` — **в текущей папке**. Чтобы файл не появился рядом с ноутбуком, переходим в
# папку урока (`contextlib.chdir`) и пишем файл синхронно (`save_data()`) внутри блока.

# %%
import contextlib
from pathlib import Path

from litellm import BudgetManager

bm_dir = course.fresh_dir("budget_manager")
with contextlib.chdir(bm_dir):
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
# > **Осторожно:** на 1.108.14 `BudgetManager` бесполезен для моделей OpenRouter:
# > `update_cost` и `projected_cost` зовут `litellm.completion_cost`, а у `openrouter/*` нет цен в
# > карте LiteLLM (`ModelNotMappedError`), поэтому расход так и остаётся `0`. Кроме того, он
# > **никогда не блокирует вызов** — проверять `get_current_cost(user) >= get_total_budget(user)`
# > перед каждым запросом нужно самому. В 1.110.2 `update_cost` научился брать `usage.cost`, но
# > блокировать так и не стал. И ещё: `create_budget(..., duration=...)` и `update_cost` пишут файл
# > в фоновом потоке — в ту папку, которая будет текущей в момент записи.

# %% [markdown]
# ## 6.4 Бюджеты `Router`
#
# У `Router` есть настоящие бюджеты: `max_budget` + `budget_duration` у развёртывания и
# `provider_budget_config` на провайдера целиком. Их проверяет колбэк `RouterBudgetLimiting`,
# и у него два условия: **только асинхронные вызовы** и **`Router` создаётся внутри работающего
# цикла событий** (он запускает фоновую задачу `asyncio.create_task`). В обычном скрипте это падает:

# %%
import subprocess
import sys
import textwrap

script = textwrap.dedent("""
    from litellm import Router
    Router(model_list=[{"model_name": "m", "litellm_params": {
        "model": "openrouter/openai/gpt-4o", "max_budget": 1.0, "budget_duration": "1d"}}])
""")
run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
print("код выхода:", run.returncode)
print(next(line for line in run.stderr.splitlines() if line.startswith("RuntimeError")))

# %% [markdown]
# В скрипте создавайте `Router` внутри `async def main()` и запускайте `asyncio.run(main())`.
# В Jupyter цикл ядра уже работает, поэтому `Router(...)` в ячейке создаётся, а вызовы делаем
# через `await router.acompletion(...)`.
#
# Развёртывание `d1` получает бюджет \$0.003 в сутки; один вызов стоит около \$0.001.
# `num_retries=0`: иначе Router повторяет отказ по бюджету со своими паузами, и каждый отказ
# занимает несколько секунд.

# %%
from litellm import Router

saved_callbacks = save_callbacks()  # Router-бюджеты регистрируют глобальный колбэк: потом уберём


def deployment(name: str, **budget) -> dict:
    """Развёртывание gpt-4o на практическом провайдере (name — путь /d1, /d2...)."""
    return {"model_name": "story", "litellm_params": {
        "model": GPT4O, "api_base": course.provider.api_base("openrouter", deployment=name),
        "api_key": course.provider.key, "max_tokens": 100, **budget}}


async def ask_router(router, n: int) -> list[str]:
    """n вызовов подряд с паузой: ответ провайдера или класс исключения."""
    outcomes = []
    for _ in range(n):
        try:
            await router.acompletion(model="story", messages=STORY)
            outcomes.append("ok")
        except ValueError as e:
            outcomes.append(type(e).__name__)
            last_error[0] = e
        await asyncio.sleep(0.2)  # LiteLLM записывает расход в фоне, после ответа
    return outcomes


def spend_on(name: str) -> float:
    return course.provider.stats()["by_deployment"].get(name, {}).get("cost", 0.0)


last_error = [None]
router = Router(model_list=[deployment("d1", max_budget=0.003, budget_duration="1d")], num_retries=0)
with course.practice():
    print(await ask_router(router, 5))
    print(f"d1 потратил ${spend_on('d1'):.6f} при бюджете $0.003 — перерасход ${spend_on('d1') - 0.003:.6f}")
message = str(last_error[0])
print(type(last_error[0]).__module__, type(last_error[0]).__name__, "|", message.split(", litellm_params")[0])
print("…конец сообщения:", message.strip().rsplit(": ", 1)[-1])

# %% [markdown]
# Бюджет сработал — но:
# - отказ — это **`builtins.ValueError`** («No deployments available - crossed budget»), а не
#   `BudgetExceededError`; в конце сообщения стоит период (`>= 1d`), а не лимит;
# - проверка идёт **до** вызова по уже записанному расходу, поэтому третий вызов прошёл, хотя
#   увёл расход за лимит: **перерасход — примерно один вызов**.
#
# Расход хранится **на процесс**, а не на объект `Router`. Новый роутер с тем же развёртыванием
# сразу получает отказ. А бюджет **второго** роутера на другом развёртывании не работает вовсе:
# LiteLLM не добавляет второй `RouterBudgetLimiting` в `litellm.callbacks`, пока там есть первый.

# %%
router_again = Router(model_list=[deployment("d1", max_budget=0.003, budget_duration="1d")], num_retries=0)
print("новый Router, тот же d1:", await ask_router(router_again, 2))
router_d3 = Router(model_list=[deployment("d3", max_budget=0.003, budget_duration="1d")], num_retries=0)
with course.practice():
    print("новый Router, d3 с бюджетом $0.003:", await ask_router(router_d3, 5))
    print(f"d3 потратил ${spend_on('d3'):.6f}")

# %% [markdown]
# Уберём колбэк первого роутера (`restore_callbacks`) — и бюджет на провайдера в новом роутере
# заработает. Но только для `acompletion`: синхронный `router.completion` бюджет не проверяет.

# %%
restore_callbacks(saved_callbacks)
provider_router = Router(model_list=[deployment("d4")], num_retries=0,
                         provider_budget_config={"openrouter": {"budget_limit": 0.003, "time_period": "1d"}})
print("provider_budget_config, acompletion:", await ask_router(provider_router, 5))
provider_router.completion(model="story", messages=STORY)
print("тот же роутер, синхронный completion: прошёл")
restore_callbacks(saved_callbacks)

# %% [markdown]
# И главное: **под нагрузкой бюджет Router не держит.** 20 одновременных запросов проходят
# проверку раньше, чем записан расход первого:

# %%
burst_router = Router(model_list=[deployment("d5", max_budget=0.003, budget_duration="1d")], num_retries=0)
with course.practice():
    results = await asyncio.gather(*(burst_router.acompletion(model="story", messages=STORY) for _ in range(20)),
                                   return_exceptions=True)
    print("прошло:", sum(not isinstance(r, Exception) for r in results), "из 20")
    print(f"d5 потратил ${spend_on('d5'):.6f} при бюджете $0.003")
restore_callbacks(saved_callbacks)  # убираем колбэки всех роутеров этого раздела
print("колбэков осталось:", len(litellm.callbacks) + len(litellm._async_success_callback))

# %% [markdown]
# ## 6.5 Бюджет, который держится под нагрузкой
#
# Все способы выше устроены одинаково: «проверить расход → вызвать → записать расход». Пока
# запрос в пути, его стоимости нет ни в каком счётчике, и параллельные запросы проходят проверку
# вместе. Посмотрим на самую честную версию такой защиты — она считает точно, но уже после вызова:

# %%
import random


class NaiveBudget:
    """«Проверить, потом вызвать»: так обычно и пишут."""

    def __init__(self, limit: float):
        self.limit, self.spent = limit, 0.0

    async def ask(self, messages, max_tokens):
        if self.spent >= self.limit:
            raise litellm.BudgetExceededError(current_cost=self.spent, max_budget=self.limit)
        r = await litellm.acompletion(model=GPT4O, messages=messages, max_tokens=max_tokens)
        self.spent += r._hidden_params["response_cost"]
        return r


rng = random.Random(6)  # seed: одни и те же 50 запросов при каждом запуске
BURST = [([{"role": "user", "content": f"Вопрос {i}: " + "расскажи про бюджеты LLM. " * rng.randint(1, 12)}],
          rng.randint(20, 120)) for i in range(50)]
LIMIT = 0.01


def report(name: str, spent: float, results: list) -> None:
    ok = sum(not isinstance(r, Exception) for r in results)
    print(f"{name}: лимит ${LIMIT:.6f} | потрачено ${spent:.6f} | перерасход ${max(0.0, spent - LIMIT):.6f} | "
          f"прошло {ok}, отказано {len(results) - ok}")


naive = NaiveBudget(LIMIT)
with course.practice():
    before = billed()
    results = await asyncio.gather(*(naive.ask(m, t) for m, t in BURST), return_exceptions=True)
    report("NaiveBudget", billed() - before, results)

# %% [markdown]
# Защита из `course_helpers.budget` — `BudgetGuard` — делает иначе: **перед** вызовом
# **резервирует** максимальную стоимость запроса (токены запроса × цена входа + `max_tokens` × цена
# выхода) с **запасом** `margin` (по умолчанию 25 %, зачем он — ниже), а **после** — заменяет резерв
# тем, что провайдер списал: `response_cost`, который LiteLLM для `openrouter/` берёт из `usage.cost`
# ответа, а не пересчитывает по своим ценам. Проверка учитывает и потраченное, и зарезервированное,
# поэтому запросы в пути тоже считаются. Проверка и резерв идут под одной блокировкой и без `await`
# между ними — ни поток, ни другая задача asyncio не вклинится.
#
# Цены для `openrouter/...` берутся из датированной таблицы практического провайдера
# (`course_helpers.practice_data.MODELS`), для остальных моделей — из карты цен LiteLLM.

# %%
from course_helpers.budget import DEFAULT_MARGIN, BudgetExceeded, BudgetGuard, max_cost, price_of

print(price_of(GPT4O))
guard = BudgetGuard(limit=LIMIT)
print(f"максимум для запроса из урока с max_tokens=100: ${max_cost(GPT4O, STORY, 100):.7f}; "
      f"резерв с запасом {guard.margin:.0%}: ${guard.reservation(GPT4O, STORY, 100):.7f}")


async def guarded(messages, max_tokens):
    with guard.reserve(GPT4O, messages, max_tokens=max_tokens) as hold:  # BudgetExceeded, если не влезает
        r = await litellm.acompletion(model=GPT4O, messages=messages, max_tokens=max_tokens)
        hold.settle(r)  # резерв -> списанная стоимость
        return r


with course.practice():
    before = billed()
    results = await asyncio.gather(*(guarded(m, t) for m, t in BURST), return_exceptions=True)
    report("BudgetGuard", billed() - before, results)
    print(f"защита насчитала ${guard.spent():.6f} — совпадает с провайдером: "
          f"{abs(guard.spent() - (billed() - before)) < 1e-12}")

# %% [markdown]
# Те же 50 запросов: наивная защита пропустила все, `BudgetGuard` — только те, что помещаются в
# бюджет вместе с запасом, и расход не превысил лимит. Цена надёжности — недобор: все 50 запросов
# резервируют максимум с запасом одновременно, а ответы часто короче `max_tokens`, поэтому заметная
# часть бюджета осталась неистраченной (в потоке запросов, как в разделе 6.6, резервы освобождаются по
# мере ответов). Отказ — `BudgetExceeded` с понятным сообщением. Это подкласс
# `litellm.BudgetExceededError`, так что `except` из исходного урока наконец-то ловит настоящий отказ:

# %%
refusal = next(r for r in results if isinstance(r, Exception))
print(type(refusal).__name__, "| это BudgetExceededError:", isinstance(refusal, litellm.BudgetExceededError))
print(refusal)

# %% [markdown]
# > **Важно:** этот опыт почти ничего не доказывает. Защита оценила запросы тем же токенизатором и
# > по той же таблице цен, по которым практический провайдер выставляет счёт, — оценка и счёт
# > совпадают по построению. Лимит держится, только пока настоящая стоимость каждого вызова не больше
# > резерва, а онлайн это не так:
# > - **токенизаторы.** Claude, Llama или Gemini считают токены своими токенизаторами, не tiktoken
# >   курса, и тот же запрос выходит длиннее или короче (ответ ограничен `max_tokens` при любом
# >   токенизаторе, а запрос — нет);
# > - **цены.** Таблица курса — на `PRICES_AS_OF`; цены OpenRouter с тех пор менялись и будут меняться;
# > - **процессы.** `BudgetGuard` живёт в одном процессе: N воркеров (процессов, машин), у каждого
# >   своя защита, потратят до N бюджетов.
# >
# > И ещё: **без `max_tokens` защита вызов не пропустит** (стоимость ответа ничем не ограничена).
# > Если вызов упал по таймауту или обрыву связи, провайдер мог его уже посчитать — резерв остаётся
# > списанным; после остальных ошибок он возвращается в бюджет.
#
# ### Запас: когда оценка ошибается
#
# Сделаем оценку неточной, как онлайн. Защита считает запрос токенизатором GPT-4o (`o200k_base`) —
# будто у всех моделей он один, — а запросы идут к `claude-3.5-sonnet`, который практический провайдер
# считает другим токенизатором (`cl100k_base`). Русский текст второй токенизатор режет на заметно
# большее число токенов. Отправим 30 запросов одновременно с лимитом \$0.006 — без запаса и с запасом
# по умолчанию. `guard.overruns` — сколько вызовов обошлись дороже своего резерва.

# %%
import functools

SONNET = "openrouter/anthropic/claude-3.5-sonnet"
REPORT = "Кратко перескажи отчёт о расходах на языковые модели за квартал. "
REQUESTS = [[{"role": "user", "content": f"Заявка {i}: " + REPORT * (i % 5 + 1)}] for i in range(30)]
gpt4o_estimate = functools.partial(max_cost, encoding="o200k_base")  # «все модели считают, как GPT-4o»
MARGIN_LIMIT = 0.006


async def sonnet_burst(guard: BudgetGuard) -> list:
    async def one(messages):
        with guard.reserve(SONNET, messages, max_tokens=40) as hold:
            r = await litellm.acompletion(model=SONNET, messages=messages, max_tokens=40)
            hold.settle(r)
            return r._hidden_params["response_cost"] / gpt4o_estimate(SONNET, messages, 40)  # счёт / оценка

    return await asyncio.gather(*(one(m) for m in REQUESTS), return_exceptions=True)


with course.practice():
    for margin in (0.0, DEFAULT_MARGIN):
        sonnet_guard = BudgetGuard(limit=MARGIN_LIMIT, margin=margin, estimate=gpt4o_estimate)
        before = billed()
        ratios = [r for r in await sonnet_burst(sonnet_guard) if not isinstance(r, Exception)]
        spent = billed() - before
        print(f"запас {margin:.0%}: прошло {len(ratios)}, потрачено ${spent:.6f} из ${MARGIN_LIMIT} — "
              f"в пределах лимита: {spent <= MARGIN_LIMIT} | дороже резерва: {sonnet_guard.overruns}")
print(f"счёт выше оценки на {min(ratios) - 1:.0%}…{max(ratios) - 1:.0%}")

# %% [markdown]
# Без запаса каждый вызов обошёлся дороже своего резерва, и расход вышел за лимит. Запас 25 %
# покрыл расхождение до +20 % — и лимит удержан. Но это не гарантия: запас работает, только пока
# расхождение меньше него. Сравнивайте `response_cost` с оценкой на своём трафике (`overruns` это
# и считает) и подбирайте запас по замеру.
#
# ### Жёсткая граница: кредитный лимит ключа у провайдера
#
# Гарантия, которая не зависит ни от оценки, ни от числа процессов, есть у самого провайдера.
# OpenRouter позволяет задать ключу **кредитный лимит** (в настройках ключей или через API управления
# ключами, поле `limit`): когда расход по ключу доходит до лимита, вызовы с ним получают **402**
# («Insufficient credits»), а `GET /api/v1/key` показывает `limit`, `usage` и `limit_remaining`.
# Лимит проверяется **до** вызова, а списание — **после** ответа, поэтому вызовы, которые уже были в
# пути, ещё пройдут. Практический провайдер устроен так же: `course.provider.create_key(имя, limit)`
# и `course.provider.key_info(ключ)`.
#
# Четыре воркера — как четыре процесса приложения — шлют запросы волнами, по одному одновременно, у
# каждого своя `BudgetGuard(limit=0.004)`. Предскажите: сколько они потратят вместе? Сначала — с
# ключом без лимита, потом — с общим ключом, у которого лимит \$0.005.

# %%
ONE_CALL = max_cost(GPT4O, STORY, 100)  # рассказ обрезается на 100 токенах: каждый вызов стоит ровно столько
WORKER_BUDGET, KEY_LIMIT = 0.004, 0.005


async def call(own_guard: BudgetGuard, key: str) -> str:
    """Один запрос воркера через его защиту: ok, отказ защиты или ошибка провайдера."""
    try:
        with own_guard.reserve(GPT4O, STORY, max_tokens=100) as hold:
            r = await litellm.acompletion(model=GPT4O, messages=STORY, max_tokens=100, api_key=key)
            hold.settle(r)
        return "ok"
    except BudgetExceeded:
        return "отказ защиты"
    except litellm.APIError as e:  # 402: лимит ключа исчерпан
        return f"{type(e).__name__} {e.status_code}"


async def four_workers(key: str) -> None:
    """4 воркера, у каждого своя защита; 4 волны по 4 одновременных запроса."""
    guards = [BudgetGuard(limit=WORKER_BUDGET) for _ in range(4)]
    for wave in range(1, 5):
        print(f"  волна {wave}:", await asyncio.gather(*(call(g, key) for g in guards)))


with course.practice():  # ключи с лимитами — у практического провайдера
    print("ключ без лимита")
    free_key = course.provider.create_key("4 воркера, без лимита")
    await four_workers(free_key)
    usage = course.provider.key_info(free_key)["data"]["usage"]
    print(f"  потрачено ${usage:.6f} — {usage / WORKER_BUDGET:.1f} бюджета одного воркера")

    print(f"общий ключ с лимитом ${KEY_LIMIT}")
    capped_key = course.provider.create_key("4 воркера, общий лимит", limit=KEY_LIMIT)
    await four_workers(capped_key)
    info = course.provider.key_info(capped_key)["data"]
print(f"GET /api/v1/key: limit ${info['limit']}, usage ${info['usage']:.6f}, "
      f"limit_remaining ${info['limit_remaining']}")
print(f"перерасход ${info['usage'] - info['limit']:.6f} — меньше, чем 4 вызова в пути "
      f"(4 × ${ONE_CALL:.7f}): {info['usage'] - info['limit'] < 4 * ONE_CALL}")

# %% [markdown]
# Защиты воркеров не знают друг о друге и вместе пустили втрое больше бюджета одного. Общий ключ с
# лимитом остановил всех: после лимита — `APIError` со `status_code` 402. Вторая волна ушла, когда
# лимит ещё не был исчерпан (\$0.0041 из \$0.005), и вся прошла: расход вышел за лимит на запросы,
# которые были в пути, когда лимит исчерпался. Это и есть жёсткая граница: её держит провайдер, а не
# ваш процесс, и перерасход ограничен тем, сколько запросов идут одновременно. `BudgetGuard` остаётся
# полезен внутри процесса — бюджеты на пользователя и на день, отказ **до** отправки и понятное
# сообщение, — но последнее слово за лимитом ключа.
#
# > **Осторожно:** 402 — обычный `litellm.APIError`, не `BudgetExceededError`, и `num_retries`
# > повторяет его, хотя повтор не поможет; резервная модель с тем же ключом получит тот же 402.
#
# Бюджеты **на пользователя** и **на день** — те же резервы, только в нескольких «копилках» сразу.
# День берётся из `today()` (по умолчанию дата UTC); здесь подставим свои часы, чтобы перелистнуть
# сутки.

# %%
clock = {"today": "2025-06-01"}
team = BudgetGuard(limit=0.01, per_user={"alice": 0.0025, "bob": 0.005}, per_day=0.004,
                   today=lambda: clock["today"])


async def ask_as(user: str) -> str:
    try:
        with team.reserve(GPT4O, STORY, max_tokens=100, user=user) as hold:
            r = await litellm.acompletion(model=GPT4O, messages=STORY, max_tokens=100, user=user)
            hold.settle(r)
        return f"{user}: ok"
    except BudgetExceeded as e:
        return f"{user}: отказ — {e}"


for user in ["alice", "alice", "alice", "bob", "bob"]:
    print(await ask_as(user))
clock["today"] = "2025-06-02"  # наступили новые сутки
print(await ask_as("bob"))
print(f"alice ${team.spent(user='alice'):.6f}, bob ${team.spent(user='bob'):.6f}, "
      f"1 июня ${team.spent(day='2025-06-01'):.6f}, всего ${team.spent():.6f}")

# %% [markdown]
# ## 6.6 Расход во времени
#
# Приложение шлёт 40 запросов разного размера, по одному каждые 50 мс. Сравним накопленный
# расход по журналу провайдера без защиты и с `BudgetGuard` (лимит \$0.008). Время и стоимость
# каждого запроса берём из `course.provider.log()`. Запас здесь нулевой (`margin=0`): на практическом
# провайдере оценка равна счёту (раздел 6.5), и линия упрётся в сам лимит.

# %%
import matplotlib.pyplot as plt

rng = random.Random(60)  # seed: тот же поток запросов при каждом запуске
STREAM = [([{"role": "user", "content": f"Запрос {i}: " + "объясни подробно. " * rng.randint(1, 8)}],
           rng.randint(10, 40)) for i in range(40)]
TIMELINE_LIMIT = 0.008


async def traffic(guard: BudgetGuard | None) -> list[dict]:
    """Поток запросов; возвращает записи журнала провайдера за этот прогон."""
    first = len(course.provider.log())

    async def one(i, messages, max_tokens):
        await asyncio.sleep(i * 0.05)
        if guard is None:
            return await litellm.acompletion(model=GPT4O, messages=messages, max_tokens=max_tokens)
        with guard.reserve(GPT4O, messages, max_tokens=max_tokens) as hold:
            r = await litellm.acompletion(model=GPT4O, messages=messages, max_tokens=max_tokens)
            hold.settle(r)
            return r

    await asyncio.gather(*(one(i, m, t) for i, (m, t) in enumerate(STREAM)), return_exceptions=True)
    return course.provider.log()[first:]


def cumulative(entries: list[dict]) -> tuple[list[float], list[float]]:
    start, total, xs, ys = entries[0]["t"], 0.0, [], []
    for e in sorted(entries, key=lambda e: e["t"]):
        total += e.get("cost", 0.0)
        xs.append(e["t"] - start)
        ys.append(total)
    return xs, ys


timeline_guard = BudgetGuard(limit=TIMELINE_LIMIT, margin=0)
with course.practice():
    free_log = await traffic(None)
    guarded_log = await traffic(timeline_guard)

fig, ax = plt.subplots(figsize=(8, 4))
for entries, label, color in ((free_log, "без защиты", "#cf222e"), (guarded_log, "BudgetGuard", "#2da44e")):
    xs, ys = cumulative(entries)
    ax.step(xs, ys, where="post", label=f"{label}: {len(entries)} запросов", color=color)
ax.axhline(TIMELINE_LIMIT, color="black", linestyle="--", label=f"лимит ${TIMELINE_LIMIT}")
ax.set_xlabel("время от первого запроса, с")
ax.set_ylabel("накопленный расход, $")
ax.set_title("Расход по журналу провайдера")
ax.legend()
plt.show()

free_cost = sum(e["cost"] for e in free_log)
guarded_cost = sum(e["cost"] for e in guarded_log)
print(f"без защиты: ${free_cost:.6f}, лимит превышен: {free_cost > TIMELINE_LIMIT}")
print(f"BudgetGuard: ${guarded_cost:.6f}, в пределах лимита: {guarded_cost <= TIMELINE_LIMIT}, "
      f"отказано: {timeline_guard.refused} из {len(STREAM)}")

# %% [markdown]
# Без защиты расход растёт, пока идут запросы. С защитой линия упирается в лимит и дальше не
# растёт: запросы, которые могли бы его превысить, даже не отправлены.
#
# ## 6.7 Сколько стоил бы этот урок онлайн
#
# Практический провайдер считает `usage.cost` по настоящим ценам моделей — из таблицы с датой
# `PRICES_AS_OF`. Значит, его статистика показывает, сколько весь трафик этого урока стоил бы в
# OpenRouter на ту дату (в онлайн-режиме — трафик опытов, которые шли на практическом провайдере).

# %%
from course_helpers.practice_data import MODELS, PRICES_AS_OF

with course.practice():
    stats = course.provider.stats()
print(f"Цены на {PRICES_AS_OF}. Запросов за урок: {stats['requests']}")
for model, s in stats["by_model"].items():
    print(f"  {model:20} запросов {s['requests']:4}  токенов {s['prompt_tokens']:6} + {s['completion_tokens']:6}  "
          f"${s['cost']:.6f}")
print(f"Итого урок стоил бы ${stats['cost']:.4f}")

# что, если бы весь этот трафик шёл через одну модель?
what_if = {name: (stats["prompt_tokens"] * spec.input_per_m + stats["completion_tokens"] * spec.output_per_m) / 1e6
           for name, spec in MODELS.items()}
fig, ax = plt.subplots(figsize=(8, 3.5))
ax.barh(list(what_if), list(what_if.values()), color="#0969da")
ax.set_xscale("log")
ax.set_xlabel("стоимость трафика урока, $ (логарифмическая шкала)")
ax.set_title(f"Те же токены по ценам разных моделей (на {PRICES_AS_OF})")
plt.show()
print(f"Самая дешёвая: {min(what_if, key=what_if.get)}, самая дорогая: {max(what_if, key=what_if.get)} "
      f"— разница ×{max(what_if.values()) / min(what_if.values()):.0f}")

# %% [markdown]
# Весь урок — доли доллара; дороже всего в нём обошлись бы запросы к `gpt-4o`. Модель важнее
# любых оптимизаций: те же токены на `claude-3.5-sonnet` стоят в сотни раз больше, чем на
# `llama-3.1-8b-instruct`.
#
# ## 6.8 Панель: бюджет под нагрузкой
#
# Выберите бюджет и число запросов и нажмите «Отправить»: запросы к `gpt-4o` идут через
# `BudgetGuard` (запас по умолчанию, 25 %) по 8 одновременно. Повторное нажатие продолжает тратить тот же бюджет — пока
# запросы не начнут получать отказ. Ползунок меняет лимит, «Сбросить» начинает с нуля.

# %%
from course_helpers.panels.budgets import BudgetPanel

panel = BudgetPanel(course.provider, budget=0.005, requests=8)
panel.widget

# %% [markdown]
# Кнопка вызывает `panel.run()`; из кода — то же самое:

# %%
print(panel.run())

# %% [markdown]
# ### Задание 6.1. Счётчик расходов
#
# Допишите класс `SpendCounter(CustomLogger)`: атрибут `total` должен накапливать стоимость
# **всех** успешных вызовов — `completion`, `acompletion` и стримов обоих видов (стримы проверка
# делает с `include_usage`). Проверка зарегистрирует ваш класс в `litellm.callbacks`, сделает
# четыре вызова, сравнит `total` со статистикой провайдера и уберёт колбэк.

# %%
from litellm.integrations.custom_logger import CustomLogger


class SpendCounter(CustomLogger):
    def __init__(self):
        super().__init__()
        self.total = 0.0

    # ваш код здесь: методы для синхронных и асинхронных вызовов


# %%
from course_helpers import check, hint, progress, solution

check("06.1", SpendCounter)

# %% [markdown]
# <details><summary>Подсказки</summary>
#
# - `hint("06.1")` — с чего начать;
# - `hint("06.1", 2)` — какие методы и с какими параметрами.
# </details>
#
# <details><summary>Решение</summary>
#
# ```python
# class SpendCounter(CustomLogger):
#     def __init__(self):
#         super().__init__()
#         self.total = 0.0
#
#     def log_success_event(self, kwargs, response_obj, start_time, end_time):
#         if kwargs.get("response_cost") is not None:
#             self.total += kwargs["response_cost"]
#
#     async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
#         if kwargs.get("response_cost") is not None:
#             self.total += kwargs["response_cost"]
# ```
# Эталон с блокировкой (синхронные колбэки идут в фоновых потоках) — `solution("06.1")`.
# </details>
#
# ### Задание 6.2. Бюджет под нагрузкой
#
# Напишите `make_guard(limit)`, которая возвращает `async def ask(prompt) -> str`: вызов
# `litellm.acompletion(model="openrouter/openai/gpt-4o-mini", messages=[...], max_tokens=40)` и текст
# ответа — или `litellm.BudgetExceededError`, если запрос может не поместиться в бюджет. Проверка
# отправит 30 запросов **одновременно** с лимитом \$0.0004 и по статистике провайдера убедится,
# что расход не превысил лимит, а хотя бы пять запросов прошли. `BudgetGuard` использовать
# можно, но попробуйте сначала сами: хватит словаря и двух чисел.

# %%
def make_guard(limit: float):
    async def ask(prompt: str) -> str:
        # ваш код здесь
        raise NotImplementedError

    return ask


# %%
check("06.2", make_guard)

# %% [markdown]
# <details><summary>Подсказки</summary>
#
# - `hint("06.2")` — почему «проверить, потом вызвать» не работает;
# - `hint("06.2", 2)` — как посчитать максимум и где взять цены.
# </details>
#
# <details><summary>Решение</summary>
#
# Резерв максимальной стоимости до `await`, замена на настоящую после — `solution("06.2")`.
# </details>

# %%
progress("06")

# %% [markdown]
# ## Итоги
#
# - `litellm.max_budget` из исходного урока **ничего не ограничивает**: `_current_cost` не растёт
#   для chat completion, `acompletion` и стримов. Работает только сама проверка перед вызовом.
# - Стоимость вызова — `kwargs["response_cost"]` в `CustomLogger` с **двумя** методами
#   (`log_success_event` и `async_log_success_event`, параметры ровно `kwargs, response_obj,
#   start_time, end_time`). Кэш-попадание стоит `0.0` с `cache_hit=True`. Стрим без
#   `stream_options={"include_usage": True}`: у `openrouter/` стоимость есть (OpenRouter всегда
#   присылает `usage.cost`), но в куски стрима `usage` не попадает; у `openai/` — молча `0.0`.
#   Функция в `success_callback` зовётся на каждый кусок стрима. Колбэки глобальны: регистрируете — убирайте.
# - `BudgetManager` на 1.108.14 не умеет считать OpenRouter, никогда не блокирует и пишет
#   `./user_cost.json` в текущую папку.
# - Бюджеты `Router` работают только в `acompletion` и только если `Router` создан внутри цикла
#   событий; отказ — `ValueError`; перерасход — около одного вызова; расход общий на процесс, а
#   второй роутер с бюджетом работает, только если убрать колбэк первого. Под нагрузкой не держат.
# - Бюджет, который держится под нагрузкой, **резервирует** максимальную стоимость с запасом до
#   вызова и **рассчитывается** списанной (`response_cost`, для `openrouter/` — `usage.cost`) после:
#   `BudgetGuard`, с бюджетами на пользователя и на день. Это оценка: онлайн токенизаторы и цены
#   расходятся с таблицей курса (запас `margin` покрывает расхождение, только пока оно меньше запаса),
#   а у каждого процесса своя защита — N воркеров потратят до N бюджетов.
# - Жёсткая граница — **кредитный лимит ключа** у провайдера: после него OpenRouter отвечает 402
#   (`APIError`), `GET /api/v1/key` показывает `limit_remaining`; перерасход — только запросы, что
#   были в пути.
# - Статистика практического провайдера — это цены на `PRICES_AS_OF`: по ней видно, сколько ваш
#   трафик стоил бы онлайн на ту дату.
