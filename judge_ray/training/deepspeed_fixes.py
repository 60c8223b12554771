"""The DeepSpeed workarounds this stack needs (../shared/cpu-stack.md), in one place, each saying what it did.

Each one depends on DeepSpeed's or transformers' internals: when a release renames what it touches, it logs a
warning and does nothing, instead of silently changing nothing.
"""
from __future__ import annotations

import importlib
import logging

logger = logging.getLogger(__name__)


def skip_cpu_shm_op() -> bool:
    """DeepSpeed's CPU backend JIT-builds its `deepspeed_shm_comm` op (46 s on a fresh machine) on every
    `deepspeed.initialize`; it serves only inference all-reduce. Returns whether the build was skipped."""
    module = importlib.import_module("deepspeed.comm.torch")  # `import deepspeed.comm.torch as x` gives torch
    if not hasattr(module, "build_shm_op"):
        logger.warning("deepspeed.comm.torch has no build_shm_op any more: its CPU shm op is not skipped "
                       "(a JIT build of ~46 s on a fresh CPU machine)")
        return False
    module.build_shm_op = lambda: None
    logger.debug("DeepSpeed's CPU shm op (inference all-reduce) is not built")
    return True


def share_fp32_partitions(engine, zero_stage: int) -> int:
    """Under ZeRO-3 in fp32, make the optimizer's fp32 master partitions the parameter partitions themselves;
    returns the bytes freed per worker.

    DeepSpeed means to skip the master copy when the model is already fp32 (stage3.py, `_create_fp32_partitions`:
    "we don't need another copy of the weights"), but its test compares a torch.device with the device *name*
    (`torch.device("cpu") == "cpu"` is False), so every fp32 run keeps a second fp32 copy of its partition: 4 of
    its 12 bytes per parameter. The optimizer's parameter objects (its state's keys) stay; only their storage is
    the parameters', so a step updates the weights in place and DeepSpeed's copy back becomes a self-copy.
    """
    opt = engine.optimizer
    if zero_stage != 3 or getattr(opt, "offload_optimizer", False):
        return 0
    masters = getattr(opt, "fp32_partitioned_groups_flat", None)
    params = getattr(opt, "fp16_partitioned_groups_flat", None)
    if masters is None or params is None:
        logger.warning("DeepSpeed's ZeRO-3 optimizer has no fp32_partitioned_groups_flat/"
                       "fp16_partitioned_groups_flat: the fp32 master partitions keep their own copy "
                       "(4 bytes per parameter per worker more)")
        return 0
    freed = 0
    for master, param in zip(masters, params):
        if (param is None or master.dtype != param.dtype or master.device != param.device
                or master.shape != param.shape or master.data_ptr() == param.data_ptr()):
            continue
        freed += master.numel() * master.element_size()
        master.data = param.data
    logger.debug("fp32 master partitions shared with the parameters: %.1f MB freed on this worker", freed / 1e6)
    return freed
