"""Multi-turn conversations (MT-Bench's `conversation_a/b`): what the judge sees for a chosen turn.

The two assistants' conversations diverge from their first answer, so each slot shows that assistant's own
transcript up to the judged turn; the question slot holds the user's message of that turn.
"""
from __future__ import annotations

from typing import Sequence

from judge_ray.errors import InputError
from judge_ray.records import as_text

USER_ROLES = ("user", "human")
ASSISTANT_ROLES = ("assistant", "gpt", "model")


def turns(conversation: Sequence[dict], where: str) -> list[tuple[str, str]]:
    """(user message, assistant reply) per turn; messages are {role, content} (or {from, value})."""
    out: list[tuple[str, str]] = []
    pending = None
    for i, msg in enumerate(conversation):
        if not isinstance(msg, dict):
            raise InputError(f"{where}: message {i + 1} is not an object with role and content")
        role = str(msg.get("role", msg.get("from", ""))).lower()
        content = as_text(msg.get("content", msg.get("value")))
        if content is None and role in ASSISTANT_ROLES:
            content = ""  # a model that said nothing: an answer the judge must see
        if content is None:
            raise InputError(f"{where}: message {i + 1} has no text content")
        if role in USER_ROLES:
            pending = content
        elif role in ASSISTANT_ROLES:
            if pending is None:
                raise InputError(f"{where}: message {i + 1} is an assistant reply with no user message before it")
            out.append((pending, content))
            pending = None
    return out


def transcript_for_turn(pairs: Sequence[tuple[str, str]], turn: int) -> tuple[str, str]:
    """(question, answer) for judging `turn` (1-based): earlier turns become context in the answer slot."""
    question, answer = pairs[turn - 1]
    if turn == 1:
        return question, answer
    history = "\n\n".join(f"### User:\n{q}\n\n### Assistant:\n{a}" for q, a in pairs[: turn - 1])
    context = f"(Conversation so far)\n{history}\n\n### User:\n{question}\n\n### Assistant:\n{answer}"
    return question, context
