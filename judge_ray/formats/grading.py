"""Single-answer grading: one answer, a 1-10 rating written as `Rating: [[r]]` (MT-Bench's single-answer
judge), optionally against a reference answer. Used by `jobs/evaluate.py` (grading mode) and the endpoint's
/v1/grade."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Union

from judge_ray.formats.context import CONTEXT_NOTE, context_block
from judge_ray.formats.delimiting import DATA_NOTE, data
from judge_ray.formats.verdicts import ParseFailure

_SYSTEM = (
    "Please act as an impartial judge and evaluate the quality of the response provided by an AI assistant to "
    "the user question displayed below. Your evaluation should consider factors such as the helpfulness, "
    "relevance, accuracy, depth, creativity, and level of detail of the response.{ref} Begin your evaluation by "
    "providing a short explanation. Be as objective as possible. After providing your explanation, you must rate "
    'the response on a scale of 1 to 10 by strictly following this format: "Rating: [[5]]".'
)
_SYSTEM_01 = (
    "Please act as an impartial judge and grade how correct the response of an AI assistant to the question "
    "displayed below is, compared with the reference answer. Give 1.0 when it says what the reference says, 0.0 "
    "when it is wrong or says nothing useful, and a value in between, in steps of 0.1, for a partly correct "
    "response. Begin with a short explanation. Then give the score by strictly following this format: "
    '"Score: [[0.5]]".'
)
_REF_NOTE = " Compare the assistant's answer with the reference answer; identify and correct any mistakes."

RATING_PREFIX = "\n\nRating: [["
SCORE_PREFIX = "\n\nScore: [["  # the 0-1 grade's syntax (scale 0-1)
_BRACKETED = re.compile(r"\[\[\s*(\d+(?:\.\d+)?)\s*\]\]")
_PLAIN = re.compile(r"(?:Rating|Score):\s*(\d+(?:\.\d+)?)", re.IGNORECASE)


@dataclass(frozen=True)
class Rating:
    score: float
    explanation: str
    ok: bool = True


RatingResult = Union[Rating, ParseFailure]


def grading_prompt(question: str, answer: str, reference: Optional[str] = None, guard: bool = True,
                   context: Optional[str] = None, scale: str = "1-10") -> str:
    """MT-Bench's single-answer prompt; guarded (the default), the texts are neutralised and the answer is
    declared data (`formats.delimiting`). `context`: the context block; `scale="0-1"`: a correctness score
    from 0.0 to 1.0 against the reference (MM-Vet's scale) instead of a 1-10 rating."""
    question, answer, reference = (data(t, guard) for t in (question, answer, reference))
    ref = (f"[The Start of Reference Answer]\n{reference}\n[The End of Reference Answer]\n\n" if reference else "")
    system = (_SYSTEM_01 if scale == "0-1" else _SYSTEM.format(ref=_REF_NOTE if reference else "")) + (
        f" {DATA_NOTE}" if guard else "") + (CONTEXT_NOTE if context else "")
    return (f"{system}\n\n[Question]\n{question}\n\n{context_block(context, guard)}{ref}"
            f"[The Start of Assistant's Answer]\n{answer}\n[The End of Assistant's Answer]")


def parse_rating(text: str, low: float = 1, high: float = 10) -> RatingResult:
    """The last `[[r]]` (else the last `Rating: r`) in [low, high]; the text before it is the explanation."""
    if not isinstance(text, str) or not text.strip():
        return ParseFailure("empty output")
    found = list(_BRACKETED.finditer(text)) or list(_PLAIN.finditer(text))
    if not found:
        return ParseFailure("no [[rating]]")
    match = found[-1]
    score = float(match.group(1))
    if not low <= score <= high:
        return ParseFailure(f"rating {score:g} outside {low:g}-{high:g}")
    explanation = text[: match.start()].rstrip()
    explanation = re.sub(r"(?:Rating|Score):\s*$", "", explanation).rstrip()
    return Rating(score, explanation)
