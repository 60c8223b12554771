"""The endpoint's batcher without Ray or Serve: a batch is taken when the engine is free and holds everything
queued meanwhile, a lone request waits at most wait_s, failures and cancellations stay with their batch."""
import asyncio
import time

import pytest

from judge_ray.serving.batcher import EngineBatcher


class Engine:
    """Records each batch; holds a batch until `release` is set when `hold` is on."""

    def __init__(self, seconds: float = 0.0, fail_on: str = "", hold: bool = False):
        self.batches: list[list[str]] = []
        self.seconds, self.fail_on, self.hold = seconds, fail_on, hold
        self.release = asyncio.Event()

    def let_go(self) -> None:
        self.hold = False
        self.release.set()

    async def __call__(self, items: list[str]) -> list[str]:
        self.batches.append(list(items))
        if self.hold:
            await self.release.wait()
        await asyncio.sleep(self.seconds)
        if self.fail_on in items:
            raise RuntimeError(f"engine broke on {self.fail_on}")
        return [f"judged {i}" for i in items]


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_requests_queued_while_the_engine_runs_form_one_batch_in_arrival_order():
    async def scenario():
        engine = Engine(hold=True)
        batcher = EngineBatcher(engine, max_batch_size=8, wait_s=0.01)
        first = asyncio.ensure_future(batcher.submit("r0"))
        await asyncio.sleep(0.05)  # r0 waited out wait_s alone and holds the engine
        later = [asyncio.ensure_future(batcher.submit(f"r{i}")) for i in range(1, 7)]
        await asyncio.sleep(0.1)  # far longer than wait_s: serve.batch would have formed a batch of these by now
        assert engine.batches == [["r0"]]
        engine.let_go()
        answers = await asyncio.gather(first, *later)
        return engine, answers

    engine, answers = asyncio.run(scenario())
    assert engine.batches == [["r0"], [f"r{i}" for i in range(1, 7)]]
    assert [a for a, _ in answers] == [f"judged r{i}" for i in range(7)]
    queued = [t for _, t in answers[1:]]
    # they waited for the held engine (~0.1 s), not for the batch to fill, and say so
    assert all(t.queue_ms >= 90 and t.batch_wait_ms < 20 and t.batch_size == 6 for t in queued), queued


def test_batches_are_capped_at_max_batch_size():
    async def scenario():
        engine = Engine(hold=True)
        batcher = EngineBatcher(engine, max_batch_size=4, wait_s=0.0)
        futures = [asyncio.ensure_future(batcher.submit(f"r{i}")) for i in range(11)]
        await _settle()
        engine.let_go()
        await asyncio.gather(*futures)
        return engine

    engine = asyncio.run(scenario())
    assert [len(b) for b in engine.batches] == [4, 4, 3]
    assert sum(engine.batches, []) == [f"r{i}" for i in range(11)]


@pytest.mark.parametrize("wait_s", [0.0, 0.15])
def test_a_lone_request_waits_at_most_wait_s_for_company(wait_s):
    async def scenario():
        engine = Engine()
        batcher = EngineBatcher(engine, max_batch_size=8, wait_s=wait_s)
        started = time.perf_counter()
        answer, timing = await batcher.submit("alone")
        return time.perf_counter() - started, timing

    elapsed, timing = asyncio.run(scenario())
    assert timing.batch_size == 1 and timing.queue_ms == 0.0
    assert wait_s * 1000 - 1 <= timing.batch_wait_ms <= wait_s * 1000 + 60
    assert elapsed < wait_s + 0.1


def test_a_batch_that_fills_goes_at_once_without_waiting_out_wait_s():
    async def scenario():
        engine = Engine()
        batcher = EngineBatcher(engine, max_batch_size=3, wait_s=5.0)
        started = time.perf_counter()
        out = await asyncio.gather(*(batcher.submit(f"r{i}") for i in range(3)))
        return time.perf_counter() - started, out

    elapsed, out = asyncio.run(scenario())
    assert elapsed < 1.0 and [t.batch_size for _, t in out] == [3, 3, 3]


def test_engine_time_is_the_batch_call_and_a_failure_stays_with_its_batch():
    async def scenario():
        engine = Engine(seconds=0.05, fail_on="bad")
        batcher = EngineBatcher(engine, max_batch_size=2, wait_s=0.0)
        broken = await asyncio.gather(batcher.submit("bad"), batcher.submit("ok1"), return_exceptions=True)
        fine = await asyncio.gather(batcher.submit("ok2"), batcher.submit("ok3"))
        return broken, fine

    broken, fine = asyncio.run(scenario())
    assert all(isinstance(e, RuntimeError) and "broke on bad" in str(e) for e in broken)
    assert [a for a, _ in fine] == ["judged ok2", "judged ok3"]
    assert all(45 <= t.engine_ms < 500 for _, t in fine)


def test_a_request_whose_caller_gave_up_is_left_out_of_its_batch():
    async def scenario():
        engine = Engine(hold=True)
        batcher = EngineBatcher(engine, max_batch_size=8, wait_s=0.0)
        first = asyncio.ensure_future(batcher.submit("r0"))
        await _settle()
        gone = asyncio.ensure_future(batcher.submit("timed-out"))
        kept = asyncio.ensure_future(batcher.submit("r2"))
        await _settle()
        gone.cancel()
        engine.let_go()
        await asyncio.gather(first, kept)
        return engine

    assert asyncio.run(scenario()).batches == [["r0"], ["r2"]]


def test_a_batch_function_that_loses_answers_fails_its_requests():
    async def short(items):
        return items[:-1]

    async def scenario():
        batcher = EngineBatcher(short, max_batch_size=2, wait_s=0.0)
        return await asyncio.gather(batcher.submit("a"), batcher.submit("b"), return_exceptions=True)

    assert all(isinstance(e, RuntimeError) and "1 answers for 2 requests" in str(e) for e in asyncio.run(scenario()))
    with pytest.raises(ValueError, match="max_batch_size"):
        EngineBatcher(short, max_batch_size=0, wait_s=0.0)
