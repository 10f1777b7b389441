# %% [markdown]
# # Урок 05. Роутинг и балансировка
#
# Одна модель — несколько развёртываний: два аккаунта, два провайдера, два региона. `litellm.Router`
# распределяет запросы между ними, повторяет неудачные, выводит сломавшееся развёртывание из
# ротации и (по желанию) соблюдает лимиты запросов в минуту — даже когда процессов несколько.
#
# **В этом уроке вы:**
# - запустите `Router` из исходного урока на двух развёртываниях практического провайдера;
# - увидите, что `tpm`/`rpm` в нём — **веса**, а не лимиты, и как включить настоящий лимит;
# - сравните пять стратегий роутинга на одном и том же трафике и узнаете их ловушки;
# - посмотрите, как Router переживает отказ развёртывания: ретраи, `allowed_fails`, `cooldown_time`;
# - разделите счётчики лимитов между двумя процессами через настоящий Redis;
# - поиграете с «дашбордом роутера» и решите два задания.
#
# ⏱ **Время:** 50 минут.
#
# В онлайн-режиме опыты урока тоже идут на практическом провайдере: у каждого развёртывания `Router`
# его адрес и ключ указаны явно (`course.provider.api_base(...)`), поэтому сбои, лимиты и счётчики
# запросов работают как офлайн.

# %%
from course_helpers import start_lesson

course = start_lesson("05")

# %% [markdown]
# ## 5.1 Router из исходного урока
#
# В исходном уроке две записи с одинаковым `model_name` — `"gpt-3.5-turbo"`. Это **группа моделей**:
# код обращается к ней по имени, а Router выбирает одно из **развёртываний** группы. У каждого
# развёртывания свои `litellm_params`: настоящее имя модели для LiteLLM, адрес и ключ.
#
# Практический провайдер умеет изображать независимые развёртывания: префикс `/d1`, `/d2` в адресе.
# У каждого свои задержки, сбои, лимиты и статистика. Первое развёртывание — через OpenRouter
# (`openrouter/...`), второе — через OpenAI-совместимый API (`openai/...`), как в исходном уроке.

# %%
import litellm
from litellm import Router

model_list = [
    {
        "model_name": "gpt-3.5-turbo",
        "litellm_params": {
            "model": "openrouter/openai/gpt-3.5-turbo",
            "api_base": course.provider.api_base("openrouter", deployment="d1"),
            "api_key": course.provider.key,
        },
        "tpm": 100000,
        "rpm": 10000,
    },
    {
        "model_name": "gpt-3.5-turbo",
        "litellm_params": {
            "model": "openai/gpt-3.5-turbo",
            "api_base": course.provider.api_base("openai", deployment="d2"),
            "api_key": course.provider.key,
        },
        "tpm": 100000,
        "rpm": 10000,
    },
]

# Настройка роутера
router = Router(model_list=model_list)

# Отправка запроса через роутер
response = router.completion(
    model="gpt-3.5-turbo",
    messages=[{"role": "user", "content": "Привет!"}],
)
print(response.choices[0].message.content)


# %% [markdown]
# Кто ответил? Router кладёт адрес выбранного развёртывания в `response._hidden_params["api_base"]`,
# а провайдер знает, сколько запросов получило каждое развёртывание.

# %%
def where(response) -> str:
    """Какое развёртывание ответило: 'd1' или 'd2' (видно по api_base)."""
    return response._hidden_params["api_base"].split("/")[3]


print("ответило развёртывание из группы:", where(response) in ("d1", "d2"))
print("запросов у провайдера:", course.provider.stats()["requests"])
print("настройки по умолчанию:", router.routing_strategy, "| num_retries", router.num_retries,
      "| allowed_fails", router.allowed_fails, "| cooldown_time", router.cooldown_time)

# %% [markdown]
# > **Важно:** `api_base` и `api_key` указаны в каждом развёртывании явно, поэтому этот Router всегда
# > ходит в практический провайдер, даже в онлайн-режиме. Для настоящих ключей в продакшене
# > пишите `"api_key": os.getenv("OPENROUTER_API_KEY")`, как в исходном уроке.
#
# ## 5.2 `tpm` и `rpm` — это веса
#
# Стратегия по умолчанию — `simple-shuffle`: случайный выбор развёртывания. Если у развёртываний
# есть `weight`, `rpm` или `tpm` (в этом порядке приоритета; в `litellm_params` или на верхнем уровне
# записи), случайный выбор **взвешивается** ими. В исходном уроке у обоих развёртываний одинаковые
# `rpm=10000`, значит, трафик делится пополам.
#
# Зададим `rpm` 900 и 100 и пошлём 200 запросов. Чтобы это было быстро, уберём задержку провайдера,
# а запросы отправим конкурентно: `acompletion` + `asyncio.gather`. Прогресс покажет `tqdm`
# (`tqdm.gather` — это `asyncio.gather` с полосой прогресса). `simple-shuffle` берёт случайность из
# модуля `random`, поэтому `random.seed(...)` делает распределение воспроизводимым.

# %%
import asyncio
import random
from collections import Counter

from tqdm.auto import tqdm

MSG = [{"role": "user", "content": "Привет!"}]
MODEL = "openai/gpt-3.5-turbo"  # так провайдер называет модель в статистике, сбоях и лимитах


