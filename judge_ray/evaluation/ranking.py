"""Judging N >= 2 answers to one question at once, and measuring the ranking that results. Pure: the engine
work happens in between (as for pairs, `evaluation.judging`).

    ranked items --ranked_requests--> requests --engine--> outputs --ranked_predictions--> predictions --score_ranked

A ranked item is `{id, question, answers: [...], reference, best: [indices], ranks: [label rank per answer] | None,
subset}`: `best` holds the answers that count as the best (one for a ranking, every chosen completion for
RewardBench 2), `ranks` the labelled rank of each answer (0 = best; equal ranks are equal) where the label
orders them.

How the judge sees them (an *order* is a permutation: slot p shows answer order[p]):
- `mode=single`: the published order only;
- otherwise, the N cyclic shifts (every answer in every slot once, the N-answer analogue of both orders),
  then seeded further permutations up to `judge.rotations` (capped at N!).
- JudgeLM format: one call per order writes N scores; pairwise format: one call per order reasons, then makes
  a constrained choice among `[[A]]`..`[[X]]` (the pair judge's read, `stages.judging.choose_best_batch`), with
  the model's probability of each slot; `grading=single_answer`: one call per answer, rated alone.

Each answer's score is averaged over the orders whose output could be read (JudgeLM: its score; pairwise: its
probability of being the best; single-answer: its rating). The ranking sorts by that score; answers with
equal scores are tied. Averaging over the rotations is the verdict with the position prior cancelled: every
answer met every slot's prior once.
"""
from __future__ import annotations

import itertools
import math
import random
from collections import defaultdict
from typing import TYPE_CHECKING, Optional, Sequence

from judge_ray.evaluation.intervals import Z95, interval
from judge_ray.evaluation.judging import outputs_by_item, samples_per_order, shown_texts
from judge_ray.evaluation.scoring import subset_agreement
from judge_ray.formats.grading import grading_prompt, parse_rating
from judge_ray.formats.judgelm import judgelm_many_prompt, parse_score_list
from judge_ray.formats.self_taught import pairwise_many_prompt, parse_best
from judge_ray.stages.seeds import derive_seed

if TYPE_CHECKING:
    from judge_ray.config import EvalJudgeConfig


# ---- orders ----
def answer_orders(n: int, count: int, seed: int | str = 0) -> list[tuple[int, ...]]:
    """The N cyclic shifts of 0..n-1, then seeded distinct permutations until `count` (at most n!)."""
    orders = [tuple((p + k) % n for p in range(n)) for k in range(n)]
    total = math.factorial(n)
    count = min(max(count, n), total)
    if count > len(orders):
        seen = set(orders)
        if total <= 5040:  # n <= 7: draw from the list of all, so the draw always ends
            rest = [p for p in itertools.permutations(range(n)) if p not in seen]
            random.Random(str(seed)).shuffle(rest)
            orders += rest[: count - len(orders)]
        else:
            rng = random.Random(str(seed))
            while len(orders) < count:
                p = tuple(rng.sample(range(n), n))
                if p not in seen:
                    seen.add(p)
                    orders.append(p)
    return orders


def order_name(order: Sequence[int]) -> str:
    """'2-0-1': slot 0 shows answer 2, ... (the key a call's order is written under)."""
    return "-".join(str(i) for i in order)


def parse_order(name: str) -> tuple[int, ...]:
    return tuple(int(x) for x in name.split("-"))


def item_orders(item: dict, judge: EvalJudgeConfig, seed: int) -> list[tuple[int, ...]]:
    n = len(item["answers"])
    if judge.mode == "single":
        return [tuple(range(n))]
    return answer_orders(n, judge.rotations, derive_seed(seed, "rotations", item["id"]))


# ---- requests ----
def ranked_requests(items: Sequence[dict], judge: EvalJudgeConfig, fmt: str, seed: int) -> list[dict]:
    """One engine request per (item, order or graded answer, sample), each with its own derived seed."""
    samples = samples_per_order(judge)
    requests = []
    for item in items:
        ref, ctx = shown_texts(item, judge)
        if judge.grading == "single_answer":
            shown = [(f"s{i}", grading_prompt(item["question"], a, ref, context=ctx))
                     for i, a in enumerate(item["answers"])]
        else:
            shown = []
            for order in item_orders(item, judge, seed):
                answers = [item["answers"][i] for i in order]
                prompt = (pairwise_many_prompt(item["question"], answers, context=ctx) if fmt == "pairwise"
                          else judgelm_many_prompt(item["question"], answers, ref, context=ctx))
                shown.append((order_name(order), prompt))
        choose = fmt == "pairwise" and judge.grading != "single_answer"
        for name, prompt in shown:
            for k in range(samples):
                requests.append({"item_id": item["id"], "order": name, "sample": k,
                                 "stage": "choose_best" if choose else "generate", "n": len(item["answers"]),
                                 "prompt": prompt, "seed": derive_seed(seed, "evaluate", item["id"], name, k),
                                 "max_tokens": judge.max_tokens, "temperature": judge.temperature,
                                 "top_p": judge.top_p})
    return requests


