"""How good is each judge of a self-taught run: M_0 … M_T evaluated in both orders on the bundled labelled
set and on the run's own held-out pairs, through the evaluation harness (the same requests, scoring and files
as `jobs/evaluate.py`), reduced to the figures that say whether the loop made a better judge — agreement,
consistency under swap and first/second-slot bias, each with its n and 95% interval — and one plot.

Scored with tie-labelled examples excluded and a predicted tie counted wrong (`policy.ties=exclude`,
`predicted_ties=miss`): a pairwise judge cannot say "tie", and an unbiased coin then agrees 25% of the time in
both orders and is consistent 50% of the time — the levels a trained judge has to beat.
"""
from __future__ import annotations

import logging
import json
from pathlib import Path
from typing import Optional

from judge_ray.errors import InputError
from judge_ray.evaluation.intervals import pct_with_interval
from judge_ray.evaluation.report import markdown_table
from judge_ray.labelled import bundled_labelled_path
from judge_ray.storage import location, save_figure
from judge_ray.rundir import is_self_taught_run, read_parquet, write_text
from judge_ray.stages.pairs import benchmark_row

logger = logging.getLogger(__name__)

QUALITY_HEADER = ["benchmark", "judge", "n", "agreement [95% CI]", "consistency [95% CI]", "bias 1st [95% CI]",
                  "bias 2nd [95% CI]", "position-free agreement [95% CI]", "1st-slot prior / margin"]
COIN = {"agreement": 0.25, "consistency": 0.5, "position_free_agreement": 0.5}  # a coin, both orders, no ties


def heldout_benchmark_rows(pairs: list[dict]) -> list[dict]:
    """The run's held-out pairs (split "eval") in the `pairs` benchmark layout, winner where the pair put it."""
    return [benchmark_row(p) for p in pairs if p.get("split") == "eval"]


def quality_rows(benchmark: str, per_iter: dict[int, dict]) -> list[list[str]]:
    rows = []
    for i in sorted(per_iter):
        m, swap = per_iter[i], per_iter[i].get("swap", {})
        rows.append([benchmark, f"M_{i}" + (" (seed)" if i == 0 else ""), str(m["scored"]),
                     pct_with_interval(m["agreement"], m.get("agreement_ci")),
                     pct_with_interval(swap.get("consistency"), swap.get("consistency_ci")),
                     pct_with_interval(swap.get("bias_first"), swap.get("bias_first_ci")),
                     pct_with_interval(swap.get("bias_second"), swap.get("bias_second_ci")),
                     pct_with_interval(swap.get("position_free_agreement"), swap.get("position_free_agreement_ci")),
                     _prior_and_margin(swap)])
    return rows


def _prior_and_margin(swap: dict) -> str:
    """Mean first-slot prior (signed) and mean content margin (unsigned), log-odds: a greedy verdict is consistent
    only where the margin outweighs the prior."""
    if swap.get("first_slot_prior") is None:
        return "-"
    return f"{swap['first_slot_prior']:+.2f} / {swap['content_margin']:.2f}"


