"""The run's summary: one row per iteration with the counts kept at each stage, then the judge's quality per
iteration and evaluation set, every proportion with its n and 95% interval (2 held-out pairs say nothing, and
the table must show it)."""
from __future__ import annotations

from typing import Sequence

from judge_ray.evaluation.intervals import pct_with_interval
from judge_ray.evaluation.report import markdown_table


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _num(x, fmt: str = "{:.3f}") -> str:
    return "-" if x is None else fmt.format(x)


COLUMNS = ["iter", "judge", "judgments", "correct", "SFT kept", "pairs dropped", "train loss", "wall s"]
QUALITY_COLUMNS = ["iter", "judge", "eval set", "pairs", "agreement [95% CI]", "consistency [95% CI]",
                   "position-free [95% CI]", "1st-slot prior", "bias 1st [95% CI]", "bias 2nd", "unaided verdicts"]
# What each column of the quality table means, one line each (printed under the table).
QUALITY_LEGEND = [
    "pairs: the labelled pairs scored (ties set aside): the n of agreement, consistency and position-free",
    "agreement: the verdict (both orders, k samples per order voted; orders that disagree are a tie, which is "
    "wrong) equals the label; a coin: 25%",
    "consistency: both orders give the same verdict; a coin: 50%",
    "position-free: the label against the judge's preference with its slot prior cancelled (both orders' "
    "log-odds of the answer); a coin: 50%",
    "1st-slot prior: mean log-odds the judge adds to whichever answer is shown first (0: none; +1.0: 2.7 to 1 "
    "for the first slot)",
    "bias 1st / 2nd: of the inconsistent pairs, the share that favoured the first / second slot",
    "unaided verdicts: the share of judgments whose free text already held a well-formed [[A]]/[[B]]",
    "brackets: 95% Wilson intervals; `iter_i/eval/<set>/` holds each set's predictions.jsonl, metrics.json and "
    "confusion.png (the evaluation harness, `jobs/evaluate.py`'s code)",
]


def summary_table(rows: Sequence[dict]) -> str:
    """Markdown table of the training side; a row is a dict with the keys the pipeline fills ('-' if missing)."""
    return markdown_table([[str(r["iter"]), r["judge"], _num(r.get("judgments"), "{}"), _pct(r.get("correct_rate")),
                            _num(r.get("sft_rows"), "{}"), _num(r.get("pairs_dropped"), "{}"),
                            _num(r.get("train_loss"), "{:.4f}"), _num(r.get("wall_s"), "{:.0f}")] for r in rows],
                          COLUMNS)


def quality_table(rows: Sequence[dict]) -> str:
    """One line per (iteration, evaluation set) from each row's `evals` {set name: the harness's metrics}."""
    lines = []
    for r in rows:
        for name, m in (r.get("evals") or {}).items():
            if not m or not m.get("scored"):
                continue
            swap = m.get("swap") or {}
            lines.append([str(r["iter"]), r["judge"], name, str(m["scored"]),
                          pct_with_interval(m.get("agreement"), m.get("agreement_ci")),
                          pct_with_interval(swap.get("consistency"), swap.get("consistency_ci")) if swap else "-",
                          pct_with_interval(swap.get("position_free_agreement"),
                                            swap.get("position_free_agreement_ci")) if swap else "-",
                          _num(swap.get("first_slot_prior"), "{:+.2f}"),
                          pct_with_interval(swap.get("bias_first"), swap.get("bias_first_ci")) if swap else "-",
                          _pct(swap.get("bias_second")) if swap else "-", _pct(m.get("unaided_verdict_rate"))])
    if not lines:
        return "(no judge was evaluated)"
    return markdown_table(lines, QUALITY_COLUMNS) + "\n\n" + "\n".join(f"- {line}" for line in QUALITY_LEGEND)


def summary_markdown(name: str, header_lines: Sequence[str], rows: Sequence[dict], extra: Sequence[str] = ()) -> str:
    parts = [f"# Self-taught judge run `{name}`", "", *header_lines, "", summary_table(rows), "",
             "## How good is each judge", "", quality_table(rows), ""]
    if extra:
        parts += [*extra, ""]
    return "\n".join(parts) + "\n"
