"""Ray Train + DeepSpeed ZeRO-3 fine-tuning of a causal LM on (prompt, response) examples.

The training function follows what was measured on this stack (../shared/cpu-stack.md): DeepSpeed imported
inside the worker; its CPU shm op (inference only) not built; the model loaded with `HfDeepSpeedConfig` alive
so weights go straight into partitions, then that config dropped right after `deepspeed.initialize` (nothing
built later is to be partitioned); ZeRO's buffers and live-parameter limits sized from the model (deepspeed_config);
the export streamed tensor by tensor into safetensors shards (training/export.py), never a second full model.
Each epoch every rank saves its shards and reports them through
`ray.train.report`; a restarted worker group (FailureConfig) or a rerun of the job resumes from the latest.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from judge_ray.config import TrainConfig
from judge_ray.training.deepspeed_config import optimizer_steps
from judge_ray.training.sft_data import pad_to_workers

TRAINING_RECORD = "judge_ray_training.json"  # written into the exported model directory


def _train_worker(config: dict) -> None:  # runs on every Ray Train worker
    import importlib

    import torch
    import torch._dynamo  # noqa: F401  (before any zero.Init: a lazy import inside it fails)
    import deepspeed

    importlib.import_module("deepspeed.comm.torch").build_shm_op = lambda: None
    import ray.train
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from transformers.integrations import HfDeepSpeedConfig
    from transformers.integrations.deepspeed import unset_hf_deepspeed_config

    from judge_ray.models import resolve_model
    from judge_ray.training.deepspeed_config import deepspeed_config
    from judge_ray.training.sft_data import batch_sequences, collate, tokenize_example
    from judge_ray.training.zero_memory import MemoryProbe, model_shape, return_large_frees_to_the_os

    return_large_frees_to_the_os()

    cfg = TrainConfig(**config["train"])
    ctx = ray.train.get_context()
    rank = ctx.get_world_rank()
    torch.set_num_threads(max(1, cfg.cpus_per_worker))
    torch.manual_seed(config["seed"])
    model_path = resolve_model(config["model"])
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    model_config = AutoConfig.from_pretrained(model_path)
    ds_conf = deepspeed_config(cfg, model_shape(model_config), ctx.get_world_size(), config.get("total_steps"))
    deepspeed.init_distributed(dist_backend="nccl" if cfg.use_gpu else "gloo")  # adopts Ray's process group
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(cfg.precision, torch.float32)
    probe = MemoryProbe(config.get("probe_dir"), rank)

    loading = time.time()
    probe.mark("imports")
    hf_ds = HfDeepSpeedConfig(ds_conf) if cfg.zero_stage == 3 else None  # noqa: F841 (must stay alive)
    if config.get("from_config"):  # random initialisation from config.json (benchmarks of sizes with no weights)
        model = AutoModelForCausalLM.from_config(model_config, dtype=dtype)
    else:
        model = AutoModelForCausalLM.from_pretrained(model_path, dtype=dtype)
    model.config.use_cache = False
    probe.mark("model")
    optimizer = None
    if not cfg.deepspeed_optimizer:
        optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    engine, _, _, _ = deepspeed.initialize(model=model, optimizer=optimizer, config=ds_conf,
                                           model_parameters=model.parameters() if optimizer is None else None)
    unset_hf_deepspeed_config()
    del hf_ds
    share_fp32_partitions(engine)
    probe.mark("deepspeed_initialize")
    probe.note("load_s", time.time() - loading)
    if rank == 0:
        print(f"[train] model loaded into ZeRO-{cfg.zero_stage} partitions in {time.time() - loading:.1f}s", flush=True)

    start_epoch, step = 0, 0
    checkpoint = ray.train.get_checkpoint()
    if checkpoint:
        with checkpoint.as_directory() as ckpt_dir:
            state = json.loads((Path(ckpt_dir) / "state.json").read_text())
            engine.load_checkpoint(ckpt_dir, tag=state["tag"])
            share_fp32_partitions(engine)  # loading may give the master partitions their own storage again
            start_epoch, step = state["epoch"] + 1, state["step"]
        if rank == 0:
            print(f"[train] resumed from epoch {state['epoch']} (step {step})", flush=True)
    resumed_from = step if checkpoint else None

    metrics: dict = {"loss": None}  # stays so only if a resumed run had no epoch left to train
    shard = ray.train.get_dataset_shard("train")
    device = engine.device
    for epoch in range(start_epoch, cfg.epochs):
        engine.train()
        losses, started = [], time.time()
        for batch in shard.iter_batches(batch_size=cfg.batch_size_per_worker, batch_format="pandas"):
            examples = [tokenize_example(tokenizer, p, r, cfg.max_length)
                        for p, r in batch_sequences(batch["prompt"], batch["response"])]
            inputs = {k: v.to(device) for k, v in collate(examples, pad_id).items()}
            stepping = time.time()
            loss = engine(**inputs).loss
            engine.backward(loss)
            probe.held(engine)  # gradients, parameters and the previous step's optimizer state all alive
            engine.step()
            step += 1
            probe.step(time.time() - stepping)
            losses.append(float(loss.detach().cpu()))
            if rank == 0:
                print(f"[train] epoch {epoch + 1}/{cfg.epochs} step {step} loss {losses[-1]:.4f} "
                      f"({time.time() - started:.1f}s)", flush=True)
        metrics = {"epoch": epoch, "step": step, "loss": sum(losses) / len(losses) if losses else None}
        if epoch == cfg.epochs - 1 and not cfg.keep_checkpoints:
            # The export right after is this epoch's durable output; its ZeRO checkpoint (optimizer state
            # included, ~12x the weights) would be written only to be deleted. A crash during export redoes
            # this last epoch from the previous checkpoint.
            ray.train.report(metrics)
            continue
        saving = time.time()
        with tempfile.TemporaryDirectory() as ckpt_dir:
            tag = f"epoch_{epoch}"
            engine.save_checkpoint(ckpt_dir, tag=tag)
            if rank == 0:
                (Path(ckpt_dir) / "state.json").write_text(json.dumps({"tag": tag, "epoch": epoch, "step": step}))
            ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(ckpt_dir))
        if rank == 0:
            print(f"[train] checkpoint of epoch {epoch + 1} saved in {time.time() - saving:.1f}s", flush=True)

    record = {"base_model": config["model"], "epochs": cfg.epochs, "steps": step, "final_epoch_loss": metrics["loss"],
              "lr": cfg.lr, "lr_schedule": cfg.lr_schedule, "final_lr": float(engine.get_lr()[0]),
              "zero_stage": cfg.zero_stage, "precision": cfg.precision, "workers": ctx.get_world_size(),
              "resumed_from_step": resumed_from, **config.get("record", {})}
    probe.mark("steps")
    probe.note("export_s", _export(engine, cfg, model_path, model_config, tokenizer, config["export_dir"], rank,
                                   dtype, record))
    probe.mark("export")
    probe.write()


def share_fp32_partitions(engine) -> int:
    """Under ZeRO-3 in fp32, make the optimizer's fp32 master partitions the parameter partitions themselves;
    returns the bytes freed per worker.

    DeepSpeed means to skip the master copy when the model is already fp32 (stage3.py, `_create_fp32_partitions`:
    "we don't need another copy of the weights"), but its test compares a torch.device with the device *name*
    (`torch.device("cpu") == "cpu"` is False), so every fp32 run keeps a second fp32 copy of its partition: 4 of
    its 12 bytes per parameter. The optimizer's parameter objects (its state's keys) stay; only their storage is
    the parameters', so a step updates the weights in place and DeepSpeed's copy back becomes a self-copy.
    """
    opt = engine.optimizer
    masters = getattr(opt, "fp32_partitioned_groups_flat", None)
    params = getattr(opt, "fp16_partitioned_groups_flat", None)
    if not masters or not params or getattr(opt, "offload_optimizer", False):
        return 0
    freed = 0
    for master, param in zip(masters, params):
        if (param is None or master.dtype != param.dtype or master.device != param.device
                or master.shape != param.shape or master.data_ptr() == param.data_ptr()):
            continue
        freed += master.numel() * master.element_size()
        master.data = param.data
    return freed


def _export(engine, cfg: TrainConfig, model_path: str, model_config, tokenizer, export_dir: str, rank: int, dtype,
            record: dict) -> float:
    """The trained weights as a HF directory, written by rank 0 tensor by tensor (a collective under ZeRO-3),
    into a temporary directory renamed into place when complete; returns the seconds it took (this rank's)."""
    import copy

    from transformers import GenerationConfig

    from judge_ray.training.export import write_weights

    exporting = time.time()
    out = Path(export_dir)
    tmp = Path(tempfile.mkdtemp(prefix=out.name + ".", dir=out.parent)) if rank == 0 else None
    count = write_weights(engine.module, tmp, rank, dtype, partitioned=cfg.zero_stage == 3)
    if rank != 0:
        return time.time() - exporting
    config = copy.deepcopy(model_config)  # the one the model was built from; only the copy is changed
    config.use_cache = True
    config.dtype = dtype
    config.save_pretrained(tmp)
    try:
        GenerationConfig.from_pretrained(model_path).save_pretrained(tmp)
    except OSError:
        pass
    tokenizer.save_pretrained(tmp)
    (tmp / TRAINING_RECORD).write_text(json.dumps(record, indent=2) + "\n")
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)
    elapsed = time.time() - exporting
    print(f"[train] exported {count / 1e6:.2f}M parameters to {out} in {elapsed:.1f}s", flush=True)
    return elapsed


