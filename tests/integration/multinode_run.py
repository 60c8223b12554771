"""The tiny loop on a multi-node cluster of this machine (`ray.cluster_utils.Cluster`): a head with no CPU (the
driver's node: every engine actor, Ray Data task and train worker must run on a worker node) and two worker
nodes of 3 CPUs, so that one engine actor or one train worker (2 CPUs each) fits on a node beside a CPU for Ray
Data's tasks: the pool and the train workers must spread over both. In the middle of the judge stage the worker
node holding an engine actor is removed, processes and all, and a fresh node joins in its place (what an
autoscaler does for a lost node). Prints one JSON line of what happened: where actors ran, which node went.
Run by test_multinode.py in a process of its own (the test process holds the session's cluster):
`python tests/integration/multinode_run.py ROOT`. Its cluster's nodes are stopped by their own processes
(Cluster.shutdown), never `ray stop`."""
from __future__ import annotations

import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.helpers import parquet_mtimes  # noqa: E402
from tests.s3_server import free_port  # noqa: E402

LOOP = ["model=tiny", "engine=transformers", "iterations=1", "selection.per_category=16",
        "selection.max_candidates=16", "generation.max_tokens=12", "generation.modify_max_tokens=10",
        "generation.eval_fraction=0.1", "judge.samples=4", "judge.max_tokens=12", "eval.baseline=false",
        "eval.max_tokens=4", "data.labelled_eval=[]", "train.max_length=256", "ray.batch_size=8",
        "ray.actor_cpus=2", "ray.block_rows=16", "ray.pool_size=2", "train.workers=2", "train.cpus_per_worker=2"]

ENGINE_ACTOR = "MapWorker(MapBatches(EngineStage))"


def actors_by_class() -> dict[str, list[str]]:
    """{class name: [node id of each actor, dead ones included]} from the GCS's actor table."""
    import ray

    table: dict[str, list[str]] = {}
    for a in ray._private.state.actors().values():
        table.setdefault(a["ActorClassName"], []).append(a["Address"]["NodeID"])
    return table


def main(root: str) -> None:
    import ray
    from ray.cluster_utils import Cluster

    from judge_ray.config import SelfTaughtConfig, load_config
    from judge_ray.distributed.cluster import connect
    from judge_ray.logs import configure
    from judge_ray.pipeline import run_self_taught

    configure(verbose=False)
    # its own GCS port and temp dir (short: Ray's socket paths must stay within 107 bytes), beside any other
    # cluster on this machine
    temp_dir = tempfile.mkdtemp(prefix="mn", dir="/tmp")
    try:
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False,
                                                               "gcs_server_port": free_port(), "temp_dir": temp_dir})
    except BaseException:
        shutil.rmtree(temp_dir, ignore_errors=True)
        raise
    workers = [cluster.add_node(num_cpus=3, temp_dir=temp_dir) for _ in range(2)]
    cluster.wait_for_nodes()
    ids = {n.node_id: f"worker-{k}" for k, n in enumerate(workers, 1)}
    ids[cluster.head_node.node_id] = "head"
    events: dict = {"removed": None, "added": None}
    judgments = Path(root) / "multinode" / "iter_1" / "judgments"

    def loop(outcome: dict) -> None:
        try:
            run_self_taught(cfg)
        except BaseException as exc:  # reported by the main thread
            outcome["error"] = repr(exc)
        outcome["done"] = True

    try:
        cfg = load_config(None, [*LOOP, f"run.root={root}", "run.name=multinode", f"ray.address={cluster.address}"],
                          SelfTaughtConfig)
        connect(cluster.address)  # here: nodes are added from this thread (Ray's Node sets signal handlers)
        outcome: dict = {}
        started = time.time()
        thread = threading.Thread(target=loop, args=(outcome,), daemon=True)
        thread.start()
        while not parquet_mtimes(judgments) and not outcome:  # the judge stage has written a block: it is running
            time.sleep(0.05)
        engines = actors_by_class().get(ENGINE_ACTOR, [])
        node = next(w for w in workers if w.node_id in engines)
        events.update(engines_before=sorted(ids.get(n, n) for n in engines), removed=ids[node.node_id],
                      parts_before=len(parquet_mtimes(judgments)), judge_done_before=outcome.get("done", False))
        cluster.remove_node(node, allow_graceful=False)  # the whole node: raylet, object store, workers
        fresh = cluster.add_node(num_cpus=3, temp_dir=temp_dir)  # its replacement, as an autoscaler would start
        ids[fresh.node_id] = events["added"] = "worker-3"
        thread.join(timeout=420)
        where = {cls: sorted({ids.get(n, n) for n in nodes}) for cls, nodes in actors_by_class().items()}
        print(json.dumps({"events": events, "actors": where, "wall_s": round(time.time() - started, 1),
                          "outcome": outcome, "temp_dir": temp_dir,
                          "nodes": [ids.get(n["NodeID"], n["NodeID"]) for n in ray.nodes() if n["Alive"]]}))
    finally:
        ray.shutdown()
        cluster.shutdown()
        shutil.rmtree(temp_dir, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1])
