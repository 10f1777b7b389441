# %% [markdown]
# # Урок 01. Кэширование
#
# Повторный одинаковый запрос к LLM не должен стоить ни денег, ни секунды ожидания.
# LiteLLM умеет кэшировать ответы сам — на диске, в памяти, в Redis.
#
# **В этом уроке вы:**
# - включите дисковый кэш ровно так, как в исходном уроке, и увидите попадания и промахи;
# - разберётесь, откуда берутся ~200 мс на первом попадании и почему промах — это не `cache_hit=False`;
# - докажете вторым процессом, что дисковый кэш переживает перезапуск ядра;
# - узнаете, что входит в ключ кэша, а что нет — и чем это опасно (ключ API в него не входит!);
# - научитесь управлять кэшем в отдельном вызове (`no-cache`, `no-store`, `ttl`, `s-maxage`, `namespace`)
#   и увидите, что `caching=False` — вовсе не «без кэша»;
# - попробуете кэш в памяти, `acompletion` и стриминг — и увидите гонку асинхронной записи;
# - подключите настоящий Redis: ключи, `namespace`, TTL 60 секунд по умолчанию, общий кэш двух процессов;
# - узнаете настоящий список типов кэша и что делать после удаления `DISK` в LiteLLM 1.109.0.
#
# ⏱ **Время:** 45 минут.

# %% [markdown]
# ## 1.1 Подготовка
#
# Одна ячейка настройки, как в каждом уроке: практический провайдер и LiteLLM, направленный на него.
# В онлайн-режиме опыты, которые считают запросы к провайдеру, идут на практическом провайдере:
# только у него есть счётчики (ячейка такого опыта об этом скажет).

# %%
from course_helpers import start_lesson

course = start_lesson("01")

# %% [markdown]
# Несколько мелочей, которые понадобятся во всём уроке: модель, сообщение из одного вопроса и
# счётчик запросов, **дошедших до провайдера**. Счётчик — главный свидетель: попадание в кэш
# означает, что провайдер запроса не получил.

# %%
import asyncio
import os
import subprocess
import sys
import time

import litellm
from litellm.caching.caching import LiteLLMCacheType

MODEL = "openrouter/openai/gpt-4o-mini"


def msgs(text):
    """messages из одного сообщения пользователя."""
    return [{"role": "user", "content": text}]


def served():
    """Сколько запросов получил практический провайдер с начала урока."""
    return course.provider.stats()["requests"]


def hit(response):
    """True, если ответ взят из кэша."""
    return response._hidden_params.get("cache_hit") is True


# %% [markdown]
# ## 1.2 Дисковый кэш из исходного урока
#
# В исходном уроке кэш включается так:
#
# ```python
# litellm.enable_cache(type=LiteLLMCacheType.DISK, disk_cache_dir="./cache_dir")
# ```
#
# Сделаем ровно это. Вместо `./cache_dir` возьмём папку урока `course.fresh_dir("cache_dir")`:
# она очищается при каждом запуске, и урок всегда начинается с пустого кэша.

# %%
litellm.disable_cache()  # на случай повторного запуска ячейки: почему это нужно — в разделе 1.7
cache_dir = course.fresh_dir("cache_dir")

litellm.enable_cache(
    type=LiteLLMCacheType.DISK,
    disk_cache_dir=str(cache_dir),
)

print("тип кэша:", type(litellm.cache.cache).__name__)
print("в папке появилась база cache.db:", "cache.db" in os.listdir(cache_dir))

# %% [markdown]
# Отправим один и тот же запрос четыре раза и для каждого вызова запишем время, флаг
# `cache_hit`, стоимость и сколько запросов к этому моменту получил провайдер.
# Заодно запомним, какие модули Python были загружены после каждого вызова — это пригодится в 1.3.

# %%
question = msgs("Что такое кэширование?")
times_ms, responses, modules = [], [], [set(sys.modules)]  # modules[0] — до первого вызова
with course.practice():
    start_count = served()

    for i in range(4):
        start = time.perf_counter()
        r = litellm.completion(model=MODEL, messages=question)
        times_ms.append((time.perf_counter() - start) * 1000)
        responses.append(r)
        modules.append(set(sys.modules))
        print(f"вызов {i}: cache_hit={r._hidden_params.get('cache_hit')!s:<5} "
              f"стоимость={r._hidden_params['response_cost']:<8} провайдер получил: {served() - start_count}   {times_ms[-1]:.1f} мс")

print()
print(responses[0].choices[0].message.content)

# %% [markdown]
# Провайдер получил **один** запрос — остальные три ответа пришли с диска, бесплатно
# (`response_cost` равен `0.0`).
#
# > **Важно:** промах — это **не** `cache_hit = False`. У ответа-промаха ключа `cache_hit` в
# > `_hidden_params` нет вовсе: `r._hidden_params["cache_hit"]` падает с `KeyError`, а `.get(...)`
# > даёт `None`. Проверка `== False` никогда не сработает. Проверяйте так:
# > `if r._hidden_params.get("cache_hit"):` — или `... .get("cache_hit") is True`.

# %%
miss = responses[0]._hidden_params
print("промах: ключ cache_hit есть?", "cache_hit" in miss, "| .get('cache_hit') =", miss.get("cache_hit"),
      "| это False?", miss.get("cache_hit") is False)
