"""Which model directory the endpoint serves: a preset, a directory, a hub id, or a self-taught run directory
(its best iteration by agreement on its largest evaluation set — the bundled labelled set's 60
pairs say more than a held-out split of a few; ties go to the later iteration)."""
from __future__ import annotations

import json
from pathlib import Path

from judge_ray.errors import InputError
from judge_ray.models import resolve_model
from judge_ray.storage import absolute, location
from judge_ray.rundir import is_self_taught_run, trained_iterations


def _size(m: dict) -> int:
    return int(m.get("scored") or m.get("pairs") or 0)


def selection_score(metrics: dict, select_on: str | None = None) -> float:
    """Agreement (both orders combined, the harness's metric; majority-vote accuracy in runs written before it)
    on the run's `eval.select_on` set, else on the evaluation set with the most pairs (held-out when none says
    its size)."""
    sets = [m for m in metrics.values() if isinstance(m, dict)]
    sized = [m for m in sets if _size(m)]
    if select_on:
        m = metrics.get(select_on) or {}
    else:
        m = max(sized, key=_size) if sized else (metrics.get("heldout") or {})
    return float(m.get("agreement", m.get("majority_vote_accuracy", m.get("accuracy", -1.0))))


def _select_on(run_dir: Path) -> str | None:
    """The run's eval.select_on (None in runs written before it, or when its config does not say)."""
    import yaml

    config = run_dir / "config.yaml"
    if not config.is_file():
        return None
    return ((yaml.safe_load(config.read_text()) or {}).get("eval") or {}).get("select_on")


def best_iteration(run_dir: Path) -> tuple[int, Path]:
    """(iteration, model directory) of the best M_i in a self-taught run; M_i's metrics are in iter_i."""
    best: tuple[float, int, Path] | None = None
    select_on = _select_on(run_dir)
    for i, model in trained_iterations(run_dir):
        score = -1.0
        metrics = run_dir / f"iter_{i}" / "metrics.json"
        if metrics.is_file():
            score = selection_score(json.loads(metrics.read_text()), select_on)
        if best is None or score >= best[0]:
            best = (score, i, model)
    if best is None:
        raise InputError(f"{run_dir}: a self-taught run directory with no trained iteration model")
    return best[1], best[2]


def served_source(model: str) -> tuple[str, str]:
    """(the model to load as named: a preset, a local path, a hub id or an `s3://`/`gs://` URI; a name for
    /v1/models). A self-taught run directory names its best iteration's model. Nothing is fetched: a replica
    resolves it on its own node."""
    path = location(model)
    if path.is_dir() and is_self_taught_run(path):
        i, directory = best_iteration(path)
        return str(absolute(directory)), f"{path.name}/M_{i}"
    return model, path.name if path.is_dir() else model


def served_model(model: str) -> tuple[str, str]:
    """(a path or id to load on this node, a name for /v1/models): `served_source`, fetched into this node's
    cache when on an object store."""
    source, name = served_source(model)
    return resolve_model(source), name
