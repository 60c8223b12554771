"""The loop's data stages as Ray Data pipelines from Parquet folders to Parquet folders (see `dataflow`).

Each function composes the pure per-row / per-group recipes of `judge_ray.stages` with Ray Data operations
(map_batches, a hash partition by pair); what the driver holds is counts, thresholds and ids chosen, computed from a
column or two streamed from the folders (`dataflow.scan`). Every choice is keyed by row id and the run seed,
so the same run gives the same rows whatever the block layout, the worker count or a resume in between.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

import pandas as pd

from judge_ray.attacks import REPLACING_SHARE
from judge_ray.distributed.data_stages import engine_map, map_here, runs_here
from judge_ray.distributed.dataflow import (count_by, done_rows, map_folder, parquet_files, parquet_rows, plain,
                                            read_folder, scan, write_checkpointed, write_here)
from judge_ray.engines.base import EngineOptions
from judge_ray.stages.judging import judgment_requests
from judge_ray.stages.pairs import place, placement, slot_surplus
from judge_ray.stages.rejection import pick_one, sft_row, swapped_sft_row
from judge_ray.stages.seeds import nth_smallest, order_key
from judge_ray.stages.selection import select_balanced

logger = logging.getLogger(__name__)



@dataclass(frozen=True)
class EnginePool:
    """Where an engine stage runs: the model and engine, and the actor pool that serves it. A stage of at most
    `local_rows` rows without a GPU runs in this process instead (`data_stages.runs_here`); 0 means always the
    pool (the kill tests, which kill its actors)."""

    engine: str
    engine_options: EngineOptions = field(default_factory=EngineOptions)
    pool_size: int = 1
    batch_size: int = 16
    actor_cpus: float = 1.0
    actor_gpus: float = 0.0
    block_rows: int = 256
    local_rows: int = 0

    def map(self, ds, stage: str, model: str, **stage_kwargs):
        return engine_map(ds, stage, model=model, engine=self.engine, engine_options=self.engine_options,
                          stage_kwargs=stage_kwargs, pool_size=self.pool_size, batch_size=self.batch_size,
                          actor_cpus=self.actor_cpus, actor_gpus=self.actor_gpus, block_rows=self.block_rows)

    def write(self, src: Path, out: Path, stage: str, model: str, *, id_column: str, total: int,
              where: Optional[str] = None, post: Optional[Callable[[pd.DataFrame], pd.DataFrame]] = None,
              **stage_kwargs) -> int:
        """`stage` over the finished folder `src` (rows kept by the filter `where`) into `out`: resumable by
        `id_column` on the pool (`dataflow.write_checkpointed`), or one block here, written atomically."""
        if not runs_here(total, self.local_rows, self.actor_gpus):
            def build():
                ds = read_folder(src)
                ds = ds.filter(expr=where) if where else ds
                ds = self.map(ds, stage, model, **stage_kwargs)
                return ds.map_batches(post, batch_format="pandas") if post else ds
            return write_checkpointed(build, out, id_column, stage, total)

        def compute(progress) -> pd.DataFrame:
            frame = pd.read_parquet(str(src)) if parquet_files(src) else pd.DataFrame()
            frame = frame.query(where) if where and len(frame) else frame
            rows = map_here(_rows(frame), stage, model=model, engine=self.engine, engine_options=self.engine_options,
                            stage_kwargs=stage_kwargs, batch_size=self.batch_size, actor_cpus=self.actor_cpus,
                            progress=progress)
            out_frame = pd.DataFrame(rows)
            return post(out_frame) if post and len(out_frame) else out_frame
        return write_here(compute, out, stage, total)


def _rows(batch: pd.DataFrame) -> list[dict]:
    return [plain(r) for r in batch.to_dict("records")]


def _frame(rows: list[dict], like: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=list(like))


def column(folder: Path, name: str, where: Optional[Callable[[dict], bool]] = None, extra: Sequence[str] = ()):
    """A fresh pass over one column of a finished folder (rows kept by `where`, which sees `extra` columns)."""
    for batch in scan(folder, [name, *extra]):
        if where is None:
            yield from batch[name]
        else:
            keys = [name, *extra]
            for values in zip(*(batch[k] for k in keys)):
                row = dict(zip(keys, values))
                if where(row):
                    yield row[name]


def _keep_ids(batch: pd.DataFrame, ids: frozenset) -> pd.DataFrame:
    return batch[batch["id"].isin(ids)]


# ---- selection ----
def classify(corpus_dir: Path, out: Path, pool: EnginePool, model: str, categories: Sequence[str], seed: int,
             max_candidates: Optional[int], kept: int) -> int:
    """The model's category and difficulty for the first `max_candidates` instructions in seeded order."""
    threshold = nth_smallest(lambda: column(corpus_dir, "rank"), max_candidates) if max_candidates else None
    total = min(kept, max_candidates or kept)

    logger.info(f"[select] classifying {total} of {kept} instructions with {model}")
    return pool.write(corpus_dir, out, "classify", model, id_column="id", total=total,
                      where=f"rank <= '{threshold}'" if threshold is not None else None,
                      categories=list(categories), seed=seed)


