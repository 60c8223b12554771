"""Shared fixtures: one local Ray cluster per test session (one Ray instance at a time on this machine),
and the tiny model built once into a session cache."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _has_cuda() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except ImportError:
        return False


if not _has_cuda():
    os.environ.setdefault("DS_ACCELERATOR", "cpu")  # quiets DeepSpeed's accelerator detection on CPU
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Object storage in tests is the local S3 server of `s3_server` (tests/s3_server.py): the standard variables are
# set before any Ray process starts, so every worker inherits them; no test reaches a real cloud (a developer's
# own AWS variables are replaced for the session).
from tests.s3_server import free_port, test_env  # noqa: E402

os.environ.update(test_env(free_port()))


def pytest_collection_modifyitems(config, items):
    if _has_cuda():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def tiny_model() -> str:
    from judge_ray.models import resolve_model

    return resolve_model("tiny")


@pytest.fixture(scope="session")
def s3_server():
    """The local S3 server (moto), started once when a test first asks for it."""
    from tests.s3_server import S3Server

    server = S3Server(os.environ["AWS_ENDPOINT_URL"]).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def ray_cluster():
    """Started once; stages and Ray Train in every integration test share it."""
    import ray

    from judge_ray.distributed.cluster import connect

    connect(num_cpus=4)
    yield
    ray.shutdown()


class TinyRun:
    """The loop run every run-directory test reads: its config, overrides, directory and log lines."""

    def __init__(self, overrides: list[str], cfg, path: Path, logs: list[str]):
        self.overrides, self.cfg, self.path, self.logs = overrides, cfg, path, logs


def labelled_gold(folder: Path) -> str:
    """Three labelled pairs, one a tie (set aside by a pairwise judge)."""
    import json

    path = folder / "gold.jsonl"
    rows = [{"question": "2+2?", "answer_a": "4", "answer_b": "5", "label": "A"},
            {"question": "Capital of France?", "answer_a": "Lyon", "answer_b": "Paris", "label": "B"},
            {"question": "Same?", "answer_a": "x", "answer_b": "x", "label": "tie"}]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    return str(path)


@pytest.fixture(scope="session")
def tiny_run(ray_cluster, tiny_model, tmp_path_factory) -> TinyRun:
    """One loop run per test session on the tiny model: two iterations, the seed evaluated as a baseline, the
    bundled labelled set and a small one with a tie, on the transformers engine. Tests read it; a test that
    changes a run works on a copy."""
    from judge_ray.config import load_config
    from judge_ray.pipeline import run_self_taught
    from tests.helpers import TINY_LOOP, project_lines

    root = tmp_path_factory.mktemp("loop")
    overrides = TINY_LOOP + ["iterations=2", "engine=transformers", f"run.root={root}", "run.name=r",
                             f"data.labelled_eval=[bundled,{labelled_gold(root)}]"]
    cfg = load_config(None, overrides)
    with project_lines() as logs:
        path = run_self_taught(cfg)
    return TinyRun(overrides, cfg, path, logs)
