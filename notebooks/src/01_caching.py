# %% [markdown]
# # Урок 01. Кэширование
#
# Наш ассистент отвечает на одни и те же вопросы снова и снова: «Что такое кэширование?» за день
# спрашивают десятки пользователей. В уроке 00 вы видели, что без кэша каждый повтор — новый платный
# запрос и секунда ожидания. В исходном уроке это решает `setup_caching()` из `config.py` с дисковым
# кэшем LiteLLM. Сегодня мы включим кэш, научимся отличать попадание от промаха, узнаем, что входит
# в ключ кэша (и чем это опасно), соберём вызов ассистента с управлением кэшем и настроим общий кэш
# для нескольких серверов.
#
# **В этом уроке вы:**
# - включите дисковый кэш, как в исходном уроке, и увидите попадания и промахи;
# - почините отчёт о кэше, который неверно считает промахи;
# - узнаете, что входит в ключ кэша, а что нет, и как разделить клиентов;
# - соберёте вызов ассистента с управлением кэшем в одном вызове (`no-cache`, `no-store`, `namespace`);
# - проверите, как ведут себя `caching=False`, `enable_cache()` поверх включённого кэша и асинхронные повторы;
# - выберете и настроите кэш для двух серверов на Redis.
#
# ⏱ **Время:** основной путь ~45 мин + «Для любопытных» ~15 мин.

# %%
from course_helpers import start_lesson

course = start_lesson("01")

import asyncio
import os
import sys
import time

import litellm
import redis
from litellm.caching.caching import Cache, LiteLLMCacheType

from course_helpers import RedisUnavailable, check, hint, predict, progress, quiz, redis_url, reveal, solution

MODEL = "openrouter/openai/gpt-4o-mini"
try:
    REDIS = redis_url()  # настоящий redis-server курса (или ваш из переменной REDIS_URL)
except RedisUnavailable as error:
    REDIS = None
    print(error)


def msgs(text):
    """messages из одного сообщения пользователя."""
    return [{"role": "user", "content": text}]


def served():
    """Сколько запросов получил практический провайдер с начала урока."""
    return course.provider.stats()["requests"]


def hit(response):
    """Попадание в кэш?"""
    return response._hidden_params.get("cache_hit") is True


def show(label, response, before):
    """Строка опыта: попадание ли и сколько запросов дошло до провайдера с момента before."""
    print(f"{label:<42} попадание: {hit(response)!s:<5} дошло: {served() - before}")


def fast_provider():
    """Провайдер отвечает без задержки: для опытов, где важно число запросов, а не время."""
    course.provider.set_latency_scale(0)


# %% [markdown]
# Настройка урока — выше: модель, `msgs()`, счётчик `served()` запросов, **дошедших до провайдера** (главный
# свидетель: попадание в кэш означает, что провайдер запроса не получил), `hit()`, строка опыта `show()` и
# адрес Redis. В онлайн-режиме опыты, которые считают запросы, идут на практическом провайдере: счётчики
# есть только у него (ячейка такого опыта об этом скажет).
#
# ## 1.1 Дисковый кэш из исходного урока
#
# В исходном уроке кэш включается так:
#
# ```python
# litellm.enable_cache(type=LiteLLMCacheType.DISK, disk_cache_dir="./cache_dir")
# ```
#
# Сделаем ровно это. Вместо `./cache_dir` возьмём папку урока `course.fresh_dir("cache_dir")`: она
# очищается при каждом запуске, и урок всегда начинается с пустого кэша.

# %%
litellm.disable_cache()  # повторный запуск ячейки начинается без кэша (зачем — в разделе 1.5)
cache_dir = course.fresh_dir("cache_dir")

litellm.enable_cache(type=LiteLLMCacheType.DISK, disk_cache_dir=str(cache_dir))

print("тип кэша:", type(litellm.cache.cache).__name__, "| в папке есть cache.db:", "cache.db" in os.listdir(cache_dir))

# %% [markdown]
# Кэш — это SQLite-база `cache.db` (через пакет `diskcache`). Теперь зададим один и тот же вопрос
# четыре раза подряд и для каждого вызова запишем время, попадание и стоимость.

# %%
predict("01.p1")

# %%
question = msgs("Что такое кэширование?")
responses, times_ms, loaded = [], [], [set(sys.modules)]  # loaded — для «Для любопытных»
with course.practice():
    before = served()
    for i in range(4):
        start = time.perf_counter()
        r = litellm.completion(model=MODEL, messages=question)
        times_ms.append((time.perf_counter() - start) * 1000)
        responses.append(r)
        loaded.append(set(sys.modules))
        print(f"вызов {i}: попадание: {hit(r)!s:<5} стоимость: {r._hidden_params['response_cost']:<9} "
              f"{times_ms[-1]:.1f} мс")
    reveal("01.p1", served() - before)

