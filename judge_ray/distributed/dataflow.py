"""Files to files through Ray Data: every stage of the loop reads a Parquet folder, maps its blocks (on an
actor pool of a stage's callable class, or with a pure function) and writes a Parquet folder. The driver sees
counts and a few thresholds, never the rows, so its memory does not grow with the corpus.

Two kinds of write, and why:
- `write_checkpointed` (model work, hours at corpus scale) uses Ray Data's own row-level checkpointing by id
  (`DataContext.checkpoint_config`): a block's file counts once its checkpoint is committed (Ray's two-phase
  commit: a pending marker before the file, renamed after), a rerun deletes the files of blocks that were
  interrupted mid-write and computes only the rows that are missing. Killed actors are retried by Ray Data.
- `write_folder` / `map_folder` (no model: selection, splits, requests, rejection; seconds) write into a
  temporary folder and rename it, so a folder that exists is complete; an interrupted one is simply redone.
  `map_folder` maps a folder no bigger than one block in this process: a Ray Data execution has a fixed cost
  (~6 s on 2 cores: list, read, map and write tasks, fresh workers) that dwarfs the work on a few hundred rows.
  It is the same pure batch function over the same rows, so the output is the same; at corpus scale the map
  runs on Ray Data and the driver holds no rows.
- `write_here` (a model stage no bigger than one block, computed in this process by `data_stages`): written
  atomically like `map_folder`; interrupted, it is redone whole, which costs what one block costs on a pool.

A stage folder is finished when it holds `_done.json` (its row count, written last).
"""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from collections import Counter
from typing import Any, Callable, Iterator, Optional

import pandas as pd

from judge_ray.distributed.node_loss import retry_on_node_loss
from judge_ray.progress import Poller, StageProgress
from judge_ray.storage import absolute, is_remote, location, makedirs, replace_dir, rmtree

logger = logging.getLogger(__name__)

DONE = "_done.json"


def done_rows(folder: Path) -> Optional[int]:
    """The row count of a finished stage folder; None when it is missing or unfinished."""
    marker = location(folder) / DONE
    return json.loads(marker.read_text())["rows"] if marker.is_file() else None


def _mark_done(folder: Path, rows: int, extra: Optional[dict] = None) -> None:
    from judge_ray.rundir import write_json

    write_json(location(folder) / DONE, {"rows": rows, **(extra or {})})


def read_folder(folder: Path):
    """A finished stage folder as a Ray Data dataset (a folder of 0 rows holds no Parquet file)."""
    import ray.data

    return ray.data.read_parquet(str(folder), file_extensions=["parquet"])


def file_rows(path: Path) -> Optional[int]:
    """A Parquet file's rows from its footer; None while it is still being written (no readable footer)."""
    import pyarrow.parquet as pq

    try:
        if is_remote(path):
            with location(path).open("rb") as f:
                return pq.ParquetFile(f).metadata.num_rows
        return pq.ParquetFile(str(path)).metadata.num_rows
    except Exception:
        return None


def parquet_rows(folder: Path) -> int:
    """Rows in the Parquet files of a folder (unreadable, half-written files skipped)."""
    return sum(file_rows(f) or 0 for f in parquet_files(folder))


def parquet_files(folder: Path) -> list:
    """The Parquet files of a folder, listed afresh (local or on an object store; none when it is missing)."""
    folder = location(folder)
    return sorted(folder.glob("*.parquet")) if folder.is_dir() else []


def write_folder(ds, folder: Path) -> int:
    """Write `ds` into `folder` atomically (a temporary folder renamed when complete); returns its rows."""
    return _write_atomically(folder, lambda tmp: ds.write_parquet(str(tmp)))


def _write_atomically(folder: Path, write: Callable[[Path], Any]) -> int:
    folder = location(folder)
    tmp = folder.parent / f".{folder.name}.tmp"

    def attempt() -> None:  # a node lost mid-write: the folder is redone whole
        rmtree(tmp)
        makedirs(tmp)
        write(tmp)

    retry_on_node_loss(attempt, f"writing {folder.name}")
    rows = parquet_rows(tmp)
    replace_dir(tmp, folder)
    _mark_done(folder, rows)  # last: a folder is finished once it holds its marker
    return rows