print("попадание: cache_hit =", responses[1]._hidden_params["cache_hit"],
      "| стоимость:", responses[1]._hidden_params["response_cost"])
print("ключ кэша (sha256 от параметров запроса):", responses[1]._hidden_params["cache_key"])

# %% [markdown]
# ## 1.3 Почему первое попадание медленное
#
# Посмотрите на время: промах — это настоящий запрос, а вот **первое** попадание тоже заметно
# медленнее следующих (около 200 мс против 1 мс). Дело не в диске: при первом попадании LiteLLM
# лениво импортирует модули, которые нужны для сборки ответа из кэша, — `fastapi`, `orjson`,
# `soundfile` (и за ними `starlette`, `numpy`…). Посмотрим, на каком шаге каждый из них появился в `sys.modules`.
# (`orjson` в Jupyter уже загружен самим ядром, а в обычном скрипте его тоже импортирует первое попадание.)

# %%
def when_imported(name):
    """На каком шаге модуль впервые появился в sys.modules."""
    steps = ["ещё до урока (его использует сам Jupyter)", "при промахе",
             "при первом попадании", "при втором попадании", "при третьем попадании"]
    return next((steps[i] for i, loaded in enumerate(modules) if name in loaded), "не загружен")


for name in ("fastapi", "starlette", "soundfile", "numpy", "orjson"):
    print(f"{name:<10} загружен {when_imported(name)}")

print()
later = sorted(times_ms[2:])
print(f"первое попадание: {times_ms[1]:.1f} мс, следующие: {later[0]:.1f} мс")
print("первое попадание медленнее следующих:", times_ms[1] > min(times_ms[2:]))

# %% [markdown]
# > **Осторожно:** отсюда практический вывод для установки. `pip install litellm` этих пакетов не
# > ставит: с «голой» установкой `enable_cache(type=DISK)` падает с `ModuleNotFoundError`
# > (нужен `diskcache` из extra `litellm[caching]`), а первое попадание — с `No module named 'fastapi'`.
# > Рабочая установка: `pip install "litellm[caching]==1.108.14" fastapi orjson soundfile`
# > (в `requirements.txt` курса это уже учтено).
#
# Та же картина на графике (логарифмическая шкала — иначе попадания не разглядеть):

# %%
import matplotlib.pyplot as plt

labels = ["промах\n(запрос к провайдеру)", "первое попадание\n(ленивые импорты)", "следующие попадания"]
values = [times_ms[0], times_ms[1], sum(times_ms[2:]) / len(times_ms[2:])]

fig, ax = plt.subplots(figsize=(7, 3.5))
bars = ax.bar(labels, values, color=["#d4a72c", "#57a773", "#1a7f37"])
ax.set_yscale("log")
ax.set_ylim(top=max(values) * 3)  # место для подписей над столбцами
ax.set_ylabel("время ответа, мс (лог. шкала)")
ax.set_title("Дисковый кэш LiteLLM: промах, первое и следующие попадания")
for bar, value in zip(bars, values):
    ax.annotate(f"{value:.1f} мс", (bar.get_x() + bar.get_width() / 2, value), ha="center", va="bottom")
plt.show()

# %% [markdown]
# ## 1.4 Кэш переживает перезапуск ядра
#
# Дисковый кэш — это файл `cache.db` (SQLite через пакет `diskcache`). Значит, его должен видеть и
# **другой процесс** — например, ваш скрипт после перезапуска. Проверим это честно: запустим
# отдельный `python` с тем же `disk_cache_dir` и тем же запросом. Переменные окружения
# (`OPENROUTER_API_BASE`, `OPENROUTER_API_KEY`) передаём ему, чтобы при промахе он мог дойти до того же провайдера.
#
# Скрипт второго процесса пригодится и для Redis (раздел 1.9), поэтому он принимает тип кэша аргументом.

# %%
SECOND_PROCESS = '''
import sys, time
import litellm
from litellm.caching.caching import LiteLLMCacheType

kind = sys.argv[1]
if kind == "disk":
    litellm.enable_cache(type=LiteLLMCacheType.DISK, disk_cache_dir=sys.argv[2])
else:
    litellm.enable_cache(type=LiteLLMCacheType.REDIS, host=sys.argv[2], port=sys.argv[3])

for i in range(2):
    start = time.perf_counter()
    r = litellm.completion(model="openrouter/openai/gpt-4o-mini",
                           messages=[{"role": "user", "content": "Что такое кэширование?"}])
    ms = (time.perf_counter() - start) * 1000
    print(f"  второй процесс, вызов {i}: cache_hit={r._hidden_params.get('cache_hit')}  {ms:.1f} мс")
'''
script = course.fresh_dir("second_process") / "second_process.py"
script.write_text(SECOND_PROCESS, encoding="utf-8")


def run_second_process(*args):
    """Запускает скрипт в отдельном python и печатает его вывод."""
    env = dict(os.environ)  # OPENROUTER_API_BASE / OPENROUTER_API_KEY ведут к тому же провайдеру
    done = subprocess.run([sys.executable, str(script), *args], env=env,
                          capture_output=True, text=True, timeout=180)
    print(done.stdout, end="")
    if done.returncode != 0:
        print("второй процесс упал:", done.stderr[-800:])


with course.practice():
    before = served()
    run_second_process("disk", str(cache_dir))
    print("новых запросов у провайдера:", served() - before)