# %% [markdown]
# Посмотрите на время. Промах — настоящий запрос. **Первое** попадание тоже заметно медленнее следующих
# (около 200 мс против 1 мс): при первом попадании в процессе LiteLLM лениво импортирует модули, нужные
# для сборки ответа из кэша (подробности — в «Для любопытных»).
#
# > **Исходный урок говорит:** «проверьте, что второй запрос выполняется быстрее из-за кэширования».
# > **На деле:** быстрее, но первое попадание в каждом новом процессе платит за импорты, а по-настоящему
# > быстры следующие. Замеряя кэш, делайте несколько повторов и смотрите на медиану (урок 07).
#
# > **Осторожно:** `pip install litellm` этих пакетов не ставит: с «голой» установкой
# > `enable_cache(type=DISK)` падает с `ModuleNotFoundError` (нужен `diskcache` из extra `litellm[caching]`),
# > а первое попадание — с `No module named 'fastapi'`. Рабочая установка:
# > `pip install "litellm[caching]==1.108.14" fastapi orjson soundfile` (в `requirements.txt` курса учтено).
#
# ## 1.2 Попадание или промах
#
# Как в коде понять, что ответ пришёл из кэша? LiteLLM кладёт флаг `cache_hit` в `r._hidden_params`.
# У попадания он `True`. А у промаха?

# %%
predict("01.p2")

# %%
miss, first_hit = responses[0], responses[1]
observed = miss._hidden_params.get("cache_hit")
print("промах:    .get('cache_hit') =", repr(observed), "| ключ cache_hit есть:", "cache_hit" in miss._hidden_params)
print("попадание: .get('cache_hit') =", repr(first_hit._hidden_params.get("cache_hit")),
      "| стоимость:", first_hit._hidden_params["response_cost"])
print("ключ кэша (sha256 от параметров запроса):", first_hit._hidden_params["cache_key"])
print("его же вычисляет litellm.cache.get_cache_key:",
      litellm.cache.get_cache_key(model=MODEL, messages=question) == first_hit._hidden_params["cache_key"])
reveal("01.p2", observed)

# %% [markdown]
# ### Задание 1.1 · отладка. Отчёт о кэше
#
# Наш сервис раз в день строит отчёт о кэше: сколько ответов пришло из кэша, сколько от провайдера и
# сколько они стоили. Функция ниже получает список ответов LiteLLM (промахи и попадания вперемешку) и
# должна вернуть `{"hits": ..., "misses": ..., "spent": ...}`, где `spent` — стоимость этих ответов в
# долларах. В ней **две ошибки**: на первом же промахе она падает, а когда это исправили, стала показывать
# ноль промахов. Проверка сверит отчёт со счётчиками провайдера.

# %%
def cache_report(responses):
    """Сколько ответов пришло из кэша, сколько от провайдера и сколько они стоили (USD)."""
    hits = misses = 0
    spent = 0.0
    for r in responses:
        if r._hidden_params["cache_hit"]:
            hits += 1
        if r._hidden_params.get("cache_hit") == False:
            misses += 1
            spent += r._hidden_params["response_cost"]
    return {"hits": hits, "misses": misses, "spent": spent}


# %%
check("01.1", cache_report)

# %% [markdown]
# Подсказки: `hint("01.1")`, `hint("01.1", 2)`. Решение — в конце урока и в `solution("01.1")`.
#
# ## 1.3 Что входит в ключ кэша
#
# Ключ — sha256 от параметров запроса. Но **от каких именно**? Прогреем кэш одним вопросом и будем
# менять по одному параметру. Среди них — `api_key`: в сервисе у каждого клиента может быть свой ключ.

# %%
predict("01.p3")

# %%
fast_provider()  # здесь важно число запросов, а не время
base = msgs("Что такое LiteLLM?")
variants = [
    ("тот же запрос", dict(model=MODEL, messages=base)),
    ("temperature=0.7", dict(model=MODEL, messages=base, temperature=0.7)),
    ("max_tokens=50", dict(model=MODEL, messages=base, max_tokens=50)),
    ("seed=1", dict(model=MODEL, messages=base, seed=1)),
    ("user='u1'", dict(model=MODEL, messages=base, user="u1")),
    ("другая модель (gpt-4o)", dict(model="openrouter/openai/gpt-4o", messages=base)),
    ("та же модель через openai/", dict(model="openai/gpt-4o-mini", messages=base)),
    ("лишний пробел в тексте", dict(model=MODEL, messages=msgs("Что такое  LiteLLM?"))),
    ("metadata={'team': 'a'}", dict(model=MODEL, messages=base, metadata={"team": "a"})),
    ("timeout=30", dict(model=MODEL, messages=base, timeout=30)),
    ("num_retries=2", dict(model=MODEL, messages=base, num_retries=2)),
    ("другое развёртывание (api_base)",
     dict(model=MODEL, messages=base, api_base=course.provider.api_base("openrouter", deployment="d2"))),
    ("cache={'namespace': 'alice'}", dict(model=MODEL, messages=base, cache={"namespace": "alice"})),
    ("другой api_key (неверный!)", dict(model=MODEL, messages=base, api_key="wrong-practice-key")),
]

