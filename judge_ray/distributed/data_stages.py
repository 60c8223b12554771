"""Engine stages: a stage function (`STAGES`) over rows, on a Ray Data actor pool of engines, or in this process.

On the pool, rows flow through `map_batches` on an `ActorPoolStrategy` pool of engine actors. Each actor loads
its engine once and serves every batch it is given, so model load is paid per actor, not per batch. Ray Data
retries a batch whose actor died on a fresh actor: a dead worker loses no rows.

In this process (`LocalEngines`): a stage of at most `ray.block_rows` rows that needs no GPU is one block, the
unit of resume, so a pool brings it nothing but its fixed cost (an actor start, imports and a model load, ~7 s
on 2 cores, paid again by every stage). It runs here instead on one engine kept across stages while the model
stays the same, the same stage function over the same rows (as `dataflow.map_folder` does for the maps without
a model). A stage that needs a GPU always goes to the pool: the driver may sit on a node without one.

Why our own actor class and not `ray.data.llm`'s vLLM processor: each stage here makes a *dependent* second
call on the same engine within a batch (y_l answers the x' just written; the verdict is read after the
reasoning just sampled, reusing its prefix cache). A `ray.data.llm` processor is one generation per row, so
each stage would chain two processors, i.e. two vLLM engines to start (~55 s each on a 2-core CPU) and no
shared prefix cache between reasoning and verdict. It also keeps only the first of n outputs per row and has
no transformers engine. One actor class keeps both engines on the same code path.
"""
from __future__ import annotations

import logging
import time
from typing import Callable, Optional

import pandas as pd

from judge_ray.distributed.dataflow import plain
from judge_ray.engines.base import Engine, EngineOptions
from judge_ray.progress import StageProgress
from judge_ray.stages.judging import choose_best_batch, grade_batch, judge_batch
from judge_ray.stages.pairs import build_pairs_batch
from judge_ray.stages.selection import classify_batch
from judge_ray.stages.text import generate_batch

logger = logging.getLogger(__name__)

STAGES: dict[str, Callable[..., list[dict]]] = {
    "classify": classify_batch,
    "pairs": build_pairs_batch,
    "judge": judge_batch,
    "choose_best": choose_best_batch,
    "grade": grade_batch,
    "generate": generate_batch,
}


def _build_engine(model: str, engine: str, engine_options: EngineOptions, threads: int) -> Engine:
    import torch

    from judge_ray.engines.factory import make_engine
    from judge_ray.models import resolve_model

    torch.set_num_threads(max(1, threads))
    return make_engine(engine, resolve_model(model), engine_options)


class EngineStage:
    """A Ray Data callable class: one engine per actor, one stage function applied to each batch."""

    def __init__(self, stage: str, model: str, engine: str, engine_options: EngineOptions, stage_kwargs: dict,
                 threads: int = 1):
        from judge_ray.logs import configure_worker

        configure_worker()
        self.fn = STAGES[stage]
        self.kwargs = stage_kwargs
        self.engine = _build_engine(model, engine, engine_options, threads)

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(self.fn(self.engine, batch.to_dict("records"), **self.kwargs))


def engine_map(ds, stage: str, *, model: str, engine: str, engine_options: EngineOptions, stage_kwargs: dict,
               pool_size: int, batch_size: int, actor_cpus: float, actor_gpus: float, block_rows: int):
    """`ds` cut into blocks of `block_rows` (the unit of resume and progress) and mapped on an actor pool."""
    return _on_pool(ds.repartition(target_num_rows_per_block=max(1, block_rows)), stage, model=model, engine=engine,
                    engine_options=engine_options, stage_kwargs=stage_kwargs, pool_size=pool_size,
                    batch_size=batch_size, actor_cpus=actor_cpus, actor_gpus=actor_gpus)


