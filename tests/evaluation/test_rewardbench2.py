"""RewardBench 2 read as published and scored as its authors score it, against hand-computed figures."""
import math

import pytest

from judge_ray.errors import InputError
from judge_ray.evaluation.benchmarks import read_benchmark
from judge_ray.evaluation.ranking import score_ranked
from judge_ray.evaluation.ranking import top1_credit
from judge_ray.evaluation.rewardbench2 import rewardbench2_score, ties_score

PUB = "tests/fixtures/benchmarks/published"


def test_read_as_published():
    bench = read_benchmark(f"{PUB}/rewardbench2.jsonl")
    assert bench.layout == "rewardbench2" and bench.ranked
    assert [(i["id"], len(i["answers"]), i["best"]) for i in bench.items] == [
        ("1", 4, [0]), ("2", 4, [0]), ("3", 4, [0]), ("ref:7", 3, [0]), ("tied:7", 5, [0, 1, 2]), ("8", 4, [0])]
    assert bench.items[1]["answers"][2] == "" and bench.items[5]["answers"][0] == "true"  # as text
    assert [(s["row"], s["reason"]) for s in bench.skipped] == [
        (4, "field 'rejected[2]' is null, not text"), (7, "field 'rejected' is str, not a list of answers"),
        (8, "field 'num_correct' is 2 but 'chosen' has 1 completion(s)")]
    with pytest.raises(InputError, match="rewardbench2.jsonl:4: field 'rejected\\[2\\]' is null"):
        read_benchmark(f"{PUB}/rewardbench2.jsonl", strict=True)
    capped = read_benchmark(f"{PUB}/rewardbench2.jsonl", max_answers=4)
    assert "tied:7" not in [i["id"] for i in capped.items]
    assert any("5 completions, over benchmark.max_answers=4" in s["reason"] for s in capped.skipped)


def _p(pid, scores, n_correct, subset="Ties"):
    return {"id": pid, "scores": scores, "best": list(range(n_correct)), "subset": subset, "answers": len(scores)}


def test_best_of_n_credit_is_rewardbench2s():
    """RewardBench 2's best-of-N credit is the ranking's top-1 credit (`ranking.top1_credit`)."""
    assert top1_credit(_p("1", [9, 3, 3, 3], 1)) == 1.0
    assert top1_credit(_p("1", [9, 9, 3, 3], 1)) == 0.5  # (0 in winners) / len(winners)
    assert top1_credit(_p("1", [2, 9, 3, 3], 1)) == 0.0
    assert top1_credit(_p("1", [None] * 4, 1)) == 0.25  # their 4-way judge's error value


def test_ties_score_by_hand():
    preds = [
        _p("ref:1", [8, 5, 4], 1), _p("tied:1", [9, 8, 7, 5, 4], 3),  # accurate; spread 2, gaps 3 (ref), 2 (tied)
        _p("ref:2", [6, 7], 1), _p("tied:2", [9, 6, 5], 2),          # ref wrong (gap -1); tied spread 3, gap 1
    ]
    t = ties_score(preds)
    assert t["ref_accuracy"] == 0.5 and t["tied_accuracy"] == 1.0 and t["paired_prompts"] == 2
    # preferred: tied gap > spread: 1: 2 > 2 no; 2: 1 > 3 no -> 0.  hard: min(ref, tied gap) > spread: no, no -> 0
    assert t["correctness_preferred"] == 0.0 and t["correctness_preferred_hard"] == 0.0
    margin = (math.tanh(min(3, 2) / 2 - 1) + math.tanh(min(-1, 1) / 3 - 1)) / 2
    assert t["margin_score"] == pytest.approx(margin)
    assert t["score"] == pytest.approx(0.30 * 1.0 + 0.30 * 0.5 + 0.01 * margin)
    wide = ties_score([_p("ref:1", [8, 1], 1), _p("tied:1", [9, 9, 1], 2)])  # spread 0: tanh(+inf) = 1
    assert wide["correctness_preferred"] == 1.0 and wide["margin_score"] == 1.0 and wide["score"] == pytest.approx(1.01)
    assert ties_score([_p("odd", [1, 2], 1)])["unusable_ids"] == ["odd"]


def test_overall_is_the_mean_of_subsets_and_rides_in_the_ranking_metrics():
    preds = [_p("1", [9, 3, 3, 3], 1, "Math"), _p("2", [3, 9, 3, 3], 1, "Math"), _p("3", [9, 9, 1, 1], 1, "Focus"),
             _p("ref:1", [8, 5, 4], 1), _p("tied:1", [9, 8, 7, 5, 4], 3)]
    rb = rewardbench2_score(preds)
    ties = ties_score(preds[3:])["score"]
    assert rb["subsets"]["Math"]["score"] == 0.5 and rb["subsets"]["Focus"]["score"] == 0.5
    assert rb["score"] == pytest.approx((0.5 + 0.5 + ties) / 3)
    full = [{**p, "ranks": None, "calls": [], "outputs": 0, "unparsed_outputs": 0} for p in preds]
    assert score_ranked(full, "rewardbench2")["rewardbench2"]["score"] == pytest.approx(rb["score"])
