"""Judge logic of the evaluation on a fake engine: requests, seeds, order handling, votes, grading."""
from dataclasses import replace

import pytest

from judge_ray.config import EvalJudgeConfig
from judge_ray.evaluation.judging import build_requests, combine_orders, predictions_from_outputs
from judge_ray.evaluation.scoring import score
from judge_ray.stages.judging import judge_batch
from judge_ray.stages.text import generate_batch
from tests.fakes import FakeEngine

def _item(id_, question, a, b, reference, label):
    return {"id": id_, "question": question, "answer_a": a, "answer_b": b, "reference": reference, "label": label,
            "subset": ""}


ITEMS = [
    _item("1", "q1", "GOOD one", "bad", "ref", "A"),
    _item("2", "q2", "bad", "GOOD two", None, "B"),
    _item("3", "q3", "GOOD", "GOOD too", None, "tie"),
    _item("4", "UNREADABLE", "x", "y", None, "A"),
]


def run(judge: EvalJudgeConfig, fmt: str = "judgelm", engine=None, seed: int = 0):
    engine = engine or FakeEngine()
    requests = build_requests(ITEMS, judge, fmt, seed)
    stage = {"generate": generate_batch, "judge": judge_batch}[requests[0]["stage"]]
    return requests, predictions_from_outputs(ITEMS, stage(engine, requests), judge, fmt)


def test_request_counts_and_seeds_per_mode():
    single, both = EvalJudgeConfig(mode="single"), EvalJudgeConfig(mode="both")
    vote = EvalJudgeConfig(mode="vote", samples=3, temperature=0.8)
    assert len(build_requests(ITEMS, single, "judgelm", 0)) == 4
    assert len(build_requests(ITEMS, both, "judgelm", 0)) == 8
    assert len(build_requests(ITEMS, vote, "judgelm", 0)) == 12
    assert len(build_requests(ITEMS, EvalJudgeConfig(grading="single_answer"), "judgelm", 0)) == 8
    reqs = build_requests(ITEMS, vote, "judgelm", 0)
    assert len({r["seed"] for r in reqs}) == 12
    assert [r["seed"] for r in reqs] == [r["seed"] for r in build_requests(ITEMS, vote, "judgelm", 0)]
    assert [r["seed"] for r in reqs] != [r["seed"] for r in build_requests(ITEMS, vote, "judgelm", 1)]
    ba = [r for r in build_requests(ITEMS, both, "judgelm", 0) if r["order"] == "BA"][0]
    assert ba["prompt"].index("bad") < ba["prompt"].index("GOOD one")  # answers swapped in the prompt
    assert "Reference Answer]\nref" in ba["prompt"]
    no_ref = build_requests(ITEMS, replace(both, reference=False), "judgelm", 0)
    assert all("Reference Answer" not in r["prompt"] for r in no_ref)


def test_both_orders_with_a_content_judge():
    _, preds = run(EvalJudgeConfig(mode="both"))
    by_id = {p["id"]: p for p in preds}
    assert (by_id["1"]["winner"], by_id["1"]["winner_swapped"]) == ("A", "B")
    assert (by_id["2"]["winner"], by_id["2"]["winner_swapped"]) == ("B", "A")
    assert (by_id["3"]["winner"], by_id["3"]["winner_swapped"]) == ("tie", "tie")
    assert by_id["4"]["winner"] is None and by_id["4"]["unparsed_outputs"] == 2
    assert len(by_id["1"]["calls"]) == 2 and {c["order"] for c in by_id["1"]["calls"]} == {"AB", "BA"}
    m = score(preds, "class", "miss")
    assert m["agreement"] == pytest.approx(3 / 4) and m["swap"]["consistency"] == 1.0
    assert m["parse_failure_rate"] == pytest.approx(2 / 8)


def test_vote_mode_and_pairwise_format():
    _, preds = run(EvalJudgeConfig(mode="vote", samples=3, temperature=0.8), fmt="pairwise")
    by_id = {p["id"]: p for p in preds}
    assert by_id["1"]["winner"] == "A" and by_id["2"]["winner"] == "B" and len(by_id["1"]["calls"]) == 3
    assert "winner_swapped" not in by_id["1"]
    assert all(c["prob_a"] is not None for c in by_id["1"]["calls"])


def test_single_answer_grading_compares_ratings():
    _, preds = run(EvalJudgeConfig(grading="single_answer", mode="single"))
    by_id = {p["id"]: p for p in preds}
    assert (by_id["1"]["rating_a"], by_id["1"]["rating_b"], by_id["1"]["winner"]) == (9.0, 2.0, "A")
    assert by_id["3"]["winner"] == "tie" and by_id["4"]["winner"] is None


def test_reruns_reproduce_predictions_exactly():
    judge = EvalJudgeConfig(mode="vote", samples=3, temperature=0.8)
    assert run(judge, fmt="pairwise")[1] == run(judge, fmt="pairwise")[1]


@pytest.mark.parametrize("ab, ba, combined", [("A", "B", "A"), ("A", "A", "tie"), ("tie", "tie", "tie"),
                                               (None, "A", "B"), ("B", None, "B"), (None, None, None)])
def test_combine_orders(ab, ba, combined):
    assert combine_orders(ab, ba) == combined
