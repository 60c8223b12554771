import json

import pandas as pd
import pytest

from judge_ray.errors import InputError
from judge_ray.records import read_records, require_text

ROWS = [{"a": "x", "n": 1}, {"a": "y", "n": 2}]


def test_jsonl_json_parquet_and_datasets_dir_read_the_same_rows(tmp_path):
    import datasets

    (tmp_path / "r.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS) + "\n")
    (tmp_path / "r.json").write_text(json.dumps(ROWS))
    pd.DataFrame(ROWS).to_parquet(tmp_path / "r.parquet")
    datasets.Dataset.from_list(ROWS).save_to_disk(str(tmp_path / "ds"))
    for name in ("r.jsonl", "r.json", "r.parquet", "ds"):
        got = read_records(tmp_path / name)
        assert [r for _, r in got] == ROWS, name
        assert [i for i, _ in got] == [1, 2]


def test_a_parquet_folder_reads_every_part_in_order(tmp_path):
    """The loop's stages and Ray Data's write_parquet leave folders of parts (and a marker file)."""
    folder = tmp_path / "sft"
    folder.mkdir()
    pd.DataFrame(ROWS).to_parquet(folder / "part-1.parquet")
    pd.DataFrame([{"a": "w", "n": 0}]).to_parquet(folder / "part-0.parquet")
    (folder / "_done.json").write_text("{}")
    got = read_records(folder)
    assert [r["a"] for _, r in got] == ["w", "x", "y"] and [i for i, _ in got] == [1, 2, 3]


@pytest.mark.parametrize("name, content, message", [
    ("bad.jsonl", '{"a": 1}\n{oops\n', r"bad.jsonl:2: not valid JSON"),
    ("list.jsonl", '[1, 2]\n', r"list.jsonl:1: expected a JSON object"),
    ("obj.json", '{"a": 1, "b": 2}', r"expected a JSON array"),
    ("data.csv", "a,b\n", r"unsupported file type .csv"),
    ("empty.jsonl", "\n", r"is empty"),
])
def test_bad_files_are_one_line_errors(tmp_path, name, content, message):
    (tmp_path / name).write_text(content)
    with pytest.raises(InputError, match=message) as err:
        read_records(tmp_path / name)
    assert "\n" not in str(err.value)


def test_missing_file_and_require_text(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_records(tmp_path / "nope.jsonl")
    with pytest.raises(InputError, match=r"f.jsonl:3: field 'q' must be text, got int"):
        require_text("f.jsonl", 3, {"q": 5}, "q")
    with pytest.raises(InputError, match=r"field 'q' is missing or empty"):
        require_text("f.jsonl", 3, {}, "q")


def test_published_values_as_text():
    import numpy as np

    from judge_ray.records import as_text

    assert [as_text(v) for v in ("", "x", True, False, 3, 1.5, None, ["a"], {"t": 1}, float("nan"))] == [
        "", "x", "true", "false", "3", "1.5", None, None, None, None]
    assert as_text(np.int64(7)) == "7" and as_text(np.bool_(True)) == "true" and as_text(np.str_("s")) == "s"


def test_tolerant_reading_lists_broken_rows_instead_of_raising(tmp_path):
    path = tmp_path / "f.jsonl"
    path.write_text('{"a": 1}\n{"a": \n[1, 2]\n{"a": 4}\n')
    bad: list = []
    rows = read_records(path, bad_rows=bad)
    assert [r for r, _ in rows] == [1, 4] and [r for r, _ in bad] == [2, 3]
    assert "not valid JSON" in bad[0][1] and "expected a JSON object, got list" in bad[1][1]
    with pytest.raises(InputError, match="f.jsonl:2: not valid JSON"):
        read_records(path)
