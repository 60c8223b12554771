"""Request and response bodies of the judge API (pydantic: FastAPI validates them and documents them in the
OpenAPI schema).

Every text field goes through one validator (`text_problem`): it must be text that can be encoded (no lone
surrogate: JSON's `"\ud800"` decodes to one) and hold no NUL character; anything else is a 422 naming the field.
The question must hold something besides whitespace; an answer may be empty (an empty answer is an answer, as
the benchmarks treat it, and usually a bad one); the reference is optional."""
from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator

NonEmpty = Field(min_length=1)
Context = Field(default=None, description="what the question refers to that the judge cannot see (an image as "
                                          "text: caption, OCR, objects)")
MAY_BE_EMPTY = ("answer", "answer_a", "answer_b", "answers", "reference", "context")


def text_problem(value: str) -> Optional[str]:
    """Why `value` cannot be judged as text, or None."""
    if "\x00" in value:
        return f"must not contain a NUL character (at character {value.index(chr(0))})"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"must be valid Unicode text (a lone surrogate at character {exc.start})"
    return None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is a 422, not silently ignored

    @field_validator("*")
    @classmethod
    def _text(cls, value, info):
        if isinstance(value, list):  # a list of texts (the answers to rank): each through the same validator
            for i, item in enumerate(value):
                problem = text_problem(item) if isinstance(item, str) else None
                if problem:
                    raise ValueError(f"answer {i} {problem}")
        if isinstance(value, str):
            problem = text_problem(value)
            if problem:
                raise ValueError(problem)
            if not value.strip() and info.field_name not in MAY_BE_EMPTY:
                raise ValueError("must not be empty")
        return value


class JudgeRequest(_Strict):
    question: str = NonEmpty
    answer_a: str
    answer_b: str
    reference: Optional[str] = None
    context: Optional[str] = Context
    mode: Literal["single", "both", "vote", "swap", "debiased"] = Field(
        default="single", description="single: one order; both: both orders, combined (as evaluation's "
                                      "judge.mode=both; `swap` is its old name, still accepted); vote: `samples` "
                                      "sampled judgments, majority-voted; debiased: both orders, the verdict read "
                                      "with the first-slot prior cancelled (pairwise judges)")
    samples: Optional[int] = Field(default=None, ge=1, description="judgments for mode=vote")

    @field_validator("mode")
    @classmethod
    def _one_name(cls, value: str) -> str:
        return "both" if value == "swap" else value  # answered as `both`, the name config and docs use


class RankRequest(_Strict):
    question: str = NonEmpty
    answers: list[str] = Field(min_length=2, max_length=26,
                               description="the N >= 2 answers to rank (at most serve.max_answers); an empty "
                                           "answer is an answer")
    reference: Optional[str] = None
    context: Optional[str] = Context
    mode: Literal["single", "rotations"] = Field(
        default="rotations", description="single: the answers in the order given, one judgment; rotations: the N "
                                         "cyclic shifts (every answer in every slot once), scores averaged, which "
                                         "cancels the judge's slot preference")


class RankResponse(BaseModel):
    scores: list[Optional[float]] = Field(description="per answer, in the order given: its mean score over the "
                                                      "orders read (judgelm: 1-10; pairwise: its probability of "
                                                      "being the best); null when no order could be read")
    ranking: list[int] = Field(description="answer indices (from 0, as given), best first; equal scores keep the "
                                           "given order, and `ranks` says which are tied")
    ranks: Optional[list[int]] = Field(description="per answer: 0 = best, equal scores share a rank")
    best: Optional[int] = Field(description="the top answer's index, null when several share the top or none read")
    orders: int = Field(description="orders judged (1 for single, N for rotations)")
    orders_read: int = Field(description="orders whose output could be read")
    consistent: Optional[bool] = Field(description="rotations: whether every order read put the same answer on top")
    explanation: str
    mode: str
    model: str
    timings: Timings


class GradeRequest(_Strict):
    question: str = NonEmpty
    answer: str
    reference: Optional[str] = None
    context: Optional[str] = Context


class Timings(BaseModel):
    """Where the request's time went inside the replica (the rest is the proxy, routing and the HTTP exchange)."""
    queue_ms: float = Field(description="waiting while the engine ran earlier batches")
    batch_wait_ms: float = Field(description="the engine free, waiting for more requests to fill the batch")
    judge_ms: float = Field(description="the engine call that judged this request's batch")
    batch_size: int = Field(description="requests judged in that engine call")


class JudgeResponse(BaseModel):
    winner: Optional[Literal["A", "B", "tie"]] = Field(description="null when the judge wrote no readable verdict")
    confidence: float = Field(description="pairwise format: the model's probability of the winner, averaged over "
                                          "orders and samples (for a tie: how close that average is to 0.5); "
                                          "judgelm format: the share of judgments that agree with the verdict")
    orders_agree: Optional[bool] = Field(description="mode=both: whether both orders gave the same winner")
    prior: Optional[float] = Field(default=None, description="mode=debiased: the first-slot prior it cancelled, "
                                                             "in log-odds (> 0: a lean to whatever is shown first)")
    explanation: str
    mode: str
    samples: int
    model: str
    timings: Timings


class GradeResponse(BaseModel):
    score: Optional[float]
    confidence: float
    explanation: str
    model: str
    timings: Timings


class ModelCard(BaseModel):
    id: str
    format: str
    engine: str
    source: str


class ErrorBody(BaseModel):
    error: str
    field: Optional[str] = None
