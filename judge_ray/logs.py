"""The project's logging: one logger per module under `judge_ray`, configured once per job (`configure`).

By default a person sees the project's progress lines and results, each once, as plain lines on stdout;
warnings and errors say so. `--verbose` (or `log.level=debug`) shows the debug lines, and every Ray worker's
output as Ray prints it; `log.level=warning` leaves only warnings and errors.

On Ray's workers (`configure_worker`, called first by the engine actors, the train workers and the Serve
replicas) the project's loggers write their warnings and errors, marked, to stderr; the driver
(`forward_worker_lines`, in place of Ray's own printer of forwarded worker output) shows those lines once each
and drops the rest: Ray's scheduling notices, its own actors' start-up lines and harmless tracebacks,
DeepSpeed's and torch's banners. Everything stays in Ray's session logs (`/tmp/ray/session_latest/logs/`). The
train workers' progress reaches the driver through a file (`training.train_progress`), not their stdout.
"""
from __future__ import annotations

import contextlib
import logging
import sys
from typing import Iterator

PROJECT = "judge_ray"
WORKER_MARK = "[judge_ray:"  # a forwarded worker line of the project's own loggers: "[judge_ray:WARNING] text"
# Loggers whose INFO lines (and Ray Data's WARNINGs about its own scheduling) are noise to a reader of a job's
# output; their errors still show.
THIRD_PARTIES = {"ray": logging.WARNING, "ray.data": logging.ERROR, "ray.train": logging.WARNING,
                 "ray.serve": logging.WARNING, "deepspeed": logging.WARNING, "DeepSpeed": logging.WARNING,
                 "transformers": logging.ERROR, "vllm": logging.WARNING, "filelock": logging.WARNING}


class _Stdout(logging.StreamHandler):
    """Writes to whatever `sys.stdout` is when a line is emitted (a test's capture, a redirected job log)."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property
    def stream(self):  # type: ignore[override]
        return sys.stdout

    @stream.setter
    def stream(self, _value) -> None:
        pass


class _Plain(logging.Formatter):
    """The message alone at INFO (the progress lines read as before); the level named otherwise."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if record.levelno == logging.INFO:
            return text
        return f"{record.levelname.lower()}: {text}"


_verbose = False


LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def configure(verbose: bool = False, level: str = "info") -> None:
    """Once per job: the project's lines on stdout at `level` (`log.level`; DEBUG when `verbose`, which wins),
    third parties quieted. At debug the workers' output is shown as Ray prints it."""
    global _verbose
    if verbose:
        level = "debug"
    if level not in LEVELS:
        raise ValueError(f"log level {level!r}: one of {', '.join(LEVELS)}")
    _verbose = level == "debug"
    project = logging.getLogger(PROJECT)
    for handler in [h for h in project.handlers if isinstance(h, _Stdout)]:
        project.removeHandler(handler)
    handler = _Stdout()
    handler.setFormatter(_Plain("%(message)s"))
    project.addHandler(handler)
    project.setLevel(LEVELS[level])
    project.propagate = False  # the root logger (and whatever a library put on it) does not print them again
    quiet_third_parties()


def verbose() -> bool:
    return _verbose


def quiet_third_parties() -> None:
    for name, level in THIRD_PARTIES.items():
        logging.getLogger(name).setLevel(level)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Loading weights" bars, one per model load
    except ImportError:
        pass


def configure_worker() -> None:
    """In a Ray worker process: the project's warnings and errors to stderr, marked so the driver knows them
    (`forward_worker_lines`); its INFO lines stay on the worker. Idempotent."""
    project = logging.getLogger(PROJECT)
    if not any(getattr(h, "_judge_ray_worker", False) for h in project.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler._judge_ray_worker = True  # type: ignore[attr-defined]
        handler.setFormatter(logging.Formatter(f"{WORKER_MARK}%(levelname)s] %(message)s"))
        handler.setLevel(logging.WARNING)
        project.addHandler(handler)
    project.setLevel(logging.INFO)
    project.propagate = False
    quiet_third_parties()


class _WorkerLines:
    """Ray's forwarded worker output, reduced to the project's marked lines (each shown once) and the raylet's
    memory warnings (why a worker was killed); a handler of Ray's stdstream dispatcher."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.log = logging.getLogger(f"{PROJECT}.workers")

    def __call__(self, data: dict) -> None:
        for line in data.get("lines", []):
            if WORKER_MARK in line:
                level, _, text = line.split(WORKER_MARK, 1)[1].partition("] ")
                self._once(logging.getLevelName(level) if level in ("WARNING", "ERROR", "CRITICAL")
                           else logging.WARNING, text)
            elif data.get("pid") == "raylet" and "memory" in line.lower():
                self._once(logging.WARNING, f"(raylet) {line.strip()}")

    def _once(self, level: int, text: str) -> None:
        if text not in self.seen:
            self.seen.add(text)
            self.log.log(level, text)


def forward_worker_lines() -> bool:
    """In place of Ray's printer of forwarded worker output (see the module doc), unless `--verbose`; returns
    whether it took its place (Ray's dispatcher is internal to Ray: where it has moved, Ray's printer stays)."""
    if _verbose:
        return False
    try:
        from ray._private.worker import global_worker_stdstream_dispatcher as dispatcher
    except ImportError:
        return False
    if not hasattr(dispatcher, "remove_handler"):
        return False
    dispatcher.remove_handler("ray_print_logs")
    dispatcher.remove_handler("judge_ray_worker_lines")
    dispatcher.add_handler("judge_ray_worker_lines", _WorkerLines())
    _filter_ray_notices()
    return True


# Notices Ray publishes to the driver that say nothing a user can act on in this project: a burst of worker
# processes at a stage's start (Ray Data's tasks beside a pool of actors, on a node with few cores).
HARMLESS_NOTICES = ("PYTHON worker processes have been started on node",)


def _filter_ray_notices() -> None:
    """Ray prints the errors and warnings it publishes to the driver (a dead worker, memory pressure) through
    `print_to_stdstream`; the known-harmless ones above are dropped there, every other one still shows."""
    import ray._private.worker as ray_worker

    original = getattr(ray_worker.print_to_stdstream, "judge_ray_original", ray_worker.print_to_stdstream)

    def print_to_stdstream(data, ignore_prefix: bool):
        lines = [line for line in data.get("lines", []) if not any(n in line for n in HARMLESS_NOTICES)]
        if lines:
            original({**data, "lines": lines}, ignore_prefix=ignore_prefix)

    print_to_stdstream.judge_ray_original = original  # type: ignore[attr-defined]
    ray_worker.print_to_stdstream = print_to_stdstream


@contextlib.contextmanager
def quiet(*names: str, level: int = logging.WARNING) -> Iterator[None]:
    """The INFO lines of these project loggers held back for a while (an inner evaluation whose own progress
    lines would bury the caller's)."""
    loggers = [logging.getLogger(n) for n in names]
    before = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(level)
    try:
        yield
    finally:
        for lg, old in zip(loggers, before):
            lg.setLevel(old)
