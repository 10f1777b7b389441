# %% [markdown]
# # Урок 07. Практическое задание: кэш + резервная модель, с замерами и доказательствами
#
# Исходный урок заканчивается практическим заданием: написать скрипт, который включает кэш на
# диске, отправляет запрос дважды, убеждается, что второй раз быстрее, а потом ломает основную
# модель и проверяет, что ответила резервная. Здесь вы сделаете это по-настоящему: с проверкой,
# что ускорение дал именно кэш, с честным замером и с доказательством фолбэка.
#
# **В этом уроке вы:**
# - пройдёте пять шагов задания, каждый — своей функцией, которую `check(...)` проверяет по поведению;
# - увидите, почему пример решения из исходного урока никогда не переключается на резервную модель;
# - измерите кэш против модели на нескольких запросах с повторами и построите график
#   (с отдельным учётом «первого попадания», которое платит за ленивые импорты);
# - сломаете основную модель тремя способами — сбой провайдера, неверный ключ, лимит запросов —
#   и докажете фолбэк по `r.model`, заголовку `x-litellm-attempted-fallbacks` и статистике провайдера;
# - найдёте две ловушки, где кэш и фолбэки мешают друг другу;
# - если останется время — повторите всё на Redis, с `Router` и со сторожем бюджета.
#
# ⏱ **Время:** 60–90 минут (основная часть — 45 минут, дополнительные задания — ещё 30).

# %% [markdown]
# ## 7.1 Задание и как устроен этот урок
#
# Задание из исходного урока, дословно:
#
# > 1. Настройте кэширование запросов на диск
# > 2. Создайте список моделей с основной и резервными моделями
# > 3. Отправьте один и тот же запрос дважды и измерьте время ответа для каждого запроса
# > 4. Проверьте, что второй запрос выполняется быстрее из-за кэширования
# > 5. Искусственно вызовите ошибку для основной модели и убедитесь, что запрос обрабатывается резервной моделью
#
# **Как устроен урок.** Каждый шаг — это три ячейки:
#
# 1. **Ваша ячейка** (`### Задание 7.N`) с заглушкой `raise NotImplementedError`: здесь пишете вы.
# 2. **`check("07.N", ...)`**: вызывает вашу функцию на практическом провайдере (со своей пустой
#    папкой кэша) и судит по поведению — по `_hidden_params` ответов и по статистике провайдера,
#    а не по тексту кода. Потом возвращает `litellm.cache` в прежнее состояние.
# 3. **Стенд шага**: запускает вашу функцию, а если её ещё нет (заглушка) — **демо-путь**: те же
#    вызовы LiteLLM, написанные прямо в ячейке, с пометкой «демо-путь». Так урок всегда доходит до
#    конца: сохранённый ноутбук (и CI) показывает график и работающий фолбэк, хотя задания в нём не
#    решены. Решите задание — и стенды пойдут через ваш код.
#
# Что здесь **не** ваша работа: секундомер, статистика и рисование графика. Они лежат в
# `course_helpers/measure.py` и `course_helpers/panels/practical.py` — это строительные леса.
# Сам замеряемый вызов LiteLLM передаётся им из ноутбука и виден здесь.
#
# В онлайн-режиме опыты, которые ломают основную модель или считают запросы (и замер в 7.7: он сверяет
# каждую точку со счётчиком провайдера), идут на практическом провайдере: сбои и счётчики есть только
# у него (ячейка такого опыта об этом скажет). Остальные вызовы идут к настоящим моделям.

# %%
from course_helpers import start_lesson

course = start_lesson("07")

# %%
import os
import sys
import time

import litellm
from litellm.caching.caching import LiteLLMCacheType

from course_helpers import check, hint, progress, solution
from course_helpers.measure import first_hits_in_new_process, fmt_ms, measure_cache

USER = "user"  # роль сообщения пользователя

# %% [markdown]
# ## 7.2 Пример решения из исходного урока — и что с ним не так
#
# Последний кусок примера «искусственно вызывает ошибку» так:
#
# ```python
# try:
#     litellm.completion(model="несуществующая-модель", messages=messages)
# except Exception as e:
#     print(f"Ожидаемая ошибка с некорректной моделью: {e}")
# ```
#
# Запустим его и посмотрим, что видит провайдер.

