"""The Self-Taught Evaluator loop, end to end.

    python jobs/self_taught.py [--config conf/self_taught.yaml] [key=value ...]
    ray job submit --working-dir . -- python jobs/self_taught.py model=HuggingFaceTB/SmolLM2-1.7B-Instruct

Examples: `model=tiny iterations=1` (seconds-scale smoke run); `engine=transformers`; `run.name=exp1`.
Rerunning an interrupted run with the same config resumes it.
"""
import sys

from judge_ray.cli import load_job_config, main_guard, parse_args
from judge_ray.config import SelfTaughtConfig
from judge_ray.pipeline import run_self_taught


def main() -> None:
    config_path, overrides = parse_args(sys.argv[1:], "jobs/self_taught.py", SelfTaughtConfig)
    run_self_taught(load_job_config(config_path, overrides, SelfTaughtConfig))


if __name__ == "__main__":
    sys.exit(main_guard(main))
