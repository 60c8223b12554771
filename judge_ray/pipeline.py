"""The Self-Taught Evaluator loop (../shared/design.md), stage by stage into a resumable run directory.

select (once) -> pairs (once) -> for i in 1..T: judgments by M_{i-1} -> rejection sampling -> SFT of the seed
M_0 (ZeRO-3) -> evaluate M_i. The synthetic pairs are made once, by the generator, and written in iter_1;
each iteration re-annotates them with its improved judge, as in the paper.
"""
from __future__ import annotations

import logging
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Optional

from judge_ray import storage
from judge_ray.config import (BenchmarkConfig, EvalJudgeConfig, EvaluateConfig, PolicyConfig, RunConfig,
                              SelfTaughtConfig, to_yaml)
from judge_ray.distributed.cluster import connect, fit_to_cluster
from judge_ray.engines.factory import engine_options, resolve_engine_kind
from judge_ray.errors import UserError
from judge_ray.evaluation.benchmarks import Benchmark, read_benchmark
from judge_ray.corpus.read import LOCAL_CORPUS_BYTES, CorpusFilters, check_corpus_spec, prepare_corpus
from judge_ray.distributed import loop_data
from judge_ray.distributed.dataflow import count_by, done_rows, scan
from judge_ray.distributed.loop_data import EnginePool
from judge_ray.instructions import bundled_instructions_path
from judge_ray.labelled import labelled_name, labelled_path, load_labelled_pairs
from judge_ray.models import check_model
from judge_ray.rundir import RunDir, join, run_root, read_json, write_json, write_text
from judge_ray.stages.pairs import benchmark_row
from judge_ray.summary import quality_table, summary_markdown, summary_table

logger = logging.getLogger(__name__)


