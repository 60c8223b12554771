"""The run directory: each stage's output written under a temporary name and renamed when complete, so a
rerun tells finished stages from interrupted ones and resumes; a finished run is never overwritten silently."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from judge_ray import storage
from judge_ray.errors import UserError

FINISHED_MARKER = "summary.md"
RUN_ROOT_ENV = "JUDGE_RAY_RUN_ROOT"  # where relative run roots go on a cluster (set in the job's runtime_env)


def in_ray_working_dir(cwd: str) -> bool:
    """Whether `cwd` is Ray's temporary copy of a submitted job's working dir
    (`<ray temp>/session_…/runtime_resources/working_dir_files/_ray_pkg_<hash>/…`), which changes with every
    code change: nothing a user should look for or resume from lives there."""
    parts = Path(cwd).parts
    return "runtime_resources" in parts and "working_dir_files" in parts


def join(base: str, name: str) -> str:
    return f"{base.rstrip('/')}/{name}" if "://" in base else os.path.join(base, name)


def run_root(root: str, cwd: str | None = None, env: dict | None = None) -> str:
    """Where `run.root` points: an absolute path as given; a relative one under `$JUDGE_RAY_RUN_ROOT` when set,
    else under the current directory, except inside Ray's copy of a submitted working dir, where it is refused
    (a resubmission after an edit would not find its run to resume)."""
    env = os.environ if env is None else env
    cwd = cwd or os.getcwd()
    base = env.get(RUN_ROOT_ENV, "").strip()
    where = root if os.path.isabs(root) or "://" in root or not base else join(base, root)
    if "://" in where:
        storage.location(where)  # an unsupported scheme is one line here
        return where.rstrip("/")
    if os.path.isabs(where):
        return where
    if in_ray_working_dir(cwd):
        raise UserError(f"run.root={root} is relative and this job runs in Ray's temporary copy of its working dir "
                        f"({cwd}), which changes with every code change: pass an absolute run.root (shared storage), "
                        f"or set {RUN_ROOT_ENV} in the job's runtime_env env_vars")
    return root


class RunDir:
    """A run's directory, local or on an object store (`storage.location`)."""

    def __init__(self, path: str | Path):
        self.path = storage.location(path)

    def prepare(self, config_yaml: str, overwrite: bool) -> bool:
        """Create or reopen the run directory; returns True when resuming an interrupted run. A remote root
        that cannot be written is one line here, before anything is started or written."""
        storage.check_writable(str(self.path).rsplit("/", 1)[0] if storage.is_remote(self.path) else self.path.parent)
        if (self.path / FINISHED_MARKER).exists():
            if not overwrite:
                raise UserError(f"run directory {self.path} already holds a finished run: "
                                "choose another run.name or pass run.overwrite=true")
            storage.rmtree(self.path)
        saved = self.path / "config.yaml"
        if saved.exists():
            if saved.read_text() != config_yaml and not overwrite:
                raise UserError(f"run directory {self.path} holds an interrupted run with a different config: "
                                "rerun with the same config to resume, or pass run.overwrite=true")
            if saved.read_text() == config_yaml:
                return True
            storage.rmtree(self.path)
        storage.makedirs(self.path)
        write_text(saved, config_yaml)
        return False

    def iter_dir(self, i: int) -> Path:
        return self.path / (f"iter_{i}" if i > 0 else "baseline")


def is_self_taught_run(path: Path) -> bool:
    """A self-taught run directory (as opposed to a model directory): its config and an iteration."""
    return (path / "config.yaml").is_file() and (path / "iter_1").is_dir()


def trained_iterations(run_dir: Path) -> list[tuple[int, Path]]:
    """(i, iter_i/model) for every exported M_i of a self-taught run, in order."""
    found, i = [], 1
    while (run_dir / f"iter_{i}" / "model" / "config.json").is_file():
        found.append((i, run_dir / f"iter_{i}" / "model"))
        i += 1
    return found


def write_text(path: Path, text: str) -> None:
    storage.write_text(path, text)


def write_json(path: Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=float) + "\n")


def read_parquet(path: Path) -> list[dict]:
    return pd.read_parquet(path).to_dict("records")


def read_json(path: Path) -> Any:
    return json.loads(storage.location(path).read_text())
