"""Read and validate an instruction file (JSONL): every line an object with a non-empty "instruction"."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from judge_ray.errors import InputError


def bundled_instructions_path() -> Path:
    """The seed set written for this project: varied categories, shipped inside the package."""
    return Path(__file__).resolve().parent / "data" / "seed_instructions.jsonl"


def load_instructions(path: Optional[str | Path] = None) -> list[dict]:
    """Rows with `id`, `instruction` and (when given) `category`; one-line InputError on any problem."""
    path = Path(path) if path else bundled_instructions_path()
    if not path.is_file():
        raise InputError(f"instruction file not found: {path}")
    rows: list[dict] = []
    seen: set[str] = set()
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise InputError(f"{path}:{lineno}: expected a JSON object, got {type(obj).__name__}")
        text = obj.get("instruction")
        if not isinstance(text, str) or not text.strip():
            raise InputError(f"{path}:{lineno}: field 'instruction' is missing or empty")
        row_id = str(obj.get("id", f"line-{lineno}"))
        if row_id in seen:
            raise InputError(f"{path}:{lineno}: duplicate id {row_id!r}")
        seen.add(row_id)
        rows.append({"id": row_id, "instruction": text.strip(), "category": str(obj.get("category") or "")})
    if not rows:
        raise InputError(f"instruction file is empty: {path}")
    return rows
