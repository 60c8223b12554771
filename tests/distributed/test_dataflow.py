"""The driver-side aggregates of the data plane: exact thresholds from bounded memory, counts from column scans,
and the placement / selection recipes they feed. No Ray: folders are written with pandas."""
import random
from collections import Counter

import pandas as pd
import pytest

from judge_ray.distributed.dataflow import count_by, done_rows, map_folder, parquet_rows, scan
from judge_ray.stages.pairs import place, placement
from judge_ray.stages.seeds import nth_smallest, order_key
from judge_ray.stages.selection import select_balanced
from tests.recipes import assign_positions_and_split


@pytest.mark.parametrize("n", [1, 7, 500, 2999, 3000, 5000])
def test_nth_smallest_is_exact(n):
    keys = [order_key(0, "t", str(i)) for i in range(3000)]
    expected = sorted(keys)[min(n, len(keys)) - 1]
    assert nth_smallest(lambda: iter(keys), n) == expected


def test_nth_smallest_none_for_nothing():
    assert nth_smallest(lambda: iter(["ab12"]), 0) is None
    assert nth_smallest(lambda: iter([]), 3) is None


def test_counts_and_rows_come_from_the_files(tmp_path):
    for k in range(3):
        pd.DataFrame({"split": ["train", "eval", "train"], "winner": ["A", "B", "A" if k else "B"]}).to_parquet(
            tmp_path / f"part{k}.parquet")
    (tmp_path / "broken.parquet").write_bytes(b"not parquet yet")  # a file still being written
    assert parquet_rows(tmp_path) == 9
    (tmp_path / "broken.parquet").unlink()
    assert count_by(tmp_path, "split") == {"train": 6, "eval": 3}
    assert count_by(tmp_path, "split", "winner") == {("train", "A"): 5, ("train", "B"): 1, ("eval", "B"): 3}
    assert sum(len(b["split"]) for b in scan(tmp_path, ["split"])) == 9
    assert done_rows(tmp_path) is None
    (tmp_path / "empty").mkdir()  # a stage that wrote no row leaves a folder without Parquet files
    assert list(scan(tmp_path / "empty", ["x"])) == [] and count_by(tmp_path / "empty", "x") == {}


@pytest.mark.parametrize("n,fraction", [(1, 0.25), (2, 0.5), (9, 0.34), (100, 0.25), (1001, 0.1)])
def test_placement_is_exactly_balanced_and_sized(n, fraction):
    pairs = [{"id": f"p{i:04d}", "response_w": "w", "response_l": "l"} for i in range(n)]
    out = assign_positions_and_split(pairs, fraction, seed=3)
    assert Counter(r["split"] for r in out)["eval"] == int(round(n * fraction))
    for part in ("train", "eval"):
        slots = Counter(r["winner"] for r in out if r["split"] == part)
        assert abs(slots["A"] - slots["B"]) <= 1


def test_placement_does_not_depend_on_row_order():
    pairs = [{"id": f"p{i:03d}", "pair_ok": True} for i in range(60)]
    shuffled = pairs[:]
    random.Random(1).shuffle(shuffled)
    first = placement(lambda: (p["id"] for p in pairs), 0.3, 5)
    again = placement(lambda: (p["id"] for p in shuffled), 0.3, 5)
    assert first == again
    placed = {p["id"]: place(p, 5, *first) for p in pairs}
    assert {p["id"]: place(p, 5, *again) for p in shuffled} == placed
    assert place({"id": "x", "pair_ok": False}, 5, *first)["split"] == "unusable"
    assert assign_positions_and_split(pairs, 0.3, seed=6) != assign_positions_and_split(pairs, 0.3, seed=5)


def test_streamed_selection_equals_a_full_sort():
    rng = random.Random(0)
    rows = [{"id": f"r{i:03d}", "category": rng.choice(["math", "coding", "advice", "other"]),
             "difficulty": rng.choice([1.0, 2.5, 3.0, 4.5])} for i in range(300)]
    cats = ["math", "coding", "advice"]
    expected = []
    for cat in cats:
        ranked = sorted((r for r in rows if r["category"] == cat and r["difficulty"] >= 2.5),
                        key=lambda r: (-r["difficulty"], r["id"]))
        expected += ranked[:7]
    assert select_balanced(iter(rows), cats, 7, 2.5) == expected
    assert select_balanced(reversed(rows), cats, 7, 2.5) == expected


def _evens(batch: pd.DataFrame, offset: int) -> pd.DataFrame:
    return batch[batch["n"] % 2 == 0].assign(m=lambda b: b["n"] + offset)


def test_a_small_folder_is_mapped_here_whole_and_marked_done(tmp_path):
    """Under `local_rows` no Ray starts (none runs in this test): one batch, the same function, a done folder."""
    src = tmp_path / "src"
    src.mkdir()
    for k in range(3):
        pd.DataFrame({"n": range(k * 10, k * 10 + 10)}).to_parquet(src / f"part-{k}.parquet")
    assert map_folder(src, tmp_path / "out", _evens, {"offset": 100}, local_rows=30) == 15
    got = pd.read_parquet(tmp_path / "out")
    assert sorted(got["m"]) == [n + 100 for n in range(0, 30, 2)] and done_rows(tmp_path / "out") == 15
    assert not (tmp_path / ".out.tmp").exists()
    # Nothing kept: no Parquet file (as Ray Data writes it), still a finished folder of 0 rows.
    assert map_folder(src, tmp_path / "none", lambda b: b.iloc[:0], {}, local_rows=30) == 0
    assert done_rows(tmp_path / "none") == 0 and not list((tmp_path / "none").glob("*.parquet"))
    # A folder of 0 rows maps to 0 rows without calling the function (it has no columns to read).
    (tmp_path / "empty").mkdir()
    assert map_folder(tmp_path / "empty", tmp_path / "out2", _evens, {"offset": 1}, local_rows=30) == 0