def deployment(name: str, flavor: str = "openrouter", **params) -> dict:
    """Развёртывание группы gpt-3.5-turbo на практическом провайдере: d1, d2, ..."""
    prefix = "openrouter/" if flavor == "openrouter" else ""
    return {"model_name": "gpt-3.5-turbo",
            "litellm_params": {"model": prefix + MODEL,
                               "api_base": course.provider.api_base(flavor, deployment=name),
                               "api_key": course.provider.key, **params}}


async def traffic(router, n: int, gap_s: float = 0.0, desc: str = "запросы") -> list:
    """n запросов через router.acompletion, i-й стартует через i*gap_s; ошибки возвращаются, а не бросаются."""
    async def one(i: int):
        await asyncio.sleep(i * gap_s)
        try:
            return await router.acompletion(model="gpt-3.5-turbo", messages=MSG)
        except Exception as e:
            return e
    # leave=False: полоса исчезает, когда всё готово (в сохранённом ноутбуке не остаётся «скорости»)
    return await tqdm.gather(*(one(i) for i in range(n)), desc=desc, leave=False)


def served() -> dict[str, int]:
    """Сколько запросов получило каждое развёртывание — по статистике провайдера."""
    return {dep: s["requests"] for dep, s in course.provider.stats()["by_deployment"].items()}


# %%
course.provider.reset()
course.provider.set_latency(MODEL, base_ms=5, per_token_ms=0)  # почти мгновенные ответы

random.seed(5)  # воспроизводимый выбор simple-shuffle
weighted = Router(model_list=[deployment("d1", rpm=900), deployment("d2", "openai", rpm=100)])
results = await traffic(weighted, 200)

by_dep = served()
print("ошибок:", sum(isinstance(r, Exception) for r in results))
print("d1 получил больше 80% запросов:", by_dep["d1"] / 200 > 0.8)
print("d2 тоже получал запросы:", by_dep.get("d2", 0) > 0)

# %% [markdown]
# `tqdm` пригодится и в вашем коде: сотни запросов идут секунды, и полоса показывает, что работа идёт.
# Нарисуем распределение по статистике провайдера — это «истина», а не то, что думает клиент.

# %%
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(5, 2.5))
ax.bar(list(by_dep), list(by_dep.values()), color=["#4c72b0", "#dd8452"])
ax.set_title("simple-shuffle, rpm 900 : 100 — 200 запросов")
ax.set_ylabel("запросов у провайдера")
for i, v in enumerate(by_dep.values()):
    ax.text(i, v, str(v), ha="center", va="bottom")
plt.show()

# %% [markdown]
# А лимит? Отправим 6 запросов в развёртывание с `rpm=3`:

# %%
course.provider.reset()
course.provider.set_latency(MODEL, base_ms=5, per_token_ms=0)
limited = Router(model_list=[deployment("d1", rpm=3)])
print([where(limited.completion(model="gpt-3.5-turbo", messages=MSG)) for _ in range(6)])
print("провайдер получил:", served())

# %% [markdown]
# > **Осторожно:** в исходном уроке `"tpm": 100000, "rpm": 10000` выглядят как лимиты. На самом деле
# > по умолчанию это только **веса** для случайного выбора: Router спокойно отправляет запросы сверх
# > `rpm`. Настоящий лимит — в разделе 5.4.
#
# ## 5.3 Пять стратегий на одном и том же трафике
#
# `routing_strategy` выбирает, **как** Router выбирает развёртывание:
#
# | стратегия | выбирает | нужно знать |
# |---|---|---|
# | `simple-shuffle` | случайно, с весами `weight`/`rpm`/`tpm` | по умолчанию; лимиты не соблюдает |
# | `least-busy` | развёртывание с наименьшим числом запросов «в полёте» | смысл есть только при конкурентном (async) трафике |
# | `latency-based-routing` | самое быстрое по недавним ответам (время на токен) | один такой Router на процесс (ниже) |
# | `usage-based-routing-v2` | наименее загруженное по tpm/rpm за минуту | проверяет `rpm`; для async |
# | `cost-based-routing` | самое дешёвое | **только async**; для `openrouter/*` нужны явные цены |
#
# Сделаем развёртывания разными: d1 медленное (800 мс), но дешёвое и с весом 9; d2 быстрое (60 мс),
# дорогое, с весом 1. Цены `input_cost_per_token`/`output_cost_per_token` указаны явно: для моделей
# `openrouter/*` в таблице цен LiteLLM записей нет. Трафик одинаковый для всех: 3 запроса по
# очереди («разминка», о ней ниже), затем 100 запросов, по одному каждые 20 мс.

# %%
STRATEGIES = ["simple-shuffle", "least-busy", "latency-based-routing", "usage-based-routing-v2",
              "cost-based-routing"]


def two_deployments() -> list[dict]:
    return [deployment("d1", rpm=9000, input_cost_per_token=0.5e-6, output_cost_per_token=1.5e-6),
            deployment("d2", "openai", rpm=1000, input_cost_per_token=5e-6, output_cost_per_token=15e-6)]


def slow_d1_fast_d2() -> None:
    course.provider.reset()
    course.provider.set_latency(MODEL, base_ms=800, per_token_ms=0, jitter=0.1, deployment="d1")
    course.provider.set_latency(MODEL, base_ms=60, per_token_ms=0, jitter=0.1, deployment="d2")


async def same_traffic(router, desc: str) -> list:
    """Разминка: 3 запроса по очереди; затем 100 запросов с интервалом 20 мс."""
    warmup = [await router.acompletion(model="gpt-3.5-turbo", messages=MSG) for _ in range(3)]
    return warmup + await traffic(router, 100, gap_s=0.02, desc=desc)


