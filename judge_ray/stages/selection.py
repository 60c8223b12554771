"""Instruction selection: the model labels each instruction's category and difficulty; keep a balanced,
challenging subset (the Self-Taught Evaluator keeps categories its judge must learn, hardest first)."""
from __future__ import annotations

import heapq
import string
from collections import defaultdict
from typing import Iterable, Sequence

from judge_ray.engines.base import Engine, sample_choice
from judge_ray.stages.seeds import derive_seed

DIFFICULTY_LEVELS = ("1", "2", "3", "4", "5")


def category_prompt(instruction: str, categories: Sequence[str]) -> str:
    options = "\n".join(f"{letter}) {name}" for letter, name in zip(string.ascii_uppercase, categories))
    return (f"Classify the user instruction below into one category.\n\nInstruction: {instruction}\n\n"
            f"Categories:\n{options}\n\nAnswer with the letter of the category.")


def difficulty_prompt(instruction: str) -> str:
    return (f"How challenging is it to answer the instruction below well? Rate from 1 (trivial) to 5 "
            f"(very hard).\n\nInstruction: {instruction}\n\nAnswer with one digit.")


def classify_batch(engine: Engine, rows: list[dict], categories: Sequence[str], seed: int) -> list[dict]:
    """Adds `category`, `category_prob` and `difficulty` (the expected 1-5 rating) to each row."""
    letters = list(string.ascii_uppercase[: len(categories)])
    cat_prompts = [engine.chat(category_prompt(r["instruction"], categories), "Category: ") for r in rows]
    cats = engine.choose(cat_prompts, letters, 0.0, [derive_seed(seed, "category", r["id"]) for r in rows])
    diff_prompts = [engine.chat(difficulty_prompt(r["instruction"]), "Rating: ") for r in rows]
    diffs = engine.option_logprobs(diff_prompts, DIFFICULTY_LEVELS)
    out = []
    for row, cat, lp in zip(rows, cats, diffs):
        probs = sample_choice(lp, 0.0, 0).probs  # the ratings' relative probabilities
        out.append({
            **row,
            "source_category": row.get("category", ""),  # the file's own label, kept for reference
            "category": categories[letters.index(cat.choice)],
            "category_prob": cat.prob,
            "difficulty": sum(int(level) * p for level, p in probs.items()),
        })
    return out


def select_balanced(rows: Iterable[dict], categories: Sequence[str], per_category: int,
                    min_difficulty: float) -> list[dict]:
    """At most `per_category` rows of each category, hardest first, at or above `min_difficulty`.

    Balanced means no category crowds out the others; ties in difficulty break on id, so it is deterministic.
    Streams: it holds at most `per_category` rows per category (a heap each), whatever the number of rows.
    """
    wanted = set(categories)
    heaps: dict[str, list] = defaultdict(list)
    for n, row in enumerate(rows):
        if row["difficulty"] < min_difficulty or row["category"] not in wanted:
            continue
        # Worst kept on top: easiest first, then the largest id.
        item = (row["difficulty"], Descending(row["id"]), n, row)
        heap = heaps[row["category"]]
        if len(heap) < per_category:
            heapq.heappush(heap, item)
        elif item > heap[0]:
            heapq.heapreplace(heap, item)
    selected = []
    for cat in categories:
        selected += [item[3] for item in sorted(heaps.get(cat, []), key=lambda it: (-it[0], it[3]["id"]))]
    return selected


class Descending:
    """Reverses string order inside a heap key: heapq's min-heap then keeps the largest on top (the corpus cap's
    n smallest ranks; a smaller id ranking higher among equal difficulties)."""

    __slots__ = ("value",)

    def __init__(self, value: str):
        self.value = value

    def __lt__(self, other: "Descending") -> bool:
        return self.value > other.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Descending) and self.value == other.value