# ---- outputs -> per-answer scores ----
def call_text(out: dict) -> str:
    """A call's output as written: free text, or the reasoning and the constrained choice."""
    if "choice" in out:
        return f"{out.get('reasoning', '')} [[{out['choice']}]]".strip()
    return out.get("output") or ""


def read_call(out: dict, n: int, fmt: str, grading: str) -> tuple[dict[int, float], str]:
    """({answer index: score} this call gives, failure reason): JudgeLM scores mapped back from slots to answers,
    the pairwise slot probabilities mapped the same way (free text naming `[[X]]`: 1 for it, 0 for the others),
    a single-answer rating for its one answer."""
    order, text = out["order"], call_text(out)
    if grading == "single_answer":
        r = parse_rating(text)
        return ({int(order[1:]): r.score} if r.ok else {}), ("" if r.ok else r.reason)
    slots = parse_order(order)
    if out.get("slot_probs") is not None:
        return {a: float(out["slot_probs"][slot]) for slot, a in enumerate(slots)}, ""
    if fmt == "pairwise":
        best, reason = parse_best(text, n)
        return ({a: float(slot == best) for slot, a in enumerate(slots)} if best is not None else {}), reason
    scores, reason = parse_score_list(text, n)
    return ({a: scores[slot] for slot, a in enumerate(slots)} if scores else {}), reason


def top_slots(call_scores: dict[int, float], order: str) -> list[int]:
    """The slots (positions shown) holding this call's top score: where the judge put its pick."""
    slots = parse_order(order)
    top = max(call_scores.values())
    return [p for p, a in enumerate(slots) if call_scores.get(a) == top]


def ranking_of(scores: Sequence[Optional[float]]) -> list[int]:
    """Predicted rank per answer (0 = best; equal scores share a rank; an unscored answer ranks last)."""
    values = sorted({s for s in scores if s is not None}, reverse=True)
    return [values.index(s) if s is not None else len(values) for s in scores]


def ranked_predictions(items: Sequence[dict], outputs: Sequence[dict], judge: EvalJudgeConfig,
                       fmt: str) -> list[dict]:
    """One prediction per item: every call (order, sample, seed, output, the scores it gave), each answer's
    mean score, the predicted ranks."""
    by_item = outputs_by_item(outputs)
    preds = []
    for item in items:
        n = len(item["answers"])
        calls, per_answer = [], defaultdict(list)
        for out in by_item[item["id"]]:
            got, reason = read_call(out, n, fmt, judge.grading)
            calls.append({"order": out["order"], "sample": out["sample"], "seed": out["seed"],
                          "output": call_text(out), "scores": {str(a): s for a, s in got.items()},
                          "failure": reason})
            for a, s in got.items():
                per_answer[a].append(s)
        means = [sum(per_answer[a]) / len(per_answer[a]) if per_answer[a] else None for a in range(n)]
        preds.append(prediction(item, calls, means))
    return preds


def prediction(item: dict, calls: list[dict], means: list[Optional[float]]) -> dict:
    return {"id": item["id"], "subset": item.get("subset", ""), "answers": len(item["answers"]),
            "best": item["best"], "ranks": item.get("ranks"), "calls": calls, "scores": means,
            "predicted_ranks": ranking_of(means) if any(s is not None for s in means) else None,
            "outputs": len(calls), "unparsed_outputs": sum(not c["scores"] for c in calls)}


# ---- metrics ----
def top1_credit(pred: dict) -> float:
    """The share of the top-scored answers that count as best (1 when the one pick is right, 1/k when the best
    is among k tied at the top: RewardBench 2's rule); no score at all: 1/N, a guess."""
    scores = pred["scores"]
    if all(s is None for s in scores):
        return 1 / pred["answers"]
    top = max(s for s in scores if s is not None)
    tops = [a for a, s in enumerate(scores) if s == top]
    return sum(a in pred["best"] for a in tops) / len(tops)


def pair_credits(pred: dict) -> list[float]:
    """Per answer pair the label orders: 1 when the scores order it the same way, 0.5 when they tie, else 0."""
    ranks, scores = pred.get("ranks"), pred["scores"]
    if ranks is None:
        return []
    credits = []
    for i, j in itertools.combinations(range(len(ranks)), 2):
        if ranks[i] == ranks[j]:
            continue
        better, worse = (i, j) if ranks[i] < ranks[j] else (j, i)
        sb, sw = scores[better], scores[worse]
        if sb is None or sw is None:
            credits.append(0.0)
        else:
            credits.append(1.0 if sb > sw else 0.5 if sb == sw else 0.0)
    return credits


