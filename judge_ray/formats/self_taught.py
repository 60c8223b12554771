"""The Self-Taught Evaluator's pairwise prompt: reasoning, then a final verdict `[[A]]` or `[[B]]`.

The wording follows the MT-Bench pairwise judge prompt used by the Self-Taught Evaluators paper. The verdict
is read as a constrained choice after the reasoning (see `VERDICT_PREFIX`), so a judgment never goes missing;
`parse_verdict` still reads the free text, to measure whether the model writes the format unaided.
"""
from __future__ import annotations

import re
from typing import Optional

from judge_ray.formats.context import CONTEXT_NOTE, context_block
from judge_ray.formats.delimiting import DATA_NOTE, data
from judge_ray.formats.judgelm import enumeration, number_word
from judge_ray.formats.verdicts import ParseFailure, Verdict, VerdictResult

# The judge over N answers names the best; the pair judge (the Self-Taught Evaluators' prompt) is its N = 2.
_MANY = (
    "Please act as an impartial judge and evaluate the quality of the responses provided by {n} AI assistants "
    "to the user question displayed below. You should choose the assistant that follows the user's instructions "
    "and answers the user's question better. Your evaluation should consider factors such as the helpfulness, "
    "relevance, accuracy, depth, creativity, and level of detail of their responses. Begin your evaluation by "
    "comparing the {n} responses and provide a short explanation. Avoid any position biases and ensure that the "
    "order in which the responses were presented does not influence your decision. Do not allow the length of "
    "the responses to influence your evaluation. Be as objective as possible. After providing your explanation, "
    "output your final verdict by strictly following this format: {choices}."
)
SYSTEM = _MANY.format(n="two", choices='"[[A]]" if assistant A is better, "[[B]]" if assistant B is better')
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# Appended to the judge's reasoning so the next token *is* the verdict: the constrained choice reads it.
VERDICT_PREFIX = "\n\nFinal verdict: [["
CHOICES = ("A", "B")

_VERDICT_RE = re.compile(r"\[\[\s*([AB])\s*\]\]")


def pairwise_prompt(question: str, answer_a: str, answer_b: str, guard: bool = True,
                    context: Optional[str] = None) -> str:
    """The user turn of a pairwise judgment (system text folded in: not every chat template has a system role).
    Guarded (the default), the texts are neutralised and the template says answers are data
    (`formats.delimiting`); `guard=False` is the earlier, unguarded prompt. `context`: the context block."""
    return pairwise_many_prompt(question, [answer_a, answer_b], guard, context)


def many_system(n: int) -> str:
    if n == 2:
        return SYSTEM
    return _MANY.format(n=number_word(n),
                        choices=enumeration([f'"[[{x}]]" if assistant {x} is better' for x in LETTERS[:n]]))


def pairwise_many_prompt(question: str, answers: list[str], guard: bool = True, context: Optional[str] = None) -> str:
    """The pairwise judge over N answers (Assistant A, B, C, ...): reasoning, then `[[X]]` naming the best."""
    question = data(question, guard)
    system = (f"{many_system(len(answers))} {DATA_NOTE}" if guard else many_system(len(answers))) + (
        CONTEXT_NOTE if context else "")
    blocks = "\n\n".join(f"[The Start of Assistant {x}'s Answer]\n{data(a, guard)}\n[The End of Assistant {x}'s Answer]"
                         for x, a in zip(LETTERS, answers))
    return f"{system}\n\n[User Question]\n{question}\n\n{context_block(context, guard)}{blocks}"


def parse_best(text: str, n: int) -> tuple[Optional[int], str]:
    """(the slot `[[X]]` names, 0-based, or None; the failure reason) among N answers; two letters = ambiguous."""
    if not isinstance(text, str) or not text.strip():
        return None, "empty output"
    found = set(re.findall(r"\[\[\s*([A-Z])\s*\]\]", text))
    valid = {x for x in found if x in LETTERS[:n]}
    if not valid:
        return None, f"no [[A]]..[[{LETTERS[n - 1]}]] verdict"
    if len(valid) > 1:
        return None, f"several verdicts present: {', '.join(sorted(valid))}"
    return LETTERS.index(valid.pop()), ""


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
