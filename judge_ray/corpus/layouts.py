"""Where the instruction is in each published corpus layout, and what makes a row unusable. Pure per-row
functions (no Ray, no IO), so one row's fate does not depend on the block it arrives in.

    instruction   {"instruction", "input"?}; self-instruct's {"instruction", "instances": [{"input", ...}]}
    chat          {"messages" | "conversation": [{"role", "content"}, ...]}   (WildChat, LMSYS-Chat, OpenAI)
    sharegpt      {"conversations": [{"from", "value"}, ...]}
    prompt        {"prompt"}
    field:<name>  any other field holding the text (`data.instruction_field`)

The instruction of a conversation is its first user turn.
"""
from __future__ import annotations

import hashlib
import re
from typing import Any, Iterable, Optional

LAYOUTS = ("instruction", "chat", "sharegpt", "prompt")
CHAT_FIELDS = ("messages", "conversation")
USER_ROLES = ("user", "human")
LANGUAGE_FIELDS = ("language", "lang")
ID_FIELDS = ("id", "conversation_id", "conversation_hash", "idx")

# drop reasons, as counted in the summary
NO_TEXT = "no instruction text"
NOT_TEXT = "instruction is not text"
NO_USER_TURN = "no user turn"
TOO_SHORT = "shorter than data.min_chars"
TOO_LONG = "longer than data.max_chars"
OTHER_LANGUAGE = "other language than data.language"
DUPLICATE = "duplicate text"


def detect_layout(fields: Iterable[str], instruction_field: Optional[str] = None) -> Optional[str]:
    """The layout of rows having `fields`, or None when no known field holds an instruction."""
    names = set(fields)
    if instruction_field:
        return f"field:{instruction_field}" if instruction_field in names else None
    if "instruction" in names:
        return "instruction"
    if names & set(CHAT_FIELDS):
        return "chat"
    if "conversations" in names:
        return "sharegpt"
    if "prompt" in names:
        return "prompt"
    return None


def _items(value: Any) -> list:
    """A list from a JSON list or a Parquet/Arrow array of structs (numpy object arrays included)."""
    if value is None or isinstance(value, (str, bytes, dict)):
        return []
    try:
        return list(value)
    except TypeError:
        return []


def _text(value: Any) -> tuple[Optional[str], str]:
    """(text, '') when `value` is usable text, else (None, reason)."""
    if value is None:
        return None, NO_TEXT
    if not isinstance(value, str):
        return None, NOT_TEXT
    return (value, "") if value.strip() else (None, NO_TEXT)


def _first_user_turn(turns: Any, role_key: str, text_key: str) -> tuple[Optional[str], str]:
    for turn in _items(turns):
        if isinstance(turn, dict) and str(turn.get(role_key, "")).lower() in USER_ROLES:
            return _text(turn.get(text_key))
    return None, NO_USER_TURN


def extract(row: dict, layout: str) -> tuple[Optional[str], str]:
    """(instruction, '') or (None, drop reason) for one row of a corpus in `layout`."""
    if layout.startswith("field:"):
        return _text(row.get(layout[len("field:"):]))
    if layout == "instruction":
        text, reason = _text(row.get("instruction"))
        if text is None:
            return None, reason
        extra = row.get("input")
        if extra is None:  # self-instruct: the first instance's input completes the task
            first = next(iter(_items(row.get("instances"))), None)
            extra = first.get("input") if isinstance(first, dict) else None
        if isinstance(extra, str) and extra.strip():
            text = f"{text.strip()}\n\n{extra.strip()}"
        return text, ""
    if layout == "chat":
        field = next((f for f in CHAT_FIELDS if row.get(f) is not None), CHAT_FIELDS[0])
        return _first_user_turn(row.get(field), "role", "content")
    if layout == "sharegpt":
        return _first_user_turn(row.get("conversations"), "from", "value")
    if layout == "prompt":
        return _text(row.get("prompt"))
    raise ValueError(f"unknown corpus layout {layout!r}")


def normalise(text: str) -> str:
    """The text duplicates are found on: case and runs of whitespace ignored."""
    return re.sub(r"\s+", " ", text).strip().lower()


def text_key(text: str) -> str:
    """A stable id of an instruction's normalised text (the dedup key; also the row id when a corpus has none)."""
    return hashlib.sha1(normalise(text).encode()).hexdigest()[:16]


def rank(seed: int, key: str) -> str:
    """The seeded order the cap `data.max_instructions` keeps by: the same rows whatever the block layout."""
    return hashlib.sha1(f"{seed}:{key}".encode()).hexdigest()


def language_of(row: dict) -> Optional[str]:
    for name in LANGUAGE_FIELDS:
        value = row.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def row_problem(text: str, row: dict, *, min_chars: int, max_chars: int, language: Optional[str]) -> str:
    """The filter a usable instruction fails, or ''. A row without a language field passes the language
    filter only when the corpus has no such field at all (decided by the caller)."""
    n = len(text.strip())
    if n < min_chars:
        return TOO_SHORT
    if max_chars and n > max_chars:
        return TOO_LONG
    if language:
        found = language_of(row)
        if found is None or found.lower() not in _language_names(language):
            return OTHER_LANGUAGE
    return ""


def _language_names(language: str) -> set[str]:
    """`en` matches `English` and the other way round (WildChat and LMSYS-Chat write names, others codes)."""
    names = {language.lower()}
    for code, name in _LANGUAGES.items():
        if language.lower() in (code, name):
            names |= {code, name}
    return names


_LANGUAGES = {"en": "english", "zh": "chinese", "es": "spanish", "fr": "french", "de": "german", "ru": "russian",
              "pt": "portuguese", "it": "italian", "ja": "japanese", "ko": "korean", "ar": "arabic",
              "nl": "dutch", "pl": "polish", "tr": "turkish", "vi": "vietnamese", "id": "indonesian"}


def corpus_row(row: dict, layout: str, *, min_chars: int, max_chars: int, language: Optional[str],
               seed: int) -> dict:
    """One output row per input row: the instruction and its ids, or the reason it is dropped ('drop')."""
    text, reason = extract(row, layout)
    if text is not None:
        reason = row_problem(text, row, min_chars=min_chars, max_chars=max_chars, language=language)
    key = text_key(text) if text is not None else ""
    given = next((row[f] for f in ID_FIELDS if isinstance(row.get(f), (str, int)) and str(row[f]).strip()), "")
    category = row.get("category")
    # The id is the text's key: unique once duplicates are dropped, whatever ids the corpus repeats.
    return {"id": key, "source_id": str(given), "instruction": (text or "").strip(),
            "category": category if isinstance(category, str) else "", "rank": rank(seed, key) if key else "",
            "drop": reason}
