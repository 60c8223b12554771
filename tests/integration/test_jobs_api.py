"""The loop as its users run it: `ray job submit --working-dir .` through the Jobs API, on a cluster of its own
that offers 2 CPUs (as `ray start --head` does here), its logs read back through the API, its run directory on
object storage (`run.root=s3://…`, the local S3 server; credentials and endpoint in the job's runtime_env as the
standard AWS variables). A relative run.root inside Ray's working-dir copy is refused; `ray job stop` in the
middle of the judge stage, then a resubmission, computes only the missing rows and ends with every id exactly
once (the stopped job's driver is killed: a driver kill, through the API users stop jobs with). The evaluation
job then judges with the run's models read from the bucket, and the endpoint would serve its best one."""
from __future__ import annotations

import io
import json
import os
import shlex
import subprocess
import time
import zipfile

import pandas as pd
import pytest

from judge_ray.distributed.dataflow import done_rows
from tests.helpers import REPO, assert_one_line_error, job_here, parquet_mtimes
from tests.own_cluster import OwnCluster

pytestmark = pytest.mark.slow
EXCLUDES = ["runs/", ".cache/", "*.pyc"]  # beside .git/, .venv/ and what .gitignore names (Ray honours it)
LOOP = ["model=tiny", "engine=transformers", "iterations=1", "selection.per_category=16",
        "selection.max_candidates=16", "generation.max_tokens=12", "generation.modify_max_tokens=10",
        "generation.eval_fraction=0.1", "judge.samples=8", "judge.max_tokens=12", "eval.baseline=false",
        "eval.max_tokens=4", "data.labelled_eval=[]", "train.max_length=256", "ray.batch_size=8",
        "ray.actor_cpus=1", "ray.block_rows=16"]
# Sized to the claims: classify and pairs (at most 16 rows) run in the driver, the judge stage (8 samples per
# training pair, ~100 rows) on the engine pool in blocks of 16, where the stop lands.


def _upload_size() -> tuple[int, list[str]]:
    """What `--working-dir .` sends: the files git would keep (Ray skips .git and honours .gitignore), zipped."""
    names = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.split()
    names = [n for n in names if (REPO / n).is_file() and not n.endswith(".pyc")]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            archive.write(REPO / name, name)
    return len(buffer.getvalue()), names


def _wait_status(client, job_id: str, timeout: float):
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = client.get_job_status(job_id)
        if status.is_terminal():
            return status
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} still {client.get_job_status(job_id)} after {timeout:.0f}s")


