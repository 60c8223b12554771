"""One replica killed under load: does any request get lost once the clients have retried?

    .venv/bin/python benchmarks/serve_chaos.py                      # tiny model, 2 replicas, 8 clients x 60 s
    .venv/bin/python benchmarks/serve_chaos.py --model smollm2 --clients 8 --seconds 90
    python benchmarks/serve_chaos.py --model /models/judge-7b --engine vllm --num-gpus 1   # on a GPU node

The judge runs with 2 replicas at 127.0.0.1. `--clients` AsyncJudgeClients (their retries on: 502/503/504 and
connection errors, bounded backoff) send /v1/judge requests back to back. At `--kill-at` seconds one replica's
actor is killed (SIGKILL-like `ray.kill`, no restart by Ray: Serve must notice and start a new one). Requests
are grouped by when they started: before the kill, during (until 2 healthy replicas serve again), after.
Prints, per phase: requests sent, answered, failed after retries, p50/p99 latency; exits 1 if any was lost.
"""
from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

APP = "judge-chaos"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def replicas() -> list[str]:
    """Names of the app's live replica actors (each name carries the replica's unique id)."""
    import ray

    return sorted(a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
                  if a["namespace"] == "serve" and f"{APP}#JudgeDeployment#" in a["name"])


def healthy() -> bool:
    from ray import serve

    app = serve.status().applications.get(APP)
    return app is not None and app.status == "RUNNING" and all(
        d.status == "HEALTHY" for d in app.deployments.values())


def kill_one(at: float, events: dict) -> None:
    """At `at` (epoch seconds), kill one replica; then note when two replicas, neither the killed one, serve
    again and the app reports healthy."""
    import ray

    time.sleep(max(0.0, at - time.time()))
    victim = replicas()[0]
    ray.kill(ray.get_actor(victim, namespace="serve"), no_restart=True)
    events["killed"], events["victim"] = time.time(), victim
    while True:
        names = replicas()
        if victim not in names and len(names) == 2 and healthy():
            events["recovered"] = time.time()
            return
        time.sleep(0.25)


async def load(url: str, clients: int, seconds: float, retries: int) -> list[tuple[float, float, bool, str]]:
    """(start, latency s, answered, error) for every request sent."""
    from judge_ray.client import AsyncJudgeClient

    out: list[tuple[float, float, bool, str]] = []
    deadline = time.time() + seconds

    async def client(i: int, judge: AsyncJudgeClient) -> None:
        n = 0
        while time.time() < deadline:
            started, t0 = time.time(), time.perf_counter()
            try:
                await judge.judge(f"What is {i} + {n}?", str(i + n), str(i + n + 1))
                out.append((started, time.perf_counter() - t0, True, ""))
            except Exception as exc:  # failed after its retries: lost, counted
                out.append((started, time.perf_counter() - t0, False, f"{type(exc).__name__}: {str(exc)[:80]}"))
            n += 1

    async with AsyncJudgeClient(url, retries=retries, backoff_s=0.25, timeout=120, max_connections=clients) as judge:
        await asyncio.gather(*(client(i, judge) for i in range(clients)))
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="tiny")
    ap.add_argument("--engine", default="transformers")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--kill-at", type=float, default=15.0, help="seconds into the load")
    ap.add_argument("--retries", type=int, default=8, help="the clients' retries per request")
    ap.add_argument("--max-tokens", type=int, default=8)
    ap.add_argument("--num-cpus", type=float, default=1.0, help="per replica")
    ap.add_argument("--num-gpus", type=float, default=0.0, help="per replica")
    args = ap.parse_args()

    import httpx
    from ray import serve

    from judge_ray.config import ServeConfig, load_config
    from judge_ray.distributed.cluster import connect
    from judge_ray.serving.app import build_app

    connect(num_cpus=4)
    port = _port()
    cfg = load_config(None, [f"model={args.model}", f"engine={args.engine}", f"serve.max_tokens={args.max_tokens}",
                             "deployment.min_replicas=2", "deployment.max_replicas=2",
                             f"deployment.num_cpus={args.num_cpus}", f"deployment.num_gpus={args.num_gpus}",
                             "deployment.health_check_period_s=2"], ServeConfig)
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    url = f"http://127.0.0.1:{port}"
    try:
        serve.run(build_app(cfg), name=APP, route_prefix="/")
        while httpx.get(f"{url}/healthz").status_code != 200:
            time.sleep(0.5)
        asyncio.run(load(url, args.clients, 3.0, args.retries))  # warm-up, not counted
        events: dict = {}
        started = time.time()
        killer = threading.Thread(target=kill_one, args=(started + args.kill_at, events), daemon=True)
        killer.start()
        requests = asyncio.run(load(url, args.clients, args.seconds, args.retries))
        killer.join(timeout=300)
    finally:
        serve.shutdown()

    killed, recovered = events.get("killed", float("inf")), events.get("recovered", float("inf"))
    phases = {"before": [r for r in requests if r[0] < killed],
              "during": [r for r in requests if killed <= r[0] < recovered],
              "after": [r for r in requests if r[0] >= recovered]}
    print(f"\nmodel {args.model} ({args.engine}), 2 replicas, {args.clients} clients x {args.seconds:.0f}s, "
          f"client retries {args.retries}; replica killed at {killed - started:.1f}s, "
          f"2 healthy replicas again at {recovered - started:.1f}s ({recovered - killed:.1f}s without one)\n")
    print("| phase | sent | answered | failed after retries | p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|")
    for name, rows in phases.items():
        ok = [r[1] for r in rows if r[2]]
        print(f"| {name} | {len(rows)} | {len(ok)} | {len(rows) - len(ok)} | {pct(ok, 0.5):.0f} "
              f"| {pct(ok, 0.99):.0f} |")
    lost = [r[3] for r in requests if not r[2]]
    print(f"\nrequests sent {len(requests)}, answered {len(requests) - len(lost)}, lost after retries {len(lost)}"
          + (f": {sorted(set(lost))[:3]}" if lost else ""))
    if lost or "recovered" not in events:
        sys.exit(1)


if __name__ == "__main__":
    main()
