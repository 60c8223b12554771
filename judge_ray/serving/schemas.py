"""Request and response bodies of the judge API (pydantic: FastAPI validates them and documents them in the
OpenAPI schema). Text fields must hold something besides whitespace."""
from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator

NonEmpty = Field(min_length=1)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is a 422, not silently ignored

    @field_validator("*")
    @classmethod
    def _not_blank(cls, value, info):
        if isinstance(value, str) and not value.strip() and info.field_name != "reference":
            raise ValueError("must not be empty")
        return value


class JudgeRequest(_Strict):
    question: str = NonEmpty
    answer_a: str = NonEmpty
    answer_b: str = NonEmpty
    reference: Optional[str] = None
    mode: Literal["single", "both", "vote", "swap"] = Field(
        default="single", description="single: one order; both: both orders, combined (as evaluation's "
                                      "judge.mode=both; `swap` is its old name, still accepted); vote: `samples` "
                                      "sampled judgments, majority-voted")
    samples: Optional[int] = Field(default=None, ge=1, description="judgments for mode=vote")

    @field_validator("mode")
    @classmethod
    def _one_name(cls, value: str) -> str:
        return "both" if value == "swap" else value  # answered as `both`, the name config and docs use


class GradeRequest(_Strict):
    question: str = NonEmpty
    answer: str = NonEmpty
    reference: Optional[str] = None


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
