"""Judgment sampling: N seeded judgments per pair from the current judge, each with a verdict that can't go
missing (a constrained A/B choice after the reasoning) and a record of whether the free text had one."""
from __future__ import annotations

from typing import Sequence

from judge_ray.engines.base import Engine, SamplingParams
from judge_ray.formats.self_taught import CHOICES, VERDICT_PREFIX, pairwise_prompt, parse_verdict
from judge_ray.formats.verdicts import ParseFailure, swap_outcome
from judge_ray.stages.pairs import slots
from judge_ray.stages.seeds import derive_seed


def judgment_requests(pairs: Sequence[dict], samples: int, seed: int, stage: str,
                      both_orders: bool = False) -> list[dict]:
    """One row per (pair, order, sample). Order "AB" shows the winner where the pair put it; "BA" swaps."""
    rows = []
    for pair in pairs:
        orders = ("AB", "BA") if both_orders else ("AB",)
        for order in orders:
            winner = pair["winner"] if order == "AB" else swap_outcome(pair["winner"])
            answer_a, answer_b = slots(pair, winner)
            for k in range(samples):
                rows.append({
                    "pair_id": pair["pair_id"], "order": order, "sample": k,
                    "seed": derive_seed(seed, stage, pair["pair_id"], order, k),
                    "question": pair["instruction"], "answer_a": answer_a, "answer_b": answer_b, "winner": winner,
                })
    return rows


def judge_batch(engine: Engine, rows: list[dict], max_tokens: int = 128, temperature: float = 0.0,
                top_p: float = 1.0) -> list[dict]:
    """Adds `reasoning`, `verdict`, `verdict_prob`, `prob_a`, free-text validity and `correct` to each row.

    Rows may carry their own `max_tokens`/`temperature`/`top_p` (training and evaluation judgments share
    one engine pool); the arguments are the defaults.
    """
    get = lambda r, key, default: default if r.get(key) is None else r[key]  # noqa: E731
    users = [pairwise_prompt(r["question"], r["answer_a"], r["answer_b"]) for r in rows]
    results = engine.generate_then_choose(
        [engine.chat(u) for u in users],
        [SamplingParams(max_tokens=int(get(r, "max_tokens", max_tokens)), temperature=get(r, "temperature", temperature),
                        top_p=get(r, "top_p", top_p), seed=int(r["seed"])) for r in rows],
        VERDICT_PREFIX, CHOICES, [get(r, "temperature", temperature) for r in rows],
        [derive_seed(r["seed"], "verdict") for r in rows])
    out = []
    for row, (text, choice) in zip(rows, results):
        free = parse_verdict(text)
        out.append({
            **row,
            "reasoning": text,
            "verdict": choice.choice,
            "verdict_prob": choice.prob,
            "prob_a": choice.probs["A"],
            "free_valid": free.ok,
            "free_verdict": "" if isinstance(free, ParseFailure) else free.winner,
            "free_failure": free.reason if isinstance(free, ParseFailure) else "",
            "correct": choice.choice == row["winner"],
        })
    return out
