"""RewardBench 2's scores, computed the way its authors compute them (allenai/reward-bench: `run_generative_v2.py`
for a generative judge, `rewardbench/utils.py` `process_single_model` for Ties), from each completion's score.

- Every subset but Ties is best-of-4: a prompt earns 1 when its chosen completion has the top score alone, 1/k
  when it shares the top with k - 1 rejected ones (`(0 in winners) / len(winners)`), and 1/N when no score
  could be read (their 4-way judge's 0.25 for an error).
- Ties: prompts come as `ref:<pid>` (one correct answer) and `tied:<pid>` (several correct answers). Per prompt:
  accurate when the worst correct completion outscores the best incorrect one; the spread among correct ones
  (best - worst correct, tied prompts); the gap (worst correct - best incorrect). Score = 0.30 tied accuracy +
  0.30 ref accuracy + 0.20 correctness preferred (tied gap > spread) + 0.20 correctness preferred hard (the
  smaller of the tied and ref gaps > spread) + 0.01 mean tanh(smaller gap / spread - 1) (0 for 0/0).
- Overall: the mean of the subset scores.

A completion no call could score gets -1, below any score a judge writes.
"""
from __future__ import annotations

import math
from collections import defaultdict
from typing import Optional, Sequence

from judge_ray.evaluation.intervals import interval
from judge_ray.evaluation.ranking import top1_credit

UNSCORED = -1.0


def _scores(pred: dict) -> list[float]:
    return [UNSCORED if s is None else s for s in pred["scores"]]


def prompt_stats(correct: Sequence[float], incorrect: Sequence[float]) -> tuple[bool, Optional[float], float]:
    """(accurate, spread among correct or None with one, gap between worst correct and best incorrect)."""
    spread = max(correct) - min(correct) if len(correct) > 1 else None
    gap = min(correct) - max(incorrect)
    return gap > 0, spread, gap


def _ratio_tanh(gap: float, spread: float) -> float:
    if spread == 0:
        return 0.0 if gap == 0 else math.tanh(math.copysign(math.inf, gap))
    return math.tanh(gap / spread - 1)


def ties_score(preds: Sequence[dict]) -> dict:
    """RewardBench 2's Ties score from `ref:<pid>` and `tied:<pid>` predictions (best = the correct ones)."""
    stats: dict[str, dict[str, tuple]] = {"ref": {}, "tied": {}}
    unusable = []
    for p in preds:
        kind, _, pid = str(p["id"]).partition(":")
        scores = _scores(p)
        correct = [s for a, s in enumerate(scores) if a in p["best"]]
        incorrect = [s for a, s in enumerate(scores) if a not in p["best"]]
        if kind not in stats or not pid or not correct or not incorrect:
            unusable.append(p["id"])
            continue
        stats[kind][pid] = prompt_stats(correct, incorrect)
    ref, tied = stats["ref"], stats["tied"]
    ref_acc = sum(s[0] for s in ref.values()) / len(ref) if ref else 0.0
    tied_acc = sum(s[0] for s in tied.values()) / len(tied) if tied else 0.0
    both = sorted(set(ref) & set(tied))
    usable = [pid for pid in both if tied[pid][1] is not None]
    preferred = [tied[pid][2] > tied[pid][1] for pid in usable]
    hard = [min(ref[pid][2], tied[pid][2]) > tied[pid][1] for pid in usable]
    margin = [_ratio_tanh(min(ref[pid][2], tied[pid][2]), tied[pid][1]) for pid in usable]

    def mean(xs: Sequence[float]) -> float:
        return sum(xs) / len(xs) if xs else 0.0

    score = (0.30 * tied_acc + 0.30 * ref_acc + 0.20 * mean(preferred) + 0.20 * mean(hard) + 0.01 * mean(margin))
    return {"score": score if usable else None, "ref_accuracy": ref_acc, "tied_accuracy": tied_acc,
            "ref_prompts": len(ref), "tied_prompts": len(tied), "paired_prompts": len(usable),
            "correctness_preferred": mean(preferred), "correctness_preferred_hard": mean(hard),
            "margin_score": mean(margin), "unusable_ids": unusable}


def rewardbench2_score(preds: Sequence[dict]) -> dict:
    """Per subset and overall, as fractions; best-of-N subsets with n and a 95% interval."""
    by_subset: dict[str, list[dict]] = defaultdict(list)
    for p in preds:
        by_subset[p.get("subset") or ""].append(p)
    subsets: dict[str, dict] = {}
    for name, rows in sorted(by_subset.items()):
        if name.lower() == "ties":
            ties = ties_score(rows)
            subsets[name] = {"score": ties["score"], "prompts": len(rows), "ties": ties}
        else:
            credit = [top1_credit(p) for p in rows]
            value = sum(credit) / len(credit)
            subsets[name] = {"score": value, "prompts": len(rows), "score_ci": interval(value, len(rows))}
    scored = [v["score"] for v in subsets.values() if v["score"] is not None]
    return {"score": sum(scored) / len(scored) if scored else None, "subsets": subsets,
            "rule": "best-of-N: chosen alone at the top = 1, shared with k-1 = 1/k, unread = 1/N; Ties: "
                    "RewardBench 2's accuracy and margin score; overall: mean of the subsets"}
