"""Helpers several test modules share (fixtures live in conftest.py, the fake engine in fakes.py)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"

# The loop on the tiny model, one iteration, sized for CI (integration tests add their own keys).
TINY_LOOP = ["model=tiny", "iterations=1", "selection.per_category=2", "selection.categories=[coding,math,writing]",
             "selection.max_candidates=24", "generation.max_tokens=16", "generation.modify_max_tokens=12",
             "generation.eval_fraction=0.34", "judge.samples=3", "judge.max_tokens=12", "eval.samples=2",
             "eval.max_tokens=8", "train.max_length=384", "train.lr=1e-3", "ray.batch_size=8",
             "ray.actor_cpus=1"]


def run_job(name: str, *args: str, cwd: Path = REPO, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python jobs/<name> args...` as a user runs it."""
    return subprocess.run([sys.executable, str(REPO / "jobs" / name), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def assert_one_line_error(proc: subprocess.CompletedProcess, *words: str) -> None:
    """A user mistake: non-zero exit, one `error:` line on stderr naming `words`, no traceback."""
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])
