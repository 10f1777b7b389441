# %% [markdown]
# # Урок 00. Старт: как устроен курс
#
# **Курс «LiteLLM: продвинутые возможности»** — про то, что нужно LLM-приложению в продакшене:
# кэширование, обработка ошибок, резервные модели, свои провайдеры, роутинг и бюджеты.
#
# **В этом уроке вы:**
# - запустите курс одной ячейкой и проверите окружение;
# - отправите первый запрос через `litellm.completion` — бесплатно, без ключа;
# - увидите первый сбой (429) и то, как LiteLLM его сообщает;
# - узнаете, как проверяются задания, и решите первое.
#
# ⏱ **Время:** 20 минут.

# %% [markdown]
# ## 0.1 Как устроен курс
#
# | урок | тема |
# |---|---|
# | 00 | старт: окружение, практический провайдер, задания |
# | 01 | кэширование: диск, память, Redis, ключи кэша, TTL |
# | 02 | ошибки: карта исключений LiteLLM, ретраи, правильный обработчик |
# | 03 | резервные модели (fallbacks): цикл, `fallbacks=`, Router |
# | 04 | свои провайдеры: `CustomLLM`, нестандартный API, цена |
# | 05 | роутинг и балансировка: `Router`, стратегии, лимиты, Redis |
# | 06 | бюджеты: что работает, а что нет, бюджет под нагрузкой |
# | 07 | практическое задание: кэш + резервная модель, с замерами |
#
# **Два режима.**
# - **Офлайн (по умолчанию).** Все запросы идут в *практический провайдер* — локальный сервер,
#   который говорит на языке OpenAI/OpenRouter API. Ключ не нужен, запросы бесплатны, а сбои,
#   задержки и лимиты можно включать по команде. LiteLLM при этом работает по-настоящему:
#   те же `litellm.completion`, `Router`, `enable_cache`, те же имена моделей
#   (`openrouter/openai/gpt-4o-mini`), что и в продакшене.
# - **Онлайн.** С ключом OpenRouter те же ноутбуки обращаются к настоящим моделям (раздел 0.8).
#
# > **Важно:** курс закрепляет `litellm==1.108.14`. Это последняя версия с дисковым кэшем
# > `LiteLLMCacheType.DISK`, на котором построен исходный урок; в 1.109.0 его удалили (урок 01).

# %% [markdown]
# ## 0.2 Одна ячейка настройки
#
# Каждый урок начинается с одной и той же ячейки. Она запускает практический провайдер в
# отдельном процессе (он остановится вместе с ядром), направляет на него LiteLLM через его же
# переменные окружения (`OPENROUTER_API_BASE`, `OPENAI_API_BASE` и ключи) и печатает режим.
# Запускать её повторно безопасно — ничего не изменится.

# %%
from course_helpers import start_lesson

course = start_lesson("00")

# %% [markdown]
# ## 0.3 Проверка окружения
#
# `doctor()` проверяет всё, что нужно курсу: версии пакетов, зависимости, без которых не работает
# кэш LiteLLM, расширение виджетов JupyterLab, практический провайдер, Redis и режим.
# Если видите `[FAIL]` — в строке написано, что сделать.

# %%
# NBVAL_IGNORE_OUTPUT
# (версии и пути зависят от машины, поэтому тесты не сравнивают вывод этой ячейки)
from course_helpers import doctor

doctor()

# %% [markdown]
# ## 0.4 Первый запрос
#
# Обычный вызов LiteLLM. Модель указана так же, как для настоящего OpenRouter: провайдер
# `openrouter/`, затем имя модели у OpenRouter.

# %%
import litellm

response = litellm.completion(
    model="openrouter/openai/gpt-4o-mini",
    messages=[{"role": "user", "content": "Что такое Python?"}],
)
print(response.choices[0].message.content)
print("модель:", response.model)
print("токены:", response.usage.prompt_tokens, "+", response.usage.completion_tokens)
print("стоимость, $:", response._hidden_params["response_cost"])

# %% [markdown]
# Токены посчитаны настоящим токенизатором, а стоимость — по ценам модели. Для моделей
# OpenRouter LiteLLM берёт стоимость из поля ответа `usage.cost`: в его таблице цен моделей
# `openrouter/*` нет. Поэтому смотрите `response._hidden_params["response_cost"]`.
#
# ## 0.5 Что видит провайдер
#
# У практического провайдера есть статистика — «истина» о том, сколько запросов до него дошло.
# Дальше в курсе по ней проверяется, что кэш действительно сработал, а резервная модель
# действительно ответила.

# %%
stats = course.provider.stats()
print("запросов:", stats["requests"])
print("по моделям:", {model: s["requests"] for model, s in stats["by_model"].items()})

# %% [markdown]
# ## 0.6 Первый сбой
#
# Провайдер умеет сбоить по команде: `course.provider.fail(модель, статус, times=N)`.
# Попросим его один раз ответить **429 Too Many Requests** с заголовком `Retry-After`.

