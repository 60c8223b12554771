"""The Ray Data forms of the loop's recipes give the rows their in-memory forms give, whatever the blocks."""
import random

import pandas as pd
import pytest

from judge_ray.distributed.loop_data import place_pairs, reject
from tests.recipes import assign_positions_and_split, rejection_sample

pytestmark = pytest.mark.slow


def _write_in_blocks(rows: list[dict], folder, blocks: int) -> None:
    folder.mkdir()
    random.Random(0).shuffle(rows)
    for k in range(blocks):
        pd.DataFrame(rows[k::blocks]).to_parquet(folder / f"part-{k}.parquet")


# local_rows: 0 maps every folder on Ray Data; 10**6 maps these small folders in the driver process.
@pytest.mark.parametrize("local_rows", [0, 10**6])
@pytest.mark.parametrize("balance,swap", [(True, False), (False, True)])
def test_reject_equals_the_in_memory_recipe(ray_cluster, tmp_path, balance, swap, local_rows):
    rng = random.Random(1)
    judgments = [{"pair_id": f"p{i:03d}", "sample": k, "winner": "A" if i % 3 else "B", "correct": rng.random() < 0.6,
                  "question": f"q{i}", "answer_a": f"a{i}", "answer_b": f"b{i}", "reasoning": f"r{i}-{k}"}
                 for i in range(90) for k in range(3)]
    _write_in_blocks([dict(j) for j in judgments], tmp_path / "judgments", blocks=7)
    stats = reject(tmp_path / "judgments", tmp_path / "sft", seed=4, balance=balance, swap_augment=swap,
                   local_rows=local_rows)
    expected, expected_stats = rejection_sample(judgments, seed=4, balance=balance, swap_augment=swap)
    got = pd.read_parquet(tmp_path / "sft").sort_values(["pair_id", "swapped"]).to_dict("records")
    assert got == sorted(expected, key=lambda r: (r["pair_id"], r["swapped"]))
    for key in ("judgments", "correct_judgments", "pairs", "pairs_kept", "pairs_dropped", "sft_winner_A",
                "sft_winner_B"):
        assert stats[key] == expected_stats[key], key


@pytest.mark.parametrize("local_rows", [0, 10**6])
def test_place_pairs_equals_the_in_memory_recipe(ray_cluster, tmp_path, local_rows):
    built = [{"id": f"x{i:03d}", "instruction": f"q{i}", "response_w": "w", "response_l": "l", "pair_ok": i % 11 != 0}
             for i in range(120)]
    _write_in_blocks([dict(b) for b in built], tmp_path / "built", blocks=5)
    counts = place_pairs(tmp_path / "built", tmp_path / "pairs", 0.25, seed=9, local_rows=local_rows)
    got = {r["pair_id"]: (r["split"], r["winner"]) for r in pd.read_parquet(tmp_path / "pairs").to_dict("records")}
    usable = [b for b in built if b["pair_ok"]]
    expected = {r["pair_id"]: (r["split"], r["winner"]) for r in assign_positions_and_split(usable, 0.25, seed=9)}
    assert {k: v for k, v in got.items() if v[0] != "unusable"} == expected
    assert sum(v[0] == "unusable" for v in got.values()) == len(built) - len(usable)
    assert counts[("eval", "A")] + counts[("eval", "B")] == round(len(usable) * 0.25)
