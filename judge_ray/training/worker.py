"""What every Ray Train worker runs (`train_worker`): set-up, resume, epochs with a checkpoint each, export.

It follows what was measured on this stack (../shared/cpu-stack.md): DeepSpeed imported inside the worker (Ray
issue 50406) with its CPU-only workarounds applied (`deepspeed_fixes`); the model loaded with `HfDeepSpeedConfig`
alive so weights go straight into partitions, then that config dropped right after `deepspeed.initialize`
(nothing built later is to be partitioned); ZeRO's buffers and live-parameter limits sized from the model
(`deepspeed_config`). Each epoch every rank saves its shards and reports them through `ray.train.report`; a
restarted worker group (FailureConfig) or a rerun of the job resumes from the latest. Rank 0's progress lines
go to a file the driver shows (`train_progress`).
"""
from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from judge_ray.config import TrainConfig
from judge_ray.training.train_progress import ProgressFile


@dataclass
class Worker:
    """One worker's state across its phases."""

    cfg: TrainConfig
    config: dict
    rank: int
    world: int
    say: Callable[[str], None]
    engine: Any = None
    tokenizer: Any = None
    model_config: Any = None
    model_path: str = ""
    dtype: Any = None
    probe: Any = None
    pad_id: int = 0


def _setup(config: dict) -> Worker:
    """Imports, threads, seed, tokenizer, the DeepSpeed config sized from the model, the model in its partitions."""
    import torch
    import torch._dynamo  # noqa: F401  (before any zero.Init: a lazy import inside it fails)
    import deepspeed
    import ray.train
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from transformers.integrations import HfDeepSpeedConfig
    from transformers.integrations.deepspeed import unset_hf_deepspeed_config

    from judge_ray.logs import configure_worker
    from judge_ray.models import resolve_model
    from judge_ray.training.deepspeed_config import deepspeed_config
    from judge_ray.training.deepspeed_fixes import share_fp32_partitions, skip_cpu_shm_op
    from judge_ray.training.zero_memory import MemoryProbe, model_shape, return_large_frees_to_the_os

    skip_cpu_shm_op()
    return_large_frees_to_the_os()
    configure_worker()
    cfg = TrainConfig(**config["train"])
    ctx = ray.train.get_context()
    rank = ctx.get_world_rank()
    w = Worker(cfg=cfg, config=config, rank=rank, world=ctx.get_world_size(),
               say=ProgressFile(config.get("progress_path") if rank == 0 else None))
    torch.set_num_threads(max(1, int(cfg.cpus_per_worker)))
    torch.manual_seed(config["seed"])
    w.model_path = resolve_model(config["model"])
    w.tokenizer = AutoTokenizer.from_pretrained(w.model_path)
    w.pad_id = w.tokenizer.pad_token_id if w.tokenizer.pad_token_id is not None else w.tokenizer.eos_token_id
    w.model_config = AutoConfig.from_pretrained(w.model_path)
    ds_conf = deepspeed_config(cfg, model_shape(w.model_config), w.world, config.get("total_steps"))
    deepspeed.init_distributed(dist_backend="nccl" if cfg.use_gpu else "gloo")  # adopts Ray's process group
    w.dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(cfg.precision, torch.float32)
    w.probe = MemoryProbe(config.get("probe_dir"), rank)

    loading = time.time()
    w.probe.mark("imports")
    hf_ds = HfDeepSpeedConfig(ds_conf) if cfg.zero_stage == 3 else None  # noqa: F841 (must stay alive)
    if config.get("from_config"):  # random initialisation from config.json (benchmarks of sizes with no weights)
        model = AutoModelForCausalLM.from_config(w.model_config, dtype=w.dtype)
    else:
        model = AutoModelForCausalLM.from_pretrained(w.model_path, dtype=w.dtype)
    model.config.use_cache = False
    w.probe.mark("model")
    optimizer = None
    if not cfg.deepspeed_optimizer:
        optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    w.engine, _, _, _ = deepspeed.initialize(model=model, optimizer=optimizer, config=ds_conf,
                                             model_parameters=model.parameters() if optimizer is None else None)
    unset_hf_deepspeed_config()
    del hf_ds
    share_fp32_partitions(w.engine, cfg.zero_stage)
    w.probe.mark("deepspeed_initialize")
    w.probe.note("load_s", time.time() - loading)
    w.say(f"[train] model loaded into ZeRO-{cfg.zero_stage} partitions in {time.time() - loading:.1f}s")
    return w


