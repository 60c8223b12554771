from judge_ray.stages.selection import category_prompt, classify_batch, select_balanced
from tests.fakes import FakeEngine


def _row(i, cat, diff):
    return {"id": f"r{i:02d}", "instruction": "x", "category": cat, "difficulty": diff}


def test_select_balanced_caps_each_category_hardest_first():
    rows = [_row(i, "math", d) for i, d in enumerate([1.0, 4.0, 3.0, 2.0])] + \
           [_row(10 + i, "coding", d) for i, d in enumerate([2.5, 3.5])] + [_row(20, "writing", 5.0)]
    picked = select_balanced(rows, ["math", "coding", "advice"], per_category=2, min_difficulty=2.0)
    assert [(r["category"], r["difficulty"]) for r in picked] == [
        ("math", 4.0), ("math", 3.0), ("coding", 3.5), ("coding", 2.5)]


def test_select_balanced_is_deterministic_on_ties():
    rows = [_row(i, "math", 3.0) for i in (3, 1, 2)]
    assert [r["id"] for r in select_balanced(rows, ["math"], 2, 0)] == ["r01", "r02"]


def test_category_prompt_offers_letters():
    p = category_prompt("Sort a list", ["coding", "math"])
    assert "A) coding\nB) math" in p and "Sort a list" in p


def test_classify_batch_adds_category_and_expected_difficulty():
    rows = [{"id": "a", "instruction": "short"}, {"id": "b", "instruction": "long " * 100}]
    out = classify_batch(FakeEngine(), rows, ["coding", "math"], seed=0)
    assert [r["category"] for r in out] == ["coding", "coding"]  # the fake prefers the first option
    assert 1.0 <= out[0]["difficulty"] < out[1]["difficulty"] <= 5.0
    assert 0.5 < out[0]["category_prob"] <= 1.0
