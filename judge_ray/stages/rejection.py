"""Rejection sampling: keep judgments whose verdict matches the known winner, one per pair, A/B balanced."""
from __future__ import annotations

import random
from collections import defaultdict
from typing import Iterable, Sequence

from judge_ray.formats.self_taught import judgment_text, pairwise_prompt
from judge_ray.formats.swap import swap_labels
from judge_ray.stages.pairs import order_key, slot_surplus
from judge_ray.stages.seeds import derive_seed


def pick_one(judgments: Sequence[dict], seed: int) -> dict | None:
    """A seeded pick among a pair's correct judgments; None when the judge never found the winner."""
    correct = sorted((j for j in judgments if j["correct"]), key=lambda j: j["sample"])
    if not correct:
        return None
    return random.Random(derive_seed(seed, "pick", correct[0]["pair_id"])).choice(correct)


def sft_row(judgment: dict) -> dict:
    """The training example: the judge prompt and the judgment the judge should write."""
    return {
        "pair_id": judgment["pair_id"], "winner": judgment["winner"], "question": judgment["question"],
        "answer_a": judgment["answer_a"], "answer_b": judgment["answer_b"], "reasoning": judgment["reasoning"],
        "swapped": False,
        "prompt": pairwise_prompt(judgment["question"], judgment["answer_a"], judgment["answer_b"]),
        "response": judgment_text(judgment["reasoning"], judgment["winner"]),
    }


def swapped_sft_row(row: dict) -> dict:
    """The same example with the answers in the other slots and every A/B mention in the reasoning swapped."""
    reasoning = swap_labels(row["reasoning"], ("Assistant A", "Assistant B"))
    winner = "B" if row["winner"] == "A" else "A"
    return {
        **row, "winner": winner, "answer_a": row["answer_b"], "answer_b": row["answer_a"], "reasoning": reasoning,
        "swapped": not row["swapped"],
        "prompt": pairwise_prompt(row["question"], row["answer_b"], row["answer_a"]),
        "response": judgment_text(reasoning, winner),
    }


def balance_positions(rows: list[dict], seed: int) -> list[dict]:
    """Equal A- and B-winners, so the judge can't learn a slot: the surplus half of the larger side is moved
    to the other slot by swapping (no example is dropped; an odd one out stays). The rows that move are those
    with the smallest `order_key(seed, "balance", pair_id)`, as in the Ray Data form (`loop_data.reject`)."""
    big, move = slot_surplus(sum(r["winner"] == "A" for r in rows), sum(r["winner"] == "B" for r in rows))
    ranked = sorted((r for r in rows if r["winner"] == big), key=lambda r: order_key(seed, "balance", r["pair_id"]))
    movers = {r["pair_id"] for r in ranked[:move]}
    out = [swapped_sft_row(r) if r["pair_id"] in movers else r for r in rows]
    return sorted(out, key=lambda r: r["pair_id"])


def rejection_sample(judgments: Iterable[dict], seed: int, balance: bool,
                     swap_augment: bool = False) -> tuple[list[dict], dict]:
    """The SFT set and the counts a person checks: pairs seen, kept, dropped (no correct judgment).

    `swap_augment` (JudgeLM's swap augmentation): every kept judgment is also trained with the answers in the
    other slots, its A/B mentions swapped and the verdict flipped, so the judge sees each pair both ways and
    cannot learn a slot; balancing is then moot (exactly half the examples name each slot).
    """
    by_pair: dict[str, list[dict]] = defaultdict(list)
    n_judgments = 0
    for j in judgments:
        by_pair[j["pair_id"]].append(j)
        n_judgments += 1
    picked = [pick_one(group, seed) for _, group in sorted(by_pair.items())]
    rows = [sft_row(p) for p in picked if p is not None]
    stats = {
        "judgments": n_judgments,
        "correct_judgments": sum(int(j["correct"]) for g in by_pair.values() for j in g),
        "pairs": len(by_pair),
        "pairs_kept": len(rows),
        "pairs_dropped": len(by_pair) - len(rows),
        "kept_winner_A_before_balance": sum(r["winner"] == "A" for r in rows),
    }
    if swap_augment:
        rows = sorted(rows + [swapped_sft_row(r) for r in rows], key=lambda r: (r["pair_id"], r["swapped"]))
    elif balance and rows:
        rows = balance_positions(rows, seed)
    stats["sft_winner_A"] = sum(r["winner"] == "A" for r in rows)
    stats["sft_winner_B"] = sum(r["winner"] == "B" for r in rows)
    return rows, stats
