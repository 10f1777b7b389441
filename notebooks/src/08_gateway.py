# %% [markdown]
# # Урок 08. Шлюз: то же самое для всей команды — LiteLLM Proxy
#
# Уроки 01–06 собрали в одном процессе Python кэш, повторы, резервные модели, роутинг, лимиты и бюджеты.
# Но ассистент вырос: его вызывают три сервиса на разных языках, и каждый процесс держит свои счётчики.
# Команды в такой момент ставят **шлюз**: LiteLLM Proxy — HTTP-сервер с OpenAI-совместимым API, которому
# всё это задают одним файлом `config.yaml`, в нескольких репликах с общим Redis.
#
# **В этом уроке вы:**
# - прочитаете `config.yaml` шлюза курса рядом с кодом уроков 01–06 и сами напишете его `router_settings`;
# - запустите четыре реплики шлюза (две с Redis, две без) и спросите их через OpenAI SDK и `litellm.completion`;
# - прочитаете заголовки `x-litellm-*`: кто ответил, сколько стоило, была ли резервная модель;
# - измерите, сколько пропускает лимит rpm на двух репликах без Redis и с ним, и выберете rpm для своего шлюза;
# - проверите общий кэш между репликами и узнаете, какие бюджеты шлюз держит без базы данных, а какие — только с ней;
# - почините клиент шлюза с тремя ошибками.
#
# ⏱ **Время:** основной путь ~40 мин + «Для любопытных» ~10 мин
#
# Шлюз здесь ходит к практическому провайдеру курса (развёртывания `d1`, `d2`, `d3`) в любом режиме:
# сбои, лимиты и счётчики запросов есть только у него. Настоящий шлюз отличается адресами в `config.yaml`,
# а не устройством.

# %%
from course_helpers import start_lesson

course = start_lesson("08")

import json
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version

import litellm
import matplotlib.pyplot as plt
import openai

from course_helpers import check, hint, predict, progress, quiz, redis_url, reveal, solution
from course_helpers.gateway import CONFIG, check_packages, load_config, start_gateways, without_redis, write_config

check_packages()  # нет пакетов LiteLLM Proxy — скажет, что запустить
print("litellm", version("litellm"), "· openai", version("openai"))

# %% [markdown]
# ## 8.1 Один файл вместо кода: `config.yaml`
#
# Вот конфигурация шлюза курса. Значения вида `os.environ/ИМЯ` прокси читает из переменных окружения:
# адреса и ключ провайдера, пароль Redis и мастер-ключ шлюза в файл не попадают.

# %%
print(CONFIG.read_text(encoding="utf-8"))

# %% [markdown]
# Каждый раздел — то, что вы уже писали на Python:
#
# | раздел `config.yaml` | что делает | в Python (урок) |
# |---|---|---|
# | `model_list` | группы (`model_name`) и их развёртывания; `rpm`/`tpm` и бюджет развёртывания | `Router(model_list=...)` (05), `max_budget` + `budget_duration` (06) |
# | `router_settings` | аргументы `litellm.Router`: повторы, cooldown, резервные группы, проверки перед вызовом, Redis | `Router(num_retries=..., fallbacks=..., redis_url=...)` (02, 03, 05) |
# | `litellm_settings` | настройки модуля `litellm`: кэш | `litellm.enable_cache(type="redis", ...)` (01) |
# | `general_settings` | настройки самого шлюза: мастер-ключ, база данных | — (этого в SDK нет) |
#
# > **Важно:** `router_settings` прокси передаёт в `litellm.Router(**router_settings)`. Ключ, которого
# > `Router` не принимает, прокси **молча пропускает** (одна строка предупреждения в журнале) — опечатка
# > в имени выключает функцию без ошибки.
#
# ### Задание 8.1 · сборка. `router_settings` своими руками
#
# Напишите `router_settings` — словарь, который стоит в разделе `router_settings` (без Redis): группа
# `assistant` переживает одиночный сбой повтором в той же группе, при отказе группы отвечает `backup`, а `rpm`
# развёртываний — настоящий лимит (у группы `free` — 4 запроса в минуту). Подсматривать в файл выше можно,
# но сначала попробуйте вспомнить имена из уроков 02, 03 и 05. Проверка сделает из вашего словаря `Router`
# так же, как прокси, и погоняет его со сбоями и очередью запросов.

# %%
router_settings = {
    # ваш код здесь
}

