"""The SFT examples as the Ray Train workers read them: a Ray Data dataset of `prompt`/`response` rows, padded so
every worker gets as many, one row per pair under `train.pair_orders`."""
from __future__ import annotations

from pathlib import Path

from judge_ray.training.sft_data import pad_to_workers


def training_dataset(rows: list[dict] | Path, workers: int, pair_orders: bool = False):
    """The SFT examples as a Ray Data dataset and its row count: rows in memory (a JudgeLM file) or a Parquet
    folder (the loop's SFT set, read by the workers, never by the driver). Padded so every worker gets as many
    (see `pad_to_workers`): the first rows are repeated. Under `pair_orders` a row is a pair (`group_by_pair`):
    a folder is hash-partitioned by pair and packed block by block, then materialized (it is counted, and the
    trainer reads it again)."""
    import pandas as pd
    import ray.data

    from judge_ray.training.sft_data import group_by_pair, pair_key

    if not (isinstance(rows, (str, Path)) or hasattr(rows, "fs")):  # rows, not a folder (local or a UPath)
        rows = list(rows)
        if pair_orders and rows:
            rows = group_by_pair(rows, pair_key(list(rows[0])))
        return ray.data.from_pandas(pd.DataFrame(pad_to_workers(rows, workers))[["prompt", "response"]]), len(rows)
    from judge_ray.distributed.dataflow import map_grouped, parquet_rows, read_folder

    def read():
        ds = read_folder(rows)
        if not pair_orders:
            return ds.select_columns(["prompt", "response"])
        key = pair_key(ds.columns())
        ds = ds.select_columns([key, "prompt", "response"])
        return map_grouped(ds, _pack_pairs, {"key": key}, key, parquet_rows(rows)).materialize()

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