def _resume(w: Worker) -> tuple[int, int, int | None]:
    """(first epoch to train, steps done, the step resumed from or None) from Ray Train's latest checkpoint."""
    import ray.train

    from judge_ray.training.deepspeed_fixes import share_fp32_partitions

    checkpoint = ray.train.get_checkpoint()
    if not checkpoint:
        return 0, 0, None
    with checkpoint.as_directory() as ckpt_dir:
        state = json.loads((Path(ckpt_dir) / "state.json").read_text())
        w.engine.load_checkpoint(ckpt_dir, tag=state["tag"])
        share_fp32_partitions(w.engine, w.cfg.zero_stage)  # loading may give the masters their own storage again
    w.say(f"[train] resumed from epoch {state['epoch']} (step {state['step']})")
    return state["epoch"] + 1, state["step"], state["step"]


def _epoch(w: Worker, shard, epoch: int, step: int) -> tuple[int, list[float]]:
    """One pass over this worker's shard; returns the step count after it and the losses."""
    from judge_ray.training.sft_data import batch_sequences, collate, tokenize_example

    w.engine.train()
    losses, started = [], time.time()
    for batch in shard.iter_batches(batch_size=w.cfg.batch_size_per_worker, batch_format="pandas"):
        examples = [tokenize_example(w.tokenizer, p, r, w.cfg.max_length)
                    for p, r in batch_sequences(batch["prompt"], batch["response"])]
        inputs = {k: v.to(w.engine.device) for k, v in collate(examples, w.pad_id).items()}
        stepping = time.time()
        loss = w.engine(**inputs).loss
        w.engine.backward(loss)
        w.probe.held(w.engine)  # gradients, parameters and the previous step's optimizer state all alive
        w.engine.step()
        step += 1
        w.probe.step(time.time() - stepping)
        losses.append(float(loss.detach().cpu()))
        w.say(f"[train] epoch {epoch + 1}/{w.cfg.epochs} step {step} loss {losses[-1]:.4f} "
              f"({time.time() - started:.1f}s)")
    return step, losses


def _save(w: Worker, epoch: int, step: int, metrics: dict) -> None:
    """Every rank's ZeRO shards (and rank 0's state.json) reported as this epoch's Ray Train checkpoint."""
    import ray.train

    saving = time.time()
    with tempfile.TemporaryDirectory() as ckpt_dir:
        tag = f"epoch_{epoch}"
        w.engine.save_checkpoint(ckpt_dir, tag=tag)
        if w.rank == 0:
            (Path(ckpt_dir) / "state.json").write_text(json.dumps({"tag": tag, "epoch": epoch, "step": step}))
        ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(ckpt_dir))
    w.say(f"[train] checkpoint of epoch {epoch + 1} saved in {time.time() - saving:.1f}s")


def train_worker(config: dict) -> None:
    """The training function of every Ray Train worker."""
    import ray.train

    from judge_ray.training.export import export_model

    w = _setup(config)
    start_epoch, step, resumed_from = _resume(w)
    metrics: dict = {"loss": None}  # stays so only if a resumed run had no epoch left to train
    shard = ray.train.get_dataset_shard("train")
    for epoch in range(start_epoch, w.cfg.epochs):
        step, losses = _epoch(w, shard, epoch, step)
        metrics = {"epoch": epoch, "step": step, "loss": sum(losses) / len(losses) if losses else None}
        if epoch == w.cfg.epochs - 1 and not w.cfg.keep_checkpoints:
            # The export right after is this epoch's durable output; its ZeRO checkpoint (optimizer state
            # included, ~12x the weights) would be written only to be deleted. A crash during export redoes
            # this last epoch from the previous checkpoint.
            ray.train.report(metrics)
            continue
        _save(w, epoch, step, metrics)

    cfg = w.cfg
    record = {"base_model": config["model"], "epochs": cfg.epochs, "steps": step, "final_epoch_loss": metrics["loss"],
              "lr": cfg.lr, "lr_schedule": cfg.lr_schedule, "final_lr": float(w.engine.get_lr()[0]),
              "zero_stage": cfg.zero_stage, "precision": cfg.precision, "workers": w.world,
              "resumed_from_step": resumed_from, **config.get("record", {})}
    w.probe.mark("steps")
    w.probe.note("export_s", export_model(w.engine, cfg.zero_stage == 3, w.model_path, w.model_config, w.tokenizer,
                                          config["export_dir"], w.rank, w.dtype, record, w.say))
    w.probe.mark("export")
    w.probe.write()
