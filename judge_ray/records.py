"""Read rows from the files people keep datasets in: JSONL, a JSON array, Parquet (a file, or a folder of them as
Ray Data writes), or a Hugging Face dataset (a `save_to_disk` directory or a hub id through `datasets`).

Every reader in the project goes through here so a bad file gets the same one-line error everywhere:
`<file>:<row>: <what is wrong>` (rows count from 1; JSONL rows are line numbers).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator, Optional

from judge_ray.errors import InputError
from judge_ray.storage import location

TABULAR = (".parquet",)


def iter_records(source: str | Path, what: str = "data file", split: Optional[str] = None,
                 bad_rows: Optional[list[tuple[int, str]]] = None) -> Iterator[tuple[int, dict]]:
    """(row number, row) pairs. Raises InputError for a missing/unreadable file or a row that is not an object;
    with `bad_rows` given, a row that is not a JSON object is appended there as (row, reason) and skipped
    instead (one broken line in a published file must not cost the whole file)."""
    path = location(source)  # a local file, or one on an object store (a run's held-out pairs)
    if path.is_file():
        if path.suffix == ".jsonl":
            yield from _jsonl(path, bad_rows)
        elif path.suffix == ".json":
            yield from _json_file(path, bad_rows)
        elif path.suffix in TABULAR:
            yield from _parquet(path)
        else:
            raise InputError(f"{path}: unsupported file type {path.suffix or '(none)'}; use .jsonl, .json or .parquet")
        return
    if path.is_dir() and any(path.glob("*.parquet")) and not (path / "dataset_info.json").exists():
        yield from _parquet(path)  # a Parquet folder (Ray Data's, the loop's stages): pyarrow reads it whole
        return
    if path.is_dir() or _looks_like_hub_id(str(source)):
        yield from _hf_dataset(str(source), split, what)
        return
    raise InputError(f"{what} not found: {source}")


def read_records(source: str | Path, what: str = "data file", split: Optional[str] = None,
                 bad_rows: Optional[list[tuple[int, str]]] = None) -> list[tuple[int, dict]]:
    rows = list(iter_records(source, what, split, bad_rows))
    if not rows and not bad_rows:
        raise InputError(f"{what} is empty: {source}")
    return rows


def require_text(path: Any, row: int, obj: dict, field: str) -> str:
    """A non-empty string field, or a one-line error naming file, row and field."""
    value = obj.get(field)
    if not isinstance(value, str) or not value.strip():
        problem = ("is missing or empty" if value is None or isinstance(value, str)
                   else f"must be text, got {type(value).__name__}")
        raise InputError(f"{path}:{row}: field {field!r} {problem}")
    return value


def as_text(value: Any) -> Optional[str]:
    """A published value as text: strings as they are (empty included: a model that said nothing), JSON
    scalars as JSON spells them (true, 3, 1.5); None for null and for lists/objects, which are not text."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)) and value == value:  # NaN (a missing Parquet cell) is not text
        return json.dumps(value)
    if hasattr(value, "item") and not hasattr(value, "__len__"):  # numpy scalar from Parquet
        return as_text(value.item())
    return None


def _looks_like_hub_id(text: str) -> bool:
    parts = text.split("/")
    return len(parts) == 2 and all(parts) and not text.startswith((".", "/")) and "." not in parts[1][-6:]


def _bad(path: Path, row: int, reason: str, bad_rows: Optional[list[tuple[int, str]]]) -> None:
    if bad_rows is None:
        raise InputError(f"{path}:{row}: {reason}")
    bad_rows.append((row, reason))


def _jsonl(path: Path, bad_rows: Optional[list[tuple[int, str]]] = None) -> Iterator[tuple[int, dict]]:
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                _bad(path, lineno, f"not valid JSON ({exc.msg})", bad_rows)
                continue
            if not isinstance(obj, dict):
                _bad(path, lineno, f"expected a JSON object, got {type(obj).__name__}", bad_rows)
                continue
            yield lineno, obj


def _json_file(path: Path, bad_rows: Optional[list[tuple[int, str]]] = None) -> Iterator[tuple[int, dict]]:
    """A JSON array of objects, or an object of objects keyed by id (MM-Vet's layout: each row gets its key as
    `_key`); a .json file that is not one document is read as JSONL (common in the wild)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        yield from _jsonl(path, bad_rows)
        return
    if isinstance(data, dict) and data and all(isinstance(v, dict) for v in data.values()):
        for i, (key, obj) in enumerate(data.items(), start=1):
            yield i, {"_key": key, **obj}
        return
    if not isinstance(data, list):
        raise InputError(f"{path}: expected a JSON array of objects, an object of objects keyed by id, or JSONL")
    for i, obj in enumerate(data, start=1):
        if not isinstance(obj, dict):
            _bad(path, i, f"expected a JSON object, got {type(obj).__name__}", bad_rows)
            continue
        yield i, obj


def _parquet(path: Path) -> Iterator[tuple[int, dict]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(str(path))
    except Exception as exc:  # pyarrow raises several types for a corrupt file
        raise InputError(f"{path}: not a readable Parquet file ({str(exc).splitlines()[0]})") from None
    for i, obj in enumerate(table.to_pylist(), start=1):
        yield i, obj


def _hf_dataset(source: str, split: Optional[str], what: str) -> Iterator[tuple[int, dict]]:
    """A `datasets` directory (save_to_disk) or hub id; a DatasetDict needs `split` (default: train/test/first)."""
    import datasets

    datasets.disable_progress_bars()
    try:
        if Path(source).is_dir():
            ds = datasets.load_from_disk(source)
        else:
            ds = datasets.load_dataset(source, split=split)
    except FileNotFoundError:
        raise InputError(f"{what} not found: {source} (not a file, a saved dataset directory or a reachable "
                         "Hugging Face dataset)") from None
    except Exception as exc:
        raise InputError(f"{what} {source}: could not load it with datasets ({str(exc).splitlines()[0]})") from None
    if isinstance(ds, datasets.DatasetDict):
        names = list(ds)
        name = split or next((n for n in ("train", "test") if n in ds), names[0])
        if name not in ds:
            raise InputError(f"{source}: no split {name!r}; it has {', '.join(names)}")
        ds = ds[name]
    for i, obj in enumerate(ds, start=1):
        yield i, dict(obj)
