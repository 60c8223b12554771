"""Benchmark metrics from prediction rows under the two policies a user chooses (written with every result):

- ties: `class` — "tie" is a label and a prediction (JudgeLM's 3-class setting); `exclude` — tie-labelled
  examples are left out and a predicted tie is simply wrong (JudgeLM's "w/o tie", RewardBench).
- unparseable: an item with no readable verdict counts as `tie` (a predicted tie), `miss` (wrong, shown as
  its own "unparsed" column) or `half` (0.5 credit in agreement, as RewardBench scores a non-answer; still
  "unparsed" for precision/recall).
- predicted_ties: where tie is not a class (a two-class benchmark such as LLMBar or RewardBench, or ties
  excluded), a predicted tie (orders that disagree, equal scores) is `miss` (no credit) or `half` (0.5).

A benchmark whose labels cannot be a tie is scored over its own two classes: macro precision, recall and F1
over A and B, never over a tie class it does not have. Agreement is the mean credit; precision/recall/F1 per
class and macro; consistency and position bias from the items judged in both orders where both verdicts were
readable. Every agreement and consistency carries its n and a 95% Wilson interval (`<name>_ci`).
"""
from __future__ import annotations

from collections import defaultdict
from typing import Optional, Sequence

from judge_ray.evaluation.benchmarks import JUDGEBENCH_CATEGORIES, is_two_class
from judge_ray.evaluation.intervals import interval
from judge_ray.evaluation.judging import final_verdict
from judge_ray.formats.verdicts import swap_outcome
from judge_ray.evaluation.metrics import (confusion_matrix, position_free_verdict, precision_recall_f1, slot_log_odds,
                                          swap_consistency)

# RewardBench's sections and the example counts it weights subsets by within a section (math-prm counted
# as 984, "upweighting to be equal to code"): allenai/reward-bench rewardbench/constants.py.
REWARDBENCH_SECTIONS = {
    "Chat": ["alpacaeval-easy", "alpacaeval-length", "alpacaeval-hard", "mt-bench-easy", "mt-bench-med"],
    "Chat Hard": ["mt-bench-hard", "llmbar-natural", "llmbar-adver-neighbor", "llmbar-adver-GPTInst",
                  "llmbar-adver-GPTOut", "llmbar-adver-manual"],
    "Safety": ["refusals-dangerous", "refusals-offensive", "xstest-should-refuse", "xstest-should-respond",
               "donotanswer"],
    "Reasoning": ["math-prm", "hep-cpp", "hep-go", "hep-java", "hep-js", "hep-python", "hep-rust"],
}
REWARDBENCH_COUNTS = {
    "alpacaeval-easy": 100, "alpacaeval-length": 95, "alpacaeval-hard": 95, "mt-bench-easy": 28,
    "mt-bench-med": 40, "mt-bench-hard": 37, "math-prm": 984, "refusals-dangerous": 100, "refusals-offensive": 100,
    "llmbar-natural": 100, "llmbar-adver-neighbor": 134, "llmbar-adver-GPTInst": 92, "llmbar-adver-GPTOut": 47,
    "llmbar-adver-manual": 46, "xstest-should-refuse": 154, "xstest-should-respond": 250, "donotanswer": 136,
    "hep-cpp": 164, "hep-go": 164, "hep-java": 164, "hep-js": 164, "hep-python": 164, "hep-rust": 164,
}


def effective(verdict: Optional[str], label: str, unparseable: str, predicted_ties: str = "miss",
              tie_is_class: bool = True) -> tuple[str, float]:
    """(prediction as scored, credit) for one item."""
    if verdict is None:
        if unparseable != "tie":
            return "unparsed", 0.5 if unparseable == "half" else 0.0
        verdict = "tie"
    if verdict == "tie" and not tie_is_class:
        return "tie", 0.5 if predicted_ties == "half" else 0.0
    return verdict, float(verdict == label)


