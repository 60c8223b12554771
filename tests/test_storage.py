"""Run directories and models on object storage (judge_ray/storage.py) against the local S3 server: the same
calls as on a local disk, a model fetched once per version, and an unusable run.root refused on one line
before anything is written. (The whole loop on s3:// runs in integration/test_jobs_api.py.)"""
from __future__ import annotations

import json
import time

import boto3
import pytest

from judge_ray.errors import UserError
from tests.helpers import assert_one_line_error, job_here


def test_folders_and_files_behave_alike_on_s3_and_disk(s3_server, tmp_path):
    from judge_ray import storage
    from judge_ray.distributed.dataflow import done_rows, parquet_rows
    from judge_ray.distributed.dataflow import _write_atomically, write_frame
    import pandas as pd

    bucket = s3_server.bucket("alike")
    for root in (storage.location(f"{bucket}/runs"), storage.location(tmp_path / "runs")):
        assert storage.is_remote(root) == str(root).startswith("s3://")
        folder = root / "stage"
        assert done_rows(folder) is None and parquet_rows(folder) == 0
        rows = _write_atomically(folder, lambda tmp: write_frame(pd.DataFrame({"id": ["a", "b", "c"]}), tmp))
        assert rows == 3 and done_rows(folder) == 3 and parquet_rows(folder) == 3
        assert sorted(pd.read_parquet(str(folder))["id"]) == ["a", "b", "c"]
        assert not (root / ".stage.tmp").exists()  # the temporary folder is gone after it became the stage
        storage.write_text(root / "a" / "b.json", json.dumps({"x": 1}))
        assert json.loads((root / "a" / "b.json").read_text()) == {"x": 1}
        storage.rmtree(root / "a")
        assert not (root / "a" / "b.json").exists()
        storage.rmtree(root / "never")  # nothing there: nothing happens
    # an object store has no directories to make: nothing is created, the bucket least of all
    storage.makedirs("s3://not-made/x")
    assert "not-made" not in [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]]
    with pytest.raises(UserError, match="unsupported storage scheme hdfs://"):
        storage.location("hdfs://nn/x")


def test_a_model_on_s3_is_fetched_once_per_version(s3_server, tiny_model, tmp_path, monkeypatch):
    from judge_ray import storage
    from judge_ray.models import resolve_model

    monkeypatch.setenv("JUDGE_RAY_CACHE", str(tmp_path / "cache"))
    uri = s3_server.bucket("models") + "/judges/m1"
    storage.upload_dir(tiny_model, uri)
    first = resolve_model(uri)
    assert first.startswith(str(tmp_path / "cache")) and (tmp_path / "cache").is_dir()
    assert json.loads(open(f"{first}/config.json").read()) == json.loads(open(f"{tiny_model}/config.json").read())
    fetched_at = (storage.location(first) / ".complete").stat().st_mtime
    assert resolve_model(uri + "/") == first  # the same version: not fetched again
    assert (storage.location(first) / ".complete").stat().st_mtime == fetched_at
    time.sleep(1.1)  # S3's modification times have a resolution of a second
    storage.write_text(f"{uri}/judge_ray_training.json", json.dumps({"judge_format": "pairwise"}))
    assert resolve_model(uri) != first  # re-exported at the same URI: a new version, fetched
    with pytest.raises(UserError, match="s3://models/none: no such directory"):
        resolve_model("s3://models/none")

    # the OpenAI route's vLLM replicas get the URI as Ray LLM's cloud mirror, fetched on each replica's node;
    # the judge app's replicas resolve it themselves (served_model, as above); the name is what was asked
    from judge_ray.config import ServeConfig, load_config
    from judge_ray.serving.model_source import served_source

    assert served_source(uri) == (uri, "m1")
    pytest.importorskip("ray.serve.llm")
    from judge_ray.serving.openai_app import llm_config

    config = llm_config(load_config(None, [f"model={uri}"], ServeConfig))
    assert config.model_loading_config.model_source.bucket_uri == uri


def test_an_unusable_run_root_is_one_line_before_anything_is_written(s3_server, capsys, monkeypatch):
    s3_server.bucket("usable")
    proc = job_here(capsys, "self_taught.py", "model=tiny", "run.root=s3://no-such-bucket/runs")
    assert proc.returncode == 2
    assert_one_line_error(proc, "run.root s3://no-such-bucket/runs cannot be written", "bucket does not exist")
    assert "no-such-bucket" not in [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]]
    # no server there (a wrong endpoint, no network): the filesystem's own words, still one line and exit 2
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    started = time.time()
    proc = job_here(capsys, "evaluate.py", "judge.model=tiny", "benchmark.path=tests/fixtures/benchmarks/pairs.jsonl",
                    "run.root=s3://usable/evals")
    assert proc.returncode == 2 and time.time() - started < 60
    assert_one_line_error(proc, "run.root s3://usable/evals cannot be written", "Could not connect to the endpoint")
