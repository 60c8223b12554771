"""Instruction selection: the model labels each instruction's category and difficulty; keep a balanced,
challenging subset (the Self-Taught Evaluator keeps categories its judge must learn, hardest first)."""
from __future__ import annotations

import string
from collections import defaultdict
from typing import Sequence

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


def select_balanced(rows: Sequence[dict], categories: Sequence[str], per_category: int,
                    min_difficulty: float) -> list[dict]:
    """At most `per_category` rows of each category, hardest first, at or above `min_difficulty`.

    Balanced means no category crowds out the others; ties in difficulty break on id, so it is deterministic.
    """
    by_cat: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        if row["difficulty"] >= min_difficulty:
            by_cat[row["category"]].append(row)
    selected = []
    for cat in categories:
        ranked = sorted(by_cat.get(cat, []), key=lambda r: (-r["difficulty"], r["id"]))
        selected += ranked[:per_category]
    return selected
