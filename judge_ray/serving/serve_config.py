"""The Serve config (`serve deploy`, a RayService's serveConfigV2) generated from the same ServeConfig that
`jobs/serve.py` runs, so the endpoint on a laptop and on KubeRay cannot drift apart."""
from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import yaml

from judge_ray.config import plain_dict
from judge_ray.serving.app import deployment_options

if TYPE_CHECKING:
    from judge_ray.config import ServeConfig

JUDGE_IMPORT = "judge_ray.serving.app:app_builder"
OPENAI_IMPORT = "judge_ray.serving.openai_app:openai_builder"


def serve_config(cfg: ServeConfig) -> dict:
    s = cfg.serve
    args = plain_dict(cfg)
    args["write_serve_config"] = None
    runtime_env = {"env_vars": dict(s.env_vars)} if s.env_vars else {}
    judge = {"name": s.app_name, "route_prefix": s.route_prefix, "import_path": JUDGE_IMPORT, "args": args,
             "deployments": [{"name": "JudgeDeployment", **deployment_options(cfg)}]}
    if runtime_env:
        judge["runtime_env"] = copy.deepcopy(runtime_env)
    apps = [judge]
    if s.openai:
        openai = {"name": f"{s.app_name}-openai", "route_prefix": s.openai_route_prefix, "import_path": OPENAI_IMPORT,
                  "args": copy.deepcopy(args)}
        if runtime_env:
            openai["runtime_env"] = runtime_env
        apps.append(openai)
    return {"proxy_location": "EveryNode", "http_options": {"host": s.host, "port": s.port}, "applications": apps}


def serve_config_yaml(cfg: ServeConfig) -> str:
    return yaml.safe_dump(serve_config(cfg), sort_keys=False, width=120)
