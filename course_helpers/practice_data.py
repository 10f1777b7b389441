"""Static data of the practice provider: models, prices, latency, answers, tokenizer.

Used by :mod:`course_helpers.practice` (lesson 00 introduces it). Nothing here imports
LiteLLM: the provider must behave like a remote API, not like a part of the client.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

# Prices are list prices (USD per 1M tokens) as published by OpenRouter and OpenAI;
# snapshot date below. They are used to compute OpenRouter's `usage.cost`, so cost
# lessons show what the same traffic would have cost online on that date.
PRICES_AS_OF = "2025-06-01"


@dataclass(frozen=True)
class ModelSpec:
    """One model the practice provider serves (OpenRouter id, e.g. ``openai/gpt-4o-mini``)."""

    name: str
    input_per_m: float  # USD per 1M prompt tokens
    output_per_m: float  # USD per 1M completion tokens
    context_window: int
    base_ms: float  # time to first token
    per_token_ms: float  # time per generated token
    encoding: str  # tiktoken encoding used to count tokens


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("openai/gpt-4o-mini", 0.15, 0.60, 128_000, 350, 6, "o200k_base"),
        ModelSpec("openai/gpt-4o", 2.50, 10.00, 128_000, 500, 12, "o200k_base"),
        ModelSpec("openai/gpt-3.5-turbo", 0.50, 1.50, 16_385, 300, 5, "cl100k_base"),
        ModelSpec("anthropic/claude-3-haiku", 0.25, 1.25, 200_000, 300, 5, "cl100k_base"),
        ModelSpec("anthropic/claude-3.5-sonnet", 3.00, 15.00, 200_000, 700, 14, "cl100k_base"),
        ModelSpec("meta-llama/llama-3.1-8b-instruct", 0.02, 0.05, 131_072, 250, 4, "cl100k_base"),
        ModelSpec("google/gemini-flash-1.5", 0.075, 0.30, 1_000_000, 300, 3, "cl100k_base"),
    )
}

# The non-OpenAI `/generate` endpoint (lesson 04) is billed and limited as this model.
GENERATE_MODEL = ModelSpec("practice/generate", 0.10, 0.20, 8_192, 200, 3, "cl100k_base")


def resolve_model(name: str) -> ModelSpec | None:
    """Find a model by OpenRouter id (``openai/gpt-4o``) or bare OpenAI name (``gpt-4o``)."""
    if name in MODELS:
        return MODELS[name]
    if name == GENERATE_MODEL.name:
        return GENERATE_MODEL
    return MODELS.get(f"openai/{name}")


# Answers to the prompts the course itself uses. Any other prompt gets a deterministic
# answer built from the prompt (see `answer_for`).
ANSWERS: dict[str, str] = {
    "что такое python?": (
        "Python — высокоуровневый язык программирования общего назначения с простым и "
        "читаемым синтаксисом. Он поддерживает процедурный, объектно-ориентированный и "
        "функциональный стили, поставляется с богатой стандартной библиотекой и огромной "
        "экосистемой пакетов (PyPI). На Python пишут веб-сервисы, скрипты автоматизации, "
        "анализ данных и машинное обучение."
    ),
    "привет!": "Привет! Я модель практического провайдера курса. Чем могу помочь?",
    "что такое кэширование?": (
        "Кэширование — это хранение результата дорогой операции, чтобы при повторном "
        "таком же запросе вернуть готовый ответ, а не вычислять его заново. Для LLM это "
        "экономит и время, и деньги: повторный запрос не идёт к провайдеру."
    ),
    "что такое litellm?": (
        "LiteLLM — Python-библиотека с единым интерфейсом completion() для сотни "
        "провайдеров LLM: OpenAI, Anthropic, OpenRouter и других. Она берёт на себя "
        "формат запросов, маппинг ошибок, ретраи, фолбэки, кэширование и подсчёт стоимости."
    ),
    "что такое fallback?": (
        "Fallback (резервная модель) — модель, к которой приложение переходит, если "
        "основная не ответила: упала, превысила лимит или не уложилась в таймаут."
    ),
    "напиши длинный рассказ": (
        "Жил-был разработчик, который отправлял в LLM один и тот же запрос по сто раз на "
        "дню. Счета росли, ответы приходили медленно, а однажды провайдер ответил 429 и "
        "приложение упало. Тогда разработчик включил кэш — и повторные запросы стали "
        "мгновенными и бесплатными. Потом он добавил резервные модели, и сбой одного "
        "провайдера перестал быть катастрофой. Настроил роутер, чтобы нагрузка делилась "
        "между развёртываниями, и бюджет, чтобы счёт никогда не превышал лимит. С тех пор "
        "он спал спокойно, а его приложение отвечало быстро, дёшево и надёжно."
    ),
}

_GENERIC_SENTENCES = (
    "Это детерминированный ответ практического провайдера: тот же запрос всегда даёт тот же текст.",
    "В онлайн-режиме на этот вопрос ответила бы настоящая модель через OpenRouter.",
    "Ответ построен по тексту запроса, поэтому разные запросы получают разные ответы.",
    "Число токенов посчитано настоящим токенизатором, а стоимость — по таблице цен моделей.",
    "Задержка ответа моделируется: базовое время плюс время на каждый сгенерированный токен.",
    "Практический провайдер говорит на языке OpenAI/OpenRouter API, поэтому LiteLLM работает с ним как с настоящим.",
)


def normalize_prompt(text: str) -> str:
    """Lower-case, collapse spaces: how prompts are matched against :data:`ANSWERS`."""
    return re.sub(r"\s+", " ", text.strip().lower())


def answer_for(prompt: str) -> str:
    """The deterministic answer text for a prompt (same prompt, same answer)."""
    known = ANSWERS.get(normalize_prompt(prompt))
    if known is not None:
        return known
    digest = hashlib.sha256(prompt.encode("utf-8")).digest()
    topic = prompt.strip().replace("\n", " ")
    if len(topic) > 60:
        topic = topic[:57] + "..."
    picked = [_GENERIC_SENTENCES[b % len(_GENERIC_SENTENCES)] for b in digest[:2]]
    if picked[0] == picked[1]:
        picked = picked[:1]
    return f"Ответ на запрос «{topic}». " + " ".join(picked)


def _tiktoken_cache_dir() -> str | None:
    """LiteLLM ships tiktoken's BPE files; point tiktoken at them so counting works offline.

    Only the package location is looked up: LiteLLM itself is never imported here.
    """
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "litellm_core_utils" / "tokenizers"
    return str(folder) if folder.is_dir() else None


@lru_cache(maxsize=None)
def _encoding(name: str) -> Any | None:
    """A tiktoken encoding, or None when tiktoken or its files are unavailable."""
    cache_dir = _tiktoken_cache_dir()
    if cache_dir and "TIKTOKEN_CACHE_DIR" not in os.environ:
        os.environ["TIKTOKEN_CACHE_DIR"] = cache_dir
    try:
        import tiktoken

        return tiktoken.get_encoding(name)
    except Exception:  # no tiktoken or no BPE file offline: fall back to an estimate
        return None


_WORDS = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def encode(text: str, encoding: str) -> list[int] | list[str]:
    """Tokenize with the model's real tokenizer (tiktoken); a word split if it is missing."""
    enc = _encoding(encoding)
    if enc is None:
        return _WORDS.findall(text)
    return enc.encode(text)


def decode(tokens: list[int] | list[str], encoding: str) -> str:
    """Inverse of :func:`encode` (used to cut an answer at ``max_tokens``)."""
    enc = _encoding(encoding)
    if enc is None:
        return " ".join(str(t) for t in tokens)
    return enc.decode(tokens).rstrip("\ufffd")  # type: ignore[arg-type]  # no half characters


def count_tokens(text: str, encoding: str) -> int:
    """Number of tokens in ``text``."""
    return len(encode(text, encoding))


def prompt_tokens(messages: list[dict[str, Any]], encoding: str) -> int:
    """Prompt size the way OpenAI counts chat messages: 3 per message + content + 3."""
    total = 3
    for message in messages:
        total += 3 + count_tokens(message_text(message), encoding)
    return total


def message_text(message: dict[str, Any]) -> str:
    """Text of a chat message whose content is a string or a list of text parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def cost_usd(spec: ModelSpec, prompt: int, completion: int) -> float:
    """Price of one call at the table's prices, rounded like OpenRouter's `usage.cost`."""
    return round((prompt * spec.input_per_m + completion * spec.output_per_m) / 1_000_000, 10)