shares = {}
for strategy in STRATEGIES:
    slow_d1_fast_d2()
    random.seed(5)
    router = Router(model_list=two_deployments(), routing_strategy=strategy)
    results = await same_traffic(router, strategy)
    assert not any(isinstance(r, Exception) for r in results)
    shares[strategy] = served()

# %%
verdicts = {
    "simple-shuffle": ("d1 (вес 9) получил больше 75%", shares["simple-shuffle"].get("d1", 0) > 77),
    "least-busy": ("больше половины — быстрому d2", shares["least-busy"].get("d2", 0) > 52),
    "latency-based-routing": ("больше 2/3 — быстрому d2", shares["latency-based-routing"].get("d2", 0) > 68),
    "usage-based-routing-v2": ("оба получили больше 20%", min(shares["usage-based-routing-v2"].get(d, 0)
                                                             for d in ("d1", "d2")) > 21),
    "cost-based-routing": ("все 103 — дешёвому d1", shares["cost-based-routing"].get("d1", 0) == 103),
}
for strategy, (claim, ok) in verdicts.items():
    print(f"{strategy:24} {claim}: {ok}")

fig, ax = plt.subplots(figsize=(8, 3))
x = range(len(STRATEGIES))
for offset, dep, color in ((-0.2, "d1", "#4c72b0"), (0.2, "d2", "#dd8452")):
    values = [shares[s].get(dep, 0) for s in STRATEGIES]
    ax.bar([i + offset for i in x], values, width=0.4, label=f"{dep}", color=color)
ax.set_xticks(list(x), [s.replace("-routing", "") for s in STRATEGIES], fontsize=8)
ax.set_ylabel("запросов из 103")
ax.set_title("d1: медленное, дешёвое, вес 9  ·  d2: быстрое, дорогое, вес 1")
ax.legend()
plt.show()

# %% [markdown]
# Каждая стратегия оптимизирует своё: вес, загрузку, скорость, равномерность, цену. Теперь ловушки.
#
# **latency-based-routing и холодный старт.** Развёртывание, у которого ещё нет ни одного замера,
# эта стратегия считает самым быстрым. Без разминки, пока медленное d1 не ответило в первый раз,
# все новые запросы летят в него: при 800 мс и запросе каждые 20 мс — около сорока. Разминка из
# нескольких последовательных запросов даёт замеры обоим развёртываниям. Заметьте и то, что первый
# запрос к каждому развёртыванию медленнее остальных (LiteLLM создаёт HTTP-клиент), и этот замер
# тоже попадает в среднее.
#
#
# **cost-based-routing не работает в синхронном `completion`.** У него нет синхронной реализации:
# Router отвечает, что «нет доступных развёртываний».

# %%
cheap_first = Router(model_list=two_deployments(), routing_strategy="cost-based-routing")
try:
    cheap_first.completion(model="gpt-3.5-turbo", messages=MSG)
except Exception as e:
    print(type(e).__name__, "| это ValueError:", isinstance(e, ValueError))
    print(str(e)[:70])

# %% [markdown]
# **Второй latency-based Router в том же процессе выбирает наугад.** Замеры задержек ведёт
# обработчик, который Router регистрирует в `litellm.callbacks`. LiteLLM не добавляет второй
# обработчик того же класса с теми же настройками — и у второго Router его данных просто нет.

# %%
from litellm.router_strategy.lowest_latency import LowestLatencyLoggingHandler

slow_d1_fast_d2()
random.seed(5)
second = Router(model_list=two_deployments(), routing_strategy="latency-based-routing")
await same_traffic(second, "второй latency-Router")
print("обработчиков задержки в litellm.callbacks:",
      sum(isinstance(c, LowestLatencyLoggingHandler) for c in litellm.callbacks))
print("второй Router отправил быстрому d2 больше 2/3:", served().get("d2", 0) > 68)

# %% [markdown]
# Выход — один latency-based Router на процесс (создайте его один раз и используйте везде).
#
# **usage-based-routing-v2 в синхронном коде.** Стратегия считает запросы за минуту (по `id`
# развёртывания — это хэш `litellm_params`, если `model_info.id` не задан) и не пускает сверх `rpm`.
# Но в синхронном `completion` она неаккуратна: в отдельном скрипте пускает `rpm - 1` запрос и
# бросает голый `ValueError` вместо `RateLimitError` (в Jupyter, как ниже, обычно пускает ровно
# `rpm`). Для лимитов пользуйтесь async.

# %%
import time
import uuid

course.provider.reset()
course.provider.set_latency(MODEL, base_ms=5, per_token_ms=0)

# счётчики поминутные: пять запросов должны уложиться в одну минуту,
# поэтому в последние 15 секунд минуты ждём начала следующей
if time.gmtime().tm_sec > 45:
    time.sleep(61 - time.gmtime().tm_sec)


def attempt(router) -> str:
    try:
        return where(router.completion(model="gpt-3.5-turbo", messages=MSG))
    except Exception as e:
        return type(e).__name__


# свой id: счётчик не достанется от других Router этого процесса
v2 = Router(model_list=[{**deployment("d1", rpm=3), "model_info": {"id": uuid.uuid4().hex}}],
            routing_strategy="usage-based-routing-v2")
first_run = [attempt(v2) for _ in range(5)]
print("rpm=3: пропущено не больше 3 из 5:", sum(o == "d1" for o in first_run) <= 3)
print("лишние получили ValueError или RateLimitError:",
      all(o in ("ValueError", "RateLimitError") for o in first_run if o != "d1"))

