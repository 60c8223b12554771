"""Reliability shown by killing things, then asserting on ids that every row is there exactly once:
an engine actor SIGKILLed mid-stage, and a Ray Train worker SIGKILLed mid-training (the group restarts from the
last checkpoint). The job's driver killed mid-stage (`ray job stop`) is in test_jobs_api.py."""
from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from judge_ray.config import TrainConfig
from judge_ray.distributed.dataflow import done_rows
from judge_ray.engines.base import EngineOptions
from judge_ray.distributed.loop_data import EnginePool, judge_pairs
from tests.helpers import parquet_mtimes

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


def _pairs_folder(root: Path, n: int) -> Path:
    folder = root / "pairs"
    folder.mkdir(parents=True)
    pd.DataFrame([{"pair_id": f"p{i:04d}", "instruction": f"Add {i} and {i}.", "response_w": str(2 * i),
                   "response_l": f"{i} plus {i} is {2 * i + 1}", "winner": "AB"[i % 2], "split": "train"}
                  for i in range(n)]).to_parquet(folder / "part-0.parquet")
    return folder


def test_engine_actor_killed_mid_stage_loses_no_row(ray_cluster, tiny_model, tmp_path):
    pairs = _pairs_folder(tmp_path, 40)
    pool = EnginePool(engine="transformers", engine_options=EngineOptions(dtype="float32", max_model_len=1024),
                      batch_size=8, actor_cpus=1, block_rows=16)
    out, result = tmp_path / "judgments", {}

    def stage():
        result["rows"] = judge_pairs(pairs, tmp_path / "requests", out, pool, tiny_model, samples=4, seed=0,
                                     stage="kill", max_tokens=24, temperature=0.8, top_p=0.95)

    thread = threading.Thread(target=stage)
    thread.start()
    _wait(lambda: len(parquet_mtimes(out)) >= 1, 180, "a first judged block")
    pids = _alive_actor_pids("EngineStage")
    assert pids, "no engine actor to kill"
    assert done_rows(out) is None, "the stage finished before the kill: make it longer"
    os.kill(pids[0], signal.SIGKILL)
    thread.join(timeout=300)
    assert not thread.is_alive()
    judged = pd.read_parquet(out)
    assert result["rows"] == len(judged) == 160
    assert judged["request_id"].is_unique
    assert sorted(judged["request_id"]) == sorted(f"p{i:04d}|AB|{k}" for i in range(40) for k in range(4))


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