# %% [markdown]
# Второй процесс получил ответ из файла, провайдер не получил ни одного запроса. И у второго
# процесса первое попадание снова медленное — те же ленивые импорты, уже в новом процессе.
#
# > **Важно:** у дискового кэша **нет срока жизни по умолчанию**: записи лежат, пока вы их не удалите
# > (или не зададите `ttl`, см. 1.6). Для ответов, которые устаревают, это не всегда то, что нужно.

# %% [markdown]
# ## 1.5 Что входит в ключ кэша
#
# Ключ — это sha256 от параметров запроса. Но **от каких именно**? Проверим опытом: прогреем кэш
# одним запросом и будем менять по одному параметру. «дошло» — сколько запросов получил провайдер.

# %%
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
    ("другой api_key (неверный!)", dict(model=MODEL, messages=base, api_key="wrong-practice-key")),
    ("cache={'namespace': 'alice'}", dict(model=MODEL, messages=base, cache={"namespace": "alice"})),
]

with course.practice():
    litellm.completion(model=MODEL, messages=base)  # прогрев: этот ответ теперь в кэше
    print(f"{'что изменили':<32} {'попадание':<10} дошло")
    for label, kwargs in variants:
        before = served()
        r = litellm.completion(**kwargs)
        print(f"{label:<32} {hit(r)!s:<10} {served() - before}")

# %% [markdown]
# **В ключе:** строка модели (точная: `openrouter/openai/gpt-4o-mini` ≠ `openai/gpt-4o-mini`),
# `messages` (побайтно — лишний пробел меняет ключ), `temperature`, `max_tokens`, `seed`, `user`,
# а ещё `stream` (раздел 1.8).
# **Не в ключе:** `metadata`, `timeout`, `num_retries`, **`api_base`** и **`api_key`**.
#
# `api_base` — адрес развёртывания (deployment). Раз его нет в ключе, ответ, полученный от одного
# развёртывания, отдаётся и для другого с тем же именем модели — например, для своего сервера
# вместо облачного: провайдер `d2` запроса не получил.
#
# Последняя строка — не параметр модели, а указание самому кэшу: `cache={"namespace": "alice"}`
# добавляет к ключу префикс `alice:`, и у записей alice своё пространство имён. Провайдеру при
# этом уходит тот же запрос, что и без `namespace`.
#
# Строка с `api_key` — дыра в безопасности. Запрос с **неверным** ключом получил ответ из
# кэша, а провайдер его даже не увидел. Без кэша тот же ключ получает честный отказ:

# %%
try:
    litellm.completion(model=MODEL, messages=msgs("Вопрос, которого нет в кэше"), api_key="wrong-practice-key")
except litellm.AuthenticationError as e:
    print("без кэша неверный ключ получает:", type(e).__name__, e.status_code)

# %% [markdown]
# > **Осторожно:** ключ кэша **не учитывает `api_key`**. Если один сервис обслуживает нескольких
# > клиентов со своими ключами, ответ, закэшированный для одного, получит другой — даже с
# > неверным или отозванным ключом. Разделяйте записи явно: передавайте `user=<клиент>` (он входит
# > в ключ; это и параметр запроса — с `openai/` LiteLLM отправляет его провайдеру, а с `openrouter/`
# > молча отбрасывает) или `cache={"namespace": <клиент>}` (ключ `<клиент>:<sha256>`, а запрос
# > провайдеру не меняется ни у какого провайдера), либо держите для клиентов отдельные кэши.
# > Это задание 01.3.
#
# Ключ можно вычислить заранее — тем же методом, которым пользуется LiteLLM. Это удобно, чтобы
# удалить конкретную запись:

# %%
key = litellm.cache.get_cache_key(model=MODEL, messages=base)
r = litellm.completion(model=MODEL, messages=base)
print("ключ совпадает с тем, что в ответе:", key == r._hidden_params["cache_key"])
print(key)
print(litellm.cache.get_cache_key(model=MODEL, messages=base, cache={"namespace": "alice"}), "← с namespace")

# %% [markdown]
# > **Осторожно:** кэшируется не всякий запрос. У `Cache` есть параметр `max_messages`, по умолчанию
# > **4**: запрос, в котором **больше четырёх сообщений** (вместе с системным), кэш не читает и не
# > записывает. Длинный диалог с ассистентом поэтому не кэшируется вовсе, а `cache_hit` молчит.
# > Снять ограничение: `litellm.cache = Cache(..., max_messages=None)` (или задать своё число).

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
# ## 1.6 Управление кэшем в одном вызове
#
# Параметр `cache={...}` у `litellm.completion` действует только на этот вызов:
#
# | параметр | что делает |
# |---|---|
# | `cache={"no-cache": True}` | не читать из кэша: сходить к провайдеру (свежий ответ запишется) |
# | `cache={"no-store": True}` | не записывать ответ в кэш |
# | `cache={"ttl": 1}` | запись проживёт 1 секунду |
# | `cache={"s-maxage": 1}` | принять из кэша только запись моложе 1 секунды |
# | `cache={"no-cache": True, "no-store": True}` | мимо кэша совсем: не читать и не записывать |
# | `caching=False` | не читать из кэша, **но ответ записать** (как `no-cache`) |
#
# Проверим каждый.

# %%
def show(label, response, before):
    print(f"{label:<40} cache_hit={response._hidden_params.get('cache_hit')!s:<5} дошло: {served() - before}")


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
# А `caching=False`? Название обещает «без кэша». Прежде чем запускать, решите: новый запрос
# отправлен с `caching=False`, следующий такой же — обычный. Будет ли он попаданием?

