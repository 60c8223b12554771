"""Can an answer talk the judge into a verdict? The attack suite (judge_ray/attacks.py: six families, variants
held out of training by default) on a labelled pair set, each judge read verdict-alone in both orders with the
prompt guarded and unguarded; attack success, mean shift and greedy flips per family with n and 95% intervals
(judge_ray/evaluation/attack_suite.py), written as trials.jsonl, report.json, report.md and attacks.png.

    .venv/bin/python benchmarks/judge_attacks.py --judge smollm2 --judge runs/default          # M_0 ... M_T of a run
    .venv/bin/python benchmarks/judge_attacks.py --judge plain=runs/a/iter_1/model --judge adv=runs/b/iter_1/model
    .venv/bin/python benchmarks/judge_attacks.py --url http://127.0.0.1:8000 --token $TOKEN   # a served judge
    options: --benchmark PATH [--layout auto] --families a,b | --variants x,y  --split eval|train|all
             --prompts guarded,unguarded --pairs N --seed 0 --out runs/attacks --engine transformers [key=value ...]
             --reuse: judges that --out already holds under the same label, weights and suite are read back, so
             adding a judge to a comparison judges only the new one

Extra key=value arguments go to the evaluation config (`vllm.max_model_len=1024`, `ray.actor_gpus=1`).
An unknown family or variant, or a pair set with no A/B labels, is one line and exit 2.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from judge_ray.cli import main_guard
from judge_ray.errors import UserError


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--judge", action="append", default=[], help="[label=]model or run directory (repeatable)")
    ap.add_argument("--url", help="a served judge's base URL instead of --judge")
    ap.add_argument("--token", default=os.environ.get("JUDGE_RAY_API_TOKEN"))
    ap.add_argument("--benchmark", default=None, help="labelled pairs (any benchmark layout); default: the bundled set")
    ap.add_argument("--layout", default="auto")
    ap.add_argument("--families", default="", help="comma-separated families (default: all)")
    ap.add_argument("--variants", default="", help="comma-separated variant names (instead of families)")
    ap.add_argument("--split", default="eval", choices=["eval", "train", "all"])
    ap.add_argument("--prompts", default="guarded,unguarded")
    ap.add_argument("--pairs", type=int, default=None, help="a seeded subset of the labelled pairs")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="runs/attacks")
    ap.add_argument("--engine", default="transformers")
    ap.add_argument("--reuse", action="store_true", help="read back judges --out already measured (same suite)")
    args, extra = ap.parse_known_args()
    started = time.time()

    def go() -> None:  # a UserError is one line and exit 2 (main_guard)
        text, out = run(args, extra)
        print(text)
        print(f"[attacks] {out}/report.md, attacks.png ({time.time() - started:.0f}s)")

    return main_guard(go)


def run(args, extra: list[str]) -> tuple[str, Path]:
    from judge_ray.attacks import variants
    from judge_ray.config import EvaluateConfig, load_config
    from judge_ray.evaluation.attack_suite import (PROMPTS, EngineJudge, HttpJudge, choose_pairs, judges_of,
                                                   model_fingerprint, previous_trials, run_suite, write_report)
    from judge_ray.evaluation.benchmarks import read_benchmark
    from judge_ray.labelled import bundled_labelled_path

    chosen = variants([f for f in args.families.split(",") if f], [v for v in args.variants.split(",") if v],
                      None if args.split == "all" else args.split)
    prompts = [p for p in args.prompts.split(",") if p]
    if any(p not in PROMPTS for p in prompts) or not prompts:
        raise UserError(f"--prompts takes {', '.join(PROMPTS)}")
    if bool(args.url) == bool(args.judge):
        raise UserError("give --judge (one or more) or --url, not both")
    source = args.benchmark or str(bundled_labelled_path())
    cfg = load_config(None, [f"benchmark.path={source}", "judge.model=tiny", *extra], EvaluateConfig)
    bench = read_benchmark(source, args.layout, seed=args.seed)
    pairs = choose_pairs(bench.items, source, args.pairs, args.seed)
    if args.url:
        judges = [(args.url, HttpJudge(args.url, args.token))]
        prompts = ["guarded"]  # the endpoint always guards its prompts
    else:
        judges = [(label, EngineJudge(model, args.engine, cfg, args.seed)) for label, model in judges_of(args.judge)]
    settings = {"benchmark": source, "layout": bench.layout, "pairs": len(pairs), "seed": args.seed,
                "split": args.split, "variants": [v.name for v in chosen], "prompts": prompts,
                "judges": [label for label, _ in judges],
                "models": {label: args.url if args.url else model_fingerprint(judge.path) for label, judge in judges}}
    out = Path(args.out)
    done = previous_trials(out, settings) if args.reuse else {}
    report, rows, truncated = run_suite(judges, pairs, chosen, prompts, args.seed, done)
    return write_report(out, report, rows, truncated, settings), out


if __name__ == "__main__":
    sys.exit(main())
