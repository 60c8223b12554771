"""Render the KubeRay manifests in k8s/ from conf/k8s.yaml, the loop's and the endpoint's configs and the lock.

    python jobs/render_k8s.py                                  # rewrite k8s/
    python jobs/render_k8s.py check=true                       # fail (one line) if k8s/ differs from its sources
    python jobs/render_k8s.py image.tag=$(git rev-parse --short=12 HEAD) out=build/k8s   # what scripts/image.sh does
"""
import sys
from pathlib import Path

from judge_ray.cli import load_job_config, main_guard, parse_args
from judge_ray.config import DeployConfig
from judge_ray.deploy.manifests import write_or_check

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    config_path, overrides = parse_args(sys.argv[1:], "jobs/render_k8s.py", DeployConfig)
    write_or_check(load_job_config(config_path, overrides, DeployConfig), REPO)


if __name__ == "__main__":
    sys.exit(main_guard(main))
