"""The judge-quality report: held-out pairs as a benchmark, the table with n and intervals, the plot."""
import json
import math
import shutil

import pytest

from judge_ray.errors import InputError
from judge_ray.evaluation.quality import heldout_benchmark_rows, judge_quality, plot_quality, quality_rows
from judge_ray.evaluation.scoring import score


def test_heldout_pairs_become_a_pairs_benchmark_with_the_winner_in_its_slot():
    pairs = [{"pair_id": "p1", "instruction": "q1", "response_w": "good", "response_l": "bad", "winner": "B",
              "split": "eval", "category": "math"},
             {"pair_id": "p2", "instruction": "q2", "response_w": "good", "response_l": "bad", "winner": "A",
              "split": "train"}]
    assert heldout_benchmark_rows(pairs) == [{"id": "p1", "question": "q1", "answer_a": "bad", "answer_b": "good",
                                              "label": "B", "subset": "math"}]


def _preds(pairs):
    return [{"id": str(i), "label": label, "winner": ab, "winner_swapped": ba, "subset": ""}
            for i, (label, ab, ba) in enumerate(pairs)]


def test_quality_rows_carry_n_and_intervals_for_every_figure(tmp_path):
    seed = score(_preds([("A", "A", "A"), ("B", "A", "A"), ("A", "A", "A"), ("B", "A", "A")]), ties="exclude")
    trained = score(_preds([("A", "A", "B"), ("B", "B", "A"), ("A", "A", "B"), ("B", "A", "A")]), ties="exclude")
    rows = quality_rows("bundled", {0: seed, 1: trained})
    assert rows[0][:3] == ["bundled", "M_0 (seed)", "4"] and rows[1][1] == "M_1"
    assert rows[0][3].startswith("0.0% [") and rows[0][4].startswith("0.0% [")  # always first slot
    assert rows[0][5].startswith("100.0% [") and "n=4" in rows[0][5]  # bias over the 4 inconsistent pairs
    assert rows[1][3].startswith("75.0% [") and rows[1][4].startswith("75.0% [") and "n=1" in rows[1][5]
    assert rows[0][7] == "-"  # no probabilities in these predictions: no position-free read
    with_probs = _preds([("A", "A", "A"), ("B", "A", "A")])
    for pred, (ab, ba) in zip(with_probs, [(0.9, 0.6), (0.9, 0.6)]):
        pred["calls"] = [{"order": "AB", "prob_a": ab}, {"order": "BA", "prob_a": ba}]
    row = quality_rows("bundled", {1: score(with_probs, ties="exclude")})[0]
    assert row[7].startswith("50.0% [") and row[7].endswith("n=2")  # the prior cancelled: prefers A twice
    plot_quality({"bundled": {0: seed, 1: trained}}, tmp_path / "q.png", "t")
    assert (tmp_path / "q.png").stat().st_size > 0


def test_not_a_run_directory(tmp_path):
    with pytest.raises(InputError, match="not a self-taught run directory"):
        judge_quality(tmp_path)


@pytest.mark.slow
def test_judge_quality_on_a_tiny_run_directory(ray_cluster, tiny_model, tmp_path):
    """A run directory as the loop leaves it (seed + one exported iteration + held-out pairs): every judge is
    evaluated in both orders on the bundled set and the held-out pairs."""
    import pandas as pd

    run = tmp_path / "run"
    shutil.copytree(tiny_model, run / "iter_1" / "model")
    (run / "iter_1" / "pairs").mkdir()
    (run / "config.yaml").write_text("model: tiny\n")
    pd.DataFrame([{"pair_id": f"p{i}", "instruction": f"What is {i} + {i}?", "response_w": str(2 * i),
                   "response_l": str(2 * i + 1), "winner": "AB"[i % 2], "split": "eval" if i < 3 else "train"}
                  for i in range(5)]).to_parquet(run / "iter_1" / "pairs" / "part-0.parquet")
    text, plot = judge_quality(run, extra=["ray.actor_cpus=1"])
    assert plot.is_file() and (run / "quality" / "summary.md").read_text() == text
    for name, n in (("bundled", 60), ("heldout", 3)):
        metrics = json.loads((run / "quality" / name / "metrics.json").read_text())
        assert set(metrics) == {"iter_0", "iter_1"}
        for i, m in metrics.items():
            assert m["scored"] == n and m["agreement_ci"]["n"] == n and m["swap"]["judged_both_orders"] == n
            assert m["policy"]["ties"] == "exclude"
            # the prior, the margin and the position-free read, recomputed from each order's P(slot A) as kept
            # in the predictions (log-odds shown A-B and shown B-A)
            preds = [json.loads(line) for line in (run / "quality" / name / i / "predictions.jsonl").open()]
            preds = [p for p in preds if p["label"] != "tie"]  # excluded from the scores (policy.ties=exclude)
            assert len(preds) == n
            reads, right = [], 0
            for p in preds:
                lo = {o: math.log(c["prob_a"] / (1 - c["prob_a"])) for c in p["calls"] for o in [c["order"]]}
                reads.append(((lo["AB"] + lo["BA"]) / 2, (lo["AB"] - lo["BA"]) / 2))
                right += ("A" if reads[-1][1] > 0 else "B") == p["label"]
            assert m["swap"]["first_slot_prior"] == pytest.approx(sum(r[0] for r in reads) / n)
            assert m["swap"]["content_margin"] == pytest.approx(sum(abs(r[1]) for r in reads) / n)
            assert m["swap"]["position_free_agreement"] == pytest.approx(right / n)
        # M_1 is a copy of the seed here: the same weights judge alike, call for call
        assert metrics["iter_0"]["swap"] == metrics["iter_1"]["swap"]
        assert f"| {name} | M_0 (seed) | {n} |" in text and f"| {name} | M_1 | {n} |" in text
