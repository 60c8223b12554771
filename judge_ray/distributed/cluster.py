"""Connect to Ray: `RAY_ADDRESS` (or ray.address) when set, as under `ray job submit`; else a local cluster."""
from __future__ import annotations

import json
import logging
import os
from typing import Optional

from judge_ray.storage import CLOUD_ENV
from judge_ray.logs import forward_worker_lines, quiet_third_parties

logger = logging.getLogger(__name__)

# Env vars every Ray worker gets: quiet third-party progress/logging, our model cache.
_QUIET = {"TQDM_DISABLE": "1", "TRANSFORMERS_VERBOSITY": "error", "TOKENIZERS_PARALLELISM": "false",
          "VLLM_LOGGING_LEVEL": "WARNING",
          "PYTHONWARNINGS": "ignore::FutureWarning,ignore::DeprecationWarning,ignore::UserWarning"}


def worker_env(use_gpu: bool) -> dict[str, str]:
    env = dict(_QUIET)
    if not use_gpu:
        env["DS_ACCELERATOR"] = "cpu"  # DeepSpeed's accelerator detection otherwise warns on every import
    for key in ("JUDGE_RAY_CACHE", "VLLM_CPU_KVCACHE_SPACE", "HF_HOME", "HF_HUB_OFFLINE"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def connect(address: Optional[str] = None, num_cpus: Optional[int] = None, use_gpu: bool = False) -> None:
    """Start or join Ray once per process (a second call is a no-op, so tests can share one cluster)."""
    import ray
    from ray.data import DataContext

    for key, value in worker_env(use_gpu).items():
        os.environ.setdefault(key, value)
    if not ray.is_initialized():
        address = address or os.environ.get("RAY_ADDRESS")
        # The driver shows the workers' marked project warnings and errors (`logs.configure_worker`, called by
        # the engine actors, train workers and Serve replicas) once each, in place of Ray's printer of their
        # output. (Not Ray's worker_process_setup_hook: a worker that cannot import it never starts, and the
        # stage waits forever.)
        # The driver's object-store credentials and endpoint go to every worker, so that a stage on any node
        # reads and writes the run's `s3://`/`gs://` paths as the driver does.
        cloud = {k: os.environ[k] for k in CLOUD_ENV if os.environ.get(k)}
        kwargs = {"runtime_env": {"env_vars": _not_set_by_the_job({**worker_env(use_gpu), **cloud})},
                  "log_to_driver": True,
                  "logging_level": logging.WARNING}
        if address:
            ray.init(address=address, **kwargs)
        else:
            # A cluster of this process's own, on this machine: no token (its notice would be noise). A cluster
            # joined keeps its own mode: with Ray's token authentication on (KubeRay's authOptions), the job and
            # its workers use the token the pods carry.
            os.environ.setdefault("RAY_AUTH_MODE", "disabled")
            # More logical CPUs than cores: engine actors and train workers mostly wait on each other's stages.
            ray.init(num_cpus=num_cpus or max(os.cpu_count() or 1, 4), include_dashboard=False, **kwargs)
        forward_worker_lines()
    ctx = DataContext.get_current()
    ctx.print_on_execution_start = False
    # Ray Data's own bars (one per operator, also from the train workers' dataset) would bury the stage
    # progress lines a person reads (`progress.StageProgress`: rows done, rows/s, ETA).
    ctx.enable_progress_bars = False
    ctx.execution_options.preserve_order = True
    quiet_third_parties()


def _not_set_by_the_job(env: dict[str, str]) -> dict[str, str]:
    """The variables a submitted job's own runtime_env does not set already: Ray refuses a driver's runtime_env
    that names a variable the job's names too (the job's value is the user's, and wins)."""
    job = json.loads(os.environ.get("RAY_JOB_CONFIG_JSON_ENV_VAR") or "{}")
    taken = ((job.get("runtime_env") or {}).get("env_vars") or {})
    return {k: v for k, v in env.items() if k not in taken}


def live_nodes() -> list:
    """The cluster's alive nodes as node types of one each (what it offers now)."""
    import ray

    from judge_ray.distributed.resources import NodeType

    return [NodeType(n.get("NodeManagerAddress", "node"), float(n["Resources"].get("CPU", 0)),
                     float(n["Resources"].get("GPU", 0)), 1) for n in ray.nodes() if n.get("Alive")]


def _ask_and_wait(phase, timeout_s: float) -> None:
    """Ask for the phase's resources as a placement group (what an autoscaler scales up for) and wait for it,
    at most `timeout_s`; the group is removed either way (the stage's own actors take its place)."""
    from ray.util.placement_group import placement_group, remove_placement_group

    bundles = [{"CPU": b.cpus, **({"GPU": b.gpus} if b.gpus else {})} for b in phase.bundles if b.cpus or b.gpus]
    if phase.task_cpus:
        bundles.append({"CPU": phase.task_cpus})
    group = placement_group(bundles, strategy="PACK")
    try:
        group.wait(timeout_seconds=timeout_s)
    finally:
        remove_placement_group(group)


def fit_phase(phase, fit_cpus: bool, timeout_s: float) -> float:
    """The factor for `phase`'s CPU asks on this cluster: 1.0 when it fits; smaller when it fits only with less
    CPU each (`fit_cpus`); otherwise the job asks for the resources and waits, at most `timeout_s`, for them
    to appear (an autoscaler adding nodes), then stops with a UserError naming what is missing."""
    from judge_ray.distributed.resources import cpu_scale_to_fit, unschedulable
    from judge_ray.errors import UserError

    def factor() -> Optional[float]:
        nodes = live_nodes()
        if fit_cpus:
            return cpu_scale_to_fit(phase, nodes)
        return None if unschedulable(phase, nodes) else 1.0

    found = factor()
    if found is None and timeout_s > 0:
        logger.info(f"[cluster] {phase.name}: waiting up to {timeout_s:g}s for the cluster to offer "
                    f"{len(phase.bundles)} x what each asks (ray.startup_timeout_s)")
        _ask_and_wait(phase, timeout_s)
        found = factor()
    if found is None:
        (problem, *_) = unschedulable(phase, live_nodes())
        raise UserError(f"{problem}; nothing came within ray.startup_timeout_s={timeout_s:g}: add nodes with "
                        "that resource, or lower the asks (ray.pool_size, ray.actor_cpus/actor_gpus, train.workers, "
                        "train.cpus_per_worker)")
    return found


def _fitted(section, field: str, prefix: str, phase, who: str, fit_cpus: bool, timeout_s: float):
    """`section` with its CPU ask `field` as the cluster can hold it (`fit_phase`), the change logged once."""
    from dataclasses import replace

    from judge_ray.distributed.resources import round_ask

    factor = fit_phase(phase, fit_cpus, timeout_s)
    if factor >= 1:
        return section
    nodes, ask = live_nodes(), getattr(section, field)
    cpus = round_ask(phase, ask, factor, nodes)
    logger.info(f"[cluster] {sum(n.cpus for n in nodes):g} CPUs offered: {who} ask {cpus:g} CPU each "
                f"({prefix}.{field}={ask:g} scaled down to leave room for Ray Data's tasks)")
    return replace(section, **{field: cpus})


def fit_to_cluster(ray_cfg, train_cfg=None, engines: bool = True):
    """The job's engine pool (when `engines`) and training (when given) sized to the cluster it runs on
    (`fit_phase`); returns the two sections as they will run, each scaled ask logged once. The run's saved
    config keeps what the user asked for."""
    from judge_ray.distributed.resources import engine_phase, training_phase

    fit, timeout = ray_cfg.fit_cpus, ray_cfg.startup_timeout_s
    if engines:
        ray_cfg = _fitted(ray_cfg, "actor_cpus", "ray", engine_phase(ray_cfg), "engine actors", fit, timeout)
    if train_cfg is not None:
        train_cfg = _fitted(train_cfg, "cpus_per_worker", "train", training_phase(train_cfg),
                            f"{train_cfg.workers} train workers", fit, timeout)
    return ray_cfg, train_cfg
