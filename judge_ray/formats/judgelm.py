"""The JudgeLM prompt (question, answer 1, answer 2, optional reference) and its `s_1 s_2` score line."""
from __future__ import annotations

import re
from typing import Optional

from judge_ray.formats.delimiting import DATA_NOTE, data
from judge_ray.formats.verdicts import ParseFailure, Scores, ScoresResult

_HEADER = "You are a helpful and precise assistant for checking the quality of the answer."
_SYSTEM = (
    "We would like to request your feedback on the performance of two AI assistants in response to the user "
    "question displayed above.{ref}\nPlease rate the helpfulness, relevance, accuracy, level of details of their "
    "responses. Each assistant receives an overall score on a scale of 1 to 10, where a higher score indicates "
    "better overall performance.\nPlease first output a single line containing only two values indicating the "
    "scores for Assistant 1 and 2, respectively. The two scores are separated by a space. In the subsequent line, "
    "please provide a comprehensive explanation of your evaluation, avoiding any potential bias and ensuring that "
    "the order in which the responses were presented does not affect your judgment."
)
_REF_NOTE = " A reference answer is given: judge the two answers against it."

_SCORE_LINE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*[, ]\s*(\d+(?:\.\d+)?)\s*$")


def judgelm_prompt(question: str, answer_1: str, answer_2: str, reference: Optional[str] = None,
                   guard: bool = True) -> str:
    """JudgeLM's judge prompt; with `reference`, the reference answer is shown (reference support). Guarded (the
    default), the texts are neutralised and the system text says answers are data (`formats.delimiting`)."""
    question, answer_1, answer_2, reference = (data(t, guard) for t in (question, answer_1, answer_2, reference))
    note = f"\n{DATA_NOTE}" if guard else ""
    ref_block = (
        f"[The Start of Reference Answer]\n{reference}\n\n[The End of Reference Answer]\n\n" if reference else ""
    )
    return (
        f"{_HEADER}\n[Question]\n{question}\n\n{ref_block}"
        f"[The Start of Assistant 1's Answer]\n{answer_1}\n\n[The End of Assistant 1's Answer]\n\n"
        f"[The Start of Assistant 2's Answer]\n{answer_2}\n\n[The End of Assistant 2's Answer]\n\n"
        f"[System]\n{_SYSTEM.format(ref=_REF_NOTE if reference else '')}{note}"
    )


def parse_scores(text: str, low: float = 1, high: float = 10) -> ScoresResult:
    """First non-empty line `s_1 s_2` (space or comma separated) in [low, high]; the rest is the explanation."""
    if not isinstance(text, str) or not text.strip():
        return ParseFailure("empty output")
    lines = text.strip().splitlines()
    match = _SCORE_LINE.match(lines[0])
    if not match:
        return ParseFailure(f"first line is not two scores: {lines[0][:40]!r}")
    s1, s2 = float(match.group(1)), float(match.group(2))
    if not (low <= s1 <= high and low <= s2 <= high):
        return ParseFailure(f"scores {s1:g} {s2:g} outside {low:g}-{high:g}")
    return Scores(s1, s2, "\n".join(lines[1:]).strip())


def score_line(score_1: float, score_2: float) -> str:
    """Write a score pair the way the parser reads it (integers without a trailing .0)."""
    return f"{score_1:g} {score_2:g}"
