"""Swap the two answers' names in a judge's text (JudgeLM's swap augmentation; balancing A/B slots)."""
from __future__ import annotations

import re


def swap_labels(text: str, names: tuple[str, str]) -> str:
    """Exchange every whole-word mention of names[0] and names[1] (e.g. "Assistant A"/"Assistant B"), and the
    bare verdict tokens that go with them ("[[A]]"/"[[B]]", "A's"/"B's" after the shared prefix)."""
    first, second = names
    pattern = re.compile(rf"\b({re.escape(first)}|{re.escape(second)})\b")
    swapped = pattern.sub(lambda m: second if m.group(1) == first else first, text)
    tail_a, tail_b = first.split()[-1], second.split()[-1]
    return re.sub(rf"\[\[({re.escape(tail_a)}|{re.escape(tail_b)})\]\]",
                  lambda m: f"[[{tail_b if m.group(1) == tail_a else tail_a}]]", swapped)
