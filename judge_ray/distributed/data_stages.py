"""Ray Data stages: rows flow through `map_batches` on an `ActorPoolStrategy` pool of engine actors.

Each actor loads its engine once and serves every batch it is given, so model load is paid per actor, not
per batch. Ray Data retries a batch whose actor died on a fresh actor: a dead worker loses no rows.

Why our own actor class and not `ray.data.llm`'s vLLM processor: each stage here makes a *dependent* second
call on the same engine within a batch (y_l answers the x' just written; the verdict is read after the
reasoning just sampled, reusing its prefix cache). A `ray.data.llm` processor is one generation per row, so
each stage would chain two processors, i.e. two vLLM engines to start (~55 s each on a 2-core CPU) and no
shared prefix cache between reasoning and verdict. It also keeps only the first of n outputs per row and has
no transformers engine. One actor class keeps both engines on the same code path.
"""
from __future__ import annotations

import time
from typing import Callable

import pandas as pd

from judge_ray.distributed.dataflow import plain
from judge_ray.engines.base import EngineOptions
from judge_ray.progress import StageProgress
from judge_ray.stages.judging import judge_batch
from judge_ray.stages.pairs import build_pairs_batch
from judge_ray.stages.selection import classify_batch
from judge_ray.stages.text import generate_batch

STAGES: dict[str, Callable[..., list[dict]]] = {
    "classify": classify_batch,
    "pairs": build_pairs_batch,
    "judge": judge_batch,
    "generate": generate_batch,
}


def run_stage(rows: list[dict], stage: str, *, model: str, engine: str, engine_options: EngineOptions,
              stage_kwargs: dict, pool_size: int, batch_size: int, actor_cpus: float, actor_gpus: float,
              log: Callable[[str], None] = print) -> list[dict]:
    """Run one stage over rows held in memory on a pool of engine actors; returns the output rows in input
    order. For bounded inputs (a benchmark, a throughput probe); the loop's corpus-sized stages go from files to
    files instead (`dataflow`, `loop_data`)."""
    import ray

    from judge_ray.distributed.dataflow import EngineStage

    if not rows:
        return []
    started = time.time()
    blocks = max(1, min(len(rows) // batch_size + 1, 4 * pool_size))
    ds = ray.data.from_pandas(pd.DataFrame(rows)).repartition(blocks)
    ds = ds.map_batches(
        EngineStage,
        fn_constructor_kwargs=dict(stage=stage, model=model, engine=engine, engine_options=engine_options,
                                   stage_kwargs=stage_kwargs, threads=int(max(1, actor_cpus))),
        batch_size=batch_size, batch_format="pandas", num_cpus=actor_cpus, num_gpus=actor_gpus or None,
        compute=ray.data.ActorPoolStrategy(size=pool_size),
    )
    progress = StageProgress(stage, len(rows), log)
    out: list[dict] = []
    for batch in ds.iter_batches(batch_format="pandas", batch_size=None):  # as blocks finish
        out.extend(batch.to_dict("records"))
        progress.update(len(batch))
    progress.finish()
    log(f"  {stage}: {len(rows)} rows -> {len(out)} in {time.time() - started:.1f}s "
        f"({pool_size} {engine} actor{'s' if pool_size > 1 else ''})")
    return [plain(r) for r in out]

