"""Progress of a long stage: rows done / total, rows per second and an ETA. On a terminal one line redrawn in
place; in logs (`ray job logs` has no terminal) a plain line every `every_s` seconds, so a stage that runs for
hours still says where it is."""
from __future__ import annotations

import logging
import sys
import threading
import time
from typing import Callable, Optional, TextIO

logger = logging.getLogger(__name__)


def eta_text(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class StageProgress:
    def __init__(self, name: str, total: int, every_s: float = 30.0, stream: Optional[TextIO] = None,
                 clock: Callable[[], float] = time.monotonic, log: Optional[logging.Logger] = None):
        self.name, self.total, self.every_s, self.clock = name, total, every_s, clock
        self.log = log or logger
        self.stream = stream if stream is not None else sys.stderr
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self.done, self.started = 0, clock()
        self.last_line = self.started

    def line(self) -> str:
        elapsed = max(1e-9, self.clock() - self.started)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate > 0 else float("inf")
        pct = 100.0 * self.done / self.total if self.total else 100.0
        eta = eta_text(left) if left != float("inf") else "?"
        return f"  [{self.name}] {self.done}/{self.total} rows ({pct:.0f}%), {rate:.1f} rows/s, ETA {eta}"

    def update(self, rows: int) -> None:
        self.done += rows
        now = self.clock()
        if self.live:
            self.stream.write("\r" + self.line())
            self.stream.flush()
        elif now - self.last_line >= self.every_s and self.done < self.total:
            self.last_line = now
            self.log.info(self.line())

    def finish(self) -> None:
        if self.live:
            self.stream.write("\r" + " " * 100 + "\r")
            self.stream.flush()


class Poller:
    """A context manager that calls `poll()` every `every_s` seconds on a daemon thread while its block runs, and
    once more at its end: how the driver follows work it does not hold (files that workers write)."""

    def __init__(self, every_s: float):
        self.every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def poll(self) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.poll()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.poll()
