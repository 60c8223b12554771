"""Every metric pinned on hand-computed cases."""
import math

import pytest

from judge_ray.evaluation.scoring import rewardbench_sections, score


def p(label, winner, swapped="absent", subset=""):
    row = {"id": f"{label}{winner}{swapped}", "label": label, "winner": winner, "subset": subset}
    if swapped != "absent":
        row["winner_swapped"] = swapped
    return row


def test_three_class_agreement_prf_and_confusion():
    preds = [p("A", "A"), p("A", "B"), p("B", "B"), p("tie", "tie"), p("tie", "A")]
    m = score(preds, ties="class", unparseable="tie")
    assert m["agreement"] == pytest.approx(3 / 5)
    # A: tp1 fp1 fn1 -> P=R=F1=0.5; B: tp1 fp1 fn0 -> P .5 R 1 F1 2/3; tie: tp1 fp0 fn1 -> P1 R.5 F1 2/3
    assert m["prf"]["A"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert m["prf"]["B"]["f1"] == pytest.approx(2 / 3) and m["prf"]["tie"]["recall"] == 0.5
    assert m["prf"]["macro"]["f1"] == pytest.approx((0.5 + 2 / 3 + 2 / 3) / 3)
    assert m["confusion"] == {"rows": ["A", "B", "tie"], "columns": ["A", "B", "tie"],
                              "matrix": [[1, 1, 0], [0, 1, 0], [1, 0, 1]]}
    assert m["parse_failure_rate"] == 0 and m["excluded_ties"] == 0


def test_excluding_ties_drops_tie_labels_and_a_predicted_tie_is_wrong():
    preds = [p("A", "A"), p("B", "tie"), p("tie", "tie"), p("tie", "A")]
    m = score(preds, ties="exclude", unparseable="tie")
    assert (m["scored"], m["excluded_ties"], m["agreement"]) == (2, 2, 0.5)
    assert m["confusion"]["columns"] == ["A", "B", "tie"] and m["confusion"]["rows"] == ["A", "B"]
    assert m["confusion"]["matrix"] == [[1, 0, 0], [0, 0, 1]]
    assert m["prf"]["B"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}


@pytest.mark.parametrize("policy, column", [("tie", "tie"), ("miss", "unparsed"), ("half", "unparsed")])
def test_unparseable_policies(policy, column):
    # one right, one unreadable (label B), one unreadable (label tie)
    preds = [p("A", "A"), p("B", None), p("tie", None)]
    m = score(preds, ties="class", unparseable=policy)
    expected = {"tie": 2 / 3, "miss": 1 / 3, "half": (1 + 0.5 + 0.5) / 3}[policy]
    assert m["agreement"] == pytest.approx(expected)
    assert column in m["confusion"]["columns"]
    assert m["parse_failure_rate"] == pytest.approx(2 / 3) and m["unparsed_examples"] == 2
    assert m["policy"] == {"ties": "class", "unparseable": policy, "predicted_ties": "miss"}


def test_all_one_class_predictions():
    preds = [p("A", "A"), p("A", "A"), p("B", "A"), p("B", "A")]
    m = score(preds, ties="exclude")
    assert m["agreement"] == 0.5
    assert m["prf"]["A"] == {"precision": 0.5, "recall": 1.0, "f1": pytest.approx(2 / 3), "support": 2}
    assert m["prf"]["B"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2}
    assert m["prf"]["macro"]["f1"] == pytest.approx(1 / 3)


def test_both_orders_consistency_position_bias_and_combined_verdict():
    preds = [
        p("A", "A", "B"),   # consistent A -> right
        p("B", "A", "A"),   # favours first slot both times -> inconsistent -> combined tie
        p("A", "B", "B"),   # favours second slot -> inconsistent -> tie
        p("B", "B", "A"),   # consistent B
        p("A", "A", None),  # swapped order unreadable: defers to AB; not counted in consistency
    ]
    m = score(preds, ties="exclude", unparseable="miss")
    assert m["agreement"] == pytest.approx(3 / 5)
    s = m["swap"]
    assert (s["judged_both_orders"], s["both_readable"], s["inconsistent"]) == (5, 4, 2)
    assert s["consistency"] == 0.5 and s["bias_first"] == 0.5 and s["bias_second"] == 0.5
    assert m["prediction_counts"]["tie"] == 2


def test_position_free_agreement_reads_both_orders_probabilities():
    def calls(ab, ba):
        return [{"order": "AB", "prob_a": ab}, {"order": "BA", "prob_a": ba}]

    preds = [dict(p("A", "A", "A"), calls=calls(0.95, 0.80)),  # first slot both times; content favours A: right
             dict(p("B", "A", "A"), calls=calls(0.95, 0.80)),  # the same reads, labelled B: wrong
             dict(p("B", "A", "A"), calls=calls(0.70, 0.90)),  # right
             dict(p("tie", "A", "A"), calls=calls(0.70, 0.90)),  # tie labels have no position-free verdict
             p("A", "A", "B")]  # no probabilities: not counted
    s = score(preds, ties="exclude", unparseable="miss")["swap"]
    assert s["consistency"] == pytest.approx(1 / 4)
    assert s["position_free_agreement"] == pytest.approx(2 / 3) and s["position_free_agreement_ci"]["n"] == 3
    logit = lambda q: math.log(q / (1 - q))  # noqa: E731
    priors = [(logit(0.95) + logit(0.80)) / 2] * 2 + [(logit(0.70) + logit(0.90)) / 2]
    margins = [abs(logit(0.95) - logit(0.80)) / 2] * 2 + [abs(logit(0.70) - logit(0.90)) / 2]
    assert s["first_slot_prior"] == pytest.approx(sum(priors) / 3) and s["first_slot_prior"] > 0
    assert s["content_margin"] == pytest.approx(sum(margins) / 3)
    assert "position_free_agreement" not in score([p("A", "A", "B")], ties="exclude")["swap"]


def test_rewardbench_sections_weight_subsets_by_its_counts():
    per_subset = {"alpacaeval-easy": {"agreement": 1.0}, "mt-bench-easy": {"agreement": 0.0},
                  "math-prm": {"agreement": 1.0}, "hep-python": {"agreement": 0.0}, "mine": {"agreement": 1.0}}
    rb = rewardbench_sections(per_subset)
    assert rb["sections"]["Chat"] == pytest.approx(100 / 128)
    assert rb["sections"]["Reasoning"] == pytest.approx(984 / (984 + 164))
    assert rb["score"] == pytest.approx((100 / 128 + 984 / 1148) / 2)
    assert rb["subsets_outside_sections"] == ["mine"]
    preds = [p("A", "A", subset="alpacaeval-easy"), p("B", "A", subset="alpacaeval-easy"),
             p("A", None, subset="math-prm")]
    m = score(preds, ties="exclude", unparseable="half", layout="rewardbench")
    assert {k: (v["agreement"], v["examples"], v["agreement_ci"]["n"]) for k, v in m["subsets"].items()} == {
        "alpacaeval-easy": (0.5, 2, 2), "math-prm": (0.5, 1, 1)}
    assert m["rewardbench"]["score"] == pytest.approx(0.5)


def test_no_examples_scored_is_not_a_crash():
    m = score([p("tie", "A")], ties="exclude")
    assert m["scored"] == 0 and m["agreement"] == 0.0


def test_two_class_benchmark_is_scored_over_its_own_classes():
    """LLMBar/RewardBench have no tie label: macro P/R/F1 over A and B, predicted ties under their policy."""
    preds = [p("A", "A"), p("B", "B"), p("A", "tie"), p("B", "A")]
    m = score(preds, ties="class", unparseable="tie", layout="llmbar")
    assert m["classes"] == ["A", "B"] and m["confusion"]["rows"] == ["A", "B"]
    assert m["confusion"]["columns"] == ["A", "B", "tie"] and m["confusion"]["matrix"] == [[1, 0, 1], [1, 1, 0]]
    # A: tp1 fp1 fn1 -> P .5 R .5; B: tp1 fp0 fn1 -> P 1 R .5 — averaged over two classes, not three
    assert m["prf"]["macro"]["precision"] == pytest.approx(0.75) and m["prf"]["macro"]["recall"] == 0.5
    assert "tie" not in m["prf"]
    assert m["agreement"] == 0.5 and m["policy"]["predicted_ties"] == "miss"
    half = score(preds, ties="class", unparseable="tie", layout="llmbar", predicted_ties="half")
    assert half["agreement"] == pytest.approx(2.5 / 4) and half["policy"]["predicted_ties"] == "half"
    # the same predictions on a three-class layout: tie is a class there
    assert score(preds, ties="class", unparseable="tie", layout="pandalm")["classes"] == ["A", "B", "tie"]


def test_unparseable_as_tie_follows_the_predicted_ties_policy_on_two_classes():
    preds = [p("A", None), p("B", "B")]
    assert score(preds, unparseable="tie", layout="rewardbench", predicted_ties="half")["agreement"] == 0.75
    assert score(preds, unparseable="tie", layout="rewardbench")["agreement"] == 0.5


def test_every_proportion_has_its_n_and_interval():
    preds = [p("A", "A", "B"), p("B", "A", "A"), p("A", "B", "B"), p("B", "B", "A"), p("A", "A", None)]
    m = score(preds, ties="exclude", unparseable="miss")
    ci = m["agreement_ci"]
    assert ci["n"] == 5 and ci["low"] < m["agreement"] < ci["high"] and ci["method"] == "wilson95"
    sci = m["swap"]["consistency_ci"]
    assert sci["n"] == 4 and sci["low"] < 0.5 < sci["high"]


def test_skipped_rows_are_listed():
    skipped = [{"row": 3, "id": "x", "reason": "field 'label' is 3; expected one of 1, 2"}]
    m = score([p("A", "A")], skipped=skipped)
    assert m["skipped_rows"] == 1 and m["skipped"] == skipped
