# %% [markdown]
# # Урок 07. Практическое задание: кэш и резервная модель — с замером и доказательствами
#
# Наш сервис-ассистент собирается в продакшен, и руководитель просит доказательств, а не слов: что кэш
# действительно ускоряет повторные запросы (цифры и график — для общего чата команды) и что при сбое
# основной модели отвечает резервная. Это и есть практическое задание исходного урока. Здесь оно — ваша
# работа: каждый шаг вы пишете сами, проверка судит по поведению, а замер и график — ваши от первой строки
# до последней.
#
# **В этом уроке вы:**
# - пройдёте пять шагов задания исходного урока, каждый — своей функцией;
# - увидите, почему пример решения из исходного урока никогда не переключается на резервную модель, и
#   почините его шаг 5;
# - найдёте две ловушки, где кэш и резервные модели мешают друг другу;
# - сами напишете замер «без кэша против кэша» — несколько запросов с повторами и первое попадание в
#   новом процессе — и нарисуете по нему график, которому можно верить.
#
# ⏱ **Время:** основной путь ~45 мин + «Для любопытных» ~25 мин
#
# Опыты, которые ломают основную модель или считают запросы у провайдера, идут в блоке
# `with course.practice():` — офлайн он ничего не меняет, а в онлайн-режиме направляет вызовы блока на
# практический провайдер (сбои и счётчики есть только у него). Ваши функции проверка тоже запускает на
# практическом провайдере; ваш замер в разделе 7.7 онлайн пойдёт к настоящим моделям.

# %%
from course_helpers import start_lesson

course = start_lesson("07")

import subprocess
import sys
import time

import litellm
import matplotlib.pyplot as plt
from IPython.display import display
from litellm.caching.caching import LiteLLMCacheType

from course_helpers import check, hint, predict, progress, quiz, reveal, setup_caching, solution
from course_helpers.checks import passed

UNCACHED, CACHED, FRESH = "без кэша", "из кэша", "новый процесс"  # виды замеров (раздел 7.7)


def msgs(prompt: str) -> list[dict]:
    """Сообщения запроса из одного вопроса пользователя."""
    return [{"role": "user", "content": prompt}]


# %% [markdown]
# ## 7.1 Задание
#
# Задание из исходного урока, дословно:
#
# > 1. Настройте кэширование запросов на диск
# > 2. Создайте список моделей с основной и резервными моделями
# > 3. Отправьте один и тот же запрос дважды и измерьте время ответа для каждого запроса
# > 4. Проверьте, что второй запрос выполняется быстрее из-за кэширования
# > 5. Искусственно вызовите ошибку для основной модели и убедитесь, что запрос обрабатывается резервной моделью
#
# Каждый шаг — функция, которую вы пишете в ячейке с заглушкой, и ячейка `check(...)`: она запускает
# вашу функцию на практическом провайдере (с пустой папкой кэша, где это важно) и судит по поведению — по
# ответам LiteLLM и журналу провайдера, — а потом возвращает кэш LiteLLM в прежнее состояние. Подсказки —
# `hint("07.N")`, решения — в конце урока.
#
# ## 7.2 Шаг 1: кэш на диске
#
# Дисковый кэш (урок 01) — `litellm.enable_cache(type=LiteLLMCacheType.DISK, disk_cache_dir=...)`: один
# файл `cache.db` в указанной папке, без срока годности, переживает перезапуск ядра. В LiteLLM 1.109+
# типа `DISK` больше нет. Сервис в продакшене редко стартует с чистого листа: кэш в памяти, например, уже
# мог включить другой модуль.

# %%
predict("07.p1")

# %%
litellm.enable_cache()  # кэш в памяти уже включён
litellm.enable_cache(type=LiteLLMCacheType.DISK, disk_cache_dir=str(course.fresh_dir("p1")))
kind = type(litellm.cache.cache).__name__
print("работает кэш:", kind)
litellm.disable_cache()
reveal("07.p1", kind)

# %% [markdown]
# ### Задание 7.1 · сборка. Кэш на диске
#
# Напишите `setup_disk_cache(directory)`: включает дисковый кэш LiteLLM в папке `directory` (объект
# `pathlib.Path`) — даже если какой-то кэш уже включён.