def kendall_tau_b(x: Sequence[float], y: Sequence[float]) -> Optional[float]:
    """Kendall's tau-b of two score lists (ties corrected); None when either has no variation."""
    concordant = discordant = tie_x = tie_y = 0
    for i, j in itertools.combinations(range(len(x)), 2):
        dx, dy = x[i] - x[j], y[i] - y[j]
        if dx == 0 and dy == 0:
            continue
        if dx == 0:
            tie_x += 1
        elif dy == 0:
            tie_y += 1
        elif (dx > 0) == (dy > 0):
            concordant += 1
        else:
            discordant += 1
    denom = math.sqrt((concordant + discordant + tie_x) * (concordant + discordant + tie_y))
    return (concordant - discordant) / denom if denom else None


def item_tau(pred: dict) -> Optional[float]:
    """Kendall's tau-b between the labelled ranking and the judge's scores (unscored answers lowest)."""
    ranks, scores = pred.get("ranks"), pred["scores"]
    if ranks is None or all(s is None for s in scores):
        return None
    low = min(s for s in scores if s is not None) - 1
    return kendall_tau_b([-r for r in ranks], [s if s is not None else low for s in scores])


def mean_interval(values: Sequence[float], low: float = -1.0, high: float = 1.0) -> dict:
    """Mean with a 95% normal interval (t-free: n is the number of items), clipped to [low, high]."""
    n = len(values)
    if not n:
        return {"n": 0, "low": low, "high": high, "method": "normal95"}
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else float("inf")
    half = Z95 * sd / math.sqrt(n)
    return {"n": n, "low": max(low, mean - half), "high": min(high, mean + half), "method": "normal95"}


def position_bias(preds: Sequence[dict]) -> dict:
    """Where the judge's pick sat, over every readable order (a top shared by k slots counts 1/k to each), by
    N: the share per slot (1/N each for a judge without position bias), with intervals; and consistency, the
    share of items judged in several orders whose top answer was the same in every readable one."""
    by_n: dict[int, list[float]] = {}  # N -> picks per slot
    counts: dict[int, int] = defaultdict(int)
    same, judged = 0, 0
    for p in preds:
        n = p["answers"]
        picks = []
        for c in p["calls"]:
            if not c["scores"] or c["order"].startswith("s"):
                continue
            got = {int(a): s for a, s in c["scores"].items()}
            slots = top_slots(got, c["order"])
            shares = by_n.setdefault(n, [0.0] * n)
            for slot in slots:
                shares[slot] += 1 / len(slots)
            counts[n] += 1
            order = parse_order(c["order"])
            picks.append(frozenset(order[s] for s in slots))
        if len({c["order"] for c in p["calls"]}) > 1 and len(picks) > 1:
            judged += 1
            same += len(set(picks)) == 1
    result = {}
    for n, shares in sorted(by_n.items()):
        total = counts[n]
        result[str(n)] = {"orders_read": total, "expected_share": 1 / n,
                          "slot_shares": [s / total for s in shares],
                          "slot_shares_ci": [interval(s / total, total) for s in shares]}
    consistency = same / judged if judged else None
    return {"by_answers": result, "consistency": consistency, "consistency_ci": interval(consistency, judged)}


def score_ranked(preds: Sequence[dict], layout: str = "", skipped: Sequence[dict] = ()) -> dict:
    """Top-1 accuracy, pairwise accuracy over labelled answer pairs, Kendall's tau (each with n and a 95%
    interval), position bias over the orders, per subset top-1; RewardBench 2's own scores for its layout."""
    top1 = [top1_credit(p) for p in preds]
    pairs = [c for p in preds for c in pair_credits(p)]
    taus = [t for t in (item_tau(p) for p in preds) if t is not None]
    outputs = sum(p["outputs"] for p in preds)
    top1_mean = sum(top1) / len(top1) if top1 else 0.0
    metrics: dict = {
        "kind": "ranking", "examples": len(preds), "scored": len(preds), "skipped_rows": len(skipped),
        "skipped": list(skipped),
        "answers_per_item": dict(sorted(((str(n), sum(p["answers"] == n for p in preds))
                                         for n in {p["answers"] for p in preds}))),
        "top1_accuracy": top1_mean,
        "top1_accuracy_ci": interval(top1_mean, len(top1)),
        "pairwise_accuracy": sum(pairs) / len(pairs) if pairs else None,
        "pairwise_accuracy_ci": interval(sum(pairs) / len(pairs) if pairs else 0.0, len(pairs)),
        "kendall_tau": sum(taus) / len(taus) if taus else None,
        "kendall_tau_ci": mean_interval(taus),
        "parse_failure_rate": sum(p["unparsed_outputs"] for p in preds) / outputs if outputs else 0.0,
        "unscored_examples": sum(all(s is None for s in p["scores"]) for p in preds),
        "position": position_bias(preds),
    }
    metrics["agreement"], metrics["agreement_ci"] = metrics["top1_accuracy"], metrics["top1_accuracy_ci"]
    subsets = subset_agreement(preds, top1)
    if subsets:
        metrics["subsets"] = subsets
    if layout == "rewardbench2":
        from judge_ray.evaluation.rewardbench2 import rewardbench2_score

        metrics["rewardbench2"] = rewardbench2_score(preds)
    return metrics