with course.practice():
    litellm.completion(model=MODEL, messages=base)  # прогрев: этот ответ теперь в кэше
    print(f"{'что изменили':<34} {'попадание':<10} дошло")
    for label, kwargs in variants:
        before = served()
        r = litellm.completion(**kwargs)
        print(f"{label:<34} {hit(r)!s:<10} {served() - before}")
    reveal("01.p3", hit(r))  # r — ответ на вызов с чужим ключом, последняя строка

# %% [markdown]
# Без кэша тот же неверный ключ получает честный отказ:

# %%
try:
    litellm.completion(model=MODEL, messages=msgs("Вопрос, которого нет в кэше"), api_key="wrong-practice-key")
except litellm.AuthenticationError as e:
    print("без кэша неверный ключ получает:", type(e).__name__, e.status_code)

# %% [markdown]
# **В ключе:** строка модели (точная: `openrouter/openai/gpt-4o-mini` ≠ `openai/gpt-4o-mini`),
# `messages` (побайтно — лишний пробел меняет ключ), `temperature`, `max_tokens`, `seed`, `user`,
# а ещё `stream` (раздел 1.6). **Не в ключе:** `metadata`, `timeout`, `num_retries`, **`api_base`** и
# **`api_key`**. Ответ, полученный от одного развёртывания, отдаётся и для другого с тем же именем модели
# (развёртывание `d2` запроса не получило).
#
# `cache={"namespace": "alice"}` — не параметр модели, а указание самому кэшу: к ключу добавляется префикс
# `alice:`, у записей alice своё пространство имён, а провайдеру уходит тот же запрос, что и без него.
#
# > **Осторожно:** ключ кэша **не учитывает `api_key`**. Если сервис обслуживает нескольких клиентов, ответ,
# > закэшированный для одного, получит другой — даже с неверным или отозванным ключом. Разделяйте записи
# > явно: `cache={"namespace": клиент}` (ключ `клиент:sha256`, запрос провайдеру не меняется) или
# > `user=клиент` (он входит в ключ; с `openai/` LiteLLM отправляет его провайдеру, а с `openrouter/` молча
# > отбрасывает).
#
# Ключ можно вычислить заранее тем же методом, что и LiteLLM, — например, чтобы удалить конкретную запись:

# %%
print(litellm.cache.get_cache_key(model=MODEL, messages=base))
print(litellm.cache.get_cache_key(model=MODEL, messages=base, cache={"namespace": "alice"}), "← с namespace")

# %% [markdown]
# > **Осторожно:** кэшируется не всякий запрос. У `Cache` есть параметр `max_messages`, по умолчанию **4**:
# > запрос, в котором **больше четырёх сообщений** (вместе с системным), кэш не читает и не записывает.
# > Длинный диалог с ассистентом поэтому не кэшируется вовсе. Снять предел: `Cache(..., max_messages=None)`.

# %%
dialog = [
    {"role": "system", "content": "Отвечай кратко."},
    {"role": "user", "content": "Привет!"},
    {"role": "assistant", "content": "Здравствуйте!"},
    {"role": "user", "content": "Что такое кэш?"},
    {"role": "assistant", "content": "Хранилище готовых ответов."},
    {"role": "user", "content": "А зачем он нужен с LLM?"},
]
print("max_messages по умолчанию:", litellm.cache.max_messages)
with course.practice():
    for messages in (dialog[:4], dialog):
        litellm.completion(model=MODEL, messages=messages)
        before = served()
        again = litellm.completion(model=MODEL, messages=messages)
        print(f"сообщений в запросе: {len(messages)} | повтор — попадание: {hit(again)!s:<5} | дошло: {served() - before}")

# %% [markdown]
# ## 1.4 Управление кэшем в одном вызове
#
# Параметр `cache={...}` у `litellm.completion` действует только на этот вызов; указания можно сочетать в
# одном словаре:
#
# | указание | что делает |
# |---|---|
# | `cache={"no-cache": True}` | не читать из кэша: сходить к провайдеру (свежий ответ запишется) |
# | `cache={"no-store": True}` | не записывать ответ в кэш |
# | `cache={"no-cache": True, "no-store": True}` | мимо кэша совсем: не читать и не записывать |
# | `cache={"ttl": 1}` | запись проживёт 1 секунду |
# | `cache={"s-maxage": 1}` | принять из кэша только запись моложе 1 секунды |
# | `cache={"namespace": "alice"}` | своё пространство имён записей |

# %%
with course.practice():
    p = msgs("Контроль: no-cache")
    litellm.completion(model=MODEL, messages=p)
    b = served(); show("no-cache (запись уже есть)", litellm.completion(model=MODEL, messages=p, cache={"no-cache": True}), b)
    b = served(); show("обычный вызов после no-cache", litellm.completion(model=MODEL, messages=p), b)

    p = msgs("Контроль: no-store")
    b = served(); show("no-store", litellm.completion(model=MODEL, messages=p, cache={"no-store": True}), b)
    b = served(); show("тот же запрос ещё раз (не сохранён)", litellm.completion(model=MODEL, messages=p), b)

    p = msgs("Контроль: no-cache + no-store")
    b = served(); show("no-cache + no-store", litellm.completion(model=MODEL, messages=p, cache={"no-cache": True, "no-store": True}), b)
    b = served(); show("тот же запрос ещё раз (не сохранён)", litellm.completion(model=MODEL, messages=p), b)