# %%
def setup_disk_cache(directory):
    # ваш код здесь
    raise NotImplementedError


# %%
check("07.1", setup_disk_cache)

# %% [markdown]
# Подсказки: `hint("07.1")`, `hint("07.1", 2)`. Решение — в конце урока и в `solution("07.1")`.
#
# ## 7.3 Шаг 2: основная и резервные модели
#
# Основная модель сервиса — `openrouter/openai/gpt-4o-mini`. Вот её ответ (онлайн — ответ настоящей
# модели):

# %%
r = litellm.completion(model="openrouter/openai/gpt-4o-mini", messages=msgs("Что такое LiteLLM?"))
print(r.model, "|", r.choices[0].message.content[:90] + "…")

# %% [markdown]
# Резервные модели LiteLLM перебирает сам: параметр `fallbacks=[...]` у `litellm.completion` (урок 03)
# переключается на следующую модель **при любой ошибке** основной. Резервная модель должна быть
# **другой моделью**: `openrouter/openai/gpt-4o-mini` и `openai/gpt-4o-mini` — одна и та же модель у
# провайдера, её сбой ударит по обеим.
#
# ### Задание 7.2 · сборка. Основная и резервные модели
#
# Задайте `MODELS` (основная + хотя бы одна резервная) и напишите `ask(prompt, **kwargs)`: отправляет
# `prompt` основной модели, с остальными как резервными, и возвращает ответ LiteLLM (`ModelResponse`).
# `**kwargs` передайте в `litellm.completion` как есть — через них пойдут `cache={...}` и `api_key=...`.

# %%
MODELS = ...  # [основная, резервная, ...]


def ask(prompt, **kwargs):
    # ваш код здесь
    raise NotImplementedError


# %%
check("07.2", ask)

# %% [markdown]
# Подсказки: `hint("07.2")`, `hint("07.2", 2)`. Решение — в конце урока и в `solution("07.2")`.
#
# ## 7.4 Шаг 3: один запрос дважды, с замером
#
# Время замеряйте `time.perf_counter()` вокруг каждого вызова: это монотонные часы с высоким
# разрешением. `time.time()` из примера исходного урока — настенные часы: их может подвести синхронизация
# времени, и разрешение у них хуже.
#
# Понять, откуда пришёл ответ, помогает `r._hidden_params.get("cache_hit")`. Запрос ниже первый раз уйдёт
# к модели, второй — придёт из кэша.

# %%
predict("07.p2")

# %%
_ = setup_caching("disk", course.fresh_dir("p2"))  # setup_caching из «нашего проекта» (урок 01)
with course.practice():
    before = course.provider.requests()
    first = litellm.completion(model="openrouter/openai/gpt-4o-mini", messages=msgs("Что такое кэш?"))
    second = litellm.completion(model="openrouter/openai/gpt-4o-mini", messages=msgs("Что такое кэш?"))
    print("запросов дошло до провайдера:", course.provider.requests() - before)
litellm.disable_cache()
miss = first._hidden_params.get("cache_hit")
print("первый (от модели):", miss, "| второй (из кэша):", second._hidden_params.get("cache_hit"))
print("ключ cache_hit у первого есть:", "cache_hit" in first._hidden_params)
reveal("07.p2", miss)

# %% [markdown]
# ### Задание 7.3 · замер. Один запрос дважды
#
# Напишите `send_twice(prompt)`: отправляет один и тот же запрос два раза (через включённый кэш) и
# возвращает `((ответ1, секунды1), (ответ2, секунды2))`. Проверка включит кэш в пустой папке сама.

# %%
def send_twice(prompt):
    # ваш код здесь
    raise NotImplementedError


# %%
check("07.3", send_twice)

