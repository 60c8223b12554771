"""The DeepSpeed config for a TrainConfig and a model: ZeRO that partitions and frees, bf16 on GPU, fp32 on CPU.

DeepSpeed's defaults are sized for billion-parameter models on GPUs and hold far more than a small judge
needs: a 5e8-element reduce bucket is 2 GB of fp32 on every worker, and ZeRO-3's live-parameter and
reuse-distance limits of 1e9 elements keep every gathered parameter of a 135M model alive through the step,
so each worker ends up holding the whole model again. Here every size comes from the model's shape and the
worker count (`zero_sizes`), as HF's "auto" values do, and the same code sizes CPU tests and GPU runs.
"""
from __future__ import annotations

import math
from typing import Optional

from judge_ray.config import TrainConfig
from judge_ray.training.zero_memory import ModelShape

DEEPSPEED_BUCKET_DEFAULT = 500_000_000  # DeepSpeed's reduce/allgather bucket default, in elements


def zero_sizes(shape: ModelShape, workers: int, stage: int) -> dict:
    """Bucket and live-parameter sizes for `stage` from the model's shape and the worker count.

    Buckets: hidden^2 elements (one square matrix), never more than a worker's share of the model nor DeepSpeed's
    default. ZeRO-3: prefetch 0.9 x bucket; at most one layer in use plus one prefetched alive (but never less
    than the largest single tensor, which must be whole to be used); a parameter is kept for reuse only within
    that distance, so forward's layers are released before backward gathers them again; the optimizer steps
    its partitions in sub-groups of that size too (AdamW's temporaries are as big as what it steps at once).
    """
    if stage == 0:
        return {}
    share = math.ceil(shape.params / max(1, workers))
    bucket = max(1, min(shape.hidden_size ** 2, share, DEEPSPEED_BUCKET_DEFAULT))
    sizes = {"reduce_bucket_size": bucket, "allgather_bucket_size": bucket}
    if stage == 3:
        live = max(shape.largest_param, 2 * shape.layer_params)
        sizes.pop("allgather_bucket_size")  # stage 3 gathers by prefetch bucket
        sizes.update({"stage3_prefetch_bucket_size": int(0.9 * bucket), "stage3_max_live_parameters": live,
                      "stage3_max_reuse_distance": live, "sub_group_size": live})
    return sizes


def optimizer_steps(rows: int, cfg: TrainConfig, workers: Optional[int] = None) -> int:
    """Optimizer steps of a training run: each worker gets an equal share of the (padded) rows in micro-batches,
    and DeepSpeed steps the optimizer (and the LR schedule) once per `grad_accum` micro-batches."""
    workers = workers or cfg.workers
    micro = math.ceil(math.ceil(rows / workers) / cfg.batch_size_per_worker)
    return max(1, math.ceil(micro / cfg.grad_accum)) * cfg.epochs


def lr_scheduler(cfg: TrainConfig, total_steps: Optional[int]) -> Optional[dict]:
    """DeepSpeed's WarmupCosineLR for `lr_schedule=cosine`: linear warmup over `warmup_ratio` of the steps,
    then cosine decay to 0 at the last one. A decayed rate lets the last steps settle instead of moving the
    weights as far as the first (a small judge's position prior follows whatever its last batches held).
    None for a constant rate."""
    if cfg.lr_schedule != "cosine" or not total_steps:
        return None
    warmup = max(1, round(cfg.warmup_ratio * total_steps))
    return {"type": "WarmupCosineLR",
            "params": {"total_num_steps": total_steps, "warmup_num_steps": warmup, "warmup_min_ratio": 0.0,
                       "cos_min_ratio": 0.0, "warmup_type": "linear"}}


def deepspeed_config(cfg: TrainConfig, shape: Optional[ModelShape] = None, workers: Optional[int] = None,
                     total_steps: Optional[int] = None) -> dict:
    """train_batch_size is left for DeepSpeed to derive (micro batch x accumulation x world size).
    `shape` (the model's) and `workers` (default cfg.workers) size ZeRO's buffers; no shape keeps DeepSpeed's
    defaults. `total_steps` (optimizer steps of the run) sizes a cosine LR schedule."""
    conf: dict = {
        "train_micro_batch_size_per_gpu": cfg.batch_size_per_worker,
        "gradient_accumulation_steps": cfg.grad_accum,
        "gradient_clipping": 1.0,
        "zero_optimization": {"stage": cfg.zero_stage},
        "bf16": {"enabled": cfg.precision == "bf16"},
        "fp16": {"enabled": cfg.precision == "fp16"},
        "steps_per_print": 10**9,
        "wall_clock_breakdown": False,
    }
    if shape is not None:
        conf["zero_optimization"].update(zero_sizes(shape, workers or cfg.workers, cfg.zero_stage))
    if cfg.zero_stage == 3:
        conf["zero_optimization"].update({"overlap_comm": cfg.use_gpu,
                                          "stage3_param_persistence_threshold": 0})  # small tensors too are partitioned
    if cfg.deepspeed_optimizer:
        conf["optimizer"] = {"type": "AdamW", "params": {"lr": cfg.lr, "weight_decay": cfg.weight_decay}}
    else:
        conf["zero_allow_untested_optimizer"] = True  # a client torch AdamW: no JIT-compiled op on CPU
    scheduler = lr_scheduler(cfg, total_steps)
    if scheduler:
        conf["scheduler"] = scheduler  # DeepSpeed steps it with the optimizer, and checkpoints its state
    return conf
