"""Reliability shown by killing things: a Ray Train worker SIGKILLed mid-training (the group restarts from the
last checkpoint, every step counted once). The job's driver killed mid-stage (`ray job stop`) is in
test_jobs_api.py; engine actors lost mid-stage, with the whole node they ran on, in test_multinode.py (it
replaced a test that SIGKILLed one actor on the session's cluster: the node's loss takes the actor with it)."""
from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from judge_ray.config import TrainConfig

pytestmark = pytest.mark.slow


def _alive_actor_pids(class_fragment: str) -> list[int]:
    """Actor processes by their title (`ray::<Class>...`): the state API needs the dashboard, which the
    test cluster does not start."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            title = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if title.startswith("ray::") and class_fragment in title.split(" ")[0] + title:
            pids.append(int(proc.name))
    return sorted(pids)


def _wait(predicate, timeout: float, what: str, every: float = 0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def test_train_worker_killed_mid_training_resumes_from_its_checkpoint(ray_cluster, tiny_model, tmp_path):
    from judge_ray.training.zero3 import train_sft

    rows = [{"prompt": f"Which is right, {i} or {i + 1}? " * 3, "response": f"{i} is right. [[A]]"}
            for i in range(48)]
    cfg = TrainConfig(workers=2, epochs=3, lr=1e-3, batch_size_per_worker=2, max_length=128, max_failures=2,
                      keep_checkpoints=True)
    storage, result = tmp_path / "checkpoints", {}

    def train():
        result["metrics"] = train_sft(rows, model=tiny_model, cfg=cfg, export_dir=tmp_path / "model",
                                      storage_dir=storage, seed=0, run_name="kill")

    thread = threading.Thread(target=train)
    thread.start()
    # Ray Train's controller writes this snapshot once it has registered a reported checkpoint.
    _wait(lambda: (storage / "kill" / "checkpoint_manager_snapshot.json").is_file(), 300,
          "a first registered epoch checkpoint", every=0.05)
    pids = _alive_actor_pids("RayTrainWorker")
    assert pids, "no train worker to kill"
    os.kill(pids[-1], signal.SIGKILL)
    thread.join(timeout=600)
    assert not thread.is_alive() and "metrics" in result
    record = json.loads((tmp_path / "model" / "judge_ray_training.json").read_text())
    steps_per_epoch = 48 // (2 * 2)
    assert record["steps"] == 3 * steps_per_epoch  # every step of every epoch, none repeated in the count
    assert record["resumed_from_step"] in (steps_per_epoch, 2 * steps_per_epoch), record
    assert result["metrics"]["resumed_from_step"] == record["resumed_from_step"]
