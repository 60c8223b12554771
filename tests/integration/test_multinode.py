"""The loop on a head and two worker nodes of this machine (`ray.cluster_utils.Cluster`), one worker node
removed whole in the middle of the judge stage: every actor and train worker ran on worker nodes, over both, and
every row is there exactly once. The cluster lives in a process of its own (multinode_run.py), since this test
process is connected to the session's cluster; it stops only the processes that its nodes started."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import psutil
import pytest

from tests.helpers import REPO

pytestmark = pytest.mark.slow


def _processes_naming(fragment: str) -> list[int]:
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        try:
            if any(fragment in part for part in proc.info["cmdline"] or []):
                found.append(proc.info["pid"])
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def test_worker_node_removed_mid_judge_stage_loses_no_row_and_work_spans_both_workers(tmp_path):
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "DS_ACCELERATOR": "cpu", "PYTHONUNBUFFERED": "1"}
    env.pop("RAY_ADDRESS", None)
    proc = subprocess.run([sys.executable, str(REPO / "tests" / "integration" / "multinode_run.py"), str(tmp_path)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert proc.returncode == 0 and lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(lines[-1])
    print(json.dumps(report))
    events, actors = report["events"], report["actors"]
    assert report["outcome"] == {"done": True}, report
    assert events["removed"] in ("worker-1", "worker-2") and not events["judge_done_before"], events
    assert events["parts_before"] >= 1 and events["removed"] in events["engines_before"]

    engines, trainers = actors["MapWorker(MapBatches(EngineStage))"], actors["RayTrainWorker"]
    assert "head" not in engines + trainers, actors  # the head offers no CPU: nothing of ours ran there
    # the pool spread over both workers when the node went (the actor table forgets a removed node's actors)
    assert sorted(events["engines_before"]) == ["worker-1", "worker-2"], events
    survivor = ({"worker-1", "worker-2"} - {events["removed"]}).pop()
    assert sorted(trainers) == sorted([survivor, "worker-3"]), actors  # training after the loss: the live nodes
    assert sorted(report["nodes"]) == sorted(["head", survivor, "worker-3"])

    run = tmp_path / "multinode"
    requests = pd.read_parquet(run / "iter_1" / "requests")
    judged = pd.read_parquet(run / "iter_1" / "judgments")
    assert judged["request_id"].is_unique and len(judged) == len(requests) > 0
    assert set(judged["request_id"]) == set(requests["request_id"])
    assert (run / "summary.md").exists() and (run / "iter_1" / "model" / "config.json").exists()
    assert not _processes_naming(report["temp_dir"]), "the test cluster left processes behind"
    print(f"multinode: removed {events['removed']} with {events['parts_before']} judged part(s) written; "
          f"{len(judged)} judgments for {len(requests)} requests, each once; "
          f"engines on {events['engines_before']} before the loss, {engines} after, "
          f"train workers on {trainers}; {report['wall_s']} s")
