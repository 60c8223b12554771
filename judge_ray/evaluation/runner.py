"""`jobs/evaluate.py`'s work: a judge (a model, every iteration of a self-taught run, or a predictions file)
on a benchmark, into a result directory a person can open:

    <root>/<name>/predictions.jsonl   one row per example: label, verdicts, every call's seed and output
                  metrics.json        metrics with the policies they were computed under
                  summary.md          the table (also printed)
                  confusion.png
    for a self-taught run: iter_<i>/ (the above per judge), summary.md with a row per iteration, iterations.png
"""
from __future__ import annotations

import logging
import json
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Optional

from judge_ray.config import EvaluateConfig, PolicyConfig, config_from_yaml, to_yaml
from judge_ray.errors import InputError
from judge_ray.evaluation.benchmarks import Benchmark, read_benchmark, skipped_summary
from judge_ray.evaluation.judging import build_requests, predictions_from_outputs, samples_per_order
from judge_ray.evaluation.graded import graded_predictions, graded_requests, score_graded
from judge_ray.evaluation.predictions_file import read_predictions
from judge_ray.evaluation.ranking import ranked_predictions, ranked_requests, score_ranked
from judge_ray.evaluation.report import (metrics_row, plot_capabilities, plot_confusion, plot_iterations,
                                         plot_positions, report_markdown)
from judge_ray.evaluation.scoring import score
from judge_ray.storage import absolute, location
from judge_ray.rundir import (RunDir, is_self_taught_run, join, read_json, run_root, trained_iterations, write_json,
                              write_text)

logger = logging.getLogger(__name__)


def self_taught_judges(run_dir: Path) -> Optional[list[tuple[int, str]]]:
    """[(0, seed model), (1, iter_1/model), ...] when `run_dir` is a self-taught run directory, else None."""
    if not is_self_taught_run(run_dir):
        return None
    trained = trained_iterations(run_dir)
    if not trained:
        raise InputError(f"{run_dir}: a self-taught run directory with no trained iteration model yet")
    seed = config_from_yaml((run_dir / "config.yaml").read_text()).model
    return [(0, seed)] + [(i, absolute(path)) for i, path in trained]


def judge_format(requested: str, model: str, from_run: bool) -> str:
    """auto: the format the model was trained on (its judge_ray_training.json), pairwise for a self-taught
    run, else JudgeLM's."""
    if requested != "auto":
        return requested
    record = Path(model) / "judge_ray_training.json"
    if record.is_file():
        fmt = json.loads(record.read_text()).get("judge_format")
        if fmt in ("judgelm", "pairwise"):
            return fmt
    return "pairwise" if from_run else "judgelm"


