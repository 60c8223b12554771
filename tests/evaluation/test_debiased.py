"""judge.mode=debiased: both orders, the verdict read with the first-slot prior cancelled, pinned against
hand-computed log-odds (pure), and the configs that cannot read it refused."""
import math

import pytest

from judge_ray.config import EvalJudgeConfig, EvaluateConfig, load_config
from judge_ray.errors import ConfigError
from judge_ray.evaluation.judging import build_requests, final_verdict, plan_shape, predictions_from_outputs
from judge_ray.evaluation.metrics import debiased_reading


def test_the_reading_by_hand():
    # shown A-B the judge gives A 0.8; shown B-A it gives the first slot (the original B) 0.6, so P(A) = 0.4 there
    read = debiased_reading([0.8], [0.6])
    l_ab, l_ba = math.log(0.8 / 0.2), math.log(0.6 / 0.4)  # 1.3863, 0.4055: both lean to the first slot
    assert read["prior"] == pytest.approx((l_ab + l_ba) / 2) == pytest.approx(0.8959, abs=1e-4)
    margin = (l_ab - l_ba) / 2  # 0.4904
    assert read["prob_a"] == pytest.approx(1 / (1 + math.exp(-margin))) == pytest.approx(0.6202, abs=1e-4)
    assert read["winner"] == "A"
    # a judge that only follows the slot (0.9 first, whatever is there) has a prior and no preference
    flat = debiased_reading([0.9], [0.9])
    assert flat["winner"] == "tie" and flat["prob_a"] == pytest.approx(0.5) and flat["prior"] > 2
    assert debiased_reading([0.3, 0.1], [0.7])["winner"] == "B" and debiased_reading([], [0.5]) is None


def test_debiased_predictions_break_the_tie_both_orders_give():
    item = {"id": "p", "question": "q", "answer_a": "a", "answer_b": "b", "label": "A"}
    judge = EvalJudgeConfig(model="m", format="pairwise", mode="debiased", max_tokens=0)
    assert plan_shape(judge) == (("AB", "BA"), 1)
    reqs = build_requests([item], judge, "pairwise", 0)
    outs = [{**r, "reasoning": "", "verdict": "A", "prob_a": 0.8 if r["order"] == "AB" else 0.6} for r in reqs]
    (pred,) = predictions_from_outputs([item], outs, judge, "pairwise")
    assert (pred["winner"], pred["winner_swapped"]) == ("A", "A")  # greedy: each order picks its first slot
    both = predictions_from_outputs([item], outs, EvalJudgeConfig(model="m", format="pairwise", mode="both",
                                                                   max_tokens=0), "pairwise")[0]
    assert final_verdict(both) == "tie" and final_verdict(pred) == "A"
    assert pred["debiased"]["prior"] == pytest.approx(0.8959, abs=1e-4)


@pytest.mark.parametrize("overrides, words", [
    (["judge.format=judgelm"], "needs the pairwise format"),
    (["judge.grading=single_answer", "judge.format=auto"], "needs the pairwise format"),
])
def test_configs_that_cannot_read_it_are_refused(overrides, words):
    with pytest.raises(ConfigError, match=words):
        load_config(None, ["benchmark.path=x", "judge.model=tiny", "judge.mode=debiased", *overrides], EvaluateConfig)
    with pytest.raises(ConfigError, match="predictions file"):
        load_config(None, ["benchmark.path=x", "judge.predictions=p.jsonl", "judge.mode=debiased"], EvaluateConfig)


def test_the_loop_evaluates_in_debiased_mode_when_asked(tmp_path):
    from judge_ray.pipeline import SelfTaughtRun

    run = SelfTaughtRun(load_config(None, ["model=tiny", "eval.debiased=true", f"run.root={tmp_path}"]))
    run.engine = "transformers"  # resolved when the loop runs
    assert run.eval_config("tiny", "heldout", "x.jsonl", False).judge.mode == "debiased"
    plain = SelfTaughtRun(load_config(None, ["model=tiny", f"run.root={tmp_path}"]))
    plain.engine = "transformers"
    assert plain.eval_config("tiny", "heldout", "x.jsonl", True).judge.mode == "both"
