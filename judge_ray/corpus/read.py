"""An instruction corpus read through Ray Data, from files to files: the corpus (files, folders, globs of
shards, a `datasets` directory or hub id) -> one JSON text per row -> the layout's instruction, the filters and
a drop reason per row (`layouts.corpus_row`) -> exact dedup on normalised text (group by key) -> the seeded cap
-> `corpus/instructions/*.parquet` in the run directory. The driver sees 20 rows (to find the layout) and
counts, never the corpus.

`corpus/stats.json` is written last: it marks the stage done (a rerun reads the Parquet folder back).
"""
from __future__ import annotations

import glob
import itertools
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional

import pandas as pd

from judge_ray.corpus.layouts import DUPLICATE, LANGUAGE_FIELDS, corpus_row, detect_layout
from judge_ray.distributed.dataflow import count_by, parquet_rows, scan, write_frame
from judge_ray.storage import makedirs, rmtree
from judge_ray.errors import InputError, UserError
from judge_ray.rundir import read_json, write_json
from judge_ray.stages.selection import Descending

logger = logging.getLogger(__name__)

EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".parquet": "parquet"}
BROKEN = "broken JSON line"
NOT_OBJECT = "row is not a JSON object"
SAMPLE_ROWS = 20
ROWS_PER_PARTITION = 50_000  # dedup shuffle: one output partition (and file) per this many usable rows
MAX_PARTITIONS = 200


@dataclass(frozen=True)
class CorpusFilters:
    instruction_field: Optional[str] = None
    min_chars: int = 1
    max_chars: int = 0  # 0 = no upper limit
    language: Optional[str] = None
    max_instructions: Optional[int] = None
    seed: int = 0


def _jsonable(value: Any) -> Any:
    return value.tolist() if hasattr(value, "tolist") else str(value)


def corpus_files(spec: str) -> dict[str, list[str]]:
    """format -> files, for a file, a folder (all corpus files below it) or a glob."""
    path = Path(spec).expanduser()
    if path.is_file():
        files = [str(path)]
    elif path.is_dir():
        files = sorted(str(p) for p in path.rglob("*") if p.is_file())
    else:
        files = sorted(glob.glob(str(path), recursive=True))
    by_format: dict[str, list[str]] = {}
    for f in files:
        kind = EXTENSIONS.get(Path(f).suffix.lower())
        if kind:
            by_format.setdefault(kind, []).append(f)
    return by_format


def is_datasets_dir(spec: str) -> bool:
    p = Path(spec)
    return p.is_dir() and ((p / "dataset_info.json").is_file() or (p / "state.json").is_file()
                           or (p / "dataset_dict.json").is_file())


def looks_like_hub_id(spec: str) -> bool:
    return not Path(spec).exists() and spec.count("/") == 1 and not any(c in spec for c in "*?[") \
        and not Path(spec).suffix


# ---- per-block functions (pure; run in Ray Data tasks) ----
def _lines_to_json(batch: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"json": [line for line in batch["text"] if line.strip()]})


def _array_file_to_json(batch: pd.DataFrame) -> pd.DataFrame:
    out = []
    for data in batch["bytes"]:
        try:
            doc = json.loads(data)
        except ValueError:
            out.append("")  # the whole file is broken: one row counted as such
            continue
        rows = doc if isinstance(doc, list) else [doc]
        out.extend(json.dumps(r, default=_jsonable) for r in rows)
    return pd.DataFrame({"json": out})


def _frame_to_json(batch: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"json": [json.dumps(r, default=_jsonable) for r in batch.to_dict("records")]})


def _to_corpus_rows(batch: pd.DataFrame, layout: str, filters: CorpusFilters, language: Optional[str]) -> pd.DataFrame:
    out = []
    for text in batch["json"]:
        try:
            row = json.loads(text)
        except ValueError:
            out.append(_dropped(BROKEN))
            continue
        if not isinstance(row, dict):
            out.append(_dropped(NOT_OBJECT))
            continue
        out.append(corpus_row(row, layout, min_chars=filters.min_chars, max_chars=filters.max_chars,
                              language=language, seed=filters.seed))
    return pd.DataFrame(out, columns=["id", "source_id", "instruction", "category", "rank", "drop"])


