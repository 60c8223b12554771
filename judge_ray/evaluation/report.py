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


def _signed(x: Optional[float], ci: Optional[dict]) -> str:
    if x is None:
        return "-"
    return f"{x:+.2f} [{ci['low']:+.2f}, {ci['high']:+.2f}] n={ci['n']}" if ci else f"{x:+.2f}"


def ranked_row(name: str, m: dict) -> list[str]:
    pos = m["position"]
    return [name, str(m["scored"]), pct_with_interval(m["top1_accuracy"], m["top1_accuracy_ci"]),
            pct_with_interval(m["pairwise_accuracy"], m["pairwise_accuracy_ci"]),
            _signed(m["kendall_tau"], m["kendall_tau_ci"]),
            pct_with_interval(pos["consistency"], pos["consistency_ci"]), _pct(m["parse_failure_rate"])]


RANKED_HEADER = ["judge", "items", "top-1 [95% CI]", "pairwise acc. [95% CI]", "Kendall tau [95% CI]",
                 "consistency over orders", "parse failures"]


def metrics_row(name: str, m: dict) -> list[str]:
    if m.get("kind") == "ranking":
        return ranked_row(name, m)
    if m.get("kind") == "graded":
        return graded_row(name, m)
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


def ranked_markdown(title: str, benchmark: str, layout: str, rows: Sequence[Sequence[str]], metrics: dict) -> str:
    """The N-answer report: the ranking table, where the judge's pick sat per slot, RewardBench 2's scores."""
    skipped = metrics.get("skipped", [])
    n = ", ".join(f"{k} answers: {v}" for k, v in metrics["answers_per_item"].items())
    parts = [f"# {title}", "", f"- benchmark: `{benchmark}` (layout {layout}), {metrics['examples']} items ({n}), "
             f"{len(skipped)} unusable row(s) skipped",
             "- top-1: the labelled best has the top score (1/k when k answers share it); pairwise accuracy: the "
             "labelled answer pairs the scores order the same way (a tie 1/2); Kendall's tau-b per item, averaged",
             "- intervals: 95% Wilson score intervals (tau: normal interval of the mean over items)", "",
             markdown_table(rows, RANKED_HEADER)]
    pos = metrics["position"]["by_answers"]
    if pos:
        width = max(int(k) for k in pos)
        parts += ["", "Where the judge's pick sat, over every order read (no position bias: 1/N per slot):", "",
                  markdown_table([[k, str(v["orders_read"]), _pct(v["expected_share"])]
                                  + [pct_with_interval(x, ci) for x, ci in zip(v["slot_shares"], v["slot_shares_ci"])]
                                  + ["-"] * (width - int(k)) for k, v in pos.items()],
                                 ["N", "orders read", "1/N"] + [f"slot {i + 1}" for i in range(width)])]
    subsets = metrics.get("subsets")
    if subsets:
        parts += ["", markdown_table([[s, str(v["examples"]), pct_with_interval(v["agreement"], v.get("agreement_ci"))]
                                      for s, v in subsets.items()], ["subset", "items", "top-1 [95% CI]"])]
    rb = metrics.get("rewardbench2")
    if rb:
        names = list(rb["subsets"])
        parts += ["", markdown_table([[_pct(rb["subsets"][n]["score"]) for n in names] + [_pct(rb["score"])]],
                                     names + ["RewardBench 2 score"]), "", f"- RewardBench 2's rule: {rb['rule']}"]
    parts += _skipped_section(skipped)
    return "\n".join(parts) + "\n"


def graded_row(name: str, m: dict) -> list[str]:
    return [name, str(m["scored"]), pct_with_interval(m["score"], m["score_ci"]), str(m["unreadable_grades"]),
            f"{100 * m['parse_failure_rate']:.1f}%"]


GRADED_HEADER = ["judge", "items", "mean score [95% CI]", "unreadable grades", "parse failures"]


def graded_markdown(title: str, benchmark: str, layout: str, rows: Sequence[Sequence[str]], metrics: dict) -> str:
    """MM-Vet's report: total and per capability (and combination), as percentages of the 0-1 scale."""
    caps = metrics["capabilities"]
    parts = [f"# {title}", "", f"- benchmark: `{benchmark}` (layout {layout}), {metrics['examples']} graded answers, "
             f"{metrics['skipped_rows']} unusable row(s) skipped",
             "- each answer graded 0-1 against the reference (the ground truth), with the context block when the "
             "image has a description; read as choices (0 or 1, then the tenth): every answer gets a grade; "
             "intervals: 95% Wilson on the mean score"
             + (f"; the expected grade from the judge's own probabilities: {100 * metrics['expected_score']:.1f}%"
                if metrics.get("expected_score") is not None else ""), "",
             markdown_table(rows, GRADED_HEADER), "",
             markdown_table([[pct_with_interval(caps[c]["score"], caps[c]["score_ci"]) for c in caps]
                    + [pct_with_interval(metrics["score"], metrics["score_ci"])]], list(caps) + ["total"]), "",
             markdown_table([[c, str(v["n"]), pct_with_interval(v["score"], v["score_ci"])]
                    for c, v in metrics["combinations"].items()],
                   ["capabilities", "items", "mean score [95% CI]"])]
    parts += _skipped_section(metrics.get("skipped", []))
    return "\n".join(parts) + "\n"


