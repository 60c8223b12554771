"""Response pairs without labels: y_w answers x; the model writes a nearby but different instruction x',
and its answer y_l is, for x, the worse answer (the Self-Taught Evaluator's synthetic preference)."""
from __future__ import annotations

import random
from typing import Sequence

from judge_ray.engines.base import Engine, SamplingParams
from judge_ray.stages.seeds import derive_seed


def modify_prompt(instruction: str) -> str:
    return (
        "Below is a user instruction. Write a new instruction that is highly relevant to it and similar in form, "
        "but asks for something different, so that a good answer to the new instruction would be a worse answer "
        "to the original. Write only the new instruction.\n\n"
        f"Original instruction: {instruction}"
    )


def clean_modified(text: str, original: str) -> str:
    """The first non-empty line of the model's x', stripped of a leading label; '' when unusable."""
    for line in text.strip().splitlines():
        line = line.strip().strip('"').strip()
        for label in ("New instruction:", "Modified instruction:", "Instruction:"):
            if line.lower().startswith(label.lower()):
                line = line[len(label):].strip()
        if line:
            return "" if line.strip().lower() == original.strip().lower() else line
    return ""


def build_pairs_batch(engine: Engine, rows: list[dict], sampling: SamplingParams, modify_max_tokens: int,
                      seed: int) -> list[dict]:
    """Adds `instruction_mod`, `response_w`, `response_l`; rows whose x' is unusable get `pair_ok=False`."""
    answer = lambda text: engine.chat(text)  # noqa: E731
    gen = lambda kind, r: SamplingParams(  # noqa: E731
        max_tokens=modify_max_tokens if kind == "modify" else sampling.max_tokens,
        temperature=sampling.temperature, top_p=sampling.top_p, seed=derive_seed(seed, kind, r["id"]))
    # y_w and x' in one batched call; y_l depends on x', so a second call.
    first = engine.generate([answer(r["instruction"]) for r in rows] +
                            [engine.chat(modify_prompt(r["instruction"])) for r in rows],
                            [gen("answer_w", r) for r in rows] + [gen("modify", r) for r in rows])
    y_w = [outs[0].strip() for outs in first[: len(rows)]]
    x_mod = [clean_modified(outs[0], r["instruction"]) for outs, r in zip(first[len(rows):], rows)]
    usable = [i for i, x in enumerate(x_mod) if x]
    second = engine.generate([answer(x_mod[i]) for i in usable], [gen("answer_l", rows[i]) for i in usable])
    y_l = {i: outs[0].strip() for i, outs in zip(usable, second)}
    out = []
    for i, row in enumerate(rows):
        ok = bool(x_mod[i]) and bool(y_w[i]) and bool(y_l.get(i)) and y_w[i] != y_l.get(i)
        out.append({**row, "instruction_mod": x_mod[i], "response_w": y_w[i], "response_l": y_l.get(i, ""),
                    "pair_ok": ok})
    return out


def assign_positions_and_split(pairs: Sequence[dict], eval_fraction: float, seed: int) -> list[dict]:
    """Winner slot A/B balanced 50/50 (a seeded permutation) and a seeded held-out split, both recorded."""
    rng = random.Random(seed)
    order = list(range(len(pairs)))
    rng.shuffle(order)
    n_eval = int(round(len(pairs) * eval_fraction))
    split = {idx: ("eval" if rank < n_eval else "train") for rank, idx in enumerate(order)}
    out = []
    # Alternate A/B within each split so both splits are balanced, not just the whole.
    counters = {"train": 0, "eval": 0}
    for idx in order:
        part = split[idx]
        position = "A" if counters[part] % 2 == 0 else "B"
        counters[part] += 1
        p = pairs[idx]
        out.append({**p, "pair_id": p["id"], "winner": position, "split": part})
    return sorted(out, key=lambda r: r["pair_id"])


def slots(pair: dict, winner_slot: str) -> tuple[str, str]:
    """(answer A, answer B) with the winning response y_w in `winner_slot`."""
    return (pair["response_w"], pair["response_l"]) if winner_slot == "A" else (pair["response_l"], pair["response_w"])
