"""What each ZeRO stage holds per worker, and the largest judge this machine trains at stage 0 and at stage 3.

    .venv/bin/python benchmarks/zero_memory.py                     # SmolLM2-135M and a 253M Llama, stages 0/2/3,
                                                                   # then the largest size for stage 0 and stage 3
    .venv/bin/python benchmarks/zero_memory.py --sizes smollm2 --no-bisect
    .venv/bin/python benchmarks/zero_memory.py --reuse /tmp/zero_memory/zero_memory.json   # the search again
    .venv/bin/python benchmarks/zero_memory.py --gpu-table         # what ZeRO-3 buys at 1.7B on 4 GPUs (no training)

Every probe is the product's own training (`judge_ray.training.zero3.train_sft`: Ray Train, 2 workers, DeepSpeed,
the DeepSpeed config derived from the model) on 8 short examples: 2 optimizer steps, then the export to a HF
directory. Each worker reports (`MemoryProbe`): the parameter, gradient and optimizer-state bytes it holds, read
from DeepSpeed's partitioned tensors (`zero_memory.held_bytes`) at the last backward, when all three are alive;
its peak RSS (VmHWM) through load, steps and export; each step's time. The expected bytes beside them are
`zero_memory.expected_bytes`, the accounting conf/self_taught_gpu.yaml's figures come from.

Sizes: `smollm2` (the real 135M weights), `tiny`, or `llama:<hidden>x<layers>`: a Llama built from its config
with random weights in the workers (no file of weights), SmolLM2's tokenizer and vocabulary, tied embeddings.

The bisection (stage 0, then 3) walks Llama configs of fixed depth and growing width. Before a size is tried, its
need on the whole machine is estimated (expected bytes + a per-worker base measured on the first probe + the
optimizer's temporaries + the export shard + what the machine already uses); sizes over `--budget-gb` are not
tried. Each probe runs in its own process with its own Ray cluster whose memory monitor stops a worker at the
budget (RAY_memory_usage_threshold), so an underestimate ends as a reported out-of-memory, not the kernel's OOM
killer. Output: <out>/zero_memory.json and <out>/zero_memory.md (the tables printed).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from judge_ray.training.export import SHARD_BYTES  # noqa: E402
from judge_ray.training.zero_memory import ModelShape, expected_bytes  # noqa: E402

GB = 1e9
WORKERS = 2
HELD = ("params", "grads", "optimizer")
# SmolLM2-1.7B's architecture (HuggingFaceTB/SmolLM2-1.7B-Instruct config.json), built on the meta device.
SMOLLM2_17B = {"vocab_size": 49152, "hidden_size": 2048, "intermediate_size": 8192, "num_hidden_layers": 24,
               "num_attention_heads": 32, "num_key_value_heads": 32, "tie_word_embeddings": True}


def llama_config(hidden: int, layers: int, vocab: int):
    """A Llama of this width and depth, shaped like SmolLM2 (MLP 8/3 x wider, heads of 64, tied embeddings)."""
    from transformers import LlamaConfig

    heads = max(1, hidden // 64)
    return LlamaConfig(vocab_size=vocab, hidden_size=hidden, intermediate_size=64 * math.ceil(hidden * 8 / 3 / 64),
                       num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
                       max_position_embeddings=2048, tie_word_embeddings=True)


def make_model_dir(size: str, tokenizer_model: str, root: Path) -> tuple[str, bool]:
    """(a model directory or preset, whether the workers build it from config) for a size name."""
    from transformers import AutoTokenizer

    from judge_ray.models import resolve_model

    if not size.startswith("llama:"):
        return size, False
    hidden, layers = (int(x) for x in size.split(":", 1)[1].split("x"))
    out = root / "models" / size.replace(":", "_")
    if not (out / "config.json").exists():
        tokenizer = AutoTokenizer.from_pretrained(resolve_model(tokenizer_model))
        config = llama_config(hidden, layers, len(tokenizer))
        for key in ("bos_token_id", "eos_token_id", "pad_token_id"):
            setattr(config, key, getattr(tokenizer, key))
        out.mkdir(parents=True, exist_ok=True)
        tokenizer.save_pretrained(out)
        config.save_pretrained(out)
    return str(out), True


def shape_of(size: str, tokenizer_model: str, root: Path) -> ModelShape:
    from transformers import AutoConfig

    from judge_ray.models import resolve_model
    from judge_ray.training.zero_memory import model_shape

    model, _ = make_model_dir(size, tokenizer_model, root)
    return model_shape(AutoConfig.from_pretrained(resolve_model(model)))


def examples() -> list[dict]:
    """8 short SFT rows: 2 workers x 2 per batch x 2 steps."""
    return [{"prompt": f"Question {i}: which answer is better, and why? Answer A says {i}, answer B says {i + 1}.",
             "response": f"[[{'AB'[i % 2]}]] because it is correct and complete."} for i in range(8)]


def probe(size: str, stage: int, tokenizer_model: str, root: Path) -> dict:
    """Train one size at one stage (2 steps, export) in this process's Ray cluster; the workers' figures."""
    from judge_ray.config import TrainConfig
    from judge_ray.distributed.cluster import connect
    from judge_ray.training.zero3 import train_sft

    model, from_config = make_model_dir(size, tokenizer_model, root)
    name = f"{size.replace(':', '_')}-z{stage}"
    probe_dir, work = root / "probes" / name, root / "work" / name
    for d in (probe_dir, work):
        shutil.rmtree(d, ignore_errors=True)
    cfg = TrainConfig(workers=WORKERS, zero_stage=stage, epochs=1, batch_size_per_worker=2, max_length=128,
                      max_failures=0)
    connect(num_cpus=4)
    started = time.time()
    try:
        train_sft(examples(), model=model, cfg=cfg, export_dir=work / "model", storage_dir=work / "checkpoints",
                  seed=0, run_name=name, probe_dir=probe_dir, from_config=from_config)
        status = "ok"
    except Exception as e:  # noqa: BLE001 (a size that does not fit is a result, not a crash)
        text = f"{type(e).__name__}: {e}"
        status = ("out of memory (Ray's memory monitor stopped a worker)" if "memory" in text.lower()
                  else "failed: " + text.splitlines()[0][:200])
    ranks = [json.loads(p.read_text()) for p in sorted(probe_dir.glob("rank*.json"))] if status == "ok" else []
    exported = status == "ok" and (work / "model" / "config.json").is_file()
    shutil.rmtree(work, ignore_errors=True)  # an export of a billion fp32 parameters is 4 GB of disk
    return {"size": size, "stage": stage, "status": status if exported or status != "ok" else "no export",
            "wall_s": round(time.time() - started, 1), "ranks": ranks}


def probe_in_subprocess(size: str, stage: int, tokenizer_model: str, root: Path, budget: float) -> dict:
    """A probe in a fresh process whose own Ray cluster's memory monitor stops a worker at the budget."""
    total = _meminfo()["MemTotal"]
    env = {**os.environ, "RAY_memory_usage_threshold": f"{min(0.95, budget / total):.3f}",
           "RAY_memory_monitor_refresh_ms": "100"}
    env.pop("RAY_ADDRESS", None)
    out = root / "probes" / f"{size.replace(':', '_')}-z{stage}.result.json"
    proc = subprocess.run([sys.executable, __file__, "--probe", size, str(stage), "--tokenizer", tokenizer_model,
                           "--out", str(root), "--result", str(out)], env=env, capture_output=True, text=True)
    out.with_suffix(".log").write_text(proc.stdout + proc.stderr)  # the probe's own output, to read after
    if proc.returncode != 0 or not out.exists():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        killed = proc.returncode in (-9, 137)
        return {"size": size, "stage": stage, "ranks": [], "wall_s": None,
                "status": "out of memory (killed)" if killed else f"failed: {tail[0][:200]}"}
    return json.loads(out.read_text())


