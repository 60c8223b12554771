import math

import pytest

from judge_ray.evaluation.metrics import (confusion_matrix, majority_vote, position_free_verdict,
                                          precision_recall_f1, slot_log_odds, swap_consistency)


def test_prf_hand_computed_with_ties():
    labels = ["A", "A", "A", "B", "B", "tie"]
    preds = ["A", "A", "B", "B", "A", "A"]
    m = precision_recall_f1(labels, preds, ["A", "B", "tie"])
    # A: tp 2, fp 2, fn 1 -> p 0.5, r 2/3, f1 4/7
    assert m["A"]["precision"] == pytest.approx(0.5) and m["A"]["recall"] == pytest.approx(2 / 3)
    assert m["A"]["f1"] == pytest.approx(4 / 7)
    # B: tp 1, fp 1, fn 1 -> 0.5 / 0.5 / 0.5
    assert m["B"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    # tie: never predicted -> all zero, still averaged
    assert m["tie"]["f1"] == 0.0 and m["tie"]["support"] == 1
    assert m["macro"]["f1"] == pytest.approx((4 / 7 + 0.5 + 0) / 3)


def test_prf_all_one_class_predictions():
    m = precision_recall_f1(["A", "B", "B", "A"], ["A"] * 4, ["A", "B"])
    assert m["A"]["precision"] == 0.5 and m["A"]["recall"] == 1.0
    assert m["B"]["precision"] == 0.0 and m["B"]["recall"] == 0.0 and m["B"]["f1"] == 0.0


def test_confusion_matrix_rows_are_labels():
    assert confusion_matrix(["A", "A", "B"], ["A", "B", "B"], ["A", "B"]) == [[1, 1], [0, 1]]
    # predictions outside the classes get their own columns; labels outside the rows are not counted
    assert confusion_matrix(["A", "B", "B", "tie"], ["unparsed", "B", "A", "A"], ["A", "B"],
                            ["A", "B", "unparsed"]) == [[0, 0, 1], [1, 1, 0]]


def test_majority_vote_and_tie_breaking():
    assert majority_vote(["A", "B", "A"]) == "A"
    assert majority_vote(["A", "B"], mean_prob_a=0.7) == "A"
    assert majority_vote(["A", "B"], mean_prob_a=0.2) == "B"
    assert majority_vote(["A", "B"]) == "tie"


def test_swap_consistency_and_position_bias():
    # (verdict A-B order, verdict B-A order): consistent when the BA verdict maps back to the AB one
    items = [("A", "B"), ("B", "A"), ("A", "A"), ("A", "A"), ("B", "B")]
    m = swap_consistency(items)
    assert m["consistency"] == pytest.approx(2 / 5) and m["inconsistent"] == 3
    assert m["bias_first"] == pytest.approx(2 / 3) and m["bias_second"] == pytest.approx(1 / 3)
    assert swap_consistency([("A", "B")]) == {"pairs": 1, "consistency": 1.0, "inconsistent": 0,
                                              "bias_first": 0.0, "bias_second": 0.0}


def test_position_free_verdict_cancels_the_prior_both_orders_share():
    # First-slot prior of +2 log-odds in both orders; the content adds +0.5 for the original A.
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    assert position_free_verdict([sig(2.5)], [sig(1.5)]) == "A"  # greedy: "A" both times, inconsistent
    assert position_free_verdict([sig(1.5)], [sig(2.5)]) == "B"
    assert position_free_verdict([0.9, sig(3.0)], [0.9, sig(3.0)]) is None  # nothing but the prior
    assert position_free_verdict([1.0], [0.999]) == "A"  # probabilities of exactly 1 are clipped, not infinite
    assert position_free_verdict([], [0.5]) is None


def test_slot_log_odds_split_a_pair_into_its_first_slot_prior_and_content_margin():
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    prior, margin = slot_log_odds([sig(2.5)], [sig(1.5)])  # prior +2, content +0.5 for the original A
    assert prior == pytest.approx(2.0) and margin == pytest.approx(0.5)  # |margin| < |prior|: inconsistent
    prior, margin = slot_log_odds([sig(0.5)], [sig(-1.5)])  # prior -0.5 (second slot), content +1
    assert prior == pytest.approx(-0.5) and margin == pytest.approx(1.0)  # greedy: A, then A's slot (2nd)
    assert slot_log_odds([0.5], []) is None


def _j(pid, order, sample, winner, verdict, prob_a, free=False, free_verdict=""):
    return {"pair_id": pid, "order": order, "sample": sample, "winner": winner, "verdict": verdict,
            "prob_a": prob_a, "verdict_prob": prob_a if verdict == "A" else 1 - prob_a, "free_valid": free,
            "free_verdict": free_verdict}