def test_submitted_loop_on_a_2_cpu_cluster_and_s3_stopped_mid_stage_resumes_only_the_missing_rows(
        tiny_model, s3_server, capsys):
    from ray.job_submission import JobStatus, JobSubmissionClient

    from judge_ray.storage import CLOUD_ENV, location

    size, names = _upload_size()
    with capsys.disabled():
        print(f"\n[jobs api] working-dir upload: {len(names)} files, {size / 2**20:.2f} MiB zipped")
    assert size < 8 * 2**20 and not any(n.startswith((".venv/", "runs/", ".git/")) for n in names)
    runtime_env = {"working_dir": str(REPO), "excludes": EXCLUDES,
                   "env_vars": {"PYTHONUNBUFFERED": "1",
                                **{k: os.environ[k] for k in ("JUDGE_RAY_CACHE", "HF_HOME", *CLOUD_ENV)
                                   if k in os.environ}}}
    bucket = s3_server.bucket("jobs")
    root = location(f"{bucket}/runs")

    def entrypoint(*args: str, job: str = "self_taught.py") -> str:
        return f"python jobs/{job} " + " ".join(shlex.quote(a) for a in args)

    with OwnCluster(num_cpus=2) as cluster:
        client = JobSubmissionClient(cluster.dashboard)
        # a relative run.root would land in Ray's copy of the working dir, which changes with every edit
        refused = client.submit_job(entrypoint=entrypoint(*LOOP, "run.name=lost"), runtime_env=runtime_env)
        assert _wait_status(client, refused, 120) == JobStatus.FAILED
        error = [line for line in client.get_job_logs(refused).splitlines() if line.startswith("error:")]
        assert len(error) == 1 and "run.root=runs is relative" in error[0] and "JUDGE_RAY_RUN_ROOT" in error[0]

        args = (*LOOP, f"run.root={root}", "run.name=submitted")
        judgments = root / "submitted" / "iter_1" / "judgments"
        first = client.submit_job(entrypoint=entrypoint(*args), runtime_env=runtime_env)
        deadline = time.time() + 420
        while len(parquet_mtimes(judgments)) < 2 and not client.get_job_status(first).is_terminal():
            assert time.time() < deadline, client.get_job_logs(first)[-3000:]
            time.sleep(0.05)
        assert done_rows(judgments) is None, "the job got past judging before the stop"
        assert client.stop_job(first), client.get_job_logs(first)[-4000:]
        assert _wait_status(client, first, 60) == JobStatus.STOPPED
        first_log = client.get_job_logs(first)
        job_lines = first_log.split("Running entrypoint for job", 1)[1].splitlines()[1:]
        assert job_lines[0].startswith(f"[run] starting {root}/submitted"), first_log[:2000]  # where it writes
        # the 2-CPU cluster fits the asks only with less CPU per train worker: scaled, said once, not waited on
        assert first_log.count("[cluster] 2 CPUs offered: 2 train workers ask 0.5 CPU each") == 1, first_log[:3000]
        before = parquet_mtimes(judgments)
        total = done_rows(root / "submitted" / "iter_1" / "requests")

        second = client.submit_job(entrypoint=entrypoint(*args), runtime_env=runtime_env)
        status = _wait_status(client, second, 600)
        log = client.get_job_logs(second)
        assert status == JobStatus.SUCCEEDED, log[-3000:]
        # the evaluation job, given the run on the bucket: M_0 and M_1
        evaluate = client.submit_job(entrypoint=entrypoint(
            f"judge.model={root}/submitted", "benchmark.path=tests/fixtures/benchmarks/pairs.jsonl",
            f"run.root={bucket}/evals", "run.name=from-s3", "judge.max_tokens=4", job="evaluate.py"),
            runtime_env=runtime_env)
        assert _wait_status(client, evaluate, 300) == JobStatus.SUCCEEDED, client.get_job_logs(evaluate)[-3000:]
        eval_log = client.get_job_logs(evaluate)
    assert cluster.processes() == []  # its own processes, and only those, are gone
    assert "[select]" not in log and "[pairs]" not in log, "finished stages were computed again"
    assert "[judge] resuming:" in log
    # What a person reads: the project's lines, once each, no traceback (Ray's worker output held back)
    assert "Traceback" not in log and "(raylet)" not in log and "pid=" not in log, log[-3000:]
    project = [line for line in log.splitlines() if line.startswith(("[", "  "))]
    assert len(project) == len(set(project)) and any(line.startswith("[train] epoch 1/") for line in project), log
    after = parquet_mtimes(judgments)
    assert {name for name in before if after.get(name) == before[name]}, "the resubmission recomputed every block"
    judged = pd.read_parquet(str(judgments))
    requests = pd.read_parquet(str(root / "submitted" / "iter_1" / "requests"))
    assert len(judged) == total == len(requests) and judged["request_id"].is_unique
    assert set(judged["request_id"]) == set(requests["request_id"])
    assert (root / "submitted" / "summary.md").is_file() and (root / "submitted" / "iter_1" / "model").is_dir()
    assert not (root / "submitted" / "iter_1" / "checkpoints").exists()  # Ray Train's, on the bucket, cleared
    # M_1 read back from the bucket for its evaluation into the node's cache, at most once over both jobs (the
    # cache outlives them: a byte-identical model, as this seeded run exports each time, is not fetched again)
    fetched = f"[storage] fetched {root}/submitted/iter_1/model to "
    assert (log + eval_log).count(fetched) <= 1, (log + eval_log)[-3000:]
    assert f"[evaluate] {root}/submitted/iter_1/model: benchmark, 3 examples" in eval_log, eval_log[-3000:]
    evals = location(f"{bucket}/evals/from-s3")
    per_iter = json.loads((evals / "metrics.json").read_text())
    assert set(per_iter) == {"iter_0", "iter_1"} and (evals / "iterations.png").is_file()
    assert all(m["scored"] == 3 for m in per_iter.values()), per_iter
    # the endpoint's model source: the run on the bucket, its best iteration, read through the same cache
    from judge_ray.config import ServeConfig, load_config
    from judge_ray.serving.launch import validate
    from judge_ray.serving.model_source import served_model

    cfg = load_config(None, [f"model={root}/submitted", "engine=transformers"], ServeConfig)
    path, name = served_model(cfg.model)
    assert name == "submitted/M_1" and validate(cfg) == path and os.path.isfile(f"{path}/config.json")
    with open(f"{path}/.complete") as marker:  # a local copy in the node's cache, of that URI
        assert marker.read().strip() == f"{root}/submitted/iter_1/model"
    with capsys.disabled():
        print("[jobs api] resubmitted job's log, last lines:\n" + "\n".join(log.splitlines()[-12:]))
    capsys.readouterr()  # the Jobs API client's own lines, before the job runs here
    assert_one_line_error(job_here(capsys, "self_taught.py", *args), "already holds a finished run")
