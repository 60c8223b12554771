"""Apply each model's own chat template, so prompts look like what the model was tuned on."""
from __future__ import annotations

from typing import Any, Optional

FALLBACK_TEMPLATE = "User: {user}\nAssistant:"


def render_chat(tokenizer: Any, user: str, assistant_prefix: str = "", system: Optional[str] = None) -> str:
    """The text a model continues: its chat template around `user`, opened for the assistant's reply.

    `assistant_prefix` is text the assistant has already written (the judge's reasoning before the forced
    verdict). Base models without a template get a plain `User:/Assistant:` frame.
    """
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": user}]
    if getattr(tokenizer, "chat_template", None):
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    else:
        text = ((system + "\n\n") if system else "") + FALLBACK_TEMPLATE.format(user=user) + " "
    return text + assistant_prefix
