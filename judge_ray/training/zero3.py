"""The driver's side of fine-tuning: a Ray Train `TorchTrainer` running DeepSpeed ZeRO-3 on every worker
(`training.worker`) over the SFT examples (`training.sft_dataset`), its checkpoints in `storage_dir` (a rerun
resumes from the latest), the exported Hugging Face directory read back for its record (`training.export`).
The workers' progress lines are shown here once each (`training.train_progress`).
"""
from __future__ import annotations

import logging
import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from judge_ray import storage
from judge_ray.config import TrainConfig
from judge_ray.distributed.node_loss import retry_on_node_loss
from judge_ray.training.deepspeed_config import optimizer_steps
from judge_ray.training.export import TRAINING_RECORD
from judge_ray.training.sft_dataset import training_dataset
from judge_ray.training.train_progress import TailProgress
from judge_ray.training.worker import train_worker

logger = logging.getLogger(__name__)

__all__ = ["TRAINING_RECORD", "copy_model", "train_sft", "training_dataset"]


def train_sft(rows: list[dict] | Path, *, model: str, cfg: TrainConfig, export_dir: Path, storage_dir: Path,
              seed: int, run_name: str, record: dict | None = None,
              probe_dir: Path | None = None, from_config: bool = False) -> dict:
    """Fine-tune `model` on rows with `prompt`/`response` (a list, or a Parquet folder streamed to the workers)
    and export a HF directory to `export_dir`.

    Checkpoints go to `storage_dir` (shared storage on a multi-node cluster); rerunning with the same
    `storage_dir` and `run_name` resumes from the latest checkpoint. Returns the last reported metrics.
    `record` adds facts to the export's judge_ray_training.json (e.g. the judge's prompt format).
    benchmarks/zero_memory.py passes `probe_dir` (each worker writes its memory figures there) and `from_config`
    (random weights from the directory's config.json: sizes that exist only as a config).
    """
    export_dir, storage_dir = storage.location(storage.absolute(export_dir)), storage.absolute(storage_dir)
    storage.makedirs(export_dir.parent)
    storage.makedirs(storage_dir)
    started = time.time()
    # rank 0's lines, shown here once each (`_TailProgress`): an appended file, so on a local disk (beside the
    # checkpoints, or in this node's temp dir when those are on an object store, which cannot append)
    remote = storage.is_remote(storage_dir)
    lines_dir = Path(tempfile.gettempdir()) / "judge_ray-progress" if remote else Path(storage_dir)
    lines_dir.mkdir(parents=True, exist_ok=True)
    progress = lines_dir / f"{run_name}.progress"
    with TailProgress(progress):
        # a node lost under the driver's dataset preparation, or beyond Ray Train's own restarts: the fit is
        # built again and resumes from its last checkpoint
        n_rows = retry_on_node_loss(lambda: _fit(rows, model, cfg, export_dir, storage_dir, seed, run_name, record,
                                                 probe_dir, from_config, progress), "fine-tuning")
    if not (export_dir / "config.json").is_file():
        raise RuntimeError(f"training finished but no model was exported to {export_dir}")
    # Ray Train V2 keeps metrics only of reports that carry a checkpoint; the export records its own.
    record = json.loads((export_dir / TRAINING_RECORD).read_text())
    metrics = {"loss": record["final_epoch_loss"], "step": record["steps"], "epoch": record["epochs"] - 1,
               "resumed_from_step": record.get("resumed_from_step"), "wall_s": time.time() - started}
    loss = "-" if metrics["loss"] is None else f"{metrics['loss']:.4f}"
    unit = "pairs" if cfg.pair_orders else "examples"
    logger.info(f"  train: {n_rows} {unit}, {cfg.workers} workers, ZeRO-{cfg.zero_stage}, {metrics['step']} steps, "
                f"loss {loss}, {metrics['wall_s']:.1f}s")
    return metrics


def _fit(rows, model: str, cfg: TrainConfig, export_dir, storage_dir, seed: int, run_name: str, record,
         probe_dir, from_config: bool, progress: Path) -> int:
    """One TorchTrainer fit over the SFT rows; returns their count (a failed fit raises)."""
    from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    dataset, n_rows = training_dataset(rows, cfg.workers, cfg.pair_orders)
    total_steps = optimizer_steps(n_rows, cfg)
    trainer = TorchTrainer(
        train_worker,
        train_loop_config={"train": asdict(cfg), "model": model, "export_dir": str(export_dir), "seed": seed,
                           "record": record or {}, "probe_dir": str(probe_dir) if probe_dir else None,
                           "from_config": from_config, "total_steps": total_steps,
                           "progress_path": str(progress)},
        torch_config=TorchConfig(backend="nccl" if cfg.use_gpu else "gloo"),
        scaling_config=ScalingConfig(num_workers=cfg.workers, use_gpu=cfg.use_gpu,
                                     resources_per_worker={"CPU": cfg.cpus_per_worker,
                                                           **({"GPU": 1} if cfg.use_gpu else {})}),
        run_config=RunConfig(name=run_name, storage_path=storage_dir,
                             failure_config=FailureConfig(max_failures=cfg.max_failures),
                             checkpoint_config=CheckpointConfig(num_to_keep=1)),
        datasets={"train": dataset},
    )
    result = trainer.fit()
    if result.error:
        raise result.error
    return n_rows


def copy_model(src: str, export_dir: Path) -> None:
    """When there is nothing to train on, M_i is M_0: copy it so the next iteration finds a model dir."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    remote = storage.is_remote(export_dir)
    tmp = Path(tempfile.mkdtemp(prefix=export_dir.name + ".", dir=None if remote else export_dir.parent))
    AutoModelForCausalLM.from_pretrained(src).save_pretrained(tmp, safe_serialization=True)
    AutoTokenizer.from_pretrained(src).save_pretrained(tmp)
    if remote:
        storage.upload_dir(tmp, export_dir)
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        os.replace(tmp, export_dir)