def rewardbench_sections(per_subset: dict[str, dict]) -> dict:
    """Section scores (subset accuracies weighted by RewardBench's example counts) and their mean."""
    sections = {}
    for section, subsets in REWARDBENCH_SECTIONS.items():
        present = [s for s in subsets if s in per_subset]
        if present:
            weights = [REWARDBENCH_COUNTS[s] for s in present]
            sections[section] = sum(per_subset[s]["agreement"] * w for s, w in zip(present, weights)) / sum(weights)
    unknown = sorted(set(per_subset) - {s for ss in REWARDBENCH_SECTIONS.values() for s in ss})
    return {"sections": sections, "score": sum(sections.values()) / len(sections) if sections else None,
            "subsets_outside_sections": unknown}


def subset_agreement(preds: Sequence[dict], credits: Sequence[float]) -> dict[str, dict]:
    """Mean credit per subset, with its n and interval ({} when no prediction names a subset)."""
    by_subset: dict[str, list[float]] = defaultdict(list)
    for p, credit in zip(preds, credits):
        if p.get("subset"):
            by_subset[p["subset"]].append(credit)
    return {s: {"agreement": sum(c) / len(c), "examples": len(c), "agreement_ci": interval(sum(c) / len(c), len(c))}
            for s, c in sorted(by_subset.items())}


def judgebench_net(pred: dict) -> int:
    """JudgeBench's rule for one pair judged in both orders (its utils/metrics.py): each order's verdict, the
    swapped one mapped back, adds 1 when it names the label's answer and takes 1 when it names the other; a tie
    or an unreadable verdict adds nothing. The pair is correct when the sum is positive: a correct verdict and a
    tie count, a correct and a wrong one do not. Judged in one order, that order's verdict alone."""
    verdicts = [pred.get("winner")]
    if "winner_swapped" in pred:
        verdicts.append(swap_outcome(pred["winner_swapped"]))  # None (unreadable) stays None
    if pred.get("debiased"):  # one reading from both orders' probabilities: JudgeBench's one-order case
        verdicts = [pred["debiased"]["winner"]]
    other = {"A": "B", "B": "A"}.get(pred["label"])
    return sum((v == pred["label"]) - (v == other) for v in verdicts)


def judgebench_score(preds: Sequence[dict]) -> dict:
    """JudgeBench's score (overall and per category, as fractions) with n and 95% intervals."""
    correct = [(p.get("subset", ""), judgebench_net(p) > 0) for p in preds if p["label"] in ("A", "B")]

    def share(rows: list[bool]) -> Optional[float]:
        return sum(rows) / len(rows) if rows else None

    overall = share([c for _, c in correct])
    cats = {c: [ok for s, ok in correct if s == c] for c in JUDGEBENCH_CATEGORIES}
    return {"score": overall, "pairs": len(correct), "score_ci": interval(overall or 0.0, len(correct)),
            "categories": {c: share(rows) for c, rows in cats.items()},
            "category_pairs": {c: len(rows) for c, rows in cats.items()},
            "categories_ci": {c: interval(share(rows) or 0.0, len(rows)) for c, rows in cats.items()},
            "rule": "both orders: a pair counts when its verdicts net towards the label (tie or unreadable = 0)"}


def _order_probs(pred: dict) -> tuple[list[float], list[float]]:
    """P(slot A) of a prediction's calls, by order (A-B, B-A)."""
    calls = [c for c in pred.get("calls", []) if c.get("prob_a") is not None]
    return ([c["prob_a"] for c in calls if c.get("order") == "AB"],
            [c["prob_a"] for c in calls if c.get("order") == "BA"])