# %%
messages = [{"role": USER, "content": "Что такое Python?"}]
with course.practice():
    before = course.provider.requests()
    try:
        litellm.completion(model="несуществующая-модель", messages=messages)
    except Exception as e:
        print("Ожидаемая ошибка:", type(e).__name__, "| status_code:", e.status_code)
        print("LiteLLM не смог даже выбрать провайдера:", "LLM Provider NOT provided" in str(e))
    print("запросов дошло до провайдера:", course.provider.requests() - before)

# %% [markdown]
# > **Важно:** в исходном уроке пример решения называет это проверкой резервной модели. **На самом
# > деле он никогда не переключается на резервную модель:** он лишь печатает ошибку несуществующей
# > модели. Эта ошибка — `BadRequestError` ещё до сети (LiteLLM не знает, какому провайдеру
# > отправить `несуществующая-модель`), до провайдера не доходит ни одного запроса, а резервная
# > модель после неё не вызывается вовсе.
#
# И это не единственная проблема примера:
#
# - ветка `except` с резервной моделью срабатывает, только если упал **первый** запрос; второй
#   запрос всегда идёт к `models[0]` без `try` — при сбое основной он просто упадёт;
# - «ускорение» `first / second` посчитано по одной паре запросов: в первый вызов входит разовая
#   цена первого `completion()` в процессе, во второй — цена первого попадания в кэш (ленивые импорты);
# - кэш лежит в `./cache_dir` и переживает перезапуск: при втором запуске скрипта **оба** запроса
#   придут из кэша, и «ускорение» станет бессмысленным. Здесь кэш всегда в пустой папке `course.fresh_dir(...)`.
#
# Сделаем всё по шагам и правильно.

# %% [markdown]
# ## 7.3 Шаг 1: кэш на диске
#
# Дисковый кэш — `litellm.enable_cache(type=LiteLLMCacheType.DISK, disk_cache_dir=...)`: один
# файл `cache.db` (sqlite) в указанной папке, без срока годности, переживает перезапуск ядра
# (подробно — урок 01; в LiteLLM 1.109+ типа `DISK` больше нет).
#
# > **Осторожно:** `enable_cache` создаёт кэш, только если `litellm.cache` ещё `None`. Если кэш уже
# > включён (например, в памяти), повторный вызов с `type=DISK` **молча ничего не меняет**.
# > Поэтому перед включением — `litellm.disable_cache()`.
#
# ### Задание 7.1. Кэш на диске
#
# Напишите `setup_disk_cache(directory)`: включает дисковый кэш LiteLLM в папке `directory`
# (объект `pathlib.Path`).

# %%
def setup_disk_cache(directory):
    # ваш код здесь
    raise NotImplementedError


# %%
check("07.1", setup_disk_cache)

# %% [markdown]
# <details><summary>Подсказки</summary>
#
# - `hint("07.1")` — какой вызов нужен;
# - `hint("07.1", 2)` — почему «ничего не изменилось», если кэш уже был включён.
# </details>
#
# <details><summary>Решение</summary>
#
# ```python
# def setup_disk_cache(directory):
#     litellm.disable_cache()
#     litellm.enable_cache(type=LiteLLMCacheType.DISK, disk_cache_dir=str(directory))
# ```
# </details>
#
# **Стенд шага 1.** Пустая папка при каждом запуске (`course.fresh_dir`) — и ваша функция или демо-путь.

# %%
CACHE_DIR = course.fresh_dir("disk_cache")  # пустая при каждом запуске ноутбука
demo = []  # какие шаги прошли по демо-пути

try:
    setup_disk_cache(CACHE_DIR)
except NotImplementedError:
    # ДЕМО-ПУТЬ: ваша функция ещё не написана — те же вызовы LiteLLM здесь, открыто
    demo.append("шаг 1")
    litellm.disable_cache()
    litellm.enable_cache(type=LiteLLMCacheType.DISK, disk_cache_dir=str(CACHE_DIR))

print("кэш включила:", "демо-путь" if "шаг 1" in demo else "ваша функция setup_disk_cache")
print("тип кэша:", type(litellm.cache.cache).__name__)
print("в папке есть cache.db:", (CACHE_DIR / "cache.db").exists())