def select(classified: Path, out: Path, categories: Sequence[str], per_category: int,
           min_difficulty: float, local_rows: int = 0) -> dict:
    """At most `per_category` of each category, hardest first; returns {category: count}. The choice is made
    from three columns streamed here (a heap per category: the ids chosen, never the rows); Ray Data then
    copies the chosen rows."""
    fields = ("id", "category", "difficulty")
    rows = (dict(zip(fields, v)) for b in scan(classified, list(fields)) for v in zip(*(b[f] for f in fields)))
    chosen = frozenset(r["id"] for r in select_balanced(rows, categories, per_category, min_difficulty))
    if not chosen:
        return {}
    map_folder(classified, out, _keep_ids, {"ids": chosen}, local_rows)
    return count_by(out, "category")


# ---- pairs ----
def build_pairs(instructions: Path, out: Path, pool: EnginePool, model: str, total: int, **stage_kwargs) -> int:
    logger.info(f"[pairs] y_w, x', y_l for {total} instructions with {model}")
    return pool.write(instructions, out, "pairs", model, id_column="id", total=total, **stage_kwargs)


def _place(batch: pd.DataFrame, seed: int, split_threshold: Optional[str], flips: dict) -> pd.DataFrame:
    return _frame([place(r, seed, split_threshold, flips) for r in _rows(batch)], list(batch.columns))


def place_pairs(built: Path, out: Path, eval_fraction: float, seed: int, local_rows: int = 0) -> dict:
    """The held-out split and the winner slot of every pair (`stages.pairs.placement`, from passes over the
    usable ids), then one Ray Data map writes them; returns {(split, winner): count}."""
    split_threshold, flips = placement(lambda: column(built, "id", lambda r: bool(r["pair_ok"]), ["pair_ok"]),
                                       eval_fraction, seed)
    map_folder(built, out, _place, {"seed": seed, "split_threshold": split_threshold, "flips": flips}, local_rows)
    return count_by(out, "split", "winner")


# ---- judgments ----
def _requests(batch: pd.DataFrame, samples: int, seed: int, stage: str, adversarial: float = 0.0,
              replacing: float = REPLACING_SHARE) -> pd.DataFrame:
    pairs = [r for r in _rows(batch) if r["split"] == "train"]
    return _frame(judgment_requests(pairs, samples, seed, stage, adversarial=adversarial, replacing=replacing),
                  ["request_id"])


def judge_pairs(pairs: Path, requests: Path, out: Path, pool: EnginePool, model: str, *, samples: int, seed: int,
                stage: str, local_rows: int = 0, adversarial: float = 0.0, replacing: float = REPLACING_SHARE,
                **judge_kwargs) -> int:
    """N seeded judgments per training pair by `model`: the requests (one per pair x sample, `request_id`) are
    written first, so that a resumed judge stage skips by request id, then judged on the engine pool. Under
    `adversarial` a seeded share of pairs shows y_l attacked, a `replacing` share of them by a master key
    (`stages.judging.judgment_requests`)."""
    if done_rows(requests) is None:
        map_folder(pairs, requests, _requests,
                   {"samples": samples, "seed": seed, "stage": stage, "adversarial": adversarial,
                    "replacing": replacing}, local_rows)
    return pool.write(requests, out, "judge", model, id_column="request_id", total=done_rows(requests),
                      post=_ByJudge(model), **judge_kwargs)