class Evaluation:
    def __init__(self, cfg: EvaluateConfig):
        self.cfg = cfg
        self.out = RunDir(join(run_root(cfg.run.root), cfg.run.name))

    def validate(self) -> None:
        """Everything a user can get wrong, before Ray or a model starts."""
        from judge_ray.engines.factory import resolve_engine_kind
        from judge_ray.models import check_model

        b, j = self.cfg.benchmark, self.cfg.judge
        self.bench = read_benchmark(b.path, b.layout, b.split, b.limit, b.turn, self.cfg.run.seed, b.strict,
                                    b.max_answers, b.responses, b.descriptions)
        self.layout, self.items = self.bench.layout, self.bench.items
        if self.bench.skipped:
            logger.info(f"[evaluate] {len(self.bench.skipped)} row(s) of {b.path} skipped: "
                     + "; ".join(f"{k} ({v})" for k, v in skipped_summary(self.bench.skipped).items())
                     + " — listed in metrics.json and summary.md")
        self.judges: list[tuple[Optional[int], str]] = []
        self.from_run = False
        if j.predictions and self.bench.kind != "pairs":
            raise InputError(f"{b.path} is a {self.bench.kind} benchmark, layout {self.layout}; a predictions file "
                             "holds pairwise verdicts: judge it with judge.model")
        if j.predictions:
            fmt = "judgelm" if j.format == "auto" else j.format
            self.file_preds = read_predictions(j.predictions, self.items, fmt, self.bench.id_note(),
                                               [s["id"] for s in self.bench.skipped])
            return
        run_judges = self_taught_judges(location(j.model)) if location(j.model).is_dir() else None
        self.from_run = run_judges is not None
        self.judges = run_judges or [(None, j.model)]
        for _, model in self.judges:
            check_model(model)
        self.engine = resolve_engine_kind(self.cfg.engine)

    def run_judge(self, model: str, out: Path) -> dict:
        """Predictions and metrics of one model judge (resumed when its metrics exist)."""
        from judge_ray.models import resolve_model

        if (out / "metrics.json").exists():
            return read_json(out / "metrics.json")
        fmt = judge_format(self.cfg.judge.format, resolve_model(model), self.from_run)
        return judge_benchmarks(model, {"benchmark": (self.bench, self.cfg, out)}, self.engine, fmt,
                                )["benchmark"]

    def write_result(self, out: Path, preds: list[dict], judge: dict) -> dict:
        return write_result(out, preds, judge, self.cfg, self.bench)

    def execute(self) -> Path:
        from judge_ray.distributed.cluster import connect, fit_to_cluster

        started = time.time()
        self.validate()
        resumed = self.out.prepare(to_yaml(self.cfg), self.cfg.run.overwrite)
        root = self.out.path
        logger.info(f"[evaluate] {'resuming' if resumed else 'writing'} {root} — {len(self.items)} examples "
                 f"({self.layout}) from {self.cfg.benchmark.path}")
        title = f"Evaluation `{self.cfg.run.name}`"
        if self.cfg.judge.predictions:
            metrics = self.write_result(root, self.file_preds, {"predictions": self.cfg.judge.predictions})
            rows = [metrics_row(Path(self.cfg.judge.predictions).name, metrics)]
        else:
            connect(self.cfg.ray.address, self.cfg.ray.num_cpus, use_gpu=self.cfg.ray.actor_gpus > 0)
            self.cfg = replace(self.cfg, ray=fit_to_cluster(self.cfg.ray)[0])  # as it runs on this cluster
            if self.from_run:
                per_iter = {i: self.run_judge(model, root / f"iter_{i}") for i, model in self.judges}
                rows = [metrics_row(f"M_{i}" + (" (seed)" if i == 0 else ""), m) for i, m in per_iter.items()]
                metrics = per_iter[max(per_iter)]
                write_json(root / "metrics.json", {f"iter_{i}": m for i, m in per_iter.items()})
                plot_iterations(per_iter, root / "iterations.png", f"{self.cfg.judge.model} on {self.layout}")
            else:
                metrics = self.run_judge(self.judges[0][1], root)
                rows = [metrics_row(self.judges[0][1], metrics)]
        text = report_markdown(title, self.cfg.benchmark.path, self.layout, rows, metrics)
        write_text(root / "summary.md", text)
        logger.info("\n" + text)
        logger.info(f"[evaluate] done: {root} ({time.time() - started:.0f}s)")
        return root


@dataclass(frozen=True)
class BenchmarkKind:
    """How a kind of benchmark (`Benchmark.kind`) is judged, read, scored and drawn."""

    requests: Callable[..., list[dict]]  # (items, judge config, format, seed) -> engine requests
    predictions: Callable[..., list[dict]]  # (items, outputs, judge config, format) -> prediction rows
    score: Callable[[list[dict], Benchmark, PolicyConfig], dict]
    plot: Callable[[dict, Path, str], None]
    figure: str


KINDS = {
    "pairs": BenchmarkKind(build_requests, predictions_from_outputs,
                           lambda preds, bench, p: score(preds, p.ties, p.unparseable, bench.layout,
                                                         p.predicted_ties, bench.skipped),
                           plot_confusion, "confusion.png"),
    "ranked": BenchmarkKind(ranked_requests, ranked_predictions,
                            lambda preds, bench, _: score_ranked(preds, bench.layout, bench.skipped),
                            plot_positions, "positions.png"),  # where the judge's pick sat
    "graded": BenchmarkKind(graded_requests, graded_predictions,
                            lambda preds, bench, _: score_graded(preds, bench.layout, bench.skipped),
                            plot_capabilities, "capabilities.png"),
}


