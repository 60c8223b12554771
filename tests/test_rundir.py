import pandas as pd
import pytest

from judge_ray.errors import UserError
from judge_ray.rundir import RunDir, read_parquet, write_json, write_text


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
