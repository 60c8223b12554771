"""Evaluate a judge on a judge benchmark: a model, every iteration of a self-taught run, or a predictions file.

    python jobs/evaluate.py benchmark.path=pandalm_test.json judge.model=runs/judgelm/model
    python jobs/evaluate.py benchmark.path=rewardbench.parquet judge.predictions=other_system.jsonl
    python jobs/evaluate.py benchmark.path=gold.jsonl judge.model=runs/default judge.mode=vote \
        judge.samples=5 judge.temperature=0.8 policy.ties=exclude policy.unparseable=half
    ray job submit --working-dir . -- python jobs/evaluate.py --config conf/evaluate.yaml benchmark.path=...

Writes predictions.jsonl, metrics.json, summary.md and confusion.png under run.root/run.name.
"""
import sys

from judge_ray.cli import load_job_config, main_guard, parse_args
from judge_ray.config import EvaluateConfig
from judge_ray.evaluation.runner import run_evaluation


def main() -> None:
    config_path, overrides = parse_args(sys.argv[1:], "jobs/evaluate.py", EvaluateConfig)
    run_evaluation(load_job_config(config_path, overrides, EvaluateConfig))


if __name__ == "__main__":
    sys.exit(main_guard(main))