# %% [markdown]
# ## 7.4 Шаг 2: основная и резервные модели
#
# Список моделей: первая — основная, остальные — резервные по порядку. LiteLLM сам пройдёт по
# ним: `litellm.completion(model=MODELS[0], fallbacks=MODELS[1:], ...)` переключается на
# следующую модель **при любой ошибке** (урок 03).
#
# > **Важно:** резервная модель должна быть **другой моделью**. `openrouter/openai/gpt-4o-mini` и
# > `openai/gpt-4o-mini` — это одна и та же модель у провайдера: её сбой ударит по обеим.
#
# ### Задание 7.2. Основная и резервные модели
#
# Задайте `MODELS` (основная + хотя бы одна резервная) и напишите `ask(prompt, **kwargs)`:
# отправляет `prompt` основной модели с остальными как `fallbacks` и возвращает ответ LiteLLM
# (`ModelResponse`). `**kwargs` передайте в `litellm.completion` как есть — стенды будут передавать
# через них `cache={...}` и `api_key=...`.

# %%
MODELS = ...  # [основная, резервная, ...]


def ask(prompt, **kwargs):
    # ваш код здесь
    raise NotImplementedError


# %%
check("07.2", ask)

# %% [markdown]
# <details><summary>Подсказки</summary>
#
# - `hint("07.2")` — как устроен вызов;
# - `hint("07.2", 2)` — какая резервная модель не спасёт.
# </details>
#
# <details><summary>Решение</summary>
#
# ```python
# MODELS = ["openrouter/openai/gpt-4o-mini", "openrouter/anthropic/claude-3-haiku"]
#
# def ask(prompt, **kwargs):
#     return litellm.completion(model=MODELS[0], fallbacks=MODELS[1:],
#                               messages=[{"role": "user", "content": prompt}], **kwargs)
# ```
# </details>
#
# **Стенд шага 2.** Функция `send` — единая точка отправки для всех стендов ниже: ваша `ask`, а
# пока её нет — тот же вызов открыто (демо-путь).

# %%
DEMO_MODELS = ["openrouter/openai/gpt-4o-mini", "openrouter/anthropic/claude-3-haiku"]
models = MODELS if isinstance(MODELS, list) else DEMO_MODELS
PRIMARY_ID = models[0].removeprefix("openrouter/")  # так основную модель называет провайдер


def send(prompt, **kwargs):
    try:
        return ask(prompt, **kwargs)  # ваша функция из задания 7.2
    except NotImplementedError:
        # ДЕМО-ПУТЬ: тот же вызов LiteLLM, открыто
        if "шаг 2" not in demo:
            demo.append("шаг 2")
        return litellm.completion(model=models[0], fallbacks=models[1:],
                                  messages=[{"role": USER, "content": prompt}], **kwargs)


r = send("Что такое LiteLLM?")
print("путь:", "демо-путь" if "шаг 2" in demo else "ваша функция ask")
print("модели:", models)
print("ответила:", r.model)
print("x-litellm-attempted-fallbacks:", r._hidden_params["additional_headers"]["x-litellm-attempted-fallbacks"])
print(r.choices[0].message.content[:80] + "…")

# %% [markdown]
# Основная модель здорова — она и ответила, попыток фолбэка 0.
#
# ## 7.5 Шаг 3: один и тот же запрос дважды, с замером
#
# Время замеряйте `time.perf_counter()` вокруг каждого вызова: это монотонные часы с высоким
# разрешением (в отличие от `time.time()` из примера).
#
# ### Задание 7.3. Один запрос дважды
#
# Напишите `send_twice(prompt)`: отправляет один и тот же запрос два раза (через кэш, который
# включён) и возвращает `((ответ1, секунды1), (ответ2, секунды2))`.

# %%
def send_twice(prompt):
    # ваш код здесь
    raise NotImplementedError


# %%
check("07.3", send_twice)

# %% [markdown]
# <details><summary>Подсказки</summary>
#
# - `hint("07.3")` — как замерить;
# - `hint("07.3", 2)` — что вернуть и чего не передавать.
# </details>
#
# <details><summary>Решение</summary>
#
# ```python
# def send_twice(prompt):
#     results = []
#     for _ in range(2):
#         start = time.perf_counter()
#         response = ask(prompt)  # или litellm.completion(model=MODELS[0], ...)
#         results.append((response, time.perf_counter() - start))
#     return results[0], results[1]
# ```
# </details>
#
# **Прогрев — отдельно и на виду.** Первое попадание в кэш в процессе платит за ленивые импорты
# LiteLLM (fastapi, orjson, soundfile и их зависимости) — порядка 200 мс. У быстрой модели ответ
# занимает столько же, и тогда «второй запрос из кэша» в примере исходного урока может оказаться
# **медленнее** первого: шаг 4 «не сработает», хотя кэш работает. Поэтому заплатим эту цену заранее
# на отдельном запросе и напечатаем её — а в 7.7 измерим в новом процессе. (Если что-то в ядре уже
# импортировало эти пакеты — например, проверки заданий, — прогрев займёт миллисекунды.)

