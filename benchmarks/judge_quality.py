"""How good is each judge of a self-taught run: M_0 … M_T in both orders on the bundled labelled set and the
run's held-out pairs, with n and 95% intervals for agreement, consistency and first/second-slot bias, and a
plot across iterations (<run>/quality/quality.png). Uses the evaluation harness (judge_ray/evaluation/).

    .venv/bin/python benchmarks/judge_quality.py runs/quality [--max-tokens 0] [--engine transformers] [key=value ...]

Extra key=value arguments go to the evaluation config (e.g. `ray.actor_cpus=1`).
"""
from __future__ import annotations

import argparse
import sys
import time

from judge_ray.errors import UserError
from judge_ray.evaluation.quality import judge_quality
from judge_ray.logs import configure


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir")
    ap.add_argument("--max-tokens", type=int, default=0, help="reasoning tokens before the verdict (0: verdict alone)")
    ap.add_argument("--engine", default="transformers")
    args, extra = ap.parse_known_args()
    configure()
    started = time.time()
    try:
        text, plot = judge_quality(args.run_dir, args.engine, args.max_tokens, extra)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(text)
    print(f"[quality] plot: {plot} ({time.time() - started:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