# %%
check("08.1", router_settings or ...)

# %% [markdown]
# Подсказки: `hint("08.1")`, `hint("08.1", 2)`. Решение — в конце урока и в `solution("08.1")`.
#
# ## 8.2 Четыре реплики
#
# Шлюз в продакшене — несколько одинаковых процессов за балансировщиком. Запустим две реплики с общим
# Redis и две — с тем же файлом без Redis (`without_redis` убирает из него `redis_*` и ставит кэш в памяти).
# Каждая — отдельный процесс `litellm --config …` на 127.0.0.1; он переживает прерывание ячейки и
# останавливается вместе с ядром. Реплики стартуют параллельно, каждая — несколько секунд.

# %%
REDIS = redis_url()  # настоящий redis-server курса
alone_config = write_config(without_redis(load_config()), course.fresh_dir("gateway") / "config-no-redis.yaml")
started = time.monotonic()
with ThreadPoolExecutor(2) as pool:
    shared_start = pool.submit(start_gateways, course.provider, n=2, redis=REDIS)
    alone_start = pool.submit(start_gateways, course.provider, alone_config, n=2)
    shared, alone = shared_start.result(), alone_start.result()
print(f"четыре реплики готовы за {time.monotonic() - started:.2f} с")
A, B = shared

# %% [markdown]
# ## 8.3 Первый запрос и заголовки `x-litellm-*`
#
# Шлюз говорит на языке OpenAI: клиенту нужны только его адрес и **мастер-ключ шлюза** (ключи
# провайдеров знает лишь `config.yaml`). Модель — имя **группы** из `model_list`.

# %%
predict("08.p1")

# %%
course.provider.reset()
client = openai.OpenAI(base_url=A.url, api_key=A.key)
raw = client.chat.completions.with_raw_response.create(
    model="assistant", messages=[{"role": "user", "content": "Что такое LiteLLM?"}])
answer = raw.parse()
print("model в ответе:", answer.model)
print(answer.choices[0].message.content[:90], "…")
for name in ["x-litellm-model-group", "x-litellm-model-id", "x-litellm-model-name", "x-litellm-attempted-retries",
             "x-litellm-attempted-fallbacks", "x-litellm-response-cost", "x-litellm-version"]:
    print(f"{name:32} {raw.headers[name]}")

# %%
reveal("08.p1", answer.model)

# %% [markdown]
# `x-litellm-response-cost` — стоимость этого ответа по таблице цен, `x-litellm-model-id` — какое
# развёртывание ответило. `litellm.completion` ходит к шлюзу так же — провайдер `litellm_proxy/`:

# %%
response = litellm.completion(model="litellm_proxy/assistant", api_base=B.url, api_key=B.key,
                              messages=[{"role": "user", "content": "Что такое кэширование?"}])
print(response.choices[0].message.content[:90], "…")
print("провайдер получил запросов через шлюз:", course.provider.requests(deployment="d1"))

# %% [markdown]
# Панель ниже отправляет запрос через выбранную реплику в выбранную группу и показывает заголовки.
# Попробуйте группу `free` пять раз подряд — и посмотрите, что будет с пятым.

# %%
from course_helpers.panels.gateway import GatewayPanel

gateway_panel = GatewayPanel({"A (Redis)": A, "B (Redis)": B, "C (без Redis)": alone[0], "D (без Redis)": alone[1]})
gateway_panel.widget

# %% [markdown]
# Кнопка вызывает `gateway_panel.send()`; из кода — то же самое:

# %%
print(gateway_panel.send()["status"])

# %% [markdown]
# ## 8.4 Резервная модель через шлюз
#
# Сломаем развёртывание `d1` группы `assistant` (провайдер отвечает 503 на каждый запрос).

# %%
predict("08.p2")

# %%
course.provider.reset()
course.provider.fail("openai/gpt-4o-mini", 503, deployment="d1")
try:
    raw = client.chat.completions.with_raw_response.create(
        model="assistant", messages=[{"role": "user", "content": "Привет!"}])
    status = raw.http_response.status_code
    print(status, "· model-group:", raw.headers["x-litellm-model-group"],
          "· attempted-fallbacks:", raw.headers["x-litellm-attempted-fallbacks"])
except openai.APIStatusError as e:
    status = e.status_code
    print(status, str(e)[:200])
