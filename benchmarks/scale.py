"""The loop's data stages at 10^3, 10^4 and 10^5 instructions: does the driver stay flat while the corpus grows?

    .venv/bin/python benchmarks/scale.py                          # 1000 10000 100000 rows, WildChat-like
    .venv/bin/python benchmarks/scale.py --sizes 1000 10000 --keep /tmp/scale

For each size a WildChat-like chat corpus (benchmarks/synthetic_corpus.py: 4 JSONL shards, with odd rows,
other languages and repeats) goes through every data stage of the loop, from Parquet folder to Parquet folder,
in a fresh process with its own local Ray cluster: corpus (layout, filters, `data.language=en`, dedup) ->
classify -> select (half of the instructions) -> pairs -> split and slots -> 2 judgments per training pair ->
rejection sampling. Measured per size: wall time and rows/s of each stage and of all, the driver's peak RSS
(getrusage) and the object store's peak use (polled every 0.2 s).
Goals: driver peak RSS within +100 MB from the smallest to the largest size; rows/s not falling with size.

The engine stages run on `benchmarks/instant_engine.py`, an engine that answers in microseconds: even the tiny
model would take hours for 10^5 instructions on 2 cores (3 generations per pair, N judgments), so this measures
the data plane — Ray Data, the actor pool, the files and the driver — not a model. Model throughput is
benchmarks/judge_throughput.py's.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))


def measure(corpus: str, out: str, rows: int) -> dict:
    """In a fresh process: every data stage over `corpus`, timed, with the driver's and the object store's peaks."""
    os.environ["PYTHONPATH"] = os.pathsep.join([str(HERE), str(HERE.parent), os.environ.get("PYTHONPATH", "")])
    import ray

    from judge_ray.config import load_config
    from judge_ray.distributed import loop_data
    from judge_ray.distributed.cluster import connect
    from judge_ray.pipeline import SelfTaughtRun

    per_category = max(1, rows // 12)  # 6 categories: about half of the instructions are selected
    cfg = load_config(None, ["model=tiny", "engine=instant_engine:InstantEngine", f"data.instructions={corpus}",
                             "data.language=en", "data.min_chars=5", "selection.max_candidates=null",
                             f"selection.per_category={per_category}", "selection.min_difficulty=0",
                             "judge.samples=2", "generation.eval_fraction=0.1", f"run.root={out}", "run.name=scale",
                             "ray.pool_size=2", "ray.actor_cpus=1", "ray.batch_size=512", "ray.block_rows=4096"])
    run = SelfTaughtRun(cfg)
    run.validate_inputs()
    run.run.prepare("scale", True)
    connect(num_cpus=4)
    total = ray.cluster_resources().get("object_store_memory", 0)
    peak = {"store": 0.0}
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            used = total - ray.available_resources().get("object_store_memory", total)
            peak["store"] = max(peak["store"], used)
            time.sleep(0.2)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    stages: dict[str, dict] = {}

    def timed(name: str, fn, rows_of):
        t = time.time()
        result = fn()
        stages[name] = {"s": time.time() - t, "rows": rows_of(result),
                        "driver_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
        return result

    started = time.time()
    corpus_stats = timed("corpus", run.read_corpus, lambda r: r["read"])
    selected = timed("classify + select", lambda: run.select(corpus_stats), lambda _: corpus_stats["kept"])
    placed = timed("pairs + split", lambda: run.make_pairs(sum(selected.values())), lambda r: sum(r.values()))
    d = run.run.iter_dir(1)
    judged = timed("judge", lambda: run.judge(cfg.model, d, 1), lambda n: n)
    timed("rejection", lambda: loop_data.reject(d / "judgments", d / "sft", 1, True, False), lambda _: judged)
    wall = time.time() - started
    done.set()
    poller.join()
    return {"read": corpus_stats["read"], "kept": corpus_stats["kept"], "selected": sum(selected.values()),
            "pairs": sum(placed.values()), "judgments": judged, "stages": stages, "wall_s": wall,
            "driver_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "driver_rss_at_start_mb": rss_before, "object_store_peak_mb": peak["store"] / 2**20}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--keep", help="write the corpora and outputs here (default: a temporary folder)")
    ap.add_argument("--child", nargs=3, metavar=("CORPUS", "OUT", "ROWS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print("RESULT " + json.dumps(measure(args.child[0], args.child[1], int(args.child[2]))), flush=True)
        return

    from synthetic_corpus import write_corpus

    root = Path(args.keep or tempfile.mkdtemp(prefix="judge_ray_scale."))
    results = {}
    for n in args.sizes:
        corpus = write_corpus(n, root / f"corpus_{n}")
        proc = subprocess.run([sys.executable, __file__, "--child", str(corpus / "*.jsonl"), str(root / f"out_{n}"),
                               str(n)], capture_output=True, text=True)
        line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
        if line is None:
            sys.exit(f"size {n} failed:\n{proc.stderr[-2000:]}")
        results[n] = r = json.loads(line[len("RESULT "):])
        print(f"[{n} rows] {r['wall_s']:.1f}s, {r['kept']} kept, driver peak {r['driver_peak_rss_mb']:.0f} MB "
              f"(at start {r['driver_rss_at_start_mb']:.0f}; after each stage: "
              + ", ".join(f"{k} {v['driver_peak_mb']:.0f}" for k, v in r["stages"].items()) + ")", flush=True)

    names = list(next(iter(results.values()))["stages"])
    print("\n| rows | kept | selected | pairs | judgments | " + " | ".join(f"{s} s (rows/s)" for s in names)
          + " | wall s | rows/s | driver peak RSS MB | object store peak MB |")
    print("|---" * (9 + len(names)) + "|")
    for n, r in results.items():
        cells = [f"{st['s']:.1f} ({st['rows'] / st['s']:.0f})" for st in r["stages"].values()]
        print(f"| {n} | {r['kept']} | {r['selected']} | {r['pairs']} | {r['judgments']} | " + " | ".join(cells)
              + f" | {r['wall_s']:.1f} | {n / r['wall_s']:.0f} | {r['driver_peak_rss_mb']:.0f} "
              f"| {r['object_store_peak_mb']:.0f} |")
    first, last = results[args.sizes[0]], results[args.sizes[-1]]
    growth = last["driver_peak_rss_mb"] - first["driver_peak_rss_mb"]
    rates = [n / results[n]["wall_s"] for n in args.sizes]
    print(f"\ndriver peak RSS growth {args.sizes[0]} -> {args.sizes[-1]} rows: {growth:+.0f} MB (goal <= +100 MB); "
          f"rows/s {' -> '.join(f'{x:.0f}' for x in rates)} (goal: not falling)")


if __name__ == "__main__":
    main()
