"""The clients retry overload (503, with or without Retry-After) and connection errors, bounded; other
errors are raised at once. No server: httpx's mock transports answer."""
import asyncio
import random

import httpx
import pytest

from judge_ray.client import AsyncJudgeClient, JudgeAPIError, JudgeClient, backoff_delay

OK = {"winner": "A", "confidence": 0.9}


def script(*steps):
    """A handler answering each request with the next step: a status code, or an exception to raise."""
    calls = []

    def handler(request):
        step = steps[min(len(calls), len(steps) - 1)]
        calls.append(request)
        if isinstance(step, Exception):
            raise step
        if step == 200:
            return httpx.Response(200, json=OK)
        if step == "died":  # Ray Serve's proxy when the replica holding the request died: plain text
            return httpx.Response(500, text="Internal Server Error")
        headers = {"Retry-After": "0"} if step == 503 else {}
        return httpx.Response(step, json={"error": f"status {step}"}, headers=headers)

    return handler, calls


def client(*steps, retries=3):
    handler, calls = script(*steps)
    return JudgeClient("http://judge", token=" tok \n", retries=retries, backoff_s=0.001,
                       transport=httpx.MockTransport(handler)), calls


def test_overload_and_connection_errors_are_retried_until_an_answer():
    c, calls = client(503, httpx.ConnectError("refused"), 503, 200)
    assert c.judge("q", "a", "b") == OK and len(calls) == 4
    assert calls[0].headers["authorization"] == "Bearer tok"  # a token read with its newline still works


def test_retries_are_bounded_and_the_last_error_is_raised():
    c, calls = client(503, retries=2)
    with pytest.raises(JudgeAPIError) as err:
        c.judge("q", "a", "b")
    assert err.value.status == 503 and len(calls) == 3
    c, calls = client(httpx.ConnectError("refused"), retries=1)
    with pytest.raises(httpx.ConnectError):
        c.grade("q", "a")
    assert len(calls) == 2


def test_a_replica_dying_under_the_request_is_retried_but_a_judge_error_is_not():
    c, calls = client("died", 200)
    assert c.judge("q", "a", "b") == OK and len(calls) == 2
    c, calls = client(500, 200)  # the judge's own JSON 500: raised at once
    with pytest.raises(JudgeAPIError) as err:
        c.judge("q", "a", "b")
    assert err.value.status == 500 and len(calls) == 1


def test_client_errors_are_not_retried():
    c, calls = client(422, 200)
    with pytest.raises(JudgeAPIError) as err:
        c.judge("q", "a", "b")
    assert err.value.status == 422 and len(calls) == 1


def test_async_client_retries_the_same_way():
    handler, calls = script(503, httpx.ReadTimeout("slow"), 200)

    async def go():
        async with AsyncJudgeClient("http://judge", retries=3, backoff_s=0.001,
                                    transport=httpx.MockTransport(handler)) as c:
            return await c.judge("q", "a", "b")

    assert asyncio.run(go()) == OK and len(calls) == 3


def test_backoff_honours_retry_after_then_grows_with_jitter():
    rng = random.Random(0)
    assert backoff_delay(0, 0.5, httpx.Response(503, headers={"Retry-After": "2"}), rng) == 2.0
    assert backoff_delay(0, 0.5, httpx.Response(503, headers={"Retry-After": "9999"}), rng) == 30.0
    delays = [backoff_delay(a, 0.5, None, rng) for a in range(4)]
    assert all(0.25 * 2 ** a <= d <= 0.75 * 2 ** a for a, d in enumerate(delays))