# %% [markdown]
# Подсказки: `hint("07.3")`, `hint("07.3", 2)`. Решение — в конце урока и в `solution("07.3")`.
#
# ## 7.5 Шаг 4: ускорение — из-за кэша?
#
# Пример исходного урока считает `first / second` и называет это «ускорением благодаря кэшированию».
# Но «второй быстрее» ещё ничего не доказывает:
#
# - время модели скачет, и второй запрос бывает быстрее просто так;
# - кэш на диске переживает перезапуск скрипта: при втором запуске **оба** запроса придут из кэша;
# - первое попадание в процессе платит за ленивые импорты LiteLLM (fastapi, orjson, soundfile…) —
#   порядка 200 мс. У быстрой модели ответ занимает столько же, и «второй из кэша» бывает **медленнее**
#   первого, хотя кэш работает;
# - счётчик запросов у провайдера мог посчитать не всё (например, одну модель из двух).
#
# ### Задание 7.4 · сборка. Ускорение — из-за кэша?
#
# Напишите `cache_explains_speedup(first, second, provider_requests) -> bool`: `first` и `second` — пары
# `(ответ, секунды)` из шага 3, `provider_requests` — сколько запросов за это время получил провайдер.
# Верните `True`, только если второй запрос действительно ускорил кэш. Проверка подсунет честный случай и
# все обманчивые из списка выше.

# %%
def cache_explains_speedup(first, second, provider_requests):
    # ваш код здесь
    raise NotImplementedError


# %%
check("07.4", cache_explains_speedup)

# %% [markdown]
# Подсказки: `hint("07.4")`, `hint("07.4", 2)`. Решение — в конце урока и в `solution("07.4")`.
#
# ## 7.6 Шаг 5: ломаем основную модель
#
# Пример решения исходного урока «искусственно вызывает ошибку» так:
#
# ```python
# try:
#     litellm.completion(model="несуществующая-модель", messages=messages)
# except Exception as e:
#     print(f"Ожидаемая ошибка с некорректной моделью: {e}")
# ```

# %%
predict("07.p3")

# %%
with course.practice():
    before = course.provider.requests()
    try:
        litellm.completion(model="несуществующая-модель", messages=msgs("Что такое Python?"))
    except Exception as e:
        print("Ожидаемая ошибка:", type(e).__name__, "| status_code:", e.status_code)
    requests = course.provider.requests() - before
print("запросов дошло до провайдера:", requests)
reveal("07.p3", requests)

# %% [markdown]
# > **Исходный урок говорит:** шаг 5 — «искусственно вызовите ошибку и убедитесь, что запрос
# > обрабатывается резервной моделью», а пример решения ломает модель несуществующим именем. **На деле**
# > этот пример никогда не переключается на резервную модель: ошибка случается ещё до сети, а резервной
# > в этом коде нет вовсе. Заодно в примере второй запрос идёт к основной модели без `try`, «ускорение»
# > посчитано по одной паре запросов, а кэш в `./cache_dir` переживает перезапуск.
#
# Сломать основную модель по-настоящему можно тремя способами, и у практического провайдера есть все
# три: сбой — `course.provider.fail("openai/gpt-4o-mini", 503, times=1)` (следующий запрос к модели
# получит 503); отозванный ключ — `api_key="wrong"` только у основной (резервной — свой ключ:
# `fallbacks=[{"model": ..., "api_key": ...}]`); лимит запросов —
# `course.provider.set_limits("openai/gpt-4o-mini", rpm=1)` и один запрос, который его израсходует.
# Что ответила резервная, доказывают три свидетеля: `r.model` — кто ответил на самом деле; заголовок
# `r._hidden_params["additional_headers"]["x-litellm-attempted-fallbacks"]` — сколько раз LiteLLM
# переключался; журнал провайдера — кто получил запросы и что ответил.
#
# > **Осторожно:** `r._hidden_params["litellm_model_name"]` после переключения на резервную **по-прежнему показывает
# > основную модель** — по нему нельзя судить, кто ответил.
#
# Теперь — как кэш мешает проверке резервной модели. Основная лежит, запрос с резервной моделью идёт через
# дисковый кэш; потом основная оживает, и тот же запрос идёт уже к ней одной.

# %%
predict("07.p4")

