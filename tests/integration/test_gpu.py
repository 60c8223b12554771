"""The same job on a CUDA GPU: vLLM engines on the GPU, ZeRO-3 over NCCL in bf16. Skipped without a GPU
(CI never has one); run on a GPU machine with `pytest -m gpu`."""
import json

import pytest

from judge_ray.config import load_config
from judge_ray.pipeline import run_self_taught
from tests.helpers import TINY_LOOP as TINY

pytestmark = [pytest.mark.gpu, pytest.mark.slow]


def test_one_iteration_on_gpu(ray_cluster, tiny_model, tmp_path):
    import torch

    workers = min(2, torch.cuda.device_count())
    cfg = load_config(None, TINY + ["engine=vllm", f"run.root={tmp_path}", "run.name=gpu", "ray.actor_gpus=1",
                                    "ray.actor_cpus=1", "train.use_gpu=true", "train.precision=bf16",
                                    f"train.workers={workers}", "vllm.dtype=bfloat16",
                                    "vllm.gpu_memory_utilization=0.3"])
    run = run_self_taught(cfg)
    record = json.loads((run / "iter_1" / "model" / "judge_ray_training.json").read_text())
    assert record["precision"] == "bf16" and record["steps"] >= 1
    assert json.loads((run / "iter_1" / "metrics.json").read_text())["heldout"]["scored"] > 0