# %%
send("Прогрев кэша")  # промах: запрос к модели
start = time.perf_counter()
warm = send("Прогрев кэша")  # первое попадание в этом ядре
print("прогрев: первое попадание", fmt_ms((time.perf_counter() - start) * 1000),
      "| cache_hit:", warm._hidden_params.get("cache_hit"))
print("ленивые импорты теперь загружены (fastapi в sys.modules):", "fastapi" in sys.modules)

# %% [markdown]
# **Стенд шага 3.** Запрос из исходного урока — «Что такое Python?».

# %%
with course.practice():
    requests_before = course.provider.requests()
    try:
        first, second = send_twice("Что такое Python?")
    except NotImplementedError:
        # ДЕМО-ПУТЬ
        demo.append("шаг 3")
        pairs = []
        for _ in range(2):
            start = time.perf_counter()
            response = send("Что такое Python?")
            pairs.append((response, time.perf_counter() - start))
        first, second = pairs
    requests_step3 = course.provider.requests() - requests_before

print("путь:", "демо-путь" if "шаг 3" in demo else "ваша функция send_twice")
for name, (resp, seconds) in (("первый", first), ("второй", second)):
    print(f"{name}: {fmt_ms(seconds * 1000)}, cache_hit = {resp._hidden_params.get('cache_hit')}")
print("запросов дошло до модели:", requests_step3)

# %% [markdown]
# Промах — это `cache_hit = None` (не `False`!), попадание — `True`. Цену ленивых импортов уже
# заплатил прогрев, поэтому второй запрос занял единицы миллисекунд — в сотни раз меньше первого.
#
# ## 7.6 Шаг 4: ускорение — из-за кэша?
#
# «Второй быстрее» ещё ничего не доказывает: второй запрос бывает быстрее и случайно (задержка
# модели скачет), а при кэше, оставшемся от прошлого запуска, из кэша придут **оба**. Доказательство —
# три факта сразу:
#
# - второй ответ быстрее первого;
# - первый — промах (`cache_hit` не `True`), второй — попадание (`cache_hit is True`);
# - до модели дошёл ровно **один** запрос (статистика провайдера).
#
# ### Задание 7.4. Ускорение из-за кэша?
#
# Напишите `cache_explains_speedup(first, second, provider_requests) -> bool`, где `first` и
# `second` — пары `(ответ, секунды)` из шага 3, а `provider_requests` — сколько запросов за это время
# получил провайдер. Проверка подсунет и честный случай, и три обманчивых.

# %%
def cache_explains_speedup(first, second, provider_requests):
    # ваш код здесь
    raise NotImplementedError


# %%
check("07.4", cache_explains_speedup)

# %% [markdown]
# <details><summary>Подсказки</summary>
#
# - `hint("07.4")` — какие факты нужны;
# - `hint("07.4", 2)` — ловушка с `None`.
# </details>
#
# <details><summary>Решение</summary>
#
# ```python
# def cache_explains_speedup(first, second, provider_requests):
#     (r1, s1), (r2, s2) = first, second
#     return (s2 < s1
#             and r1._hidden_params.get("cache_hit") is not True
#             and r2._hidden_params.get("cache_hit") is True
#             and provider_requests == 1)
# ```
# </details>
#
# **Стенд шага 4.**

# %%
try:
    verdict = cache_explains_speedup(first, second, requests_step3)
except NotImplementedError:
    # ДЕМО-ПУТЬ
    demo.append("шаг 4")
    (r1, s1), (r2, s2) = first, second
    verdict = (s2 < s1 and r1._hidden_params.get("cache_hit") is not True
               and r2._hidden_params.get("cache_hit") is True and requests_step3 == 1)