print("запросов к d1:", course.provider.requests(deployment="d1"), "· к d2:", course.provider.requests(deployment="d2"))
course.provider.clear_faults()

# %%
reveal("08.p2", status)

# %% [markdown]
# ## 8.5 Лимит rpm на двух репликах
#
# У группы `free` в `config.yaml` `rpm: 4`. Отправим 12 запросов, по очереди то в одну реплику, то в другую,
# сначала в пару без Redis, потом в пару с Redis. `disable_fallbacks: true` в теле запроса выключает
# резервные модели для этого запроса: иначе шлюз скрыл бы отказ. Счётчики поминутные, поэтому опыт
# идёт в одну минуту, а провайдер на это время отвечает без задержек.

# %%
predict("08.p3")


# %%
def burst(pair, n=12, tag=""):
    """n запросов в группу free, по очереди через реплики pair; коды ответов."""
    codes = []
    for i in range(n):
        replica_client = pair[i % 2].client(max_retries=0)
        try:
            replica_client.chat.completions.create(model="free", extra_body={"disable_fallbacks": True},
                                                   messages=[{"role": "user", "content": f"{tag} запрос {i}"}])
            codes.append(200)
        except openai.RateLimitError as e:
            codes.append(e.status_code)
    return codes


course.provider.reset()
course.provider.set_latency_scale(0)
if 60 - time.time() % 60 < 10:  # до конца минуты меньше 10 с: ждём следующую
    time.sleep(60 - time.time() % 60 + 0.1)
codes = {"без Redis": burst(alone, tag="без Redis"), "с Redis": burst(shared, tag="с Redis")}
print("до провайдера дошло:", course.provider.requests(deployment="d3"))
course.provider.reset()  # снова с задержками
for name, got in codes.items():
    print(f"{name:10} прошло {got.count(200)}, отказ 429: {got.count(429)} · {got}")

fig, ax = plt.subplots(figsize=(7, 3))
names = list(codes)
ax.bar(names, [codes[n].count(200) for n in names], color="#2da44e", label="прошло (200)")
ax.bar(names, [codes[n].count(429) for n in names], bottom=[codes[n].count(200) for n in names],
       color="#cf222e", label="отказ (429)")
ax.axhline(4, color="black", linestyle="--", label="rpm: 4 в config.yaml")
ax.set_ylabel("запросов из 12")
ax.set_title("Две реплики, группа free, одна минута")
ax.legend(loc="upper left", fontsize=8)
plt.show()

# %%
reveal("08.p3", str(codes["без Redis"].count(200)))

# %% [markdown]
# Сообщение отказа — `Model rate limit exceeded. RPM limit=4, current usage=…`: это та же проверка
# `enforce_model_rate_limits`, что в уроке 05, только внутри шлюза. С Redis её счётчик —
# ключ `<id развёртывания>:<модель>:rpm:<ЧЧ-ММ>`, поэтому у всех реплик одинаковый `model_info.id`.
#
# > **Осторожно:** реплика сначала смотрит свой счётчик в памяти, потом Redis. Если Redis недоступен,
# > каждая реплика снова держит лимит отдельно — и пропускает N × rpm.
#
# ### Задание 8.2 · решение. Какой rpm записать
#
# Провайдер даёт вашему ключу `provider_rpm` запросов в минуту, шлюз работает в `replicas` репликах, общий
# Redis есть или нет (`shared_redis`). Напишите `rpm_for(provider_rpm, replicas, shared_redis)` — целое `rpm`
# для развёртывания в `config.yaml`: реплики вместе не должны превысить лимит провайдера (иначе 429 придёт от
# него, мимо резервных моделей шлюза) и должны использовать его как можно полнее. Проверка прогонит функцию
# по сценариям с другими числами.

# %%
def rpm_for(provider_rpm, replicas, shared_redis):
    # ваш код здесь
    raise NotImplementedError


# %%
check("08.2", rpm_for)

# %% [markdown]
# Подсказки: `hint("08.2")`, `hint("08.2", 2)`. Решение — в конце урока и в `solution("08.2")`.
#
# ## 8.6 Общий кэш
#
# В `litellm_settings` кэш — `type: redis`. Реплика A ответит на вопрос, реплика B получит тот же вопрос.

# %%
predict("08.p4")


