"""Helpers several test modules share (fixtures live in conftest.py, the fake engine in fakes.py)."""
from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"

# The loop on the tiny model, one iteration, sized for CI (integration tests add their own keys).
# Every judge and train key the tests' claims depend on is pinned here, so a change of conf/self_taught.yaml's
# defaults (sized for the default run) does not change what the tests run.
TINY_LOOP = ["model=tiny", "iterations=1", "selection.per_category=2", "selection.categories=[coding,math,writing]",
             "selection.max_candidates=24", "generation.max_tokens=16", "generation.modify_max_tokens=12",
             "generation.eval_fraction=0.34", "judge.samples=3", "judge.max_tokens=12", "judge.temperature=1.5",
             "judge.swap_augment=true", "eval.samples=2", "eval.max_tokens=8", "train.max_length=384",
             "train.lr=1e-3", "train.lr_schedule=cosine", "train.pair_orders=true", "train.batch_size_per_worker=1",
             "ray.batch_size=8", "ray.actor_cpus=1"]


@contextlib.contextmanager
def project_lines(level: int = logging.INFO) -> Iterator[list[str]]:
    """The project's log lines (every `judge_ray.*` logger) emitted inside the block, as their messages."""
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    project, handler = logging.getLogger("judge_ray"), Collect(level)
    before = project.level
    project.addHandler(handler)
    project.setLevel(min(level, before or level))
    try:
        yield lines
    finally:
        project.removeHandler(handler)
        project.setLevel(before)


def run_job(name: str, *args: str, cwd: Path = REPO, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python jobs/<name> args...` as a user runs it."""
    return subprocess.run([sys.executable, str(REPO / "jobs" / name), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def job_here(capsys, name: str, *args: str) -> subprocess.CompletedProcess:
    """`python jobs/<name> args...` in this process, as its `__main__` runs it (`main_guard(main)`, SystemExit
    for --help): the jobs' argument, config and input errors cost no interpreter start. The job must stop before
    it starts Ray (every user mistake is found before then); a test that needs a real process uses `run_job`."""
    import runpy

    def ray_up() -> bool:
        return "ray" in sys.modules and sys.modules["ray"].is_initialized()

    before = ray_up()
    module = runpy.run_path(str(REPO / "jobs" / name), run_name="job_under_test")
    argv, sys.argv = sys.argv, [str(REPO / "jobs" / name), *args]
    try:
        code = module["main_guard"](module["main"])
    except SystemExit as exc:
        code = exc.code or 0
    finally:
        sys.argv = argv
    out, err = capsys.readouterr()
    assert before or not ray_up(), f"jobs/{name} {' '.join(args)} started Ray in the test process"
    return subprocess.CompletedProcess([name, *args], code, out, err)


def assert_one_line_error(proc: subprocess.CompletedProcess, *words: str) -> None:
    """A user mistake: non-zero exit, one `error:` line on stderr naming `words`, no traceback."""
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])


def parquet_mtimes(folder) -> dict[str, float]:
    """A stage folder's Parquet parts by name (local or on object storage), with their modification times:
    which blocks a rerun kept."""
    from judge_ray.distributed.dataflow import parquet_files

    return {f.name: f.stat().st_mtime for f in parquet_files(folder)}