def _dropped(reason: str) -> dict:
    return {"id": "", "source_id": "", "instruction": "", "category": "", "rank": "", "drop": reason}


def _ranked_at_most(batch: pd.DataFrame, threshold: str) -> pd.DataFrame:
    return batch[batch["rank"] <= threshold]


def _dedup_block(block: pd.DataFrame) -> pd.DataFrame:
    """One row per normalised text, whatever the block order (the smallest source id), with how many times the
    corpus holds it (`copies`)."""
    copies = block["id"].value_counts()
    first = block.sort_values(["id", "source_id"]).drop_duplicates("id", keep="first").copy()
    first["copies"] = first["id"].map(copies).astype("int64")
    return first.reset_index(drop=True)


# ---- the stage ----
def open_json_rows(spec: str):
    """The corpus as a Ray Data dataset of one JSON text per row (`json`), whatever its format."""
    import ray.data

    if is_datasets_dir(spec) or looks_like_hub_id(spec):
        return ray.data.from_huggingface(_load_hf(spec)).map_batches(_frame_to_json, batch_format="pandas")
    check_corpus_spec(spec)
    files = corpus_files(spec)
    parts = []
    if files.get("jsonl"):
        parts.append(ray.data.read_text(files["jsonl"]).map_batches(_lines_to_json, batch_format="pandas"))
    if files.get("json"):
        parts.append(ray.data.read_binary_files(files["json"]).map_batches(_array_file_to_json,
                                                                           batch_format="pandas"))
    if files.get("parquet"):
        parts.append(ray.data.read_parquet(files["parquet"]).map_batches(_frame_to_json, batch_format="pandas"))
    return parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]


def _load_hf(spec: str):
    import datasets

    try:
        if is_datasets_dir(spec):
            ds = datasets.load_from_disk(spec)
        else:
            ds = datasets.load_dataset(spec)
    except Exception as exc:  # offline hub, a private dataset, a broken directory: one line, not a trace
        raise InputError(f"data.instructions={spec}: could not load it as a datasets directory or hub id "
                         f"({type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''})") from None
    if isinstance(ds, datasets.DatasetDict):
        split = "train" if "train" in ds else next(iter(ds))
        ds = ds[split]
    return ds


def _first_rows(spec: str, n: int) -> Iterator[object]:
    """The corpus's first rows in the order `open_json_rows` reads them, read here from the first files: a Ray
    Data `take(n)` would end its read early and leave an interrupted file-listing task's traceback in the log."""
    if is_datasets_dir(spec) or looks_like_hub_id(spec):
        ds = _load_hf(spec)
        yield from (ds[i] for i in range(min(n, len(ds))))
        return
    files = corpus_files(spec)
    for path in files.get("jsonl", []):
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.strip():
                    try:
                        yield json.loads(line)
                    except ValueError:
                        yield None
    for path in files.get("json", []):
        try:
            doc = json.loads(Path(path).read_bytes())
        except ValueError:
            continue
        yield from (doc if isinstance(doc, list) else [doc])
    for path in files.get("parquet", []):
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=n):
            yield from batch.to_pylist()


def sample_fields(spec: str, n: int = SAMPLE_ROWS) -> list[str]:
    """The fields of the first `n` rows (unusable rows counted among them, as the read counts them)."""
    fields: dict[str, None] = {}
    for row in itertools.islice(_first_rows(spec, n), n):
        if isinstance(row, dict):
            fields.update(dict.fromkeys(row))
    return list(fields)


# A corpus of local files this small (~ a few thousand instructions) is read in the driver (`_Here`).
LOCAL_CORPUS_BYTES = 1 << 20


