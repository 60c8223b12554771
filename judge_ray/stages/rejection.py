"""Rejection sampling: keep judgments whose verdict matches the known winner, one per pair, A/B balanced."""
from __future__ import annotations

import random
from typing import Sequence

from judge_ray.formats.self_taught import judgment_text, pairwise_prompt
from judge_ray.formats.swap import swap_labels
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
