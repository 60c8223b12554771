"""A small client for the judge endpoint, sync and async (httpx).

    from judge_ray.client import JudgeClient
    client = JudgeClient("http://127.0.0.1:8000", token=os.environ.get("JUDGE_RAY_API_TOKEN"))
    client.judge("2+2?", "4", "5", mode="both")["winner"]     # "A"
"""
from __future__ import annotations

import asyncio
import json
import random
import time
from typing import Any, Optional

import httpx

RETRY_STATUSES = (502, 503, 504)  # overload, a replica being replaced, a proxy timeout: worth another try
MAX_BACKOFF_S = 30.0


class JudgeAPIError(RuntimeError):
    """A non-2xx answer: the HTTP status and the server's error message (and the field it names)."""

    def __init__(self, status: int, error: str, field: Optional[str] = None):
        super().__init__(f"{status}: {error}")
        self.status, self.error, self.field = status, error, field


def _body(body: Optional[dict]) -> dict:
    """The request's JSON as ASCII (every non-ASCII character escaped): any Python text can be sent, a lone
    surrogate included (httpx's own encoding raises on it); the endpoint then says what it cannot judge (422)."""
    if body is None:
        return {}
    return {"content": json.dumps(body).encode(), "headers": {"Content-Type": "application/json"}}


def _judge_body(question: str, answer_a: str, answer_b: str, reference: Optional[str], mode: str,
                samples: Optional[int], context: Optional[str] = None) -> dict:
    body: dict[str, Any] = {"question": question, "answer_a": answer_a, "answer_b": answer_b, "mode": mode}
    if reference is not None:
        body["reference"] = reference
    if context is not None:
        body["context"] = context
    if samples is not None:
        body["samples"] = samples
    return body


def _rank_body(question: str, answers: list[str], reference: Optional[str], mode: str,
               context: Optional[str] = None) -> dict:
    body: dict[str, Any] = {"question": question, "answers": list(answers), "mode": mode}
    if reference is not None:
        body["reference"] = reference
    if context is not None:
        body["context"] = context
    return body


def _grade_body(question: str, answer: str, reference: Optional[str], context: Optional[str] = None) -> dict:
    body = {"question": question, "answer": answer}
    if reference is not None:
        body["reference"] = reference
    if context is not None:
        body["context"] = context
    return body


def _result(response: httpx.Response) -> dict:
    if response.is_success:
        return response.json()
    try:
        data = response.json()
        raise JudgeAPIError(response.status_code, data.get("error", response.text), data.get("field"))
    except ValueError:
        raise JudgeAPIError(response.status_code, response.text) from None


def backoff_delay(attempt: int, base_s: float, response: Optional[httpx.Response], rng: random.Random) -> float:
    """Seconds before retry `attempt` (0-based): the server's Retry-After when it gives one, else exponential
    backoff with jitter (so a crowd of clients does not come back at the same instant); capped."""
    if response is not None:
        after = response.headers.get("retry-after", "")
        if after.replace(".", "", 1).isdigit():
            return min(float(after), MAX_BACKOFF_S)
    return min(base_s * (2 ** attempt) * (0.5 + rng.random()), MAX_BACKOFF_S)


def _retryable(response: Optional[httpx.Response], error: Optional[Exception]) -> bool:
    """Judgments are reads, safe to ask again. Besides 502/503/504 and connection errors, a 500 that is not
    the judge's own JSON error is retried: it is what Ray Serve's proxy answers when the replica holding the
    request died under it (the judge itself answers every error it knows as JSON)."""
    if error is not None:
        return isinstance(error, httpx.TransportError)  # connection refused/reset, timeouts
    if response is None:
        return False
    replica_died = response.status_code == 500 and "json" not in response.headers.get("content-type", "")
    return response.status_code in RETRY_STATUSES or replica_died


class _Retries:
    """The retry policy both clients share: whether and how long to wait before trying a request again."""

    def __init__(self, retries: int, backoff_s: float):
        self.retries, self.backoff_s, self._rng = retries, backoff_s, random.Random()

    def delay(self, attempt: int, response: Optional[httpx.Response], error: Optional[Exception]) -> Optional[float]:
        """Seconds to wait before another try, or None: give the answer (or raise the error) now."""
        if attempt < self.retries and _retryable(response, error):
            return backoff_delay(attempt, self.backoff_s, response, self._rng)
        return None

    @staticmethod
    def outcome(response: Optional[httpx.Response], error: Optional[Exception]) -> dict:
        if error is not None:
            raise error
        return _result(response)


