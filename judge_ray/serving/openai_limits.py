"""What one request to the OpenAI-compatible routes may ask of the engine: how many tokens it generates, how
many choices, how long its prompt is. Pure, so it is tested without Ray or vLLM; the guarded ingress
(`serving/openai_app.py`) applies it before a request reaches an engine."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional


@dataclass(frozen=True)
class OpenAILimits:
    max_tokens: int  # generated tokens per choice; also the default when a request names none
    max_n: int  # choices per request
    max_prompt_chars: int  # characters of text over all messages (a prompt of token ids: its ids)


def _text_chars(content: Any) -> int:
    """Characters of a message's content: a string, or a list of parts whose text parts count."""
    if isinstance(content, str):
        return len(content)
    if isinstance(content, list):
        return sum(_text_chars(part.get("text", "")) if isinstance(part, dict) else _text_chars(part)
                   for part in content)
    return 0


def prompt_size(prompt: Any) -> int:
    """A completion prompt's size: characters of text, or the number of token ids when given as ids."""
    if isinstance(prompt, str):
        return len(prompt)
    if isinstance(prompt, list):
        return sum(1 if isinstance(p, int) else prompt_size(p) for p in prompt)
    return 0


def chat_size(messages: Any) -> int:
    return sum(_text_chars(m.get("content") if isinstance(m, dict) else getattr(m, "content", None))
               for m in messages or [])


def request_problem(limits: OpenAILimits, *, max_tokens: Optional[int], n: Optional[int], size: int) -> Optional[str]:
    """The first limit a request breaks, as a one-line message naming the field and the setting; None if none."""
    if max_tokens is not None and max_tokens > limits.max_tokens:
        return f"max_tokens: at most {limits.max_tokens} on this endpoint (serve.openai_max_tokens)"
    if n is not None and n > limits.max_n:
        return f"n: at most {limits.max_n} on this endpoint (serve.openai_max_n)"
    if size > limits.max_prompt_chars:
        return (f"the prompt is {size} characters; at most {limits.max_prompt_chars} on this endpoint "
                "(serve.openai_max_prompt_chars)")
    return None