# %%
p = msgs("Контроль: caching=False")
with course.practice():
    b = served(); show("caching=False (новый запрос)", litellm.completion(model=MODEL, messages=p, caching=False), b)
    b = served(); show("обычный вызов после caching=False", litellm.completion(model=MODEL, messages=p), b)
    b = served(); show("caching=False (запись уже есть)", litellm.completion(model=MODEL, messages=p, caching=False), b)

# %% [markdown]
# > **Осторожно:** `caching=False` **не выключает кэш для вызова**: он только пропускает чтение, а ответ
# > всё равно записывается (LiteLLM не пишет в кэш лишь при `no-store`). Следующий обычный вызов
# > получил этот ответ из кэша, провайдер его не увидел. Так же ведёт себя и `acompletion`.
# > Чтобы вызов прошёл мимо кэша совсем, нужно `cache={"no-cache": True, "no-store": True}`.

# %% [markdown]
# Теперь время жизни. Запишем один ответ с `ttl=1`, другой — обычным способом, подождём 1,5 секунды:

# %%
p_ttl, p_age = msgs("Контроль: ttl"), msgs("Контроль: s-maxage")
with course.practice():
    b = served(); show("ttl=1: запись", litellm.completion(model=MODEL, messages=p_ttl, cache={"ttl": 1}), b)
    b = served(); show("ttl=1: сразу же", litellm.completion(model=MODEL, messages=p_ttl), b)
    litellm.completion(model=MODEL, messages=p_age)

    time.sleep(1.5)

    b = served(); show("ttl=1: через 1,5 секунды (истекла)", litellm.completion(model=MODEL, messages=p_ttl), b)
    b = served(); show("s-maxage=60: запись возрастом 1,5 секунды", litellm.completion(model=MODEL, messages=p_age, cache={"s-maxage": 60}), b)
    b = served(); show("s-maxage=1: та же запись — слишком стара", litellm.completion(model=MODEL, messages=p_age, cache={"s-maxage": 1}), b)

# %% [markdown]
# Выключить кэш для всех — `litellm.disable_cache()`. Он делает две вещи: `litellm.cache = None` и
# убирает метку `"cache"` из списков колбэков `litellm.input_callback`, `litellm.success_callback` и
# `litellm._async_success_callback`. Дисковый кэш при этом не стирается: создайте его снова с той же
# папкой — записи на месте.
#
# Создадим его в форме из документации LiteLLM — `litellm.cache = Cache(...)`. Конструктор `Cache`
# сам возвращает метки на место. (В 1.108.14 метки на чтение и запись не влияют: это решает
# `litellm.cache`.)

# %%
from litellm.caching.caching import Cache


def cache_marks():
    """Есть ли метка "cache" в input_callback, success_callback и _async_success_callback."""
    return ["cache" in callbacks for callbacks in
            (litellm.input_callback, litellm.success_callback, litellm._async_success_callback)]


with course.practice():
    litellm.disable_cache()
    print("после disable_cache(): litellm.cache =", litellm.cache, "| метки:", cache_marks())
    b = served(); show("без кэша", litellm.completion(model=MODEL, messages=question), b)

    litellm.cache = Cache(type=LiteLLMCacheType.DISK, disk_cache_dir=str(cache_dir))
    print("после litellm.cache = Cache(...): метки:", cache_marks())
    b = served(); show("снова DISK с той же папкой", litellm.completion(model=MODEL, messages=question), b)

# %% [markdown]
# ## 1.7 Кэш в памяти (LOCAL)
#
# `litellm.enable_cache()` без аргументов (или `litellm.cache = Cache()`) включает кэш в памяти
# процесса (`InMemoryCache`): быстрый, ничего не пишет на диск, пропадает с процессом, записи живут
# **600 секунд** по умолчанию, и их **не больше 200**.
#
# > **Осторожно:** `enable_cache()` **ничего не делает, если кэш уже включён**, — молча оставляет
# > старый. Поэтому при смене типа сначала `litellm.disable_cache()`, или сразу
# > `litellm.cache = Cache(...)`, или `litellm.update_cache(...)` — эти два заменяют кэш всегда.

# %%
litellm.enable_cache()  # кэш уже включён (DISK) — что будет?
print("после enable_cache() поверх DISK:", type(litellm.cache.cache).__name__)

litellm.disable_cache()
litellm.enable_cache()
print("после disable_cache() + enable_cache():", type(litellm.cache.cache).__name__)
print("срок жизни записи по умолчанию:", litellm.cache.cache.default_ttl, "секунд")
print("предел записей:", litellm.cache.cache.max_size_in_memory)

# %% [markdown]
# Предел в 200 записей проверим делом: запишем запрос №0, потом ещё 200 разных. Чтобы не ждать
# двести ответов, попросим практический провайдер на это время отвечать мгновенно.

# %%
with course.practice():
    course.provider.set_latency_scale(0)  # отвечать без задержки
    first = msgs("Кэш в памяти: запрос №0")
    litellm.completion(model=MODEL, messages=first)
    for i in range(1, 201):
        litellm.completion(model=MODEL, messages=msgs(f"Кэш в памяти: запрос №{i}"))
    course.provider.reset()  # обычные задержки (и обнулённые счётчики провайдера)

    b = served(); show("запрос №0 после 200 других", litellm.completion(model=MODEL, messages=first), b)

