"""Where a judge's pick sits when it sees N answers at once: the bundled labelled pairs as N-answer items (the
pair's winner, its loser, and N - 2 answers written for other questions of the same category, so the label's
best is the winner), judged in every cyclic order of the answers. Prints, per N, the share of picks per slot
(1/N each for a judge without position bias), the consistency of the top answer across orders and top-1
accuracy, each with n and a 95% interval; writes the ranked sets, each evaluation's files and positions.png.

    .venv/bin/python benchmarks/n_answer_position_bias.py --model smollm2 --n 3 4 [--out /tmp/nbias] [key=value ...]

Extra key=value arguments go to the evaluation config (e.g. `judge.max_tokens=16`, `judge.format=judgelm`).
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

from judge_ray.cli import main_guard
from judge_ray.config import EvaluateConfig, load_config
from judge_ray.evaluation.benchmarks import read_benchmark
from judge_ray.evaluation.intervals import pct_with_interval
from judge_ray.evaluation.report import markdown_table
from judge_ray.evaluation.runner import run_evaluation
from judge_ray.labelled import bundled_labelled_path


def ranked_items(n: int, seed: int = 0) -> list[dict]:
    """One N-answer item per A/B-labelled bundled pair, its answers in a seeded order; `ranking` names the winner."""
    pairs = [i for i in read_benchmark(str(bundled_labelled_path())).items if i["label"] in ("A", "B")]
    rng = random.Random(f"n-answer-{n}-{seed}")
    rows = []
    for item in pairs:
        winner, loser = ((item["answer_a"], item["answer_b"]) if item["label"] == "A"
                         else (item["answer_b"], item["answer_a"]))
        others = [p for p in pairs if p["subset"] == item["subset"] and p["question"] != item["question"]]
        extra = [rng.choice((o["answer_a"], o["answer_b"])) for o in rng.sample(others, n - 2)]
        answers = [winner, loser, *extra]
        rng.shuffle(answers)
        rows.append({"id": item["id"], "question": item["question"], "answers": answers,
                     "ranking": [answers.index(winner) + 1], "subset": item["subset"]})
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--n", type=int, nargs="+", default=[3, 4])
    ap.add_argument("--out", default="/tmp/n_answer_position_bias")
    args, extra = ap.parse_known_args()
    return main_guard(lambda: run(args, extra))


def run(args, extra: list[str]) -> None:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows, started = [], time.time()
    for n in args.n:
        path = out / f"ranked_n{n}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in ranked_items(n)))
        cfg = load_config(None, [f"benchmark.path={path}", f"judge.model={args.model}", "judge.format=pairwise",
                                 "judge.mode=both", "judge.max_tokens=0", "engine=transformers",
                                 f"run.root={out}", f"run.name=n{n}", "run.overwrite=true", *extra], EvaluateConfig)
        m = json.loads((run_evaluation(cfg) / "metrics.json").read_text())
        pos = m["position"]["by_answers"][str(n)]
        rows.append([str(n), str(m["scored"]), str(pos["orders_read"]), f"{100 / n:.1f}%"]
                    + [pct_with_interval(x, ci) for x, ci in zip(pos["slot_shares"], pos["slot_shares_ci"])]
                    + ["-"] * (max(args.n) - n)
                    + [pct_with_interval(m["position"]["consistency"], m["position"]["consistency_ci"]),
                       pct_with_interval(m["top1_accuracy"], m["top1_accuracy_ci"])])
    header = (["N", "items", "orders read", "1/N"] + [f"slot {i + 1}" for i in range(max(args.n))]
              + ["top answer the same in every order", "top-1 accuracy (rotations averaged)"])
    print(f"\n{args.model}: where the pick sat over the N cyclic orders of each item\n")
    print(markdown_table(rows, header))
    print(f"\n[n-answer] {time.time() - started:.0f}s; files under {out}/n<N>/ (positions.png, summary.md)")


if __name__ == "__main__":
    sys.exit(main())