# %%
course.provider.fail("openai/gpt-4o-mini", 429, times=1, retry_after=2)

try:
    litellm.completion(
        model="openrouter/openai/gpt-4o-mini",
        messages=[{"role": "user", "content": "Что такое Python?"}],
    )
except litellm.RateLimitError as e:
    print("Поймали:", type(e).__name__)
    print("status_code:", e.status_code, "| провайдер:", e.llm_provider, "| модель:", e.model)

# сбой был одноразовым: следующий запрос проходит
ok = litellm.completion(model="openrouter/openai/gpt-4o-mini", messages=[{"role": "user", "content": "Привет!"}])
print("Следующий запрос:", ok.choices[0].message.content)

# %% [markdown]
# Обратите внимание: LiteLLM превратил HTTP 429 в `litellm.RateLimitError`, а `e.model` —
# это имя модели **без** префикса `openrouter/`. Сам LiteLLM для `openrouter/` запрос не
# повторил: провайдер получил ровно один запрос с ошибкой. Всё это подробно — в уроке 02.
#
# ## 0.7 Панель: первый запрос
#
# В каждом уроке есть интерактивная панель. Здесь — отправка запроса с выбранным сбоем.
# Выберите модель и сбой, нажмите «Отправить» и посмотрите, что вернулось и что увидел провайдер.

# %%
from course_helpers.panels.start import FirstRequestPanel

panel = FirstRequestPanel(course.provider)
panel.widget

# %% [markdown]
# Кнопка вызывает метод `panel.send()`. Его можно вызвать и из кода — например, со сбоем 503:

# %%
panel.fault.value = "503 — сервис недоступен"
print(panel.send())

# %% [markdown]
# ## 0.8 Онлайн-режим
#
# 1. Получите ключ на openrouter.ai.
# 2. В корне курса создайте файл `.env` (он в `.gitignore` и не попадёт в git):
#    ```
#    OPENROUTER_API_KEY=ваш-ключ
#    COURSE_MODE=online
#    ```
# 3. Перезапустите ядро (Kernel → Restart) и выполните ячейку `start_lesson`.
#
# Без файла можно так: `from course_helpers import enter_key; enter_key()` — ключ вводится в скрытое
# поле, живёт только в этом ядре и нигде не сохраняется; затем снова выполните `start_lesson(...)`.
#
# Баннер напишет «онлайн». Если ключа нет или он неверный, курс скажет об этом по-русски и
# продолжит офлайн. Задания всегда проверяются на практическом провайдере — бесплатно.
#
# > **Осторожно:** никогда не вставляйте ключ прямо в ноутбук: ноутбуки сохраняются вместе с
# > выводом и легко попадают в git.
#
# ## 0.9 Как проверяются задания
#
# - Вы пишете код в ячейке задания и запускаете `check("номер", ваш_ответ)`.
# - Проверка судит по **поведению**: вызывает вашу функцию и смотрит, что вернулось и сколько
#   запросов получил провайдер. Перед проверкой провайдер сбрасывается.
# - `hint("номер")` — подсказка, `hint("номер", 2)` — подсказка конкретнее,
#   `solution("номер")` — эталонное решение. Прогресс сохраняется локально, его показывает `progress()`.
#
# ### Задание 0.1. Первый запрос
#
# Напишите функцию `first_call(prompt)`, которая отправляет `prompt` модели
# `openrouter/openai/gpt-4o-mini` через `litellm.completion` и возвращает **текст** ответа.

# %%
def first_call(prompt: str) -> str:
    # ваш код здесь
    raise NotImplementedError


# %%
from course_helpers import check, hint, progress, solution

check("00.1", first_call)

# %% [markdown]
# <details><summary>Подсказки</summary>
#
# - `hint("00.1")` — с чего начать;
# - `hint("00.1", 2)` — где лежит текст ответа.
# </details>
#
# <details><summary>Решение</summary>
#
# ```python
# def first_call(prompt: str) -> str:
#     response = litellm.completion(
#         model="openrouter/openai/gpt-4o-mini",
#         messages=[{"role": "user", "content": prompt}],
#     )
#     return response.choices[0].message.content
# ```
# Или выполните `solution("00.1")`.
# </details>

# %%
hint("00.1")

# %%
# NBVAL_IGNORE_OUTPUT
# (прогресс у каждого свой, поэтому тесты не сравнивают вывод этой ячейки)
progress("00")

# %% [markdown]
# ## Итоги
#
# - Курс запускается одной ячейкой `start_lesson("NN")`; без ключа всё работает офлайн через
#   практический провайдер, а LiteLLM при этом настоящий.
# - Стоимость запроса к OpenRouter-модели — `response._hidden_params["response_cost"]`.
# - Сбои включаются командой `course.provider.fail(...)`; статистика провайдера — `course.provider.stats()`.
# - HTTP 429 превращается в `litellm.RateLimitError`; для `openrouter/` LiteLLM сам не повторяет запрос.
# - Задания: `check`, `hint`, `solution`, `progress`.