# %% [markdown]
# **Обработчики стратегий глобальны.** Router с `usage-based-routing-v2` регистрирует свой обработчик в
# общем списке `litellm.callbacks`, и тот проверяет `rpm` у **всех** Router процесса. Повторим опыт из
# раздела 5.2 — обычный `simple-shuffle`, `rpm=3`, 6 запросов:

# %%
from litellm.router_strategy.lowest_tpm_rpm_v2 import LowestTPMLoggingHandler_v2

print("обработчик v2 в litellm.callbacks:", any(isinstance(c, LowestTPMLoggingHandler_v2) for c in litellm.callbacks))
plain = Router(model_list=[{**deployment("d1", rpm=3), "model_info": {"id": uuid.uuid4().hex}}], num_retries=0)
print("simple-shuffle, rpm=3:", [attempt(plain) for _ in range(6)])

# %% [markdown]
# В разделе 5.2 все 6 запросов прошли, теперь — только 3: поведение Router зависит от того, какие
# другие Router уже создавались в процессе. Держите в процессе одну конфигурацию Router, а лимиты
# включайте явно (следующий раздел), а не «случайно».

# %% [markdown]
# ## 5.4 Лимиты: когда `rpm` соблюдается
#
# Чтобы Router **не пускал** запросы сверх `rpm`, включите проверку перед вызовом:
# `optional_pre_call_checks=["enforce_model_rate_limits"]`. Она работает и в асинхронном
# `acompletion`, и в синхронном `completion`: с `rpm=3` три вызова подряд проходят, следующие получают
# `RateLimitError`, а провайдер видит ровно три запроса. Ретраи выключим (`num_retries=0`): иначе
# Router будет ждать и повторять отклонённые запросы.
#
# Уникальный `model_info={"id": ...}` даёт развёртыванию свой счётчик: иначе `id` — хэш параметров,
# и счётчик достался бы от других Router этого процесса.
#
# Router с `rpm=5` и проверкой получит два «залпа» по 10 одновременных запросов в одну минуту.

# %%
async def two_bursts(router) -> list[Counter]:
    outcomes = []
    for _ in range(2):
        burst = await asyncio.gather(*(router.acompletion(model="gpt-3.5-turbo", messages=MSG) for _ in range(10)),
                                     return_exceptions=True)
        outcomes.append(Counter("ok" if not isinstance(r, Exception) else type(r).__name__ for r in burst))
        await asyncio.sleep(1)  # пауза: Router успевает отметить, что запросы залпа завершились
    return outcomes


if time.localtime().tm_sec > 55:  # оба залпа — в одну минуту
    time.sleep(61 - time.localtime().tm_sec)
course.provider.reset()
course.provider.set_latency(MODEL, base_ms=50, per_token_ms=0)
enforced = Router(model_list=[{**deployment("d1", rpm=5), "model_info": {"id": uuid.uuid4().hex}}],
                  optional_pre_call_checks=["enforce_model_rate_limits"], num_retries=0)
first, second = await two_bursts(enforced)
print("1-й залп:", dict(sorted(first.items())))
print("2-й залп:", dict(sorted(second.items())))
print("провайдер получил:", served())

# %% [markdown]
# Что видно:
#
# - **Первый залп: 5 прошли, 5 отклонены сразу.** Это ещё не лимит в минуту: из `rpm` LiteLLM выводит
#   `max_parallel_requests` — больше 5 запросов «в полёте» развёртывание не берёт («all
#   max_parallel_requests slots in use»). Такой предел одновременности действует и без всяких проверок
#   (в чистом процессе второй залп без проверки снова прошёл бы на 5 запросов).
# - **Второй залп отклонён целиком:** лимит минуты выбран. Провайдер получил ровно 5, лишние запросы до
#   сети не дошли — `litellm.RateLimitError` (статус 429).
#
# > **Осторожно:** с ретраями по умолчанию (`num_retries=2`) отклонённые запросы могут не упасть сразу:
# > отказ несёт заголовок `retry-after: 60`, Router ждёт столько и повторяет — отклонённые вызовы
# > первого залпа «висели» бы до минуты.
#
# Лимит бывает и **у самого провайдера**: он отвечает настоящим 429 с заголовком `Retry-After`.
# Включим у развёртывания d1 лимит 5 запросов в минуту: `course.provider.set_limits(...)`.

# %%
course.provider.reset()
course.provider.set_latency(MODEL, base_ms=5, per_token_ms=0)
course.provider.set_limits(MODEL, rpm=5, deployment="d1")

only_d1 = Router(model_list=[deployment("d1")], num_retries=0)
print("только d1:", [attempt(only_d1) for _ in range(7)])
try:
    only_d1.completion(model="gpt-3.5-turbo", messages=MSG)
except litellm.RateLimitError as e:
    print("status_code:", e.status_code, "| Retry-After:", e.litellm_response_headers.get("retry-after"), "с")

# %% [markdown]
# Здесь каждый лишний запрос дошёл до провайдера и получил отказ. Router с **двумя** развёртываниями
# ведёт себя иначе: одного 429 достаточно, чтобы d1 ушло в «остывание» (cooldown), и запросы идут
# на d2 — пользователь ошибок не видит.

# %%
course.provider.reset()
course.provider.set_latency(MODEL, base_ms=5, per_token_ms=0)
course.provider.set_limits(MODEL, rpm=5, deployment="d1")
random.seed(5)
pair = Router(model_list=[{**deployment("d1"), "model_info": {"id": uuid.uuid4().hex}},
                          {**deployment("d2"), "model_info": {"id": uuid.uuid4().hex}}])
