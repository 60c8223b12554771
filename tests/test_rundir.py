import pytest

from judge_ray.errors import UserError
from judge_ray.rundir import RunDir, read_parquet, write_parquet


def test_fresh_then_resume_then_finished(tmp_path):
    run = RunDir(tmp_path / "r")
    assert run.prepare("a: 1\n", overwrite=False) is False
    write_parquet(run.iter_dir(1) / "pairs.parquet", [{"x": 1}])
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
    write_parquet(tmp_path / "x.parquet", [{"a": "b"}])
    assert [p.name for p in tmp_path.iterdir()] == ["x.parquet"]
