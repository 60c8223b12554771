"""Serve the judge over HTTP with Ray Serve (batching, autoscaling from conf/serve.yaml).

    python jobs/serve.py model=runs/default                      # the best iteration of a self-taught run
    JUDGE_RAY_API_TOKEN=secret python jobs/serve.py model=runs/judgelm/model
    python jobs/serve.py --config conf/serve_gpu.yaml write_serve_config=serve_config.yaml   # for serve deploy
    ray job submit --working-dir . -- python jobs/serve.py --config conf/serve_gpu.yaml

Routes: POST /v1/judge, POST /v1/grade, GET /healthz, GET /v1/models (OpenAPI at /docs).
"""
import sys

from judge_ray.cli import load_job_config, main_guard, parse_args
from judge_ray.config import ServeConfig
from judge_ray.serving.launch import start


def main() -> None:
    config_path, overrides = parse_args(sys.argv[1:], "jobs/serve.py", ServeConfig)
    start(load_job_config(config_path, overrides, ServeConfig))


if __name__ == "__main__":
    sys.exit(main_guard(main))
