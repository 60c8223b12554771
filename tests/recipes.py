"""The loop's recipes over rows held in memory: the reference the Ray Data forms (`distributed.loop_data`) are
pinned to, and what the stage tests read most easily. The library runs only the per-row and per-group pieces
(`stages.pairs.place`/`placement`, `stages.rejection.pick_one`/`sft_row`), over Parquet folders."""
from __future__ import annotations

from collections import defaultdict
from typing import Iterable, Sequence

from judge_ray.stages.pairs import place, placement, slot_surplus
from judge_ray.stages.seeds import order_key
from judge_ray.stages.rejection import pick_one, sft_row, swapped_sft_row


def assign_positions_and_split(pairs: Sequence[dict], eval_fraction: float, seed: int) -> list[dict]:
    """`placement` + `place` over pairs held in memory (the loop runs the same two over Parquet folders)."""
    split_threshold, flips = placement(lambda: (p["id"] for p in pairs), eval_fraction, seed)
    return sorted((place({"pair_ok": True, **p}, seed, split_threshold, flips) for p in pairs),
                  key=lambda r: r["pair_id"])


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
