"""The corpus stage at 10^3, 10^4 and 10^5 instructions: does the driver stay flat while the corpus grows?

    .venv/bin/python benchmarks/scale.py                          # 1000 10000 100000 rows, WildChat-like
    .venv/bin/python benchmarks/scale.py --sizes 1000 10000 --keep /tmp/scale

For each size a WildChat-like chat corpus (benchmarks/synthetic_corpus.py: 4 JSONL shards, with odd rows,
other languages and repeats) is read through Ray Data into a run's corpus folder (layout, filters,
`data.language=en`, dedup, no cap), in a fresh process with its own local Ray cluster, and measured: wall time,
rows/s, the driver's peak RSS (getrusage), and the object store's peak use (polled every 0.2 s).
Goals: driver peak RSS within +100 MB from the smallest to the largest size; rows/s not falling with size.

What it does not cover yet: the engine stages (classify, pairs, judge) still gather their rows on the driver;
they are measured by benchmarks/judge_throughput.py.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def measure(corpus: str, out: str) -> dict:
    """In a fresh process: the corpus stage over `corpus`, with the driver's and the object store's peaks."""
    import ray

    from judge_ray.corpus.read import CorpusFilters, prepare_corpus
    from judge_ray.distributed.cluster import connect

    connect(num_cpus=2)
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
    started = time.time()
    stats = prepare_corpus(corpus, CorpusFilters(language="en", min_chars=5), Path(out), log=lambda _: None)
    wall = time.time() - started
    done.set()
    poller.join()
    return {"read": stats["read"], "kept": stats["kept"], "dropped": stats["dropped"], "wall_s": wall,
            "driver_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "driver_rss_at_start_mb": rss_before, "object_store_peak_mb": peak["store"] / 2**20}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--keep", help="write the corpora and outputs here (default: a temporary folder)")
    ap.add_argument("--child", nargs=2, metavar=("CORPUS", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print("RESULT " + json.dumps(measure(*args.child)), flush=True)
        return

    from synthetic_corpus import write_corpus

    root = Path(args.keep or tempfile.mkdtemp(prefix="judge_ray_scale."))
    results = {}
    for n in args.sizes:
        corpus = write_corpus(n, root / f"corpus_{n}")
        proc = subprocess.run([sys.executable, __file__, "--child", str(corpus / "*.jsonl"), str(root / f"out_{n}")],
                              capture_output=True, text=True)
        line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
        if line is None:
            sys.exit(f"size {n} failed:\n{proc.stderr[-2000:]}")
        results[n] = r = json.loads(line[len("RESULT "):])
        print(f"[{n} rows] {r['wall_s']:.1f}s, {r['kept']} kept, driver peak {r['driver_peak_rss_mb']:.0f} MB",
              flush=True)

    print("\n| rows | kept | wall s | rows/s | driver peak RSS MB | object store peak MB |")
    print("|---|---|---|---|---|---|")
    for n, r in results.items():
        print(f"| {n} | {r['kept']} | {r['wall_s']:.1f} | {n / r['wall_s']:.0f} | {r['driver_peak_rss_mb']:.0f} "
              f"| {r['object_store_peak_mb']:.0f} |")
    first, last = results[args.sizes[0]], results[args.sizes[-1]]
    growth = last["driver_peak_rss_mb"] - first["driver_peak_rss_mb"]
    rates = [n / results[n]["wall_s"] for n in args.sizes]
    print(f"\ndriver peak RSS growth {args.sizes[0]} -> {args.sizes[-1]} rows: {growth:+.0f} MB (goal <= +100 MB); "
          f"rows/s {' -> '.join(f'{x:.0f}' for x in rates)} (goal: not falling)")


if __name__ == "__main__":
    main()
