"""What ZeRO holds per worker: the model's shape, the bytes each stage should hold, and the bytes it does hold.

Three views of one question, kept together so the DeepSpeed config, the benchmark and the GPU preset's comments
use the same numbers: `model_shape` (counted on the meta device: no weights are built), `expected_bytes` (the
accounting of DeepSpeed's allocations, checked against `held_bytes` by benchmarks/zero_memory.py), and
`held_bytes` (the unique storages a live DeepSpeed engine holds, read from its partitioned tensors).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

DTYPE_BYTES = {"fp32": 4, "bf16": 2, "fp16": 2}
ADAM_STATE_BYTES = 8  # exp_avg and exp_avg_sq, fp32


@dataclass(frozen=True)
class ModelShape:
    """What sizes ZeRO's buffers: every parameter, the widest matrix side, the largest single tensor and the
    largest block of a layer stack (what ZeRO-3 must gather at once)."""

    params: int
    hidden_size: int
    largest_param: int
    layer_params: int

    def as_dict(self) -> dict:
        return asdict(self)


def model_shape(config) -> ModelShape:
    """Counted on a model built on the meta device from a HF config: exact, and free even at billions."""
    import torch
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    params = list(model.parameters())  # tied weights once
    layers = [sum(p.numel() for p in block.parameters()) for module in model.modules()
              if isinstance(module, torch.nn.ModuleList) for block in module]
    largest = max(p.numel() for p in params)
    hidden = getattr(config, "hidden_size", None) or int(math.isqrt(largest))
    return ModelShape(sum(p.numel() for p in params), int(hidden), largest, max(layers, default=largest))


def expected_bytes(params: int, stage: int, workers: int, precision: str = "fp32") -> dict[str, int]:
    """Per-worker bytes of parameters, gradients and optimizer state as DeepSpeed allocates them for AdamW.

    Stage 1 partitions the optimizer state, 2 the gradients too, 3 the parameters too (ZeRO paper, table 1).
    The optimizer state counts the fp32 master weights where they are a separate copy: always in bf16/fp16;
    in fp32 only at stages 1-2 (stage 3 updates the fp32 partitions in place, stage 0 the model itself).
    """
    low = DTYPE_BYTES[precision]
    share = {"params": workers if stage >= 3 else 1, "grads": workers if stage >= 2 else 1,
             "optimizer": workers if stage >= 1 else 1}
    master = 4 if (precision != "fp32" or stage in (1, 2)) else 0
    return {"params": math.ceil(low * params / share["params"]),
            "grads": math.ceil(low * params / share["grads"]),
            "optimizer": math.ceil((ADAM_STATE_BYTES + master) * params / share["optimizer"])}


def _storages(tensors, seen: set) -> int:
    """Bytes of the storages behind `tensors` not already counted: views of one flat buffer count once."""
    import torch

    total = 0
    for t in tensors:
        if not isinstance(t, torch.Tensor) or t.device.type == "meta":
            continue
        storage = t.untyped_storage()
        key = storage.data_ptr()
        if key == 0 or key in seen:
            continue
        seen.add(key)
        total += storage.nbytes()
    return total


def held_bytes(engine) -> dict[str, int]:
    """The parameter, gradient and optimizer-state bytes a DeepSpeed engine holds on this worker, from its tensors.

    Parameters: ZeRO-3's partitions (`ds_tensor`), else the module's own. Gradients: `.grad`s and ZeRO's gradient
    partitions. Optimizer: the inner optimizer's state and master-weight partitions not shared with the
    parameters. `comm_buffers`: ZeRO's gradient-reduction buckets (sized by the config, not by the model).
    """
    seen: set = set()
    opt = engine.optimizer
    module_params = list(engine.module.parameters())
    params = _storages((getattr(p, "ds_tensor", p) for p in module_params), seen)
    grad_partitions = [getattr(opt, "grad_partitions_flat_buffer", None), getattr(opt, "grads_in_partition", None)]
    averaged = getattr(opt, "averaged_gradients", None) or {}
    for group in (averaged.values() if isinstance(averaged, dict) else averaged):
        grad_partitions.extend(group if isinstance(group, (list, tuple)) else [group])
    grads = _storages([p.grad for p in module_params] + grad_partitions, seen)
    inner = getattr(opt, "optimizer", opt)
    masters = list(getattr(opt, "fp32_partitioned_groups_flat", None) or getattr(opt, "single_partition_of_fp32_groups",
                                                                                    None) or [])
    state = [t for s in getattr(inner, "state", {}).values() for t in s.values()]
    optimizer = _storages(masters + state, seen)
    buckets = [getattr(b, "buffer", None) for b in (getattr(opt, "ipg_buckets", None) or {}).values()]
    buckets += list(getattr(opt, "ipg_buffer", None) or [])
    return {"params": params, "grads": grads, "optimizer": optimizer, "comm_buffers": _storages(buckets, seen)}


MMAP_THRESHOLD = 4 << 20  # bytes: tensors this large or larger get their own pages, returned when freed
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number


def return_large_frees_to_the_os(threshold: int = MMAP_THRESHOLD) -> bool:
    """Make every allocation of `threshold` bytes or more its own mmap, unmapped when freed; True if set.

    glibc raises its mmap threshold (up to 32 MB) each time a large block is freed, so afterwards tensors of a
    few MB (a layer's weights, their gradients) come from the heap, and freeing them does not shrink the
    process. ZeRO-3 replaces the model's tensors several times while it partitions and defragments them; with the
    default, each worker kept about 4 bytes per parameter of such freed memory (measured: 1.1 GB at 253M
    parameters, one worker). A fixed threshold keeps RSS to what is alive. Non-glibc systems: a no-op.
    """
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, int(threshold)))
    except (OSError, AttributeError):
        return False


def peak_rss_bytes() -> int:
    """This process's peak resident set since it started (getrusage's ru_maxrss, in KiB on Linux: VmHWM)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class MemoryProbe:
    """Per-worker figures of a training run for benchmarks/zero_memory.py: the largest held bytes seen at any
    step, each step's time, peak RSS; written to `<probe_dir>/rank<r>.json` at the end. Without a probe_dir
    (every real run) it does nothing."""

    def __init__(self, probe_dir: str | None, rank: int):
        self.path = None if not probe_dir else f"{probe_dir}/rank{rank}.json"
        self.figures: dict = {"rank": rank, "held": {}, "step_s": []}

    def held(self, engine) -> None:
        if self.path:
            for key, value in held_bytes(engine).items():
                self.figures["held"][key] = max(value, self.figures["held"].get(key, 0))

    def step(self, seconds: float) -> None:
        if self.path:
            self.figures["step_s"].append(round(seconds, 3))

    def note(self, key: str, value) -> None:
        if self.path:
            self.figures[key] = value

    def mark(self, phase: str) -> None:
        """The peak RSS so far, at the end of a phase: where in the run the peak comes from."""
        if self.path:
            self.figures.setdefault("peak_rss_after", {})[phase] = peak_rss_bytes()

    def write(self) -> None:
        if self.path:
            import json
            from pathlib import Path

            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            Path(self.path).write_text(json.dumps({**self.figures, "peak_rss": peak_rss_bytes()}, indent=2) + "\n")
