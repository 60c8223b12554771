"""The bundled seed instructions (the default corpus); any other corpus is read by `judge_ray.corpus`."""
from __future__ import annotations

from pathlib import Path


def bundled_instructions_path() -> Path:
    """The seed set written for this project: varied categories, shipped inside the package."""
    return Path(__file__).resolve().parent / "data" / "seed_instructions.jsonl"
