"""Free-text generation for judges whose verdict is read from their text (JudgeLM score lines, ratings)."""
from __future__ import annotations

from judge_ray.engines.base import Engine, SamplingParams


def generate_batch(engine: Engine, rows: list[dict], max_tokens: int = 64, temperature: float = 0.0,
                   top_p: float = 1.0) -> list[dict]:
    """Adds `output` to each row: the completion of its chat-rendered `prompt`, with the row's own sampling."""
    get = lambda r, key, default: default if r.get(key) is None else r[key]  # noqa: E731
    params = [SamplingParams(max_tokens=int(get(r, "max_tokens", max_tokens)),
                             temperature=float(get(r, "temperature", temperature)),
                             top_p=float(get(r, "top_p", top_p)), seed=int(r["seed"])) for r in rows]
    outputs = engine.generate([engine.chat(r["prompt"]) for r in rows], params)
    return [{**row, "output": out} for row, out in zip(rows, outputs)]