# %% [markdown]
# Есть ещё параметр `caching=False`. Название обещает «без кэша». Новый вопрос отправим с `caching=False`, а
# следующий такой же — обычным вызовом.

# %%
predict("01.p4")

# %%
p = msgs("Контроль: caching=False")
with course.practice():
    b = served(); show("caching=False (новый вопрос)", litellm.completion(model=MODEL, messages=p, caching=False), b)
    b = served(); after = litellm.completion(model=MODEL, messages=p); show("обычный вызов после caching=False", after, b)
    b = served(); show("caching=False (запись уже есть)", litellm.completion(model=MODEL, messages=p, caching=False), b)
    reveal("01.p4", hit(after))

# %% [markdown]
# > **Осторожно:** `caching=False` **не выключает кэш для вызова**: он только пропускает чтение, а ответ
# > записывает — как `no-cache`. Так же ведёт себя и `acompletion`. Чтобы вызов прошёл мимо кэша совсем,
# > нужно `cache={"no-cache": True, "no-store": True}`.
#
# Время жизни: запишем один ответ с `ttl=0.5`, другой — обычным вызовом, и подождём 0,6 секунды.

# %%
p_ttl, p_age = msgs("Контроль: ttl"), msgs("Контроль: s-maxage")
with course.practice():
    b = served(); show("ttl=0.5: запись", litellm.completion(model=MODEL, messages=p_ttl, cache={"ttl": 0.5}), b)
    b = served(); show("ttl=0.5: сразу же", litellm.completion(model=MODEL, messages=p_ttl), b)
    litellm.completion(model=MODEL, messages=p_age)

    time.sleep(0.6)

    b = served(); show("ttl=0.5: через 0,6 с (истекла)", litellm.completion(model=MODEL, messages=p_ttl), b)
    b = served(); show("s-maxage=60: запись возрастом 0,6 с", litellm.completion(model=MODEL, messages=p_age, cache={"s-maxage": 60}), b)
    b = served(); show("s-maxage=0.5: та же запись — слишком стара", litellm.completion(model=MODEL, messages=p_age, cache={"s-maxage": 0.5}), b)

# %% [markdown]
# > **Важно:** у дискового кэша **нет срока жизни по умолчанию**: записи лежат, пока их не удалят (или пока
# > не истечёт `ttl`, заданный при записи). Для ответов, которые устаревают, задавайте `ttl`.
#
# ### Панель: лаборатория кэша
#
# Задайте запрос и параметры, нажимайте «Отправить» и смотрите, что попадает в кэш, а что нет. Снятая
# галочка «кэш» отправляет вызов мимо кэша: `cache={"no-cache": True, "no-store": True}`. Попробуйте:
# - отправить дважды — второй раз попадание, время в сотни раз меньше;
# - сдвинуть `temperature` или `max_tokens` — это уже другой ключ, снова промах; вернуть старое — попадание;
# - снять галочку, отправить новый запрос, вернуть галочку и отправить его снова — промах: вызов мимо кэша
#   ничего не записал.
#
# Панель пользуется тем кэшем, что включён сейчас (дисковым), а провайдер снова отвечает с обычной задержкой.

# %%
from course_helpers.panels.caching import CacheLab

course.reset()  # обычные задержки провайдера (и обнулённые счётчики)
lab = CacheLab(course.provider)
lab.widget

# %% [markdown]
# Кнопка вызывает `lab.send()`. Вызовем его из кода дважды с одним запросом:

# %%
with course.practice():
    lab.prompt.value = "Что такое fallback?"
    print([lab.send() for _ in range(2)])

# %% [markdown]
# ### Задание 1.2 · сборка. Вызов ассистента
#
# Напишите `ask(question, tenant, fresh=False, private=False)` — вызов ассистента, который отправляет
# `question` модели `openrouter/openai/gpt-4o-mini` через общий кэш сервиса и возвращает ответ LiteLLM.
# Требования:
# 1. клиент (`tenant`) никогда не получает ответ, закэшированный для другого клиента, а повтор того же
#    клиента — попадание;
# 2. `fresh=True` — пользователь нажал «Обновить ответ»: не брать ответ из кэша, а новый сохранить, чтобы
#    следующий обычный вопрос этого клиента получил уже его;
# 3. `private=True` — вопрос с личными данными: ни читать из кэша, ни записывать в него.
#
# Проверка включит кэш в памяти, прогонит сценарий из двух клиентов и флагов и сверит попадания со
# счётчиком провайдера.