@dataclass(frozen=True)
class _ByJudge:
    """Each judgment names the model that wrote it (M_{i-1}: the seed's name, then an iteration's model dir)."""

    judge: str

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        return batch.assign(judge=self.judge)


# ---- rejection sampling ----
SFT_COLUMNS = ["pair_id", "winner", "question", "answer_a", "answer_b", "reasoning", "swapped", "prompt",
               "response", "kept"]


def _pick(block: pd.DataFrame, seed: int) -> pd.DataFrame:
    """One row per pair of a block that holds all of its pairs' judgments: the picked judgment as an SFT row
    (`kept`), or a stub saying none was correct. One pass per block, not a map per group: a frame per pair
    becomes a Parquet row group per pair, and reading 10^5 of those back costs the driver gigabytes."""
    out = []
    for pair_id, group in block.groupby("pair_id", sort=True):
        picked = pick_one(_rows(group), seed)
        # A stub has every column, typed: a column of bools and NaNs would be written as pickled objects.
        out.append({**sft_row(picked), "kept": True} if picked else
                   {**dict.fromkeys(SFT_COLUMNS, ""), "pair_id": str(pair_id), "swapped": False, "kept": False})
    return _frame(out, SFT_COLUMNS)


def _finish_sft(batch: pd.DataFrame, seed: int, swap_augment: bool, big: str, threshold: Optional[str]) -> pd.DataFrame:
    rows = [{k: v for k, v in r.items() if k != "kept"} for r in _rows(batch) if r["kept"]]
    if swap_augment:
        rows += [swapped_sft_row(r) for r in rows]
    elif threshold is not None:
        rows = [swapped_sft_row(r) if r["winner"] == big and order_key(seed, "balance", r["pair_id"]) <= threshold
                else r for r in rows]
    return _frame(rows, SFT_COLUMNS[:-1])


def reject(judgments: Path, out: Path, seed: int, balance: bool, swap_augment: bool, local_rows: int = 0) -> dict:
    """Rejection sampling in Ray Data: one seeded correct judgment per pair (a hash partition by pair into
    `<out>_picked/`), then JudgeLM's swap augmentation or A/B balancing into `out`; returns the counts a person
    checks (also in `<out>_stats.json`). tests/recipes.py holds the same recipe over rows in memory."""
    from judge_ray.rundir import read_json, write_json

    stats_path = out.parent / f"{out.name}_stats.json"
    if done_rows(out) is not None and stats_path.is_file():
        return read_json(stats_path)
    picked_dir = out.parent / f"{out.name}_picked"
    n = done_rows(judgments)
    n = parquet_rows(judgments) if n is None else n
    if done_rows(picked_dir) is None:  # every judgment of a pair in one batch
        map_folder(judgments, picked_dir, _pick, {"seed": seed}, local_rows, group_by="pair_id")
    slots = count_by(picked_dir, "kept", "winner")
    kept_a, kept_b = slots.get((True, "A"), 0), slots.get((True, "B"), 0)
    big, move = slot_surplus(kept_a, kept_b)
    threshold = None
    if balance and not swap_augment and move:
        threshold = nth_smallest(lambda: (order_key(seed, "balance", p) for p in column(
            picked_dir, "pair_id", lambda r: r["kept"] and r["winner"] == big, ["kept", "winner"])), move)
    map_folder(picked_dir, out, _finish_sft,
               {"seed": seed, "swap_augment": swap_augment, "big": big, "threshold": threshold}, local_rows)
    after = count_by(out, "winner")
    pairs = sum(slots.values())
    stats = {"judgments": n, "correct_judgments": sum(bool(c) for c in column(judgments, "correct")),
             "pairs": pairs, "pairs_kept": kept_a + kept_b, "pairs_dropped": pairs - kept_a - kept_b,
             "kept_winner_A_before_balance": kept_a, "sft_rows": sum(after.values()),
             "sft_winner_A": after.get("A", 0), "sft_winner_B": after.get("B", 0)}
    write_json(stats_path, stats)
    return stats