def _meminfo() -> dict[str, float]:
    with open("/proc/meminfo") as f:
        return {k: int(v.split()[0]) * 1024 for k, v in (line.split(":", 1) for line in f)}


def machine_used() -> float:
    info = _meminfo()
    return info["MemTotal"] - info["MemAvailable"]


def summarize(result: dict, shape: ModelShape) -> dict:
    """Per-worker maxima of a probe's figures beside the expected bytes."""
    ranks = result["ranks"]
    row = {"size": result["size"], "stage": result["stage"], "params_m": round(shape.params / 1e6, 1),
           "status": result["status"], "wall_s": result["wall_s"]}
    expected = expected_bytes(shape.params, result["stage"], WORKERS)
    row["expected"] = expected
    if ranks:
        row["held"] = {k: max(r["held"].get(k, 0) for r in ranks) for k in (*HELD, "comm_buffers")}
        row["held_total"] = sum(row["held"][k] for k in HELD)
        row["peak_rss"] = [r["peak_rss"] for r in ranks]
        row["base"] = max(r["peak_rss"] - sum(r["held"].get(k, 0) for k in HELD) for r in ranks)
        steps = [s for r in ranks for s in r["step_s"]]
        row["step_s"] = round(sum(steps) / len(steps), 2) if steps else None
        row["export_s"] = round(max(r.get("export_s", 0) for r in ranks), 1)
    return row


