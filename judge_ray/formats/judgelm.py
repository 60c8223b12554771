"""The JudgeLM prompt (question, answers 1..N, optional reference) and its `s_1 ... s_N` score line. JudgeLM
judges two answers, and its paper extends the same prompt to several: with N = 2 the N-answer prompt is the
two-answer prompt word for word, so a judge trained on pairs reads a list of answers in the form it knows."""
from __future__ import annotations

import re
from typing import Optional

from judge_ray.formats.context import CONTEXT_NOTE, context_block
from judge_ray.formats.delimiting import DATA_NOTE, data
from judge_ray.formats.verdicts import ParseFailure, Scores, ScoresResult

_HEADER = "You are a helpful and precise assistant for checking the quality of the answer."
_SYSTEM = (
    "We would like to request your feedback on the performance of {n} AI assistants in response to the user "
    "question displayed above.{ref}\nPlease rate the helpfulness, relevance, accuracy, level of details of their "
    "responses. Each assistant receives an overall score on a scale of 1 to 10, where a higher score indicates "
    "better overall performance.\nPlease first output a single line containing only {n} values indicating the "
    "scores for Assistant {which}, respectively. The {n} scores are separated by a space. In the subsequent line, "
    "please provide a comprehensive explanation of your evaluation, avoiding any potential bias and ensuring that "
    "the order in which the responses were presented does not affect your judgment."
)
_REF_NOTE = " A reference answer is given: judge the {n} answers against it."
_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")

_SCORE_LINE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*[, ]\s*(\d+(?:\.\d+)?)\s*$")


def number_word(n: int) -> str:
    return _NUMBER_WORDS[n] if n < len(_NUMBER_WORDS) else str(n)


def enumeration(items: list[str]) -> str:
    """'1 and 2', '1, 2 and 3'."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def judgelm_prompt(question: str, answer_1: str, answer_2: str, reference: Optional[str] = None,
                   guard: bool = True, context: Optional[str] = None) -> str:
    """JudgeLM's judge prompt; with `reference`, the reference answer is shown (reference support); with
    `context`, the context block (`formats.context`). Guarded (the default), the texts are neutralised and the
    system text says answers are data (`formats.delimiting`)."""
    return judgelm_many_prompt(question, [answer_1, answer_2], reference, guard, context)


def judgelm_many_prompt(question: str, answers: list[str], reference: Optional[str] = None,
                        guard: bool = True, context: Optional[str] = None) -> str:
    """JudgeLM's prompt over N >= 2 answers (Assistant 1..N), asking for N scores on the first line."""
    question, reference = data(question, guard), data(reference, guard)
    answers = [data(a, guard) for a in answers]
    n = number_word(len(answers))
    note = f"\n{DATA_NOTE}" if guard else ""
    ref_block = (
        f"[The Start of Reference Answer]\n{reference}\n\n[The End of Reference Answer]\n\n" if reference else ""
    )
    blocks = "".join(f"[The Start of Assistant {i}'s Answer]\n{a}\n\n[The End of Assistant {i}'s Answer]\n\n"
                     for i, a in enumerate(answers, start=1))
    system = _SYSTEM.format(n=n, ref=(_REF_NOTE.format(n=n) if reference else "") + (CONTEXT_NOTE if context else ""),
                            which=enumeration([str(i) for i in range(1, len(answers) + 1)]))
    return (f"{_HEADER}\n[Question]\n{question}\n\n{context_block(context, guard)}{ref_block}{blocks}"
            f"[System]\n{system}{note}")


_NUMBER = r"(\d+(?:\.\d+)?)"


def parse_score_list(text: str, n: int, low: float = 1, high: float = 10) -> tuple[Optional[list[float]], str]:
    """(N scores from the first non-empty line, or None; the failure reason): the N-answer score line."""
    if not isinstance(text, str) or not text.strip():
        return None, "empty output"
    first = text.strip().splitlines()[0]
    if not re.fullmatch(rf"\s*{_NUMBER}(?:\s*[, ]\s*{_NUMBER})*\s*", first):
        return None, f"first line is not {n} scores: {first[:40]!r}"
    scores = [float(x) for x in re.findall(_NUMBER, first)]
    if len(scores) != n:
        return None, f"first line has {len(scores)} scores for {n} answers"
    if not all(low <= s <= high for s in scores):
        return None, f"scores {' '.join(f'{s:g}' for s in scores)} outside {low:g}-{high:g}"
    return scores, ""


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