print("путь:", "демо-путь" if "шаг 4" in demo else "ваша функция cache_explains_speedup")
print("второй быстрее:", second[1] < first[1])
print("второй из кэша (cache_hit is True):", second[0]._hidden_params.get("cache_hit") is True)
print("до модели дошёл один запрос:", requests_step3 == 1)
print("ускорение объясняется кэшем:", verdict)

# %% [markdown]
# ## 7.7 Замер, достойный этого слова
#
# Одна пара запросов — это анекдот, а не замер. Сделаем так:
#
# - **5 разных запросов**, ответы разной длины (значит, и разное время модели);
# - **3 повтора**: в первом круге каждый запрос — настоящий промах, в следующих — вызов с
#   `cache={"no-cache": True}` (не читать кэш, идти к модели); после каждого — тот же запрос
#   обычным вызовом, то есть попадание;
# - проверка каждой точки: «без кэша» обязан дойти до провайдера, «из кэша» — иметь `cache_hit is True`
#   (иначе замер остановится с ошибкой);
# - **первое попадание** замера — отдельной точкой «прогрев», а цена ленивых импортов — отдельным
#   замером в **новом процессе** Python (там первое попадание платит её честно);
# - итог — медианы (p50) и их отношение, а не одно деление.
#
# Что замеряем — решает ноутбук: `send` из шага 2 (ваша `ask` или демо-путь). `measure_cache` только
# держит секундомер и проверяет точки.

# %%
PROMPTS = [
    "Замер: что такое токен?",
    "Замер: что такое задержка ответа?",
    "Замер: что такое TTL кэша?",
    "Замер: зачем нужна резервная модель?",
    "Напиши длинный рассказ",
]
with course.practice():
    measurement = measure_cache(send, PROMPTS, repeats=3, provider=course.provider)
print(measurement.report())

# %% [markdown]
# А теперь — цена первого попадания. Новый процесс Python откроет ту же папку кэша, сначала сделает
# один `completion()` с `mock_response` (без сети и кэша — чтобы разовая цена первого вызова не
# записалась на счёт кэша), а потом несколько попаданий подряд.

# %%
fresh = first_hits_in_new_process(CACHE_DIR, models[0], PROMPTS[0])
print(fresh.report())
print("первое попадание медленнее остальных:", fresh.hits_ms[0] > max(fresh.hits_ms[1:]))

# %% [markdown]
# Первое попадание в процессе дороже следующих, потому что именно в этот момент LiteLLM впервые
# импортирует fastapi, orjson, soundfile и их зависимости. Это разовая цена на процесс: в
# долгоживущем сервисе её платит первый пользователь, в коротком скрипте — каждый запуск. Поэтому в
# замере выше она вынесена отдельно, а не размазана по «кэш в среднем».
#
# Теперь картинка. Шкала логарифмическая — иначе попадания в кэш сливаются с нулём.

# %%
import matplotlib.pyplot as plt

from course_helpers.panels.practical import draw_latency

# модуль панелей выбирает фоновый бэкенд Agg; возвращаем встроенный вывод графиков Jupyter
%matplotlib inline

fig, axes = plt.subplots(1, 2, figsize=(11, 4))
draw_latency(axes, measurement, fresh)
fig.tight_layout()
plt.show()
print(f"медиана без кэша: {fmt_ms(measurement.median('uncached'))}; "
      f"p50 попадания: {fmt_ms(measurement.median('cached'))}; отношение ×{measurement.ratio:.0f}")

# %% [markdown]
# Красные точки — запросы к модели: сотни миллисекунд, и разброс зависит от длины ответа
# (справа видно, что длинный рассказ дольше). Зелёные — попадания: единицы миллисекунд и меньше, на два-три
# порядка быстрее. Жёлтая — первое попадание самого замера (в этом ядре импорты уже оплатил прогрев
# в шаге 3), фиолетовая — первое попадание в новом процессе, с импортами.
#
# ## 7.8 Шаг 5: ломаем основную модель
#
# Провайдер курса умеет ломаться по команде, поэтому «искусственная ошибка» будет настоящей: запрос
# уйдёт к основной модели и получит отказ. Доказательство фолбэка — три независимых свидетеля:
#
# - `r.model` — какая модель на самом деле ответила;
# - `r._hidden_params["additional_headers"]["x-litellm-attempted-fallbacks"]` — сколько раз LiteLLM
#   переключался;
# - журнал провайдера — какие модели получили запросы и что ответили.
#
# > **Осторожно:** `r._hidden_params["litellm_model_name"]` после фолбэка **по-прежнему показывает
# > основную модель** — по нему нельзя судить, кто ответил.
#
# Во всех запросах этого раздела — `cache={"no-cache": True, "no-store": True}`; зачем — в 7.8.4.

