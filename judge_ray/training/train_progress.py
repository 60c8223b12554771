"""The train workers' progress, shown by the driver: rank 0 appends its lines to a file beside the checkpoints
(`ProgressFile`), the driver logs each new line while the fit runs (`TailProgress`). Storage every node sees is
already required for the checkpoints, so the file travels the way they do."""
from __future__ import annotations

import logging
from pathlib import Path

from judge_ray.progress import Poller

logger = logging.getLogger(__name__)


class ProgressFile:
    """Rank 0's progress lines, appended to a file beside the checkpoints: the driver shows each once
    (`TailProgress`), where a worker's stdout would reach it through Ray's log forwarding, prefixed, once per
    stream that carries it, and interleaved with the worker's other output."""

    def __init__(self, path: str | None):
        self.path = path

    def __call__(self, line: str) -> None:
        if self.path:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line.replace("\n", " ") + "\n")


class TailProgress(Poller):
    """While a fit runs, logs the lines rank 0 appends to `path` (those written by an earlier run are skipped)."""

    def __init__(self, path: Path, every_s: float = 1.0):
        super().__init__(every_s)
        self.path = path
        self.offset = path.stat().st_size if path.is_file() else 0

    def poll(self) -> None:
        if not self.path.is_file():
            return
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            while True:
                line = f.readline()
                if not line.endswith(b"\n"):  # a line still being written: read it whole next time
                    break
                self.offset += len(line)
                logger.info(line.decode("utf-8", errors="replace").rstrip("\n"))