# %% [markdown]
# Запрос №0 вытеснен: при записи 201-й записи `InMemoryCache` удаляет ту, что истекает раньше всех
# (при одинаковом TTL — самую старую). Через `Cache(...)` или `enable_cache(...)` этот предел не
# поменять: `Cache` создаёт `InMemoryCache()` без аргументов. Нужно больше записей — берите DISK или Redis.

# %%
p = msgs("Кэш в памяти")
with course.practice():
    b = served(); show("LOCAL: первый вызов", litellm.completion(model=MODEL, messages=p), b)
    b = served(); show("LOCAL: повтор", litellm.completion(model=MODEL, messages=p), b)

    litellm.disable_cache()
    litellm.enable_cache()
    b = served(); show("LOCAL: после пересоздания кэша", litellm.completion(model=MODEL, messages=p), b)

# %% [markdown]
# **Кэш по запросу.** Бывает, что кэшировать нужно не всё, а только отдельные вызовы.
# `Cache(mode="default_off")` создаёт кэш, которым пользуются лишь вызовы с `cache={"use-cache": True}`.
# Прогноз: обычный вызов при таком кэше — его читает? записывает? А обычный вызов после `use-cache`?

# %%
litellm.cache = Cache(mode="default_off")  # LOCAL, но только для вызовов с use-cache
p = msgs("Кэш по запросу")
with course.practice():
    b = served(); show("обычный вызов", litellm.completion(model=MODEL, messages=p), b)
    b = served(); show("обычный вызов ещё раз", litellm.completion(model=MODEL, messages=p), b)
    b = served(); show("use-cache: первый", litellm.completion(model=MODEL, messages=p, cache={"use-cache": True}), b)
    b = served(); show("use-cache: повтор", litellm.completion(model=MODEL, messages=p, cache={"use-cache": True}), b)
    b = served(); show("обычный вызов после use-cache", litellm.completion(model=MODEL, messages=p), b)

litellm.cache = Cache()  # дальше в уроке — обычный кэш в памяти

# %% [markdown]
# При `mode="default_off"` обычный вызов кэш **не читает и не записывает**: первый `use-cache`
# тоже промахнулся — до него в кэше ничего не было. Вызов с `use-cache` и читает, и записывает, а
# записанный им ответ обычный вызов всё равно не берёт.

# %% [markdown]
# ## 1.8 Асинхронные вызовы и стриминг
#
# `acompletion` кэшируется так же, и записи у синхронных и асинхронных вызовов общие.
# Но есть тонкость: после асинхронного вызова **запись в кэш делается в фоне** (отдельной задачей
# в цикле событий). Ответ уже у вас, а в кэше его ещё нет.

# %%
p = msgs("Асинхронный вызов")
with course.practice():
    b = served(); show("acompletion: первый", await litellm.acompletion(model=MODEL, messages=p), b)
    await asyncio.sleep(0.5)  # даём фоновой записи завершиться
    b = served(); show("acompletion: через 0,5 секунды", await litellm.acompletion(model=MODEL, messages=p), b)
    b = served(); show("синхронный completion того же запроса", litellm.completion(model=MODEL, messages=p), b)

# %% [markdown]
# А если повторить **сразу**, без паузы? Проверим на пяти разных запросах: каждый отправим и тут же повторим.

# %%
immediate_misses = 0
for i in range(5):
    p = msgs(f"Гонка записи, запрос {i}")
    await litellm.acompletion(model=MODEL, messages=p)
    again = await litellm.acompletion(model=MODEL, messages=p)  # без паузы
    immediate_misses += not hit(again)

print("хотя бы один немедленный повтор промахнулся:", immediate_misses > 0)

# %% [markdown]
# Сколько именно повторов промахнётся, зависит от того, кто раньше выполнится в цикле событий —
# поэтому печатаем только сам факт. Ещё нагляднее — **одновременные** одинаковые запросы: пока ни
# один не получил ответ, кэшу нечего отдать, и ничто не объединяет одинаковые запросы в один.

# %%
p = msgs("Пять одинаковых запросов одновременно")
with course.practice():
    before = served()
    results = await asyncio.gather(*[litellm.acompletion(model=MODEL, messages=p) for _ in range(5)])
    print("попаданий среди 5 одновременных:", sum(hit(r) for r in results))
    print("одинаковые одновременные запросы дошли до провайдера:", served() - before, "раз(а)")

    await asyncio.sleep(0.5)
    b = served(); show("тот же запрос после них", await litellm.acompletion(model=MODEL, messages=p), b)

# %% [markdown]
# > **Осторожно:** кэш не защищает от «стада» одинаковых запросов. Если 100 пользователей одновременно
# > спросят одно и то же, провайдер получит 100 запросов. Нужна дедупликация — своя (например,
# > общий `asyncio.Future` на ключ кэша) или на уровне прокси.
#
# **Стриминг.** Ответ с `stream=True` тоже кэшируется и при попадании **воспроизводится как поток**
# (`CustomStreamWrapper`, по кусочкам), так что код, читающий поток, менять не нужно.
# Но `stream` входит в ключ: потоковый и обычный ответы хранятся отдельно.

# %%
p = msgs("Расскажи про стриминг")


def read_stream(stream):
    return "".join(chunk.choices[0].delta.content or "" for chunk in stream)