outcomes = [attempt(pair) for _ in range(30)]
statuses = course.provider.stats()["by_deployment"]["d1"]
print("ошибок у пользователя:", sum(o not in ("d1", "d2") for o in outcomes))
print("провайдер ответил d1 отказом 429 ровно один раз:", statuses.get("status_429", 0) == 1)

# %% [markdown]
# | | где лимит | что видит пользователь | что видит провайдер |
# |---|---|---|---|
# | `rpm` без проверок | нигде (вес и предел одновременных запросов) | ничего, пока нет залпа | все запросы |
# | `enforce_model_rate_limits` (`completion` и `acompletion`) | в Router, до сети | `RateLimitError` сверх `rpm` | ровно `rpm` |
# | лимит провайдера, одно развёртывание | у провайдера | `RateLimitError` с `Retry-After` | все запросы, лишние — 429 |
# | лимит провайдера, есть второе развёртывание | у провайдера | ничего: cooldown + ретрай на d2 | один 429 |
#
# ## 5.5 Надёжность: ретраи, `allowed_fails`, `cooldown_time`
#
# **Ретраи.** По умолчанию `num_retries=2`: Router повторяет ошибки, которые имеет смысл повторять
# (429, 5xx, таймауты). 400 и 404 не повторяются; 401 — только если в группе есть другое
# развёртывание (упавшее при повторе пропускается). Каждый повтор — новый выбор развёртывания в группе,
# он может попасть и в то же самое. Пакет `tenacity` для этого не нужен.
#
# **Пауза перед повтором** бывает, только когда повторять больше негде — в группе **одно**
# развёртывание: 0,5 с, 1 с, 2 с плюс случайная добавка до 0,75 с (`Retry-After` паузу удлиняет). Если
# развёртываний несколько и не все в cooldown, Router повторяет **сразу**.

# %%
course.provider.reset()
course.provider.set_latency(MODEL, base_ms=5, per_token_ms=0)
course.provider.fail(MODEL, 503, deployment="d1")  # d1 отвечает 503 всегда

single = Router(model_list=[deployment("d1")])
start = time.perf_counter()
try:
    single.completion(model="gpt-3.5-turbo", messages=MSG)
except litellm.ServiceUnavailableError as e:
    print(type(e).__name__, "| попыток у провайдера:", served()["d1"])
print(f"ждали между попытками: {time.perf_counter() - start:.1f} с")

# %% [markdown]
# Теперь один-единственный сбой 503 (на первый же запрос) — в группе из одного развёртывания и в
# группе из двух. Паузу перед повтором меряем по журналу провайдера: время между первым запросом и
# повтором.

# %%
def unique(name: str) -> dict:
    """Развёртывание со своим id: счётчики неудач и cooldown не достанутся от других Router."""
    return {**deployment(name), "model_info": {"id": uuid.uuid4().hex}}


def pause_before_retry(router) -> float:
    course.provider.reset()
    course.provider.set_latency(MODEL, base_ms=5, per_token_ms=0)
    course.provider.fail(MODEL, 503, times=1)  # ровно один сбой — на первый запрос
    router.completion(model="gpt-3.5-turbo", messages=MSG)
    first, retry = course.provider.log()
    return retry["t"] - first["t"]


random.seed(5)
alone = pause_before_retry(Router(model_list=[unique("d1")]))
pair_pause = pause_before_retry(Router(model_list=[unique("d1"), unique("d2")]))
print(f"одно развёртывание: пауза перед повтором {alone:.2f} с")
print(f"два развёртывания:  пауза перед повтором {pair_pause:.2f} с")
print("с двумя развёртываниями повтор без паузы:", pair_pause < alone / 2)

# %% [markdown]
# Число повторов можно задать **по классу ошибки** — параметром `retry_policy` (ключи названы по
# классам исключений LiteLLM: `RateLimitErrorRetries`, `TimeoutErrorRetries`,
# `ServiceUnavailableErrorRetries`…). Например, 503 не повторять, остальное — по `num_retries`:

# %%
course.provider.reset()
course.provider.set_latency(MODEL, base_ms=5, per_token_ms=0)
course.provider.fail(MODEL, 503, deployment="d1")

no_503_retries = Router(model_list=[unique("d1")], retry_policy={"ServiceUnavailableErrorRetries": 0})
try:
    no_503_retries.completion(model="gpt-3.5-turbo", messages=MSG)
except litellm.ServiceUnavailableError as e:
    print(type(e).__name__, "| попыток у провайдера:", served()["d1"])

# %% [markdown]
# Следите за классом ошибки: через `openrouter/` ответ 500 приходит как `APIError` (урок 02), и ключ
# `InternalServerErrorRetries` на него не действует.
#
# **Cooldown.** Router умеет вывести развёртывание из ротации на `cooldown_time` секунд (по умолчанию
# 5), потом пробует снова. **Когда** — зависит от правила, а правило выбирает `allowed_fails` (и
# `allowed_fails_policy`, о ней ниже):
#
# - **`allowed_fails` не задан или равен 3** (это значение по умолчанию, `litellm.allowed_fails`) —
#   правило по умолчанию, неудачи поштучно не считаются. Развёртывание уходит в cooldown:
#   - после **первого же 429**, если в группе есть другие развёртывания;
#   - после ошибки, которую повтор не лечит: **401 или 404** (400 и 403 cooldown не вызывают);
#   - когда за текущую минуту **больше половины** его запросов упали и запросов было **не меньше 5**
#     (если в группе есть другие развёртывания; одиночное — только когда упали все, и их не меньше 1000).
# - **`allowed_fails=N`, N ≠ 3** — правило счёта: cooldown на **(N + 1)-й** неудаче. Счётчик живёт
#   `cooldown_time` секунд после последней неудачи. (Одиночное развёртывание, у группы которого нет
#   резервной группы, так в cooldown не уходит.)
#
# Значит, `allowed_fails=3`, записанный «для ясности», ничего не меняет, а развёртывание, которое всегда
# отвечает 503, по умолчанию выходит из ротации после **пяти** неудач, а не после четырёх. Проверим:
# d1 отвечает всегда одним статусом, d2 здоров, 30 запросов по одному (ретраи выключены, чтобы каждый
# вызов был одним запросом). Сколько из них дошло до d1?

