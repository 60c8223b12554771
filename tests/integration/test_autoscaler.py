"""The loop on a cluster that grows from zero: Ray's autoscaler over its fake multi-node provider (the one Ray
tests its own autoscaler with) on a head of its own ports and temp dir. The head offers no CPU, so every engine
actor, Ray Data task and train worker needs a node of the one worker type (2 CPUs, min 0, max 2). The job asks
for what its phase needs and waits (ray.startup_timeout_s) while the autoscaler starts nodes; it finishes, and
the cluster goes back to zero workers after the idle timeout. The test stops only its cluster's processes."""
from __future__ import annotations

import subprocess
import sys
import threading
import time

import pandas as pd
import pytest

from tests.helpers import REPO
from tests.own_cluster import OwnCluster

pytestmark = pytest.mark.slow
LOOP = ["model=tiny", "engine=transformers", "iterations=1", "selection.per_category=8",
        "selection.max_candidates=8", "generation.max_tokens=8", "generation.modify_max_tokens=8",
        "generation.eval_fraction=0.1", "judge.samples=2", "judge.max_tokens=8", "eval.baseline=false",
        "eval.max_tokens=4", "data.labelled_eval=[]", "train.max_length=256", "ray.batch_size=8",
        "ray.actor_cpus=1", "ray.pool_size=1", "train.workers=1", "train.cpus_per_worker=1",
        "ray.startup_timeout_s=240", "ray.block_rows=8"]  # the judge stage (14 rows) runs on the pool
WORKER_TYPE = {"cpu2": {"resources": {"CPU": 2, "object_store_memory": 300 * 1024 ** 2}, "min_workers": 0,
                        "max_workers": 2}}


def _changes(samples: list[tuple[float, int]]) -> list[tuple[float, int]]:
    """(seconds, worker nodes) each time the count changed: the node counts over time."""
    out: list[tuple[float, int]] = []
    for t, n in samples:
        if not out or out[-1][1] != n:
            out.append((round(t, 1), n))
    return out


def test_loop_scales_a_worker_type_up_from_zero_finishes_and_the_cluster_scales_back_to_zero(tmp_path):
    with OwnCluster(num_cpus=0, worker_types=WORKER_TYPE, idle_timeout_minutes=0.2) as cluster:
        samples: list[tuple[float, int]] = []
        started, stop = time.time(), threading.Event()

        def watch() -> None:
            while not stop.is_set():
                try:
                    samples.append((time.time() - started, cluster.worker_nodes()))
                except Exception:  # the state API between two answers: the next sample counts
                    pass
                stop.wait(1.0)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        env = {**cluster.env, "DS_ACCELERATOR": "cpu", "PYTHONUNBUFFERED": "1"}
        job = subprocess.run([sys.executable, str(REPO / "jobs" / "self_taught.py"), *LOOP, f"run.root={tmp_path}",
                              "run.name=autoscaled", f"ray.address={cluster.address}"],
                             cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
        job_s = time.time() - started
        assert job.returncode == 0, job.stdout[-3000:] + job.stderr[-3000:]
        deadline = time.time() + 120
        while time.time() < deadline and (not samples or samples[-1][1] or samples[-1][0] < job_s):
            time.sleep(1)
        stop.set()
        watcher.join(timeout=10)
        placed = cluster.actor_nodes()
        leftover = cluster.processes()

    counts = _changes(samples)
    engines, trainers = placed.get("MapWorker(MapBatches(EngineStage))", []), placed.get("RayTrainWorker", [])
    print(f"autoscaler: worker nodes over time (s, nodes): {counts}; job {job_s:.0f} s; "
          f"engine actors on {engines}, train workers on {trainers}")
    assert counts[0][1] == 0, counts  # from zero
    assert max(n for _, n in counts) == 2, counts  # the engine phase (1 + 1 + 1 CPU) asks for both nodes
    assert counts[-1][1] == 0 and counts[-1][0] > job_s, counts  # and back to zero once idle
    assert "[cluster] engine stages: waiting up to 240s" in job.stderr + job.stdout
    # the engine actors and the train worker ran on nodes the autoscaler started (the head offers no CPU)
    assert engines and trainers and "head" not in engines + trainers, placed
    run = tmp_path / "autoscaled"
    judged, requests = pd.read_parquet(run / "iter_1" / "judgments"), pd.read_parquet(run / "iter_1" / "requests")
    assert judged["request_id"].is_unique and set(judged["request_id"]) == set(requests["request_id"])
    assert (run / "summary.md").exists() and (run / "iter_1" / "model" / "config.json").exists()
    assert leftover, "the cluster's own processes were not found (stop would leave them)"
    assert not cluster.processes(), "the test cluster left processes behind"
