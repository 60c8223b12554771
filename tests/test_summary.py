"""The run summary's quality table: the judge moving, M_0 beside M_1, with every column explained in a line."""
from judge_ray.evaluation.scoring import score
from judge_ray.summary import QUALITY_COLUMNS, QUALITY_LEGEND, quality_table


def _preds(reads):
    """(label, P(slot A) shown A-B, P(slot A) shown B-A) -> prediction rows as the harness writes them."""
    out = []
    for i, (label, ab, ba) in enumerate(reads):
        out.append({"id": str(i), "label": label, "subset": "", "winner": "A" if ab > 0.5 else "B",
                    "winner_swapped": "A" if ba > 0.5 else "B",  # in the order shown (B-A)
                    "calls": [{"order": "AB", "prob_a": ab}, {"order": "BA", "prob_a": ba}]})
    return out


def test_the_quality_table_shows_prior_and_position_free_agreement_with_a_legend():
    # the seed prefers the first slot and, prior cancelled, answer A of both pairs; M_1 follows the answers
    seed = score(_preds([("A", 0.9, 0.8), ("B", 0.9, 0.8)]), ties="exclude")
    trained = score(_preds([("A", 0.7, 0.3), ("B", 0.3, 0.7)]), ties="exclude")
    rows = [{"iter": 0, "judge": "M_0 (seed)", "evals": {"bundled": seed}},
            {"iter": 1, "judge": "M_1", "evals": {"bundled": trained}}]
    text = quality_table(rows)
    lines = text.splitlines()
    assert lines[0].count("|") == len(QUALITY_COLUMNS) + 1 and "position-free" in lines[0]
    m0 = next(line for line in lines if line.startswith("| 0 |")).split(" | ")
    m1 = next(line for line in lines if line.startswith("| 1 |")).split(" | ")
    at = {c: i for i, c in enumerate(QUALITY_COLUMNS)}
    free = at["position-free [95% CI]"]
    assert m0[free].startswith("50.0% [") and m1[free].startswith("100.0% [")
    # log-odds: the seed (log 9 + log 4) / 2 = 1.79 for the first slot; M_1 (log 7/3 + log 3/7) / 2 = 0
    assert m0[at["1st-slot prior"]] == "+1.79" and m1[at["1st-slot prior"]] in ("+0.00", "-0.00")
    assert m1[at["consistency [95% CI]"]].startswith("100.0% [") and m0[at["consistency [95% CI]"]].startswith("0.0% [")
    legend = [line for line in lines if line.startswith("- ")]
    assert len(legend) == len(QUALITY_LEGEND)
    for column in ("pairs", "agreement", "consistency", "position-free", "1st-slot prior", "bias 1st",
                   "unaided verdicts"):
        assert sum(line.startswith(f"- {column}") for line in legend) == 1, column
