"""A bounded HTTP load on the judge endpoint at 127.0.0.1: requests per second and p50/p99 latency with
batching on and off, their ratio, and the error count (which must be 0).

    .venv/bin/python benchmarks/serve_load.py                       # tiny model, 16 clients x 30 s per setting
    .venv/bin/python benchmarks/serve_load.py --model smollm2 --clients 16 --seconds 30
    python benchmarks/serve_load.py --model /models/judge-7b --engine vllm --num-gpus 1   # on a GPU node

Each setting starts its own Serve app (same model, same config but `serve.batching`), waits for health,
warms up, then runs `--clients` concurrent clients sending /v1/judge requests back to back for `--seconds`,
and stops. Nothing leaves 127.0.0.1.
"""
from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def load(url: str, clients: int, seconds: float, mode: str) -> dict:
    import httpx

    latencies: list[float] = []
    errors: list[str] = []
    batch_sizes: list[int] = []
    parts: dict[str, list[float]] = {"queue": [], "batch wait": [], "engine": [], "outside": []}
    deadline = time.time() + seconds

    async def client(i: int, http: httpx.AsyncClient) -> None:
        n = 0
        while time.time() < deadline:
            body = {"question": f"What is {i} + {n}?", "answer_a": str(i + n), "answer_b": str(i + n + 1), "mode": mode}
            t0 = time.perf_counter()
            try:
                r = await http.post("/v1/judge", json=body)
                if r.status_code != 200:
                    errors.append(f"{r.status_code}: {r.text[:80]}")
                else:
                    latency = time.perf_counter() - t0
                    latencies.append(latency)
                    t = r.json()["timings"]
                    batch_sizes.append(t["batch_size"])
                    inside = t["queue_ms"] + t["batch_wait_ms"] + t["judge_ms"]
                    for name, ms in (("queue", t["queue_ms"]), ("batch wait", t["batch_wait_ms"]),
                                     ("engine", t["judge_ms"]), ("outside", 1000 * latency - inside)):
                        parts[name].append(ms)
            except Exception as exc:  # a dropped connection is an error to count, not a crash
                errors.append(type(exc).__name__)
            n += 1

    started = time.time()
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=httpx.Limits(max_connections=clients)) as http:
        await asyncio.gather(*(client(i, http) for i in range(clients)))
    wall = time.time() - started
    lat = sorted(latencies)
    pct = (lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000) if lat else (lambda q: float("nan"))
    return {"requests": len(lat), "errors": len(errors), "error_kinds": sorted(set(errors))[:3], "wall": wall,
            "rps": len(lat) / wall, "p50": pct(0.50), "p99": pct(0.99),
            "mean_batch": statistics.mean(batch_sizes) if batch_sizes else 0.0,
            "parts": {name: statistics.mean(v) if v else float("nan") for name, v in parts.items()}}


def run_setting(args, batching: bool, port: int) -> dict:
    import httpx
    from ray import serve

    from judge_ray.config import ServeConfig, load_config
    from judge_ray.serving.app import build_app

    cfg = load_config(None, [f"model={args.model}", f"engine={args.engine}", f"serve.port={port}",
                             f"serve.batching={str(batching).lower()}", f"serve.max_batch_size={args.batch}",
                             f"serve.max_tokens={args.max_tokens}", "deployment.min_replicas=1",
                             "deployment.max_replicas=1", f"deployment.num_cpus={args.num_cpus}",
                             f"deployment.num_gpus={args.num_gpus}",
                             f"deployment.max_ongoing_requests={max(args.batch, args.clients)}"], ServeConfig)
    serve.start(http_options={"host": "127.0.0.1", "port": port})  # the proxy outlives the app: one port for all
    t0 = time.time()
    serve.run(build_app(cfg), name="judge-load", route_prefix="/")
    url = f"http://127.0.0.1:{port}"
    while True:
        try:
            if httpx.get(f"{url}/healthz").status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    startup = time.time() - t0
    asyncio.run(load(url, args.clients, min(5.0, args.seconds), args.mode))  # warm-up, not counted
    result = asyncio.run(load(url, args.clients, args.seconds, args.mode))
    serve.delete("judge-load")
    result["startup"] = startup
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="tiny")
    ap.add_argument("--engine", default="transformers")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--batch", type=int, default=8, help="serve.max_batch_size with batching on")
    ap.add_argument("--mode", default="single", choices=["single", "both", "swap", "vote"])
    ap.add_argument("--max-tokens", type=int, default=16)
    ap.add_argument("--num-cpus", type=float, default=2.0)
    ap.add_argument("--num-gpus", type=float, default=0.0)
    args = ap.parse_args()

    from ray import serve

    from judge_ray.distributed.cluster import connect

    connect(num_cpus=4)
    results, port = {}, _port()
    try:
        for batching in (True, False):
            results[batching] = r = run_setting(args, batching, port)
            print(f"[batching {'on' if batching else 'off'}] {r['requests']} requests in {r['wall']:.1f}s, "
                  f"{r['errors']} errors {r['error_kinds']}, mean batch {r['mean_batch']:.1f} "
                  f"(app start {r['startup']:.0f}s)", flush=True)
    finally:
        serve.shutdown()
    on, off = results[True], results[False]
    print(f"\nmodel {args.model} ({args.engine}), {args.clients} clients x {args.seconds:.0f}s, mode {args.mode}, "
          f"{args.max_tokens} explanation tokens, 1 replica\n")
    print("| batching | requests/s | p50 ms | p99 ms | mean batch | errors |")
    print("|---|---|---|---|---|---|")
    for name, r in (("on", on), ("off", off)):
        print(f"| {name} | {r['rps']:.2f} | {r['p50']:.0f} | {r['p99']:.0f} | {r['mean_batch']:.1f} | {r['errors']} |")
    print("\nwhere a request's time goes (mean ms): queue = the engine busy with earlier batches, batch wait = the "
          "engine free, the batch filling, engine = its batch's engine call, outside = the proxy, routing, "
          "parsing and the HTTP exchange (client latency minus the replica's three)\n")
    names = list(on["parts"])
    print("| batching | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for name, r in (("on", on), ("off", off)):
        print(f"| {name} | " + " | ".join(f"{r['parts'][n]:.1f}" for n in names) + " |")
    print(f"\nthroughput on/off: {on['rps'] / off['rps']:.2f}x; p50 on/off: {on['p50'] / off['p50']:.2f}x; "
          f"errors total: {on['errors'] + off['errors']}")
    if on["errors"] + off["errors"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