# %%
_ = setup_caching("disk", course.fresh_dir("p4"))
with course.practice():
    course.provider.fail("openai/gpt-4o-mini", 503)  # основная лежит, пока не снимем сбой
    during = litellm.completion(model="openrouter/openai/gpt-4o-mini", fallbacks=["openrouter/anthropic/claude-3-haiku"],
                                messages=msgs("Что такое fallback? (ловушка)"))
    print("во время сбоя ответила:", during.model, "| x-litellm-attempted-fallbacks:",
          during._hidden_params["additional_headers"]["x-litellm-attempted-fallbacks"],
          "| litellm_model_name:", during._hidden_params["litellm_model_name"])
    course.provider.clear_faults()  # основная снова здорова
    after = litellm.completion(model="openrouter/openai/gpt-4o-mini", messages=msgs("Что такое fallback? (ловушка)"))
    print("после сбоя запрос к основной → ответила", after.model, "| cache_hit:", after._hidden_params.get("cache_hit"))
litellm.disable_cache()
reveal("07.p4", after.model)

# %% [markdown]
# ### Задание 7.5 · отладка. Шаг 5, который что-то доказывает
#
# Ниже — шаг 5 исходного урока в виде функции. Перепишите `break_primary_and_ask(prompt)` так, чтобы она
# ломала основную модель через практический провайдер (любым из трёх способов), отправляла `prompt` с
# резервными моделями и возвращала ответ. Проверка включит дисковый кэш и убедится, что основная
# по-настоящему отказала, ответила резервная — средствами LiteLLM, — а кэш не спрятал сбой и не запомнил
# ответ резервной.

# %%
def break_primary_and_ask(prompt):
    # шаг 5 из исходного урока: ничего не доказывает — перепишите
    try:
        litellm.completion(model="несуществующая-модель", messages=msgs(prompt))
    except Exception as e:
        print("Ожидаемая ошибка с некорректной моделью:", type(e).__name__)


# %%
check("07.5", break_primary_and_ask)

# %% [markdown]
# Подсказки: `hint("07.5")`, `hint("07.5", 2)`. Решение — в конце урока и в `solution("07.5")`.
#
# ### Стенд: выберите, как сломать основную модель
#
# Панель прогоняет весь шаг 5: ломает основную модель выбранным способом, отправляет запрос с резервной
# (`no-cache`, но **с записью** в кэш — как в продакшене), затем повторяет тот же запрос обычным вызовом.
# Она показывает, кто ответил, что увидел провайдер, и задержки обоих запросов. Строка «повтор» — ловушка
# из прогноза 07.p4: при сбое в кэше оказывается ответ резервной модели.

# %%
from course_helpers.panels.practical import FallbackStand

_ = setup_caching("disk", course.fresh_dir("стенд"))
stand = FallbackStand(course.provider, ["openrouter/openai/gpt-4o-mini", "openrouter/anthropic/claude-3-haiku"])
stand.widget

# %% [markdown]
# Кнопка вызывает `stand.run()`; из кода — то же самое, с лимитом запросов:

# %%
with course.practice():
    stand.failure.value = "лимит запросов: 429 (set_limits rpm=1)"
    run = stand.run()
print("ответила:", run.answered_by, "| переключений на резервную:", run.attempted_fallbacks)
print("основная у провайдера:", run.primary_statuses, "| резервные:", run.fallback_statuses)
print("повтор из кэша:", run.repeat_cache_hit, "| модель в повторе:", run.repeat_model)
litellm.disable_cache()

