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


def test_tiny_judge_scores_every_published_layout(ray_cluster, tiny_model, tmp_path):
    for path in sorted(PUBLISHED.iterdir()):
        cfg = load_config(None, [f"benchmark.path={path}", "judge.model=tiny", "judge.mode=both",
                                 "judge.format=pairwise", "judge.max_tokens=4", "engine=transformers",
                                 "ray.actor_cpus=1", f"run.root={tmp_path}", f"run.name={path.stem}"],
                          EvaluateConfig)
        out = Evaluation(cfg).execute()
        m = json.loads((out / "metrics.json").read_text())
        bench = read_benchmark(str(path))
        preds = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
        assert [p["id"] for p in preds] == [i["id"] for i in bench.items], path.name  # every usable row, once
        assert all(len(p["calls"]) == 2 and {c["order"] for c in p["calls"]} == {"AB", "BA"} for p in preds)
        assert m["skipped_rows"] == len(bench.skipped) and m["examples"] == len(bench.items)
        assert m["agreement_ci"]["n"] == m["scored"] and m["swap"]["consistency_ci"]["n"] == m["scored"]
        assert m["classes"] == (["A", "B"] if bench.two_class else ["A", "B", "tie"])
        assert ("## Skipped rows" in (out / "summary.md").read_text()) == bool(bench.skipped)