class SelfTaughtRun:
    def __init__(self, cfg: SelfTaughtConfig):
        self.cfg = cfg
        self.run = RunDir(join(run_root(cfg.run.root), cfg.run.name))
        self.started = time.time()

    # ---- set-up: every user mistake is found here, before Ray or a model starts ----
    def validate_inputs(self) -> None:
        cfg = self.cfg
        self.corpus = cfg.data.instructions or str(bundled_instructions_path())
        check_corpus_spec(self.corpus)
        self.labelled = {labelled_name(p): load_labelled_pairs(p, cfg.run.seed) for p in cfg.data.labelled_eval}
        self.engine = resolve_engine_kind(cfg.engine)
        check_model(cfg.model)
        if cfg.generator:
            check_model(cfg.generator)

    def pool(self) -> EnginePool:
        r = self.cfg.ray
        return EnginePool(engine=self.engine, engine_options=engine_options(self.cfg.vllm, r, self.cfg.run.seed),
                          pool_size=r.pool_size, batch_size=r.batch_size, actor_cpus=r.actor_cpus,
                          actor_gpus=r.actor_gpus, block_rows=r.block_rows, local_rows=r.block_rows)

    # ---- stages: each one a Parquet folder of the run directory, resumed when interrupted ----
    def read_corpus(self) -> dict:
        """The corpus through Ray Data into corpus/instructions/ (read, dropped by reason, deduped, capped)."""
        d = self.cfg.data
        filters = CorpusFilters(instruction_field=d.instruction_field, min_chars=d.min_chars, max_chars=d.max_chars,
                                language=d.language, max_instructions=d.max_instructions, seed=self.cfg.run.seed)
        return prepare_corpus(self.corpus, filters, self.run.path / "corpus", local_bytes=LOCAL_CORPUS_BYTES)

    def select(self, corpus: dict) -> dict:
        """classify (engine) -> iter_1/classified/, then a balanced, challenging subset -> iter_1/instructions/."""
        it, s = self.run.iter_dir(1), self.cfg.selection
        out = it / "instructions"
        if done_rows(out) is None:
            generator = self.cfg.generator or self.cfg.model
            loop_data.classify(self.run.path / "corpus" / "instructions", it / "classified", self.pool(), generator,
                               s.categories, self.cfg.run.seed, s.max_candidates, corpus["kept"])
            loop_data.select(it / "classified", out, s.categories, s.per_category, s.min_difficulty,
                             self.cfg.ray.block_rows)
        counts = count_by(out, "category") if done_rows(out) else {}
        if not counts:
            raise UserError(f"no instruction was selected: none reached selection.min_difficulty={s.min_difficulty} "
                            f"in categories {list(s.categories)}")
        return counts

    def make_pairs(self, selected: int) -> dict:
        """y_w, x', y_l (engine) -> iter_1/pairs_built/, then winner slots and the split -> iter_1/pairs/."""
        it, g = self.run.iter_dir(1), self.cfg.generation
        out = it / "pairs"
        if done_rows(out) is None:
            from judge_ray.engines.base import SamplingParams

            loop_data.build_pairs(it / "instructions", it / "pairs_built", self.pool(),
                                  self.cfg.generator or self.cfg.model, selected,
                                  sampling=SamplingParams(max_tokens=g.max_tokens, temperature=g.temperature,
                                                          top_p=g.top_p),
                                  modify_max_tokens=g.modify_max_tokens, seed=self.cfg.run.seed)
            loop_data.place_pairs(it / "pairs_built", out, g.eval_fraction, self.cfg.run.seed, self.cfg.ray.block_rows)
        counts = count_by(out, "split", "winner")
        if not any(split in ("train", "eval") for split, _ in counts):
            raise UserError("no usable response pair was built (every modified instruction or answer was empty)")
        return counts

    def judge(self, model: str, d: Path, i: int) -> int:
        """N judgments per training pair by M_{i-1} -> iter_i/judgments/ (resumable by request id)."""
        j = self.cfg.judge
        return loop_data.judge_pairs(self.run.iter_dir(1) / "pairs", d / "requests", d / "judgments", self.pool(),
                                     model, samples=j.samples, seed=self.cfg.run.seed, stage=f"judge_{i}",
                                     local_rows=self.cfg.ray.block_rows, adversarial=j.adversarial,
                                     replacing=j.adversarial_replacing, max_tokens=j.max_tokens,
                                     temperature=j.temperature, top_p=j.top_p)

    def heldout_benchmark(self) -> Optional[Benchmark]:
        """The held-out pairs as a `pairs`-layout benchmark file (iter_1/heldout.jsonl: question, answer_a/b,
        label), read by the evaluation harness like any other benchmark."""
        path = self.run.iter_dir(1) / "heldout.jsonl"
        if not path.is_file():
            fields = ["pair_id", "instruction", "response_w", "response_l", "winner", "split", "category"]
            lines = []
            for batch in scan(self.run.iter_dir(1) / "pairs", fields):
                for p in (dict(zip(fields, v)) for v in zip(*(batch[f] for f in fields))):
                    if p["split"] == "eval":
                        lines.append(json.dumps(benchmark_row(p)) + "\n")
            write_text(path, "".join(lines))
        bench = read_benchmark(str(path), "pairs", seed=self.cfg.run.seed) if path.stat().st_size else None
        return bench if bench and bench.items else None

    def eval_config(self, model: str, name: str, path: str, labelled: bool) -> EvaluateConfig:
        """The harness settings for one eval set: pairwise, both orders (k samples each), ties excluded."""
        e, cfg = self.cfg.eval, self.cfg
        k = e.labelled_samples if labelled else e.samples
        mode = ("both_vote" if k > 1 else "both") if e.both_orders else ("vote" if k > 1 else "single")
        if e.debiased:
            mode = "debiased"
        return EvaluateConfig(
            engine=self.engine, run=RunConfig(name=name, root=str(self.run.path), seed=cfg.run.seed),
            benchmark=BenchmarkConfig(path=path, layout="pairs"),
            # One judgment per order is read greedily: a single verdict sampled at temperature turns a judge
            # whose probabilities sit near 0.5 into a coin, and a coin scores 50% consistency (issue 14).
            judge=EvalJudgeConfig(model=model, format="pairwise", mode=mode, samples=k,
                                  temperature=e.temperature if k > 1 else 0.0,
                                  top_p=e.top_p, max_tokens=e.labelled_max_tokens if labelled else e.max_tokens,
                                  reference=False),
            policy=PolicyConfig(ties="exclude", unparseable="miss", predicted_ties="miss"),
            ray=cfg.ray, vllm=cfg.vllm)

    def evaluate(self, model: str, eval_sets: dict[str, Benchmark], out_dir: Path) -> dict:
        """Every eval set judged by one model through the evaluation harness (one engine pool), into
        out_dir/eval/<set>/ (predictions.jsonl, metrics.json, confusion.png) and out_dir/metrics.json."""
        from judge_ray.evaluation.runner import judge_benchmarks

        metrics_path = out_dir / "metrics.json"
        if metrics_path.exists():
            return read_json(metrics_path)
        jobs = {name: (bench, self.eval_config(model, name, self.eval_paths[name], name.startswith("labelled:")),
                       out_dir / "eval" / name.replace(":", "-")) for name, bench in eval_sets.items()}
        metrics = judge_benchmarks(model, jobs, self.engine, "pairwise")
        write_json(metrics_path, metrics)
        return metrics

    # ---- the loop ----
    def execute(self) -> Path:
        cfg = self.cfg
        self.validate_inputs()
        resumed = self.run.prepare(to_yaml(cfg), cfg.run.overwrite)
        logger.info(f"[run] {'resuming' if resumed else 'starting'} {self.run.path} — model {cfg.model}, "
                 f"engine {self.engine}, {cfg.iterations} iteration(s)")
        connect(cfg.ray.address, cfg.ray.num_cpus, use_gpu=cfg.train.use_gpu)
        fitted_ray, fitted_train = fit_to_cluster(cfg.ray, cfg.train)
        self.cfg = cfg = replace(cfg, ray=fitted_ray, train=fitted_train)  # as it runs; config.yaml keeps the asks

        t0 = time.time()
        try:
            corpus = self.read_corpus()
        except UserError:
            if not resumed:  # a corpus that yields nothing leaves nothing behind
                storage.rmtree(self.run.path)
            raise
        selected = self.select(corpus)
        placed = self.make_pairs(sum(selected.values()))
        n = {part: placed.get((part, "A"), 0) + placed.get((part, "B"), 0) for part in ("train", "eval")}
        built = sum(placed.values())
        dropped = ", ".join(f"{c} {why}" for why, c in sorted(corpus["dropped"].items())) or "none"
        header = [
            f"- corpus `{corpus['corpus']}` ({corpus['layout']} layout): {corpus['read']} rows read, "
            f"{corpus['kept']} kept; dropped: {dropped}"
            + (f"; {corpus['capped']} over data.max_instructions" if corpus["capped"] else ""),
            f"- instructions: {sum(selected.values())} selected ("
            + ", ".join(f"{k} {v}" for k, v in sorted(selected.items())) + ")",
            f"- pairs: {built} built, {n['train'] + n['eval']} usable ({n['train']} train, {n['eval']} held out); "
            f"winner slot A {placed.get(('train', 'A'), 0)}, B {placed.get(('train', 'B'), 0)}",
            f"- data stages wall time: {time.time() - t0:.0f}s (0 when resumed)",
        ]
        if not n["train"]:
            raise UserError("every usable pair went to the held-out split: lower generation.eval_fraction")
        heldout = self.heldout_benchmark() if n["eval"] else None
        eval_sets = {"heldout": heldout} if heldout else {}
        eval_sets.update({f"labelled:{name}": ls.bench for name, ls in self.labelled.items()})
        self.eval_paths = {"heldout": str(self.run.iter_dir(1) / "heldout.jsonl"),
                           **{f"labelled:{labelled_name(p)}": str(labelled_path(p)) for p in cfg.data.labelled_eval}}
        rows: list[dict] = []
        judge_model, t = cfg.model, time.time()
        # Pass i uses M_{i-1}: it evaluates M_{i-1} (the seed as baseline) and writes iteration i's judgments.
        for i in range(1, cfg.iterations + 2):
            d, prev = self.run.iter_dir(i), self.run.iter_dir(i - 1)
            label = "M_0" if i == 1 else f"M_{i - 1}"
            if eval_sets and (i > 1 or cfg.eval.baseline):
                logger.info(f"[eval] {label} on {', '.join(eval_sets)}")
                metrics = self.evaluate(judge_model, eval_sets, prev)
                if i == 1:
                    rows.append({"iter": 0, "judge": "M_0 (seed)", "evals": metrics})
                else:
                    rows[-1]["evals"] = metrics
            if i > 1:
                rows[-1]["wall_s"] = self._timings(prev, time.time() - t)
                t = time.time()
            if i > cfg.iterations:
                break
            logger.info(f"[iter {i}/{cfg.iterations}] judgments by {label}")
            self.judge(judge_model, d, i)
            j = cfg.judge
            stats = loop_data.reject(d / "judgments", d / "sft", cfg.run.seed + i, j.balance_sft, j.swap_augment,
                                     cfg.ray.block_rows)
            logger.info(f"  rejection: {stats['correct_judgments']}/{stats['judgments']} judgments correct; "
                     f"{stats['pairs_kept']} pairs kept, {stats['pairs_dropped']} dropped; "
                     f"SFT A/B {stats['sft_winner_A']}/{stats['sft_winner_B']}")
            train_metrics = self.train(d / "sft", stats["sft_rows"], d, i)
            rows.append({"iter": i, "judge": f"M_{i}", "judgments": stats["judgments"],
                         "correct_rate": stats["correct_judgments"] / max(1, stats["judgments"]),
                         "sft_rows": stats["sft_rows"], "pairs_dropped": stats["pairs_dropped"],
                         "train_loss": train_metrics.get("loss")})
            judge_model = storage.absolute(d / "model")

        extra = [f"- labelled set `{name}`: {len(ls.bench.items)} pairs, {ls.ties} ties set aside, "
                 f"{len(ls.skipped)} unusable rows skipped" for name, ls in self.labelled.items()]
        extra.append(f"- total wall time: {time.time() - self.started:.0f}s")
        text = summary_markdown(cfg.run.name, header, rows, extra)
        write_text(self.run.path / "summary.md", text)
        logger.info("\n" + "\n".join(header) + "\n\n" + summary_table(rows) + "\n\n" + quality_table(rows) + "\n")
        logger.info(f"[run] done: {self.run.path} ({time.time() - self.started:.0f}s)")
        return self.run.path

    def train(self, sft: Path, sft_rows: int, d: Path, i: int) -> dict:
        from judge_ray.distributed.data_stages import LocalEngines
        from judge_ray.models import resolve_model
        from judge_ray.training.zero3 import copy_model, train_sft

        state = d / "train_metrics.json"
        if (d / "model" / "config.json").exists() and state.exists():
            return read_json(state)
        LocalEngines.release()  # the train workers load the seed model: the driver keeps no engine meanwhile
        if not sft_rows:
            logger.info("  train: no SFT example survived rejection sampling; M_i = M_0")
            copy_model(resolve_model(self.cfg.model), d / "model")
            metrics: dict = {"loss": None, "skipped": True}
        else:
            logger.info(f"[iter {i}/{self.cfg.iterations}] fine-tuning the seed model on {sft_rows} judgments")
            metrics = train_sft(sft, model=self.cfg.model, cfg=self.cfg.train, export_dir=d / "model",
                                storage_dir=d / "checkpoints", seed=self.cfg.run.seed + i,
                                run_name=f"{self.cfg.run.name}-iter{i}",
                                record={"judge_format": "pairwise", "recipe": "self_taught", "iteration": i})
        write_json(state, metrics)
        if not self.cfg.train.keep_checkpoints:
            # The exported model and train_metrics.json now mark this step done; the ZeRO shards (optimizer
            # state included: ~12x the weights) would only fill the disk.
            storage.rmtree(d / "checkpoints")
        return metrics

    def _timings(self, d: Path, wall: float) -> float:
        """Wall time of an iteration, kept across resumes (a resumed stage costs ~0 the second time)."""
        path = d / "timings.json"
        if path.exists():
            return read_json(path)["wall_s"]
        write_json(path, {"wall_s": wall})
        return wall



def run_self_taught(cfg: SelfTaughtConfig) -> Path:
    from judge_ray.distributed.data_stages import LocalEngines

    try:
        return SelfTaughtRun(cfg).execute()
    finally:
        LocalEngines.release()


__all__ = ["run_self_taught", "SelfTaughtRun"]
