"""Every published-layout fixture, quirks included, through the whole evaluation path on the tiny model:
benchmark reader -> requests in both orders -> engine actor pool -> predictions -> metrics with intervals."""
import json
from pathlib import Path

import pytest

from judge_ray.config import EvaluateConfig, load_config
from judge_ray.evaluation.benchmarks import read_benchmark
from judge_ray.evaluation.runner import Evaluation

pytestmark = pytest.mark.slow

PUBLISHED = Path(__file__).resolve().parent.parent / "fixtures" / "benchmarks" / "published"


MMVET = PUBLISHED / "mmvet"


def test_tiny_judge_scores_every_published_layout(ray_cluster, tiny_model, tmp_path):
    files = sorted(p for p in PUBLISHED.iterdir() if p.is_file())
    assert {p.name for p in PUBLISHED.iterdir() if p.is_dir()} == {"mmvet"}  # a new layout's folder gets a case
    for path in [*files, MMVET / "mm-vet.json"]:
        extra = ([f"benchmark.responses={MMVET / 'results.json'}",
                  f"benchmark.descriptions={MMVET / 'descriptions.json'}", "judge.grading=single_answer",
                  "judge.format=judgelm"] if path.parent == MMVET else [])
        cfg = load_config(None, [f"benchmark.path={path}", "judge.model=tiny", "judge.mode=both",
                                 "judge.format=pairwise", "judge.max_tokens=4", "engine=transformers",
                                 "ray.actor_cpus=1", f"run.root={tmp_path}", f"run.name={path.stem}", *extra],
                          EvaluateConfig)
        out = Evaluation(cfg).execute()
        m = json.loads((out / "metrics.json").read_text())
        bench = read_benchmark(str(path), responses=cfg.benchmark.responses, descriptions=cfg.benchmark.descriptions)
        preds = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
        assert [p["id"] for p in preds] == [i["id"] for i in bench.items], path.name  # every usable row, once
        assert m["skipped_rows"] == len(bench.skipped) and m["examples"] == len(bench.items)
        assert ("## Skipped rows" in (out / "summary.md").read_text()) == bool(bench.skipped)
        if bench.graded:  # one 0-1 grade per answer, per capability
            assert all(len(p["calls"]) == 1 for p in preds) and m["score_ci"]["n"] == len(preds)
            assert set(m["capabilities"]) == {c for i in bench.items for c in i["capabilities"]}
            continue
        if bench.ranked:  # every answer in every slot once: N orders, each a constrained choice with probabilities
            assert all(len({c["order"] for c in p["calls"]}) == p["answers"] for p in preds), path.name
            assert all(sum(p["scores"]) == pytest.approx(1.0) for p in preds)
            assert m["top1_accuracy_ci"]["n"] == len(preds) and m["position"]["by_answers"]
            continue
        assert all(len(p["calls"]) == 2 and {c["order"] for c in p["calls"]} == {"AB", "BA"} for p in preds)
        assert m["agreement_ci"]["n"] == m["scored"] and m["swap"]["consistency_ci"]["n"] == m["scored"]
        assert m["classes"] == (["A", "B"] if bench.two_class else ["A", "B", "tie"])