# %%
def requests_to_broken_d1(status: int, **options) -> int:
    if time.localtime().tm_sec > 55:  # счётчики поминутные: опыт — целиком в одной минуте
        time.sleep(61 - time.localtime().tm_sec)
    course.provider.reset()
    course.provider.set_latency(MODEL, base_ms=5, per_token_ms=0)
    course.provider.fail(MODEL, status, deployment="d1")
    random.seed(5)
    router = Router(model_list=[unique("d1"), unique("d2")], num_retries=0,
                    cooldown_time=60, **options)  # cooldown дольше опыта: d1 не вернётся до конца
    for _ in range(30):
        attempt(router)
    return served()["d1"]


for status, options in [(503, {}), (503, {"allowed_fails": 3}), (503, {"allowed_fails": 2}),
                        (429, {}), (401, {})]:
    setting = ", ".join(f"{k}={v}" for k, v in options.items()) or "по умолчанию"
    print(f"d1 отвечает {status}, {setting}: до d1 дошло {requests_to_broken_d1(status, **options)} из 30")

# %% [markdown]
# Порог можно задать и **по классу ошибки** — `allowed_fails_policy`. Например,
# `allowed_fails_policy={"RateLimitErrorAllowedFails": 3}` — терпеть три 429 и выводить из ротации на
# четвёртом (а не на первом). Учтите: с такой политикой, как и с `allowed_fails` ≠ 3, Router переходит
# на правило счёта **для всех** ошибок, и для классов, которых нет в политике, порог — `allowed_fails`:
# с этой политикой развёртывание с 503 выходит из ротации на четвёртой неудаче, а не на пятой.
#
# Теперь cooldown на живом трафике: 200 запросов за 4 секунды, два равных развёртывания,
# `allowed_fails=1`, `cooldown_time=1`. С 1-й по 2-ю секунду d1 отвечает 503, потом чинится. Журнал
# провайдера `course.provider.log()` знает время `t`, развёртывание и статус каждого запроса — по нему
# и нарисуем.

# %%
course.provider.reset()
course.provider.set_latency(MODEL, base_ms=40, per_token_ms=0)
random.seed(5)
resilient = Router(model_list=[deployment("d1"), deployment("d2")], allowed_fails=1, cooldown_time=1)


async def outage() -> None:
    await asyncio.sleep(1.0)
    course.provider.fail(MODEL, 503, deployment="d1")  # d1 сломалось...
    await asyncio.sleep(1.0)
    course.provider.clear_faults()  # ...и починилось


results, _ = await asyncio.gather(traffic(resilient, 200, gap_s=0.02, desc="сбой посреди трафика"), outage())
log = course.provider.log()

# %%
t0 = log[0]["t"]
during = [e for e in log if 1.1 <= e["t"] - t0 < 2.0]
print("ошибок у пользователя:", sum(isinstance(r, Exception) for r in results))
print("d1 отвечал 503:", any(e["status"] == 503 for e in log))
print("во время сбоя больше половины запросов шли на d2:",
      sum(e["deployment"] == "d2" for e in during) > len(during) / 2)
print("после починки d1 снова получает запросы:", any(e["deployment"] == "d1" and e["t"] - t0 > 3.0 for e in log))

fig, ax = plt.subplots(figsize=(8, 3))
bins = [i * 0.25 for i in range(18)]
for dep, color in (("d1", "#4c72b0"), ("d2", "#dd8452")):
    ax.hist([e["t"] - t0 for e in log if e["deployment"] == dep and e["status"] == 200], bins=bins,
            histtype="step", linewidth=2, color=color, label=f"{dep}: 200")
ax.hist([e["t"] - t0 for e in log if e["status"] == 503], bins=bins, color="#c44e52", alpha=0.6,
        label="d1: 503")
ax.axvspan(1.0, 2.0, color="grey", alpha=0.15, label="d1 сломано")
ax.set_xlabel("время от начала, с")
ax.set_ylabel("запросов за 0,25 с")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# Серая полоса — окно сбоя. Красное — ответы 503 от d1: каждый такой запрос Router тут же, без паузы,
# повторил, а после второй ошибки (`allowed_fails=1`) вывел d1 из ротации на `cooldown_time=1` с.
# Вернувшись, d1 снова получает трафик (а если бы сбой продолжался, снова ушёл бы в cooldown — опять
# после двух неудач: счётчик живёт `cooldown_time` секунд после последней неудачи и к возвращению d1
# уже обнулён). Пользователь ошибок не видит.
#
# **Все развёртывания остыли.** Если в cooldown ушла вся группа, Router даже не пытается звонить:
# он бросает `RouterRateLimitError`. Это **не** `litellm.RateLimitError`, а подкласс `ValueError`
# со `status_code=429` — обычный `except litellm.RateLimitError` его не поймает.

