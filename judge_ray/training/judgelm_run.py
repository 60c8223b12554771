"""`jobs/train_judge.py`'s work: labelled judgments -> recipes -> ZeRO-3 fine-tuning -> a HF judge directory.

    <root>/<name>/config.yaml            the resolved config
                  train_examples.jsonl   every training example as trained (prompt, response, what was applied)
                  model/                 the judge (safetensors, tokenizer, judge_ray_training.json)
                  summary.md
Rerunning the same command resumes: the examples are reread from the run directory and Ray Train restarts
from its last checkpoint.
"""
from __future__ import annotations

import logging
import json
import time
from dataclasses import replace
from pathlib import Path

from judge_ray.config import TrainJudgeConfig, plain_dict, to_yaml
from judge_ray.rundir import RunDir, join, run_root, read_json, write_json, write_text
from judge_ray.training.judgelm_data import Recipe, apply_recipes, read_judgelm_records, recipe_stats

logger = logging.getLogger(__name__)


def build_examples(cfg: TrainJudgeConfig) -> tuple[str, list[dict]]:
    """(layout, examples): JudgeLM records under the recipes; an SFT set (the self-taught loop's) as is."""
    layout, records = read_judgelm_records(cfg.data.path, cfg.data.split, cfg.data.limit)
    if layout == "sft":
        return layout, [{**r, "swapped": False, "reference_shown": False} for r in records]
    r = cfg.recipe
    recipe = Recipe(r.swap_ratio, r.swap_mode, r.reference, r.reference_drop, cfg.run.seed, r.context, r.context_drop)
    return layout, apply_recipes(records, recipe)


def run_train_judge(cfg: TrainJudgeConfig) -> Path:
    from judge_ray.distributed.cluster import connect, fit_to_cluster
    from judge_ray.models import check_model
    from judge_ray.training.zero3 import train_sft

    started = time.time()
    check_model(cfg.model)
    layout, examples = build_examples(cfg)  # every input error surfaces here, before anything is written
    run = RunDir(join(run_root(cfg.run.root), cfg.run.name))
    resumed = run.prepare(to_yaml(cfg), cfg.run.overwrite)
    stats = recipe_stats(examples)
    logger.info(f"[train_judge] {'resuming' if resumed else 'starting'} {run.path} — {cfg.data.path} ({layout}): "
        f"{stats['examples']} examples, {stats['swapped']} swapped, {stats['reference_shown']} with a reference")
    write_text(run.path / "train_examples.jsonl", "".join(json.dumps(e) + "\n" for e in examples))
    state = run.path / "train_metrics.json"
    if (run.path / "model" / "config.json").exists() and state.exists():
        metrics = read_json(state)
    else:
        connect(cfg.ray.address, cfg.ray.num_cpus, use_gpu=cfg.train.use_gpu)
        cfg = replace(cfg, train=fit_to_cluster(cfg.ray, cfg.train, engines=False)[1])
        fmt = "pairwise" if layout == "sft" else "judgelm"
        metrics = train_sft(examples, model=cfg.model, cfg=cfg.train, export_dir=run.path / "model",
                            storage_dir=run.path / "checkpoints", seed=cfg.run.seed, run_name=cfg.run.name,
                            record={"judge_format": fmt, "data": cfg.data.path, "layout": layout,
                                    "recipe": plain_dict(cfg.recipe) if layout == "judgelm" else None, **stats})
        write_json(state, metrics)
    loss = "-" if metrics.get("loss") is None else f"{metrics['loss']:.4f}"
    text = (f"# JudgeLM judge `{cfg.run.name}`\n\n- base model: `{cfg.model}`\n- data: `{cfg.data.path}` ({layout})\n"
            f"- examples: {stats['examples']} ({stats['swapped']} swapped, {stats['reference_shown']} with a "
            f"reference)\n- recipe: {plain_dict(cfg.recipe)}\n- training: {cfg.train.workers} workers, "
            f"ZeRO-{cfg.train.zero_stage}, {cfg.train.epochs} epoch(s), final loss {loss}\n"
            f"- model: `{run.path / 'model'}`\n- wall time: {time.time() - started:.0f}s\n")
    write_text(run.path / "summary.md", text)
    logger.info(text)
    return run.path