class JudgeClient:
    """`retries`: how many times a request is tried again after a 502/503/504 or a connection error, with
    backoff (`backoff_s` doubling, or the server's Retry-After); other errors are raised at once."""

    def __init__(self, base_url: str = "http://127.0.0.1:8000", token: Optional[str] = None, timeout: float = 120.0,
                 retries: int = 3, backoff_s: float = 0.5, transport: Optional[httpx.BaseTransport] = None):
        headers = {"Authorization": f"Bearer {token.strip()}"} if token else {}
        self.http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout,
                                 transport=transport)
        self.policy = _Retries(retries, backoff_s)

    def _request(self, method: str, path: str, body: Optional[dict] = None) -> dict:
        attempt = 0
        while True:
            response, error = None, None
            try:
                response = self.http.request(method, path, **_body(body))
            except httpx.HTTPError as exc:
                error = exc
            wait = self.policy.delay(attempt, response, error)
            if wait is None:
                return self.policy.outcome(response, error)
            time.sleep(wait)
            attempt += 1

    def judge(self, question: str, answer_a: str, answer_b: str, reference: Optional[str] = None,
              mode: str = "single", samples: Optional[int] = None, context: Optional[str] = None) -> dict:
        return self._request("POST", "/v1/judge",
                             _judge_body(question, answer_a, answer_b, reference, mode, samples, context))

    def grade(self, question: str, answer: str, reference: Optional[str] = None,
              context: Optional[str] = None) -> dict:
        return self._request("POST", "/v1/grade", _grade_body(question, answer, reference, context))

    def rank(self, question: str, answers: list[str], reference: Optional[str] = None,
             mode: str = "rotations", context: Optional[str] = None) -> dict:
        """Scores and a ranking of N answers (`mode`: rotations, every answer in every slot; or single)."""
        return self._request("POST", "/v1/rank", _rank_body(question, answers, reference, mode, context))

    def models(self) -> list[dict]:
        return self._request("GET", "/v1/models")["data"]

    def healthy(self) -> bool:
        try:
            return self.http.get("/healthz").status_code == 200
        except httpx.HTTPError:
            return False

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> "JudgeClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AsyncJudgeClient:
    """The async twin of JudgeClient, with the same bounded retries."""

    def __init__(self, base_url: str = "http://127.0.0.1:8000", token: Optional[str] = None, timeout: float = 120.0,
                 max_connections: int = 64, retries: int = 3, backoff_s: float = 0.5,
                 transport: Optional[httpx.AsyncBaseTransport] = None):
        headers = {"Authorization": f"Bearer {token.strip()}"} if token else {}
        self.http = httpx.AsyncClient(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout,
                                      limits=httpx.Limits(max_connections=max_connections), transport=transport)
        self.policy = _Retries(retries, backoff_s)

    async def _request(self, method: str, path: str, body: Optional[dict] = None) -> dict:
        attempt = 0
        while True:
            response, error = None, None
            try:
                response = await self.http.request(method, path, **_body(body))
            except httpx.HTTPError as exc:
                error = exc
            wait = self.policy.delay(attempt, response, error)
            if wait is None:
                return self.policy.outcome(response, error)
            await asyncio.sleep(wait)
            attempt += 1

    async def judge(self, question: str, answer_a: str, answer_b: str, reference: Optional[str] = None,
                    mode: str = "single", samples: Optional[int] = None, context: Optional[str] = None) -> dict:
        return await self._request("POST", "/v1/judge",
                                   _judge_body(question, answer_a, answer_b, reference, mode, samples, context))

    async def grade(self, question: str, answer: str, reference: Optional[str] = None,
                    context: Optional[str] = None) -> dict:
        return await self._request("POST", "/v1/grade", _grade_body(question, answer, reference, context))

    async def rank(self, question: str, answers: list[str], reference: Optional[str] = None,
                   mode: str = "rotations", context: Optional[str] = None) -> dict:
        return await self._request("POST", "/v1/rank", _rank_body(question, answers, reference, mode, context))

    async def models(self) -> list[dict]:
        return (await self._request("GET", "/v1/models"))["data"]

    async def healthy(self) -> bool:
        try:
            return (await self.http.get("/healthz")).status_code == 200
        except httpx.HTTPError:
            return False

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> "AsyncJudgeClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()
