# %% [markdown]
# # Урок 05. Роутинг и балансировка
#
# Трафик ассистента растёт, и одного аккаунта уже мало: у провайдера лимиты запросов, а модель иногда лежит.
# Заводим второе **развёртывание** (deployment) той же модели — второй аккаунт или регион — и поручаем
# `litellm.Router` делить между ними трафик, держать лимиты, переживать смерть одного развёртывания и, если
# откажет вся группа, переходить к резервной.
#
# **В этом уроке вы:**
# - запустите `Router` из исходного урока и выясните, что на самом деле значат его `tpm` и `rpm`;
# - посмотрите на пять стратегий роутинга и их ловушки на панели «дашборд роутера»;
# - включите настоящий лимит запросов в минуту и разделите его между процессами через Redis;
# - разберётесь, когда Router повторяет запрос и когда выводит развёртывание из ротации (cooldown), и сами
#   измерите правило cooldown;
# - настроите Router, который переживает отказ развёртывания без единой ошибки у пользователя;
# - соберёте группу ассистента с резервной группой (fallbacks в `Router`).
#
# ⏱ **Время:** основной путь ~45 мин + «Для любопытных» ~15 мин.
#
# Каждое развёртывание в уроке указывает адрес и ключ практического провайдера явно
# (`course.provider.api_base(...)`), поэтому и в онлайн-режиме Router ходит туда: сбои, лимиты и счётчики запросов
# работают как офлайн.

# %%
from course_helpers import start_lesson

course = start_lesson("05")

import asyncio
import random
import time
import uuid

import litellm
from litellm import Router
from course_helpers import check, hint, predict, progress, quiz, reveal, solution

MODEL = "openai/gpt-3.5-turbo"  # так провайдер называет модель в статистике, сбоях и лимитах
MSG = [{"role": "user", "content": "Привет!"}]


def deployment(name: str, flavor: str = "openrouter", group: str = "gpt-3.5-turbo", model: str = MODEL,
               **params) -> dict:
    """Развёртывание группы group на практическом провайдере (d1, d2, o1, …); params — в litellm_params."""
    prefix = "openrouter/" if flavor == "openrouter" else ""
    return {"model_name": group,
            "litellm_params": {"model": prefix + model, "api_base": course.provider.api_base(flavor, deployment=name),
                               "api_key": course.provider.key, **params}}


def unique(name: str, **options) -> dict:
    """То же развёртывание со своим id: счётчики лимитов не достанутся от других Router этого процесса."""
    return {**deployment(name, **options), "model_info": {"id": uuid.uuid4().hex}}


def where(response) -> str:
    """Какое развёртывание ответило: 'd1', 'd2', … (видно по api_base)."""
    return response._hidden_params["api_base"].split("/")[3]


def attempt(router, group: str = "gpt-3.5-turbo") -> str:
    """Один вызов: имя ответившего развёртывания или класс ошибки."""
    try:
        return where(router.completion(model=group, messages=MSG))
    except Exception as e:
        return type(e).__name__


def served() -> dict:
    """Сколько запросов получило каждое развёртывание — по статистике провайдера."""
    return {dep: s["requests"] for dep, s in course.provider.stats()["by_deployment"].items()}


def quiet_provider() -> None:
    """Провайдер без сбоев, лимитов и статистики; задержки ответов выключены."""
    course.provider.reset()
    course.provider.set_latency_scale(0)


def same_minute(seconds: float) -> None:
    """Счётчики лимитов поминутные: если до конца минуты меньше seconds секунд, дождаться следующей."""
    left = 60 - time.time() % 60
    if left < seconds:
        time.sleep(left + 0.05)


# %% [markdown]
# ## 5.1 Router из исходного урока
#
# В исходном уроке две записи с одинаковым `model_name` — `"gpt-3.5-turbo"`. Это **группа**: код обращается к ней по
# имени, а Router выбирает одно из **развёртываний** группы. У каждого развёртывания свои `litellm_params`:
# настоящее имя модели для LiteLLM, адрес и ключ. Практический провайдер изображает независимые развёртывания
# префиксом в адресе (`/d1`, `/d2`): у каждого свои сбои, лимиты и статистика. Первое — через OpenRouter, второе —
# через OpenAI-совместимый API, как в исходном уроке.

# %%
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
print("ответило развёртывание из группы:", where(response) in ("d1", "d2"), "| запросов у провайдера:",
      course.provider.requests())
print("настройки по умолчанию:", router.routing_strategy, "| num_retries", router.num_retries,
      "| allowed_fails", router.allowed_fails, "| cooldown_time", router.cooldown_time)

# %% [markdown]
# Кто ответил, Router пишет в `response._hidden_params["api_base"]` — функция `where()` из первой ячейки берёт оттуда
# имя развёртывания. Точное число запросов каждому развёртыванию знает провайдер: `served()`.
#
# > **Важно:** в продакшене ключи — из окружения: `"api_key": os.getenv("OPENROUTER_API_KEY")`, как в исходном
# > уроке. Здесь адрес и ключ практического провайдера указаны явно.
#
# ## 5.2 Веса
#
# В исходном уроке у обоих развёртываний `"rpm": 10000`. А если одному дать `rpm=900`, а другому `rpm=100`? Отправим
# через такой Router 100 запросов (конкурентно: `acompletion` и `asyncio.gather`).

# %%
predict("05.p1")

