"""JudgeBench and HelpSteer2 as published, and JudgeBench's own score, against hand-computed figures."""
import json

import pytest

from judge_ray.errors import InputError
from judge_ray.evaluation.benchmarks import judgebench_category, read_benchmark
from judge_ray.evaluation.predictions_file import read_predictions
from judge_ray.evaluation.scoring import judgebench_net, score

PUB = "tests/fixtures/benchmarks/published"


def test_judgebench_is_read_as_scalerlab_publishes_it():
    bench = read_benchmark(f"{PUB}/judgebench.jsonl")
    assert bench.layout == "judgebench" and bench.two_class
    assert [(i["id"], i["label"], i["subset"]) for i in bench.items] == [
        ("81ec57f2-483f-515f-93ff-78a8910b2153", "B", "knowledge"), ("a2", "A", "knowledge"), ("a3", "A", "reasoning"),
        ("a4", "B", "math"), ("a5", "A", "coding"), ("a8", "B", "knowledge")]
    assert bench.items[1]["answer_b"] == ""  # an empty response is an answer
    assert [(s["row"], s["id"]) for s in bench.skipped] == [(6, "a6"), (7, "a7")]
    assert "'A=B'" in bench.skipped[0]["reason"] and "null" in bench.skipped[1]["reason"]
    with pytest.raises(InputError, match=r"judgebench.jsonl:6: field 'label' is 'A=B'"):
        read_benchmark(f"{PUB}/judgebench.jsonl", strict=True)


@pytest.mark.parametrize("source, category", [
    ("mmlu-pro-philosophy", "knowledge"), ("mmlu-pro-computer science", "knowledge"),
    ("livebench-reasoning", "reasoning"), ("livebench-math", "math"), ("livecodebench", "coding"), ("gsm8k", "")])
def test_judgebench_categories_come_from_source(source, category):
    assert judgebench_category(source) == category


@pytest.mark.parametrize("winner, swapped, label, net", [
    ("A", "B", "A", 2),      # right in both orders (the swapped B is the original A)
    ("A", "tie", "A", 1),    # right + tie counts
    ("A", "A", "A", 0),      # right + wrong does not
    (None, "B", "A", 1),     # unreadable counts as a tie
    ("tie", "tie", "A", 0),
    ("B", "A", "A", -2),
    ("B", "absent", "B", 1),  # one order: its verdict alone
])
def test_judgebench_rule_nets_both_orders(winner, swapped, label, net):
    pred = {"label": label, "winner": winner}
    if swapped != "absent":
        pred["winner_swapped"] = swapped
    assert judgebench_net(pred) == net


def test_a_published_judges_predictions_reproduce_its_judgebench_score():
    bench = read_benchmark(f"{PUB}/judgebench.jsonl")
    preds = read_predictions("tests/fixtures/benchmarks/judgebench_predictions.jsonl", bench.items, "pairwise",
                             bench.id_note(),
                             [s["id"] for s in bench.skipped])
    m = score(preds, "exclude", "tie", "judgebench", skipped=bench.skipped)
    jb = m["judgebench"]
    # hand: +2, +1, 0, +1, 0, -2 -> correct 3 of 6; knowledge 2/3 (row 1, a2; not a8), reasoning 0/1,
    # math 1/1, coding 0/1
    assert jb["score"] == pytest.approx(0.5) and jb["pairs"] == 6 and jb["score_ci"]["n"] == 6
    assert jb["categories"] == pytest.approx({"knowledge": 2 / 3, "reasoning": 0.0, "math": 1.0, "coding": 0.0})
    assert jb["category_pairs"] == {"knowledge": 3, "reasoning": 1, "math": 1, "coding": 1}
    # the harness's own agreement (both orders combined, disagreement = tie = no credit) differs: 2/6
    assert m["agreement"] == pytest.approx(2 / 6)
    assert m["skipped_rows"] == 2


def test_helpsteer2_pairs_consecutive_responses_by_helpfulness():
    bench = read_benchmark(f"{PUB}/helpsteer2.jsonl")
    assert bench.layout == "helpsteer2" and bench.two_class
    assert [(i["id"], i["label"]) for i in bench.items] == [("1+2", "A"), ("3+4", "B"), ("7+8", "B"), ("12+13", "A")]
    assert bench.items[0]["question"] == "What is the capital of France?" and bench.items[0]["answer_b"] == "Lyon."
    assert bench.items[2]["answer_a"] == ""  # an empty response is an answer (helpfulness 0)
    assert [(s["row"], s["id"], s["reason"].split(";")[0]) for s in bench.skipped] == [
        (5, "5+6", "helpfulness is equal"), (9, "", "the prompt has one response here"),
        (10, "10+11", "field 'helpfulness' is None")]
    assert "helpsteer2" in bench.id_note() or "row numbers" in bench.id_note()
    with pytest.raises(InputError, match=r"helpsteer2.jsonl:9: the prompt has one response"):
        read_benchmark(f"{PUB}/helpsteer2.jsonl", strict=True)


def test_helpsteer2_ratings_as_text_are_numbers(tmp_path):
    rows = [{"prompt": "q", "response": "a", "helpfulness": "3"}, {"prompt": "q", "response": "b", "helpfulness": 2.5}]
    (tmp_path / "h.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert [i["label"] for i in read_benchmark(str(tmp_path / "h.jsonl"), layout="helpsteer2").items] == ["A"]