def estimate(shape: ModelShape, stage: int, base: float) -> float:
    """Bytes the whole machine needs for a probe: per worker its held bytes, a base (interpreter, libraries,
    activations; measured) and AdamW's temporaries (two tensors of the largest group it steps at once), plus
    rank 0's export shard."""
    from judge_ray.training.deepspeed_config import zero_sizes

    held = sum(expected_bytes(shape.params, stage, WORKERS).values())
    group = {0: shape.largest_param, 3: zero_sizes(shape, WORKERS, 3).get("sub_group_size", shape.params)}.get(
        stage, math.ceil(shape.params / WORKERS))
    return WORKERS * (held + base + 8 * group) + SHARD_BYTES


def largest(stage: int, widths: list[int], layers: int, args, base: float, log) -> dict:
    """The widest Llama (fixed depth) that trains two steps and exports within the budget.

    Only sizes whose estimated need fits the budget are tried. After a success the next try is the widest size
    still under the estimate, with the base re-measured on that probe (a conservative base only delays the
    climb); after a failure, the middle of the remaining range (bisection)."""
    shapes = {w: shape_of(f"llama:{w}x{layers}", args.tokenizer, args.out) for w in widths}
    floor = machine_used()

    def need(w: int) -> float:
        return estimate(shapes[w], stage, base) + floor

    tried: list[dict] = []
    lo, hi, best, failed = -1, len(widths), None, False  # widths[lo] trained; widths[hi] failed (or none did)
    while True:
        under = [i for i in range(lo + 1, hi) if need(widths[i]) <= args.budget_gb * GB]
        if not under:
            break
        i = under[len(under) // 2] if failed else under[-1]
        size = f"llama:{widths[i]}x{layers}"
        estimated = need(widths[i])
        log(f"  stage {stage}: {size} ({shapes[widths[i]].params / 1e6:.0f}M params, estimated "
            f"{estimated / GB:.1f} GB) ...")
        result = run_probe(size, stage, args)
        row = summarize(result, shapes[widths[i]])
        row["estimated_gb"] = round(estimated / GB, 1)
        tried.append(row)
        log(f"    {row['status']}" + (f", peak RSS {max(row['peak_rss']) / GB:.2f} GB per worker" if "peak_rss" in row
                                     else ""))
        if result["status"] == "ok":
            lo, best, failed = i, row, False
            base = row["base"]
        else:
            hi, failed = i, True
    over = next((w for w in widths[lo + 1:hi] if need(w) > args.budget_gb * GB), None)
    return {"stage": stage, "largest": best, "tried": tried, "first_over_budget": over and {
        "size": f"llama:{over}x{layers}", "params_m": round(shapes[over].params / 1e6, 1),
        "estimated_gb": round(need(over) / GB, 1)}}


def run_probe(size: str, stage: int, args) -> dict:
    if args.in_process:
        return probe(size, stage, args.tokenizer, args.out)
    return probe_in_subprocess(size, stage, args.tokenizer, args.out, args.budget_gb * GB)


def gpu_table(workers: int = 4, precision: str = "bf16") -> list[dict]:
    """Per-GPU bytes of SmolLM2-1.7B at each stage: the same accounting as the probes, in bf16."""
    from transformers import LlamaConfig

    from judge_ray.training.zero_memory import model_shape

    shape = model_shape(LlamaConfig(**SMOLLM2_17B))
    rows = []
    for stage in (0, 1, 2, 3):
        b = expected_bytes(shape.params, stage, workers, precision)
        rows.append({"stage": stage, "params_b": round(shape.params / 1e9, 3), **{k: round(v / GB, 2) for k, v in
                                                                                  b.items()},
                     "total_gb": round(sum(b.values()) / GB, 2)})
    return rows


def _mb(x: float) -> str:
    return f"{x / 1e6:,.0f}"


def report(rows: list[dict], searches: list[dict]) -> str:
    lines = ["| size | params | stage | status | params MB | grads MB | optimizer MB | total MB (expected) "
             "| x stage 0 | comm buffers MB | peak RSS GB (rank 0 / 1) | step s | export s |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    zero = {r["size"]: r for r in rows if r["stage"] == 0 and "held" in r}
    for r in rows:
        if "held" not in r:
            lines.append(f"| {r['size']} | {r['params_m']}M | {r['stage']} | {r['status']} |" + " - |" * 9)
            continue
        h, e = r["held"], r["expected"]
        ratio = (f"{r['held_total'] / zero[r['size']]['held_total']:.3f}" if r["size"] in zero else "-")
        rss = " / ".join(f"{x / GB:.2f}" for x in r["peak_rss"])
        lines.append(f"| {r['size']} | {r['params_m']}M | {r['stage']} | {r['status']} | {_mb(h['params'])} | "
                     f"{_mb(h['grads'])} | {_mb(h['optimizer'])} | {_mb(r['held_total'])} ({_mb(sum(e.values()))}) | "
                     f"{ratio} | {_mb(h['comm_buffers'])} | {rss} | {r['step_s']} | {r['export_s']} |")
    for s in searches:
        lines += ["", f"Largest at stage {s['stage']}:"]
        for t in s["tried"]:
            rss = f", peak RSS {' / '.join(f'{x / GB:.2f}' for x in t['peak_rss'])} GB" if "peak_rss" in t else ""
            lines.append(f"- {t['size']} ({t['params_m']}M, estimated {t['estimated_gb']} GB): {t['status']}{rss}")
        if s.get("first_over_budget"):
            o = s["first_over_budget"]
            lines.append(f"- {o['size']} ({o['params_m']}M): not tried, estimated {o['estimated_gb']} GB")
    return "\n".join(lines) + "\n"


def goals(rows: list[dict], searches: list[dict]) -> list[str]:
    out = []
    zero = {r["size"]: r for r in rows if r["stage"] == 0 and "held" in r}
    for r in rows:
        if r["stage"] == 3 and "held" in r and r["size"] in zero:
            ratio = r["held_total"] / zero[r["size"]]["held_total"]
            out.append(f"{r['size']}: ZeRO-3 holds {ratio:.3f}x stage 0's parameter+gradient+optimizer bytes per "
                       f"worker (goal <= 0.55): {'met' if ratio <= 0.55 else 'NOT met'}")
            rss3, rss0 = max(r["peak_rss"]), max(zero[r["size"]]["peak_rss"])
            out.append(f"{r['size']}: peak RSS per worker ZeRO-3 {rss3 / GB:.2f} GB vs stage 0 {rss0 / GB:.2f} GB "
                       f"(goal: no higher): {'met' if rss3 <= rss0 else 'NOT met'}")
    best = {s["stage"]: s["largest"] for s in searches}
    if best.get(0) and best.get(3):
        ratio = best[3]["params_m"] / best[0]["params_m"]
        out.append(f"largest trained: stage 0 {best[0]['size']} ({best[0]['params_m']}M), stage 3 {best[3]['size']} "
                   f"({best[3]['params_m']}M): {ratio:.2f}x (goal >= 1.8): {'met' if ratio >= 1.8 else 'NOT met'}")
    return out


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="smollm2,llama:1024x16", help="comma-separated sizes")
    p.add_argument("--stages", default="0,2,3")
    p.add_argument("--no-bisect", action="store_true", help="skip the search for the largest size")
    p.add_argument("--layers", type=int, default=16, help="depth of the bisection's Llama configs")
    p.add_argument("--widths", default=",".join(str(w) for w in range(512, 4097, 128)))
    p.add_argument("--budget-gb", type=float, default=20.0, help="the whole machine's memory the probes may use")
    p.add_argument("--tokenizer", default="smollm2", help="tokenizer (and vocabulary) of the llama: sizes")
    p.add_argument("--out", type=Path, default=Path("/tmp/zero_memory"))
    p.add_argument("--reuse", type=Path, help="take the sizes' rows from an earlier zero_memory.json (search only)")
    p.add_argument("--in-process", action="store_true", help="probe in this process's Ray cluster (tests)")
    p.add_argument("--gpu-table", action="store_true", help="print the 1.7B / 4 GPU figures and stop")
    p.add_argument("--probe", nargs=2, metavar=("SIZE", "STAGE"), help=argparse.SUPPRESS)
    p.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.out = args.out.resolve()
    if args.probe:  # a child process: one probe, its result as a file
        result = probe(args.probe[0], int(args.probe[1]), args.tokenizer, args.out)
        args.result.write_text(json.dumps(result))
        return result
    if args.gpu_table:
        rows = gpu_table()
        print("| stage | params (B) | params GB | grads GB | optimizer GB | total GB per GPU |")
        print("|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['stage']} | {r['params_b']} | {r['params']} | {r['grads']} | {r['optimizer']} | "
                  f"{r['total_gb']} |")
        return {"gpu": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    stages = [int(s) for s in args.stages.split(",")]
    rows = json.loads(args.reuse.read_text())["rows"] if args.reuse else []
    for size in ([] if args.reuse else args.sizes.split(",")):
        shape = shape_of(size, args.tokenizer, args.out)
        for stage in stages:
            print(f"[zero_memory] {size} ({shape.params / 1e6:.1f}M params), ZeRO stage {stage} ...", flush=True)
            row = summarize(run_probe(size, stage, args), shape)
            rows.append(row)
            print(f"  {row['status']}" + (f": held {_mb(row['held_total'])} MB per worker (expected "
                                          f"{_mb(sum(row['expected'].values()))}), peak RSS "
                                          f"{' / '.join(f'{x / GB:.2f}' for x in row['peak_rss'])} GB, "
                                          f"{row['step_s']} s/step" if "held" in row else ""), flush=True)
    searches = []
    if not args.no_bisect:
        widths = [int(w) for w in args.widths.split(",")]
        for stage in (0, 3):  # the base (interpreter, libraries, activations) as this stage's probes measured it
            base = max((r["base"] for r in rows if "base" in r and r["stage"] == stage), default=3 * GB)
            print(f"[zero_memory] largest size at stage {stage} (budget {args.budget_gb} GB, base {base / GB:.2f} GB "
                  f"per worker)", flush=True)
            searches.append(largest(stage, widths, args.layers, args, base, lambda m: print(m, flush=True)))
    text = report(rows, searches) + "\n" + "\n".join(f"- {g}" for g in goals(rows, searches)) + "\n"
    (args.out / "zero_memory.md").write_text(text)
    result = {"rows": rows, "searches": searches, "goals": goals(rows, searches)}
    (args.out / "zero_memory.json").write_text(json.dumps(result, indent=2) + "\n")
    print(text, flush=True)
    return result


if __name__ == "__main__":
    main()