with course.practice():
    b = served()
    first = litellm.completion(model=MODEL, messages=p, stream=True)
    text_first = read_stream(first)
    show("stream=True: первый", first, b)
    time.sleep(1)  # поток записывается в кэш в фоне, после его окончания

    b = served()
    second = litellm.completion(model=MODEL, messages=p, stream=True)
    text_second = read_stream(second)
    show("stream=True: повтор", second, b)
    print("повтор — тоже поток:", type(second).__name__, "| текст тот же:", text_first == text_second)

    b = served(); show("тот же запрос без stream", litellm.completion(model=MODEL, messages=p), b)

# %% [markdown]
# ## 1.9 Redis: кэш для нескольких процессов и серверов
#
# Дисковый кэш живёт на одной машине. Если у сервиса несколько процессов или серверов, общий кэш
# держат в **Redis**. Курс поднимает настоящий `redis-server` на свободном порту (или берёт ваш из
# `REDIS_URL`). Если Redis нет, ячейка объяснит, как его поставить, а ячейки ниже пропустятся.

# %%
from course_helpers import RedisUnavailable, redis_host_port, redis_url

try:
    REDIS = redis_url()
except RedisUnavailable as e:
    REDIS = None
    print(e)
else:
    import redis

    host, port = redis_host_port(REDIS)
    r_client = redis.Redis(host=host, port=port)  # обычный клиент redis-py: посмотрим, что внутри
    print("Redis отвечает:", r_client.ping(), "|", REDIS)

# %% [markdown]
# Включаем кэш Redis. Заранее вычисляем ключ и удаляем старую запись (если ваш Redis живёт дольше урока),
# затем делаем промах и попадание и смотрим на запись в самом Redis.

# %%
if REDIS is None:
    print("Redis недоступен — ячейка пропущена.")
else:
    litellm.disable_cache()
    litellm.enable_cache(type=LiteLLMCacheType.REDIS, host=host, port=str(port))

    r_client.delete(litellm.cache.get_cache_key(model=MODEL, messages=question))
    with course.practice():
        b = served(); show("Redis: первый вызов", litellm.completion(model=MODEL, messages=question), b)
        b = served(); r = litellm.completion(model=MODEL, messages=question); show("Redis: повтор", r, b)

    redis_key = r._hidden_params["cache_key"]
    print("ключ в Redis:", redis_key, "| есть:", bool(r_client.exists(redis_key)),
          "| тип:", r_client.type(redis_key).decode())
    print("TTL записи ≈", round(r_client.pttl(redis_key) / 1000), "секунд")

# %% [markdown]
# > **Осторожно:** по умолчанию записи в Redis живут **60 секунд** — через минуту кэш пуст, и запросы
# > снова платные. Задайте срок явно: `ttl=` в `enable_cache` или `litellm.default_redis_ttl` —
# > причём **до** `enable_cache`: значение читается при создании кэша.
#
# `namespace=` добавляет к ключу префикс: так несколько приложений делят один Redis, не мешая друг другу.

# %%
if REDIS is None:
    print("Redis недоступен — ячейка пропущена.")
else:
    def redis_ttl_demo(label, text, **options):
        litellm.disable_cache()
        litellm.enable_cache(type=LiteLLMCacheType.REDIS, host=host, port=str(port), **options)
        key = litellm.cache.get_cache_key(model=MODEL, messages=msgs(text))
        r_client.delete(key)
        litellm.completion(model=MODEL, messages=msgs(text))
        print(f"{label:<32} ключ {key}  TTL ≈ {round(r_client.pttl(key) / 1000)} секунд")

    redis_ttl_demo("namespace='course01'", "Redis: namespace", namespace="course01")
    redis_ttl_demo("ttl=3600 в enable_cache", "Redis: ttl", namespace="course01", ttl=3600)

    litellm.default_redis_ttl = 86400  # до enable_cache!
    redis_ttl_demo("litellm.default_redis_ttl=86400", "Redis: default_redis_ttl", namespace="course01")
    litellm.default_redis_ttl = None  # вернём как было

# %% [markdown]
# И главное, ради чего нужен Redis: **второй процесс** с тем же Redis получает попадание.
# Сначала положим в Redis ответ на вопрос из второго скрипта, потом запустим сам скрипт.

# %%
if REDIS is None:
    print("Redis недоступен — ячейка пропущена.")
else:
    litellm.disable_cache()
    litellm.enable_cache(type=LiteLLMCacheType.REDIS, host=host, port=str(port))
    with course.practice():
        litellm.completion(model=MODEL, messages=question)  # запись есть (или появилась только что)

        before = served()
        run_second_process("redis", host, str(port))
        print("новых запросов у провайдера:", served() - before)

# %% [markdown]
# ## 1.10 Какие типы кэша есть на самом деле
#
# В исходном уроке перечислены `REDIS`, `DISK`, `MONGODB`, `DYNAMODB`, `CLOUDFLARE`. Спросим сам LiteLLM:

# %%
from importlib.metadata import version

print(f"LiteLLM {version('litellm')}:", list(LiteLLMCacheType.__members__))
print()
for name in ["REDIS", "DISK", "MONGODB", "DYNAMODB", "CLOUDFLARE"]:
    print(f"{name:<11} из исходного урока: {'есть' if name in LiteLLMCacheType.__members__ else 'НЕТ такого типа'}")

