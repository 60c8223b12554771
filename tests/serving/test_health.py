"""Engine failures: only the failing batch's requests get a 503 they may retry; a run of failures fails the
replica's health check (Serve replaces it); a success resets the count."""
import asyncio

import pytest

from judge_ray.serving.app import HTTPError, _answer, within
from judge_ray.serving.health import EngineHealth


def broken(requests):
    raise RuntimeError("engine process died\nlong traceback")


def test_a_failing_batch_fails_only_its_requests_and_health_follows_the_run_of_failures():
    health = EngineHealth(unhealthy_after=2)
    assert health.run(lambda rs: [{"winner": "A"} for _ in rs], [{}, {}]) == [{"winner": "A"}] * 2
    out = health.run(broken, [{}, {}, {}])
    assert out == [{"engine_error": "RuntimeError: engine process died"}] * 3
    assert health.healthy and health.failures == 1
    health.check()  # one failure: still serving
    health.run(broken, [{}])
    assert not health.healthy
    with pytest.raises(RuntimeError, match="failed 2 batches in a row; last: RuntimeError: engine process died"):
        health.check()
    health.run(lambda rs: rs, [{}])
    assert health.healthy and health.failures == 0


def test_an_engine_error_is_a_retryable_503():
    assert _answer({"winner": "B"}) == {"winner": "B"}
    with pytest.raises(HTTPError) as err:
        _answer({"engine_error": "RuntimeError: boom"})
    assert err.value.status == 503 and err.value.headers == {"Retry-After": "1"} and "boom" in err.value.error


def test_a_request_not_answered_in_time_is_a_retryable_504():
    async def slow():
        await asyncio.sleep(5)
        return {"winner": "A"}

    async def fast():
        return {"winner": "B"}

    assert asyncio.run(within(1.0, fast())) == {"winner": "B"}
    with pytest.raises(HTTPError) as err:
        asyncio.run(within(0.05, slow()))
    assert err.value.status == 504 and "serve.request_timeout_s" in err.value.error
    assert err.value.headers == {"Retry-After": "1"}