# %%
def hit_on_second(pair, question):
    """Спросить первую реплику, потом вторую; ответила ли вторая из кэша (и совпал ли ответ)."""
    first = pair[0].client().chat.completions.with_raw_response.create(
        model="assistant", messages=[{"role": "user", "content": question}])
    second = pair[1].client().chat.completions.with_raw_response.create(
        model="assistant", messages=[{"role": "user", "content": question}])
    same = first.parse().choices[0].message.content == second.parse().choices[0].message.content
    return "x-litellm-cache-key" in second.headers and same


course.provider.reset()
hits = (hit_on_second(shared, "Что такое fallback?"), hit_on_second(alone, "Что такое fallback?"))
print("с Redis вторая реплика ответила из кэша:", hits[0])
print("без Redis вторая реплика ответила из кэша:", hits[1])
print("провайдер получил запросов:", course.provider.requests(deployment="d1"))

# %%
reveal("08.p4", hits)

# %% [markdown]
# Попадание видно по заголовку `x-litellm-cache-key` (ключ записи в Redis) — и по счётчику провайдера:
# три запроса на четыре ответа.
#
# ## 8.7 Бюджеты на шлюзе
#
# У развёртывания `backup` в `config.yaml` бюджет: `max_budget: 0.002` в сутки. Его считает `Router` внутри
# шлюза, базы данных для этого не нужно. Отправим в `backup` запросы, пока шлюз не откажет.

# %%
course.provider.reset()
course.provider.set_latency_scale(0)
story_codes, last_error = [], ""
while story_codes.count(429) < 2 and len(story_codes) < 30:
    try:
        alone[1].client(max_retries=0).chat.completions.create(
            model="backup", messages=[{"role": "user", "content": f"Напиши длинный рассказ {len(story_codes)}"}])
        story_codes.append(200)
    except openai.RateLimitError as e:
        story_codes.append(429)
        last_error = e.body["message"] if isinstance(e.body, dict) else str(e)
    time.sleep(0.05)  # расход записывается в фоне, сразу после ответа
spent = course.provider.stats()["by_deployment"]["d2"]["cost"]
print("сначала ответы, потом отказ 429:", story_codes.index(429) == story_codes.count(200) > 0)
print("провайдер списал не меньше бюджета $0.002, перерасход меньше одного вызова:", 0.002 <= spent < 0.0023)
course.provider.reset()
print(last_error.split(": 0.")[0])

# %% [markdown]
# Как в уроке 06: проверка идёт **до** вызова по уже записанному расходу, перерасход — не больше
# одного вызова. Но этот счётчик — в памяти реплики (с Redis — общий для реплик), и он обнуляется с
# перезапуском процесса.
#
# ### Виртуальные ключи, команды, пользователи, журнал расходов — только с базой данных
#
# Главное, ради чего команды ставят шлюз, — **виртуальные ключи**: каждому сервису и разработчику свой ключ
# `sk-…` со своим бюджетом, лимитами и списком моделей; бюджеты команд и пользователей; журнал расходов.
# Всё это — таблицы Postgres (`LiteLLM_VerificationToken`, `LiteLLM_TeamTable`, `LiteLLM_UserTable`,
# `LiteLLM_SpendLogs` в `litellm/proxy/schema.prisma`), к которым прокси ходит через **Prisma**. У шлюза
# курса базы нет — спросим:

# %%
request = urllib.request.Request(f"{A.url}/key/generate", method="POST", data=json.dumps({"max_budget": 1.0}).encode(),
                                 headers={"Authorization": f"Bearer {A.key}", "Content-Type": "application/json"})
try:
    urllib.request.urlopen(request, timeout=10)
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
print("в журнале шлюза:", "DB not connected. This endpoint needs a database" in A.log_tail(400_000))

