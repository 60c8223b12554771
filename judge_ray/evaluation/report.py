"""What a person opens after an evaluation: a Markdown table, a confusion-matrix PNG, and for a self-taught
run directory a PNG of the metrics per iteration."""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

from judge_ray.storage import save_figure
from judge_ray.evaluation.intervals import pct_with_interval

SKIPPED_LISTED = 50  # rows listed in summary.md; metrics.json lists them all


def _pct(x: Optional[float]) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def metrics_row(name: str, m: dict) -> list[str]:
    swap = m.get("swap", {})
    return [name, str(m["scored"]), pct_with_interval(m["agreement"], m.get("agreement_ci")),
            _pct(m["prf"]["macro"]["precision"]), _pct(m["prf"]["macro"]["recall"]), _pct(m["prf"]["macro"]["f1"]),
            pct_with_interval(swap.get("consistency"), swap.get("consistency_ci")),
            f"{_pct(swap.get('bias_first'))}/{_pct(swap.get('bias_second'))}" if swap else "-",
            _pct(m["parse_failure_rate"])]


HEADER = ["judge", "scored", "agreement [95% CI]", "macro P", "macro R", "macro F1", "consistency [95% CI]",
          "bias 1st/2nd", "parse failures"]


def markdown_table(rows: Sequence[Sequence[str]], header: Sequence[str] = HEADER) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def report_markdown(title: str, benchmark: str, layout: str, rows: Sequence[Sequence[str]], metrics: dict) -> str:
    p = metrics["policy"]
    skipped = metrics.get("skipped", [])
    parts = [f"# {title}", "", f"- benchmark: `{benchmark}` (layout {layout}), {metrics['examples']} examples, "
             f"{metrics['excluded_ties']} tie-labelled excluded, {len(skipped)} unusable row(s) skipped",
             f"- classes: {', '.join(metrics.get('classes', []))} (macro P/R/F1 over these)",
             f"- policy: ties = {p['ties']}, unparseable = {p['unparseable']}, "
             f"predicted ties = {p.get('predicted_ties', 'miss')}",
             "- intervals: 95% Wilson score intervals, n = examples scored (consistency: examples with both "
             "orders readable)", "", markdown_table(rows)]
    subsets = metrics.get("subsets")
    if subsets:
        parts += ["", markdown_table([[s, str(v["examples"]), pct_with_interval(v["agreement"], v.get("agreement_ci"))]
                                      for s, v in subsets.items()], ["subset", "examples", "agreement [95% CI]"])]
    rb = metrics.get("rewardbench")
    if rb and rb["sections"]:
        names = list(rb["sections"])
        parts += ["", markdown_table([[_pct(rb["sections"][n]) for n in names] + [_pct(rb["score"])]],
                                     names + ["RewardBench score"])]
    jb = metrics.get("judgebench")
    if jb:
        cats = list(jb["categories"])
        parts += ["", markdown_table([[pct_with_interval(jb["score"], jb["score_ci"])]
                                      + [pct_with_interval(jb["categories"][c], jb["categories_ci"][c]) for c in cats]],
                                     ["JudgeBench score"] + cats), "", f"- JudgeBench's rule: {jb['rule']}"]
    if skipped:
        parts += ["", f"## Skipped rows ({len(skipped)})", "",
                  markdown_table([[str(r["row"]), f"`{r['id']}`" if r["id"] else "-", r["reason"].replace("|", "\\|")]
                                  for r in skipped[:SKIPPED_LISTED]], ["row", "id", "reason"])]
        if len(skipped) > SKIPPED_LISTED:
            parts.append(f"\n… and {len(skipped) - SKIPPED_LISTED} more, all listed in metrics.json")
    return "\n".join(parts) + "\n"


def plot_confusion(metrics: dict, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c = metrics["confusion"]
    fig, ax = plt.subplots(figsize=(1.4 * len(c["columns"]) + 1.5, 1.2 * len(c["rows"]) + 1.2))
    ax.imshow(c["matrix"], cmap="Blues")
    ax.set_xticks(range(len(c["columns"])), c["columns"])
    ax.set_yticks(range(len(c["rows"])), c["rows"])
    ax.set_xlabel("judge's verdict")
    ax.set_ylabel("label")
    top = max((v for r in c["matrix"] for v in r), default=0)
    for i, r in enumerate(c["matrix"]):
        for j, v in enumerate(r):
            ax.text(j, i, str(v), ha="center", va="center", color="white" if v > top / 2 else "black")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def plot_iterations(per_iter: dict[int, dict], path: Path, title: str) -> None:
    """Agreement, macro F1 and consistency per self-taught iteration (0 = the seed judge)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    iters = sorted(per_iter)
    fig, ax = plt.subplots(figsize=(5, 3.2))
    series = {"agreement": [per_iter[i]["agreement"] for i in iters],
              "macro F1": [per_iter[i]["prf"]["macro"]["f1"] for i in iters]}
    if all("swap" in per_iter[i] for i in iters):
        series["consistency"] = [per_iter[i]["swap"]["consistency"] for i in iters]
    for name, ys in series.items():
        ax.plot(iters, ys, marker="o", label=name)
    ax.set_xticks(iters)
    ax.set_xlabel("iteration (0 = seed judge)")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