def training_dataset(rows: list[dict] | Path, workers: int, pair_orders: bool = False):
    """The SFT examples as a Ray Data dataset and its row count: rows in memory (a JudgeLM file) or a Parquet
    folder (the loop's SFT set, read by the workers, never by the driver). Padded so every worker gets as many
    (see `pad_to_workers`): the first rows are repeated. Under `pair_orders` a row is a pair (`group_by_pair`):
    a folder is hash-partitioned by pair and packed block by block, then materialized (it is counted, and the
    trainer reads it again)."""
    import pandas as pd
    import ray.data

    from judge_ray.training.sft_data import group_by_pair, pair_key

    if not isinstance(rows, (str, Path)):
        rows = list(rows)
        if pair_orders and rows:
            rows = group_by_pair(rows, pair_key(list(rows[0])))
        return ray.data.from_pandas(pd.DataFrame(pad_to_workers(rows, workers))[["prompt", "response"]]), len(rows)
    from judge_ray.distributed.dataflow import map_grouped, parquet_rows, read_folder

    def read():
        ds = read_folder(Path(rows))
        if not pair_orders:
            return ds.select_columns(["prompt", "response"])
        key = pair_key(ds.columns())
        ds = ds.select_columns([key, "prompt", "response"])
        return map_grouped(ds, _pack_pairs, {"key": key}, key, parquet_rows(Path(rows))).materialize()

    ds = first = read()
    n = ds.count()
    short = (-n) % workers
    while short:  # a set smaller than the worker count repeats whole
        extra = min(short, n)
        ds, short = ds.union((first if pair_orders else read()).limit(extra)), short - extra
    return ds, n


