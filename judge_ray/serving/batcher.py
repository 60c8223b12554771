"""Request batching for one engine, taken when the engine is free.

Why not `serve.batch`: its loop forms the next batch as soon as its first request has waited
`batch_wait_timeout_s`, while the previous batch still holds the engine, and only then waits for the engine. On
this machine's load benchmark (16 clients, batches of at most 8) that split the requests that arrived during one
engine call into two or three small batches queued behind it: 6.6 requests per batch on average and about half of
each cycle spent outside the engine. Here a batch is taken only when the engine is free, so it holds everything
that queued meanwhile (up to `max_batch_size`); when fewer are waiting it waits until its oldest request has
waited `wait_s` in all, the same bound on a lone request's extra latency as `serve.batch`'s timeout.

Each answer comes back with where its request's time went: `queue_ms` (the engine busy with earlier batches),
`batch_wait_ms` (the engine free, waiting for the batch to fill) and `engine_ms` (its batch's engine call).
Pure asyncio: tested without Ray or Serve.
"""
from __future__ import annotations

import asyncio
import collections
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Optional

Run = Callable[[list[Any]], Awaitable[list[Any]]]


@dataclass
class _Pending:
    item: Any
    arrived: float
    future: asyncio.Future = field(repr=False)


@dataclass(frozen=True)
class Timing:
    queue_ms: float
    batch_wait_ms: float
    engine_ms: float
    batch_size: int


class EngineBatcher:
    """`await batcher.submit(item)` -> (answer, Timing). `run(items) -> answers` is called with one batch at a time,
    in arrival order, and must return one answer per item; if it raises, every request of that batch gets the
    exception. A request cancelled while it waits (its caller timed out) is dropped from its batch."""

    def __init__(self, run: Run, max_batch_size: int, wait_s: float):
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size must be >= 1, not {max_batch_size}")
        self.run, self.max_batch_size, self.wait_s = run, max_batch_size, max(0.0, float(wait_s))
        self._pending: collections.deque[_Pending] = collections.deque()
        self._wake: Optional[asyncio.Event] = None
        self._loop_task: Optional[asyncio.Task] = None
        self._free_at = 0.0  # when the engine finished its last batch (perf_counter seconds)

    async def submit(self, item: Any) -> tuple[Any, Timing]:
        loop = asyncio.get_running_loop()
        if self._loop_task is None or self._loop_task.done():
            self._wake = asyncio.Event()
            self._loop_task = loop.create_task(self._serve())
        pending = _Pending(item, time.perf_counter(), loop.create_future())
        self._pending.append(pending)
        self._wake.set()
        return await pending.future

    async def _serve(self) -> None:
        while True:
            batch = await self._take()
            if batch:
                await self._run(batch)

    def _drain(self, batch: list[_Pending]) -> None:
        while self._pending and len(batch) < self.max_batch_size:
            p = self._pending.popleft()
            if not p.future.done():  # skip requests whose callers gave up while queued
                batch.append(p)

    async def _take(self) -> list[_Pending]:
        """The next batch: what is queued now, topped up until full or until its oldest request has waited
        `wait_s` since it arrived."""
        batch: list[_Pending] = []
        while not batch:
            self._drain(batch)
            if not batch:
                self._wake.clear()
                await self._wake.wait()
        while len(batch) < self.max_batch_size:
            remaining = batch[0].arrived + self.wait_s - time.perf_counter()
            if remaining <= 0:
                break
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), remaining)
            except asyncio.TimeoutError:
                pass
            self._drain(batch)
        return [p for p in batch if not p.future.done()]

    async def _run(self, batch: list[_Pending]) -> None:
        started = time.perf_counter()
        try:
            answers = await self.run([p.item for p in batch])
            if len(answers) != len(batch):
                raise RuntimeError(f"the batch function returned {len(answers)} answers for {len(batch)} requests")
        except Exception as exc:  # every request of this batch fails with it; later batches go on
            for p in batch:
                if not p.future.done():
                    p.future.set_exception(exc)
            return
        finally:
            previous_free, self._free_at = self._free_at, time.perf_counter()
        engine_ms = 1000 * (self._free_at - started)
        for p, answer in zip(batch, answers):
            ready = max(p.arrived, previous_free)  # the engine was free for this request from here on
            timing = Timing(queue_ms=1000 * max(0.0, min(previous_free, started) - p.arrived),
                            batch_wait_ms=1000 * max(0.0, started - ready), engine_ms=engine_ms,
                            batch_size=len(batch))
            if not p.future.done():
                p.future.set_result((answer, timing))