# %% [markdown]
# ## 7.7 Замер: кэш против модели
#
# Одна пара запросов — не замер. Напишите замер, которому поверит команда.
#
# ### Задание 7.6 · замер. Кэш против модели
#
# Напишите `measure_latency(cache_dir, prompts, repeats)`, которая возвращает список замеров — словарей
# `{"prompt": запрос, "kind": UNCACHED | CACHED | FRESH, "ms": миллисекунды}`:
#
# - кэш — дисковый, в пустой папке `cache_dir`;
# - для каждого запроса из `prompts` — `repeats` вызовов **без кэша** (в первом круге запрос — настоящий
#   промах, в следующих — `cache={"no-cache": True}`: не читать кэш, идти к модели) и после каждого — тот
#   же запрос обычным вызовом, **из кэша**;
# - каждый вызов — в своём секундомере `time.perf_counter()`;
# - и хотя бы одно **первое попадание в новом процессе** Python (`FRESH`): в этом ядре ленивые импорты
#   уже оплачены, а в новом процессе первое попадание платит за них честно.
#
# Новый процесс — `subprocess.run([sys.executable, "-c", код, str(cache_dir), модель, запрос],
# capture_output=True, text=True, check=True)`. Код — строка, которая включает дисковый кэш в папке
# `sys.argv[1]`, замеряет один вызов и печатает миллисекунды; их вы берёте из `stdout`. Переменные
# окружения (адрес провайдера, ключ) новый процесс получает от ядра.
#
# Проверка запустит вашу функцию со своими запросами и числом повторов на пустой папке и сверит каждую
# запись с тем, что увидели провайдер и сам LiteLLM: вызовы «без кэша» дошли до модели, «из кэша» — нет,
# числа сходятся, а время каждого замера — время одного вызова.

# %%
def measure_latency(cache_dir, prompts, repeats):
    # ваш код здесь
    raise NotImplementedError


# %%
check("07.6", measure_latency)

# %% [markdown]
# Подсказки: `hint("07.6")`, `hint("07.6", 2)`. Решение — в конце урока и в `solution("07.6")`.
#
# Когда проверка пройдёт, ячейка ниже запустит ваш замер на запросах урока: пять запросов с ответами
# разной длины, по три повтора.

# %%
PROMPTS = ["Замер: что такое токен?", "Замер: что такое задержка ответа?", "Замер: что такое TTL кэша?",
           "Замер: зачем нужна резервная модель?", "Напиши длинный рассказ"]
samples = None
if passed("07.6"):
    samples = measure_latency(course.fresh_dir("замер"), PROMPTS, 3)
    for kind in (UNCACHED, CACHED, FRESH):
        values = sorted(s["ms"] for s in samples if s["kind"] == kind)
        print(f"{kind}: n = {len(values)}, медиана {values[len(values) // 2]:.1f} мс")
    litellm.disable_cache()
else:
    print("⏳ Когда проверка 07.6 пройдёт, эта ячейка запустит ваш замер на запросах урока.")

# %% [markdown]
# ## 7.8 График
#
# Цифры из чата забывают, график — нет. Но график, по которому нельзя ничего понять, хуже таблицы.
#
# ### Задание 7.7 · замер. График, которому можно верить
#
# Напишите `plot_latency(samples)`: рисует замеры (список из 7.6) и возвращает `matplotlib` `Figure`. Что
# должно быть видно на графике:
#
# - обе группы — «без кэша» и «из кэша»;
# - шкала, на которой читается разница в сотни раз: промахи — сотни мс, попадания — около 1 мс;
# - подпись оси со временем — с единицами;
# - какая группа где: легенда или подписи на оси;
# - **все** замеры (точки, box plot, violin или гистограмма), а не одно среднее на группу;
# - сколько замеров в каждой группе (n) — у групп оно может различаться.
#
# Проверка нарисует вашей функцией два своих набора замеров и прочитает получившуюся `Figure`: что на
# ней нарисовано, какие шкалы, подписи и тексты.

# %%
def plot_latency(samples):
    # ваш код здесь
    raise NotImplementedError


# %%
check("07.7", plot_latency)

# %% [markdown]
# Подсказки: `hint("07.7")`, `hint("07.7", 2)`. Решение — в конце урока и в `solution("07.7")`.
#
# Ваш график по вашему замеру:

# %%
if passed("07.7") and samples:
    figure = plot_latency(samples)
    display(figure)  # показывает и Figure, созданную без pyplot
    plt.close(figure)
else:
    print("⏳ Когда проверки 07.6 и 07.7 пройдут, здесь будет ваш график по вашему замеру.")

# %% [markdown]
# А после этого курс покажет свой график тех же замеров — сравните:

# %%
from course_helpers.panels.practical import compare_with_reference

compare_with_reference(samples)

# %% [markdown]
# ## Тест