def local_corpus_bytes(spec: str) -> Optional[int]:
    """The bytes of a corpus of local files (None for a datasets directory or a hub id)."""
    if is_datasets_dir(spec) or looks_like_hub_id(spec):
        return None
    return sum(Path(f).stat().st_size for files in corpus_files(spec).values() for f in files)


def _json_rows_here(spec: str) -> pd.DataFrame:
    """`open_json_rows` for a small corpus of local files, read in this process by the same batch functions."""
    files, parts = corpus_files(spec), []
    for path in files.get("jsonl", []):
        lines = Path(path).read_text(encoding="utf-8", errors="replace").split("\n")
        parts.append(_lines_to_json(pd.DataFrame({"text": lines})))
    parts += [_array_file_to_json(pd.DataFrame({"bytes": [Path(p).read_bytes()]})) for p in files.get("json", [])]
    parts += [_frame_to_json(pd.read_parquet(p)) for p in files.get("parquet", [])]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({"json": []})


class _Here:
    """The two Ray Data passes of `prepare_corpus` done in this process over a frame (a small corpus: a Ray
    Data execution costs ~6 s of fixed overhead on 2 cores, the whole read of a few hundred rows milliseconds)."""

    def __init__(self, spec: str):
        self.frame = _json_rows_here(spec)

    def annotate(self, fn_kwargs: dict, directory: Path) -> None:
        rmtree(directory)
        makedirs(directory)
        write_frame(_to_corpus_rows(self.frame, **fn_kwargs), directory)

    @staticmethod
    def keep(annotated_dir: Path, threshold: Optional[str], directory: Path) -> None:
        kept = pd.read_parquet(str(annotated_dir))
        kept = kept[kept["drop"] == ""].drop(columns=["drop"])
        kept = _ranked_at_most(kept, threshold) if threshold is not None else kept
        rmtree(directory)
        makedirs(directory)
        write_frame(_dedup_block(kept), directory)


def prepare_corpus(spec: str, filters: CorpusFilters, out_dir: Path, local_bytes: int = 0) -> dict:
    """Read, filter, dedup and cap the corpus into `out_dir/instructions/`; returns the counts (also written
    to `out_dir/stats.json`, which marks the stage finished). A corpus of local files of at most `local_bytes`
    is read in this process by the same batch functions (`_Here`); 0: always through Ray Data."""
    stats_path = out_dir / "stats.json"
    if stats_path.exists():
        return read_json(stats_path)
    check_corpus_spec(spec)
    size = local_corpus_bytes(spec)
    here = _Here(spec) if size is not None and size <= local_bytes else None
    raw = None if here else open_json_rows(spec)
    fields = sample_fields(spec)
    layout = detect_layout(fields, filters.instruction_field)
    if layout is None:
        wanted = (f"the field {filters.instruction_field!r} (data.instruction_field)" if filters.instruction_field
                  else "instruction, messages, conversation, conversations or prompt")
        raise InputError(f"data.instructions={spec}: no instruction field found: wanted {wanted}; the first rows "
                         f"have {', '.join(fields[:20]) or 'no fields'} (name one with data.instruction_field)")
    has_language = any(f in fields for f in LANGUAGE_FIELDS)
    language = filters.language if has_language else None
    if filters.language and not has_language:
        logger.info(f"[corpus] data.language={filters.language} ignored: the corpus has no language field")
    annotate = {"layout": layout, "filters": filters, "language": language}
    annotated_dir = out_dir / "annotated"
    if here:
        here.annotate(annotate, annotated_dir)
    else:
        _write(raw.map_batches(_to_corpus_rows, fn_kwargs=annotate, batch_format="pandas"), annotated_dir)

    counts = count_by(annotated_dir, "drop")  # streamed here batch by batch: counts, never rows
    read, usable = sum(counts.values()), counts.pop("", 0)
    if usable == 0:
        raise UserError(f"data.instructions={spec}: no instruction is left after the filters ({read} rows read; "
                        f"dropped: {_reasons(counts) or 'none'})")
    final_dir = out_dir / "instructions"
    cap = filters.max_instructions
    # the `cap` lowest seeded ranks of distinct texts, found with at most `cap` held here
    threshold = _nth_smallest(annotated_dir, "rank", cap, usable_only=True) if cap else None
    if here:
        here.keep(annotated_dir, threshold, final_dir)
    else:
        _keep_on_ray_data(annotated_dir, threshold, usable, final_dir)
    n_kept = parquet_rows(final_dir)
    copies = sum(int(c or 0) for batch in scan(final_dir, ["copies"]) for c in batch["copies"])
    dropped = {**counts, **({DUPLICATE: copies - n_kept} if copies > n_kept else {})}
    stats = {"corpus": spec, "layout": layout, "read": read, "dropped": dropped, "capped": usable - copies,
             "kept": n_kept, "language_filter": language}
    rmtree(annotated_dir)
    write_json(stats_path, stats)
    logger.info(f"[corpus] {spec} ({layout}): {read} rows read, {stats['kept']} kept; "
                f"dropped: {_reasons(dropped) or 'none'}"
                + (f"; {stats['capped']} over data.max_instructions" if stats["capped"] else ""))
    return stats


