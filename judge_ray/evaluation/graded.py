"""Reference-based single-answer grading on a 0-1 scale, reported the way MM-Vet reports a model: the mean
score overall, per capability (an item counts for each capability it lists) and per capability combination.
Pure: the engine work happens in between.

    graded items --graded_requests--> requests --engine--> outputs --graded_predictions--> predictions --score_graded

A graded item is `{id, question, answer, reference, context, capabilities, subset}`. The judge reads the
question, the context block (the image as text), the reference (MM-Vet's ground truth) and the answer, and
writes `Score: [[s]]` with s in [0, 1], read as constrained choices (`stages.judging.grade_batch`: 0 or 1, then
the tenth after `0.`), so every answer gets a grade, with the model's expected grade beside it. A grade read from
free text (outputs of another engine stage) that cannot be read scores 0 (MM-Vet's grader gives 0.0 when it
cannot read its own grade after its retries) and is counted.
"""
from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Sequence

from judge_ray.evaluation.intervals import interval
from judge_ray.evaluation.judging import outputs_by_item, samples_per_order, shown_texts
from judge_ray.formats.grading import grading_prompt, parse_rating
from judge_ray.stages.seeds import derive_seed

if TYPE_CHECKING:
    from judge_ray.config import EvalJudgeConfig


def graded_requests(items: Sequence[dict], judge: EvalJudgeConfig, fmt: str, seed: int) -> list[dict]:
    samples = samples_per_order(judge)
    requests = []
    for item in items:
        ref, ctx = shown_texts(item, judge)
        prompt = grading_prompt(item["question"], item["answer"], ref, context=ctx, scale="0-1")
        for k in range(samples):
            requests.append({"item_id": item["id"], "order": "A", "sample": k, "stage": "grade", "prompt": prompt,
                             "seed": derive_seed(seed, "evaluate", item["id"], "graded", k),
                             "max_tokens": judge.max_tokens, "temperature": judge.temperature, "top_p": judge.top_p})
    return requests


def graded_predictions(items: Sequence[dict], outputs: Sequence[dict], judge: EvalJudgeConfig,
                       fmt: str) -> list[dict]:
    by_item = outputs_by_item(outputs)
    preds = []
    for item in items:
        calls = []
        for out in by_item[item["id"]]:
            if out.get("score") is not None:  # the constrained read (engine stage `grade`)
                score, failure = float(out["score"]), ""
            else:  # free text
                r = parse_rating(out.get("output") or "", low=0.0, high=1.0)
                score, failure = (r.score if r.ok else None), ("" if r.ok else r.reason)
            calls.append({"sample": out["sample"], "seed": out["seed"], "output": out.get("output", ""),
                          "score": score, "expected_score": out.get("expected_score"), "failure": failure})
        read = [c["score"] for c in calls if c["score"] is not None]
        expected = [c["expected_score"] for c in calls if c.get("expected_score") is not None]
        preds.append({"id": item["id"], "subset": item.get("subset", ""), "capabilities": item["capabilities"],
                      "calls": calls, "score": sum(read) / len(read) if read else None,
                      "expected_score": sum(expected) / len(expected) if expected else None,
                      "outputs": len(calls), "unparsed_outputs": len(calls) - len(read)})
    return preds


def _mean(values: Sequence[float]) -> dict:
    mean = sum(values) / len(values) if values else None
    return {"score": mean, "n": len(values), "score_ci": interval(mean, len(values))}


def score_graded(preds: Sequence[dict], layout: str = "", skipped: Sequence[dict] = ()) -> dict:
    """Mean 0-1 score overall, per capability and per capability combination, each with n and a 95% interval
    (Wilson on the mean score, as for fractional agreement); unreadable grades score 0."""
    scores = [p["score"] if p["score"] is not None else 0.0 for p in preds]
    caps: dict[str, list[float]] = defaultdict(list)
    combos: dict[str, list[float]] = defaultdict(list)
    for p, s in zip(preds, scores):
        for c in p["capabilities"]:
            caps[c].append(s)
        combos[p["subset"]].append(s)
    overall = _mean(scores)
    outputs = sum(p["outputs"] for p in preds)
    expected = [p["expected_score"] for p in preds if p.get("expected_score") is not None]
    return {"kind": "graded", "examples": len(preds), "scored": len(preds), "skipped_rows": len(skipped),
            "skipped": list(skipped), "score": overall["score"], "score_ci": overall["score_ci"],
            "agreement": overall["score"] or 0.0, "agreement_ci": overall["score_ci"],
            "capabilities": {c: _mean(v) for c, v in sorted(caps.items())},
            "combinations": {c: _mean(v) for c, v in sorted(combos.items())},
            "unreadable_grades": sum(p["score"] is None for p in preds),
            "expected_score": sum(expected) / len(expected) if expected else None,
            "parse_failure_rate": sum(p["unparsed_outputs"] for p in preds) / outputs if outputs else 0.0,
            "scale": "0-1", "layout": layout}