# %% [markdown]
# > **Важно:** в исходном уроке сказано, что доступны MongoDB, DynamoDB и Cloudflare KV, — на самом деле
# > таких типов кэша в LiteLLM **нет** (ни в 1.108.14, ни в более новых). Есть `LOCAL`, `REDIS`,
# > `REDIS_SEMANTIC`, `VALKEY_SEMANTIC`, `S3`, `DISK`, `QDRANT_SEMANTIC`, `AZURE_BLOB`, `GCS`.
#
# **`DISK` удалён в LiteLLM 1.109.0.** Код исходного урока на новых версиях падает уже на
# `LiteLLMCacheType.DISK` (`AttributeError`), а `enable_cache(type="disk")` даёт
# `ValueError: Unsupported cache type 'disk'`. Курс поэтому закрепляет 1.108.14. Что делать при обновлении:
#
# - **один процесс, перезапуски не важны** → `litellm.enable_cache()` (LOCAL, в памяти, TTL 600 с,
#   **не больше 200 записей** — для большего числа разных запросов он не годится);
# - **несколько процессов или нужно переживать перезапуск** → Redis, с явным `ttl=`;
# - **долговременное хранение** → `S3`, `GCS` или `AZURE_BLOB`.
#
# В «нашем проекте» из исходного урока это `setup_caching()` из `config.py`. В курсе она лежит в
# `course_helpers` и сделана правильно: тип кэша — параметром, понятная ошибка вместо `AttributeError`
# на LiteLLM без `DISK`, у Redis срок жизни час вместо 60 секунд. И она **заменяет** уже включённый
# кэш (внутри — `litellm.cache = Cache(...)`), а не молча оставляет старый, как `enable_cache`.

# %%
from course_helpers import setup_caching

before = litellm.cache
cache = setup_caching("local")
print("setup_caching('local'):", type(cache.cache).__name__, "| прежний кэш заменён:", litellm.cache is not before)

if REDIS is not None:
    cache = setup_caching("redis")
    print("setup_caching('redis'):", type(cache.cache).__name__, "| ttl записей:", cache.ttl, "секунд")

cache = setup_caching("local")  # дальше в уроке — кэш в памяти

# %% [markdown]
# ## 1.11 Панель: лаборатория кэша
#
# Задайте запрос и параметры, нажимайте «Отправить» и смотрите, что попадает в кэш, а что нет.
# Снятая галочка «кэш» отправляет вызов мимо кэша: `cache={"no-cache": True, "no-store": True}` —
# без чтения и без записи (`caching=False` здесь не годится: ответ он записывает). Попробуйте:
# - отправить дважды — второй раз попадание, время в сотни раз меньше;
# - сдвинуть `temperature` или `max_tokens` — это уже другой ключ, снова промах;
# - вернуть старое значение — снова попадание;
# - снять галочку, отправить новый запрос, вернуть галочку и отправить его снова — промах: запрос мимо кэша ничего не записал.
#
# Панель пользуется тем кэшем, что включён сейчас (после 1.10 — в памяти).

# %%
from course_helpers.panels.caching import CacheLab

lab = CacheLab(course.provider)
lab.widget

# %% [markdown]
# Кнопка вызывает `lab.send()`. Вызовем его из кода: три раза один запрос, потом с другой `temperature`,
# потом новый запрос мимо кэша и он же с кэшем.

# %%
with course.practice():
    lab.prompt.value = "Что такое fallback?"
    print([lab.send() for _ in range(3)])

    lab.temperature.value = 0.5
    print("temperature=0.5:", lab.send())

    lab.prompt.value = "Что такое namespace?"
    lab.use_cache.value = False
    print("новый запрос, галочка снята:", lab.send())
    lab.use_cache.value = True
    print("тот же запрос, галочка стоит:", lab.send())

# %% [markdown]
# ## Задания
#
# Проверка каждого задания запускает вашу функцию на практическом провайдере, считает запросы,
# которые до него дошли, и **восстанавливает кэш урока** (`litellm.cache`) — после проверки всё как было.
#
# ### Задание 1.1. Повтор из кэша
#
# Напишите функцию `cached_twice(prompt)`: она **включает кэш** (любого типа), дважды отправляет
# `prompt` модели `openrouter/openai/gpt-4o-mini` и возвращает **второй** ответ. Проверка убедится,
# что второй ответ — попадание, а провайдер получил ровно один запрос. Перед проверкой кэш выключен.

# %%
def cached_twice(prompt: str):
    # ваш код здесь
    raise NotImplementedError


# %%
from course_helpers import check, hint, progress, solution

check("01.1", cached_twice)

# %% [markdown]
# <details><summary>Подсказки</summary>
#
# - `hint("01.1")` — с чего начать;
# - `hint("01.1", 2)` — какой ответ вернуть.
# </details>
#
# <details><summary>Решение</summary>
#
# ```python
# def cached_twice(prompt: str):
#     litellm.enable_cache()
#     messages = [{"role": "user", "content": prompt}]
#     litellm.completion(model="openrouter/openai/gpt-4o-mini", messages=messages)
#     return litellm.completion(model="openrouter/openai/gpt-4o-mini", messages=messages)
# ```
# Или `solution("01.1")`.
# </details>
#
# ### Задание 1.2. Мимо кэша
#
# Кэш включён, и ответ на `prompt` в нём уже есть. Напишите `fresh_answer(prompt)`, которая получает
# **свежий** ответ провайдера для этого одного вызова — не выключая кэш для остальных. Проверка:
# провайдер получил 1 запрос, `litellm.cache` остался тем же, а следующий обычный вызов — попадание.

