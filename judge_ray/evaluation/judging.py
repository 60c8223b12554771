"""How a judge is run on benchmark items and how its outputs become one verdict per item. Pure: the engine
work happens in between (a Ray Data stage or a predictions file).

    items --build_requests--> requests --engine--> outputs --predictions_from_outputs--> predictions

A verdict is "A", "B", "tie", or None when the output could not be read. Verdicts of the swapped
presentation ("BA") are kept in that presentation's own slot labels, the way the judge wrote them, and
mapped back only when orders are combined.
"""
from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Optional, Sequence

from judge_ray.evaluation.metrics import debiased_reading, majority_vote
from judge_ray.formats.grading import grading_prompt, parse_rating
from judge_ray.formats.judgelm import judgelm_prompt, parse_scores
from judge_ray.formats.self_taught import parse_verdict
from judge_ray.formats.verdicts import swap_outcome
from judge_ray.stages.seeds import derive_seed

if TYPE_CHECKING:
    from judge_ray.config import EvalJudgeConfig


def samples_per_order(judge: EvalJudgeConfig) -> int:
    """Judgments per order (or graded answer): `judge.samples` in the voting modes, else one."""
    from judge_ray.config import VOTING_MODES

    return judge.samples if judge.mode in VOTING_MODES else 1


def shown_texts(item: dict, judge: EvalJudgeConfig) -> tuple[Optional[str], Optional[str]]:
    """(reference, context) of an item as the judge config shows them (None where hidden or absent)."""
    return (item.get("reference") if judge.reference else None, item.get("context") if judge.context else None)


def plan_shape(judge: EvalJudgeConfig) -> tuple[tuple[str, ...], int]:
    """(orders or graded slots, samples per order) for a judge config."""
    samples = samples_per_order(judge)
    if judge.grading == "single_answer":
        return ("A", "B"), samples
    return (("AB", "BA") if judge.mode in ("both", "both_vote", "debiased") else ("AB",)), samples


def build_requests(items: Sequence[dict], judge: EvalJudgeConfig, fmt: str, seed: int) -> list[dict]:
    """One engine request per (item, order or graded slot, sample), each with its own derived seed.

    `stage` says which engine stage runs it: "generate" (free text: JudgeLM scores, ratings) or "judge"
    (reasoning then a constrained [[A]]/[[B]] choice).
    """
    orders, samples = plan_shape(judge)
    requests = []
    for item in items:
        ref, ctx = shown_texts(item, judge)
        for order in orders:
            pair = (item["answer_a"], item["answer_b"])
            a, b = pair if order in ("AB", "A") else pair[::-1]
            for k in range(samples):
                req = {"item_id": item["id"], "order": order, "sample": k,
                       "seed": derive_seed(seed, "evaluate", item["id"], order, k),
                       "max_tokens": judge.max_tokens, "temperature": judge.temperature, "top_p": judge.top_p}
                if judge.grading == "single_answer":
                    req.update(stage="generate", prompt=grading_prompt(item["question"], a, ref, context=ctx))
                elif fmt == "pairwise":
                    req.update(stage="judge", question=item["question"], answer_a=a, answer_b=b, winner="")
                    if ctx:
                        req["context"] = ctx
                else:
                    req.update(stage="generate", prompt=judgelm_prompt(item["question"], a, b, ref, context=ctx))
                requests.append(req)
    return requests


def read_output(text: Optional[str], fmt: str, grading: str) -> tuple[Optional[str], Optional[float], str]:
    """(verdict or None, rating or None, failure reason) of one free-text output."""
    if grading == "single_answer":
        r = parse_rating(text or "")
        return None, (r.score if r.ok else None), ("" if r.ok else r.reason)
    if fmt == "pairwise":
        v = parse_verdict(text or "")
        return (v.winner if v.ok else None), None, ("" if v.ok else v.reason)
    s = parse_scores(text or "")
    return (s.outcome if s.ok else None), None, ("" if s.ok else s.reason)


