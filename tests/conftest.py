"""Shared fixtures: one local Ray cluster per test session (one Ray instance at a time on this machine),
and the tiny model built once into a session cache."""
from __future__ import annotations

import os
import shutil
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
def ray_cluster():
    """Started once; stages and Ray Train in every integration test share it."""
    import ray

    from judge_ray.distributed.cluster import connect

    connect(num_cpus=4)
    yield
    ray.shutdown()


@pytest.fixture()
def workdir(tmp_path: Path) -> Path:
    yield tmp_path
    shutil.rmtree(tmp_path, ignore_errors=True)