# %%
def ask(question: str, tenant: str, fresh: bool = False, private: bool = False):
    # ваш код здесь
    raise NotImplementedError


# %%
check("01.2", ask)

# %% [markdown]
# Подсказки: `hint("01.2")`, `hint("01.2", 2)`. Решение — в конце урока и в `solution("01.2")`.
#
# ## 1.5 Один кэш на процесс: включить, заменить, выключить
#
# `litellm.cache` — один объект на весь процесс. `litellm.enable_cache()` без аргументов включает кэш в памяти
# процесса (LOCAL, `InMemoryCache`): быстрый, ничего не пишет на диск, пропадает с процессом, записи живут
# **600 секунд**, и их **не больше 200**.
#
# > **Осторожно:** `enable_cache()` **ничего не делает, если кэш уже включён**, — молча оставляет старый.
# > Поэтому при смене типа сначала `litellm.disable_cache()`, или сразу `litellm.cache = Cache(...)` (форма из
# > документации), или `litellm.update_cache(...)` — эти два заменяют кэш всегда.

# %%
litellm.enable_cache()  # кэш уже включён (DISK) — что будет?
print("после enable_cache() поверх DISK:", type(litellm.cache.cache).__name__)

litellm.disable_cache()
print("после disable_cache(): litellm.cache =", litellm.cache)

litellm.cache = Cache()  # то же, что disable_cache() + enable_cache()
print("после litellm.cache = Cache():", type(litellm.cache.cache).__name__,
      "| срок жизни записи:", litellm.cache.cache.default_ttl, "с | предел записей:", litellm.cache.cache.max_size_in_memory)

# %% [markdown]
# Записи LOCAL живут в объекте кэша: новый объект начинает с пустого места. А дисковый кэш при
# `disable_cache()` не стирается — создайте его снова с той же папкой, и записи на месте:

# %%
p = msgs("Кэш в памяти")
with course.practice():
    fast_provider()
    litellm.cache = Cache()
    litellm.completion(model=MODEL, messages=p)
    b = served(); show("LOCAL: повтор", litellm.completion(model=MODEL, messages=p), b)
    litellm.cache = Cache()
    b = served(); show("LOCAL: новый объект Cache()", litellm.completion(model=MODEL, messages=p), b)

    folder = str(course.fresh_dir("disk_again"))
    litellm.cache = Cache(type=LiteLLMCacheType.DISK, disk_cache_dir=folder)
    litellm.completion(model=MODEL, messages=p)
    litellm.cache = Cache(type=LiteLLMCacheType.DISK, disk_cache_dir=folder)  # новый объект — как после перезапуска
    b = served(); show("DISK: новый объект, та же папка", litellm.completion(model=MODEL, messages=p), b)

# %% [markdown]
# Так дисковый кэш переживает и перезапуск ядра: новый процесс с тем же `disk_cache_dir` получает попадание
# (и снова платит ~200 мс за импорты на первом попадании).
#
# ## 1.6 Асинхронные вызовы и потоковые ответы
#
# `acompletion` кэшируется так же, и записи у синхронных и асинхронных вызовов общие — с одной тонкостью.

# %%
fast_provider()
p = msgs("Асинхронный вызов")
with course.practice():
    b = served(); show("acompletion: первый", await litellm.acompletion(model=MODEL, messages=p), b)
    await asyncio.sleep(0.2)  # пауза перед повтором
    b = served(); show("acompletion: через 0,2 с", await litellm.acompletion(model=MODEL, messages=p), b)
    b = served(); show("синхронный completion того же вопроса", litellm.completion(model=MODEL, messages=p), b)

# %% [markdown]
# А если повторить **сразу**, без паузы?

# %%
predict("01.p5")

# %%
immediate_misses = 0
for i in range(5):
    p = msgs(f"Гонка записи, вопрос {i}")
    await litellm.acompletion(model=MODEL, messages=p)
    again = await litellm.acompletion(model=MODEL, messages=p)  # без паузы
    immediate_misses += not hit(again)

reveal("01.p5", immediate_misses)

# %% [markdown]
# Ещё нагляднее — **одновременные** одинаковые запросы: пока ни один не получил ответ, кэшу нечего отдать,
# и ничто не объединяет одинаковые запросы в один.

# %%
p = msgs("Пять одинаковых вопросов одновременно")
with course.practice():
    before = served()
    results = await asyncio.gather(*[litellm.acompletion(model=MODEL, messages=p) for _ in range(5)])
    print("попаданий среди 5 одновременных:", sum(hit(r) for r in results), "| дошло до провайдера:", served() - before)

# %% [markdown]
# > **Осторожно:** кэш не защищает от «стада» одинаковых запросов. Если 100 пользователей одновременно
# > спросят одно и то же, провайдер получит 100 запросов. Нужна дедупликация — своя (например, общий
# > `asyncio.Future` на ключ кэша) или на уровне прокси.
#
# **Потоковый ответ (stream)** тоже кэшируется и при попадании **воспроизводится как поток**
# (`CustomStreamWrapper`, кусочками), так что код, читающий поток, менять не нужно. Но `stream` входит в
# ключ: потоковый и обычный ответы хранятся отдельно.