# %%
NO_CACHE = {"no-cache": True, "no-store": True}


def prove_fallback(r, seen):
    """Печатает три свидетельства: r.model, заголовок и журнал провайдера с позиции seen."""
    print("ответила:", r.model, "| основная:", PRIMARY_ID, "| фолбэк:", r.model != PRIMARY_ID)
    print("x-litellm-attempted-fallbacks:", r._hidden_params["additional_headers"]["x-litellm-attempted-fallbacks"])
    print("litellm_model_name (не верьте ему):", r._hidden_params["litellm_model_name"])
    print("журнал провайдера:", [(e["model"], e["status"]) for e in course.provider.log()[seen:]])


# %% [markdown]
# ### 7.8.1 Сбой провайдера: 503
#
# `course.provider.fail(модель, 503, times=1)` — следующий запрос к основной модели получит
# `503 Service Unavailable`.

# %%
with course.practice():
    course.provider.fail(PRIMARY_ID, 503, times=1)
    seen = len(course.provider.log())
    r = send("Что такое fallback?", cache=NO_CACHE)
    prove_fallback(r, seen)

# %% [markdown]
# ### 7.8.2 Реальная причина: неверный ключ у основной модели
#
# В жизни основная модель падает не по команде, а, например, из-за отозванного ключа. Передадим
# `api_key="wrong"` — провайдер ответит `401`. Но есть подвох: **`api_key` из вызова достаётся и
# резервным моделям, заданным строками**, так что отказывают все.

# %%
try:
    send("Что такое fallback? (неверный ключ)", api_key="wrong", cache=NO_CACHE)
except Exception as e:
    print("все модели отказали:", type(e).__name__, "| status_code:", e.status_code)

# %% [markdown]
# Резервной модели нужен свой ключ: в `fallbacks` её можно задать словарём с собственными
# параметрами. Здесь это прямой вызов (демо-путь не нужен — это продолжение исследования).

# %%
with course.practice():
    own_key = os.environ["OPENROUTER_API_KEY"]  # ключ, с которым LiteLLM ходит сейчас; не печатаем его
    seen = len(course.provider.log())
    r = litellm.completion(
        model=models[0], api_key="wrong",
        fallbacks=[{"model": m, "api_key": own_key} for m in models[1:]],
        messages=[{"role": USER, "content": "Что такое fallback? (неверный ключ)"}], cache=NO_CACHE,
    )
    prove_fallback(r, seen)

# %% [markdown]
# В журнале две строки: `401` — основная модель отвергла неверный ключ, `200` — ответила резервная
# со своим ключом. Тот же факт подтверждает заголовок: `attempted-fallbacks = 1`.
#
# ### 7.8.3 Реальная причина: лимит запросов
#
# Лимит `rpm=1`: первый запрос в минуту основная модель обслужит, второй получит `429` с
# `Retry-After` — и его подхватит резервная.

# %%
with course.practice():
    course.provider.set_limits(PRIMARY_ID, rpm=1)
    seen = len(course.provider.log())
    for i in range(3):
        r = send(f"Лимит: вопрос {i}", cache=NO_CACHE)
        print(f"запрос {i}: ответила {r.model}, попыток фолбэка: "
              f"{r._hidden_params['additional_headers']['x-litellm-attempted-fallbacks']}")
    print("журнал провайдера:", [(e["model"], e["status"]) for e in course.provider.log()[seen:]])
    course.provider.set_limits(PRIMARY_ID)  # снять лимит

# %% [markdown]
# ### 7.8.4 Две ловушки: кэш и фолбэки мешают друг другу
#
# **Ловушка 1: кэш прячет сбой.** «Что такое Python?» уже лежит в кэше (шаг 3). Сломаем основную
# модель насовсем и спросим снова — без `no-cache`.

# %%
with course.practice():
    course.provider.fail(PRIMARY_ID, 503)  # основная лежит, пока не снимем сбой
    seen = len(course.provider.log())
    r = send("Что такое Python?")
    print("ответила:", r.model, "| cache_hit:", r._hidden_params.get("cache_hit"))
    print("запросов дошло до провайдера:", len(course.provider.log()) - seen)

