"""The Self-Taught Evaluator's pairwise prompt: reasoning, then a final verdict `[[A]]` or `[[B]]`.

The wording follows the MT-Bench pairwise judge prompt used by the Self-Taught Evaluators paper. The verdict
is read as a constrained choice after the reasoning (see `VERDICT_PREFIX`), so a judgment never goes missing;
`parse_verdict` still reads the free text, to measure whether the model writes the format unaided.
"""
from __future__ import annotations

import re

from judge_ray.formats.delimiting import DATA_NOTE, data
from judge_ray.formats.verdicts import ParseFailure, Verdict, VerdictResult

SYSTEM = (
    "Please act as an impartial judge and evaluate the quality of the responses provided by two AI assistants "
    "to the user question displayed below. You should choose the assistant that follows the user's instructions "
    "and answers the user's question better. Your evaluation should consider factors such as the helpfulness, "
    "relevance, accuracy, depth, creativity, and level of detail of their responses. Begin your evaluation by "
    "comparing the two responses and provide a short explanation. Avoid any position biases and ensure that the "
    "order in which the responses were presented does not influence your decision. Do not allow the length of "
    "the responses to influence your evaluation. Be as objective as possible. After providing your explanation, "
    'output your final verdict by strictly following this format: "[[A]]" if assistant A is better, '
    '"[[B]]" if assistant B is better.'
)

# Appended to the judge's reasoning so the next token *is* the verdict: the constrained choice reads it.
VERDICT_PREFIX = "\n\nFinal verdict: [["
CHOICES = ("A", "B")

_VERDICT_RE = re.compile(r"\[\[\s*([AB])\s*\]\]")


def pairwise_prompt(question: str, answer_a: str, answer_b: str, guard: bool = True) -> str:
    """The user turn of a pairwise judgment (system text folded in: not every chat template has a system role).
    Guarded (the default), the texts are neutralised and the template says answers are data
    (`formats.delimiting`); `guard=False` is the earlier, unguarded prompt."""
    question, answer_a, answer_b = (data(t, guard) for t in (question, answer_a, answer_b))
    system = f"{SYSTEM} {DATA_NOTE}" if guard else SYSTEM
    return (
        f"{system}\n\n[User Question]\n{question}\n\n"
        f"[The Start of Assistant A's Answer]\n{answer_a}\n[The End of Assistant A's Answer]\n\n"
        f"[The Start of Assistant B's Answer]\n{answer_b}\n[The End of Assistant B's Answer]"
    )


def parse_verdict(text: str) -> VerdictResult:
    """Read `[[A]]`/`[[B]]` from free text. Both letters present is ambiguous, hence a failure, not a guess."""
    if not isinstance(text, str) or not text.strip():
        return ParseFailure("empty output")
    found = set(_VERDICT_RE.findall(text))
    if not found:
        return ParseFailure("no [[A]] or [[B]] verdict")
    if len(found) > 1:
        return ParseFailure("both [[A]] and [[B]] present")
    return Verdict(found.pop())  # type: ignore[arg-type]


def reasoning_before_verdict(text: str) -> str:
    """The reasoning up to any verdict the model started itself, so the forced `[[` continues it cleanly."""
    return text.split("[[", 1)[0].rstrip()


def judgment_text(reasoning: str, winner: str) -> str:
    """The full judgment a fine-tuned judge should write: its reasoning and a well-formed verdict."""
    return f"{reasoning_before_verdict(reasoning)}{VERDICT_PREFIX}{winner}]]"