def plot_quality(results: dict[str, dict[int, dict]], path: Path, title: str) -> None:
    """Agreement, consistency and first-slot bias per iteration, one panel per benchmark, 95% intervals as
    error bars and the coin's levels as dotted lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 3.4), squeeze=False)
    for ax, (name, per_iter) in zip(axes[0], results.items()):
        iters = sorted(per_iter)
        for key, label, color in (("agreement", "agreement", "C0"), ("consistency", "consistency", "C1"),
                                  ("bias_first", "bias to 1st slot", "C3"),
                                  ("position_free_agreement", "position-free agreement", "C2")):
            values, lows, highs = [], [], []
            for i in iters:
                m = per_iter[i] if key == "agreement" else per_iter[i].get("swap", {})
                v, ci = m.get(key), m.get(f"{key}_ci")
                values.append(v if v is not None else float("nan"))
                lows.append(v - ci["low"] if ci and v is not None else 0)
                highs.append(ci["high"] - v if ci and v is not None else 0)
            ax.errorbar(iters, values, yerr=[lows, highs], marker="o", capsize=3, label=label, color=color)
            if key in COIN:
                ax.axhline(COIN[key], color=color, linestyle=":", linewidth=1)
        ax.set_xticks(iters)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("iteration (0 = seed judge)")
        ax.set_title(f"{name} (n={per_iter[iters[-1]]['scored']})", fontsize=9)
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def judge_quality(run_dir: str | Path, engine: str = "transformers", max_tokens: int = 0,
                  extra: Optional[list[str]] = None) -> tuple[str, Path]:
    """Evaluate every judge of `run_dir` on the bundled set and its held-out pairs; write and return the
    Markdown table and the plot (under <run>/quality/). `max_tokens` = reasoning before the verdict (0: the
    verdict alone, as the loop's CPU evaluation reads it)."""
    from judge_ray.config import EvaluateConfig, load_config
    from judge_ray.distributed.data_stages import LocalEngines
    from judge_ray.evaluation.runner import Evaluation
    from judge_ray.logs import quiet

    run = location(run_dir)
    if not is_self_taught_run(run):
        raise InputError(f"{run}: not a self-taught run directory (no config.yaml and iter_1/)")
    out = run / "quality"
    benchmarks = {"bundled": bundled_labelled_path()}
    pairs_dir = run / "iter_1" / "pairs"  # a Parquet folder (the loop's stages write folders)
    heldout = heldout_benchmark_rows(read_parquet(pairs_dir)) if pairs_dir.is_dir() else []
    if heldout:
        benchmarks["heldout"] = out / "heldout_pairs.jsonl"
        write_text(benchmarks["heldout"], "".join(json.dumps(r) + "\n" for r in heldout))
    results: dict[str, dict[int, dict]] = {}
    for name, path in benchmarks.items():
        cfg = load_config(None, [f"benchmark.path={path}", f"judge.model={run}", "judge.mode=both",
                                 "judge.format=pairwise", f"judge.max_tokens={max_tokens}", f"engine={engine}",
                                 "policy.ties=exclude", "policy.predicted_ties=miss", f"run.root={out}",
                                 f"run.name={name}", "run.overwrite=true", *(extra or [])], EvaluateConfig)
        logger.info(f"[quality] {name}: {path}")
        with quiet("judge_ray.evaluation", "judge_ray.distributed", "judge_ray.progress"):
            Evaluation(cfg).execute()
        per_iter = json.loads((out / name / "metrics.json").read_text())
        results[name] = {int(k.split("_")[1]): v for k, v in per_iter.items()}
    LocalEngines.release()
    table = markdown_table([row for name, per_iter in results.items() for row in quality_rows(name, per_iter)],
                           QUALITY_HEADER)
    plot = out / "quality.png"
    plot_quality(results, plot, f"{run.name}: judges in both orders (ties excluded; dotted: an unbiased coin)")
    text = (f"# How good is each judge of `{run.name}`\n\nBoth orders, greedy, {max_tokens} reasoning tokens, "
            "tie-labelled examples excluded, a predicted tie counted wrong; n = examples, intervals 95% Wilson "
            "(bias: n = inconsistent examples). An unbiased coin: 25% agreement, 50% consistency. Position-free "
            "agreement: the label against the judge's preference with its position prior cancelled (mean log-odds "
            "of slot A shown A-B minus shown B-A); a coin: 50%. 1st-slot prior / margin: the mean of half the sum of "
            "both orders' log-odds for slot A (> 0: the first slot) and of half their difference's size; a pair's "
            "greedy verdicts agree exactly when its margin outweighs its prior.\n\n"
            f"{table}\n\n![quality]({plot.name})\n")
    write_text(out / "summary.md", text)
    return text, plot