# %% [markdown]
# Для пользователей это удобство (ответ есть, хотя модель лежит), а для проверки фолбэка — ловушка:
# основную модель даже не спросили, и «проверка» ничего не проверила. Отсюда `"no-cache": True`.
#
# **Ловушка 2: ответ резервной модели записывается под ключом основной.** Пока основная лежит,
# спросим новое — обычным вызовом, с записью в кэш. Потом «починим» основную и спросим её саму.

# %%
question = "Что такое fallback? (ловушка 2)"
with course.practice():
    r = send(question)
    print("во время сбоя ответила:", r.model)
    course.provider.clear_faults()  # основная снова здорова

    after = litellm.completion(model=models[0], messages=[{"role": USER, "content": question}])
    print("после сбоя запрос к", models[0], "→ ответила", after.model, "| cache_hit:", after._hidden_params.get("cache_hit"))

# %% [markdown]
# > **Осторожно:** после фолбэка LiteLLM кладёт ответ резервной модели в кэш **и под ключом основной
# > модели**. Сбой давно кончился, а на запрос к основной кэш отвечает резервной — на диске без срока
# > годности. В продакшене решите, нужно ли это вам (`ttl` для таких ответов); в проверке фолбэка —
# > передавайте `"no-store": True`. Флаг `caching=False` здесь **не помогает**: ответ фолбэка всё
# > равно записывается.
#
# ### Задание 7.5. Основная падает — отвечает резервная
#
# Напишите `break_primary_and_ask(prompt)`: ломает основную модель через практический провайдер
# (любым способом из 7.8.1–7.8.3), отправляет `prompt` с резервными моделями и возвращает ответ.
# Проверка включит кэш и убедится, что основная по-настоящему отказала, ответила резервная, а кэш
# не спрятал сбой и не запомнил ответ фолбэка.

# %%
def break_primary_and_ask(prompt):
    # ваш код здесь
    raise NotImplementedError


# %%
check("07.5", break_primary_and_ask)

# %% [markdown]
# <details><summary>Подсказки</summary>
#
# - `hint("07.5")` — как сломать основную;
# - `hint("07.5", 2)` — что сделать с кэшем.
# </details>
#
# <details><summary>Решение</summary>
#
# ```python
# def break_primary_and_ask(prompt):
#     course.provider.fail(MODELS[0].removeprefix("openrouter/"), 503, times=1)
#     return ask(prompt, cache={"no-cache": True, "no-store": True})
# ```
# </details>
#
# **Стенд шага 5.**

# %%
with course.practice():
    seen = len(course.provider.log())
    try:
        r = break_primary_and_ask("Что такое fallback? (шаг 5)")
    except NotImplementedError:
        # ДЕМО-ПУТЬ
        demo.append("шаг 5")
        course.provider.fail(PRIMARY_ID, 503, times=1)
        r = send("Что такое fallback? (шаг 5)", cache=NO_CACHE)
    course.provider.clear_faults()
    course.provider.set_limits(PRIMARY_ID)

print("путь:", "демо-путь" if "шаг 5" in demo else "ваша функция break_primary_and_ask")
prove_fallback(r, seen)

# %% [markdown]
# ## 7.9 Стенд: выберите, как сломать основную модель
#
# Панель прогоняет весь конвейер: ломает основную модель выбранным способом, отправляет запрос с
# фолбэками (`no-cache`, но **с записью** в кэш — как в продакшене), затем повторяет тот же запрос
# обычным вызовом. Она показывает, кто ответил, что увидел провайдер, и задержки обоих запросов.
# Обратите внимание на строку «повтор»: при сбое в кэше оказывается ответ резервной модели (ловушка 2).

# %%
from course_helpers.panels.practical import FallbackStand

stand = FallbackStand(course.provider, models)
stand.widget

# %% [markdown]
# Кнопка вызывает `stand.run()`; вызовем его из кода с лимитом запросов:

# %%
with course.practice():
    stand.failure.value = "лимит запросов: 429 (set_limits rpm=1)"
    run = stand.run()