# %%
from litellm.types.router import RouterRateLimitError

course.provider.reset()
course.provider.set_latency(MODEL, base_ms=5, per_token_ms=0)
course.provider.fail(MODEL, 503)  # оба развёртывания отвечают 503

fragile = Router(model_list=[{**deployment("d1"), "model_info": {"id": uuid.uuid4().hex}},
                             {**deployment("d2"), "model_info": {"id": uuid.uuid4().hex}}],
                 allowed_fails=0, num_retries=0)
errors = []
for _ in range(4):
    try:
        fragile.completion(model="gpt-3.5-turbo", messages=MSG)
    except Exception as e:
        errors.append(e)
print([type(e).__name__ for e in errors])
print("RouterRateLimitError — это ValueError:", isinstance(errors[-1], ValueError),
      "| litellm.RateLimitError:", isinstance(errors[-1], litellm.RateLimitError),
      "| status_code:", errors[-1].status_code)
print("до провайдера дошло:", served())

# %% [markdown]
# ## 5.6 Несколько процессов: общий Redis
#
# Счётчики `rpm`/`tpm` Router хранит в памяти процесса. Запустите приложение в четырёх воркерах —
# и лимит фактически умножится на четыре. Чтобы процессы делили счётчики, дайте Router адрес Redis:
# `Router(..., redis_host=..., redis_port=...)` (нужен пакет `redis`).
#
# Проверим на двух настоящих процессах. Скрипт ниже делает 4 запроса через Router с `rpm=4` и
# проверкой лимита; запустим его дважды подряд с одним и тем же Redis.

# %%
import json
import subprocess
import sys

from course_helpers import RedisUnavailable, redis_host_port, redis_url

WORKER = '''
import asyncio, json, sys
from litellm import Router

api_base, api_key, redis_host, redis_port, deployment_id = sys.argv[1:6]
router = Router(
    model_list=[{"model_name": "gpt-3.5-turbo",
                 "litellm_params": {"model": "openrouter/openai/gpt-3.5-turbo", "api_base": api_base,
                                    "api_key": api_key, "rpm": 4},
                 "model_info": {"id": deployment_id}}],
    redis_host=redis_host, redis_port=int(redis_port),
    optional_pre_call_checks=["enforce_model_rate_limits"], num_retries=0,
)

async def main():
    outcomes = []
    for _ in range(4):
        try:
            await router.acompletion(model="gpt-3.5-turbo", messages=[{"role": "user", "content": "Привет!"}])
            outcomes.append("ok")
        except Exception as e:
            outcomes.append(type(e).__name__)
    return outcomes

print(json.dumps(asyncio.run(main())))
'''
worker = course.fresh_dir("redis_router") / "worker.py"
worker.write_text(WORKER, encoding="utf-8")


def run_worker(host: str, port: int, deployment_id: str) -> list[str]:
    args = [sys.executable, str(worker), course.provider.api_base("openrouter", deployment="d1"),
            course.provider.key, host, str(port), deployment_id]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    return json.loads(done.stdout.strip().splitlines()[-1])


# %%
try:
    host, port = redis_host_port(redis_url())
except RedisUnavailable as e:
    print(e)
else:
    # ключи счётчиков в Redis поминутные: оба процесса должны уложиться в одну минуту
    if time.localtime().tm_sec > 40:
        time.sleep(61 - time.localtime().tm_sec)
    course.provider.reset()
    course.provider.set_latency(MODEL, base_ms=5, per_token_ms=0)
    run_id = uuid.uuid4().hex  # свой id на каждый запуск: счётчики прошлых запусков не мешают
    print("процесс A:", run_worker(host, port, run_id))
    print("процесс B:", run_worker(host, port, run_id))
    print("провайдер получил:", served())

# %% [markdown]
# Процесс B получил `RateLimitError` на все 4 запроса: лимит этой минуты уже выбрал процесс A, и B
# узнал об этом из Redis. Без `redis_host` каждый процесс отправил бы свои 4 запроса.
#
# > **Важно:** ключи в Redis имеют вид `global_router:<id>:<модель>:rpm:<ЧЧ-ММ>` — счётчик на каждую
# > минуту. Поэтому процессы должны иметь одинаковый `id` развёртывания: при одинаковых
# > `litellm_params` он совпадает сам (это хэш), а если адреса у процессов разные — задайте
# > `model_info={"id": ...}` явно.
#
# ## 5.7 Панель: дашборд роутера
#
# Выберите стратегию, задержку и долю сбоев (503) для каждого развёртывания и число запросов,
# нажмите «Запустить». Запросы идут через `router.acompletion` конкурентно, ретраи включены
# (`num_retries=2`, `allowed_fails=1`, `cooldown_time=1`). Таблица и график построены по журналу
# провайдера.

# %%
from course_helpers.panels.routing import RouterDashboard

dashboard = RouterDashboard(course.provider)
dashboard.widget

# %% [markdown]
# Кнопка вызывает `dashboard.run()`. Вызовем его из кода: least-busy, d1 медленное и сбоит в 20% случаев.

# %%
dashboard.strategy.value = "least-busy"
dashboard.latency_d1.value = 800
dashboard.fault_d1.value = 0.2
summary = dashboard.run()
print("ошибок у пользователя:", summary["user_errors"])
print("больше половины запросов — на d2:", summary["by_deployment"].get("d2", 0) > summary["requests"] / 2)