# %%
quiet_provider()
random.seed(5)  # simple-shuffle выбирает через модуль random: зерно делает опыт воспроизводимым
weighted = Router(model_list=[deployment("d1", rpm=900), deployment("d2", rpm=100)])
await asyncio.gather(*(weighted.acompletion(model="gpt-3.5-turbo", messages=MSG) for _ in range(100)))
print("d2 тоже получал запросы:", served().get("d2", 0) > 0)
reveal("05.p1", served().get("d1", 0) / 100)

# %% [markdown]
# Вес берётся в порядке приоритета: `weight`, затем `rpm`, затем `tpm` — из `litellm_params` или с верхнего уровня
# записи, как в исходном уроке. Если есть `rpm`, `tpm` для выбора не важен. Нужна другая пропорция, чем у лимитов, —
# задайте `weight`.

# %% [markdown]
# ## 5.3 Стратегии роутинга
#
# В разделе 5.4 понадобится второй процесс Python со своим Router — скрипт `worker.py`. Он импортирует LiteLLM
# несколько секунд, поэтому запустим его сейчас: он соберёт Router и будет ждать сигнала.

# %%
import json
import subprocess
import sys

from course_helpers import redis_url

REDIS = redis_url()  # настоящий redis-server курса
WORKER = '''
import json, sys
from litellm import Router

api_base, api_key, redis, deployment_id = sys.argv[1:5]
router = Router(
    model_list=[{"model_name": "gpt-3.5-turbo",
                 "litellm_params": {"model": "openrouter/openai/gpt-3.5-turbo", "api_base": api_base,
                                    "api_key": api_key, "rpm": 4},
                 "model_info": {"id": deployment_id}}],
    redis_url=redis,
    optional_pre_call_checks=["enforce_model_rate_limits"], num_retries=0,
)
print("готов", flush=True)
sys.stdin.readline()  # ждём сигнала из ноутбука
outcomes = []
for _ in range(4):
    try:
        router.completion(model="gpt-3.5-turbo", messages=[{"role": "user", "content": "Привет!"}])
        outcomes.append("ok")
    except Exception as e:
        outcomes.append(type(e).__name__)
print(json.dumps(outcomes), flush=True)
'''
worker = course.fresh_dir("redis_router") / "worker.py"
worker.write_text(WORKER, encoding="utf-8")
run_id = uuid.uuid4().hex  # общий id развёртывания у обоих процессов; свой на каждый запуск ячейки
process_b = subprocess.Popen([sys.executable, str(worker), course.provider.api_base("openrouter", deployment="d1"),
                              course.provider.key, REDIS, run_id],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

# %% [markdown]
# `routing_strategy` выбирает, **как** Router выбирает развёртывание:
#
# | стратегия | выбирает | ловушка |
# |---|---|---|
# | `simple-shuffle` | случайно, с весами `weight`/`rpm`/`tpm` | по умолчанию; веса задают доли трафика |
# | `least-busy` | развёртывание с наименьшим числом запросов «в полёте» | смысл есть только при конкурентном (async) трафике |
# | `latency-based-routing` | самое быстрое по недавним ответам | развёртывание без замеров считает самым быстрым; **один** такой Router на процесс |
# | `usage-based-routing-v2` | наименее загруженное по tpm/rpm за минуту | в sync бывает голый `ValueError`; его обработчик действует на все Router процесса |
# | `cost-based-routing` | самое дешёвое | **только async**; для `openrouter/*` нужны явные цены в `litellm_params` |
#
# Две ловушки видны без всякого трафика. `cost-based-routing` в синхронном `completion` не работает: у него нет
# синхронной реализации. А замеры `latency-based-routing` ведёт обработчик в общем списке `litellm.callbacks`, и
# второй такой же LiteLLM туда не добавляет: у второго latency-Router процесса замеров нет, и он выбирает наугад.

# %%
from litellm.router_strategy.lowest_latency import LowestLatencyLoggingHandler

quiet_provider()
cheapest = Router(model_list=[deployment("d1", input_cost_per_token=0.5e-6, output_cost_per_token=1.5e-6),
                              deployment("d2", input_cost_per_token=5e-6, output_cost_per_token=15e-6)],
                  routing_strategy="cost-based-routing")
print("cost-based-routing, completion:", attempt(cheapest), "| провайдер получил:", served())

first = Router(model_list=[deployment("d1"), deployment("d2")], routing_strategy="latency-based-routing")
second = Router(model_list=[deployment("d1"), deployment("d2")], routing_strategy="latency-based-routing")
handlers = [c for c in litellm.callbacks if isinstance(c, LowestLatencyLoggingHandler)]
print("обработчиков задержки:", len(handlers), "| первого Router:", first.lowestlatency_logger in handlers,
      "| второго:", second.lowestlatency_logger in handlers)

# %% [markdown]
# Выход — один latency-Router на процесс: создайте его один раз и используйте везде. Остальное сравнивайте на панели.
#
# ### Панель: дашборд роутера
#
# Выберите стратегию, задержку и долю сбоев (503) каждого развёртывания, число запросов — и нажмите «Запустить».
# Запросы идут через `router.acompletion` конкурентно; у Router повторы включены (`num_retries=2`), а сломавшееся
# развёртывание выходит из ротации на секунду (`allowed_fails=1`, `cooldown_time=1`). Таблица и график — по журналу
# провайдера. Попробуйте: `least-busy` и `latency-based-routing` при медленном d1 (800 мс); `latency-based-routing`
# без разминки — куда уходят первые запросы?; сбои 50 % на d1; сбои на **обоих** развёртываниях.

# %%
from course_helpers.panels.routing import RouterDashboard

dashboard = RouterDashboard(course.provider)
dashboard.widget

# %% [markdown]
# Кнопка вызывает `dashboard.run()`. Из кода — `simple-shuffle`, d1 сбоит в 30 % запросов:

# %%
dashboard.strategy.value = "simple-shuffle"
dashboard.latency_d1.value = dashboard.latency_d2.value = 100
dashboard.fault_d1.value = 0.3
dashboard.requests.value = 40
summary = dashboard.run()
print("ошибок у пользователя:", summary["user_errors"])
print("провайдер получил больше запросов, чем отправлено:", summary["provider_requests"] > summary["requests"])

# %% [markdown]
# Ошибок у пользователя нет, хотя d1 сбоил: провайдер получил больше запросов, чем отправлено, — это повторы. Как
# они устроены — в разделе 5.5.

# %% [markdown]
# ## 5.4 Лимиты запросов в минуту
#
# В разделе 5.2 `rpm` оказался весом. Держит ли Router его ещё и как лимит? Одно развёртывание с `rpm=3`, шесть
# вызовов подряд.

# %%
predict("05.p2")

# %%
quiet_provider()
limited = Router(model_list=[unique("d1", rpm=3)])
print([attempt(limited) for _ in range(6)])
reveal("05.p2", served()["d1"])

# %% [markdown]
# Настоящий лимит включает проверка перед вызовом `optional_pre_call_checks=["enforce_model_rate_limits"]`: сверх
# `rpm` за минуту Router бросает `RateLimitError` сам, запрос до сети не доходит. Работает и в `completion`, и в
# `acompletion`. Повторы выключены (`num_retries=0`): отказ Router несёт `retry-after: 60`, и с повторами по
# умолчанию отклонённый вызов не упал бы, а ждал — до минуты. `unique()` даёт развёртыванию свой `id`: счётчик
# ведётся по `id` (это хэш `litellm_params`) и общий для всех Router процесса.

# %%
same_minute(5)  # счётчик поминутный: шесть вызовов — в одну минуту (с запасом на медленную машину)
quiet_provider()
enforced = Router(model_list=[unique("d1", rpm=3)], optional_pre_call_checks=["enforce_model_rate_limits"],
                  num_retries=0)
print([attempt(enforced) for _ in range(6)])
print("провайдер получил:", served())

# %% [markdown]
# > **Исходный урок говорит:** `"tpm": 100000, "rpm": 10000` — и выглядит это как лимиты. **На деле:** без проверки
# > перед вызовом это веса для случайного выбора; Router спокойно отправляет запросы сверх `rpm`.
#
# Лимит бывает и **у самого провайдера**: он отвечает 429 с заголовком `Retry-After`. Включим у d1 лимит 5 запросов в
# минуту (`course.provider.set_limits`) — здесь каждый лишний запрос доходит до провайдера и получает отказ:

# %%
quiet_provider()
course.provider.set_limits(MODEL, rpm=5, deployment="d1")
only_d1 = Router(model_list=[deployment("d1")], num_retries=0)
print([attempt(only_d1) for _ in range(7)])
print("провайдер ответил 429:", course.provider.stats()["statuses"].get("429", 0), "раза")

# %% [markdown]
# ### Лимит на несколько процессов: Redis
#
# Счётчики `rpm` Router хранит в памяти процесса. Запустите сервис в четырёх процессах — и лимит фактически умножится
# на четыре. Чтобы процессы делили счётчики, дайте Router адрес Redis: `Router(..., redis_url=REDIS)` (нужен пакет
# `redis`). Проверим на двух настоящих процессах: этот ноутбук — процесс A, запущенный в начале раздела 5.3 скрипт —
# процесс B. Оба держат `rpm=4` через общий Redis. A — асинхронный, как веб-сервис: делает 4 вызова `acompletion`,
# потом даёт сигнал B, и тот делает свои 4. Счётчики в Redis поминутные, поэтому оба — в одну минуту.

# %%
from litellm.router_utils.pre_call_checks.model_rate_limit_check import ModelRateLimitingCheck

print("процесс B:", process_b.stdout.readline().strip())  # ждём, пока B соберёт Router
# Лимит проверяет обработчик в общем списке litellm.callbacks — один на процесс. Его уже завёл Router `enforced`
# выше, и считает он в памяти: Router с Redis второй такой же обработчик не добавит. Убираем старый.
litellm.callbacks[:] = [c for c in litellm.callbacks if not isinstance(c, ModelRateLimitingCheck)]
same_minute(8)
quiet_provider()
router_a = Router(model_list=[{**deployment("d1", rpm=4), "model_info": {"id": run_id}}], redis_url=REDIS,
                  optional_pre_call_checks=["enforce_model_rate_limits"], num_retries=0)


async def call_a() -> str:
    try:
        return where(await router_a.acompletion(model="gpt-3.5-turbo", messages=MSG))
    except Exception as e:
        return type(e).__name__


print("процесс A:", [await call_a() for _ in range(4)])
process_b.stdin.write("go\n")
process_b.stdin.flush()
print("процесс B:", json.loads(process_b.stdout.readline()))  # дальше B завершится сам
print("провайдер получил:", served())

# %% [markdown]
# Процесс B получил `RateLimitError` на все четыре вызова: лимит этой минуты уже выбрал процесс A, и B узнал об этом
# из Redis. Уберите `redis_url` в обоих местах — и B пропустит свои четыре. А без строки, убирающей старый
# обработчик, B тоже пропустил бы свои четыре: процесс A считал бы в памяти, хотя у его Router есть `redis_url`.
#
# > **Осторожно:** обработчики проверок и стратегий Router живут в общем `litellm.callbacks`, по одному каждого
# > вида на процесс, — первый созданный Router решает за всех. Создавайте Router один раз при старте процесса,
# > сразу со всеми настройками (и с Redis).
#
# > **Важно:** ключи в Redis имеют вид `global_router:<id>:<модель>:rpm:<ЧЧ-ММ>` — счётчик на каждую минуту.
# > Поэтому у процессов должен совпадать `id` развёртывания: при одинаковых `litellm_params` он совпадает сам (это
# > хэш), а если адреса у процессов разные — задайте `model_info={"id": ...}` явно, как здесь.

# %% [markdown]
# ## 5.5 Повторы (retry)
#
# По умолчанию `num_retries=2`: Router повторяет ошибки, которые имеет смысл повторять, — 429, 5xx, таймауты. 400 и
# 404 не повторяются; 401 — только если в группе есть другое развёртывание. Каждый повтор — новый выбор
# развёртывания в группе (он может попасть и в то же самое). Пакет `tenacity` для этого не нужен.
#
# **Пауза перед повтором** бывает, только когда повторять больше негде — в группе нет другого развёртывания, не
# ушедшего в cooldown: 0,5 с, 1 с, 2 с плюс случайная добавка (`Retry-After` её удлиняет). Иначе Router повторяет
# **сразу**. Один-единственный 503 на первый запрос — в группе из одного развёртывания и из двух:

# %%
def pause_before_retry(router) -> float:
    """Один сбой 503 на первый запрос; сколько секунд прошло до повтора (по журналу провайдера)."""
    quiet_provider()
    course.provider.fail(MODEL, 503, times=1)
    router.completion(model="gpt-3.5-turbo", messages=MSG)
    first_try, retry = course.provider.log()
    return retry["t"] - first_try["t"]


alone = pause_before_retry(Router(model_list=[deployment("d1")]))
pair_pause = pause_before_retry(Router(model_list=[deployment("d1"), deployment("d2")]))
print("одно развёртывание, пауза не короче 0,5 с:", alone >= 0.5)
print("два развёртывания, повтор без паузы:", pair_pause < 0.25)

# %% [markdown]
# Число повторов можно задать **по классу ошибки** — `retry_policy` (ключи названы по классам исключений LiteLLM:
# `RateLimitErrorRetries`, `TimeoutErrorRetries`, `ServiceUnavailableErrorRetries`…). Например, 503 не повторять, а
# остальное — по `num_retries`:

# %%
quiet_provider()
course.provider.fail(MODEL, 503, deployment="d1")
no_503_retries = Router(model_list=[deployment("d1")], retry_policy={"ServiceUnavailableErrorRetries": 0})
print(attempt(no_503_retries), "| попыток у провайдера:", served()["d1"])

# %% [markdown]
# Следите за классом: через `openrouter/` ответ 500 приходит как `APIError` (урок 02), и ключ
# `InternalServerErrorRetries` на него не действует — такие ошибки повторяются по `num_retries`.
#
# ## 5.6 Cooldown: развёртывание выходит из ротации
#
# Повтор спасает один запрос, но если развёртывание сломалось, каждый следующий запрос снова тратит на него попытку.
# Поэтому Router умеет **выводить развёртывание из ротации** на `cooldown_time` секунд (по умолчанию 5) — cooldown.
# У исходного Router `allowed_fails=3`. d1 отвечает 429 на каждый запрос, d2 здоров, 20 вызовов.

# %%
predict("05.p3")

# %%
quiet_provider()
course.provider.fail(MODEL, 429, deployment="d1")
random.seed(5)
pair = Router(model_list=[deployment("d1"), deployment("d2")])
outcomes = [attempt(pair) for _ in range(20)]
user_errors = sum(o not in ("d1", "d2") for o in outcomes)
print("ошибок у пользователя:", user_errors, "| провайдер получил:", served())
reveal("05.p3", (served()["d1"], user_errors))

# %% [markdown]
# **Когда** развёртывание уходит в cooldown, решает правило, а правило выбирает `allowed_fails`:
#
# - **`allowed_fails` не задан или равен 3** (значение по умолчанию, `litellm.allowed_fails`) — правило по умолчанию,
#   неудачи поштучно не считаются. Cooldown наступает:
#   - после **первого же 429**, если в группе есть другие развёртывания;
#   - после ошибки, которую повтор не лечит: **401 или 404** (400 и 403 cooldown не вызывают);
#   - когда за текущую минуту **больше половины** запросов развёртывания упали и запросов было **не меньше 5**. Успехи
#     этой минуты тоже в счёте: развёртывание, которое ответило на 20 запросов, а потом сломалось, выйдет из
#     ротации только на 21-й неудаче. (Одиночное развёртывание по этому правилу при 503, 429 или 500 почти никогда
#     не уходит в cooldown — раздел 5.7.)
# - **`allowed_fails=N` с N ≠ 3** — правило счёта: cooldown на **(N + 1)-й** неудаче. Счётчик живёт `cooldown_time`
#   секунд после последней неудачи.
# - **`allowed_fails_policy`** задаёт порог по классу ошибки, например `{"ServiceUnavailableErrorAllowedFails": 1}`
#   (и тоже включает правило счёта).
#
# | | где лимит | что видит пользователь | что видит провайдер |
# |---|---|---|---|
# | `rpm` без проверок | нигде (вес и предел одновременных запросов) | ничего, пока нет залпа | все запросы |
# | `enforce_model_rate_limits` | в Router, до сети | `RateLimitError` сверх `rpm` | ровно `rpm` |
# | лимит провайдера, одно развёртывание | у провайдера | `RateLimitError` с `Retry-After` | все запросы, лишние — 429 |
# | лимит провайдера, есть второе развёртывание | у провайдера | ничего: cooldown и повтор на d2 | один 429 |
#
# ### Задание 5.1 · замер. Сколько неудач терпит Router
#
# Правило выше легко перепутать — измерьте его сами. Напишите `failures_before_cooldown(status, allowed_fails=None)`:
# опыт, в котором d1 всегда отвечает `status`, d2 здоров, Router из двух развёртываний с `num_retries=0`,
# `cooldown_time=60` и заданным `allowed_fails` (если `None` — не задавать) делает 30 вызовов по одному. Функция
# возвращает, сколько запросов получил d1 — по статистике провайдера. Начинайте опыт с `quiet_provider()`.
#
# Потом заполните таблицу: 503 по умолчанию и при `allowed_fails` = 1, 2, 3, 4; 429 по умолчанию и при
# `allowed_fails=2`; 401. Проверка запустит функцию на своём наборе и сравнит с собственным опытом и со статистикой
# провайдера.

# %%
def failures_before_cooldown(status: int, allowed_fails: int | None = None) -> int:
    # ваш код здесь
    raise NotImplementedError


# %%
check("05.1", failures_before_cooldown)

# %% [markdown]
# Подсказки: `hint("05.1")`, `hint("05.1", 2)`. Решение — в конце урока и в `solution("05.1")`.
#
# ### Cooldown на живом трафике
#
# 100 запросов за секунду, два равных развёртывания, `allowed_fails=1`, `cooldown_time=0.2`. С 0,2 по 0,5 секунды d1
# отвечает 503, потом чинится. Журнал провайдера `course.provider.log()` знает время `t`, развёртывание и статус
# каждого запроса — по нему и нарисуем.

# %%
import matplotlib.pyplot as plt

random.seed(5)
resilient = Router(model_list=[deployment("d1"), deployment("d2")], allowed_fails=1, cooldown_time=0.2)
await resilient.acompletion(model="gpt-3.5-turbo", messages=MSG)  # разминка: первый вызов готовит HTTP-клиентов
quiet_provider()
course.provider.set_latency_scale(1)  # задержка ниже — настоящие 5 мс, без масштаба курса
course.provider.set_latency(MODEL, base_ms=5, per_token_ms=0)


async def one(i: int):
    await asyncio.sleep(i * 0.008)
    try:
        return await resilient.acompletion(model="gpt-3.5-turbo", messages=MSG)
    except Exception as e:
        return e


async def outage() -> None:
    await asyncio.sleep(0.2)
    course.provider.fail(MODEL, 503, deployment="d1")  # d1 сломалось...
    await asyncio.sleep(0.3)
    course.provider.clear_faults()  # ...и починилось


results, _ = await asyncio.gather(asyncio.gather(*(one(i) for i in range(100))), outage())
log = course.provider.log()
t0 = log[0]["t"]
print("ошибок у пользователя:", sum(isinstance(r, Exception) for r in results))
print("d1 отвечал 503:", any(e["status"] == 503 for e in log))
print("после починки d1 снова получал запросы:", any(e["deployment"] == "d1" and e["t"] - t0 > 0.6 for e in log))

fig, ax = plt.subplots(figsize=(8, 2.4))
for dep, y in (("d1", 1), ("d2", 0)):
    ok = [e["t"] - t0 for e in log if e["deployment"] == dep and e["status"] == 200]
    ax.scatter(ok, [y] * len(ok), marker="|", s=200, color="#1a7f37")
bad = [e["t"] - t0 for e in log if e["status"] != 200]
ax.scatter(bad, [1] * len(bad), marker="x", s=60, color="#cf222e", label="503")
ax.axvspan(0.2, 0.5, color="grey", alpha=0.15, label="d1 сломано")
ax.set_yticks([1, 0], ["d1", "d2"])
ax.set_ylim(-0.6, 1.6)
ax.set_xlabel("время от первого запроса, с")
ax.set_title("запросы по развёртываниям: ответ 200 (|) и 503 (×)")
ax.legend(fontsize=8, loc="upper right")
plt.show()

# %% [markdown]
# Серая полоса — окно сбоя. Крестики — ответы 503 от d1: каждый такой запрос Router тут же, без паузы, повторил на
# другом развёртывании, а после второй неудачи вывел d1 из ротации на 0,2 с. Вернувшись, d1 снова получает
# трафик, а пока сбой продолжался — снова уходил в cooldown. Пользователь ошибок не видит. (Несколько крестиков
# подряд — запросы, отправленные одновременно, до того как Router узнал о первых неудачах.)
#
# **Все развёртывания остыли.** Если в cooldown ушла вся группа, Router даже не пытается звонить: он бросает
# `RouterRateLimitError`. Это **не** `litellm.RateLimitError`, а подкласс `ValueError` со `status_code=429` — обычный
# `except litellm.RateLimitError` его не поймает.

# %%
from litellm.types.router import RouterRateLimitError

quiet_provider()
course.provider.fail(MODEL, 503)  # оба развёртывания отвечают 503
fragile = Router(model_list=[deployment("d1"), deployment("d2")], allowed_fails=0, num_retries=0)
print([attempt(fragile) for _ in range(4)], "| до провайдера дошло:", served())
try:
    fragile.completion(model="gpt-3.5-turbo", messages=MSG)
except RouterRateLimitError as e:
    print("это ValueError:", isinstance(e, ValueError), "| litellm.RateLimitError:",
          isinstance(e, litellm.RateLimitError), "| status_code:", e.status_code)

# %% [markdown]
# ### Задание 5.2 · решение. Отказ без последствий
#
# Требования к Router группы `"gpt-3.5-turbo"` на развёртываниях d1 и d2:
# - пока оба здоровы, они **делят** трафик (каждое получает не меньше четверти);
# - d1 умирает (503 на каждый запрос) — пользователь **не видит ни одной ошибки**;
# - за время аварии (в проверке — 1 секунда непрерывного трафика) сломанное d1 получает **не больше двух** запросов;
# - после починки d1 возвращается в ротацию **не позже чем через 3 секунды**.
#
# Напишите `build_resilient_router()`. Проверка отправит 20 запросов по здоровой паре, сломает d1 на секунду
# непрерывного трафика, починит его и будет ждать, когда d1 снова получит запрос.

# %%
def build_resilient_router() -> Router:
    # ваш код здесь
    raise NotImplementedError


# %%
check("05.2", build_resilient_router)

# %% [markdown]
# Подсказки: `hint("05.2")`, `hint("05.2", 2)`. Решение — в конце урока и в `solution("05.2")`.
#
# ## 5.7 Резервные группы (fallbacks в `Router`)
#
# Повторы и cooldown работают **внутри** группы. Если откажет вся группа — оба аккаунта одной модели, — нужна
# **резервная группа** с другой моделью. В `Router` это параметр `fallbacks`, но в другой форме, чем в
# `litellm.completion` (урок 03):

# %%
reserve_list = [deployment("d1"), deployment("d2"),
                deployment("o1", group="reserve", model="anthropic/claude-3-haiku")]
try:
    Router(model_list=reserve_list, fallbacks=["reserve"])
except ValueError as e:
    print("fallbacks=['reserve'] →", type(e).__name__, e)

# %% [markdown]
# > **Важно:** в `Router(...)` параметр `fallbacks` — **список словарей** «группа → список резервных групп». Простой
# > список Router принимает только как `default_fallbacks=[...]` (резерв для любой группы) или в самом вызове
# > `router.completion(..., fallbacks=[...])`.
#
# Оба развёртывания группы отвечают 503, `num_retries` по умолчанию. Сколько запросов получит основная группа, прежде
# чем ответит резервная?

# %%
predict("05.p4")

# %%
quiet_provider()
course.provider.fail(MODEL, 503)  # d1 и d2; у резерва другая модель
with_reserve = Router(model_list=reserve_list, fallbacks=[{"gpt-3.5-turbo": ["reserve"]}])
response = with_reserve.completion(model="gpt-3.5-turbo", messages=MSG)
headers = response._hidden_params["additional_headers"]
print("ответила группа:", headers["x-litellm-model-group"], "| модель:", response.model,
      "| attempted-fallbacks:", headers["x-litellm-attempted-fallbacks"])
main_group = [e["status"] for e in course.provider.log() if e["deployment"] in ("d1", "d2")]
print("основная группа (d1 и d2) ответила:", main_group, "| резерв o1:", served().get("o1", 0), "запрос")
reveal("05.p4", len(main_group))

# %% [markdown]
# Заголовок `x-litellm-model-group` называет **группу**, которая ответила; `response.model` — модель.
#
# В группе из **одного** развёртывания повторы перед переходом идут с паузами (0,5 с, 1 с, 2 с и ещё одна пауза
# перед резервной группой): пользователь ждёт несколько секунд. Хотите переходить сразу — `num_retries=0` или
# `retry_policy`. А cooldown по правилу по умолчанию одиночное развёртывание при 503, 429 или 500 почти никогда не
# исключает — каждый запрос снова тратит на него попытку; сразу исключают только 401 и 404, при `allowed_fails=N`
# (N ≠ 3) — после N + 1 неудач.
#
# Когда отказали **все** группы, Router поднимает ошибку **основной** группы с её классом — даже если последней
# отказала резервная. Проверить переход без аварии помогает `mock_testing_fallbacks=True`: основная группа считается
# упавшей и даже не вызывается (в `litellm.completion` этот параметр молча игнорируется — урок 03).

# %%
quiet_provider()
course.provider.fail(MODEL, 503)
course.provider.fail("anthropic/claude-3-haiku", 429)
at_once = Router(model_list=reserve_list, fallbacks=[{"gpt-3.5-turbo": ["reserve"]}], num_retries=0)
print("отказали все:", attempt(at_once), "| последней отказала резервная:",
      course.provider.log()[-1]["deployment"] == "o1")

quiet_provider()
response = with_reserve.completion(model="gpt-3.5-turbo", messages=MSG, mock_testing_fallbacks=True)
print("mock_testing_fallbacks=True: ответила группа", response._hidden_params["additional_headers"]
      ["x-litellm-model-group"], "| провайдер видел:", served())

# %% [markdown]
# **Окно контекста.** У Router есть `context_window_fallbacks=[{"маленькое окно": ["большое окно"]}]`, но
# срабатывает он, только если ошибка стала `ContextWindowExceededError`. Через `openai/` так и есть, через
# `openrouter/` LiteLLM поднимает обычный `BadRequestError` (урок 02). Для опыта — сбой провайдера «окно
# переполнено», `kind="context_length"`:

# %%
for flavor, prefix in (("openrouter", "openrouter/"), ("openai", "")):
    quiet_provider()
    course.provider.fail(MODEL, kind="context_length")
    windows = Router(model_list=[deployment("d1", flavor, group="small"),
                                 deployment("o1", flavor, group="big", model="openai/gpt-4o-mini")],
                     context_window_fallbacks=[{"small": ["big"]}], num_retries=0)
    try:
        response = windows.completion(model="small", messages=MSG)
        outcome = f"ответила группа {response._hidden_params['additional_headers']['x-litellm-model-group']}"
    except litellm.BadRequestError as e:
        outcome = f"{type(e).__name__}, перехода нет"
    print(f"{prefix + MODEL:<32} → {outcome}")

# %% [markdown]
# Для моделей `openrouter/` надёжнее обычные `fallbacks` (они переходят на любой ошибке) — или проверка длины запроса
# до вызова.
#
# ### Задание 5.3 · сборка. Группа ассистента с резервом
#
# Соберите Router ассистента, `build_assistant_router()`:
# - группа `"assistant"` — `openrouter/openai/gpt-4o-mini` на двух развёртываниях: d1 (большой аккаунт) и d2
#   (маленький); трафик между ними — примерно **3 : 1**;
# - группа `"reserve"` — `openrouter/anthropic/claude-3-haiku` на развёртывании o1; пока `"assistant"` здорова, резерв
#   не получает ничего;
# - если лягут оба развёртывания `"assistant"`, отвечает `"reserve"`, и пользователь ошибок не видит.
#
# `deployment(name, group=..., model=..., **params)` из первой ячейки урока собирает запись `model_list`. Проверка
# отправит 100 запросов по здоровой группе, потом сломает gpt-4o-mini на обоих развёртываниях и пошлёт ещё 5.

# %%
def build_assistant_router() -> Router:
    # ваш код здесь
    raise NotImplementedError


# %%
check("05.3", build_assistant_router)

# %% [markdown]
# Подсказки: `hint("05.3")`, `hint("05.3", 2)`. Решение — в конце урока и в `solution("05.3")`.
#
# ## Тест
#
# Выберите ответ и нажмите «Ответить» — после ответа появится объяснение. Ответить можно и кодом:
# `from course_helpers import answer`, затем `answer("05.q1", 2)` (номер варианта с 1).

# %%
quiz("05")

# %% [markdown]
# ## Итоги
#
# - `model_name` — группа, `litellm_params` — развёртывание; Router выбирает развёртывание в группе.
# - `tpm`/`rpm` в `model_list` по умолчанию — **веса** для `simple-shuffle` (приоритет `weight` → `rpm` → `tpm`), а
#   не лимиты в минуту. Лимит держит `optional_pre_call_checks=["enforce_model_rate_limits"]` — в `completion` и в
#   `acompletion`; между процессами — через `Router(redis_url=...)`, счётчики поминутные и общие по `id`
#   развёртывания.
# - Стратегии: `least-busy` — для конкурентного трафика; `latency-based-routing` — один Router на процесс и разминка;
#   `usage-based-routing-v2` — async; `cost-based-routing` — только async и с явными ценами для `openrouter/*`.
# - Повторы: `num_retries` (по умолчанию 2); пауза — только если в группе нет другого здорового развёртывания;
#   `retry_policy` — число повторов по классу ошибки.
# - Cooldown по умолчанию (и при `allowed_fails=3`): первый 429 в группе из нескольких развёртываний, 401 или 404,
#   либо больше половины неудач минимум из 5 запросов за минуту. «Cooldown на (N + 1)-й неудаче» — только при
#   `allowed_fails=N` с N ≠ 3 или с `allowed_fails_policy`. Когда остыли все — `RouterRateLimitError`, подкласс
#   `ValueError`.
# - Резервные группы: `Router(fallbacks=[{"группа": ["резерв"]}])` — только словари; простой список — в
#   `default_fallbacks` или в вызове. Кто ответил — `x-litellm-model-group`. Отказали все — ошибка основной группы.
#   Тест без аварии — `mock_testing_fallbacks=True`. `context_window_fallbacks` — только когда ошибка стала
#   `ContextWindowExceededError` (через `openai/`, не через `openrouter/`).
#
# ### Рецепт
#
# ```python
# import os
# from litellm import Router
#
#
# def account(name: str, model: str, key_env: str, **params) -> dict:
#     return {"model_name": name, "litellm_params": {"model": model, "api_key": os.environ[key_env], **params}}
#
#
# router = Router(
#     model_list=[
#         account("assistant", "openrouter/openai/gpt-4o-mini", "OPENROUTER_KEY_MAIN", weight=3, rpm=600),
#         account("assistant", "openrouter/openai/gpt-4o-mini", "OPENROUTER_KEY_SMALL", weight=1, rpm=200),
#         account("reserve", "openrouter/anthropic/claude-3-haiku", "OPENROUTER_KEY_MAIN"),
#     ],
#     optional_pre_call_checks=["enforce_model_rate_limits"],  # rpm — лимит, а не только вес
#     redis_url=os.environ["REDIS_URL"],  # общие счётчики для всех процессов сервиса
#     fallbacks=[{"assistant": ["reserve"]}],  # только список словарей
#     num_retries=2,  # в группе два развёртывания: повтор без паузы
#     allowed_fails=1,  # не 3: cooldown на второй неудаче
#     cooldown_time=10,
# )
# response = router.completion(model="assistant", messages=[{"role": "user", "content": "Привет!"}])
# print(response._hidden_params["additional_headers"]["x-litellm-model-group"])  # кто ответил: группа
# ```
#
# ### Документация
#
# - [Router: балансировка, стратегии, лимиты](https://docs.litellm.ai/docs/routing)
# - [Надёжность: повторы, fallbacks, cooldown](https://docs.litellm.ai/docs/proxy/reliability)
# - [Reliability в SDK](https://docs.litellm.ai/docs/completion/reliable_completions)
#
# ## Для любопытных
#
# ### `rpm` — ещё и предел одновременных запросов
#
# Из `rpm` LiteLLM выводит `max_parallel_requests`: больше `rpm` запросов «в полёте» развёртывание не берёт, даже без
# всяких проверок. Router с `rpm=5` и проверкой лимита получает два «залпа» по 10 одновременных запросов в одну
# минуту:

# %%
from collections import Counter


async def two_bursts(router) -> list[Counter]:
    outcomes = []
    for _ in range(2):
        burst = await asyncio.gather(*(router.acompletion(model="gpt-3.5-turbo", messages=MSG) for _ in range(10)),
                                     return_exceptions=True)
        outcomes.append(Counter("ok" if not isinstance(r, Exception) else type(r).__name__ for r in burst))
        await asyncio.sleep(0.1)  # Router успевает отметить, что запросы залпа завершились
    return outcomes


same_minute(8)
quiet_provider()
course.provider.set_latency_scale(1)
course.provider.set_latency(MODEL, base_ms=20, per_token_ms=0)
bursty = Router(model_list=[unique("d1", rpm=5)], optional_pre_call_checks=["enforce_model_rate_limits"],
                num_retries=0)
first_burst, second_burst = await two_bursts(bursty)
print("1-й залп:", dict(sorted(first_burst.items())), "| 2-й залп:", dict(sorted(second_burst.items())))
print("провайдер получил:", served())

# %% [markdown]
# Первый залп: 5 прошли, 5 отклонены сразу — это ещё не лимит в минуту, а предел одновременности («all
# max_parallel_requests slots in use»); без проверки второй залп снова прошёл бы на 5. Второй залп отклонён
# целиком: лимит минуты выбран. С повторами по умолчанию (`num_retries=2`) отклонённые вызовы первого залпа не упали
# бы сразу: Router ждал бы `retry-after: 60` и повторял — до минуты.
#
# ### `usage-based-routing-v2`
#
# Стратегия считает запросы за минуту по `id` развёртывания и не пускает сверх `rpm`, но в синхронном `completion`
# неаккуратна: в отдельном скрипте пускает `rpm - 1` запрос и бросает голый `ValueError` вместо `RateLimitError`.
# Хуже другое: её обработчик живёт в общем `litellm.callbacks` и проверяет `rpm` у
# **всех** Router процесса. Повторим опыт из раздела 5.4 — обычный `simple-shuffle`, `rpm=3`, 6 вызовов — после того
# как в процессе появился v2-Router:

# %%
same_minute(5)
quiet_provider()
Router(model_list=[unique("d2", rpm=1000)], routing_strategy="usage-based-routing-v2")
plain = Router(model_list=[unique("d1", rpm=3)], num_retries=0)
print("simple-shuffle, rpm=3:", [attempt(plain) for _ in range(6)])

# %% [markdown]
# В разделе 5.4 все 6 запросов прошли, теперь — только 3: поведение Router зависит от того, какие другие Router уже
# создавались в процессе. Держите в процессе одну конфигурацию Router, а лимиты включайте явно.
#
# ### Ещё несколько фактов
#
# - **latency-based-routing и холодный старт.** Развёртывание без единого замера стратегия считает самым быстрым:
#   пока медленное d1 не ответило в первый раз, все новые запросы летят в него. Разминка из нескольких
#   последовательных запросов даёт замеры обоим.
# - **После cooldown счёт начинается заново.** При `allowed_fails=N` вернувшемуся развёртыванию снова нужно N + 1
#   неудач; правило по умолчанию помнит статистику минуты и остужает его сразу, на первой же новой неудаче.
# - **400 и 403 cooldown не вызывают**: развёртывание с такими ответами продолжает получать свою долю.
# - **Сотый Router.** Каждый Router добавляет свои обработчики (среди них — учёт неудач для cooldown) в глобальные
#   списки LiteLLM, а в списке помещается не больше 100 (`LITELLM_MAX_CALLBACKS`). Router, созданный после этого,
#   работает, но развёртывания в cooldown **не выводит** — без всякой ошибки. `router.discard()` убирает обработчики
#   ненужного Router. Ещё одна причина создавать Router один раз.
# - **`cost-based-routing` в async** выбирает дешёвое развёртывание, когда цены указаны в `litellm_params`
#   (`input_cost_per_token`, `output_cost_per_token`); для моделей `openrouter/*` иначе никак.

# %%
progress("05")

# %% [markdown] tags=["solutions"]
