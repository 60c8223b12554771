"""The run's summary table: one row per iteration, the counts kept at each stage, metrics and wall times."""
from __future__ import annotations

from typing import Sequence


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _num(x, fmt: str = "{:.3f}") -> str:
    return "-" if x is None else fmt.format(x)


COLUMNS = ["iter", "judge", "judgments", "correct", "SFT kept", "pairs dropped", "train loss",
           "held-out acc", "vote acc", "debiased acc", "consistency", "bias 1st/2nd", "unaided verdicts", "wall s"]


def summary_table(rows: Sequence[dict]) -> str:
    """Markdown table; a row is a dict with the keys the pipeline fills (missing ones print '-')."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows:
        m = r.get("heldout") or {}
        bias = ("-" if "consistency" not in m else f"{_pct(m.get('bias_first'))}/{_pct(m.get('bias_second'))}")
        cells = [
            str(r["iter"]), r["judge"], _num(r.get("judgments"), "{}"), _pct(r.get("correct_rate")),
            _num(r.get("sft_rows"), "{}"), _num(r.get("pairs_dropped"), "{}"), _num(r.get("train_loss"), "{:.4f}"),
            _pct(m.get("accuracy")), _pct(m.get("majority_vote_accuracy")), _pct(m.get("debiased_accuracy")),
            _pct(m.get("consistency")), bias, _pct(m.get("unaided_verdict_rate")), _num(r.get("wall_s"), "{:.0f}"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary_markdown(name: str, header_lines: Sequence[str], rows: Sequence[dict], extra: Sequence[str] = ()) -> str:
    parts = [f"# Self-taught judge run `{name}`", "", *header_lines, "", summary_table(rows), ""]
    if extra:
        parts += [*extra, ""]
    parts.append("Metrics are on the held-out synthetic pairs, each judged in both orders with k samples; "
                 "'vote acc' is the k-sample majority vote; 'unaided verdicts' is the share of judgments whose "
                 "free text already held a well-formed [[A]]/[[B]].")
    return "\n".join(parts) + "\n"