def write_frame(frame: pd.DataFrame, folder: Path) -> None:
    """A frame as one Parquet part, the folder's whole content as Ray Data would write it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if len(frame):  # like Ray Data: a folder of 0 rows holds no Parquet file
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), str(folder / "part-0.parquet"))


def write_here(compute: Callable[[StageProgress], pd.DataFrame], folder: Path, name: str, total: int) -> int:
    """A model stage small enough to be one block, computed in this process (`compute(progress)` returns its
    rows) and written atomically: an interrupted one is redone whole, which costs what one block costs on the
    pool. A finished folder is read back, not recomputed."""
    folder = location(folder)
    finished = done_rows(folder)
    if finished is not None:
        return finished
    started = time.time()
    progress = StageProgress(name, total)

    def write(tmp: Path) -> None:
        try:
            write_frame(compute(progress), tmp)
        finally:
            progress.finish()

    rows = _write_atomically(folder, write)
    seconds = time.time() - started
    _mark_done(folder, rows, {"seconds": round(seconds, 1)})
    rmtree(folder.parent / f".{folder.name}.checkpoint")  # of an earlier pool run
    logger.info(f"  {name}: {rows} rows in {seconds:.1f}s ({rows / max(seconds, 1e-9):.1f} rows/s, in this "
                f"process) -> {folder}")
    return rows


def map_folder(src: Path, dst: Path, fn: Callable[..., pd.DataFrame], fn_kwargs: dict, local_rows: int,
               group_by: Optional[str] = None) -> int:
    """`fn(batch, **fn_kwargs)`, a pure pandas batch function, over the finished folder `src` into `dst`;
    returns the rows written. `group_by`: every row sharing that column's value must reach `fn` in one batch
    (on Ray Data, a hash partition by it; a partition per ~20k rows). A folder of at most `local_rows` rows is
    mapped here, as one batch (see the module docstring); 0 forces Ray Data."""
    rows = done_rows(src)
    rows = parquet_rows(src) if rows is None else rows
    if rows <= local_rows:
        def write(tmp: Path) -> None:
            if rows:
                write_frame(fn(pd.read_parquet(str(src)), **fn_kwargs), tmp)

        return _write_atomically(dst, write)
    ds = read_folder(src)
    if group_by:
        return write_folder(map_grouped(ds, fn, fn_kwargs, group_by, rows), dst)
    return write_folder(ds.map_batches(fn, fn_kwargs=fn_kwargs, batch_size=None, batch_format="pandas"), dst)


def map_grouped(ds, fn: Callable[..., pd.DataFrame], fn_kwargs: dict, key: str, rows: int):
    """`fn` over whole blocks that each hold every row of their `key` values: a hash partition by the key, one
    partition per ~20k of the `rows` (at most 200), each block mapped at once (not a map per group: a frame per
    group becomes a Parquet row group per group)."""
    ds = ds.repartition(max(1, min(200, rows // 20000 + 1)), keys=[key])
    return ds.map_batches(fn, fn_kwargs=fn_kwargs, batch_size=None, batch_format="pandas")


class _FolderProgress(Poller):
    """Polls the rows written into a folder (Parquet footers) while a write runs: the driver never sees the
    rows themselves, so this is how it knows how far the stage has got."""

    def __init__(self, folder: Path, progress: StageProgress, every_s: float = 2.0):
        super().__init__(every_s)
        self.folder, self.progress = folder, progress
        self.counted: dict[str, int] = {}

    def poll(self) -> None:
        for f in parquet_files(self.folder):
            n = None if f.name in self.counted else file_rows(f)
            if n is not None:
                self.counted[f.name] = n
                self.progress.update(n)

    def __exit__(self, *exc):
        super().__exit__(*exc)
        self.progress.finish()


def write_checkpointed(build: Callable[[], Any], folder: Path, id_column: str, name: str, total: int) -> int:
    """Write the dataset `build()` makes (it must start with a read) into `folder`, resumable by `id_column`.

    `build` is called with the checkpoint config in place: a dataset takes a copy of the DataContext when it
    is created. A rerun of an interrupted write computes only the missing rows; of a finished one, nothing.
    """
    from ray.data import DataContext
    from ray.data.checkpoint import CheckpointConfig

    folder = location(folder)
    finished = done_rows(folder)
    if finished is not None:
        return finished
    checkpoints = folder.parent / f".{folder.name}.checkpoint"
    already = parquet_rows(folder)
    if already:
        logger.info(f"  [{name}] resuming: {already} of {total} rows were written before the interruption")
    makedirs(folder)
    ctx = DataContext.get_current()
    previous = ctx.checkpoint_config
    # Kept after success: _done.json is written after the write returns, and a kill in between must not
    # make a rerun compute everything again (the checkpoint then filters out every row).
    ctx.checkpoint_config = CheckpointConfig(id_column=id_column, checkpoint_path=absolute(checkpoints),
                                             delete_checkpoint_on_success=False)
    started = time.time()
    try:
        with _FolderProgress(folder, StageProgress(name, total)) as poll:
            poll.counted.update({f.name: 0 for f in parquet_files(folder)})  # counted in `already`
            poll.progress.done = already
            # a node lost mid-write: the checkpoint keeps what was committed, the rerun writes the rest
            retry_on_node_loss(lambda: build().write_parquet(str(folder)), f"the {name} stage")
    finally:
        ctx.checkpoint_config = previous
    rows, seconds = parquet_rows(folder), time.time() - started
    _mark_done(folder, rows, {"seconds": round(seconds, 1)})
    rmtree(checkpoints)
    logger.info(f"  {name}: {rows} rows in {seconds:.1f}s ({(rows - already) / max(seconds, 1e-9):.1f} rows/s) "
                f"-> {folder}")
    return rows


def scan(folder: Path, columns: list[str], batch_size: int = 65536) -> Iterator[dict[str, list]]:
    """A finished folder's columns, one batch at a time (pyarrow, on the driver): for counts and thresholds,
    which read a column or two, cost no Ray execution (seconds each on a small cluster) and hold no rows."""
    import pyarrow.dataset as pads

    if not parquet_files(folder):
        return
    for batch in pads.dataset(str(folder), format="parquet").to_batches(columns=columns, batch_size=batch_size):
        yield batch.to_pydict()


def count_by(folder: Path, *columns: str) -> dict:
    """{value (or tuple of values): rows} over a finished folder."""
    counts: Counter = Counter()
    for batch in scan(folder, list(columns)):
        counts.update(zip(*(batch[c] for c in columns)) if len(columns) > 1 else batch[columns[0]])
    return dict(counts)


def plain(row: dict[str, Any]) -> dict[str, Any]:
    """numpy scalars -> Python, so rows compare and serialise like the inputs."""
    return {k: (v.item() if hasattr(v, "item") and not isinstance(v, (str, bytes)) else v) for k, v in row.items()}