def _keep_on_ray_data(annotated_dir: Path, threshold: Optional[str], usable: int, final_dir: Path) -> None:
    """The usable rows, capped at the rank `threshold`, one per text (`_dedup_block`), through Ray Data."""
    import ray.data

    kept = ray.data.read_parquet(str(annotated_dir)).filter(expr="drop == ''").drop_columns(["drop"])
    if threshold is not None:
        kept = kept.map_batches(_ranked_at_most, fn_kwargs={"threshold": threshold}, batch_format="pandas")
    partitions = max(1, min(MAX_PARTITIONS, usable // ROWS_PER_PARTITION + 1))  # not 200 files for 100 rows
    # Hash-partitioned by id, every copy of a text lands in one block; each block is deduplicated at once
    # (not a map per group: that writes one Parquet row group per text).
    _write(kept.repartition(partitions, keys=["id"]).map_batches(_dedup_block, batch_size=None, batch_format="pandas"),
           final_dir)


def _nth_smallest(directory: Path, column: str, n: int, usable_only: bool = False) -> Optional[str]:
    """The n-th smallest distinct value of a column (rows with a drop reason left out when `usable_only`),
    holding at most n values at a time; None when there are n or fewer. (Distinct: copies of a text share
    a rank, so `dataflow.nth_smallest`, which counts every row, would cap copies rather than texts.)"""
    import heapq

    heap: list[Descending] = []  # the n smallest distinct values so far, the largest of them on top
    members: set[str] = set()
    for batch in scan(directory, [column, "drop"] if usable_only else [column]):
        values, drops = batch[column], (batch["drop"] if usable_only else None)
        for k, value in enumerate(values):
            if (drops and drops[k]) or value in members:
                continue
            if len(heap) < n:
                heapq.heappush(heap, Descending(value))
                members.add(value)
            elif value < heap[0].value:
                members.discard(heapq.heapreplace(heap, Descending(value)).value)
                members.add(value)
    return heap[0].value if len(heap) == n else None


def _reasons(dropped: dict) -> str:
    return ", ".join(f"{n} {reason}" for reason, n in sorted(dropped.items(), key=lambda kv: -kv[1]))


def _write(ds, directory: Path) -> None:
    rmtree(directory)
    ds.write_parquet(str(directory))


def check_corpus_spec(spec: str) -> None:
    """Before anything starts: the corpus exists (files, a datasets directory, or what looks like a hub id)."""
    if is_datasets_dir(spec) or looks_like_hub_id(spec) or corpus_files(spec):
        return
    raise InputError(f"data.instructions={spec}: no such file, folder or glob of .jsonl/.json/.parquet files")
