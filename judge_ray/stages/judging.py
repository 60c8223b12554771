"""Judgment sampling: N seeded judgments per pair from the current judge, each with a verdict that can't go
missing (a constrained A/B choice after the reasoning) and a record of whether the free text had one."""
from __future__ import annotations

from typing import Sequence

from judge_ray.attacks import REPLACING_SHARE
from judge_ray.engines.base import Engine, SamplingParams
from judge_ray.formats.grading import SCORE_PREFIX
from judge_ray.formats.self_taught import CHOICES, LETTERS, VERDICT_PREFIX, pairwise_prompt, parse_verdict
from judge_ray.formats.verdicts import ParseFailure, swap_outcome
from judge_ray.stages.pairs import slots
from judge_ray.stages.seeds import derive_seed


def judgment_requests(pairs: Sequence[dict], samples: int, seed: int, stage: str,
                      both_orders: bool = False, adversarial: float = 0.0,
                      replacing: float = REPLACING_SHARE) -> list[dict]:
    """One row per (pair, order, sample), with a unique `request_id` (what a resumed judge stage skips by).
    Order "AB" shows the winner where the pair put it; "BA" swaps.

    `adversarial`: for that seeded share of pairs (the same pairs in every iteration and block layout), y_l is
    shown attacked by a `train` variant of `attacks` (never one the attack benchmark evaluates by default). The
    kept judgments still pick y_w, so the judge is trained that the attack does not win; `attack` names it.
    `replacing`: the share of attacked pairs whose y_l is replaced by a master key (`attacks.adversarial_pick`)."""
    from judge_ray.attacks import adversarial_pick, attack

    rows = []
    for pair in pairs:
        variant = adversarial_pick(pair["pair_id"], adversarial, seed, replacing)
        orders = ("AB", "BA") if both_orders else ("AB",)
        for order in orders:
            winner = pair["winner"] if order == "AB" else swap_outcome(pair["winner"])
            answer_a, answer_b = slots(pair, winner)
            if variant is not None:
                loser = swap_outcome(winner)
                text = attack(answer_b if loser == "B" else answer_a, variant, loser, winner, seed, pair["pair_id"])
                answer_a, answer_b = (text, answer_b) if loser == "A" else (answer_a, text)
            for k in range(samples):
                rows.append({
                    "request_id": f"{pair['pair_id']}|{order}|{k}", "pair_id": pair["pair_id"], "order": order,
                    "sample": k,
                    "seed": derive_seed(seed, stage, pair["pair_id"], order, k),
                    "question": pair["instruction"], "answer_a": answer_a, "answer_b": answer_b, "winner": winner,
                    "attack": variant.name if variant else "",
                })
    return rows


def _context(row: dict) -> str | None:
    value = row.get("context")  # absent, None or NaN (a column other rows filled): no context block
    return value if isinstance(value, str) and value else None


def _guarded(row: dict) -> bool:
    flag = row.get("prompt_guard")  # absent, None or NaN: guarded
    return flag is None or bool(flag)


def _setting(row: dict, key: str, default):
    """A row's own sampling setting (rows of several jobs share one engine pool), else the stage default."""
    return default if row.get(key) is None else row[key]


def reason_then_choose(engine: Engine, rows: list[dict], users: list[str], options: Sequence[str],
                       max_tokens: int, temperature: float, top_p: float) -> list[tuple]:
    """(reasoning, Choice) per row: the row's reasoning sampled with its own settings and seed, then a constrained
    choice among `options` after VERDICT_PREFIX. A row with max_tokens <= 0 makes the choice straight after the
    prompt (no reasoning): one forward pass, a cheap read of the judge's preference for large evaluation sets on
    a CPU."""
    budgets = [int(_setting(r, "max_tokens", max_tokens)) for r in rows]
    temps = [_setting(r, "temperature", temperature) for r in rows]
    verdict_seeds = [derive_seed(r["seed"], "verdict") for r in rows]
    reason = [i for i, b in enumerate(budgets) if b > 0]
    direct = [i for i, b in enumerate(budgets) if b <= 0]
    results: list = [None] * len(rows)
    if reason:
        pairs = engine.generate_then_choose(
            [engine.chat(users[i]) for i in reason],
            [SamplingParams(max_tokens=budgets[i], temperature=temps[i], top_p=_setting(rows[i], "top_p", top_p),
                            seed=int(rows[i]["seed"])) for i in reason],
            VERDICT_PREFIX, options, [temps[i] for i in reason], [verdict_seeds[i] for i in reason])
        for i, result in zip(reason, pairs):
            results[i] = result
    if direct:
        choices = engine.choose([engine.chat(users[i]) + VERDICT_PREFIX for i in direct], options,
                                [temps[i] for i in direct], [verdict_seeds[i] for i in direct])
        for i, choice in zip(direct, choices):
            results[i] = ("", choice)
    return results


