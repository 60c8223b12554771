"""Response pairs without labels: y_w answers x; the model writes a nearby but different instruction x',
and its answer y_l is, for x, the worse answer (the Self-Taught Evaluator's synthetic preference)."""
from __future__ import annotations

from collections import Counter
from typing import Callable, Iterable, Optional

from judge_ray.engines.base import Engine, SamplingParams
from judge_ray.stages.seeds import derive_seed, nth_smallest, order_key


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
    y_w = [out.strip() for out in first[: len(rows)]]
    x_mod = [clean_modified(out, r["instruction"]) for out, r in zip(first[len(rows):], rows)]
    usable = [i for i, x in enumerate(x_mod) if x]
    second = engine.generate([answer(x_mod[i]) for i in usable], [gen("answer_l", rows[i]) for i in usable])
    y_l = {i: out.strip() for i, out in zip(usable, second)}
    out = []
    for i, row in enumerate(rows):
        ok = bool(x_mod[i]) and bool(y_w[i]) and bool(y_l.get(i)) and y_w[i] != y_l.get(i)
        out.append({**row, "instruction_mod": x_mod[i], "response_w": y_w[i], "response_l": y_l.get(i, ""),
                    "pair_ok": ok})
    return out


def initial_slot(seed: int, pair_id: str) -> str:
    """The winner's slot before balancing, drawn from the pair's own key."""
    return "A" if int(order_key(seed, "slot", pair_id)[-1], 16) % 2 == 0 else "B"


def slot_surplus(count_a: int, count_b: int) -> tuple[str, int]:
    """(the larger slot, how many of its rows move to the other) so that the two differ by at most one."""
    return ("A" if count_a >= count_b else "B"), abs(count_a - count_b) // 2


def other_slot(slot: str) -> str:
    return "B" if slot == "A" else "A"


def place(row: dict, seed: int, split_threshold: Optional[str], flips: dict[str, tuple[str, Optional[str]]]) -> dict:
    """A built pair with its `pair_id`, `split` (eval when its split key is at most `split_threshold`; unusable
    when `pair_ok` is false) and `winner` slot (the initial slot, moved to the other one when it is the larger
    side `flips[split][0]` of its split and its flip key is at most `flips[split][1]`)."""
    pid = row["id"]
    if not row["pair_ok"]:
        return {**row, "pair_id": pid, "winner": "", "split": "unusable"}
    held = split_threshold is not None and order_key(seed, "split", pid) <= split_threshold
    split = "eval" if held else "train"
    winner = initial_slot(seed, pid)
    big, threshold = flips.get(split, ("", None))
    if winner == big and threshold is not None and order_key(seed, "flip", pid) <= threshold:
        winner = other_slot(winner)
    return {**row, "pair_id": pid, "winner": winner, "split": split}


def placement(usable_ids: Callable[[], Iterable[str]], eval_fraction: float, seed: int) -> tuple:
    """(split threshold, flips) for `place`, from passes over the usable pair ids alone (no rows held): the
    round(n x eval_fraction) smallest split keys are held out, and in each split the surplus of the larger
    slot moves, smallest flip keys first, so that A and B differ by at most one."""
    n = sum(1 for _ in usable_ids())
    split_threshold = nth_smallest(lambda: (order_key(seed, "split", i) for i in usable_ids()),
                                   int(round(n * eval_fraction)))

    def split_of(pid: str) -> str:
        return "eval" if split_threshold is not None and order_key(seed, "split", pid) <= split_threshold else "train"

    counts = Counter((split_of(i), initial_slot(seed, i)) for i in usable_ids())
    flips = {}
    for part in ("train", "eval"):
        big, move = slot_surplus(counts[(part, "A")], counts[(part, "B")])
        side = lambda part=part, big=big: (order_key(seed, "flip", i) for i in usable_ids()  # noqa: E731
                                           if split_of(i) == part and initial_slot(seed, i) == big)
        flips[part] = (big, nth_smallest(side, move))
    return split_threshold, flips


def benchmark_row(pair: dict) -> dict:
    """A placed pair in the `pairs` benchmark layout (winner where the pair put it), as the evaluation harness
    reads held-out pairs."""
    a, b = slots(pair, pair["winner"])
    return {"id": str(pair["pair_id"]), "question": pair["instruction"], "answer_a": a, "answer_b": b,
            "label": pair["winner"], "subset": str(pair.get("category") or "")}


def slots(pair: dict, winner_slot: str) -> tuple[str, str]:
    """(answer A, answer B) with the winning response y_w in `winner_slot`."""
    return (pair["response_w"], pair["response_l"]) if winner_slot == "A" else (pair["response_l"], pair["response_w"])