def _pack_pairs(block, key: str):
    """A hash partition's rows, one per pair (every row of a pair is in the block)."""
    import pandas as pd

    from judge_ray.training.sft_data import group_by_pair

    return pd.DataFrame(group_by_pair(block.to_dict("records"), key), columns=["prompt", "response"])


def train_sft(rows: list[dict] | Path, *, model: str, cfg: TrainConfig, export_dir: Path, storage_dir: Path,
              seed: int, run_name: str, log: Callable[[str], None] = print, record: dict | None = None,
              probe_dir: Path | None = None, from_config: bool = False) -> dict:
    """Fine-tune `model` on rows with `prompt`/`response` (a list, or a Parquet folder streamed to the workers)
    and export a HF directory to `export_dir`.

    Checkpoints go to `storage_dir` (shared storage on a multi-node cluster); rerunning with the same
    `storage_dir` and `run_name` resumes from the latest checkpoint. Returns the last reported metrics.
    `record` adds facts to the export's judge_ray_training.json (e.g. the judge's prompt format).
    benchmarks/zero_memory.py passes `probe_dir` (each worker writes its memory figures there) and `from_config`
    (random weights from the directory's config.json: sizes that exist only as a config).
    """
    from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    export_dir, storage_dir = Path(export_dir).resolve(), Path(storage_dir).resolve()
    export_dir.parent.mkdir(parents=True, exist_ok=True)
    storage_dir.mkdir(parents=True, exist_ok=True)
    started = time.time()
    dataset, n_rows = training_dataset(rows, cfg.workers, cfg.pair_orders)
    total_steps = optimizer_steps(n_rows, cfg)
    trainer = TorchTrainer(
        _train_worker,
        train_loop_config={"train": asdict(cfg), "model": model, "export_dir": str(export_dir), "seed": seed,
                           "record": record or {}, "probe_dir": str(probe_dir) if probe_dir else None,
                           "from_config": from_config, "total_steps": total_steps},
        torch_config=TorchConfig(backend="nccl" if cfg.use_gpu else "gloo"),
        scaling_config=ScalingConfig(num_workers=cfg.workers, use_gpu=cfg.use_gpu,
                                     resources_per_worker={"CPU": cfg.cpus_per_worker,
                                                           **({"GPU": 1} if cfg.use_gpu else {})}),
        run_config=RunConfig(name=run_name, storage_path=str(storage_dir),
                             failure_config=FailureConfig(max_failures=cfg.max_failures),
                             checkpoint_config=CheckpointConfig(num_to_keep=1)),
        datasets={"train": dataset},
    )
    result = trainer.fit()
    if result.error:
        raise result.error
    if not (export_dir / "config.json").is_file():
        raise RuntimeError(f"training finished but no model was exported to {export_dir}")
    # Ray Train V2 keeps metrics only of reports that carry a checkpoint; the export records its own.
    record = json.loads((export_dir / TRAINING_RECORD).read_text())
    metrics = {"loss": record["final_epoch_loss"], "step": record["steps"], "epoch": record["epochs"] - 1,
               "resumed_from_step": record.get("resumed_from_step"), "wall_s": time.time() - started}
    loss = "-" if metrics["loss"] is None else f"{metrics['loss']:.4f}"
    unit = "pairs" if cfg.pair_orders else "examples"
    log(f"  train: {n_rows} {unit}, {cfg.workers} workers, ZeRO-{cfg.zero_stage}, {metrics['step']} steps, "
        f"loss {loss}, {metrics['wall_s']:.1f}s")
    return metrics


def copy_model(src: str, export_dir: Path) -> None:
    """When there is nothing to train on, M_i is M_0: copy it so the next iteration finds a model dir."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tmp = Path(tempfile.mkdtemp(prefix=export_dir.name + ".", dir=export_dir.parent))
    AutoModelForCausalLM.from_pretrained(src).save_pretrained(tmp, safe_serialization=True)
    AutoTokenizer.from_pretrained(src).save_pretrained(tmp)
    os.replace(tmp, export_dir)

