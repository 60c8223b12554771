"""The Self-Taught Evaluator loop (../shared/design.md), stage by stage into a resumable run directory.

select (once) -> pairs (once) -> for i in 1..T: judgments by M_{i-1} -> rejection sampling -> SFT of the seed
M_0 (ZeRO-3) -> evaluate M_i. The synthetic pairs are made once, by the generator, and written in iter_1;
each iteration re-annotates them with its improved judge, as in the paper.
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Callable

from judge_ray.config import SelfTaughtConfig, to_yaml
from judge_ray.distributed.cluster import connect
from judge_ray.distributed.data_stages import run_stage
from judge_ray.engines.factory import engine_options, resolve_engine_kind
from judge_ray.errors import UserError
from judge_ray.evaluation.metrics import self_taught_metrics
from judge_ray.corpus.read import CorpusFilters, check_corpus_spec, prepare_corpus, read_instructions
from judge_ray.instructions import bundled_instructions_path
from judge_ray.labelled import labelled_name, load_labelled_pairs
from judge_ray.models import check_model
from judge_ray.rundir import RunDir, read_json, read_parquet, write_json, write_parquet, write_text
from judge_ray.stages.judging import judgment_requests
from judge_ray.stages.pairs import assign_positions_and_split
from judge_ray.stages.rejection import rejection_sample
from judge_ray.stages.selection import select_balanced
from judge_ray.summary import quality_table, summary_markdown, summary_table

Log = Callable[[str], None]


class SelfTaughtRun:
    def __init__(self, cfg: SelfTaughtConfig, log: Log = print):
        self.cfg, self.log = cfg, log
        self.run = RunDir(Path(cfg.run.root) / cfg.run.name)
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

    def engine_options(self) -> dict:
        return engine_options(self.cfg.vllm, self.cfg.ray, self.cfg.run.seed)

    def stage(self, rows: list[dict], name: str, model: str, **kwargs) -> list[dict]:
        r = self.cfg.ray
        return run_stage(rows, name, model=model, engine=self.engine, engine_options=self.engine_options(),
                         stage_kwargs=kwargs, pool_size=r.pool_size, batch_size=r.batch_size,
                         actor_cpus=r.actor_cpus, actor_gpus=r.actor_gpus, log=self.log)

    # ---- stages ----
    def read_corpus(self) -> dict:
        """The corpus through Ray Data into corpus/instructions/ (read, dropped by reason, deduped, capped)."""
        d = self.cfg.data
        filters = CorpusFilters(instruction_field=d.instruction_field, min_chars=d.min_chars, max_chars=d.max_chars,
                                language=d.language, max_instructions=d.max_instructions, seed=self.cfg.run.seed)
        return prepare_corpus(self.corpus, filters, self.run.path / "corpus", self.log)

    def select(self, corpus: dict) -> list[dict]:
        path = self.run.iter_dir(1) / "instructions.parquet"
        if path.exists():
            return read_parquet(path)
        s = self.cfg.selection
        generator = self.cfg.generator or self.cfg.model
        candidates = read_instructions(self.run.path / "corpus", s.max_candidates)
        self.log(f"[select] classifying {len(candidates)} of {corpus['kept']} instructions with {generator}")
        labelled = self.stage(candidates, "classify", generator, categories=list(s.categories),
                              seed=self.cfg.run.seed)
        selected = select_balanced(labelled, s.categories, s.per_category, s.min_difficulty)
        if not selected:
            raise UserError(f"no instruction was selected: none reached selection.min_difficulty={s.min_difficulty} "
                            f"in categories {list(s.categories)}")
        write_parquet(path, selected)
        return selected

    def make_pairs(self, selected: list[dict]) -> list[dict]:
        path = self.run.iter_dir(1) / "pairs.parquet"
        if path.exists():
            return read_parquet(path)
        g = self.cfg.generation
        from judge_ray.engines.base import SamplingParams

        generator = self.cfg.generator or self.cfg.model
        self.log(f"[pairs] y_w, x', y_l for {len(selected)} instructions with {generator}")
        built = self.stage(selected, "pairs", generator,
                           sampling=SamplingParams(max_tokens=g.max_tokens, temperature=g.temperature, top_p=g.top_p),
                           modify_max_tokens=g.modify_max_tokens, seed=self.cfg.run.seed)
        usable = [p for p in built if p["pair_ok"]]
        rows = assign_positions_and_split(usable, g.eval_fraction, self.cfg.run.seed)
        rows += [{**p, "pair_id": p["id"], "winner": "", "split": "unusable"} for p in built if not p["pair_ok"]]
        if not usable:
            raise UserError("no usable response pair was built (every modified instruction or answer was empty)")
        write_parquet(path, rows)
        return rows

    def judge_and_evaluate(self, model: str, train: tuple[list[dict], Path, str] | None,
                           evaluation: tuple[dict[str, list[dict]], Path] | None) -> tuple[list[dict], dict]:
        """One engine pool for everything one model judges: the training pairs of the next iteration and the
        held-out/labelled pairs that evaluate it. Each output is written (and resumed) on its own."""
        requests: list[dict] = []
        train_path = eval_path = None
        if train and not train[1].exists():
            pairs, train_path, stage = train
            j = self.cfg.judge
            requests += [{**r, "task": "train", "eval_set": "", "max_tokens": j.max_tokens,
                          "temperature": j.temperature, "top_p": j.top_p}
                         for r in judgment_requests(pairs, j.samples, self.cfg.run.seed, stage)]
        if evaluation and not (evaluation[1] / "metrics.json").exists():
            eval_sets, out_dir = evaluation
            eval_path, e = out_dir / "eval_judgments.parquet", self.cfg.eval
            for name, ps in eval_sets.items():
                tagged = [{**p, "pair_id": f"{name}/{p['pair_id']}"} for p in ps]
                labelled = name.startswith("labelled:")
                k = e.labelled_samples if labelled else e.samples
                requests += [{**r, "task": "eval", "eval_set": name,
                              "max_tokens": e.labelled_max_tokens if labelled else e.max_tokens,
                              "temperature": e.temperature, "top_p": e.top_p}
                             for r in judgment_requests(tagged, k, self.cfg.run.seed, "eval", e.both_orders)]
        rows = self.stage(requests, "judge", model) if requests else []
        judgments = [r for r in rows if r["task"] == "train"]
        if train_path:
            write_parquet(train_path, judgments)
        elif train:
            judgments = read_parquet(train[1])  # finished before an interruption
        metrics: dict = {}
        if evaluation:
            metrics_path = evaluation[1] / "metrics.json"
            if metrics_path.exists():
                metrics = read_json(metrics_path)
            else:
                evals = [r for r in rows if r["task"] == "eval"]
                write_parquet(eval_path, evals)
                metrics = {name: self_taught_metrics([r for r in evals if r["eval_set"] == name])
                           for name in evaluation[0]}
                write_json(metrics_path, metrics)
        return judgments, metrics

    # ---- the loop ----
    def execute(self) -> Path:
        cfg = self.cfg
        self.validate_inputs()
        resumed = self.run.prepare(to_yaml(cfg), cfg.run.overwrite)
        self.log(f"[run] {'resuming' if resumed else 'starting'} {self.run.path} — model {cfg.model}, "
                 f"engine {self.engine}, {cfg.iterations} iteration(s)")
        connect(cfg.ray.address, cfg.ray.num_cpus, use_gpu=cfg.train.use_gpu)

        t0 = time.time()
        try:
            corpus = self.read_corpus()
        except UserError:
            if not resumed:  # a corpus that yields nothing leaves nothing behind
                shutil.rmtree(self.run.path, ignore_errors=True)
            raise
        selected = self.select(corpus)
        pairs = self.make_pairs(selected)
        train_pairs = [p for p in pairs if p["split"] == "train"]
        eval_pairs = [p for p in pairs if p["split"] == "eval"]
        dropped = ", ".join(f"{n} {why}" for why, n in sorted(corpus["dropped"].items())) or "none"
        header = [
            f"- corpus `{corpus['corpus']}` ({corpus['layout']} layout): {corpus['read']} rows read, "
            f"{corpus['kept']} kept; dropped: {dropped}"
            + (f"; {corpus['capped']} over data.max_instructions" if corpus["capped"] else ""),
            f"- instructions: {len(selected)} selected ({_counts(selected, 'category')})",
            f"- pairs: {len(pairs)} built, {len(train_pairs) + len(eval_pairs)} usable "
            f"({len(train_pairs)} train, {len(eval_pairs)} held out); winner slot {_counts(train_pairs, 'winner')}",
            f"- data stages wall time: {time.time() - t0:.0f}s (0 when resumed)",
        ]
        if not train_pairs:
            raise UserError("every usable pair went to the held-out split: lower generation.eval_fraction")
        eval_sets = {"heldout": eval_pairs} if eval_pairs else {}
        eval_sets.update({f"labelled:{name}": ls.pairs for name, ls in self.labelled.items()})
        rows: list[dict] = []
        judge_model, t = cfg.model, time.time()
        # Pass i uses M_{i-1}: it writes iteration i's judgments and evaluates M_{i-1} (the seed as baseline).
        for i in range(1, cfg.iterations + 2):
            d, prev = self.run.iter_dir(i), self.run.iter_dir(i - 1)
            train = (train_pairs, d / "judgments.parquet", f"judge_{i}") if i <= cfg.iterations else None
            wants_eval = eval_sets and (i > 1 or cfg.eval.baseline)
            label = "M_0" if i == 1 else f"M_{i - 1}"
            self.log(f"[iter {min(i, cfg.iterations)}/{cfg.iterations}] " + " and ".join(
                x for x in (f"judgments by {label}" if train else "", f"evaluating {label}" if wants_eval else "")
                if x))
            judgments, metrics = self.judge_and_evaluate(judge_model, train,
                                                         (eval_sets, prev) if wants_eval else None)
            if i == 1 and wants_eval:
                rows.append({"iter": 0, "judge": "M_0 (seed)", "evals": metrics})
            elif i > 1:
                rows[-1]["evals"] = metrics
                rows[-1]["wall_s"] = self._timings(prev, time.time() - t)
                t = time.time()
            if not train:
                break
            j = cfg.judge
            sft, stats = rejection_sample(judgments, cfg.run.seed + i, j.balance_sft, j.swap_augment)
            if not (d / "sft.parquet").exists():
                write_parquet(d / "sft.parquet", sft)
            self.log(f"  rejection: {stats['correct_judgments']}/{stats['judgments']} judgments correct; "
                     f"{stats['pairs_kept']} pairs kept, {stats['pairs_dropped']} dropped; "
                     f"SFT A/B {stats['sft_winner_A']}/{stats['sft_winner_B']}")
            train_metrics = self.train(sft, d, i)
            rows.append({"iter": i, "judge": f"M_{i}", "judgments": stats["judgments"],
                         "correct_rate": stats["correct_judgments"] / max(1, stats["judgments"]),
                         "sft_rows": len(sft), "pairs_dropped": stats["pairs_dropped"],
                         "train_loss": train_metrics.get("loss")})
            judge_model = str((d / "model").resolve())

        extra = [f"- labelled set `{name}`: {len(ls.pairs)} pairs, {ls.ties} ties set aside, "
                 f"{len(ls.skipped)} unusable rows skipped" for name, ls in self.labelled.items()]
        extra.append(f"- total wall time: {time.time() - self.started:.0f}s")
        text = summary_markdown(cfg.run.name, header, rows, extra)
        write_text(self.run.path / "summary.md", text)
        self.log("\n" + "\n".join(header) + "\n\n" + summary_table(rows) + "\n\n" + quality_table(rows) + "\n")
        self.log(f"[run] done: {self.run.path} ({time.time() - self.started:.0f}s)")
        return self.run.path

    def train(self, sft: list[dict], d: Path, i: int) -> dict:
        from judge_ray.models import resolve_model
        from judge_ray.training.zero3 import copy_model, train_sft

        state = d / "train_metrics.json"
        if (d / "model" / "config.json").exists() and state.exists():
            return read_json(state)
        if not sft:
            self.log("  train: no SFT example survived rejection sampling; M_i = M_0")
            copy_model(resolve_model(self.cfg.model), d / "model")
            metrics: dict = {"loss": None, "skipped": True}
        else:
            self.log(f"[iter {i}/{self.cfg.iterations}] fine-tuning the seed model on {len(sft)} judgments")
            metrics = train_sft(sft, model=self.cfg.model, cfg=self.cfg.train, export_dir=d / "model",
                                storage_dir=d / "checkpoints", seed=self.cfg.run.seed + i,
                                run_name=f"{self.cfg.run.name}-iter{i}", log=self.log,
                                record={"judge_format": "pairwise", "recipe": "self_taught", "iteration": i})
        write_json(state, metrics)
        if not self.cfg.train.keep_checkpoints:
            # The exported model and train_metrics.json now mark this step done; the ZeRO shards (optimizer
            # state included: ~12x the weights) would only fill the disk.
            shutil.rmtree(d / "checkpoints", ignore_errors=True)
        return metrics

    def _timings(self, d: Path, wall: float) -> float:
        """Wall time of an iteration, kept across resumes (a resumed stage costs ~0 the second time)."""
        path = d / "timings.json"
        if path.exists():
            return read_json(path)["wall_s"]
        write_json(path, {"wall_s": wall})
        return wall


def _counts(rows: list[dict], key: str) -> str:
    from collections import Counter

    return ", ".join(f"{k} {v}" for k, v in sorted(Counter(r[key] for r in rows).items())) or "none"


def run_self_taught(cfg: SelfTaughtConfig, log: Log = print) -> Path:
    return SelfTaughtRun(cfg, log).execute()


__all__ = ["run_self_taught", "SelfTaughtRun"]
