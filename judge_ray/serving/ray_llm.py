"""Everything the OpenAI-compatible routes take from Ray's LLM serving beyond its public API, in one place.

`ray.llm._internal` is not a stable API, and `serving/openai_app.py` overrides methods of the alpha
`OpenAiIngress` by name. Both are written against the Ray that requirements/gpu.lock pins (with the vLLM that Ray
release pins). `contract_problems()` lists what no longer matches: tests/serving/test_ray_llm.py fails on it with
each change named, and the OpenAI app refuses to build with the same lines instead of misbehaving at run time."""
from __future__ import annotations

import inspect
from typing import Callable

# The pinned Ray whose ray.llm this module is written against (tests/deploy/test_pins.py keeps it with the lock).
RAY_VERSION = "2.60.0"

# OpenAiIngress methods the guarded ingress overrides or calls, with the parameters it passes or relies on.
INGRESS_METHODS = {
    "__init__": ("self", "llm_deployments", "model_cards", "lora_paths"),
    "completions": ("self", "body", "request"),
    "chat": ("self", "body", "request"),
    "get_deployment_options": ("llm_configs",),
}


def openai_fastapi():
    """Ray's own FastAPI app for the OpenAI routes (its error handling, CORS and metrics), as
    `build_openai_app` makes it."""
    from ray.llm._internal.serve.core.ingress.ingress import init

    return init()


def model_card(model_id: str, llm_config) -> object:
    """The `/v1/models` card of a model, as `build_openai_app` makes it."""
    from ray.llm._internal.serve.core.configs.openai_api_models import to_model_metadata

    return to_model_metadata(model_id, llm_config)


def _params(fn: Callable) -> list[str]:
    return list(inspect.signature(fn).parameters)


def contract_problems() -> list[str]:
    """One line per thing that no longer matches the Ray this module was written against (none: all is well)."""
    import ray

    problems = []
    if ray.__version__ != RAY_VERSION:
        problems.append(f"Ray is {ray.__version__}, serving/ray_llm.py is written against {RAY_VERSION}")
    try:
        from ray.llm._internal.serve.core.configs.openai_api_models import to_model_metadata
        from ray.llm._internal.serve.core.ingress.ingress import init
        from ray.serve.llm.ingress import OpenAiIngress, make_fastapi_ingress  # noqa: F401
    except ImportError as exc:
        return problems + [f"ray.llm moved: {exc}"]
    if _params(init):
        problems.append(f"ray.llm's ingress init() now takes {_params(init)}")
    if _params(to_model_metadata)[:2] != ["model_id", "model_config"]:
        problems.append(f"to_model_metadata now takes {_params(to_model_metadata)}")
    for name, expected in INGRESS_METHODS.items():
        method = getattr(OpenAiIngress, name, None)
        if method is None:
            problems.append(f"OpenAiIngress.{name} is gone")
            continue
        missing = [p for p in expected if p not in _params(method)]
        if missing:
            problems.append(f"OpenAiIngress.{name} no longer takes {missing} (now {_params(method)})")
    return problems