print("ответила:", run.answered_by, "| попыток фолбэка:", run.attempted_fallbacks)
print("основная у провайдера:", run.primary_statuses, "| резервные:", run.fallback_statuses)
print("повтор из кэша:", run.repeat_cache_hit, "| модель в повторе:", run.repeat_model)

# %% [markdown]
# ## 7.10 Дополнительные задания
#
# Для тех, кто закончил раньше. Каждое проверяется так же, по поведению.
#
# ### Задание 7.6. Тот же замер на Redis
#
# Напишите `setup_redis_cache(url)`: включает Redis-кэш LiteLLM на сервере `url` (его даёт
# `redis_url()` — настоящий `redis-server` курса). Ответы должны жить дольше минуты.
# Потом повторите замер: `litellm.disable_cache(); setup_redis_cache(redis_url())` и
# `measure_cache(send, [новые запросы], provider=course.provider)` — попадание в Redis дольше
# дискового (сеть + сериализация), но всё равно на порядки быстрее модели.

# %%
from course_helpers import redis_url


def setup_redis_cache(url):
    # ваш код здесь
    raise NotImplementedError


# %%
check("07.6", setup_redis_cache)

# %% [markdown]
# <details><summary>Подсказки и решение</summary>
#
# - `hint("07.6")`, `hint("07.6", 2)` — про TTL по умолчанию;
# - `solution("07.6")` — эталон.
# </details>
#
# ### Задание 7.7. Router: два развёртывания и фолбэк
#
# Напишите `build_router()`: `litellm.Router`, где группа `"main"` — два развёртывания одной модели
# (`course.provider.api_base("openrouter", deployment="d1")` и `"d2"`, ключ `course.provider.key`), а
# группа `"backup"` — другая модель; при отказе `"main"` отвечает `"backup"`. Проверка убедится, что
# трафик делится между d1 и d2, а при отказе обоих отвечает резервная группа.

# %%
def build_router():
    # ваш код здесь
    raise NotImplementedError


# %%
check("07.7", build_router)

# %% [markdown]
# <details><summary>Подсказки и решение</summary>
#
# - `hint("07.7")`, `hint("07.7", 2)` — формат `fallbacks` у Router;
# - `solution("07.7")` — эталон.
# </details>
#
# ### Задание 7.8. Сторож бюджета
#
# Напишите `make_guard(limit_usd)`: возвращает функцию `guarded_ask(prompt)`, которая отправляет
# запрос, пока потраченное меньше `limit_usd`, а потом отказывает (бросает исключение) — **до**
# запроса. Попадания в кэш бесплатны (`response_cost == 0.0`) и бюджет не расходуют.

# %%
def make_guard(limit_usd):
    # ваш код здесь
    raise NotImplementedError


# %%
check("07.8", make_guard)

# %% [markdown]
# <details><summary>Подсказки и решение</summary>
#
# - `hint("07.8")`, `hint("07.8", 2)` — почему не `litellm.max_budget`;
# - `solution("07.8")` — эталон.
# </details>

# %%
# NBVAL_IGNORE_OUTPUT
# (прогресс хранится локально и зависит от того, что вы уже решали на этой машине)
progress("07")

# %% [markdown]
# ## Итоги
#
# - Пример решения из исходного урока **не проверяет фолбэк**: несуществующая модель падает ещё до
#   сети, и резервная модель не вызывается. Ломайте основную модель по-настоящему: сбоем провайдера,
#   неверным ключом, лимитом запросов.
# - Фолбэк доказывают `r.model`, заголовок `x-litellm-attempted-fallbacks` и журнал провайдера;
#   `litellm_model_name` после фолбэка врёт (показывает основную).
# - `api_key` из вызова достаётся резервным моделям-строкам; своей модели — свой ключ через словарь в
#   `fallbacks`.
# - Ускорение доказывают три факта: второй быстрее, `cache_hit is True` у второго (у промаха —
#   `None`, не `False`) и один запрос у провайдера.
# - Честный замер: много запросов, повторы, медианы; первое попадание в процессе платит за ленивые
#   импорты — считайте его отдельно. Попадание быстрее модели на два-три порядка.
# - Кэш и фолбэки мешают друг другу: готовый ответ прячет сбой, а ответ резервной модели ложится в
#   кэш под ключом основной. Для проверок — `cache={"no-cache": True, "no-store": True}`.
# - `enable_cache` молча ничего не меняет, если кэш уже включён: сначала `disable_cache()`.