def _skipped_section(skipped: Sequence[dict]) -> list[str]:
    if not skipped:
        return []
    parts = ["", f"## Skipped rows ({len(skipped)})", "",
             markdown_table([[str(r["row"]), f"`{r['id']}`" if r["id"] else "-", r["reason"].replace("|", "\\|")]
                             for r in skipped[:SKIPPED_LISTED]], ["row", "id", "reason"])]
    if len(skipped) > SKIPPED_LISTED:
        parts.append(f"\n… and {len(skipped) - SKIPPED_LISTED} more, all listed in metrics.json")
    return parts


def report_markdown(title: str, benchmark: str, layout: str, rows: Sequence[Sequence[str]], metrics: dict) -> str:
    if metrics.get("kind") == "ranking":
        return ranked_markdown(title, benchmark, layout, rows, metrics)
    if metrics.get("kind") == "graded":
        return graded_markdown(title, benchmark, layout, rows, metrics)
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
    parts += _skipped_section(skipped)
    return "\n".join(parts) + "\n"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _finish(plt, fig, ax, path: Path, title: str) -> None:
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def plot_confusion(metrics: dict, path: Path, title: str) -> None:
    plt = _pyplot()
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
    _finish(plt, fig, ax, path, title)


def plot_capabilities(metrics: dict, path: Path, title: str) -> None:
    """MM-Vet's per-capability scores with their intervals, and the total."""
    plt = _pyplot()
    caps = {**metrics["capabilities"], "total": {"score": metrics["score"], "score_ci": metrics["score_ci"]}}
    names = list(caps)
    values = [caps[c]["score"] or 0.0 for c in names]
    errs = [[v - caps[c]["score_ci"]["low"] for c, v in zip(names, values)],
            [caps[c]["score_ci"]["high"] - v for c, v in zip(names, values)]]
    fig, ax = plt.subplots(figsize=(1 + 0.8 * len(names), 3.2))
    ax.bar(range(len(names)), values, yerr=errs, capsize=3)
    ax.set_xticks(range(len(names)), names, rotation=30)
    ax.set_ylim(0, 1)
    ax.set_ylabel("mean 0-1 score")
    _finish(plt, fig, ax, path, title)


def plot_positions(metrics: dict, path: Path, title: str) -> None:
    """The share of the judge's picks per slot, one group of bars per N, against 1/N."""
    plt = _pyplot()
    pos = metrics["position"]["by_answers"]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for k, (n, v) in enumerate(pos.items()):
        xs = [k * 1.0 + (i - (int(n) - 1) / 2) * 0.8 / int(n) for i in range(int(n))]
        ax.bar(xs, v["slot_shares"], width=0.7 / int(n), label=f"N={n}")
        ax.hlines(v["expected_share"], xs[0] - 0.1, xs[-1] + 0.1, colors="black", linestyles="dashed")
    ax.set_xticks(range(len(pos)), [f"N={n} (slots 1..{n})" for n in pos])
    ax.set_ylabel("share of picks in the slot")
    ax.set_ylim(0, 1)
    _finish(plt, fig, ax, path, title)


def plot_iterations(per_iter: dict[int, dict], path: Path, title: str) -> None:
    """Agreement, macro F1 and consistency per self-taught iteration (0 = the seed judge)."""
    plt = _pyplot()
    iters = sorted(per_iter)
    fig, ax = plt.subplots(figsize=(5, 3.2))
    series = {"agreement" if "prf" in per_iter[iters[0]] else "score": [per_iter[i]["agreement"] for i in iters]}
    if all("prf" in per_iter[i] for i in iters):
        series["macro F1"] = [per_iter[i]["prf"]["macro"]["f1"] for i in iters]
    if all("swap" in per_iter[i] for i in iters):
        series["consistency"] = [per_iter[i]["swap"]["consistency"] for i in iters]
    for name, ys in series.items():
        ax.plot(iters, ys, marker="o", label=name)
    ax.set_xticks(iters)
    ax.set_xlabel("iteration (0 = seed judge)")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    _finish(plt, fig, ax, path, title)