def write_result(out: Path, preds: list[dict], judge: dict, cfg: EvaluateConfig, bench: Benchmark) -> dict:
    """predictions.jsonl, metrics.json (with the policies and the judge's settings) and the kind's figure
    (confusion.png for pairs)."""
    j, kind = cfg.judge, KINDS[bench.kind]
    metrics = kind.score(preds, bench, cfg.policy)
    metrics["judge"] = {**judge, "grading": j.grading, "mode": j.mode, "samples": samples_per_order(j),
                        "temperature": j.temperature, "max_tokens": j.max_tokens, "seed": cfg.run.seed}
    if bench.kind == "ranked":
        metrics["judge"]["rotations"] = j.rotations
    metrics["benchmark"] = {"path": cfg.benchmark.path, "layout": bench.layout, "turn": cfg.benchmark.turn}
    write_text(out / "predictions.jsonl", "".join(json.dumps(p_, sort_keys=True) + "\n" for p_ in preds))
    kind.plot(metrics, out / kind.figure, f"{judge.get('model', 'predictions')} on {bench.layout}")
    write_json(out / "metrics.json", metrics)
    return metrics


def judge_benchmarks(model: str, jobs: dict[str, tuple[Benchmark, EvaluateConfig, Path]], engine: str,
                     fmt: str) -> dict[str, dict]:
    """One model judge on several benchmarks, each with its own judge settings and output folder, in one
    engine pool (requests carry their own sampling): the evaluation job runs one, the self-taught loop its
    held-out pairs and labelled sets. Returns {name: metrics}."""
    from judge_ray.distributed.data_stages import run_stage
    from judge_ray.engines.factory import engine_options
    from judge_ray.models import resolve_model

    path = resolve_model(model)
    if fmt != "pairwise" and any(cfg.judge.mode == "debiased" and bench.kind == "pairs"
                                 for bench, cfg, _ in jobs.values()):
        raise InputError(f"judge.mode=debiased needs a pairwise judge; {model} judges in the {fmt} format")
    requests: list[dict] = []
    for name, (bench, cfg, _) in jobs.items():
        j = cfg.judge
        built = KINDS[bench.kind].requests(bench.items, j, fmt, cfg.run.seed)
        logger.info(f"[evaluate] {model}: {name}, {len(bench.items)} examples, {len(built)} judge calls "
            f"(format {fmt}, grading {j.grading}, mode {j.mode})")
        requests += [{**r, "benchmark": name} for r in built]
    stages = {r["stage"] for r in requests}
    if len(stages) > 1:
        raise ValueError(f"benchmarks judged together must use one engine stage, got {sorted(stages)}")
    cfg = next(iter(jobs.values()))[1]
    r = cfg.ray
    outputs = run_stage(requests, stages.pop(), model=path, engine=engine,
                        engine_options=engine_options(cfg.vllm, r, cfg.run.seed), stage_kwargs={},
                        pool_size=r.pool_size, batch_size=r.batch_size, actor_cpus=r.actor_cpus,
                        actor_gpus=r.actor_gpus, local_rows=r.block_rows) if requests else []
    results = {}
    for name, (bench, cfg, out) in jobs.items():
        mine = [o for o in outputs if o["benchmark"] == name]
        preds = KINDS[bench.kind].predictions(bench.items, mine, cfg.judge, fmt)
        results[name] = write_result(out, preds, {"model": model, "format": fmt}, cfg, bench)
    return results


def run_evaluation(cfg: EvaluateConfig) -> Path:
    from judge_ray.distributed.data_stages import LocalEngines

    try:
        return Evaluation(cfg).execute()
    finally:
        LocalEngines.release()


__all__ = ["run_evaluation", "Evaluation", "judge_format", "self_taught_judges"]
