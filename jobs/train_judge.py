"""Fine-tune a JudgeLM-style judge on labelled judgments (JudgeLM layout, or a self-taught run's iter_N/sft folder).

    python jobs/train_judge.py data.path=judgments.jsonl [--config conf/train_judge.yaml] [key=value ...]
    ray job submit --working-dir . -- python jobs/train_judge.py data.path=/shared/judgelm_train.jsonl \
        model=HuggingFaceTB/SmolLM2-1.7B-Instruct train.use_gpu=true train.precision=bf16

Recipes: recipe.swap_ratio, recipe.swap_mode (add|replace), recipe.reference, recipe.reference_drop.
Rerunning an interrupted run with the same config resumes it.
"""
import sys

from judge_ray.cli import load_job_config, main_guard, parse_args
from judge_ray.config import TrainJudgeConfig
from judge_ray.training.judgelm_run import run_train_judge


def main() -> None:
    config_path, overrides = parse_args(sys.argv[1:], "jobs/train_judge.py", TrainJudgeConfig)
    run_train_judge(load_job_config(config_path, overrides, TrainJudgeConfig))


if __name__ == "__main__":
    sys.exit(main_guard(main))