# %%
quiz("07")

# %% [markdown]
# ## Итоги
#
# - Шаг 5 исходного урока **не проверяет резервную модель**: несуществующая модель падает ещё до сети.
#   Ломайте основную по-настоящему — сбоем провайдера, неверным ключом, лимитом запросов — и доказывайте
#   переключение тремя свидетелями: `r.model`, заголовок `x-litellm-attempted-fallbacks`, журнал провайдера
#   (`litellm_model_name` после переключения на резервную показывает основную).
# - `enable_cache` молча ничего не меняет, если кэш уже включён: сначала `litellm.disable_cache()`.
# - Ускорение из-за кэша доказывают три факта сразу: второй быстрее, второй — попадание
#   (`.get("cache_hit") is True`; у промаха `None`, не `False`) и до модели дошёл ровно один запрос.
# - Кэш и резервные модели мешают друг другу: готовый ответ прячет сбой, а ответ резервной ложится в кэш
#   под ключом основной. Для проверок — `cache={"no-cache": True, "no-store": True}`.
# - Честный замер: несколько запросов с повторами, секундомер на каждый вызов, первое попадание — отдельно
#   и в новом процессе. Честный график: все замеры, логарифмическая шкала, единицы, подписи и n.
#
# ### Рецепт
#
# ```python
# import time
# import litellm
# from litellm.caching.caching import LiteLLMCacheType
#
# litellm.disable_cache()                                   # enable_cache не заменяет включённый кэш
# litellm.enable_cache(type=LiteLLMCacheType.DISK, disk_cache_dir=".cache")   # только LiteLLM ≤ 1.108
#
# MODELS = ["openrouter/openai/gpt-4o-mini", "openrouter/anthropic/claude-3-haiku"]
# def ask(prompt, **kwargs):
#     return litellm.completion(model=MODELS[0], fallbacks=MODELS[1:],
#                               messages=[{"role": "user", "content": prompt}], **kwargs)
#
# start = time.perf_counter()
# r = ask("Что такое Python?")
# ms = (time.perf_counter() - start) * 1000
# hit = r._hidden_params.get("cache_hit") is True                        # промах — None
# who = r.model                                                          # кто ответил на самом деле
# fallbacks = r._hidden_params["additional_headers"]["x-litellm-attempted-fallbacks"]
#
# # проверка резервной модели: кэш не должен ни спрятать сбой, ни запомнить ответ резервной
# r = ask("проверка", cache={"no-cache": True, "no-store": True})
# ```
#
# ### Документация
#
# - [Caching](https://docs.litellm.ai/docs/caching) — кэш LiteLLM и его параметры.
# - [Reliability: retries, fallbacks](https://docs.litellm.ai/docs/completion/reliable_completions) — `fallbacks` в `completion`.
# - [Exception mapping](https://docs.litellm.ai/docs/exception_mapping) — какие ошибки бросает LiteLLM.
# - [Routing](https://docs.litellm.ai/docs/routing) — `Router` (дополнительное задание 7.8).
# - [`Axes.set_yscale`](https://matplotlib.org/stable/api/_as_gen/matplotlib.axes.Axes.set_yscale.html) и
#   [`time.perf_counter`](https://docs.python.org/3/library/time.html#time.perf_counter).
#
# ## Для любопытных
#
# ### Неверный ключ достаётся и резервным моделям
#
# Реальная причина сбоя основной — отозванный ключ. Передадим `api_key="wrong"`: провайдер ответит `401`.
# Но **`api_key` из вызова достаётся и резервным моделям, заданным строками**, так что отказывают все, и
# LiteLLM бросает `APIConnectionError` (status_code 500) с текстом последней ошибки. Резервной модели нужен
# свой ключ — словарь в `fallbacks`.