# %% [markdown]
# Ответ — голый `500 Internal Server Error`; причина — только в журнале шлюза: «DB not connected. This
# endpoint needs a database; set DATABASE_URL…». **Эта часть — только онлайн**, здесь её не запустить: Python-
# клиент Prisma при первом запуске скачивает свои движки (query engine) из интернета, а в extra `[proxy]` его
# нет вовсе (он в extra `extra-proxy`). Сам Postgres ставится из apt. С базой настройка выглядит так:
#
# ```yaml
# general_settings:
#   master_key: os.environ/LITELLM_MASTER_KEY
#   database_url: os.environ/DATABASE_URL      # postgresql://user:pass@host:5432/litellm
# ```
#
# ```bash
# pip install 'litellm[proxy,extra-proxy]'   # prisma; при первом старте прокси скачает движки Prisma
# # ключ сервиса «support»: $5 в сутки, 60 запросов в минуту, только группа assistant
# curl -X POST $GATEWAY/key/generate -H "Authorization: Bearer $LITELLM_MASTER_KEY" \
#   -d '{"key_alias": "support", "max_budget": 5, "budget_duration": "1d", "rpm_limit": 60, "models": ["assistant"]}'
# curl -X POST $GATEWAY/team/new -H "Authorization: Bearer $LITELLM_MASTER_KEY" \
#   -d '{"team_alias": "analytics", "max_budget": 50, "budget_duration": "30d"}'
# curl -X POST $GATEWAY/user/new -H "Authorization: Bearer $LITELLM_MASTER_KEY" -d '{"user_id": "alice", "max_budget": 10}'
# curl "$GATEWAY/spend/logs?api_key=sk-..." -H "Authorization: Bearer $LITELLM_MASTER_KEY"   # журнал расходов
# ```
#
# Расход ключа прокси пишет в базу после каждого ответа, поэтому бюджет ключа общий для всех реплик и
# переживает перезапуск. Но проверка — тоже «до вызова по записанному», так что под одновременной нагрузкой
# перерасход возможен и там.
#
# ### Кто что гарантирует
#
# Сверьте таблицу с тем, что вы измерили в уроке 06 и здесь:
#
# | защита | держит бюджет процесса | между процессами одной машины | между машинами | переживает перезапуск |
# |---|---|---|---|---|
# | `BudgetGuard` в SDK (урок 06) | да, даже под нагрузкой | нет: у каждого процесса своя | нет | нет |
# | бюджет `Router` (`max_budget` развёртывания) | да, перерасход ≈ 1 вызов | только через Redis | только через Redis | нет (в памяти и Redis) |
# | лимиты шлюза (`rpm`/`tpm`, бюджет развёртывания) | да | только с общим Redis (8.5) | только с общим Redis | нет |
# | бюджеты виртуальных ключей, команд (шлюз + Postgres) | да, перерасход возможен | да | да | да |
# | кредитный лимит ключа у провайдера (урок 06) | да | да | да | да — но отказ 402/429 приходит от провайдера |
#
# Чем дальше вниз, тем шире охват и тем дальше отказ от вашего кода: последняя строка — единственная граница,
# которую не обойдёт ни один процесс, но и резервную модель она не включит.
#
# ### Задание 8.3 · отладка. Клиент шлюза
#
# Коллега пишет сервис, который спрашивает ассистента через шлюз. В его функции три ошибки. Почините
# `ask_gateway(url, key, question)`: она спрашивает группу `assistant` шлюза по адресу `url` с мастер-ключом
# `key` и возвращает текст ответа. Проверка вызовет её с живой репликой и посмотрит в журнал провайдера.

# %%
from course_helpers import PRACTICE_KEY


def ask_gateway(url, key, question):
    client = openai.OpenAI(base_url=url + "/chat/completions", api_key=PRACTICE_KEY)
    response = client.chat.completions.create(model="gpt-4o-mini",
                                              messages=[{"role": "user", "content": question}])
    return response.choices[0].message.content


# %%
check("08.3", ask_gateway)

# %% [markdown]
# Подсказки: `hint("08.3")`, `hint("08.3", 2)`. Решение — в конце урока и в `solution("08.3")`.
#
# ## Тест

# %%
quiz("08")