def judge_batch(engine: Engine, rows: list[dict], max_tokens: int = 128, temperature: float = 0.0,
                top_p: float = 1.0) -> list[dict]:
    """Adds `reasoning`, `verdict`, `verdict_prob`, `prob_a`, free-text validity and `correct` to each row.

    Rows may carry their own `max_tokens`/`temperature`/`top_p` (training and evaluation judgments share
    one engine pool); the arguments are the defaults.
    """
    # `prompt_guard` false: the unguarded prompt (benchmarks/judge_attacks.py's undefended reading)
    users = [pairwise_prompt(r["question"], r["answer_a"], r["answer_b"], guard=_guarded(r), context=_context(r))
             for r in rows]
    results = reason_then_choose(engine, rows, users, CHOICES, max_tokens, temperature, top_p)
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


def choose_best_batch(engine: Engine, rows: list[dict], max_tokens: int = 128, temperature: float = 0.0,
                      top_p: float = 1.0) -> list[dict]:
    """N answers in one prompt (`prompt`, `n`): reasoning, then a constrained choice among `[[A]]`..`[[X]]`,
    as `judge_batch` reads a pair. Adds `reasoning`, `choice` (the slot letter) and `slot_probs` (the model's
    probability of each slot, renormalised): the verdict is never missing, and its probabilities are what the
    rotations average."""
    out: list = [None] * len(rows)
    groups: dict[int, list[int]] = {}
    for i, r in enumerate(rows):
        groups.setdefault(int(r["n"]), []).append(i)
    for n, idx in groups.items():  # one option set per N
        options = list(LETTERS[:n])
        group = [rows[i] for i in idx]
        results = reason_then_choose(engine, group, [r["prompt"] for r in group], options, max_tokens, temperature,
                                     top_p)
        for i, (text, choice) in zip(idx, results):
            out[i] = {**rows[i], "reasoning": text, "choice": choice.choice,
                      "slot_probs": [float(choice.probs[x]) for x in options]}
    return out


TENTHS = [str(d) for d in range(10)]


def grade_batch(engine: Engine, rows: list[dict], max_tokens: int = 128, temperature: float = 0.0,
                top_p: float = 1.0) -> list[dict]:
    """A 0-1 grade (MM-Vet's scale, in tenths) read as choices, so a grade is never missing: the reasoning, then
    `Score: [[` and a constrained 0 or 1, then after `0.` a constrained tenth. Adds `reasoning`, `score` (the
    choices taken) and `expected_score` (the model's own probabilities: P(1) + P(0) * E[tenth] / 10)."""
    budgets = [int(_setting(r, "max_tokens", max_tokens)) for r in rows]
    reason = [i for i, b in enumerate(budgets) if b > 0]
    texts = [""] * len(rows)
    if reason:
        made = engine.generate([engine.chat(rows[i]["prompt"]) for i in reason],
                               [SamplingParams(max_tokens=budgets[i],
                                               temperature=float(_setting(rows[i], "temperature", temperature)),
                                               top_p=_setting(rows[i], "top_p", top_p), seed=int(rows[i]["seed"]))
                                for i in reason])
        for i, text in zip(reason, made):
            texts[i] = text.split("Score:", 1)[0].split("[[", 1)[0].rstrip()
    prefixes = [engine.chat(r["prompt"]) + text + SCORE_PREFIX for r, text in zip(rows, texts)]
    seeds = [derive_seed(r["seed"], "grade") for r in rows]
    units = engine.choose(prefixes, ["0", "1"], 0.0, seeds)
    tenths = engine.choose([p + "0." for p in prefixes], TENTHS, 0.0, seeds)
    out = []
    for row, text, unit, tenth in zip(rows, texts, units, tenths):
        score = 1.0 if unit.choice == "1" else int(tenth.choice) / 10
        expected = unit.probs["1"] + unit.probs["0"] * sum(p * int(d) for d, p in tenth.probs.items()) / 10
        out.append({**row, "reasoning": text, "score": score, "expected_score": float(expected),
                    "output": f"{text}{SCORE_PREFIX}{score:g}]]".strip()})
    return out
