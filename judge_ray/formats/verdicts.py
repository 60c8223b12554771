"""Typed results of reading a judge's output. Parsers return these; they never raise on model text."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Union

Position = Literal["A", "B"]
Outcome = Literal["A", "B", "tie"]


@dataclass(frozen=True)
class ParseFailure:
    """The model's text held no readable verdict; `reason` says why, for the parse-failure report."""

    reason: str
    ok: bool = False


@dataclass(frozen=True)
class Verdict:
    """A pairwise verdict `[[A]]`/`[[B]]` read from free text."""

    winner: Position
    ok: bool = True


@dataclass(frozen=True)
class Scores:
    """A JudgeLM score line `s_1 s_2` and the explanation under it."""

    score_1: float
    score_2: float
    explanation: str
    ok: bool = True

    @property
    def outcome(self) -> Outcome:
        """Verdict = the larger score; a tie when equal (JudgeLM)."""
        if self.score_1 > self.score_2:
            return "A"
        if self.score_2 > self.score_1:
            return "B"
        return "tie"


VerdictResult = Union[Verdict, ParseFailure]
ScoresResult = Union[Scores, ParseFailure]


def swap_outcome(outcome: str) -> str:
    """The same judgment seen from the other order: A<->B, tie stays."""
    return {"A": "B", "B": "A"}.get(outcome, outcome)
