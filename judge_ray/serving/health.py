"""A replica's engine health, apart from Serve: an engine error fails only the requests of its batch (each
gets a 503 it may retry), and a run of failures marks the engine dead so Serve's `check_health` replaces the
replica instead of letting it fail every later batch."""
from __future__ import annotations

from typing import Callable


class EngineHealth:
    def __init__(self, unhealthy_after: int):
        self.unhealthy_after = unhealthy_after
        self.failures = 0  # consecutive failed batches; a batch that succeeds resets it
        self.last_error = ""

    @property
    def healthy(self) -> bool:
        return self.failures < self.unhealthy_after

    def run(self, work: Callable[[list[dict]], list[dict]], requests: list[dict]) -> list[dict]:
        """`work(requests)`, or one `{"engine_error": ...}` per request when the engine raises."""
        try:
            answers = work(requests)
        except Exception as exc:  # any engine failure: this batch fails, the replica goes on serving
            self.failures += 1
            self.last_error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]
            return [{"engine_error": self.last_error} for _ in requests]
        self.failures = 0
        return answers

    def check(self) -> None:
        """Raise when the engine looks dead (Serve's health check then restarts the replica)."""
        if not self.healthy:
            raise RuntimeError(f"engine failed {self.failures} batches in a row; last: {self.last_error}")
