"""A context block: what the question is about that the judge cannot see, given as text. JudgeLM judges a
vision-language model's answer with the image described in words; here that is an optional block (a caption,
OCR text, detected objects: any of them) in every judge format, shown like the reference answer, and like it
trained with support and drop (`training/judgelm_data.py`). Without a context the prompts are unchanged."""
from __future__ import annotations

from typing import Any, Optional

from judge_ray.formats.delimiting import data

CONTEXT_NOTE = " The context describes what the question refers to (for example an image), as text."
PARTS = (("caption", "Caption"), ("ocr", "Text in the image (OCR)"), ("objects", "Objects"))


def context_block(context: Optional[str], guard: bool = True) -> str:
    if not context:
        return ""
    return f"[The Start of Context]\n{data(context, guard)}\n[The End of Context]\n\n"


def context_text(value: Any) -> Optional[str]:
    """A published description as one text: a string as it is; {caption, ocr, objects} (any of them; objects a
    list or a text) as labelled lines. None when there is nothing; ValueError when it is not text."""
    if value is None:
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, dict):
        unknown = sorted(set(value) - {k for k, _ in PARTS})
        if unknown:
            raise ValueError(f"has unknown part(s) {unknown}; expected caption, ocr, objects")
        lines = []
        for key, label in PARTS:
            part = value.get(key)
            if part is None:
                continue
            if isinstance(part, list) and all(isinstance(x, str) for x in part):
                part = ", ".join(part)
            if not isinstance(part, str):
                raise ValueError(f"part {key!r} is {type(part).__name__}, not text")
            if part.strip():
                lines.append(f"{label}: {part.strip()}")
        return "\n".join(lines) or None
    raise ValueError(f"is {type(value).__name__}, not text")
