"""Score a judge from a predictions file instead of a model: another system's verdicts, or our own earlier run.

Layout (JSONL/JSON/Parquet), one row per benchmark example:
    id                  the benchmark example's id as the benchmark has it (its id field; a repeated id gets
                        '#r<row>' appended); for a benchmark without ids, its row number counting from 1
                        (the JSONL line, the JSON array position, the Parquet row) — as `predictions.jsonl` of
                        an evaluation writes it
    winner              "A" | "B" | "tie" | null (unreadable)     -- or --  output: raw judge text to parse
    winner_swapped      optional: the verdict when the answers were shown swapped, in that order's labels
                        -- or --  output_swapped
    outputs, unparsed_outputs   optional counts (kept so a rerun from our own file reproduces the metrics)
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

from judge_ray.errors import InputError
from judge_ray.evaluation.judging import read_output
from judge_ray.records import read_records

VERDICTS = ("A", "B", "tie")


def _verdict(path: Any, row: int, obj: dict, key: str, raw_key: str, fmt: str) -> tuple[bool, Optional[str]]:
    if key in obj:
        value = obj[key]
        if value is not None and value not in VERDICTS:
            raise InputError(f"{path}:{row}: field {key!r} is {value!r}; expected A, B, tie or null")
        return True, value
    if raw_key in obj:
        if obj[raw_key] is not None and not isinstance(obj[raw_key], str):
            raise InputError(f"{path}:{row}: field {raw_key!r} must be text")
        return True, read_output(obj[raw_key], fmt, "pairwise")[0]
    return False, None


def read_predictions(path: str, items: Sequence[dict], fmt: str = "judgelm", id_note: str = "",
                     skipped_ids: Sequence[str] = ()) -> list[dict]:
    """Prediction rows in benchmark order; ids must match the benchmark's usable examples one to one (a
    prediction for a row the benchmark reader skipped is ignored). `id_note` says how the benchmark's ids are
    formed, for the error about an unknown id."""
    known = {item["id"]: item for item in items}
    ignored = {str(i) for i in skipped_ids}
    found: dict[str, dict] = {}
    for row, obj in read_records(path, "predictions file"):
        if obj.get("id") is None:
            raise InputError(f"{path}:{row}: field 'id' is missing")
        pid = str(obj["id"])
        if pid in ignored and pid not in known:
            continue
        if pid not in known:
            note = f" ({id_note})" if id_note else ""
            raise InputError(f"{path}:{row}: field 'id' is {pid!r}, which is not an example of the benchmark{note}")
        if pid in found:
            raise InputError(f"{path}:{row}: field 'id' {pid!r} appears twice")
        has, winner = _verdict(path, row, obj, "winner", "output", fmt)
        if not has:
            raise InputError(f"{path}:{row}: field 'winner' is missing (or give 'output', the raw judge text)")
        item = known[pid]
        pred = {"id": pid, "subset": item.get("subset", ""), "label": item["label"], "winner": winner}
        has_swapped, swapped = _verdict(path, row, obj, "winner_swapped", "output_swapped", fmt)
        if has_swapped:
            pred["winner_swapped"] = swapped
        default_outputs = 1 + has_swapped
        pred["outputs"] = int(obj.get("outputs") or default_outputs)
        pred["unparsed_outputs"] = int(obj["unparsed_outputs"]) if obj.get("unparsed_outputs") is not None else (
            (winner is None) + (has_swapped and swapped is None))
        found[pid] = pred
    missing = [i for i in known if i not in found]
    if missing:
        raise InputError(f"{path}: no prediction for {len(missing)} benchmark example(s) (first id {missing[0]!r})")
    return [found[i] for i in known]
