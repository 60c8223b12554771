import os

import pandas as pd
import pytest

from judge_ray.errors import UserError
from judge_ray.rundir import RunDir, read_parquet, write_json, write_text
from tests.helpers import assert_one_line_error, job_here


def test_fresh_then_resume_then_finished(tmp_path):
    run = RunDir(tmp_path / "r")
    assert run.prepare("a: 1\n", overwrite=False) is False
    run.iter_dir(1).mkdir(parents=True, exist_ok=True)
    pd.DataFrame([{"x": 1}]).to_parquet(run.iter_dir(1) / "pairs.parquet")
    assert run.prepare("a: 1\n", overwrite=False) is True  # interrupted: resume
    assert read_parquet(run.iter_dir(1) / "pairs.parquet") == [{"x": 1}]
    with pytest.raises(UserError, match="different config"):
        run.prepare("a: 2\n", overwrite=False)
    (run.path / "summary.md").write_text("done")
    with pytest.raises(UserError, match="already holds a finished run"):
        run.prepare("a: 1\n", overwrite=False)
    assert run.prepare("a: 1\n", overwrite=True) is False
    assert not (run.iter_dir(1) / "pairs.parquet").exists()


def test_writes_leave_no_temporary_files(tmp_path):
    write_json(tmp_path / "x.json", {"a": "b"})
    write_text(tmp_path / "y.md", "text")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json", "y.md"]


RAY_COPY = "/tmp/ray/session_2026-12-04_10-00-00_1_1/runtime_resources/working_dir_files/_ray_pkg_0123abcd"


@pytest.mark.parametrize("root, cwd, env, expected", [
    ("runs", "/home/me/judge_ray", {}, "runs"),  # a local run: under the current directory, as before
    ("/mnt/shared/runs", RAY_COPY, {}, "/mnt/shared/runs"),  # absolute: as given, submitted or not
    ("runs", RAY_COPY, {"JUDGE_RAY_RUN_ROOT": "/mnt/shared"}, "/mnt/shared/runs"),  # the cluster's stable default
    ("runs", "/home/me", {"JUDGE_RAY_RUN_ROOT": "/data/"}, "/data/runs"),
    ("/abs", RAY_COPY, {"JUDGE_RAY_RUN_ROOT": "/mnt/shared"}, "/abs"),
])
def test_where_a_run_root_points(root, cwd, env, expected):
    from judge_ray.rundir import run_root

    assert os.path.normpath(run_root(root, cwd, env)) == os.path.normpath(expected)


def test_a_relative_run_root_inside_rays_working_dir_copy_is_refused_with_how_to_set_it():
    from judge_ray.rundir import in_ray_working_dir, run_root

    assert in_ray_working_dir(RAY_COPY + "/jobs") and not in_ray_working_dir("/home/me/working_dir_files")
    with pytest.raises(UserError) as err:
        run_root("runs", RAY_COPY, {})
    message = str(err.value)
    assert "\n" not in message and "run.root=runs" in message and "JUDGE_RAY_RUN_ROOT" in message
    assert RAY_COPY in message
    # object storage as given (never a local folder named "s3:"), also as the cluster's base; others refused
    assert run_root("s3://bucket/runs/", RAY_COPY, {}) == "s3://bucket/runs"
    assert run_root("runs", RAY_COPY, {"JUDGE_RAY_RUN_ROOT": "gs://b/base"}) == "gs://b/base/runs"
    with pytest.raises(UserError, match="unsupported storage scheme hdfs://"):
        run_root("hdfs://nn/runs", "/home/me", {})


def test_the_loop_job_refuses_a_relative_root_in_a_working_dir_copy_and_writes_nothing(capsys, tmp_path, monkeypatch):
    copy = tmp_path / "runtime_resources" / "working_dir_files" / "_ray_pkg_x"
    copy.mkdir(parents=True)
    monkeypatch.chdir(copy)
    monkeypatch.delenv("JUDGE_RAY_RUN_ROOT", raising=False)
    proc = job_here(capsys, "self_taught.py", "model=tiny", "run.root=runs")
    assert proc.returncode == 2
    assert_one_line_error(proc, "run.root=runs", "JUDGE_RAY_RUN_ROOT")
    assert list(copy.iterdir()) == []