def vote(verdicts: Sequence[Optional[str]], prob_a: Optional[float] = None) -> Optional[str]:
    """Majority of the readable verdicts (an A/B tie is "tie", or broken by the mean P(A)); None if none."""
    readable = [v for v in verdicts if v is not None]
    return majority_vote(readable, prob_a) if readable else None


def combine_orders(ab: Optional[str], ba: Optional[str]) -> Optional[str]:
    """One verdict from both orders (BA in its own labels): agreeing orders give theirs; disagreeing orders
    a tie (the judge contradicts itself); a missing order defers to the other."""
    if ba is None:
        return ab
    back = swap_outcome(ba)
    if ab is None:
        return back
    return ab if ab == back else "tie"


def rating_winner(rating_a: Optional[float], rating_b: Optional[float]) -> Optional[str]:
    if rating_a is None or rating_b is None:
        return None
    return "A" if rating_a > rating_b else "B" if rating_b > rating_a else "tie"


def outputs_by_item(outputs: Sequence[dict]) -> dict[str, list[dict]]:
    """Engine outputs grouped by the item they judge, each item's in (order, sample) order."""
    by_item: dict[str, list[dict]] = defaultdict(list)
    for out in sorted(outputs, key=lambda o: (o["order"], o["sample"])):
        by_item[out["item_id"]].append(out)
    return by_item


def predictions_from_outputs(items: Sequence[dict], outputs: Sequence[dict], judge: EvalJudgeConfig,
                             fmt: str) -> list[dict]:
    """One prediction row per item; every call (order, sample, seed, output, reading) is kept on it."""
    by_item = outputs_by_item(outputs)
    preds = []
    for item in items:
        calls = []
        for out in by_item[item["id"]]:
            if out.get("stage") == "judge":  # a constrained choice: always a verdict, with its probability
                free, _, reason = read_output(out.get("reasoning"), "pairwise", "pairwise")
                verdict, rating = out["verdict"], None
                call = {"order": out["order"], "sample": out["sample"], "seed": out["seed"],
                        "output": f"{out.get('reasoning', '')} [[{out['verdict']}]]", "verdict": verdict,
                        "prob_a": out["prob_a"], "unaided_verdict": free}
            else:
                verdict, rating, reason = read_output(out.get("output"), fmt, judge.grading)
                call = {"order": out["order"], "sample": out["sample"], "seed": out["seed"],
                        "output": out.get("output", ""), "verdict": verdict, "rating": rating, "failure": reason}
            calls.append(call)
        row = prediction_row(item, calls, judge.grading)
        if judge.mode == "debiased":
            row["debiased"] = debiased_reading([c["prob_a"] for c in calls if c["order"] == "AB"],
                                               [c["prob_a"] for c in calls if c["order"] == "BA"])
        preds.append(row)
    return preds


def prediction_row(item: dict, calls: list[dict], grading: str) -> dict:
    def of(order: str) -> list[dict]:
        return [c for c in calls if c["order"] == order]

    row = {"id": item["id"], "subset": item.get("subset", ""), "label": item["label"], "calls": calls,
           "outputs": len(calls), "unparsed_outputs": sum(c.get("rating") is None and c.get("verdict") is None
                                                          for c in calls)}
    if grading == "single_answer":
        ratings = {s: [c["rating"] for c in of(s) if c["rating"] is not None] for s in ("A", "B")}
        means = {s: (sum(r) / len(r) if r else None) for s, r in ratings.items()}
        row.update(rating_a=means["A"], rating_b=means["B"], winner=rating_winner(means["A"], means["B"]))
        return row
    for order, key in (("AB", "winner"), ("BA", "winner_swapped")):
        cs = of(order)
        if cs:
            probs = [c["prob_a"] for c in cs if c.get("prob_a") is not None]
            row[key] = vote([c["verdict"] for c in cs], sum(probs) / len(probs) if probs else None)
    return row


def final_verdict(pred: dict) -> Optional[str]:
    """The item's verdict: the debiased reading under `mode=debiased`; else both orders combined when the swapped
    one was judged."""
    if pred.get("debiased"):
        return pred["debiased"]["winner"]
    if "winner_swapped" in pred:
        return combine_orders(pred.get("winner"), pred.get("winner_swapped"))
    return pred.get("winner")