# %%
def read_stream(stream):
    return "".join(chunk.choices[0].delta.content or "" for chunk in stream)


p = msgs("Расскажи про потоковый ответ")
with course.practice():
    b = served(); first = litellm.completion(model=MODEL, messages=p, stream=True); text = read_stream(first)
    show("stream=True: первый", first, b)
    time.sleep(0.3)  # поток записывается в кэш в фоне, после его окончания

    b = served(); again = litellm.completion(model=MODEL, messages=p, stream=True)
    print("повтор — тоже поток:", type(again).__name__, "| текст тот же:", read_stream(again) == text)
    show("stream=True: повтор", again, b)
    b = served(); show("тот же вопрос без stream", litellm.completion(model=MODEL, messages=p), b)

# %% [markdown]
# ## 1.7 Redis: общий кэш для нескольких серверов
#
# Дисковый кэш и кэш в памяти живут на одной машине. Если у сервиса несколько процессов или серверов, общий
# кэш держат в **Redis**. Курс поднимает настоящий `redis-server` (его адрес — `REDIS` из ячейки настройки).
# Адрес передаём целиком, параметром `url=`: в URL бывает и пароль.
#
# Два сервера — это два процесса со своими объектами `Cache`, подключёнными к одному Redis. Изобразим их
# двумя объектами: ответ, полученный «первым сервером», «второй» берёт из Redis.

# %%
if REDIS is None:
    print("Redis недоступен — ячейка пропущена.")
else:
    inspector = redis.Redis.from_url(REDIS)  # обычный клиент redis-py: посмотрим, что внутри
    server_1 = Cache(type=LiteLLMCacheType.REDIS, url=REDIS)
    server_2 = Cache(type=LiteLLMCacheType.REDIS, url=REDIS)
    p = msgs("Redis: общий ответ двух серверов")
    inspector.delete(server_1.get_cache_key(model=MODEL, messages=p))  # если ваш Redis живёт дольше урока
    with course.practice():
        litellm.cache = server_1
        b = served(); show("сервер 1: первый вопрос", litellm.completion(model=MODEL, messages=p), b)
        litellm.cache = server_2
        b = served(); r = litellm.completion(model=MODEL, messages=p); show("сервер 2: тот же вопрос", r, b)

    key = r._hidden_params["cache_key"]
    print("запись в Redis:", key, "| тип:", inspector.type(key).decode(), "| TTL ≈", round(inspector.pttl(key) / 1000), "с")

# %% [markdown]
# > **Исходный урок говорит:** «`REDIS` — хорошо подходит для распределённых систем». **На деле:** да, но по
# > умолчанию записи в Redis живут **60 секунд** — через минуту кэш пуст, и запросы снова платные. Задайте
# > срок явно: `ttl=` в `Cache`/`enable_cache` или `litellm.default_redis_ttl` — причём **до** создания кэша:
# > значение читается при создании.
#
# `namespace=` добавляет к ключам префикс: так несколько приложений делят один Redis, не видя записей друг друга.

# %%
if REDIS is None:
    print("Redis недоступен — ячейка пропущена.")
else:
    inspector = redis.Redis.from_url(REDIS)

    def redis_entry(label, text):
        """Запрос через текущий кэш; печатает ключ записи и сколько ей осталось жить."""
        key = litellm.cache.get_cache_key(model=MODEL, messages=msgs(text))
        inspector.delete(key)
        litellm.completion(model=MODEL, messages=msgs(text))
        print(f"{label:<34} ключ {key} | TTL ≈ {round(inspector.pttl(key) / 1000)} с")

    litellm.cache = Cache(type=LiteLLMCacheType.REDIS, url=REDIS, ttl=3600, namespace="course01")
    redis_entry("ttl=3600, namespace='course01'", "Redis: ttl и namespace")

    litellm.default_redis_ttl = 86400  # до создания кэша!
    litellm.cache = Cache(type=LiteLLMCacheType.REDIS, url=REDIS, namespace="course01")
    litellm.default_redis_ttl = None  # вернём как было: созданный кэш своё значение уже запомнил
    redis_entry("default_redis_ttl=86400", "Redis: default_redis_ttl")

# %% [markdown]
# В «нашем проекте» кэш включает `setup_caching()` из `config.py`. В курсе она лежит в `course_helpers` и
# сделана правильно: тип кэша — параметром, у Redis срок жизни час вместо 60 секунд, понятная ошибка вместо
# `AttributeError` на LiteLLM без `DISK`, и она **заменяет** уже включённый кэш (`litellm.cache = Cache(...)`).
#
# > **Исходный урок говорит:** доступны `REDIS`, `DISK`, `MONGODB`, `DYNAMODB`, `CLOUDFLARE`. **На деле:**
# > типов MongoDB, DynamoDB и Cloudflare KV в LiteLLM нет (ни в 1.108.14, ни в более новых). Настоящий список
# > даёт сам LiteLLM:

# %%
from importlib.metadata import version

from course_helpers import setup_caching

print(f"LiteLLM {version('litellm')}:", list(LiteLLMCacheType.__members__))
if REDIS is not None:
    cache = setup_caching("redis")
    print("setup_caching('redis'):", type(cache.cache).__name__, "| ttl записей:", cache.ttl, "с")

# %% [markdown]
# ### Задание 1.3 · решение. Кэш для двух серверов
#
# Ассистент переезжает на **два сервера**, а рядом, на том же Redis, работает второй сервис — поиск. Требования:
# 1. ответ, который получил один сервер ассистента, второй сервер отдаёт из кэша;
# 2. записи живут час;
# 3. сервисы не видят записей друг друга: одинаковый вопрос ассистента и поиска — разные записи.
#
# Напишите `make_cache(service)`: она создаёт и **возвращает** кэш (`Cache`) для одного сервера сервиса
# `service` (`"assistant"` или `"search"`). Проверка «запустит» три сервера — два ассистента и поиск, каждый
# со своим вызовом `make_cache` и своим `litellm.cache`, — отправит через них один вопрос и посмотрит, кто
# получил попадание, сколько запросов дошло до провайдера и сколько живёт запись в Redis.

# %%
def make_cache(service: str):
    # ваш код здесь
    raise NotImplementedError


# %%
check("01.3", make_cache)

# %% [markdown]
# Подсказки: `hint("01.3")`, `hint("01.3", 2)`. Решение — в конце урока и в `solution("01.3")`.
#
# ## Тест
#
# Семь вопросов по уроку: выберите ответ и нажмите «Ответить».

# %%
quiz("01")

# %% [markdown]
# ## Итоги
#
# - Кэш по умолчанию выключен. `enable_cache(type=LiteLLMCacheType.DISK, disk_cache_dir=...)` из исходного
#   урока работает на LiteLLM 1.108.14 (нужны `litellm[caching]`, `fastapi`, `orjson`, `soundfile`); записи на
#   диске переживают перезапуск и не имеют срока жизни по умолчанию.
# - Попадание: `r._hidden_params.get("cache_hit") is True` и `response_cost == 0.0`; у промаха ключа
#   `cache_hit` нет вовсе (`.get` даёт `None`, не `False`). Первое попадание в процессе ~200 мс, следующие ~1 мс.
# - В ключе: модель (точная строка), `messages`, `temperature`, `max_tokens`, `seed`, `user`, `stream`.
#   Не в ключе: `metadata`, `timeout`, `num_retries`, **`api_base`** и **`api_key`** — клиентов разделяйте сами:
#   `cache={"namespace": клиент}` или `user=`. Запрос из 5 и более сообщений не кэшируется (`max_messages=4`).
# - В одном вызове: `cache={"no-cache"|"no-store"|"ttl"|"s-maxage"|"namespace": ...}`; мимо кэша совсем —
#   `{"no-cache": True, "no-store": True}`; **`caching=False` только не читает, но записывает**.
# - `enable_cache()` не заменяет включённый кэш; `litellm.cache = Cache(...)` заменяет; `disable_cache()`
#   выключает. LOCAL — в памяти, 600 с, **не больше 200 записей**.
# - `acompletion` пишет в кэш в фоне: немедленный повтор может промахнуться, одновременные одинаковые запросы
#   все доходят до провайдера. Потоковые ответы кэшируются и воспроизводятся потоком.
# - Несколько серверов — Redis: `Cache(type=REDIS, url=..., ttl=..., namespace=...)`; **TTL по умолчанию 60 с**.
#
# ### Рецепт
#
# ```python
# import litellm
# from litellm.caching.caching import Cache, LiteLLMCacheType
#
# # при старте каждого сервера: общий Redis, записи живут час, свои ключи у сервиса
# litellm.cache = Cache(type=LiteLLMCacheType.REDIS, url=REDIS_URL, ttl=3600, namespace="assistant")
#
#
# def ask(question: str, tenant: str, fresh: bool = False, private: bool = False):
#     controls = {"namespace": tenant}  # клиенты не видят ответов друг друга (api_key не в ключе!)
#     if fresh or private:
#         controls["no-cache"] = True  # не читать из кэша
#     if private:
#         controls["no-store"] = True  # и не записывать
#     return litellm.completion(model="openrouter/openai/gpt-4o-mini",
#                               messages=[{"role": "user", "content": question}], cache=controls)
#
#
# def is_hit(response) -> bool:
#     return response._hidden_params.get("cache_hit") is True  # у промаха ключа нет: None, не False
# ```
#
# ### Документация
#
# - [LiteLLM: кэширование в SDK — типы кэша, параметры `Cache`, управление в вызове](https://docs.litellm.ai/docs/caching/all_caches)
# - [LiteLLM: кэширование на прокси](https://docs.litellm.ai/docs/proxy/caching)
# - [LiteLLM: токены и стоимость (`response_cost`)](https://docs.litellm.ai/docs/completion/token_usage)
# - [Redis: срок жизни ключей (EXPIRE, TTL)](https://redis.io/docs/latest/commands/expire/)
#
# ## Для любопытных
#
# ### Почему первое попадание медленное
#
# При первом попадании LiteLLM лениво импортирует модули, которые нужны, чтобы собрать ответ из кэша: `fastapi`,
# `orjson`, `soundfile` (и за ними `starlette`, `numpy`…). В разделе 1.1 мы запоминали `sys.modules` после
# каждого вызова — посмотрим, на каком шаге появился каждый модуль. (`orjson` в Jupyter уже загружен самим
# ядром, а в обычном скрипте его тоже импортирует первое попадание.)