# %%
def fresh_answer(prompt: str):
    # ваш код здесь
    raise NotImplementedError


# %%
check("01.2", fresh_answer)

# %% [markdown]
# <details><summary>Подсказки</summary>
#
# - `hint("01.2")`, `hint("01.2", 2)`.
# </details>
#
# <details><summary>Решение</summary>
#
# ```python
# def fresh_answer(prompt: str):
#     return litellm.completion(model="openrouter/openai/gpt-4o-mini",
#                               messages=[{"role": "user", "content": prompt}],
#                               cache={"no-cache": True})
# ```
# `caching=False` тоже пройдёт проверку и делает то же самое: не читает кэш, а свежий ответ записывает
# (раздел 1.6). А `cache={"no-cache": True, "no-store": True}` пройдёт мимо кэша совсем — в кэше
# останется старый ответ.
# </details>
#
# ### Задание 1.3. Свой кэш у каждого клиента
#
# Сервис обслуживает клиентов `alice` и `bob`. Напишите `tenant_call(prompt, tenant)`, которая отправляет
# `prompt` модели `openrouter/openai/gpt-4o-mini` так, чтобы **клиенты не получали ответы из кэша друг
# друга**, но повтор каждого клиента попадал в кэш. Проверка включит кэш в памяти и вызовет:
# alice → bob → alice → bob; до провайдера должны дойти первые два вызова, повторы — попадания,
# и каждый клиент получает из кэша свой ответ.

# %%
def tenant_call(prompt: str, tenant: str):
    # ваш код здесь
    raise NotImplementedError


# %%
check("01.3", tenant_call)

# %% [markdown]
# <details><summary>Подсказки</summary>
#
# - `hint("01.3")`, `hint("01.3", 2)`.
# </details>
#
# <details><summary>Решение</summary>
#
# ```python
# def tenant_call(prompt: str, tenant: str):
#     return litellm.completion(model="openrouter/openai/gpt-4o-mini",
#                               messages=[{"role": "user", "content": prompt}],
#                               user=tenant)  # user входит в ключ кэша, api_key, api_base и metadata — нет
# ```
# Другое верное решение — `cache={"namespace": tenant}` вместо `user=tenant`: записи получают ключи
# `alice:<sha256>` и `bob:<sha256>`, а запрос провайдеру не меняется (`user` с `openai/` уходит провайдеру).
# Неверно — не читать кэш для одного из клиентов (`cache={"no-cache": tenant == "bob"}`): свежий ответ
# bob запишется под тем же ключом, и alice получит из кэша ответ bob.
# </details>

# %% [markdown]
# Свой прогресс по урокам смотрите командой `progress("01")` (или `progress()` для всего курса).

# %% [markdown]
# ## Итоги
#
# - Код исходного урока `enable_cache(type=LiteLLMCacheType.DISK, disk_cache_dir=...)` работает на
#   LiteLLM 1.108.14 (нужны `litellm[caching]`, `fastapi`, `orjson`, `soundfile`), кэш переживает
#   перезапуск процесса и не имеет срока жизни по умолчанию. В 1.109.0 `DISK` удалён.
# - Попадание: `r._hidden_params["cache_hit"] is True` и `response_cost == 0.0`; у промаха ключа
#   `cache_hit` нет вовсе (`.get` даёт `None`, не `False`).
#   Первое попадание в процессе стоит ~200 мс (ленивые импорты), следующие — около 1 мс.
# - В ключе: модель (точная строка), `messages`, `temperature`, `max_tokens`, `seed`, `user`, `stream`.
#   Не в ключе: `metadata`, `timeout`, `num_retries`, **`api_base`** и **`api_key`** — разделяйте
#   клиентов сами: `user=` или `cache={"namespace": клиент}` (ключ `клиент:sha256`, а запрос
#   провайдеру тот же). Запрос из 5 и более сообщений по умолчанию не кэшируется (`max_messages=4`).
# - В одном вызове: `cache={"no-cache"|"no-store"|"ttl"|"s-maxage"|"namespace": ...}`. Мимо кэша совсем —
#   `cache={"no-cache": True, "no-store": True}`; **`caching=False` только не читает, но записывает**.
# - Для всех — `litellm.disable_cache()` (`litellm.cache = None` и без меток `"cache"` в колбэках).
#   `enable_cache()` не заменяет уже включённый кэш; `litellm.cache = Cache(...)` заменяет.
#   `Cache(mode="default_off")` — кэш только для вызовов с `cache={"use-cache": True}`.
# - LOCAL — в памяти, TTL 600 с, **не больше 200 записей**. Redis — общий для процессов, ключи
#   `[namespace:]sha256`, **TTL 60 с по умолчанию**: задавайте `ttl=` или `litellm.default_redis_ttl`
#   до `enable_cache`.
# - `acompletion` пишет в кэш в фоне: немедленный повтор может промахнуться, одновременные
#   одинаковые запросы все доходят до провайдера. Стримы кэшируются и воспроизводятся потоком.
# - Типов MONGODB, DYNAMODB, CLOUDFLARE нет: список — `list(LiteLLMCacheType.__members__)`.
