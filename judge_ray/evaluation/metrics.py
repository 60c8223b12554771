"""Judge metrics as JudgeLM and the Self-Taught Evaluators report them. Pure functions over verdict lists.

Verdicts are slot labels "A"/"B" (and "tie" where labels include ties). A swapped presentation ("BA") is
mapped back to the original frame before comparing orders.
"""
from __future__ import annotations

import math
from collections import Counter
from typing import Iterable, Optional, Sequence

from judge_ray.formats.verdicts import swap_outcome


def precision_recall_f1(labels: Sequence[str], preds: Sequence[str], classes: Sequence[str]) -> dict:
    """Per-class precision/recall/F1/support and their unweighted (macro) mean. A class never predicted has
    precision 0; a class never present has recall 0 (and is still averaged in: it is a class of the task)."""
    out: dict = {}
    for c in classes:
        tp = sum(y == c and p == c for y, p in zip(labels, preds))
        fp = sum(y != c and p == c for y, p in zip(labels, preds))
        fn = sum(y == c and p != c for y, p in zip(labels, preds))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[c] = {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}
    out["macro"] = {k: sum(out[c][k] for c in classes) / len(classes) for k in ("precision", "recall", "f1")}
    return out


def confusion_matrix(labels: Sequence[str], preds: Sequence[str], rows: Sequence[str],
                     columns: Optional[Sequence[str]] = None) -> list[list[int]]:
    """rows = label, in `rows` order; columns = prediction, in `columns` order (default: the rows; the scoring
    adds the predictions that are no class, such as "unparsed")."""
    columns = list(rows) if columns is None else list(columns)
    row_at, col_at = {c: i for i, c in enumerate(rows)}, {c: i for i, c in enumerate(columns)}
    matrix = [[0] * len(columns) for _ in rows]
    for y, p in zip(labels, preds):
        if y in row_at and p in col_at:
            matrix[row_at[y]][col_at[p]] += 1
    return matrix


def majority_vote(verdicts: Sequence[str], mean_prob_a: float | None = None) -> str:
    """The most common verdict; an exact tie between A and B is broken by the mean probability of A (or "tie")."""
    counts = Counter(verdicts).most_common()
    if len(counts) > 1 and counts[0][1] == counts[1][1]:
        if mean_prob_a is None or mean_prob_a == 0.5:
            return "tie"
        return "A" if mean_prob_a > 0.5 else "B"
    return counts[0][0]


def swap_consistency(pairs: Iterable[tuple[str, str]]) -> dict:
    """Consistency under swap and position bias.

    Each item is (verdict shown as A-B, verdict shown as B-A), both in their own slot labels. Consistent when
    the B-A verdict, mapped back, equals the A-B one. Of the inconsistent pairs, `bias_first` is the share
    that favoured the first slot in both orders ("A" then "A"), `bias_second` the second slot.
    """
    items = list(pairs)
    consistent = sum(ab == swap_outcome(ba) for ab, ba in items)
    inconsistent = [(ab, ba) for ab, ba in items if ab != swap_outcome(ba)]
    first = sum(ab == "A" and ba == "A" for ab, ba in inconsistent)
    second = sum(ab == "B" and ba == "B" for ab, ba in inconsistent)
    n_inc = len(inconsistent)
    return {
        "pairs": len(items),
        "consistency": consistent / len(items) if items else 0.0,
        "inconsistent": n_inc,
        "bias_first": first / n_inc if n_inc else 0.0,
        "bias_second": second / n_inc if n_inc else 0.0,
    }


def slot_log_odds(prob_a_ab: Sequence[float], prob_a_ba: Sequence[float]) -> Optional[tuple[float, float]]:
    """(first-slot prior, content margin) of one pair in log-odds: with l_ab and l_ba the mean log-odds of slot A
    shown A-B and shown B-A, the prior is (l_ab + l_ba) / 2 (> 0: the first slot) and the margin (l_ab - l_ba) / 2
    (> 0: the original A). The greedy verdicts are consistent exactly when |margin| > |prior|, which is why the
    two are reported side by side. None when an order has no probabilities."""
    if not prob_a_ab or not prob_a_ba:
        return None

    def log_odds(ps: Sequence[float]) -> float:
        clipped = [min(max(p, 1e-9), 1 - 1e-9) for p in ps]
        return sum(math.log(p / (1 - p)) for p in clipped) / len(clipped)

    l_ab, l_ba = log_odds(prob_a_ab), log_odds(prob_a_ba)
    return (l_ab + l_ba) / 2, (l_ab - l_ba) / 2


def position_free_verdict(prob_a_ab: Sequence[float], prob_a_ba: Sequence[float]) -> Optional[str]:
    """The judge's preference with its position prior cancelled: the sign of the content margin
    (`slot_log_odds`). A prior for the first slot adds the same log-odds to both orders, so what is left is
    what the judge sees in the answers. "A"/"B" in the original frame; None when the margin is 0 or an order
    has no probabilities.

    Why it is reported beside the greedy figures: a fine-tune can teach a small judge to tell answers apart
    (this read improves) long before that preference outweighs its position prior (greedy consistency does).
    """
    read = slot_log_odds(prob_a_ab, prob_a_ba)
    if read is None or read[1] == 0:
        return None
    return "A" if read[1] > 0 else "B"


def debiased_reading(prob_a_ab: Sequence[float], prob_a_ba: Sequence[float]) -> Optional[dict]:
    """The verdict with the slot prior cancelled, as `judge.mode=debiased` gives it: with the prior and margin of
    `slot_log_odds`, the winner is the margin's sign ("tie" at 0), `prob_a` = sigmoid(margin) is P(A) in the
    original frame with the prior taken out (the two orders' log-odds averaged, the second's seen from A), and
    `prior` is the first-slot log-odds it cancelled. None when an order has no probabilities."""
    read = slot_log_odds(prob_a_ab, prob_a_ba)
    if read is None:
        return None
    prior, margin = read
    winner = "A" if margin > 0 else "B" if margin < 0 else "tie"
    return {"winner": winner, "prob_a": 1 / (1 + math.exp(-margin)), "prior": prior}
