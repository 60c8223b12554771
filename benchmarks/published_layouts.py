"""Evaluate one judge on every published-layout fixture (tests/fixtures/benchmarks/published/), in both
orders, through the evaluation harness; print one table with each layout's row and its skipped rows.

    .venv/bin/python benchmarks/published_layouts.py --model smollm2 [--format pairwise] [--max-tokens 64]

Why: the fixtures carry each benchmark's published quirks (empty answers, non-string values, an empty
instruction, repeated ids, labels outside the set); this shows that a real judge gets through all of them in
one go and what it scores. One process, one Ray cluster, one Evaluation per file.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from judge_ray.config import EvaluateConfig, load_config
from judge_ray.evaluation.report import HEADER, markdown_table, metrics_row
from judge_ray.evaluation.runner import Evaluation

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "benchmarks" / "published"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--out", default="/tmp/judge_ray_published")
    ap.add_argument("--dir", default=str(FIXTURES))
    ap.add_argument("--engine", default="transformers")
    ap.add_argument("--format", default="pairwise", help="pairwise (constrained verdict) | judgelm | auto")
    ap.add_argument("--max-tokens", type=int, default=64, help="reasoning tokens before the verdict")
    args = ap.parse_args()
    rows, started = [], time.time()
    for path in sorted(Path(args.dir).iterdir()):
        cfg: EvaluateConfig = load_config(None, [f"benchmark.path={path}", f"judge.model={args.model}",
                                                 "judge.mode=both", f"engine={args.engine}", f"run.root={args.out}",
                                                 f"judge.format={args.format}", f"judge.max_tokens={args.max_tokens}",
                                                 f"run.name={path.stem}", "run.overwrite=true"], EvaluateConfig)
        ev = Evaluation(cfg)
        out = ev.execute()
        m = json.loads((out / "metrics.json").read_text())
        row = metrics_row(f"{path.name} ({m['benchmark']['layout']})", m)
        rows.append(row + [str(m["skipped_rows"])])
        print(f"[published] {path.name}: {m['scored']} scored, {m['skipped_rows']} skipped "
              f"({time.time() - started:.0f}s)", flush=True)
    print(f"\njudge {args.model}, format {args.format}, both orders, greedy, {args.max_tokens} reasoning tokens; "
          f"intervals are 95% Wilson; {time.time() - started:.0f}s\n")
    print(markdown_table(rows, ["file (layout)"] + HEADER[1:] + ["skipped rows"]))


if __name__ == "__main__":
    main()