# %%
course.provider.set_latency_scale(0)  # здесь важны ответы и журнал провайдера, а не время: он отвечает сразу
with course.practice():
    try:
        litellm.completion(model="openrouter/openai/gpt-4o-mini", api_key="wrong",
                           fallbacks=["openrouter/anthropic/claude-3-haiku"], messages=msgs("Ключ?"),
                           cache={"no-cache": True, "no-store": True})
    except Exception as e:
        print("строкой — отказали все:", type(e).__name__, "| status_code:", e.status_code)
    seen = len(course.provider.log())
    r = litellm.completion(model="openrouter/openai/gpt-4o-mini", api_key="wrong", messages=msgs("Ключ?"),
                           fallbacks=[{"model": "openrouter/anthropic/claude-3-haiku",
                                       "api_key": course.provider.key}])  # у резервной — свой ключ
    print("словарём со своим ключом — ответила:", r.model)
    print("журнал провайдера:", [(e["model"], e["status"]) for e in course.provider.log()[seen:]])

# %% [markdown]
# ### Лимит запросов
#
# Лимит `rpm=1`: первый запрос в минуту основная модель обслужит, следующие получат `429` с
# `Retry-After` — и их подхватит резервная.

# %%
with course.practice():
    course.provider.set_limits("openai/gpt-4o-mini", rpm=1)
    seen = len(course.provider.log())
    for i in range(3):
        r = litellm.completion(model="openrouter/openai/gpt-4o-mini", fallbacks=["openrouter/anthropic/claude-3-haiku"],
                               messages=msgs(f"Лимит: вопрос {i}"))
        print(f"запрос {i}: ответила {r.model}")
    print("журнал провайдера:", [(e["model"], e["status"]) for e in course.provider.log()[seen:]])
    course.provider.set_limits("openai/gpt-4o-mini")  # снять лимит

# %% [markdown]
# ### Первый вызов процесса и Redis
#
# - Первый `completion()` в процессе платит ещё и разовую цену инициализации LiteLLM — даже без сети и
#   без кэша он в разы медленнее второго. Ваш замер FRESH включает обе разовые цены: инициализацию и
#   ленивые импорты первого попадания. Чтобы увидеть цену одних импортов, сделайте в новом процессе
#   сначала один вызов с `mock_response="ok"` на другой запрос (без сети), а потом замерьте
#   попадание — так делает `first_hits_in_new_process` из `course_helpers/measure.py`.
# - Тот же замер на Redis: `setup_caching("redis")` из «нашего проекта» — настоящий `redis-server` курса.
#   Попадание в Redis дольше дискового (сеть и сериализация), но всё равно на порядки быстрее модели. TTL
#   Redis-кэша в LiteLLM по умолчанию — 60 секунд; `setup_caching` поднимает его до часа.
#
# ### Задание 7.8 · сборка. Router с двумя развёртываниями и резервной группой
#
# Напишите `build_router()`: `litellm.Router`, где группа `"main"` — два развёртывания одной модели
# (`course.provider.api_base("openrouter", deployment="d1")` и `"d2"`, ключ `course.provider.key`), а
# группа `"backup"` — другая модель. Требования: трафик `"main"` делится между d1 и d2; если откажут оба,
# пользователь получит ответ `"backup"`, а не ошибку.

# %%
def build_router():
    # ваш код здесь
    raise NotImplementedError


# %%
check("07.8", build_router)

# %% [markdown]
# Подсказки: `hint("07.8")`, `hint("07.8", 2)`. Решение — в конце урока и в `solution("07.8")`.
#
# ### Задание 7.9 · сборка. Сторож бюджета, который знает, что кэш бесплатен
#
# Напишите `make_guard(limit_usd)`: возвращает `guarded_ask(prompt)` — запрос к
# `openrouter/openai/gpt-4o-mini` с `max_tokens=50`. Требования: по счёту провайдера расход **никогда** не
# больше `limit_usd`; запрос, который может не поместиться, получает отказ `litellm.BudgetExceededError`
# **до** отправки; попадания в кэш бесплатны и не останавливаются, пока в бюджете есть место (урок 06).

# %%
def make_guard(limit_usd):
    # ваш код здесь
    raise NotImplementedError


# %%
check("07.9", make_guard)

# %% [markdown]
# Подсказки: `hint("07.9")`, `hint("07.9", 2)`. Решение — в конце урока и в `solution("07.9")`.

# %%
progress("07")

# %% [markdown] tags=["solutions"]
