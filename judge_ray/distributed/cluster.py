"""Connect to Ray: `RAY_ADDRESS` (or ray.address) when set, as under `ray job submit`; else a local cluster."""
from __future__ import annotations

import logging
import os
from typing import Optional

from judge_ray.logs import forward_worker_lines, quiet_third_parties

# Env vars every Ray worker gets: quiet third-party progress/logging, our model cache.
_QUIET = {"TQDM_DISABLE": "1", "TRANSFORMERS_VERBOSITY": "error", "TOKENIZERS_PARALLELISM": "false",
          "VLLM_LOGGING_LEVEL": "WARNING", "RAY_AUTH_MODE": "disabled",
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

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    for key, value in worker_env(use_gpu).items():
        os.environ.setdefault(key, value)
    if not ray.is_initialized():
        address = address or os.environ.get("RAY_ADDRESS")
        # The driver shows the workers' marked project warnings and errors (`logs.configure_worker`, called by
        # the engine actors, train workers and Serve replicas) once each, in place of Ray's printer of their
        # output. (Not Ray's worker_process_setup_hook: a worker that cannot import it never starts, and the
        # stage waits forever.)
        kwargs = {"runtime_env": {"env_vars": worker_env(use_gpu)}, "log_to_driver": True,
                  "logging_level": logging.WARNING}
        if address:
            ray.init(address=address, **kwargs)
        else:
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
