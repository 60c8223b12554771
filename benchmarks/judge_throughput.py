"""Pairs judged per second: the Ray Data engine pool against a plain one-prompt-at-a-time loop, same prompts,
same model, same greedy sampling; for each engine.

    .venv/bin/python benchmarks/judge_throughput.py --model smollm2 --pairs 32
    python benchmarks/judge_throughput.py --model /models/judgelm-7b --engines vllm --pairs 512 \
        --pool-size 1 --actor-gpus 1 --max-tokens 128          # a 7B judge on a GPU node

The loop's time excludes model load (measured and printed apart). Each rate is also given as model FLOP/s
(2 x parameters x tokens processed, prompt + generated) over this machine's matmul peak, measured in the same
run (fp32 GEMM on as many threads as an engine actor has): how much of the hardware the judge really uses.
The pool is timed end to end (actor start included: what a job really pays) and in steady state: the end-to-end
time minus that of the same pool on a single pair (actor start + engine load + one call), so `pool / loop`
compares judging work with judging work.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from judge_ray.engines.base import EngineOptions, SamplingParams  # noqa: E402
from judge_ray.formats.judgelm import judgelm_prompt  # noqa: E402

QUESTIONS = [("What is {n} + {n}?", "{m}", "{n}"), ("Name a word that rhymes with cat (#{n}).", "hat", "dog"),
             ("Is {n} even?", "It depends on {n} mod 2.", "Yes."),
             ("Translate 'water' into French ({n}).", "eau", "wasser")]


def make_requests(pairs: int, max_tokens: int) -> list[dict]:
    rows = []
    for i in range(pairs):
        q, a, b = (t.format(n=i, m=2 * i) for t in QUESTIONS[i % len(QUESTIONS)])
        rows.append({"item_id": str(i), "order": "AB", "sample": 0, "seed": i, "prompt": judgelm_prompt(q, a, b),
                     "max_tokens": max_tokens, "temperature": 0.0, "top_p": 1.0})
    return rows


def matmul_peak(threads: int, n: int = 1024, seconds: float = 2.0) -> float:
    """FLOP/s of a square fp32 matmul on `threads` threads: the most this machine's cores do for a model."""
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b  # warm-up
    count, t0 = 0, time.time()
    while time.time() - t0 < seconds:
        a @ b
        count += 1
    return 2 * n**3 * count / (time.time() - t0)


def model_flops_per_pair(path: str, rows: list[dict], outputs: list[str]) -> tuple[int, float]:
    """(parameters, mean model FLOPs per pair = 2 x parameters x (prompt + generated tokens))."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from judge_ray.formats.chat import render_chat

    tok = AutoTokenizer.from_pretrained(path)
    params = sum(p.numel() for p in AutoModelForCausalLM.from_pretrained(path).parameters())
    tokens = [len(tok.encode(render_chat(tok, r["prompt"]), add_special_tokens=False)) +
              len(tok.encode(o, add_special_tokens=False)) for r, o in zip(rows, outputs)]
    return params, 2 * params * sum(tokens) / len(tokens)


def plain_loop(kind: str, path: str, rows: list[dict], options: EngineOptions) -> tuple[float, float, list[str]]:
    from judge_ray.engines.factory import make_engine

    t0 = time.time()
    engine = make_engine(kind, path, options)
    load = time.time() - t0
    engine.generate([engine.chat(rows[0]["prompt"])], SamplingParams(max_tokens=4))  # warm-up
    outputs, t0 = [], time.time()
    for r in rows:
        params = SamplingParams(max_tokens=r["max_tokens"], temperature=0.0, seed=r["seed"])
        outputs.append(engine.generate([engine.chat(r["prompt"])], params)[0])
    wall = time.time() - t0
    engine.close()
    return load, wall, outputs


def pool(kind: str, path: str, rows: list[dict], options: EngineOptions, args) -> tuple[float, list[str]]:
    from judge_ray.distributed.data_stages import run_stage

    t0 = time.time()
    out = run_stage(rows, "generate", model=path, engine=kind, engine_options=options, stage_kwargs={},
                    pool_size=args.pool_size, batch_size=args.batch_size, actor_cpus=args.actor_cpus,
                    actor_gpus=args.actor_gpus)
    return time.time() - t0, [r["output"] for r in out]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2", help="tiny | smollm2 | a HF directory | a Hugging Face id")
    ap.add_argument("--engines", default="transformers,vllm")
    ap.add_argument("--pairs", type=int, default=32)
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--pool-size", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--actor-cpus", type=float, default=2.0)
    ap.add_argument("--actor-gpus", type=float, default=0.0)
    ap.add_argument("--dtype", default="auto", help="vLLM dtype (auto; float32 on CPU is faster here)")
    args = ap.parse_args()

    import torch

    from judge_ray.distributed.cluster import connect
    from judge_ray.engines.factory import vllm_available
    from judge_ray.models import resolve_model

    path = resolve_model(args.model)
    rows = make_requests(args.pairs, args.max_tokens)
    torch.set_num_threads(max(1, int(args.actor_cpus)))
    peak = matmul_peak(max(1, int(args.actor_cpus)))
    connect()
    results = []
    for kind in [k.strip() for k in args.engines.split(",") if k.strip()]:
        if kind == "vllm" and not vllm_available():
            print("[skip] vllm: not installed or cannot run here")
            continue
        options = EngineOptions(dtype=args.dtype, max_model_len=2048, batch_size=args.batch_size, seed=0)
        load, loop_wall, loop_out = plain_loop(kind, path, rows, options)
        start_wall, _ = pool(kind, path, rows[:1], options, args)
        pool_wall, pool_out = pool(kind, path, rows, options, args)
        same = sum(a == b for a, b in zip(loop_out, pool_out))
        loop_rate, e2e_rate = len(rows) / loop_wall, len(rows) / pool_wall
        steady_rate = (len(rows) - 1) / max(1e-6, pool_wall - start_wall)
        params, flops_per_pair = model_flops_per_pair(path, rows, pool_out)
        results.append((kind, load, loop_rate, e2e_rate, steady_rate, same, flops_per_pair))
        print(f"[{kind}] engine load {load:.1f}s; loop {loop_wall:.1f}s; pool {pool_wall:.1f}s end to end, "
              f"{start_wall:.1f}s of it start-up (1-pair pool); identical outputs {same}/{len(rows)}", flush=True)
    print(f"\nmodel {args.model}, {args.pairs} pairs, {args.max_tokens} max tokens, pool {args.pool_size} actor(s) x "
          f"batch {args.batch_size}; matmul peak {peak / 1e9:.1f} GFLOP/s on {max(1, int(args.actor_cpus))} "
          f"thread(s)\n")
    print("| engine | load s | loop pairs/s | pool pairs/s (end to end) | pool pairs/s (steady) | steady pool / loop "
          "| end-to-end pool / loop | identical outputs | model GFLOP/s (steady) | of matmul peak |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for kind, load, lr, er, sr, same, fpp in results:
        print(f"| {kind} | {load:.1f} | {lr:.3f} | {er:.3f} | {sr:.3f} | {sr / lr:.2f}x | {er / lr:.2f}x "
              f"| {same}/{args.pairs} | {sr * fpp / 1e9:.2f} | {100 * sr * fpp / peak:.1f}% |")


if __name__ == "__main__":
    main()