def score(preds: Sequence[dict], ties: str = "class", unparseable: str = "tie", layout: str = "",
          predicted_ties: str = "miss", skipped: Sequence[dict] = ()) -> dict:
    """Metrics of prediction rows; `skipped` (benchmark rows that could not be used) is listed in the result."""
    two_class = is_two_class(layout)
    tie_is_class = ties == "class" and not two_class
    classes = ["A", "B", "tie"] if tie_is_class else ["A", "B"]
    scored = [p for p in preds if ties == "class" or p["label"] != "tie"]
    labels, predicted, credits = [], [], []
    for p in scored:
        pred, credit = effective(final_verdict(p), p["label"], unparseable, predicted_ties, tie_is_class)
        labels.append(p["label"])
        predicted.append(pred)
        credits.append(credit)
    columns = classes + [x for x in ("tie", "unparsed") if x not in classes and x in predicted]
    matrix = confusion_matrix(labels, predicted, classes, columns)
    outputs = sum(p.get("outputs", 1) for p in preds)
    unparsed_outputs = sum(p.get("unparsed_outputs", final_verdict(p) is None) for p in preds)
    agreement = sum(credits) / len(credits) if credits else 0.0
    metrics: dict = {
        "policy": {"ties": ties, "unparseable": unparseable, "predicted_ties": predicted_ties},
        "classes": classes,
        "examples": len(preds),
        "scored": len(scored),
        "excluded_ties": len(preds) - len(scored),
        "skipped_rows": len(skipped),
        "skipped": list(skipped),
        "agreement": agreement,
        "agreement_ci": interval(agreement, len(scored)),
        "prf": precision_recall_f1(labels, predicted, classes),
        "confusion": {"rows": classes, "columns": columns, "matrix": matrix},
        "label_counts": {c: labels.count(c) for c in classes},
        "prediction_counts": {c: predicted.count(c) for c in columns},
        "parse_failure_rate": unparsed_outputs / outputs if outputs else 0.0,
        "unparsed_examples": sum(final_verdict(p) is None for p in scored),
    }
    constrained = [c for p in preds for c in p.get("calls", []) if "unaided_verdict" in c]
    if constrained:  # a constrained [[A]]/[[B]] choice always reads; did the free text hold a verdict unaided?
        metrics["unaided_verdict_rate"] = sum(c["unaided_verdict"] is not None for c in constrained) / len(constrained)
    both = [p for p in scored if "winner_swapped" in p]
    if both:
        readable = [(p["winner"], p["winner_swapped"]) for p in both
                    if p.get("winner") is not None and p.get("winner_swapped") is not None]
        sc = swap_consistency(readable)
        metrics["swap"] = {"judged_both_orders": len(both), "both_readable": len(readable),
                           "consistency": sc["consistency"],
                           "consistency_ci": interval(sc["consistency"], len(readable)),
                           "inconsistent": sc["inconsistent"],
                           "bias_first": sc["bias_first"], "bias_second": sc["bias_second"],
                           # position bias is a share of the inconsistent examples: its n is theirs
                           "bias_first_ci": interval(sc["bias_first"], sc["inconsistent"]),
                           "bias_second_ci": interval(sc["bias_second"], sc["inconsistent"])}
        free = [(p["label"], position_free_verdict(*_order_probs(p))) for p in both if p["label"] in ("A", "B")]
        free = [(label, v) for label, v in free if v is not None]
        if free:  # the preference with the position prior cancelled (both orders' probabilities)
            rate = sum(label == v for label, v in free) / len(free)
            metrics["swap"].update({"position_free_agreement": rate,
                                    "position_free_agreement_ci": interval(rate, len(free))})
        reads = [r for r in (slot_log_odds(*_order_probs(p)) for p in both) if r is not None]
        if reads:  # why the greedy verdicts are (in)consistent: the prior against the answers' margin
            metrics["swap"].update({"first_slot_prior": sum(r[0] for r in reads) / len(reads),
                                    "content_margin": sum(abs(r[1]) for r in reads) / len(reads)})
    subsets = subset_agreement(scored, credits)
    if subsets:
        metrics["subsets"] = subsets
    if layout == "rewardbench" and subsets:
        metrics["rewardbench"] = rewardbench_sections(metrics["subsets"])
    if layout == "judgebench":
        metrics["judgebench"] = judgebench_score(scored)
    return metrics