# %%
steps = ["ещё до опыта", "при промахе", "при первом попадании", "при втором попадании", "при третьем попадании"]
for name in ("fastapi", "starlette", "soundfile", "numpy", "orjson"):
    step = next((steps[i] for i, names in enumerate(loaded) if name in names), "не загружен")
    print(f"{name:<10} загружен {step}")
print(f"первое попадание: {times_ms[1]:.1f} мс, следующие: {min(times_ms[2:]):.1f} мс")

# %% [markdown]
# ### Предел в 200 записей у кэша в памяти
#
# Запишем ответ на вопрос №0, потом ещё 200 разных записей. Чтобы не ждать двухсот ответов, положим их
# методом, которым пишет сам LiteLLM, — `litellm.cache.add_cache(ответ, model=..., messages=...)`.

# %%
litellm.cache = Cache()
first = msgs("Кэш в памяти: вопрос №0")
with course.practice():
    fast_provider()
    sample = litellm.completion(model=MODEL, messages=first)
    for i in range(1, 201):
        litellm.cache.add_cache(sample, model=MODEL, messages=msgs(f"Кэш в памяти: вопрос №{i}"))
    print("записей в кэше:", len(litellm.cache.cache.cache_dict))
    b = served(); show("вопрос №0 после 200 других записей", litellm.completion(model=MODEL, messages=first), b)

# %% [markdown]
# Вопрос №0 вытеснен: при записи 201-й записи `InMemoryCache` удаляет ту, что истекает раньше всех (при
# одинаковом TTL — самую старую). Через `Cache(...)` или `enable_cache(...)` этот предел не поменять: `Cache`
# создаёт `InMemoryCache()` без аргументов. Нужно больше записей — берите Redis.
#
# ### Кэш по запросу: `mode="default_off"`
#
# `Cache(mode="default_off")` создаёт кэш, которым пользуются лишь вызовы с `cache={"use-cache": True}`:
# обычный вызов его не читает и не записывает.

# %%
litellm.cache = Cache(mode="default_off")
p = msgs("Кэш по запросу")
with course.practice():
    b = served(); show("обычный вызов", litellm.completion(model=MODEL, messages=p), b)
    b = served(); show("use-cache: первый", litellm.completion(model=MODEL, messages=p, cache={"use-cache": True}), b)
    b = served(); show("use-cache: повтор", litellm.completion(model=MODEL, messages=p, cache={"use-cache": True}), b)
    b = served(); show("обычный вызов после use-cache", litellm.completion(model=MODEL, messages=p), b)

# %% [markdown]
# ### Что ещё делает `disable_cache()`
#
# Кроме `litellm.cache = None`, он убирает метку `"cache"` из списков колбэков `litellm.input_callback`,
# `litellm.success_callback` и `litellm._async_success_callback`; конструктор `Cache` возвращает метки на место.
# В 1.108.14 метки на чтение и запись не влияют — это решает `litellm.cache`.

# %%
def cache_marks():
    return ["cache" in callbacks for callbacks in
            (litellm.input_callback, litellm.success_callback, litellm._async_success_callback)]


litellm.disable_cache()
print("после disable_cache():", litellm.cache, cache_marks())
litellm.cache = Cache()
print("после litellm.cache = Cache():", cache_marks())

# %% [markdown]
# ### `DISK` удалён в LiteLLM 1.109.0
#
# > **Исходный урок говорит:** `DISK` — «простое решение для одного сервера». **На деле:** в LiteLLM 1.109.0 его
# > удалили. Код исходного урока на новых версиях падает уже на `LiteLLMCacheType.DISK` (`AttributeError`), а
# > `enable_cache(type="disk")` даёт `ValueError: Unsupported cache type 'disk'`. Курс поэтому закрепляет 1.108.14.
#
# Что делать при обновлении:
# - **один процесс, перезапуски не важны** → `litellm.cache = Cache()` (LOCAL: 600 с, не больше 200 записей);
# - **несколько процессов или нужно пережить перезапуск** → Redis с явным `ttl=`;
# - **долговременное хранение** → `S3`, `GCS` или `AZURE_BLOB`.
#
# Ваш прогресс по уроку — задания, тест и прогнозы:

# %%
progress("01")

# %% [markdown] tags=["solutions"]
