"""A tiny JudgeLM judge trained with swap augmentation and reference drop (Ray Train + ZeRO-3, 2 workers),
then evaluated in both-orders mode through a Ray Data engine pool; and a self-taught run directory evaluated
iteration by iteration."""
import json
import shutil
from pathlib import Path

import pytest

from judge_ray.config import EvaluateConfig, TrainJudgeConfig, load_config
from judge_ray.evaluation.runner import run_evaluation
from judge_ray.training.judgelm_run import run_train_judge

pytestmark = pytest.mark.slow
FIX = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture(scope="module")
def judgelm_run(ray_cluster, tiny_model, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("judgelm")
    cfg = load_config(None, [f"data.path={FIX / 'judgelm_train.jsonl'}", "model=tiny", f"run.root={root}",
                             "run.name=j", "recipe.swap_ratio=0.5", "recipe.reference_drop=0.5", "train.epochs=6",
                             "train.lr=3e-3", "train.max_length=384", "train.batch_size_per_worker=4"],
                      TrainJudgeConfig)
    return run_train_judge(cfg)


def test_trained_judge_records_its_recipe(judgelm_run):
    examples = [json.loads(line) for line in (judgelm_run / "train_examples.jsonl").read_text().splitlines()]
    swapped = [e for e in examples if e["swapped"]]
    assert 8 < len(examples) < 16 and swapped and len(examples) == 8 + len(swapped)
    with_ref = [e for e in examples if e["reference_shown"]]
    with_ref_in_fixture = sum("reference" in line for line in (FIX / "judgelm_train.jsonl").read_text().splitlines())
    assert 0 < len(with_ref) < with_ref_in_fixture * 2
    record = json.loads((judgelm_run / "model" / "judge_ray_training.json").read_text())
    assert record["judge_format"] == "judgelm" and record["layout"] == "judgelm" and record["swapped"] == len(swapped)
    assert record["epochs"] == 6 and record["final_epoch_loss"] is not None
    assert (judgelm_run / "summary.md").is_file()


def test_evaluate_both_orders(judgelm_run, tmp_path):
    cfg = load_config(None, [f"benchmark.path={FIX / 'benchmarks' / 'judgelm_val.jsonl'}",
                             f"judge.model={judgelm_run / 'model'}", "judge.mode=both", "judge.max_tokens=8",
                             "engine=transformers", f"run.root={tmp_path}", "run.name=e", "ray.actor_cpus=1",
                             "ray.batch_size=4"], EvaluateConfig)
    out = run_evaluation(cfg)
    m = json.loads((out / "metrics.json").read_text())
    assert m["judge"]["format"] == "judgelm" and m["judge"]["mode"] == "both"
    assert m["examples"] == 4 and m["swap"]["judged_both_orders"] == 4
    preds = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert all(len(p["calls"]) == 2 and {c["order"] for c in p["calls"]} == {"AB", "BA"} for p in preds)
    assert all(isinstance(c["seed"], int) for p in preds for c in p["calls"])
    # Six epochs on 14 examples teach the random-initialised model the judgments' words (not yet the score line)
    assert any("Assistant" in c["output"] for p in preds for c in p["calls"])
    for name in ("summary.md", "confusion.png"):
        assert (out / name).stat().st_size > 0
    # same config, new name: identical predictions (every call seeded)
    again = run_evaluation(load_config(None, [*_overrides(cfg), "run.name=e2"], EvaluateConfig))
    assert (again / "predictions.jsonl").read_text() == (out / "predictions.jsonl").read_text()


def _overrides(cfg) -> list[str]:
    return [f"benchmark.path={cfg.benchmark.path}", f"judge.model={cfg.judge.model}", "judge.mode=both",
            "judge.max_tokens=8", "engine=transformers", f"run.root={cfg.run.root}", "ray.actor_cpus=1",
            "ray.batch_size=4"]


def test_evaluate_a_self_taught_run_directory_per_iteration(judgelm_run, tiny_model, tmp_path):
    run = tmp_path / "st"
    (run / "iter_1").mkdir(parents=True)
    (run / "config.yaml").write_text(f"model: {tiny_model}\n")
    shutil.copytree(judgelm_run / "model", run / "iter_1" / "model")
    cfg = load_config(None, [f"benchmark.path={FIX / 'benchmarks' / 'llmbar.json'}", f"judge.model={run}",
                             "judge.mode=single", "judge.max_tokens=6", "engine=transformers",
                             f"run.root={tmp_path}", "run.name=it", "ray.actor_cpus=1"], EvaluateConfig)
    out = run_evaluation(cfg)
    per_iter = json.loads((out / "metrics.json").read_text())
    assert set(per_iter) == {"iter_0", "iter_1"}
    assert per_iter["iter_1"]["judge"]["format"] == "judgelm"  # read from the model's training record
    assert per_iter["iter_0"]["judge"]["format"] == "pairwise"  # the seed of a self-taught run
    assert (out / "iterations.png").stat().st_size > 0 and (out / "iter_0" / "confusion.png").is_file()
    assert "M_0 (seed)" in (out / "summary.md").read_text() and "M_1" in (out / "summary.md").read_text()


def test_evaluate_n_answers_over_rotations(judgelm_run, tmp_path):
    """RewardBench 2 (4 and 5 completions per prompt) with the trained JudgeLM judge: every item judged in its
    N cyclic orders, one seeded call each, scored by RewardBench 2's rules and the ranking metrics."""
    cfg = load_config(None, [f"benchmark.path={FIX / 'benchmarks' / 'published' / 'rewardbench2.jsonl'}",
                             f"judge.model={judgelm_run / 'model'}", "judge.mode=both", "judge.max_tokens=6",
                             "engine=transformers", f"run.root={tmp_path}", "run.name=rb2", "ray.actor_cpus=1",
                             "ray.batch_size=8"], EvaluateConfig)
    out = run_evaluation(cfg)
    m = json.loads((out / "metrics.json").read_text())
    preds = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert m["kind"] == "ranking" and m["examples"] == 6 and m["skipped_rows"] == 3
    assert [len(p["calls"]) for p in preds] == [4, 4, 4, 3, 5, 4]  # the N cyclic shifts of each item
    assert all(len({c["order"] for c in p["calls"]}) == p["answers"] for p in preds)
    assert set(m["rewardbench2"]["subsets"]) == {"Factuality", "Precise IF", "Math", "Ties", "Focus"}
    assert 0.0 <= m["top1_accuracy"] <= 1.0 and m["top1_accuracy_ci"]["n"] == 6
    assert set(m["position"]["by_answers"]) <= {"3", "4", "5"}
    text = (out / "summary.md").read_text()
    assert "RewardBench 2 score" in text and "Kendall tau" in text and "## Skipped rows (3)" in text
    assert (out / "positions.png").stat().st_size > 0


def test_grade_mmvet_answers_with_the_image_as_text(judgelm_run, tmp_path):
    """MM-Vet: the model's answers graded 0-1 against the ground truth, the image descriptions as context."""
    pub = FIX / "benchmarks" / "published" / "mmvet"
    cfg = load_config(None, [f"benchmark.path={pub / 'mm-vet.json'}", f"benchmark.responses={pub / 'results.json'}",
                             f"benchmark.descriptions={pub / 'descriptions.json'}",
                             f"judge.model={judgelm_run / 'model'}",
                             "judge.grading=single_answer", "judge.mode=single", "judge.max_tokens=6",
                             "engine=transformers", f"run.root={tmp_path}", "run.name=mmvet", "ray.actor_cpus=1"],
                      EvaluateConfig)
    out = run_evaluation(cfg)
    m = json.loads((out / "metrics.json").read_text())
    assert m["kind"] == "graded" and m["examples"] == 3 and m["skipped_rows"] == 3
    assert set(m["capabilities"]) == {"math", "ocr", "rec"} and m["capabilities"]["ocr"]["n"] == 2
    assert 0.0 <= m["score"] <= 1.0 and m["score_ci"]["n"] == 3
    preds = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert [len(p["calls"]) for p in preds] == [1, 1, 1]
    assert "total" in (out / "summary.md").read_text() and (out / "capabilities.png").stat().st_size > 0
