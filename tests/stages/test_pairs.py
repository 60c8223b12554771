from collections import Counter

from judge_ray.engines.base import SamplingParams
from judge_ray.stages.pairs import build_pairs_batch, clean_modified, slots
from tests.fakes import FakeEngine
from tests.recipes import assign_positions_and_split


def test_clean_modified_takes_first_line_and_rejects_copies():
    assert clean_modified('\n"New instruction: Write a poem about rain."\nMore text', "x") == "Write a poem about rain."
    assert clean_modified("  ", "x") == ""
    assert clean_modified("Same thing", "same thing") == ""


def test_build_pairs_answers_x_and_modified_x():
    replies = {"Original instruction: Q1": "Q1 but about cats", "Original instruction: Q2": "   "}
    engine = FakeEngine(replies=replies)
    rows = [{"id": "1", "instruction": "Q1"}, {"id": "2", "instruction": "Q2"}]
    out = build_pairs_batch(engine, rows, SamplingParams(max_tokens=10, temperature=0.7), 8, seed=0)
    assert out[0]["instruction_mod"] == "Q1 but about cats" and out[0]["pair_ok"]
    assert out[0]["response_w"] != out[0]["response_l"]
    assert not out[1]["pair_ok"] and out[1]["response_l"] == ""
    # deterministic under the same seed
    again = build_pairs_batch(FakeEngine(replies=replies), rows, SamplingParams(max_tokens=10, temperature=0.7), 8, 0)
    assert again == out


def test_positions_balanced_within_each_split_and_seeded():
    pairs = [{"id": f"p{i:02d}", "response_w": "w", "response_l": "l"} for i in range(20)]
    out = assign_positions_and_split(pairs, 0.25, seed=3)
    assert out == assign_positions_and_split(pairs, 0.25, seed=3)
    assert Counter(r["split"] for r in out) == {"train": 15, "eval": 5}
    train = Counter(r["winner"] for r in out if r["split"] == "train")
    assert abs(train["A"] - train["B"]) <= 1
    evals = Counter(r["winner"] for r in out if r["split"] == "eval")
    assert abs(evals["A"] - evals["B"]) <= 1
    assert assign_positions_and_split(pairs, 0.25, seed=4) != out


def test_slots_put_the_winner_where_asked():
    pair = {"response_w": "good", "response_l": "bad"}
    assert slots(pair, "A") == ("good", "bad") and slots(pair, "B") == ("bad", "good")