def _on_pool(ds, stage: str, *, model: str, engine: str, engine_options: EngineOptions, stage_kwargs: dict,
             pool_size: int, batch_size: int, actor_cpus: float, actor_gpus: float):
    """`ds`'s blocks mapped by the stage on a pool of engine actors (each builds its engine once)."""
    import ray.data

    return ds.map_batches(
        EngineStage,
        fn_constructor_kwargs=dict(stage=stage, model=model, engine=engine, engine_options=engine_options,
                                   stage_kwargs=stage_kwargs, threads=int(max(1, actor_cpus))),
        batch_size=batch_size, batch_format="pandas", num_cpus=actor_cpus, num_gpus=actor_gpus or None,
        compute=ray.data.ActorPoolStrategy(size=pool_size),
    )


class LocalEngines:
    """The one engine this process keeps for small stages: built on first use, reused while the model, kind and
    options stay the same (classify, pairs, judge and the seed's evaluation share it), closed when they change
    or before training, so the driver never holds two models."""

    _key: Optional[tuple] = None
    _engine: Optional[Engine] = None
    builds = 0  # engines built in this process (tests read it)

    @classmethod
    def get(cls, model: str, engine: str, engine_options: EngineOptions, threads: int) -> Engine:
        key = (model, engine, engine_options, threads)
        if cls._key != key:
            cls.release()
            cls._engine = _build_engine(model, engine, engine_options, threads)
            cls._key = key
            cls.builds += 1
            logger.debug("in-process %s engine on %s", engine, model)
        return cls._engine

    @classmethod
    def release(cls) -> None:
        if cls._engine is not None:
            try:
                cls._engine.close()
            finally:
                cls._engine, cls._key = None, None


def runs_here(rows: int, local_rows: int, actor_gpus: float) -> bool:
    """Whether a stage of `rows` rows runs in this process rather than on an engine pool (see the module doc)."""
    return rows <= local_rows and not actor_gpus


def map_here(rows: list[dict], stage: str, *, model: str, engine: str, engine_options: EngineOptions,
             stage_kwargs: dict, batch_size: int, actor_cpus: float,
             progress: Optional[StageProgress] = None) -> list[dict]:
    """The stage function over rows in this process, `batch_size` rows a call, on the kept engine."""
    local = LocalEngines.get(model, engine, engine_options, int(max(1, actor_cpus)))
    fn, out = STAGES[stage], []
    for start in range(0, len(rows), max(1, batch_size)):
        batch = rows[start:start + max(1, batch_size)]
        out.extend(plain(r) for r in fn(local, batch, **stage_kwargs))
        if progress is not None:
            progress.update(len(batch))
    return out


def run_stage(rows: list[dict], stage: str, *, model: str, engine: str, engine_options: EngineOptions,
              stage_kwargs: dict, pool_size: int, batch_size: int, actor_cpus: float, actor_gpus: float,
              local_rows: int = 0) -> list[dict]:
    """Run one stage over rows held in memory; returns the output rows in input order. For bounded inputs (a
    benchmark, a throughput probe); the loop's corpus-sized stages go from files to files instead (`dataflow`,
    `loop_data`). At most `local_rows` rows without a GPU run in this process; more, on an engine actor pool."""
    if not rows:
        return []
    started = time.time()
    progress = StageProgress(stage, len(rows))
    if runs_here(len(rows), local_rows, actor_gpus):
        out = map_here(rows, stage, model=model, engine=engine, engine_options=engine_options,
                       stage_kwargs=stage_kwargs, batch_size=batch_size, actor_cpus=actor_cpus, progress=progress)
        where = f"{engine} engine in this process"
    else:
        import ray

        blocks = max(1, min(len(rows) // batch_size + 1, 4 * pool_size))
        ds = _on_pool(ray.data.from_pandas(pd.DataFrame(rows)).repartition(blocks), stage, model=model,
                      engine=engine, engine_options=engine_options, stage_kwargs=stage_kwargs, pool_size=pool_size,
                      batch_size=batch_size, actor_cpus=actor_cpus, actor_gpus=actor_gpus)
        out = []
        for batch in ds.iter_batches(batch_format="pandas", batch_size=None):  # as blocks finish
            out.extend(batch.to_dict("records"))
            progress.update(len(batch))
        out = [plain(r) for r in out]
        where = f"{pool_size} {engine} actor{'s' if pool_size > 1 else ''}"
    progress.finish()
    logger.info(f"  {stage}: {len(rows)} rows -> {len(out)} in {time.time() - started:.1f}s ({where})")
    return out