# %% [markdown]
# Попробуйте сами: `latency-based-routing` при медленном d1; `simple-shuffle` при сбоях 50% на d1
# (ошибок у пользователя всё равно нет — спасают ретраи и cooldown); сбои на **обоих** развёртываниях.
#
# ### Задание 5.1. Девять к одному
#
# Напишите функцию `build_weighted_router()`, которая возвращает `Router` группы `"gpt-3.5-turbo"`
# из двух развёртываний практического провайдера — d1 и d2 (адреса:
# `course.provider.api_base("openrouter", deployment="d1")` и `..."d2"`), — так, чтобы примерно
# **90%** трафика шло на d1, а остальное на d2. Проверка отправит 200 запросов и посмотрит на
# статистику провайдера.

# %%
def build_weighted_router() -> Router:
    # ваш код здесь
    raise NotImplementedError


# %%
from course_helpers import check, hint, progress, solution

check("05.1", build_weighted_router)

# %% [markdown]
# <details><summary>Подсказки</summary>
#
# - `hint("05.1")` — что задаёт долю трафика;
# - `hint("05.1", 2)` — как записать веса.
# </details>
#
# <details><summary>Решение</summary>
#
# ```python
# def build_weighted_router() -> Router:
#     return Router(model_list=[
#         {"model_name": "gpt-3.5-turbo",
#          "litellm_params": {"model": "openrouter/openai/gpt-3.5-turbo",
#                             "api_base": course.provider.api_base("openrouter", deployment="d1"),
#                             "api_key": course.provider.key, "weight": 9}},
#         {"model_name": "gpt-3.5-turbo",
#          "litellm_params": {"model": "openrouter/openai/gpt-3.5-turbo",
#                             "api_base": course.provider.api_base("openrouter", deployment="d2"),
#                             "api_key": course.provider.key, "weight": 1}},
#     ])
# ```
# Вместо `weight` подойдут `rpm` 900 и 100. Или выполните `solution("05.1")`.
# </details>
#
# ### Задание 5.2. Отказ без последствий
#
# Напишите `build_resilient_router()`: Router группы `"gpt-3.5-turbo"` на d1 и d2, который
# переживает отказ одного развёртывания так, что пользователь **не видит ни одной ошибки**, а
# сломанное развёртывание быстро перестаёт получать запросы. Проверка сломает d1 (503 на каждый
# запрос) и отправит 40 запросов по одному.

# %%
def build_resilient_router() -> Router:
    # ваш код здесь
    raise NotImplementedError


# %%
check("05.2", build_resilient_router)

# %% [markdown]
# <details><summary>Подсказки</summary>
#
# - `hint("05.2")` — что спасает запрос, попавший на сломанное развёртывание;
# - `hint("05.2", 2)` — какие параметры Router за это отвечают.
# </details>
#
# <details><summary>Решение</summary>
#
# ```python
# def build_resilient_router() -> Router:
#     return Router(
#         model_list=[deployment("d1"), deployment("d2")],  # функция из раздела 5.2
#         num_retries=2,      # повтор без паузы: в группе два развёртывания
#         allowed_fails=1,    # после второй ошибки d1 уходит в cooldown
#         cooldown_time=30,
#     )
# ```
# Или выполните `solution("05.2")`.
# </details>

# %%
progress("05")

# %% [markdown]
# ## Итоги
#
# - `model_name` — группа, `litellm_params` — развёртывание; Router выбирает развёртывание в группе.
# - `tpm`/`rpm` в `model_list` по умолчанию — **веса** для `simple-shuffle` (приоритет `weight` →
#   `rpm` → `tpm`), а не лимиты в минуту; ещё `rpm` задаёт предел одновременных запросов
#   (`max_parallel_requests`).
# - Лимит соблюдает `optional_pre_call_checks=["enforce_model_rate_limits"]` — и в `completion`, и в
#   `acompletion`: сверх `rpm` — `RateLimitError`, провайдер получает ровно `rpm` (ретраи для этого
#   выключите).
# - Стратегии: `least-busy` — для конкурентного трафика; `latency-based-routing` — один Router на
#   процесс и разминка; `usage-based-routing-v2` — async (в sync бывает голый `ValueError`); `cost-based-routing` —
#   только async и с явными ценами для `openrouter/*`. Счётчики общие для процесса по `id` развёртывания.
# - Обработчики стратегий живут в общем `litellm.callbacks`: после Router с `usage-based-routing-v2`
#   `rpm` проверяется у всех Router процесса. Одна конфигурация Router на процесс.
# - Ретраи: `num_retries` (по умолчанию 2); пауза перед повтором — только в группе из одного
#   развёртывания, в группе из нескольких повтор идёт сразу. `retry_policy` — число повторов по классу
#   ошибки.
# - Cooldown по умолчанию (и при `allowed_fails=3`): первый 429 в группе из нескольких развёртываний,
#   401 или 404, либо больше половины неудач минимум из 5 запросов за минуту. Правило «cooldown на
#   (N + 1)-й неудаче» — только при `allowed_fails=N` с N ≠ 3 или с `allowed_fails_policy` (порог по
#   классу ошибки). Когда остыли все — `RouterRateLimitError`, подкласс `ValueError`.
# - Несколько процессов делят счётчики через Redis: `Router(redis_host=..., redis_port=...)`; ключи
#   поминутные.
# - Большие прогоны: `acompletion` + `asyncio.gather`, прогресс — `tqdm.gather`.