# %% [markdown]
# ## Итоги
#
# - `config.yaml` шлюза — те же `Router`, кэш и лимиты уроков 01–06: `model_list`, `router_settings`
#   (аргументы `Router`), `litellm_settings` (кэш), `general_settings` (мастер-ключ, база).
# - Клиенту нужны адрес шлюза, мастер-ключ (или виртуальный ключ) и имя группы; ответ приходит с заголовками
#   `x-litellm-*`: развёртывание, стоимость, повторы, резервные модели, ключ кэша.
# - Реплики без общего Redis держат лимиты каждая отдельно: N реплик пропускают N × rpm. С Redis — rpm на всех.
#   Кэш `type: redis` общий: ответ одной реплики — попадание у другой.
# - Без базы данных шлюз держит лимиты и бюджеты развёртываний; виртуальные ключи, бюджеты команд и
#   пользователей, журнал расходов требуют Postgres и Prisma.
#
# ### Рецепт
#
# ```yaml
# # config.yaml
# model_list:
#   - model_name: assistant
#     litellm_params: {model: openai/gpt-4o-mini, api_key: os.environ/OPENAI_API_KEY, rpm: 600}
#     model_info: {id: assistant-openai}          # одинаковый на всех репликах
#   - model_name: backup
#     litellm_params: {model: openrouter/openai/gpt-3.5-turbo, api_key: os.environ/OPENROUTER_API_KEY,
#                      max_budget: 5, budget_duration: 1d}
# router_settings:
#   num_retries: 1
#   fallbacks: [{assistant: [backup]}]
#   optional_pre_call_checks: [enforce_model_rate_limits]
#   redis_host: os.environ/REDIS_HOST
#   redis_port: os.environ/REDIS_PORT
#   redis_password: os.environ/REDIS_PASSWORD
# litellm_settings:
#   cache: true
#   cache_params: {type: redis, host: os.environ/REDIS_HOST, port: os.environ/REDIS_PORT,
#                  password: os.environ/REDIS_PASSWORD, ttl: 600}
# general_settings:
#   master_key: os.environ/LITELLM_MASTER_KEY     # случайный; sk-1234 прокси не примет
# ```
#
# ```bash
# pip install -r requirements.lock   # точные версии курса; или 'litellm[proxy]' из PyPI
# LITELLM_MASTER_KEY=sk-$(openssl rand -hex 16) litellm --config config.yaml --host 0.0.0.0 --port 4000
# ```
#
# ```python
# client = openai.OpenAI(base_url="http://gateway:4000", api_key=os.environ["LITELLM_MASTER_KEY"])
# raw = client.chat.completions.with_raw_response.create(model="assistant", messages=messages)
# raw.headers["x-litellm-attempted-fallbacks"], raw.headers["x-litellm-response-cost"]
# ```
#
# ### Документация
#
# - [LiteLLM Proxy: Quick Start](https://docs.litellm.ai/docs/proxy/quick_start) — запуск и `config.yaml`.
# - [Proxy Config.yaml](https://docs.litellm.ai/docs/proxy/configs) — все разделы файла.
# - [Load Balancing, Redis](https://docs.litellm.ai/docs/proxy/load_balancing) — несколько реплик и общее состояние.
# - [Caching on the proxy](https://docs.litellm.ai/docs/proxy/caching) — кэш шлюза.
# - [Response headers](https://docs.litellm.ai/docs/proxy/response_headers) — заголовки `x-litellm-*`.
# - [Virtual Keys](https://docs.litellm.ai/docs/proxy/virtual_keys) — ключи, бюджеты, нужна база данных.
#
# ## Для любопытных
#
# ### Плохие запросы к шлюзу
#
# Шлюз стоит на пути всех сервисов, поэтому важно, как он отвечает на мусор. Измерено на 1.108.14:

# %%
def raw_post(body, key=A.key):
    """Голый POST /chat/completions к реплике A: (код, начало ответа)."""
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
    req = urllib.request.Request(f"{A.url}/chat/completions", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()[:70].decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read()[:70].decode(errors="replace")


MSG = [{"role": "user", "content": "Привет!"}]
good = json.dumps({"model": "assistant", "messages": MSG}).encode()
for label, body, key in [("обрезанный JSON", b'{"model": "assistant", "messages": [', A.key),
                         ("model — число", json.dumps({"model": 5, "messages": MSG}).encode(), A.key),
                         ("неизвестная группа", json.dumps({"model": "gpt-5", "messages": MSG}).encode(), A.key),
                         ("без ключа", good, None),
                         ("чужой ключ", good, "sk-not-a-gateway-key")]:
    code, text = raw_post(body, key)
    print(f"{label:20} {code}  {text}")

# %% [markdown]
# Почти везде — понятный 400. Два места хуже, и это стоит знать: запрос **без ключа** получает голый `500`
# (обработчик ошибок авторизации сам падает на `import prisma`), а **чужой ключ** — `400 No connected db.`
# вместо 401: без базы прокси не может проверить виртуальный ключ. Своего предела размера тела у шлюза нет:
# 20 МБ он передаёт провайдеру, и 413 приходит уже от него. А запустить шлюз с мастер-ключом `sk-1234`
# не получится: `UnsafeMasterKeyError` при старте — ключ из документации знают все.

# %%
progress("08")

# %% [markdown] tags=["solutions"]
